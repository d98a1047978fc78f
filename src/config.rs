//! Layered configuration.
//!
//! Precedence, lowest first: built-in defaults, the one TOML file named by
//! `--config`, then environment variables `SANDBOX_BROKER__SECTION__KEY`
//! (double underscore between levels). Secrets may instead be read from the
//! file named by `…_file` (e.g. `SANDBOX_BROKER__AUTH__HS256_SECRET_FILE`), as
//! orchestrators mount them. [`load`] returns every problem at once, each
//! naming its key, so `check-config` can report them together.

mod check;
mod cleanup;
mod keys;
mod pool;
mod profiles;
mod server;
mod spend;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

pub use check::{ConfigError, Problem, Serving, check_serving};
pub use cleanup::{CleanupSettings, LedgerSettings};
pub use keys::PemKey;
pub use pool::{Isolation, PoolSettings};
pub use server::{PublicUrl, ServerSettings};
pub use spend::{MAX_BUDGET_USD, OnExhausted, SpendSettings, valid_budget};

use crate::domain::Region;
use crate::domain::guardrails::{GuardrailSettings, Guardrails};

/// Environment variable prefix; levels are separated by `__`.
pub const ENV_PREFIX: &str = "SANDBOX_BROKER__";

/// The whole configuration, validated by [`load`].
#[derive(Debug, Deserialize)]
pub struct Settings {
    /// `[server]`.
    #[serde(default)]
    pub server: ServerSettings,
    /// `[auth]`.
    #[serde(default)]
    pub auth: AuthSettings,
    /// `[aws]`.
    #[serde(default)]
    pub aws: AwsSettings,
    /// `[trust]`.
    #[serde(default)]
    pub trust: TrustSettings,
    /// `[console]`.
    #[serde(default)]
    pub console: ConsoleSettings,
    /// `[ledger]`.
    #[serde(default)]
    pub ledger: LedgerSettings,
    /// `[cleanup]`.
    #[serde(default)]
    pub cleanup: CleanupSettings,
    /// `[pool]`: the accounts account-isolated profiles lease.
    #[serde(default)]
    pub pool: PoolSettings,
    /// `[spend]`: the spend meter and budgets.
    #[serde(default)]
    pub spend: SpendSettings,
    /// `[guardrails]`: defaults for every profile's guardrails.
    #[serde(default)]
    pub guardrails: GuardrailSettings,
    /// `[profiles.<name>]`, by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileSettings>,
    /// Secret files that could not be read; a problem for `serve` only.
    #[serde(skip)]
    pub(crate) unread_secrets: Vec<Problem>,
}

/// `[auth]`: how platform tokens are verified.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// The `iss` every token must carry.
    pub issuer: Option<String>,
    /// The `aud` every token must carry.
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway_seconds: u64,
    /// Key source 1: an HS256 shared secret.
    pub hs256_secret: Option<SecretString>,
    /// Where `hs256_secret` may be read from instead.
    pub hs256_secret_file: Option<PathBuf>,
    /// Key source 2: a PEM public key file.
    pub public_key_pem_file: Option<PathBuf>,
    /// The key in `public_key_pem_file`, loaded by validation.
    #[serde(skip)]
    pub public_key: Option<PemKey>,
    /// Key source 3: a JWKS URL.
    pub jwks_url: Option<String>,
    /// Minimum time between two JWKS fetches.
    pub jwks_refresh_cooldown_seconds: u64,
    /// Bounds on how long a fetched JWKS is used (its `max-age`).
    pub jwks_refresh_min_seconds: u64,
    /// Upper bound on how long a fetched JWKS is used.
    pub jwks_refresh_max_seconds: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            leeway_seconds: 30,
            hs256_secret: None,
            hs256_secret_file: None,
            public_key_pem_file: None,
            public_key: None,
            jwks_url: None,
            jwks_refresh_cooldown_seconds: 30,
            jwks_refresh_min_seconds: 60,
            jwks_refresh_max_seconds: 3_600,
        }
    }
}

/// `[aws]`: upstream endpoints and budgets.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct AwsSettings {
    /// Region of STS calls, default console region, and the partition.
    pub region: Region,
    /// An emulator's endpoint for STS and IAM.
    pub endpoint_url: Option<String>,
    /// The console federation endpoint; default: the partition's.
    pub federation_endpoint: Option<String>,
    /// Per-attempt budget of one upstream call (STS, IAM, federation).
    pub call_timeout_ms: u64,
    /// How long the broker's own identity (GetCallerIdentity) and role
    /// lookups (GetRole) are cached.
    pub identity_cache_seconds: u64,
    /// Client-side limit on STS calls per second (0 = off).
    pub sts_max_rps: u32,
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            region: Region::us_east_1(),
            endpoint_url: None,
            federation_endpoint: None,
            call_timeout_ms: 5_000,
            identity_cache_seconds: 60,
            sts_max_rps: 100,
        }
    }
}

/// `[trust]`: who the provisioned roles trust.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TrustSettings {
    /// Overrides the broker's own principal.
    pub principal_arn: Option<String>,
}

