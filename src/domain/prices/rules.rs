//! Which offer-file products price which registry type, as data: one row
//! per type and product shape, read by `import`. A row names the product by
//! the attributes AWS publishes (`productFamily`, `usagetype` without its
//! region prefix, `instanceType`, …) and says which attribute is the size
//! the spend meter looks up (DESIGN §10).

use super::offer::Product;

/// What the offer file's price is per.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Per {
    /// Per hour: the table's unit.
    Hour,
    /// Per GB-month: the table's unit for storage.
    GbMonth,
    /// Per month (a key, a secret): the table holds it per hour, as 1/730
    /// of it, the hours AWS counts in a month.
    Month,
}

/// Where a row's size comes from.
#[derive(Debug, Clone, Copy)]
pub(super) enum Size {
    /// One price for every size: `"*"`.
    Any,
    /// The value of this attribute.
    Attr(&'static str),
    /// A fixed size for this row.
    Fixed(&'static str),
    /// The usage type's text after this marker (`Notebk:ml.t3.medium`).
    UsageAfter(&'static str),
}

/// One row: a registry type priced by the products that match.
pub(super) struct Rule {
    pub(super) kind: &'static str,
    pub(super) per: Per,
    /// `servicecode` of the product, or `""` for any service.
    pub(super) service: &'static str,
    /// `productFamily`, or `""` for any.
    pub(super) family: &'static str,
    /// The usage type without its region prefix, or `""` for any; a
    /// trailing `*` matches a prefix.
    pub(super) usage: &'static str,
    /// Attributes that must have these values when the product has them.
    pub(super) when: &'static [(&'static str, &'static str)],
    pub(super) size: Size,
}

/// On-demand Linux with no pre-installed software on shared hardware, the
/// price a learner's plain `RunInstances` pays.
const PLAIN_LINUX: &[(&str, &str)] = &[
    ("operatingSystem", "Linux"),
    ("tenancy", "Shared"),
    ("preInstalledSw", "NA"),
    ("capacitystatus", "Used"),
    ("licenseModel", "No License required"),
];

/// Single-AZ MySQL, the engine labs start; PostgreSQL differs by a cent.
const PLAIN_RDS: &[(&str, &str)] = &[("databaseEngine", "MySQL"), ("deploymentOption", "Single-AZ")];

#[rustfmt::skip]
pub(super) const RULES: &[Rule] = &[
    Rule { kind: "ec2:instance", per: Per::Hour, service: "AmazonEC2", family: "Compute Instance", usage: "", when: PLAIN_LINUX, size: Size::Attr("instanceType") },
    Rule { kind: "ec2:volume", per: Per::GbMonth, service: "AmazonEC2", family: "Storage", usage: "EBS:VolumeUsage*", when: &[], size: Size::Attr("volumeApiName") },
    Rule { kind: "ec2:snapshot", per: Per::GbMonth, service: "AmazonEC2", family: "Storage Snapshot", usage: "EBS:SnapshotUsage", when: &[], size: Size::Any },
    // Every public IPv4 address bills hourly since February 2024, in use or not.
    Rule { kind: "ec2:elastic-ip", per: Per::Hour, service: "", family: "", usage: "PublicIPv4:InUseAddress", when: &[], size: Size::Any },
    Rule { kind: "ec2:natgateway", per: Per::Hour, service: "", family: "NAT Gateway", usage: "NatGateway-Hours", when: &[], size: Size::Any },
    Rule { kind: "elasticloadbalancing:loadbalancer", per: Per::Hour, service: "", family: "Load Balancer-Application", usage: "LoadBalancerUsage", when: &[], size: Size::Fixed("application") },
    Rule { kind: "elasticloadbalancing:loadbalancer", per: Per::Hour, service: "", family: "Load Balancer-Network", usage: "LoadBalancerUsage", when: &[], size: Size::Fixed("network") },
    Rule { kind: "elasticloadbalancing:loadbalancer", per: Per::Hour, service: "", family: "Load Balancer-Gateway", usage: "LoadBalancerUsage", when: &[], size: Size::Fixed("gateway") },
    Rule { kind: "rds:db", per: Per::Hour, service: "AmazonRDS", family: "Database Instance", usage: "", when: PLAIN_RDS, size: Size::Attr("instanceType") },
    Rule { kind: "rds:db", per: Per::GbMonth, service: "AmazonRDS", family: "", usage: "RDS:GP2-Storage", when: &[], size: Size::Fixed("storage:gp2") },
    Rule { kind: "rds:db", per: Per::GbMonth, service: "AmazonRDS", family: "", usage: "RDS:GP3-Storage", when: &[], size: Size::Fixed("storage:gp3") },
    Rule { kind: "rds:db", per: Per::GbMonth, service: "AmazonRDS", family: "", usage: "RDS:PIOPS-Storage", when: &[], size: Size::Fixed("storage:io1") },
    Rule { kind: "rds:db", per: Per::GbMonth, service: "AmazonRDS", family: "", usage: "RDS:StorageUsage", when: &[], size: Size::Fixed("storage:standard") },
    Rule { kind: "elasticache:cluster", per: Per::Hour, service: "AmazonElastiCache", family: "Cache Instance", usage: "", when: &[("cacheEngine", "Redis")], size: Size::Attr("instanceType") },
    Rule { kind: "eks:cluster", per: Per::Hour, service: "", family: "", usage: "AmazonEKS-Hours:perCluster", when: &[], size: Size::Any },
    Rule { kind: "es:domain", per: Per::Hour, service: "AmazonES", family: "Amazon OpenSearch Service Instance", usage: "", when: &[], size: Size::Attr("instanceType") },
    Rule { kind: "redshift:cluster", per: Per::Hour, service: "AmazonRedshift", family: "Compute Instance", usage: "", when: &[], size: Size::Attr("instanceType") },
    Rule { kind: "sagemaker:notebook-instance", per: Per::Hour, service: "AmazonSageMaker", family: "", usage: "Notebk:*", when: &[], size: Size::UsageAfter("Notebk:") },
    Rule { kind: "dynamodb:table", per: Per::Hour, service: "", family: "", usage: "ReadCapacityUnit-Hrs", when: &[], size: Size::Fixed("rcu") },
    Rule { kind: "dynamodb:table", per: Per::Hour, service: "", family: "", usage: "WriteCapacityUnit-Hrs", when: &[], size: Size::Fixed("wcu") },
    Rule { kind: "kms:key", per: Per::Month, service: "awskms", family: "", usage: "KMS-Keys", when: &[], size: Size::Any },
    Rule { kind: "secretsmanager:secret", per: Per::Month, service: "", family: "", usage: "AWSSecretsManager-Secrets", when: &[], size: Size::Any },
];

/// The row a product prices, with its size.
pub(super) fn classify(product: &Product) -> Option<(&'static Rule, String)> {
    let usage = without_region_prefix(product.attr("usagetype"), product.attr("regionCode"));
    RULES.iter().find_map(|rule| {
        let matches = (rule.service.is_empty() || product.attr("servicecode") == rule.service)
            && (rule.family.is_empty() || product.family == rule.family)
            && usage_matches(rule.usage, usage)
            && rule.when.iter().all(|(name, value)| product.attributes.get(*name).is_none_or(|v| v == value));
        if !matches {
            return None;
        }
        let size = match rule.size {
            Size::Any => "*",
            Size::Fixed(size) => size,
            Size::Attr(name) => product.attr(name),
            Size::UsageAfter(marker) => usage.split_once(marker).map_or("", |(_, size)| size),
        };
        (!size.is_empty()).then(|| (rule, size.to_owned()))
    })
}

fn usage_matches(pattern: &str, usage: &str) -> bool {
    match pattern.strip_suffix('*') {
        _ if pattern.is_empty() => true,
        Some(prefix) => usage.starts_with(prefix),
        None => usage == pattern,
    }
}

/// `EUW1-BoxUsage:t3.micro` → `BoxUsage:t3.micro`. AWS prefixes usage
/// types with a region code (`USE1`, `EUW1`, `APN1`, `UGW1`, the older
/// `EU`; KMS the region's name, `us-east-1-KMS-Keys`); us-east-1's often
/// have none. Only those shapes are cut, so `KMS-Keys` or
/// `NatGateway-Hours` stay whole.
fn without_region_prefix<'u>(usage: &'u str, region: &str) -> &'u str {
    if let Some(rest) = usage.strip_prefix(region).and_then(|r| r.strip_prefix('-'))
        && !region.is_empty()
    {
        return rest;
    }
    let Some((head, rest)) = usage.split_once('-') else {
        return usage;
    };
    let b = head.as_bytes();
    let coded = b.len() == 4 && b[..3].iter().all(u8::is_ascii_uppercase) && b[3].is_ascii_digit();
    if coded || head == "EU" { rest } else { usage }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_region_code_is_cut_from_a_usage_type() {
        let cut = |usage| without_region_prefix(usage, "eu-west-1");
        assert_eq!(cut("EUW1-BoxUsage:t3.micro"), "BoxUsage:t3.micro");
        assert_eq!(cut("USE1-KMS-Keys"), "KMS-Keys");
        assert_eq!(cut("eu-west-1-KMS-Keys"), "KMS-Keys");
        assert_eq!(cut("KMS-Keys"), "KMS-Keys");
        assert_eq!(cut("EU-NatGateway-Hours"), "NatGateway-Hours");
        assert_eq!(cut("NatGateway-Hours"), "NatGateway-Hours");
        assert_eq!(cut("CAN1-TS-LoadBalancerUsage"), "TS-LoadBalancerUsage");
    }

    #[test]
    fn every_row_prices_a_registered_type() {
        for rule in RULES {
            assert!(sandbox_reset::registry::find(rule.kind).is_some(), "{}", rule.kind);
        }
    }
}
