//! Containers: ECS clusters, services and task definitions, ECR
//! repositories, EKS clusters and node groups. A service is scaled to zero
//! and deleted, then polled until INACTIVE (it holds its cluster, target
//! groups, subnets and groups until then); an EKS cluster waits for its
//! node groups (ResourceInUseException); a repository is deleted with its
//! images. ECS and EKS list names or ARNs; a Describe call adds the rest.

use aws_sdk_ecs::types::{ClusterField, ServiceField, TaskDefinitionStatus};
use futures_util::FutureExt;

use super::ec2_vpc;
use super::{deleting, done, last, unless_gone};
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};
use crate::usage::Usage;

type Ecs = aws_sdk_ecs::Client;
type Eks = aws_sdk_eks::Client;

fn ecs_tags(tags: &[aws_sdk_ecs::types::Tag]) -> Vec<(String, String)> {
    tags.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned()))).collect()
}

async fn ecs_clusters(c: &Ecs, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_clusters().into_paginator().items().send();
    let arns = sdk_call("ecs", "ListClusters", pages.collect::<Result<Vec<_>, _>>()).await?;
    let mut found = Vec::new();
    for batch in arns.chunks(100) {
        let call = c.describe_clusters().set_clusters(Some(batch.to_vec())).include(ClusterField::Tags).send();
        let out = sdk_call("ecs", "DescribeClusters", call).await?;
        // A deleted cluster stays listed as INACTIVE for a while.
        for k in out.clusters().iter().filter(|k| k.status() == Some("ACTIVE")) {
            let (Some(arn), Some(name)) = (k.cluster_arn(), k.cluster_name()) else { continue };
            found.push(Resource::new(ECS_CLUSTER.name, at, arn.to_owned(), arn).named(name).tagged(ecs_tags(k.tags())));
        }
    }
    Ok(found)
}

