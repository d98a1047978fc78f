//! Regions and the partitions that decide endpoints and console hosts.

use std::fmt;

/// An AWS partition; each has its own sign-in endpoint and console domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// `aws`: the commercial regions.
    Aws,
    /// `aws-cn`: the China regions.
    AwsCn,
    /// `aws-us-gov`: GovCloud (US).
    AwsUsGov,
}

impl Partition {
    /// The partition named in an ARN (`arn:<partition>:…`).
    pub fn from_arn(arn: &str) -> Option<Self> {
        match arn.split(':').nth(1)? {
            "aws" => Some(Self::Aws),
            "aws-cn" => Some(Self::AwsCn),
            "aws-us-gov" => Some(Self::AwsUsGov),
            _ => None,
        }
    }

    /// The partition's name in ARNs.
    pub fn id(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::AwsCn => "aws-cn",
            Self::AwsUsGov => "aws-us-gov",
        }
    }

    /// The federation endpoint that issues sign-in tokens and logs in.
    pub fn federation_endpoint(self) -> &'static str {
        match self {
            Self::Aws => "https://signin.aws.amazon.com/federation",
            Self::AwsCn => "https://signin.amazonaws.cn/federation",
            Self::AwsUsGov => "https://signin.amazonaws-us-gov.com/federation",
        }
    }

    /// The console's DNS domain; regional hosts are `<region>.<domain>`.
    pub fn console_domain(self) -> &'static str {
        match self {
            Self::Aws => "console.aws.amazon.com",
            Self::AwsCn => "console.amazonaws.cn",
            Self::AwsUsGov => "console.amazonaws-us-gov.com",
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A region name such as `eu-west-1`, `cn-north-1` or `us-gov-west-1`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Region(String);

impl TryFrom<String> for Region {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl Region {
    /// The default region of the `aws` partition.
    pub fn us_east_1() -> Self {
        Self("us-east-1".into())
    }

    /// Parses a region name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let parts: Vec<&str> = raw.split('-').collect();
        let well_formed = parts.len() >= 3
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            && parts[0].len() == 2
            && parts[0].bytes().all(|b| b.is_ascii_lowercase())
            && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if well_formed && raw.len() <= 32 {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!("`{raw}` is not an AWS region name (like eu-west-1)"))
        }
    }

    /// The partition the region belongs to.
    pub fn partition(&self) -> Partition {
        if self.0.starts_with("cn-") {
            Partition::AwsCn
        } else if self.0.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }

    /// The region's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_regions_and_partitions() {
        assert_eq!(Region::parse("eu-west-1").unwrap().partition(), Partition::Aws);
        assert_eq!(Region::parse("cn-north-1").unwrap().partition(), Partition::AwsCn);
        assert_eq!(Region::parse("us-gov-west-1").unwrap().partition(), Partition::AwsUsGov);
        for bad in ["", "eu", "EU-west-1", "eu-west", "eu-west-x", "e-west-1", "eu--1", "eu-west-1/x"] {
            assert!(Region::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn partition_from_arn() {
        assert_eq!(Partition::from_arn("arn:aws-cn:iam::1:role/x"), Some(Partition::AwsCn));
        assert_eq!(Partition::from_arn("nonsense"), None);
    }
}
