//! CloudWatch alarms, dashboards and log groups, and CloudFormation
//! stacks. A stack is deleted as a whole: CloudFormation removes what it
//! created (the engine skips resources tagged with a found stack's id), and
//! anything it retains is found on the next pass.

use aws_sdk_cloudformation::types::StackStatus;
use futures_util::FutureExt;

use super::{deleting, done};
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, UpstreamErrorKind, sdk_call};

async fn list_alarms(client: &aws_sdk_cloudwatch::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.describe_alarms().into_paginator().send();
    let pages = sdk_call("cloudwatch", "DescribeAlarms", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(pages
        .iter()
        .flat_map(|p| p.metric_alarms())
        .filter_map(|a| {
            let (name, arn) = (a.alarm_name()?, a.alarm_arn()?);
            Some(Resource::new(ALARM.name, at, arn.to_owned(), name).named(name))
        })
        .collect())
}

pub(crate) const ALARM: Registration = Registration {
    name: "cloudwatch:alarm",
    scope: Scope::Regional,
    found_by: "DescribeAlarms",
    reads: &["cloudwatch:DescribeAlarms"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("cloudwatch", "alarm:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["cloudwatch:DeleteAlarms"], &["arn:{p}:cloudwatch:*:{a}:alarm:{name}"]),
    list: |c, at| list_alarms(&c.cloudwatch, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call("cloudwatch", "DeleteAlarms", c.cloudwatch.delete_alarms().alarm_names(&r.id).send()))
    },
    gone: None,
};

async fn list_dashboards(client: &aws_sdk_cloudwatch::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.list_dashboards().into_paginator().items().send();
    let dashboards = sdk_call("cloudwatch", "ListDashboards", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(dashboards
        .iter()
        .filter_map(|d| {
            let name = d.dashboard_name()?;
            let arn =
                d.dashboard_arn().map_or_else(|| at.arn("cloudwatch", "", &format!("dashboard/{name}")), str::to_owned);
            Some(Resource::new(DASHBOARD.name, at, arn, name).named(name))
        })
        .collect())
}

pub(crate) const DASHBOARD: Registration = Registration {
    name: "cloudwatch:dashboard",
    scope: Scope::Regional,
    found_by: "ListDashboards",
    reads: &["cloudwatch:ListDashboards"],
    attribution: Attribution::Name,
    arn: ArnMatch::id("cloudwatch", "dashboard/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["cloudwatch:DeleteDashboards"], &["arn:{p}:cloudwatch::{a}:dashboard/{name}"]),
    list: |c, at| list_dashboards(&c.cloudwatch, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call(
            "cloudwatch",
            "DeleteDashboards",
            c.cloudwatch.delete_dashboards().dashboard_names(&r.id).send(),
        ))
    },
    gone: None,
};

async fn list_log_groups(client: &aws_sdk_cloudwatchlogs::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.describe_log_groups().into_paginator().items().send();
    let groups = sdk_call("logs", "DescribeLogGroups", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(groups
        .iter()
        .filter_map(|g| {
            let name = g.log_group_name()?;
            let arn = at.regional("logs", &format!("log-group:{name}"));
            Some(Resource::new(LOG_GROUP.name, at, arn, name).named(name))
        })
        .collect())
}

pub(crate) const LOG_GROUP: Registration = Registration {
    name: "logs:log-group",
    scope: Scope::Regional,
    found_by: "DescribeLogGroups",
    reads: &["logs:DescribeLogGroups"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::any("logs", "log-group:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["logs:DeleteLogGroup"], &["arn:{p}:logs:*:{a}:log-group:{name}"]),
    list: |c, at| list_log_groups(&c.logs, at).boxed(),
    delete: |c, r| deleting(sdk_call("logs", "DeleteLogGroup", c.logs.delete_log_group().log_group_name(&r.id).send())),
    gone: None,
};

async fn list_stacks(client: &aws_sdk_cloudformation::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.describe_stacks().into_paginator().items().send();
    let stacks = sdk_call("cloudformation", "DescribeStacks", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(stacks
        .iter()
        // A nested stack goes with its root.
        .filter(|s| s.stack_status() != Some(&StackStatus::DeleteComplete) && s.parent_id().is_none())
        .filter_map(|s| {
            let (id, name) = (s.stack_id()?, s.stack_name()?);
            let tags = s.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())));
            // A StackSet's instance (named `StackSet-<set>-<id>` by AWS) is
            // the organization's: deleting it would drift the StackSet and
            // take whatever it deployed (the broker's own roles, in a pool).
            let of_stack_set = name.starts_with("StackSet-");
            let found = Resource::new(STACK.name, at, id.to_owned(), id).named(name).tagged(tags);
            Some(found.protect_if(of_stack_set, "a StackSet instance"))
        })
        .collect())
}

/// Termination protection is lifted when DeleteStack refuses for it.
async fn delete_stack(client: &aws_sdk_cloudformation::Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    match sdk_call("cloudformation", "DeleteStack", client.delete_stack().stack_name(&r.id).send()).await {
        Err(e) if e.summary.contains("TerminationProtection") => {
            let call = client.update_termination_protection().stack_name(&r.id).enable_termination_protection(false);
            sdk_call("cloudformation", "UpdateTerminationProtection", call.send()).await?;
            done(sdk_call("cloudformation", "DeleteStack", client.delete_stack().stack_name(&r.id).send()).await)
        }
        result => done(result),
    }
}

/// Gone at DELETE_COMPLETE; DELETE_FAILED (a resource CloudFormation could
/// not delete) ends the wait with the stack's reason.
async fn stack_gone(client: &aws_sdk_cloudformation::Client, r: &Resource) -> Result<bool, UpstreamError> {
    let out = sdk_call("cloudformation", "DescribeStacks", client.describe_stacks().stack_name(&r.id).send()).await?;
    for stack in out.stacks() {
        match stack.stack_status() {
            Some(StackStatus::DeleteComplete) => {}
            Some(StackStatus::DeleteFailed) => {
                let reason = stack.stack_status_reason().unwrap_or("no reason given");
                let summary = format!("DELETE_FAILED: {reason}");
                return Err(UpstreamError::new("cloudformation", "DescribeStacks", UpstreamErrorKind::Other, summary));
            }
            _ => return Ok(false),
        }
    }
    Ok(true)
}

pub(crate) const STACK: Registration = Registration {
    name: "cloudformation:stack",
    scope: Scope::Regional,
    found_by: "DescribeStacks (root stacks)",
    reads: &["cloudformation:DescribeStacks"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::any("cloudformation", "stack/"),
    depends_on: &[],
    protected: "StackSet instances (`StackSet-…`)",
    grants: Grants::on(
        &["cloudformation:UpdateTerminationProtection", "cloudformation:DeleteStack"],
        &["arn:{p}:cloudformation:*:{a}:stack/{name}/*"],
    ),
    list: |c, at| list_stacks(&c.cloudformation, at).boxed(),
    delete: |c, r| delete_stack(&c.cloudformation, r).boxed(),
    gone: Some(|c, r| stack_gone(&c.cloudformation, r).boxed()),
};
