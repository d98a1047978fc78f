//! Matching the ARNs the tagging API returns to registered types: the
//! tagging API finds what a type's own listing may miss (and what no type
//! knows, which is reported `left`), but names only ARNs.

use crate::registry::{Registration, all};

/// How a type's resources are matched to the ARNs the tagging API returns:
/// the ARN's service, the start of its resource part (`vpc/`,
/// `loadbalancer/app/`) and how many `/` or `:` separators that part has
/// (a DynamoDB stream, `table/T/stream/…`, is not a table). A tagged ARN
/// no registration matches is `left`.
#[derive(Debug, Clone, Copy)]
pub struct ArnMatch {
    /// The ARN's service, e.g. `ec2`.
    pub service: &'static str,
    /// The resource part starts with this (`""` matches any).
    pub prefix: &'static str,
    /// Separators in the resource part; `None` when names may hold them.
    pub separators: Option<usize>,
}

impl ArnMatch {
    /// ARNs of `service` whose resource part is `prefix` plus one id.
    pub const fn id(service: &'static str, prefix: &'static str) -> Self {
        let mut separators = 0;
        let bytes = prefix.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'/' || bytes[i] == b':' {
                separators += 1;
            }
            i += 1;
        }
        Self { service, prefix, separators: Some(separators) }
    }

    /// ARNs of `service` whose resource part starts with `prefix`.
    pub const fn any(service: &'static str, prefix: &'static str) -> Self {
        Self { service, prefix, separators: None }
    }

    /// Never matched: the type is not in the tagging API.
    pub const NONE: Self = Self { service: "", prefix: "", separators: None };

    fn matches(&self, service: &str, resource: &str) -> bool {
        !self.service.is_empty()
            && self.service == service
            && resource.starts_with(self.prefix)
            && self.separators.is_none_or(|n| resource.matches(['/', ':']).count() == n)
    }
}

/// The registration a tagging-API ARN belongs to (the longest prefix
/// wins: `loadbalancer/app/` over `loadbalancer/`).
pub fn for_arn(arn: &str) -> Option<&'static Registration> {
    let mut parts = arn.splitn(6, ':');
    let service = parts.nth(2)?;
    let resource = parts.nth(2)?;
    all().iter().copied().filter(|r| r.arn.matches(service, resource)).max_by_key(|r| r.arn.prefix.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagging_arns_are_matched_to_their_type() {
        let cases = [
            ("arn:aws:s3:::0123456789ab-data", Some("s3:bucket")),
            ("arn:aws:dynamodb:eu-west-1:123456789012:table/t", Some("dynamodb:table")),
            ("arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/2026", None),
            ("arn:aws:lambda:eu-west-1:123456789012:function:f", Some("lambda:function")),
            ("arn:aws:lambda:eu-west-1:123456789012:function:f:live", None),
            ("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/f", Some("logs:log-group")),
            ("arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-1", Some("ec2:vpc")),
            ("arn:aws:ec2:eu-west-1::image/ami-1", Some("ec2:image")),
            (
                "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/lb/abc",
                Some("elasticloadbalancing:loadbalancer"),
            ),
            ("arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb/abc/def", Some("elasticloadbalancing:listener")),
            ("arn:aws:rds:eu-west-1:1:db:mydb", Some("rds:db")),
            ("arn:aws:acm:eu-west-1:1:certificate/abc", None),
        ];
        for (arn, kind) in cases {
            assert_eq!(for_arn(arn).map(|r| r.name), kind, "{arn}");
        }
    }
}
