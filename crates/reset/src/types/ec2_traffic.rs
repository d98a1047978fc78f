//! What carries traffic in a VPC: NAT gateways, elastic IPs, network
//! interfaces and security groups. A NAT gateway holds its subnet and its
//! elastic IP until AWS has finished deleting it (`deleting` → `deleted`,
//! about a minute), so both wait for it.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{IpPermission, NatGatewayState, NetworkInterfaceType};
use futures_util::FutureExt;

use super::ec2_vpc::{arn, name, tags};
use super::{deleting, done, unless_gone};
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};
use crate::usage::Usage;

const EC2: &str = "ec2";

async fn list_nat_gateways(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_nat_gateways().into_paginator().items().send();
    let gateways = sdk_call(EC2, "DescribeNatGateways", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(gateways
        .iter()
        .filter(|g| !matches!(g.state(), Some(NatGatewayState::Deleted | NatGatewayState::Failed)))
        .filter_map(|g| {
            let id = g.nat_gateway_id()?;
            let subnet = g.subnet_id().map(|s| arn(at, "subnet", s));
            let addresses = g.nat_gateway_addresses().iter().filter_map(|a| a.allocation_id());
            Some(
                Resource::new(NAT_GATEWAY.name, at, arn(at, "natgateway", id), id)
                    .named(name(g.tags()))
                    .tagged(tags(g.tags()))
                    .before(subnet.into_iter().chain(addresses.map(|a| arn(at, "elastic-ip", a))))
                    .billed(Usage::hourly("*", g.create_time())),
            )
        })
        .collect())
}

async fn nat_gateway_gone(c: &Client, r: &Resource) -> Result<bool, UpstreamError> {
    let out = sdk_call(EC2, "DescribeNatGateways", c.describe_nat_gateways().nat_gateway_ids(&r.id).send()).await?;
    Ok(out.nat_gateways().iter().all(|g| matches!(g.state(), Some(NatGatewayState::Deleted))))
}

pub(crate) const NAT_GATEWAY: Registration = Registration {
    name: "ec2:natgateway",
    scope: Scope::Regional,
    found_by: "DescribeNatGateways",
    reads: &["ec2:DescribeNatGateways"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "natgateway/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["ec2:DeleteNatGateway"], &["arn:{p}:ec2:*:{a}:natgateway/*"]),
    list: |c, at| list_nat_gateways(&c.ec2, at).boxed(),
    delete: |c, r| deleting(sdk_call(EC2, "DeleteNatGateway", c.ec2.delete_nat_gateway().nat_gateway_id(&r.id).send())),
    gone: Some(|c, r| nat_gateway_gone(&c.ec2, r).boxed()),
};

async fn list_addresses(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let out = sdk_call(EC2, "DescribeAddresses", c.describe_addresses().send()).await?;
    Ok(out
        .addresses()
        .iter()
        .filter_map(|a| {
            let id = a.allocation_id()?;
            let mut found = Resource::new(ELASTIC_IP.name, at, arn(at, "elastic-ip", id), id)
                .named(name(a.tags()))
                .tagged(tags(a.tags()));
            found.parent = a.association_id().map(str::to_owned);
            // Every public IPv4 address bills by the hour, attached or not
            // (since February 2024); DescribeAddresses gives no start.
            Some(found.billed(Usage::hourly("*", None)))
        })
        .collect())
}

/// An associated address is disassociated first (ReleaseAddress refuses
/// it with InvalidIPAddress.InUse).
async fn release_address(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    if let Some(association) = &r.parent {
        let call = c.disassociate_address().association_id(association).send();
        unless_gone(sdk_call(EC2, "DisassociateAddress", call).await)?;
    }
    done(sdk_call(EC2, "ReleaseAddress", c.release_address().allocation_id(&r.id).send()).await)
}

pub(crate) const ELASTIC_IP: Registration = Registration {
    name: "ec2:elastic-ip",
    scope: Scope::Regional,
    found_by: "DescribeAddresses",
    reads: &["ec2:DescribeAddresses"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "elastic-ip/"),
    depends_on: &["ec2:natgateway"],
    protected: "",
    grants: Grants::on(
        &["ec2:DisassociateAddress", "ec2:ReleaseAddress"],
        &["arn:{p}:ec2:*:{a}:elastic-ip/*", "arn:{p}:ec2:*:{a}:network-interface/*"],
    ),
    list: |c, at| list_addresses(&c.ec2, at).boxed(),
    delete: |c, r| release_address(&c.ec2, r).boxed(),
    gone: None,
};

async fn list_interfaces(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_network_interfaces().into_paginator().items().send();
    let interfaces = sdk_call(EC2, "DescribeNetworkInterfaces", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(interfaces
        .iter()
        // Interfaces a service made for itself (a NAT gateway's, a load
        // balancer's, a Lambda function's) go with their owner.
        .filter(|i| i.requester_managed() != Some(true))
        .filter(|i| matches!(i.interface_type(), None | Some(NetworkInterfaceType::Interface)))
        .filter_map(|i| {
            let id = i.network_interface_id()?;
            let subnet = i.subnet_id().map(|s| arn(at, "subnet", s));
            let groups = i.groups().iter().filter_map(|g| g.group_id()).map(|g| arn(at, "security-group", g));
            Some(
                Resource::new(NETWORK_INTERFACE.name, at, arn(at, "network-interface", id), id)
                    .tagged(tags(i.tag_set()))
                    .before(subnet.into_iter().chain(groups)),
            )
        })
        .collect())
}

pub(crate) const NETWORK_INTERFACE: Registration = Registration {
    name: "ec2:network-interface",
    scope: Scope::Regional,
    found_by: "DescribeNetworkInterfaces (not service-managed)",
    reads: &["ec2:DescribeNetworkInterfaces"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "network-interface/"),
    depends_on: &["ec2:instance"],
    protected: "",
    grants: Grants::on(&["ec2:DeleteNetworkInterface"], &["arn:{p}:ec2:*:{a}:network-interface/*"]),
    list: |c, at| list_interfaces(&c.ec2, at).boxed(),
    delete: |c, r| {
        let call = c.ec2.delete_network_interface().network_interface_id(&r.id).send();
        deleting(sdk_call(EC2, "DeleteNetworkInterface", call))
    },
    gone: None,
};

async fn list_groups(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_security_groups().into_paginator().items().send();
    let groups = sdk_call(EC2, "DescribeSecurityGroups", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(groups
        .iter()
        // A VPC's default group cannot be deleted: it goes with its VPC.
        .filter(|g| g.group_name() != Some("default"))
        .filter_map(|g| {
            let id = g.group_id()?;
            Some(
                Resource::new(SECURITY_GROUP.name, at, arn(at, "security-group", id), id)
                    .named(g.group_name().unwrap_or_default())
                    .tagged(tags(g.tags()))
                    .before(g.vpc_id().map(|v| arn(at, "vpc", v))),
            )
        })
        .collect())
}

fn references_groups(permission: &IpPermission) -> bool {
    !permission.user_id_group_pairs().is_empty()
}

/// Rules that name other groups are revoked first: two groups that name
/// each other (web and database tiers) could otherwise never be deleted,
/// and a group named by another's rule answers DependencyViolation until
/// that rule is gone.
async fn delete_group(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let out = sdk_call(EC2, "DescribeSecurityGroups", c.describe_security_groups().group_ids(&r.id).send()).await?;
    for group in out.security_groups() {
        let ingress: Vec<IpPermission> =
            group.ip_permissions().iter().filter(|p| references_groups(p)).cloned().collect();
        if !ingress.is_empty() {
            let call = c.revoke_security_group_ingress().group_id(&r.id).set_ip_permissions(Some(ingress)).send();
            unless_gone(sdk_call(EC2, "RevokeSecurityGroupIngress", call).await)?;
        }
        let egress: Vec<IpPermission> =
            group.ip_permissions_egress().iter().filter(|p| references_groups(p)).cloned().collect();
        if !egress.is_empty() {
            let call = c.revoke_security_group_egress().group_id(&r.id).set_ip_permissions(Some(egress)).send();
            unless_gone(sdk_call(EC2, "RevokeSecurityGroupEgress", call).await)?;
        }
    }
    done(sdk_call(EC2, "DeleteSecurityGroup", c.delete_security_group().group_id(&r.id).send()).await)
}

pub(crate) const SECURITY_GROUP: Registration = Registration {
    name: "ec2:security-group",
    scope: Scope::Regional,
    found_by: "DescribeSecurityGroups (not default)",
    reads: &["ec2:DescribeSecurityGroups"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "security-group/"),
    depends_on: &["ec2:instance", "ec2:network-interface", "elasticloadbalancing:loadbalancer", "rds:db"],
    protected: "",
    grants: Grants::on(
        &["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:DeleteSecurityGroup"],
        &["arn:{p}:ec2:*:{a}:security-group/*"],
    ),
    list: |c, at| list_groups(&c.ec2, at).boxed(),
    delete: |c, r| delete_group(&c.ec2, r).boxed(),
    gone: None,
};
