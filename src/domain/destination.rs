//! Console destinations: where the federation login lands the learner.
//!
//! The federation endpoint redirects to whatever `Destination` says, so an
//! unchecked value would make the broker an open redirect that carries a
//! live console session. Only HTTPS console hosts of the region's partition
//! are accepted.

use url::Url;

use super::{Partition, Region};

/// A console URL of the partition: where a login lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination(String);

impl Destination {
    /// The console home page of `region` (a valid region is `[a-z0-9-]` only).
    pub fn home(region: &Region) -> Self {
        Self(format!("https://{region}.{}/console/home?region={region}", region.partition().console_domain()))
    }

    /// Accepts `https://<domain>/…` or `https://<sub>.<domain>/…` for the
    /// console domain of `partition`; no credentials, no explicit port.
    pub fn parse(raw: &str, partition: Partition) -> Result<Self, String> {
        let err = || format!("destination must be an https URL on {} or a subdomain of it", partition.console_domain());
        let url = Url::parse(raw).map_err(|_| err())?;
        let host = url.host_str().ok_or_else(err)?;
        let domain = partition.console_domain();
        let host_ok = host == domain || host.strip_suffix(domain).is_some_and(|sub| sub.ends_with('.'));
        if url.scheme() != "https"
            || !host_ok
            || url.port().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
            || raw.len() > 2048
        {
            return Err(err());
        }
        Ok(Self(url.into()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_console_hosts_of_the_partition() {
        for ok in [
            "https://console.aws.amazon.com/s3/home",
            "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1",
        ] {
            assert!(Destination::parse(ok, Partition::Aws).is_ok(), "{ok}");
        }
        assert!(Destination::parse("https://console.amazonaws.cn/", Partition::AwsCn).is_ok());
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "http://console.aws.amazon.com/",
            "https://evil.com/",
            "https://evilconsole.aws.amazon.com/",
            "https://console.aws.amazon.com.evil.com/",
            "https://user:pw@console.aws.amazon.com/",
            "https://console.aws.amazon.com:8443/",
            "javascript:alert(1)",
            "//console.aws.amazon.com/",
            "https://console.amazonaws.cn/",
        ] {
            assert!(Destination::parse(bad, Partition::Aws).is_err(), "{bad}");
        }
    }

    #[test]
    fn home_is_regional_and_valid() {
        let home = Destination::home(&Region::parse("cn-north-1").unwrap());
        assert_eq!(home.as_str(), "https://cn-north-1.console.amazonaws.cn/console/home?region=cn-north-1");
        assert!(Destination::parse(home.as_str(), Partition::AwsCn).is_ok());
    }
}
