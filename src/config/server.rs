//! `[server]`: the listener, its limits and this replica's identity.

use std::fmt;
use std::net::SocketAddr;

use serde::Deserialize;

/// `server.public_url`: an http(s) URL with a host, without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PublicUrl(String);

impl TryFrom<String> for PublicUrl {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        match url::Url::parse(&raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Ok(Self(raw.trim_end_matches('/').to_owned()))
            }
            _ => Err(format!("`{raw}` is not an http(s) URL")),
        }
    }
}

impl PublicUrl {
    /// The URL, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[server]`: the listener, limits and this replica's identity.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Base URL of launch links.
    pub public_url: PublicUrl,
    /// Budget of one whole request, upstream calls included.
    pub request_timeout_ms: u64,
    /// Largest accepted request body; 413 above it.
    pub max_body_bytes: usize,
    /// Largest accepted total of header names and values; 431 above it.
    pub max_header_bytes: usize,
    /// API requests served at once; 503 beyond.
    pub max_concurrency: usize,
    /// Open client connections; at the cap the one idle the longest closes.
    pub max_connections: usize,
    /// Time to receive a whole request head (slow clients are cut off).
    pub header_read_timeout_ms: u64,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout_ms: u64,
    /// How long SIGTERM waits for requests in flight.
    pub shutdown_grace_seconds: u64,
    /// Names this replica's revocation policy; must be unique per replica
    /// and stable across restarts. Default: the kernel's host name.
    pub replica_id: Option<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            public_url: PublicUrl("http://localhost:8080".into()),
            request_timeout_ms: 15_000,
            max_body_bytes: 16 * 1024,
            max_header_bytes: 16 * 1024,
            max_concurrency: 256,
            max_connections: 1024,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 75_000,
            shutdown_grace_seconds: 20,
            replica_id: None,
        }
    }
}

impl ServerSettings {
    /// `replica_id`, else the kernel's host name (gethostname(2): bash does
    /// not export `$HOSTNAME`, so on VMs and under systemd it is unset).
    /// `None` when neither names this replica: replicas sharing one id
    /// would rewrite each other's revocation policy.
    pub fn replica_id(&self) -> Option<String> {
        let host = gethostname::gethostname();
        replica_id_from(self.replica_id.as_deref(), &host.to_string_lossy())
    }
}

fn replica_id_from(configured: Option<&str>, host: &str) -> Option<String> {
    if let Some(id) = configured {
        return Some(id.to_owned());
    }
    // Container and image defaults that many machines share.
    let generic = ["", "localhost", "localhost.localdomain", "(none)"];
    (!generic.contains(&host)).then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn replica_id_defaults_to_a_specific_host_name() {
        assert_eq!(super::replica_id_from(Some("broker-0"), "host-a").as_deref(), Some("broker-0"));
        assert_eq!(super::replica_id_from(None, "host-a").as_deref(), Some("host-a"));
        assert_eq!(super::replica_id_from(None, "localhost"), None);
        assert_eq!(super::replica_id_from(None, ""), None);
    }
}
