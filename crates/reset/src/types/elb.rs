//! Elastic Load Balancing v2: load balancers, their listeners and target
//! groups. A target group is refused while a listener forwards to it
//! (ResourceInUse): listeners go first, before their load balancer too
//! (which would take them along unreported); a load balancer holds its
//! subnets and security groups.
//! Deletion protection is switched off first.

use aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute;
use futures_util::FutureExt;

use super::{deleting, done};
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};
use crate::usage::Usage;

type Client = aws_sdk_elasticloadbalancingv2::Client;
const ELB: &str = "elasticloadbalancing";

async fn list_load_balancers(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_load_balancers().into_paginator().items().send();
    let balancers = sdk_call(ELB, "DescribeLoadBalancers", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(balancers
        .iter()
        .filter_map(|b| {
            let (arn, name) = (b.load_balancer_arn()?, b.load_balancer_name()?);
            let subnets = b.availability_zones().iter().filter_map(|z| z.subnet_id());
            let held = subnets
                .map(|s| at.regional("ec2", &format!("subnet/{s}")))
                .chain(b.security_groups().iter().map(|g| at.regional("ec2", &format!("security-group/{g}"))));
            // Priced by kind (`application`, `network`, `gateway`) per hour;
            // LCUs bill by use, outside the estimate.
            let usage = Usage::hourly(b.r#type().map_or("application", |t| t.as_str()), b.created_time());
            Some(Resource::new(LOAD_BALANCER.name, at, arn.to_owned(), arn).named(name).before(held).billed(usage))
        })
        .collect())
}

async fn delete_load_balancer(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let off = LoadBalancerAttribute::builder().key("deletion_protection.enabled").value("false").build();
    let call = c.modify_load_balancer_attributes().load_balancer_arn(&r.id).attributes(off).send();
    sdk_call(ELB, "ModifyLoadBalancerAttributes", call).await?;
    done(sdk_call(ELB, "DeleteLoadBalancer", c.delete_load_balancer().load_balancer_arn(&r.id).send()).await)
}

pub(crate) const LOAD_BALANCER: Registration = Registration {
    name: "elasticloadbalancing:loadbalancer",
    scope: Scope::Regional,
    found_by: "DescribeLoadBalancers",
    reads: &["elasticloadbalancing:DescribeLoadBalancers"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::any(ELB, "loadbalancer/"),
    depends_on: &["elasticloadbalancing:listener"],
    protected: "",
    grants: Grants::on(
        &["elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:DeleteLoadBalancer"],
        &[
            "arn:{p}:elasticloadbalancing:*:{a}:loadbalancer/app/{name}/*",
            "arn:{p}:elasticloadbalancing:*:{a}:loadbalancer/net/{name}/*",
        ],
    ),
    list: |c, at| list_load_balancers(&c.elbv2, at).boxed(),
    delete: |c, r| delete_load_balancer(&c.elbv2, r).boxed(),
    gone: None,
};

/// Listeners, per load balancer (DescribeListeners takes one).
async fn list_listeners(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let mut found = Vec::new();
    for balancer in list_load_balancers(c, at).await? {
        let pages = c.describe_listeners().load_balancer_arn(&balancer.id).into_paginator().items().send();
        let listeners = sdk_call(ELB, "DescribeListeners", pages.collect::<Result<Vec<_>, _>>()).await?;
        for listener in &listeners {
            let Some(arn) = listener.listener_arn() else { continue };
            let groups = listener
                .default_actions()
                .iter()
                .flat_map(|a| {
                    a.target_group_arn().into_iter().chain(
                        a.forward_config()
                            .into_iter()
                            .flat_map(|f| f.target_groups().iter().filter_map(|t| t.target_group_arn())),
                    )
                })
                .map(str::to_owned);
            // Before its load balancer too: deleting the balancer takes its
            // listeners along, and the report would then not name them.
            let held = groups.chain([balancer.arn.clone()]);
            found.push(
                Resource::new(LISTENER.name, at, arn.to_owned(), arn).before(held).child_of(balancer.arn.clone()),
            );
        }
    }
    Ok(found)
}

pub(crate) const LISTENER: Registration = Registration {
    name: "elasticloadbalancing:listener",
    scope: Scope::Regional,
    found_by: "DescribeLoadBalancers, DescribeListeners",
    reads: &["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners"],
    attribution: Attribution::Parent,
    arn: ArnMatch::any(ELB, "listener/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["elasticloadbalancing:DeleteListener"],
        &[
            "arn:{p}:elasticloadbalancing:*:{a}:listener/app/{name}/*/*",
            "arn:{p}:elasticloadbalancing:*:{a}:listener/net/{name}/*/*",
        ],
    ),
    list: |c, at| list_listeners(&c.elbv2, at).boxed(),
    delete: |c, r| deleting(sdk_call(ELB, "DeleteListener", c.elbv2.delete_listener().listener_arn(&r.id).send())),
    gone: None,
};

async fn list_target_groups(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_target_groups().into_paginator().items().send();
    let groups = sdk_call(ELB, "DescribeTargetGroups", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(groups
        .iter()
        .filter_map(|g| {
            let (arn, name) = (g.target_group_arn()?, g.target_group_name()?);
            Some(Resource::new(TARGET_GROUP.name, at, arn.to_owned(), arn).named(name))
        })
        .collect())
}

pub(crate) const TARGET_GROUP: Registration = Registration {
    name: "elasticloadbalancing:targetgroup",
    scope: Scope::Regional,
    found_by: "DescribeTargetGroups",
    reads: &["elasticloadbalancing:DescribeTargetGroups"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::any(ELB, "targetgroup/"),
    depends_on: &["elasticloadbalancing:listener", "ecs:service", "autoscaling:autoScalingGroup"],
    protected: "",
    grants: Grants::on(
        &["elasticloadbalancing:DeleteTargetGroup"],
        &["arn:{p}:elasticloadbalancing:*:{a}:targetgroup/{name}/*"],
    ),
    list: |c, at| list_target_groups(&c.elbv2, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call(ELB, "DeleteTargetGroup", c.elbv2.delete_target_group().target_group_arn(&r.id).send()))
    },
    gone: None,
};
