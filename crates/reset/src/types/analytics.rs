//! Analytics clusters billed by the node-hour: Redshift clusters and
//! OpenSearch domains. Both finish deleting asynchronously; their listings
//! read the nodes the spend meter prices.

use futures_util::FutureExt;

use super::deleting;
use crate::registry::{ArnMatch, Attribution, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};
use crate::usage::{Unit, Usage};

async fn list_redshift(client: &aws_sdk_redshift::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.describe_clusters().into_paginator().items().send();
    let clusters = sdk_call("redshift", "DescribeClusters", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(clusters
        .iter()
        .filter(|c| c.cluster_status() != Some("deleting"))
        .filter_map(|c| {
            let id = c.cluster_identifier()?;
            let tags = c.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())));
            Some(
                Resource::new(REDSHIFT_CLUSTER.name, at, at.regional("redshift", &format!("cluster:{id}")), id)
                    .named(id)
                    .tagged(tags)
                    .billed(
                        Usage::default()
                            .line(
                                c.node_type().unwrap_or("unknown"),
                                f64::from(c.number_of_nodes().unwrap_or(1)),
                                Unit::Hour,
                            )
                            .since(c.cluster_create_time()),
                    ),
            )
        })
        .collect())
}

async fn redshift_gone(client: &aws_sdk_redshift::Client, r: &Resource) -> Result<bool, UpstreamError> {
    let out =
        sdk_call("redshift", "DescribeClusters", client.describe_clusters().cluster_identifier(&r.id).send()).await?;
    Ok(out.clusters().is_empty())
}

pub(crate) const REDSHIFT_CLUSTER: Registration = Registration {
    name: "redshift:cluster",
    scope: Scope::Regional,
    found_by: "DescribeClusters",
    reads: &["redshift:DescribeClusters"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("redshift", "cluster:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["redshift:DeleteCluster"], &["arn:{p}:redshift:*:{a}:cluster:{name}"]),
    list: |c, at| list_redshift(&c.redshift, at).boxed(),
    // No final snapshot: a snapshot would outlive the reset and bill on.
    delete: |c, r| {
        let call = c.redshift.delete_cluster().cluster_identifier(&r.id).skip_final_cluster_snapshot(true).send();
        deleting(sdk_call("redshift", "DeleteCluster", call))
    },
    gone: Some(|c, r| redshift_gone(&c.redshift, r).boxed()),
};

async fn list_domains(client: &aws_sdk_opensearch::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let out = sdk_call("es", "ListDomainNames", client.list_domain_names().send()).await?;
    let names: Vec<String> = out.domain_names().iter().filter_map(|d| d.domain_name().map(str::to_owned)).collect();
    // What a domain bills for by the hour is its nodes, which only
    // DescribeDomains shows: at most five domains a call (AWS's limit).
    let mut nodes = std::collections::HashMap::new();
    for five in names.chunks(5) {
        let call = client.describe_domains().set_domain_names(Some(five.to_vec())).send();
        for status in sdk_call("es", "DescribeDomains", call).await?.domain_status_list() {
            nodes.insert(status.domain_name().to_owned(), status.cluster_config().map(domain_usage));
        }
    }
    Ok(names
        .iter()
        .map(|name| {
            let arn = at.regional("es", &format!("domain/{name}"));
            let resource = Resource::new(OPENSEARCH_DOMAIN.name, at, arn, name).named(name);
            match nodes.remove(name).flatten() {
                Some(usage) => resource.billed(usage),
                None => resource,
            }
        })
        .collect())
}

/// Data nodes and dedicated masters, each by the hour at its instance
/// type's price. No creation time is published: the meter counts from the
/// session's start.
fn domain_usage(config: &aws_sdk_opensearch::types::ClusterConfig) -> Usage {
    let mut usage = Usage::default();
    if let Some(kind) = config.instance_type() {
        usage = usage.line(kind.as_str(), f64::from(config.instance_count().unwrap_or(1)), Unit::Hour);
    }
    if config.dedicated_master_enabled() == Some(true)
        && let Some(kind) = config.dedicated_master_type()
    {
        usage = usage.line(kind.as_str(), f64::from(config.dedicated_master_count().unwrap_or(0)), Unit::Hour);
    }
    usage
}

async fn domain_gone(client: &aws_sdk_opensearch::Client, r: &Resource) -> Result<bool, UpstreamError> {
    let out = sdk_call("es", "DescribeDomain", client.describe_domain().domain_name(&r.id).send()).await?;
    Ok(out.domain_status().is_none_or(|s| s.deleted() == Some(true)))
}

pub(crate) const OPENSEARCH_DOMAIN: Registration = Registration {
    name: "es:domain",
    scope: Scope::Regional,
    found_by: "ListDomainNames",
    reads: &["es:ListDomainNames", "es:DescribeDomains"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("es", "domain/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["es:DescribeDomain", "es:DeleteDomain"], &["arn:{p}:es:*:{a}:domain/{name}"]),
    list: |c, at| list_domains(&c.opensearch, at).boxed(),
    delete: |c, r| deleting(sdk_call("es", "DeleteDomain", c.opensearch.delete_domain().domain_name(&r.id).send())),
    gone: Some(|c, r| domain_gone(&c.opensearch, r).boxed()),
};