/// `[console]`: console sign-in and launch links.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct ConsoleSettings {
    /// Shown by the console as the sign-in issuer.
    pub issuer: String,
    /// Key of the launch tickets (required to serve).
    pub ticket_secret: Option<SecretString>,
    /// Where `ticket_secret` may be read from instead.
    pub ticket_secret_file: Option<PathBuf>,
    /// Sign-in tokens minted per session and minute by launch links.
    pub launches_per_session_per_minute: u32,
    /// Share of `aws.sts_max_rps` launch links may use, in percent.
    pub launch_sts_share_percent: u32,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            issuer: "sandbox-broker".into(),
            ticket_secret: None,
            ticket_secret_file: None,
            launches_per_session_per_minute: 6,
            launch_sts_share_percent: 25,
        }
    }
}

/// `[profiles.<name>]`: one IAM role and access policy.
#[derive(Debug, Deserialize)]
pub struct ProfileSettings {
    /// IAM role name; defaults to `sandbox-<profile>`.
    pub role_name: Option<String>,
    /// Policy template path, relative to the config file's directory;
    /// defaults to `policies/<profile>.json`.
    pub access_policy: Option<PathBuf>,
    /// Managed policies attached to the role.
    #[serde(default)]
    pub managed_policy_arns: Vec<String>,
    /// The role's permissions boundary, if any.
    pub permissions_boundary_arn: Option<String>,
    /// Longest credential lifetime this profile grants.
    #[serde(default = "default_max_session_seconds")]
    pub max_session_seconds: u32,
    /// Lifetime when a request names none.
    #[serde(default = "default_session_seconds")]
    pub default_session_seconds: u32,
    /// The profile used when a request names none.
    #[serde(default)]
    pub default: bool,
    /// Spend guardrails; each field set replaces `[guardrails]`'s.
    #[serde(default)]
    pub guardrails: GuardrailSettings,
    /// Whether ended sessions of this profile are cleaned up.
    #[serde(default = "enabled")]
    pub cleanup: bool,
    /// `shared` (the broker's account) or `account` (a pool account each).
    #[serde(default)]
    pub isolation: Isolation,
    /// A session's spend budget in USD (none: estimated, never acted on).
    pub budget_usd: Option<f64>,
    /// The latest a session's lease may be extended to, from its start.
    pub max_lease_seconds: Option<u32>,
    /// The policy template's text, read by [`load`].
    #[serde(skip)]
    pub policy_template: String,
}

fn enabled() -> bool {
    true
}

fn default_max_session_seconds() -> u32 {
    43_200
}

fn default_session_seconds() -> u32 {
    3_600
}

impl ProfileSettings {
    /// The role's name: `role_name`, or `sandbox-<profile>`.
    pub fn role_name(&self, profile: &str) -> String {
        self.role_name.clone().unwrap_or_else(|| format!("sandbox-{profile}"))
    }
}

impl Settings {
    /// A profile's guardrails: its own fields, else `[guardrails]`'s, else
    /// the standard set.
    pub fn guardrails(&self, profile: &ProfileSettings) -> Guardrails {
        Guardrails::resolve(&self.guardrails, &profile.guardrails)
    }

    /// The profile used when a request names none: the one marked
    /// `default = true`, or the only one.
    pub fn default_profile(&self) -> Option<&str> {
        let marked = self.profiles.iter().find(|(_, p)| p.default).map(|(name, _)| name.as_str());
        marked.or_else(|| match self.profiles.len() {
            1 => self.profiles.keys().next().map(String::as_str),
            _ => None,
        })
    }
}

/// Loads, resolves and validates the configuration; `path` is the one TOML
/// file (absent means defaults and environment only).
pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
    let mut figment = Figment::new();
    if let Some(path) = path {
        if !path.is_file() {
            return Err(ConfigError::single("--config", format!("no such file: {}", path.display())));
        }
        figment = figment.merge(Toml::file(path));
    }
    figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__"));
    let base_dir = path.and_then(Path::parent).unwrap_or_else(|| Path::new("."));
    check::extract_and_validate(&figment, base_dir)
}

/// A minimal valid configuration for unit tests.
#[cfg(test)]
pub fn test_settings() -> Settings {
    let profile = ProfileSettings {
        role_name: Some("sandbox-s3".into()),
        access_policy: None,
        managed_policy_arns: vec![],
        permissions_boundary_arn: None,
        max_session_seconds: 43_200,
        default_session_seconds: 3_600,
        default: true,
        guardrails: GuardrailSettings::default(),
        cleanup: true,
        isolation: Isolation::Shared,
        budget_usd: None,
        max_lease_seconds: None,
        policy_template: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
            .into(),
    };
    Settings {
        server: ServerSettings::default(),
        auth: AuthSettings::default(),
        aws: AwsSettings::default(),
        trust: TrustSettings::default(),
        console: ConsoleSettings::default(),
        ledger: LedgerSettings::default(),
        cleanup: CleanupSettings::default(),
        pool: PoolSettings::default(),
        spend: SpendSettings::default(),
        guardrails: GuardrailSettings::default(),
        profiles: [("s3".to_owned(), profile)].into_iter().collect(),
        unread_secrets: Vec::new(),
    }
}
