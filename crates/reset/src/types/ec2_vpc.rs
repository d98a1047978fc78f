//! A VPC and what is built into it: subnets, route tables, an internet
//! gateway, network ACLs, endpoints. Everything in a VPC lists the VPC in
//! `before`, so the VPC goes last (DeleteVpc answers DependencyViolation
//! while anything is in it). The default VPC and its subnets and gateway
//! stay in a pool account; main route tables, default network ACLs and
//! default security groups cannot be deleted and go with their VPC.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, Tag};
use futures_util::FutureExt;

use super::{deleting, done, last, unless_gone};
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};

const EC2: &str = "ec2";
const DEFAULT_VPC: &str = "the default VPC's";

/// EC2 tags as pairs.
pub(super) fn tags(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned()))).collect()
}

/// The `Name` tag, EC2's display name.
pub(super) fn name(tags: &[Tag]) -> String {
    tags.iter().find(|t| t.key() == Some("Name")).and_then(|t| t.value()).unwrap_or_default().to_owned()
}

/// `arn:…:ec2:<region>:<account>:<kind>/<id>`.
pub(crate) fn arn(at: &Where, kind: &str, id: &str) -> String {
    at.regional(EC2, &format!("{kind}/{id}"))
}

pub(crate) async fn default_vpcs(c: &Client) -> Result<Vec<String>, UpstreamError> {
    let filter = Filter::builder().name("is-default").values("true").build();
    let out = sdk_call(EC2, "DescribeVpcs", c.describe_vpcs().filters(filter).send()).await?;
    Ok(out.vpcs().iter().filter_map(|v| v.vpc_id().map(str::to_owned)).collect())
}

