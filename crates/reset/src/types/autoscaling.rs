//! Auto Scaling groups and launch configurations. A group is deleted with
//! ForceDelete (its instances terminated with it) and polled until AWS has
//! removed it; it holds its launch configuration or template, subnets and
//! target groups until then.

use futures_util::FutureExt;

use super::deleting;
use crate::registry::{ArnMatch, Attribution, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};

type Client = aws_sdk_autoscaling::Client;

async fn list_groups(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_auto_scaling_groups().into_paginator().items().send();
    let (groups, configs) = tokio::try_join!(
        sdk_call("autoscaling", "DescribeAutoScalingGroups", pages.collect::<Result<Vec<_>, _>>()),
        list_configurations(c, at)
    )?;
    Ok(groups
        .iter()
        .filter_map(|g| {
            let (name, arn) = (g.auto_scaling_group_name()?, g.auto_scaling_group_arn()?);
            // A group names its configuration; the edge needs its ARN.
            let config =
                g.launch_configuration_name().and_then(|l| configs.iter().find(|c| c.name == l)).map(|c| c.arn.clone());
            let template = g
                .launch_template()
                .and_then(|t| t.launch_template_id())
                .map(|t| at.regional("ec2", &format!("launch-template/{t}")));
            let subnets = g
                .vpc_zone_identifier()
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| at.regional("ec2", &format!("subnet/{s}")));
            let targets = g.target_group_arns().iter().cloned();
            let instances = g
                .instances()
                .iter()
                .filter_map(|i| i.instance_id())
                .map(|i| at.regional("ec2", &format!("instance/{i}")));
            let tags = g.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())));
            let held = config.into_iter().chain(template).chain(subnets).chain(targets).chain(instances);
            Some(Resource::new(GROUP.name, at, arn.to_owned(), name).named(name).tagged(tags).before(held))
        })
        .collect())
}

async fn group_gone(c: &Client, r: &Resource) -> Result<bool, UpstreamError> {
    let call = c.describe_auto_scaling_groups().auto_scaling_group_names(&r.id).send();
    let out = sdk_call("autoscaling", "DescribeAutoScalingGroups", call).await?;
    Ok(out.auto_scaling_groups().is_empty())
}

pub(crate) const GROUP: Registration = Registration {
    name: "autoscaling:autoScalingGroup",
    scope: Scope::Regional,
    found_by: "DescribeAutoScalingGroups",
    reads: &["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeLaunchConfigurations"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::any("autoscaling", "autoScalingGroup:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["autoscaling:DeleteAutoScalingGroup"],
        &["arn:{p}:autoscaling:*:{a}:autoScalingGroup:*:autoScalingGroupName/{name}"],
    ),
    list: |c, at| list_groups(&c.autoscaling, at).boxed(),
    delete: |c, r| {
        let call = c.autoscaling.delete_auto_scaling_group().auto_scaling_group_name(&r.id).force_delete(true).send();
        deleting(sdk_call("autoscaling", "DeleteAutoScalingGroup", call))
    },
    gone: Some(|c, r| group_gone(&c.autoscaling, r).boxed()),
};

async fn list_configurations(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_launch_configurations().into_paginator().items().send();
    let configs = sdk_call("autoscaling", "DescribeLaunchConfigurations", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(configs
        .iter()
        .filter_map(|l| {
            let (name, arn) = (l.launch_configuration_name()?, l.launch_configuration_arn()?);
            Some(Resource::new(LAUNCH_CONFIGURATION.name, at, arn.to_owned(), name).named(name))
        })
        .collect())
}

pub(crate) const LAUNCH_CONFIGURATION: Registration = Registration {
    name: "autoscaling:launchConfiguration",
    scope: Scope::Regional,
    found_by: "DescribeLaunchConfigurations",
    reads: &["autoscaling:DescribeLaunchConfigurations"],
    attribution: Attribution::Name,
    arn: ArnMatch::NONE,
    depends_on: &["autoscaling:autoScalingGroup"],
    protected: "",
    grants: Grants::on(
        &["autoscaling:DeleteLaunchConfiguration"],
        &["arn:{p}:autoscaling:*:{a}:launchConfiguration:*:launchConfigurationName/{name}"],
    ),
    list: |c, at| list_configurations(&c.autoscaling, at).boxed(),
    delete: |c, r| {
        let call = c.autoscaling.delete_launch_configuration().launch_configuration_name(&r.id).send();
        deleting(sdk_call("autoscaling", "DeleteLaunchConfiguration", call))
    },
    gone: None,
};
