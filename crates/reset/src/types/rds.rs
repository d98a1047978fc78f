//! RDS: DB instances, Aurora clusters, snapshots and subnet groups.
//! Deletion protection is switched off first (DeleteDBInstance and
//! DeleteDBCluster refuse it), no final snapshot is taken (it would outlive
//! the reset and bill on), cluster members go before their cluster, and a
//! subnet group waits for every instance and cluster in it. Instance and
//! cluster deletes take minutes: they are polled until gone.

use futures_util::FutureExt;

use super::{deleting, done};
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};
use crate::usage::{Unit, Usage};

type Client = aws_sdk_rds::Client;

fn tags(list: &[aws_sdk_rds::types::Tag]) -> Vec<(String, String)> {
    list.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned()))).collect()
}

fn subnet_group_arn(at: &Where, name: &str) -> String {
    at.regional("rds", &format!("subgrp:{name}"))
}

/// A DB instance bills its class by the hour and its allocated storage per
/// GB-month (`storage:<type>`); an Aurora member's storage is its cluster's.
fn db_usage(i: &aws_sdk_rds::types::DbInstance) -> Usage {
    let class = i.db_instance_class().unwrap_or("unknown");
    let usage = Usage::hourly(class, i.instance_create_time());
    match (i.db_cluster_identifier(), i.allocated_storage()) {
        (None, Some(gb)) if gb > 0 => {
            let storage = format!("storage:{}", i.storage_type().unwrap_or("gp2"));
            usage.line(storage, f64::from(gb), Unit::GbMonth)
        }
        _ => usage,
    }
}

async fn list_instances(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_db_instances().into_paginator().items().send();
    let instances = sdk_call("rds", "DescribeDBInstances", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(instances
        .iter()
        .filter(|i| i.db_instance_status() != Some("deleting"))
        .filter_map(|i| {
            let (id, arn) = (i.db_instance_identifier()?, i.db_instance_arn()?);
            let cluster = i.db_cluster_identifier().map(|c| at.regional("rds", &format!("cluster:{c}")));
            let group = i.db_subnet_group().and_then(|g| g.db_subnet_group_name()).map(|g| subnet_group_arn(at, g));
            let sgs = i.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id());
            let held =
                cluster.into_iter().chain(group).chain(sgs.map(|g| at.regional("ec2", &format!("security-group/{g}"))));
            let found = Resource::new(INSTANCE.name, at, arn.to_owned(), id).named(id).tagged(tags(i.tag_list()));
            Some(found.before(held).billed(db_usage(i)))
        })
        .collect())
}

async fn delete_instance(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let call =
        c.modify_db_instance().db_instance_identifier(&r.id).deletion_protection(false).apply_immediately(true).send();
    match sdk_call("rds", "ModifyDBInstance", call).await {
        // An Aurora member takes its protection from the cluster.
        Err(e) if e.code.as_deref() != Some("InvalidParameterCombination") => return Err(e),
        _ => {}
    }
    let call =
        c.delete_db_instance().db_instance_identifier(&r.id).skip_final_snapshot(true).delete_automated_backups(true);
    done(sdk_call("rds", "DeleteDBInstance", call.send()).await)
}

async fn instance_gone(c: &Client, r: &Resource) -> Result<bool, UpstreamError> {
    let out =
        sdk_call("rds", "DescribeDBInstances", c.describe_db_instances().db_instance_identifier(&r.id).send()).await?;
    Ok(out.db_instances().is_empty())
}

