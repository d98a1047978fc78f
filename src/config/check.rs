//! Validation behind `check-config`: collects every problem with its key.

use std::fmt;
use std::path::Path;

use figment::Figment;
use figment::value::Value;
use secrecy::{ExposeSecret, SecretString};

use super::{Settings, profiles};
use crate::domain::is_valid_role_name;

/// Secrets shorter than this are refused: HS256 and the ticket MAC need at
/// least 256 bits of key to be worth their name.
pub(crate) const MIN_SECRET_BYTES: usize = 32;

/// One configuration problem, named by its dotted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key, e.g. `server.listen`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

/// Every problem found in one load.
#[derive(Debug)]
pub struct ConfigError {
    /// Every problem, in the order found.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// One problem.
    pub fn single(key: &str, message: String) -> Self {
        Self { problems: vec![Problem { key: key.into(), message }] }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration ({} problem(s)):", self.problems.len())?;
        for p in &self.problems {
            match env_var(&p.key).filter(|_| !p.message.starts_with("unknown")) {
                Some(var) => writeln!(f, "  {}: {} (or environment variable {var})", p.key, p.message)?,
                None => writeln!(f, "  {}: {}", p.key, p.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The environment variable that sets a dotted key, when one can.
fn env_var(key: &str) -> Option<String> {
    let settable = key.contains('.') && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    settable.then(|| format!("{}{}", super::ENV_PREFIX, key.replace('.', "__").to_ascii_uppercase()))
}

#[derive(Default)]
pub(super) struct Problems(Vec<Problem>);

impl Problems {
    /// Whether none were found.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keys named, in order.
    #[cfg(test)]
    pub(super) fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|p| p.key.as_str()).collect()
    }

    pub(super) fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { key: key.into(), message: message.into() });
    }
}

pub(super) fn extract_and_validate(figment: &Figment, base_dir: &Path) -> Result<Settings, ConfigError> {
    let mut problems = Problems::default();
    let mut root = match figment.extract::<Value>() {
        Ok(root) => root,
        Err(err) => return Err(ConfigError::single("(file)", err.to_string())),
    };
    // Typed fields are checked here, and a bad one dropped, so one bad
    // value does not hide the problems after it (serde stops at the first).
    check_typed_fields(&mut root, &mut problems);
    // Unknown keys, found the way Cargo finds unused manifest keys: the
    // structs ignore them, serde_ignored reports each path it skipped.
    let _ = serde_ignored::deserialize(&root, |path| {
        let path = path.to_string();
        let what = if path.contains('.') { "unknown key" } else { "unknown section" };
        problems.add(path, what);
    })
    .map(|_: Settings| ());
    let repaired = Figment::from(figment::providers::Serialized::defaults(root));
    let mut settings: Settings = match repaired.extract() {
        Ok(settings) => settings,
        Err(err) => {
            problems.0.extend(err.into_iter().map(|e| Problem { key: e.path.join("."), message: e.kind.to_string() }));
            return Err(ConfigError { problems: problems.0 });
        }
    };
    // An unreadable secret file only matters to `serve` (and `token`):
    // provisioning uses neither secret, so it is reported by check_serving.
    let mut unread = Problems::default();
    resolve_secret_files(&mut settings, &mut unread);
    settings.unread_secrets = unread.0;
    if let Some(file) = &settings.auth.public_key_pem_file {
        match super::PemKey::load(file) {
            Ok(key) => settings.auth.public_key = Some(key),
            Err(err) => problems.add("auth.public_key_pem_file", err),
        }
    }
    validate(&settings, &mut problems);
    profiles::load_policies(&mut settings, base_dir, &mut problems);
    super::spend::load_prices(&mut settings, base_dir, &mut problems);
    if problems.0.is_empty() { Ok(settings) } else { Err(ConfigError { problems: problems.0 }) }
}

/// `(section, key, check)` of the fields whose type validates them.
type TypedField = (&'static str, &'static str, fn(&str) -> Result<(), String>);

const TYPED_FIELDS: [TypedField; 3] = [
    ("server", "listen", |v| {
        v.parse::<std::net::SocketAddr>().map(drop).map_err(|_| "must be address:port, e.g. 0.0.0.0:8080".into())
    }),
    ("server", "public_url", |v| super::PublicUrl::try_from(v.to_owned()).map(drop)),
    ("aws", "region", |v| crate::domain::Region::parse(v).map(drop)),
];

fn check_typed_fields(root: &mut Value, problems: &mut Problems) {
    let Value::Dict(_, sections) = root else { return };
    for (section, key, check) in TYPED_FIELDS {
        let Some(Value::Dict(_, table)) = sections.get_mut(section) else { continue };
        let verdict = match table.get(key) {
            None => continue,
            Some(value) => value.as_str().map_or_else(|| Err("must be a string".to_owned()), check),
        };
        if let Err(message) = verdict {
            problems.add(format!("{section}.{key}"), message);
            table.remove(key);
        }
    }
}

fn resolve_secret_files(settings: &mut Settings, problems: &mut Problems) {
    let auth = &mut settings.auth;
    resolve_secret("auth.hs256_secret", &mut auth.hs256_secret, auth.hs256_secret_file.as_deref(), problems);
    let console = &mut settings.console;
    resolve_secret(
        "console.ticket_secret",
        &mut console.ticket_secret,
        console.ticket_secret_file.as_deref(),
        problems,
    );
}

fn resolve_secret(key: &str, secret: &mut Option<SecretString>, file: Option<&Path>, problems: &mut Problems) {
    let Some(file) = file else { return };
    if secret.is_some() {
        problems.add(key, format!("set both `{key}` and `{key}_file`; choose one"));
        return;
    }
    match std::fs::read_to_string(file) {
        // Mounted secret files usually end with a newline that is not part of the secret.
        Ok(text) => *secret = Some(SecretString::from(text.trim_end_matches(['\r', '\n']))),
        Err(err) => problems.add(format!("{key}_file"), format!("cannot read {}: {err}", file.display())),
    }
}

fn check_secret(key: &str, secret: Option<&SecretString>, required: bool, problems: &mut Problems) {
    match secret {
        Some(s) if s.expose_secret().len() < MIN_SECRET_BYTES => {
            problems.add(key, format!("must be at least {MIN_SECRET_BYTES} bytes"))
        }
        None if required => problems.add(key, format!("is required (or `{key}_file`)")),
        _ => {}
    }
}

fn check_url(key: &str, value: Option<&str>, problems: &mut Problems) {
    if let Some(v) = value {
        match url::Url::parse(v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => problems.add(key, format!("`{v}` is not an http(s) URL")),
        }
    }
}

/// What only `serve` needs, present and valid: the launch-ticket key and
/// this replica's id (besides a platform key source with its `iss`/`aud`,
/// which the verifier reads from the settings).
#[derive(Debug)]
pub struct Serving {
    /// `console.ticket_secret`, at least 32 bytes.
    pub ticket_secret: SecretString,
    /// `server.replica_id`, or the host name.
    pub replica_id: String,
}

/// Checks what only `serve` needs; provisioning and `token` do without.
pub fn check_serving(s: &Settings) -> Result<Serving, ConfigError> {
    let mut problems = Problems(s.unread_secrets.clone());
    // The id ends up in an IAM policy name: 128 characters of [\w+=,.@-].
    let replica_id = s.server.replica_id();
    match &replica_id {
        Some(replica) if replica.len() > 90 || !is_valid_role_name(&replica[..replica.len().min(64)]) => {
            problems.add("server.replica_id", format!("`{replica}` must be 1-90 characters of [A-Za-z0-9+=,.@_-]"))
        }
        Some(_) => {}
        None => problems.add(
            "server.replica_id",
            "is required here: the host name is generic, and replicas sharing an id would overwrite each other's \
             revocations",
        ),
    }
    let auth = &s.auth;
    for (key, value) in [("auth.issuer", &auth.issuer), ("auth.audience", &auth.audience)] {
        if value.as_deref().is_none_or(str::is_empty) {
            problems.add(key, "is required");
        }
    }
    if auth.hs256_secret.is_none() && auth.public_key.is_none() && auth.jwks_url.is_none() {
        problems.add("auth", "no key source: set one of hs256_secret, public_key_pem_file, jwks_url");
    }
    check_secret("console.ticket_secret", s.console.ticket_secret.as_ref(), true, &mut problems);
    match (s.console.ticket_secret.clone(), replica_id) {
        (Some(ticket_secret), Some(replica_id)) if problems.0.is_empty() => Ok(Serving { ticket_secret, replica_id }),
        _ => Err(ConfigError { problems: problems.0 }),
    }
}

fn validate(s: &Settings, problems: &mut Problems) {
    for (key, value) in [
        ("server.request_timeout_ms", s.server.request_timeout_ms),
        ("server.max_body_bytes", s.server.max_body_bytes as u64),
        ("server.max_header_bytes", s.server.max_header_bytes as u64),
        ("server.max_concurrency", s.server.max_concurrency as u64),
        ("server.max_connections", s.server.max_connections as u64),
        ("server.header_read_timeout_ms", s.server.header_read_timeout_ms),
        ("server.idle_timeout_ms", s.server.idle_timeout_ms),
        ("aws.call_timeout_ms", s.aws.call_timeout_ms),
        ("cleanup.interval_seconds", s.cleanup.interval_seconds),
        ("cleanup.max_parallel", s.cleanup.max_parallel as u64),
        ("cleanup.max_attempts", u64::from(s.cleanup.max_attempts)),
    ] {
        if value == 0 {
            problems.add(key, "must be greater than zero");
        }
    }

    let auth = &s.auth;
    let sources = [auth.hs256_secret.is_some(), auth.public_key_pem_file.is_some(), auth.jwks_url.is_some()];
    if sources.iter().filter(|s| **s).count() > 1 {
        problems.add("auth", "several key sources set: choose exactly one");
    }
    check_secret("auth.hs256_secret", auth.hs256_secret.as_ref(), false, problems);
    check_url("auth.jwks_url", auth.jwks_url.as_deref(), problems);
    if auth.jwks_refresh_min_seconds > auth.jwks_refresh_max_seconds {
        problems.add("auth.jwks_refresh_min_seconds", "must not exceed auth.jwks_refresh_max_seconds");
    }

    check_url("aws.endpoint_url", s.aws.endpoint_url.as_deref(), problems);
    check_url("aws.federation_endpoint", s.aws.federation_endpoint.as_deref(), problems);
    if let Some(arn) = &s.trust.principal_arn
        && (!arn.starts_with("arn:") || arn.split(':').count() < 6)
    {
        problems.add("trust.principal_arn", format!("`{arn}` is not an ARN"));
    }
    if !(1..=100).contains(&s.console.launch_sts_share_percent) {
        problems.add("console.launch_sts_share_percent", "must be 1-100");
    }
    if s.console.launches_per_session_per_minute == 0 {
        problems.add("console.launches_per_session_per_minute", "must be greater than zero");
    }
    if s.console.issuer.trim().is_empty() {
        problems.add("console.issuer", "must not be empty");
    }
    check_secret("console.ticket_secret", s.console.ticket_secret.as_ref(), false, problems);
    for (key, message) in super::cleanup::problems(s).into_iter().chain(super::pool::problems(s)) {
        problems.add(key, message);
    }
    for (key, message) in super::spend::problems(s) {
        problems.add(key, message);
    }
    profiles::validate_profiles(s, problems);
}