async fn list_vpcs(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_vpcs().into_paginator().items().send();
    let vpcs = sdk_call(EC2, "DescribeVpcs", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(vpcs
        .iter()
        .filter_map(|v| {
            let id = v.vpc_id()?;
            Some(
                Resource::new(VPC.name, at, arn(at, "vpc", id), id)
                    .named(name(v.tags()))
                    .tagged(tags(v.tags()))
                    .protect_if(v.is_default() == Some(true), "the default VPC"),
            )
        })
        .collect())
}

/// The VPC of a default-VPC-family resource in a pool account.
pub(crate) const VPC: Registration = Registration {
    name: "ec2:vpc",
    scope: Scope::Regional,
    found_by: "DescribeVpcs",
    reads: &["ec2:DescribeVpcs"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "vpc/"),
    depends_on: &["everything in it"],
    protected: "the default VPC",
    grants: Grants::on(&["ec2:DeleteVpc"], &["arn:{p}:ec2:*:{a}:vpc/*"]),
    list: |c, at| list_vpcs(&c.ec2, at).boxed(),
    delete: |c, r| deleting(sdk_call(EC2, "DeleteVpc", c.ec2.delete_vpc().vpc_id(&r.id).send())),
    gone: None,
};

async fn list_subnets(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_subnets().into_paginator().items().send();
    let subnets = sdk_call(EC2, "DescribeSubnets", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(subnets
        .iter()
        .filter_map(|s| {
            let id = s.subnet_id()?;
            Some(
                Resource::new(SUBNET.name, at, arn(at, "subnet", id), id)
                    .named(name(s.tags()))
                    .tagged(tags(s.tags()))
                    .before(s.vpc_id().map(|v| arn(at, "vpc", v)))
                    .protect_if(s.default_for_az() == Some(true), DEFAULT_VPC),
            )
        })
        .collect())
}

pub(crate) const SUBNET: Registration = Registration {
    name: "ec2:subnet",
    scope: Scope::Regional,
    found_by: "DescribeSubnets",
    reads: &["ec2:DescribeSubnets"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "subnet/"),
    depends_on: &["ec2:instance", "ec2:network-interface", "ec2:natgateway", "elasticloadbalancing:loadbalancer"],
    protected: "the default subnets",
    grants: Grants::on(&["ec2:DeleteSubnet"], &["arn:{p}:ec2:*:{a}:subnet/*"]),
    list: |c, at| list_subnets(&c.ec2, at).boxed(),
    delete: |c, r| deleting(sdk_call(EC2, "DeleteSubnet", c.ec2.delete_subnet().subnet_id(&r.id).send())),
    gone: None,
};

async fn list_route_tables(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_route_tables().into_paginator().items().send();
    let tables = sdk_call(EC2, "DescribeRouteTables", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(tables
        .iter()
        // A main route table cannot be deleted: it goes with its VPC.
        .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
        .filter_map(|t| {
            let id = t.route_table_id()?;
            Some(
                Resource::new(ROUTE_TABLE.name, at, arn(at, "route-table", id), id)
                    .named(name(t.tags()))
                    .tagged(tags(t.tags()))
                    .before(t.vpc_id().map(|v| arn(at, "vpc", v))),
            )
        })
        .collect())
}

/// DeleteRouteTable refuses a table still associated with a subnet.
async fn delete_route_table(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let out = sdk_call(EC2, "DescribeRouteTables", c.describe_route_tables().route_table_ids(&r.id).send()).await?;
    for association in out.route_tables().iter().flat_map(|t| t.associations()) {
        if let Some(id) = association.route_table_association_id().filter(|_| association.main() != Some(true)) {
            let call = c.disassociate_route_table().association_id(id).send();
            unless_gone(sdk_call(EC2, "DisassociateRouteTable", call).await)?;
        }
    }
    done(sdk_call(EC2, "DeleteRouteTable", c.delete_route_table().route_table_id(&r.id).send()).await)
}

pub(crate) const ROUTE_TABLE: Registration = Registration {
    name: "ec2:route-table",
    scope: Scope::Regional,
    found_by: "DescribeRouteTables (not main)",
    reads: &["ec2:DescribeRouteTables"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "route-table/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["ec2:DisassociateRouteTable", "ec2:DeleteRouteTable"],
        &["arn:{p}:ec2:*:{a}:route-table/*", "arn:{p}:ec2:*:{a}:subnet/*"],
    ),
    list: |c, at| list_route_tables(&c.ec2, at).boxed(),
    delete: |c, r| delete_route_table(&c.ec2, r).boxed(),
    gone: None,
};

async fn list_internet_gateways(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_internet_gateways().into_paginator().items().send();
    let (gateways, defaults) = tokio::try_join!(
        sdk_call(EC2, "DescribeInternetGateways", pages.collect::<Result<Vec<_>, _>>()),
        default_vpcs(c)
    )?;
    Ok(gateways
        .iter()
        .filter_map(|g| {
            let id = g.internet_gateway_id()?;
            let vpcs: Vec<&str> = g.attachments().iter().filter_map(|a| a.vpc_id()).collect();
            let default = vpcs.iter().any(|v| defaults.iter().any(|d| d == v));
            let mut found = Resource::new(INTERNET_GATEWAY.name, at, arn(at, "internet-gateway", id), id)
                .named(name(g.tags()))
                .tagged(tags(g.tags()))
                .before(vpcs.iter().map(|v| arn(at, "vpc", v)))
                .protect_if(default, DEFAULT_VPC);
            found.parent = vpcs.first().map(|v| arn(at, "vpc", v));
            Some(found)
        })
        .collect())
}

/// Detached first. While anything in the VPC still holds a public address
/// (a NAT gateway's elastic IP, an instance), AWS refuses the detach with
/// DependencyViolation; the engine retries it until those are gone.
async fn delete_internet_gateway(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    if let Some(vpc) = &r.parent {
        let call = c.detach_internet_gateway().internet_gateway_id(&r.id).vpc_id(last(vpc)).send();
        unless_gone(sdk_call(EC2, "DetachInternetGateway", call).await)?;
    }
    let call = c.delete_internet_gateway().internet_gateway_id(&r.id).send();
    done(sdk_call(EC2, "DeleteInternetGateway", call).await)
}

pub(crate) const INTERNET_GATEWAY: Registration = Registration {
    name: "ec2:internet-gateway",
    scope: Scope::Regional,
    found_by: "DescribeInternetGateways",
    reads: &["ec2:DescribeInternetGateways", "ec2:DescribeVpcs"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "internet-gateway/"),
    depends_on: &["ec2:natgateway", "ec2:elastic-ip", "ec2:instance"],
    protected: "the default VPC's",
    grants: Grants::on(
        &["ec2:DetachInternetGateway", "ec2:DeleteInternetGateway"],
        &["arn:{p}:ec2:*:{a}:internet-gateway/*", "arn:{p}:ec2:*:{a}:vpc/*"],
    ),
    list: |c, at| list_internet_gateways(&c.ec2, at).boxed(),
    delete: |c, r| delete_internet_gateway(&c.ec2, r).boxed(),
    gone: None,
};

async fn list_network_acls(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_network_acls().into_paginator().items().send();
    let acls = sdk_call(EC2, "DescribeNetworkAcls", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(acls
        .iter()
        // A VPC's default ACL cannot be deleted: it goes with its VPC.
        .filter(|a| a.is_default() != Some(true))
        .filter_map(|a| {
            let id = a.network_acl_id()?;
            let mut found = Resource::new(NETWORK_ACL.name, at, arn(at, "network-acl", id), id)
                .named(name(a.tags()))
                .tagged(tags(a.tags()))
                .before(a.vpc_id().map(|v| arn(at, "vpc", v)))
                // A subnet deleted first takes its association along, so
                // the ACL needs no ReplaceNetworkAclAssociation on the
                // VPC's (untagged) default ACL.
                .after(a.associations().iter().filter_map(|x| x.subnet_id()).map(|s| arn(at, "subnet", s)));
            found.parent = a.vpc_id().map(|v| arn(at, "vpc", v));
            Some(found)
        })
        .collect())
}

/// A subnet is always associated with some ACL: an ACL still associated
/// (with a subnet that stays, such as a default one) is replaced by its
/// VPC's default one first.
async fn delete_network_acl(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let mine = sdk_call(EC2, "DescribeNetworkAcls", c.describe_network_acls().network_acl_ids(&r.id).send()).await?;
    let associations: Vec<String> = mine
        .network_acls()
        .iter()
        .flat_map(|a| a.associations())
        .filter_map(|a| a.network_acl_association_id().map(str::to_owned))
        .collect();
    if let (false, Some(vpc)) = (associations.is_empty(), &r.parent) {
        let filters = [
            Filter::builder().name("vpc-id").values(last(vpc)).build(),
            Filter::builder().name("default").values("true").build(),
        ];
        let call = c.describe_network_acls().set_filters(Some(filters.to_vec())).send();
        let defaults = sdk_call(EC2, "DescribeNetworkAcls", call).await?;
        if let Some(default) = defaults.network_acls().first().and_then(|a| a.network_acl_id()) {
            for association in associations {
                let call =
                    c.replace_network_acl_association().association_id(association).network_acl_id(default).send();
                unless_gone(sdk_call(EC2, "ReplaceNetworkAclAssociation", call).await)?;
            }
        }
    }
    done(sdk_call(EC2, "DeleteNetworkAcl", c.delete_network_acl().network_acl_id(&r.id).send()).await)
}

pub(crate) const NETWORK_ACL: Registration = Registration {
    name: "ec2:network-acl",
    scope: Scope::Regional,
    found_by: "DescribeNetworkAcls (not default)",
    reads: &["ec2:DescribeNetworkAcls"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "network-acl/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["ec2:ReplaceNetworkAclAssociation", "ec2:DeleteNetworkAcl"],
        &["arn:{p}:ec2:*:{a}:network-acl/*", "arn:{p}:ec2:*:{a}:subnet/*"],
    ),
    list: |c, at| list_network_acls(&c.ec2, at).boxed(),
    delete: |c, r| delete_network_acl(&c.ec2, r).boxed(),
    gone: None,
};

async fn list_vpc_endpoints(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_vpc_endpoints().into_paginator().items().send();
    let endpoints = sdk_call(EC2, "DescribeVpcEndpoints", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(endpoints
        .iter()
        .filter(|e| !matches!(e.state().map(|s| s.as_str()), Some("deleted" | "Deleted" | "deleting" | "Deleting")))
        .filter_map(|e| {
            let id = e.vpc_endpoint_id()?;
            let holds = e.vpc_id().map(|v| arn(at, "vpc", v)).into_iter();
            let subnets = e.subnet_ids().iter().map(|s| arn(at, "subnet", s));
            let groups = e.groups().iter().filter_map(|g| g.group_id()).map(|g| arn(at, "security-group", g));
            Some(
                Resource::new(VPC_ENDPOINT.name, at, arn(at, "vpc-endpoint", id), id)
                    .named(name(e.tags()))
                    .tagged(tags(e.tags()))
                    .before(holds.chain(subnets).chain(groups)),
            )
        })
        .collect())
}

async fn endpoint_gone(c: &Client, r: &Resource) -> Result<bool, UpstreamError> {
    let out = sdk_call(EC2, "DescribeVpcEndpoints", c.describe_vpc_endpoints().vpc_endpoint_ids(&r.id).send()).await?;
    Ok(out.vpc_endpoints().iter().all(|e| matches!(e.state().map(|s| s.as_str()), Some("deleted" | "Deleted"))))
}

pub(crate) const VPC_ENDPOINT: Registration = Registration {
    name: "ec2:vpc-endpoint",
    scope: Scope::Regional,
    found_by: "DescribeVpcEndpoints",
    reads: &["ec2:DescribeVpcEndpoints"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "vpc-endpoint/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["ec2:DeleteVpcEndpoints"], &["arn:{p}:ec2:*:{a}:vpc-endpoint/*"]),
    list: |c, at| list_vpc_endpoints(&c.ec2, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call(EC2, "DeleteVpcEndpoints", c.ec2.delete_vpc_endpoints().vpc_endpoint_ids(&r.id).send()))
    },
    gone: Some(|c, r| endpoint_gone(&c.ec2, r).boxed()),
};