pub(crate) const INSTANCE: Registration = Registration {
    name: "rds:db",
    scope: Scope::Regional,
    found_by: "DescribeDBInstances",
    reads: &["rds:DescribeDBInstances"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("rds", "db:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["rds:ModifyDBInstance", "rds:DeleteDBInstance"], &["arn:{p}:rds:*:{a}:db:{name}"]),
    list: |c, at| list_instances(&c.rds, at).boxed(),
    delete: |c, r| delete_instance(&c.rds, r).boxed(),
    gone: Some(|c, r| instance_gone(&c.rds, r).boxed()),
};

async fn list_clusters(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_db_clusters().into_paginator().items().send();
    let clusters = sdk_call("rds", "DescribeDBClusters", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(clusters
        .iter()
        .filter(|k| k.status() != Some("deleting"))
        .filter_map(|k| {
            let (id, arn) = (k.db_cluster_identifier()?, k.db_cluster_arn()?);
            let group = k.db_subnet_group().map(|g| subnet_group_arn(at, g));
            Some(Resource::new(CLUSTER.name, at, arn.to_owned(), id).named(id).tagged(tags(k.tag_list())).before(group))
        })
        .collect())
}

async fn delete_cluster(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let call =
        c.modify_db_cluster().db_cluster_identifier(&r.id).deletion_protection(false).apply_immediately(true).send();
    sdk_call("rds", "ModifyDBCluster", call).await?;
    let call = c.delete_db_cluster().db_cluster_identifier(&r.id).skip_final_snapshot(true).send();
    done(sdk_call("rds", "DeleteDBCluster", call).await)
}

async fn cluster_gone(c: &Client, r: &Resource) -> Result<bool, UpstreamError> {
    let out =
        sdk_call("rds", "DescribeDBClusters", c.describe_db_clusters().db_cluster_identifier(&r.id).send()).await?;
    Ok(out.db_clusters().is_empty())
}

pub(crate) const CLUSTER: Registration = Registration {
    name: "rds:cluster",
    scope: Scope::Regional,
    found_by: "DescribeDBClusters",
    reads: &["rds:DescribeDBClusters"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("rds", "cluster:"),
    depends_on: &["rds:db"],
    protected: "",
    grants: Grants::on(
        &["rds:ModifyDBCluster", "rds:DeleteDBCluster"],
        &["arn:{p}:rds:*:{a}:cluster:{name}", "arn:{p}:rds:*:{a}:cluster-snapshot:{name}"],
    ),
    list: |c, at| list_clusters(&c.rds, at).boxed(),
    delete: |c, r| delete_cluster(&c.rds, r).boxed(),
    gone: Some(|c, r| cluster_gone(&c.rds, r).boxed()),
};

async fn list_snapshots(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_db_snapshots().snapshot_type("manual").into_paginator().items().send();
    let snapshots = sdk_call("rds", "DescribeDBSnapshots", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(snapshots
        .iter()
        .filter_map(|s| {
            let (id, arn) = (s.db_snapshot_identifier()?, s.db_snapshot_arn()?);
            Some(Resource::new(SNAPSHOT.name, at, arn.to_owned(), id).named(id).tagged(tags(s.tag_list())))
        })
        .collect())
}

pub(crate) const SNAPSHOT: Registration = Registration {
    name: "rds:snapshot",
    scope: Scope::Regional,
    found_by: "DescribeDBSnapshots (manual)",
    reads: &["rds:DescribeDBSnapshots"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("rds", "snapshot:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["rds:DeleteDBSnapshot"], &["arn:{p}:rds:*:{a}:snapshot:{name}"]),
    list: |c, at| list_snapshots(&c.rds, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call("rds", "DeleteDBSnapshot", c.rds.delete_db_snapshot().db_snapshot_identifier(&r.id).send()))
    },
    gone: None,
};

async fn list_subnet_groups(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_db_subnet_groups().into_paginator().items().send();
    let groups = sdk_call("rds", "DescribeDBSubnetGroups", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(groups
        .iter()
        // `default` is AWS's own (for the default VPC) and cannot be deleted.
        .filter(|g| g.db_subnet_group_name() != Some("default"))
        .filter_map(|g| {
            let name = g.db_subnet_group_name()?;
            let arn = g.db_subnet_group_arn().map_or_else(|| subnet_group_arn(at, name), str::to_owned);
            let subnets = g.subnets().iter().filter_map(|s| s.subnet_identifier());
            let held = subnets.map(|s| at.regional("ec2", &format!("subnet/{s}")));
            Some(Resource::new(SUBNET_GROUP.name, at, arn, name).named(name).before(held))
        })
        .collect())
}

pub(crate) const SUBNET_GROUP: Registration = Registration {
    name: "rds:subgrp",
    scope: Scope::Regional,
    found_by: "DescribeDBSubnetGroups",
    reads: &["rds:DescribeDBSubnetGroups"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("rds", "subgrp:"),
    depends_on: &["rds:db", "rds:cluster"],
    protected: "",
    grants: Grants::on(&["rds:DeleteDBSubnetGroup"], &["arn:{p}:rds:*:{a}:subgrp:{name}"]),
    list: |c, at| list_subnet_groups(&c.rds, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call(
            "rds",
            "DeleteDBSubnetGroup",
            c.rds.delete_db_subnet_group().db_subnet_group_name(&r.id).send(),
        ))
    },
    gone: None,
};