pub(crate) const ECS_CLUSTER: Registration = Registration {
    name: "ecs:cluster",
    scope: Scope::Regional,
    found_by: "ListClusters, DescribeClusters",
    reads: &["ecs:ListClusters", "ecs:DescribeClusters"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("ecs", "cluster/"),
    depends_on: &["ecs:service"],
    protected: "",
    grants: Grants::on(&["ecs:DeleteCluster"], &["arn:{p}:ecs:*:{a}:cluster/{name}"]),
    list: |c, at| ecs_clusters(&c.ecs, at).boxed(),
    delete: |c, r| deleting(sdk_call("ecs", "DeleteCluster", c.ecs.delete_cluster().cluster(&r.id).send())),
    gone: None,
};

async fn ecs_services(c: &Ecs, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let mut found = Vec::new();
    for cluster in ecs_clusters(c, at).await? {
        let pages = c.list_services().cluster(&cluster.id).into_paginator().items().send();
        let arns = sdk_call("ecs", "ListServices", pages.collect::<Result<Vec<_>, _>>()).await?;
        for batch in arns.chunks(10) {
            let call = c
                .describe_services()
                .cluster(&cluster.id)
                .set_services(Some(batch.to_vec()))
                .include(ServiceField::Tags);
            let out = sdk_call("ecs", "DescribeServices", call.send()).await?;
            for s in out.services().iter().filter(|s| s.status() != Some("INACTIVE")) {
                let (Some(arn), Some(name)) = (s.service_arn(), s.service_name()) else { continue };
                let targets = s.load_balancers().iter().filter_map(|l| l.target_group_arn().map(str::to_owned));
                let vpc = s.network_configuration().and_then(|n| n.awsvpc_configuration());
                let subnets =
                    vpc.map(|v| v.subnets()).unwrap_or_default().iter().map(|s| ec2_vpc::arn(at, "subnet", s));
                let groups = vpc
                    .map(|v| v.security_groups())
                    .unwrap_or_default()
                    .iter()
                    .map(|g| ec2_vpc::arn(at, "security-group", g));
                let held = [cluster.arn.clone()].into_iter().chain(targets).chain(subnets).chain(groups);
                let service =
                    Resource::new(ECS_SERVICE.name, at, arn.to_owned(), arn).named(name).tagged(ecs_tags(s.tags()));
                found.push(service.before(held).child_of(cluster.arn.clone()));
            }
        }
    }
    Ok(found)
}

/// Scaled to zero first: DeleteService refuses a service with running
/// tasks unless forced, and forcing alone leaves tasks draining longer.
async fn delete_service(c: &Ecs, r: &Resource) -> Result<Deleted, UpstreamError> {
    let cluster = r.parent.as_deref().unwrap_or_default();
    let call = c.update_service().cluster(cluster).service(&r.id).desired_count(0).send();
    unless_gone(sdk_call("ecs", "UpdateService", call).await)?;
    done(sdk_call("ecs", "DeleteService", c.delete_service().cluster(cluster).service(&r.id).force(true).send()).await)
}

async fn service_gone(c: &Ecs, r: &Resource) -> Result<bool, UpstreamError> {
    let cluster = r.parent.as_deref().unwrap_or_default();
    let out =
        sdk_call("ecs", "DescribeServices", c.describe_services().cluster(cluster).services(&r.id).send()).await?;
    Ok(out.services().iter().all(|s| s.status() == Some("INACTIVE")))
}

pub(crate) const ECS_SERVICE: Registration = Registration {
    name: "ecs:service",
    scope: Scope::Regional,
    found_by: "ListServices, DescribeServices (per cluster)",
    reads: &["ecs:ListClusters", "ecs:DescribeClusters", "ecs:ListServices", "ecs:DescribeServices"],
    attribution: Attribution::Parent,
    arn: ArnMatch::any("ecs", "service/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["ecs:UpdateService", "ecs:DeleteService"], &["arn:{p}:ecs:*:{a}:service/{name}/*"]),
    list: |c, at| ecs_services(&c.ecs, at).boxed(),
    delete: |c, r| delete_service(&c.ecs, r).boxed(),
    gone: Some(|c, r| service_gone(&c.ecs, r).boxed()),
};

async fn task_definitions(c: &Ecs, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let mut found = Vec::new();
    for status in [TaskDefinitionStatus::Active, TaskDefinitionStatus::Inactive] {
        let pages = c.list_task_definitions().status(status).into_paginator().items().send();
        let arns = sdk_call("ecs", "ListTaskDefinitions", pages.collect::<Result<Vec<_>, _>>()).await?;
        for arn in arns {
            // …:task-definition/<family>:<revision>
            let family = last(arn.rsplit_once(':').map_or(arn.as_str(), |(head, _)| head)).to_owned();
            found.push(Resource::new(ECS_TASK_DEFINITION.name, at, arn.clone(), arn).named(family));
        }
    }
    Ok(found)
}

/// Deregistered (made INACTIVE), then deleted for good.
async fn delete_task_definition(c: &Ecs, r: &Resource) -> Result<Deleted, UpstreamError> {
    unless_gone(
        sdk_call("ecs", "DeregisterTaskDefinition", c.deregister_task_definition().task_definition(&r.id).send()).await,
    )?;
    done(sdk_call("ecs", "DeleteTaskDefinitions", c.delete_task_definitions().task_definitions(&r.id).send()).await)
}

pub(crate) const ECS_TASK_DEFINITION: Registration = Registration {
    name: "ecs:task-definition",
    scope: Scope::Regional,
    found_by: "ListTaskDefinitions (active and inactive)",
    reads: &["ecs:ListTaskDefinitions"],
    attribution: Attribution::None,
    arn: ArnMatch::id("ecs", "task-definition/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["ecs:DeregisterTaskDefinition", "ecs:DeleteTaskDefinitions"],
        &["arn:{p}:ecs:*:{a}:task-definition/{name}:*"],
    ),
    list: |c, at| task_definitions(&c.ecs, at).boxed(),
    delete: |c, r| delete_task_definition(&c.ecs, r).boxed(),
    gone: None,
};

async fn repositories(c: &aws_sdk_ecr::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_repositories().into_paginator().items().send();
    let repositories = sdk_call("ecr", "DescribeRepositories", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(repositories
        .iter()
        .filter_map(|r| {
            Some(
                Resource::new(ECR_REPOSITORY.name, at, r.repository_arn()?.to_owned(), r.repository_name()?)
                    .named(r.repository_name()?),
            )
        })
        .collect())
}

pub(crate) const ECR_REPOSITORY: Registration = Registration {
    name: "ecr:repository",
    scope: Scope::Regional,
    found_by: "DescribeRepositories",
    reads: &["ecr:DescribeRepositories"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::any("ecr", "repository/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["ecr:DeleteRepository"], &["arn:{p}:ecr:*:{a}:repository/{name}"]),
    list: |c, at| repositories(&c.ecr, at).boxed(),
    // Forced: its images go with it (RepositoryNotEmptyException otherwise).
    delete: |c, r| {
        deleting(sdk_call(
            "ecr",
            "DeleteRepository",
            c.ecr.delete_repository().repository_name(&r.id).force(true).send(),
        ))
    },
    gone: None,
};

async fn eks_clusters(c: &Eks, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_clusters().into_paginator().items().send();
    let names = sdk_call("eks", "ListClusters", pages.collect::<Result<Vec<_>, _>>()).await?;
    let mut found = Vec::new();
    for name in names {
        let out = sdk_call("eks", "DescribeCluster", c.describe_cluster().name(&name).send()).await?;
        let Some(cluster) = out.cluster().filter(|k| k.status().map(|s| s.as_str()) != Some("DELETING")) else {
            continue;
        };
        let arn = cluster.arn().map_or_else(|| at.regional("eks", &format!("cluster/{name}")), str::to_owned);
        let vpc = cluster.resources_vpc_config();
        let subnets = vpc.map(|v| v.subnet_ids()).unwrap_or_default().iter().map(|s| ec2_vpc::arn(at, "subnet", s));
        let groups = vpc
            .map(|v| v.security_group_ids())
            .unwrap_or_default()
            .iter()
            .map(|g| ec2_vpc::arn(at, "security-group", g));
        let tags = cluster.tags().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone()));
        found.push(
            Resource::new(EKS_CLUSTER.name, at, arn, &name)
                .named(&name)
                .tagged(tags)
                .before(subnets.chain(groups))
                .billed(Usage::hourly("*", cluster.created_at())),
        );
    }
    Ok(found)
}

async fn eks_cluster_gone(c: &Eks, r: &Resource) -> Result<bool, UpstreamError> {
    sdk_call("eks", "DescribeCluster", c.describe_cluster().name(&r.id).send()).await.map(|_| false)
}

pub(crate) const EKS_CLUSTER: Registration = Registration {
    name: "eks:cluster",
    scope: Scope::Regional,
    found_by: "ListClusters, DescribeCluster",
    reads: &["eks:ListClusters", "eks:DescribeCluster"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("eks", "cluster/"),
    depends_on: &["eks:nodegroup"],
    protected: "",
    grants: Grants::on(&["eks:DeleteCluster"], &["arn:{p}:eks:*:{a}:cluster/{name}"]),
    list: |c, at| eks_clusters(&c.eks, at).boxed(),
    delete: |c, r| deleting(sdk_call("eks", "DeleteCluster", c.eks.delete_cluster().name(&r.id).send())),
    gone: Some(|c, r| eks_cluster_gone(&c.eks, r).boxed()),
};

async fn nodegroups(c: &Eks, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let mut found = Vec::new();
    for cluster in eks_clusters(c, at).await? {
        let pages = c.list_nodegroups().cluster_name(&cluster.id).into_paginator().items().send();
        for name in sdk_call("eks", "ListNodegroups", pages.collect::<Result<Vec<_>, _>>()).await? {
            let out = sdk_call(
                "eks",
                "DescribeNodegroup",
                c.describe_nodegroup().cluster_name(&cluster.id).nodegroup_name(&name).send(),
            )
            .await?;
            let Some(group) = out.nodegroup() else { continue };
            let arn = group
                .nodegroup_arn()
                .map_or_else(|| at.regional("eks", &format!("nodegroup/{}/{name}", cluster.id)), str::to_owned);
            let subnets = group.subnets().iter().map(|s| ec2_vpc::arn(at, "subnet", s));
            let tags = group.tags().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone()));
            let held = [cluster.arn.clone()].into_iter().chain(subnets);
            found.push(
                Resource::new(EKS_NODEGROUP.name, at, arn, &name)
                    .named(&name)
                    .tagged(tags)
                    .before(held)
                    .child_of(cluster.arn.clone()),
            );
        }
    }
    Ok(found)
}

fn cluster_of(r: &Resource) -> &str {
    r.parent.as_deref().map(last).unwrap_or_default()
}

async fn nodegroup_gone(c: &Eks, r: &Resource) -> Result<bool, UpstreamError> {
    let call = c.describe_nodegroup().cluster_name(cluster_of(r)).nodegroup_name(&r.id).send();
    sdk_call("eks", "DescribeNodegroup", call).await.map(|_| false)
}

pub(crate) const EKS_NODEGROUP: Registration = Registration {
    name: "eks:nodegroup",
    scope: Scope::Regional,
    found_by: "ListNodegroups, DescribeNodegroup (per cluster)",
    reads: &["eks:ListClusters", "eks:DescribeCluster", "eks:ListNodegroups", "eks:DescribeNodegroup"],
    attribution: Attribution::Parent,
    arn: ArnMatch::any("eks", "nodegroup/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["eks:DeleteNodegroup"], &["arn:{p}:eks:*:{a}:nodegroup/{name}/*/*"]),
    list: |c, at| nodegroups(&c.eks, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call(
            "eks",
            "DeleteNodegroup",
            c.eks.delete_nodegroup().cluster_name(cluster_of(r)).nodegroup_name(&r.id).send(),
        ))
    },
    gone: Some(|c, r| nodegroup_gone(&c.eks, r).boxed()),
};
