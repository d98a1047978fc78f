//! EFS file systems and their mount targets, and ElastiCache clusters.
//! A file system is deleted only once its mount targets are gone
//! (FileSystemInUse), and a mount target holds its subnet and groups.

use aws_sdk_elasticache::types::CacheCluster;
use futures_util::FutureExt;

use super::deleting;
use super::ec2_vpc;
use crate::registry::{ArnMatch, Attribution, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};
use crate::usage::{Unit, Usage};

async fn list_file_systems(client: &aws_sdk_efs::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.describe_file_systems().into_paginator().items().send();
    let systems = sdk_call("elasticfilesystem", "DescribeFileSystems", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(systems
        .iter()
        .filter(|f| f.life_cycle_state().as_str() != "deleted")
        .map(|f| {
            let arn = f.file_system_arn().map_or_else(
                || at.regional("elasticfilesystem", &format!("file-system/{}", f.file_system_id())),
                str::to_owned,
            );
            let tags = f.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned()));
            Resource::new(EFS_FILE_SYSTEM.name, at, arn, f.file_system_id())
                .named(f.name().unwrap_or_default())
                .tagged(tags)
        })
        .collect())
}

pub(crate) const EFS_FILE_SYSTEM: Registration = Registration {
    name: "elasticfilesystem:file-system",
    scope: Scope::Regional,
    found_by: "DescribeFileSystems",
    reads: &["elasticfilesystem:DescribeFileSystems"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id("elasticfilesystem", "file-system/"),
    depends_on: &["elasticfilesystem:mount-target"],
    protected: "",
    grants: Grants::on(&["elasticfilesystem:DeleteFileSystem"], &["arn:{p}:elasticfilesystem:*:{a}:file-system/*"]),
    list: |c, at| list_file_systems(&c.efs, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call(
            "elasticfilesystem",
            "DeleteFileSystem",
            c.efs.delete_file_system().file_system_id(&r.id).send(),
        ))
    },
    gone: None,
};

/// Mount targets, per file system (DescribeMountTargets takes one).
async fn list_mount_targets(client: &aws_sdk_efs::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let systems = list_file_systems(client, at).await?;
    let mut found = Vec::new();
    for system in systems {
        let call = client.describe_mount_targets().file_system_id(&system.id).send();
        let out = sdk_call("elasticfilesystem", "DescribeMountTargets", call).await?;
        for target in out.mount_targets().iter().filter(|t| t.life_cycle_state().as_str() != "deleted") {
            let id = target.mount_target_id();
            let arn = at.regional("elasticfilesystem", &format!("mount-target/{id}"));
            // Deleting a mount target deletes its network interface (which
            // AWS marks requester-managed; an emulator may not): the
            // interface waits for it.
            let interface = target.network_interface_id().map(|eni| ec2_vpc::arn(at, "network-interface", eni));
            let subnet = ec2_vpc::arn(at, "subnet", target.subnet_id());
            let held = [system.arn.clone(), subnet].into_iter().chain(interface);
            found.push(Resource::new(EFS_MOUNT_TARGET.name, at, arn, id).before(held).child_of(system.arn.clone()));
        }
    }
    Ok(found)
}

pub(crate) const EFS_MOUNT_TARGET: Registration = Registration {
    name: "elasticfilesystem:mount-target",
    scope: Scope::Regional,
    found_by: "DescribeFileSystems, DescribeMountTargets",
    reads: &["elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeMountTargets"],
    attribution: Attribution::None,
    arn: ArnMatch::NONE,
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["elasticfilesystem:DeleteMountTarget", "ec2:DeleteNetworkInterface"],
        &["arn:{p}:elasticfilesystem:*:{a}:file-system/*", "arn:{p}:ec2:*:{a}:network-interface/*"],
    ),
    list: |c, at| list_mount_targets(&c.efs, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call(
            "elasticfilesystem",
            "DeleteMountTarget",
            c.efs.delete_mount_target().mount_target_id(&r.id).send(),
        ))
    },
    gone: None,
};

fn cache_resource(c: &CacheCluster, at: &Where) -> Option<Resource> {
    let id = c.cache_cluster_id()?;
    let arn = c.arn().map_or_else(|| at.regional("elasticache", &format!("cluster:{id}")), str::to_owned);
    let groups =
        c.security_groups().iter().filter_map(|g| g.security_group_id()).map(|g| ec2_vpc::arn(at, "security-group", g));
    let nodes = f64::from(c.num_cache_nodes().unwrap_or(1));
    let usage = Usage::default()
        .line(c.cache_node_type().unwrap_or("unknown"), nodes, Unit::Hour)
        .since(c.cache_cluster_create_time());
    Some(Resource::new(ELASTICACHE_CLUSTER.name, at, arn, id).named(id).before(groups).billed(usage))
}

async fn list_cache_clusters(client: &aws_sdk_elasticache::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.describe_cache_clusters().into_paginator().items().send();
    let clusters = sdk_call("elasticache", "DescribeCacheClusters", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(clusters
        .iter()
        .filter(|c| c.cache_cluster_status() != Some("deleting"))
        .filter_map(|c| cache_resource(c, at))
        .collect())
}

pub(crate) const ELASTICACHE_CLUSTER: Registration = Registration {
    name: "elasticache:cluster",
    scope: Scope::Regional,
    found_by: "DescribeCacheClusters",
    reads: &["elasticache:DescribeCacheClusters"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("elasticache", "cluster:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["elasticache:DeleteCacheCluster"], &["arn:{p}:elasticache:*:{a}:cluster:{name}"]),
    list: |c, at| list_cache_clusters(&c.elasticache, at).boxed(),
    // Not polled: AWS stops billing a node once its delete is accepted, and
    // a cluster in `deleting` is no longer listed. Its security groups
    // retry DependencyViolation until the cluster has released them.
    delete: |c, r| {
        deleting(sdk_call(
            "elasticache",
            "DeleteCacheCluster",
            c.elasticache.delete_cache_cluster().cache_cluster_id(&r.id).send(),
        ))
    },
    gone: None,
};
