//! Validation behind `check-config`: collects every problem with its key.

use std::fmt;
use std::path::Path;

use figment::Figment;
use figment::value::{Dict, Value};
use secrecy::{ExposeSecret, SecretString};

use super::{Settings, profiles};
use crate::domain::{Region, is_valid_role_name};

/// Secrets shorter than this are refused: HS256 and the ticket MAC need at
/// least 256 bits of key to be worth their name.
pub const MIN_SECRET_BYTES: usize = 32;

/// One configuration problem, named by its dotted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Every problem found in one load.
#[derive(Debug)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub fn single(key: &str, message: String) -> Self {
        Self { problems: vec![Problem { key: key.into(), message }] }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration ({} problem(s)):", self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  {}: {}", p.key, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

const SECTIONS: &[(&str, &[&str])] = &[
    (
        "server",
        &[
            "listen",
            "public_url",
            "request_timeout_ms",
            "max_body_bytes",
            "max_header_bytes",
            "max_concurrency",
            "max_connections",
            "header_read_timeout_ms",
            "idle_timeout_ms",
            "shutdown_grace_seconds",
            "replica_id",
        ],
    ),
    (
        "auth",
        &[
            "issuer",
            "audience",
            "leeway_seconds",
            "hs256_secret",
            "hs256_secret_file",
            "public_key_pem_file",
            "jwks_url",
            "jwks_refresh_cooldown_seconds",
            "jwks_refresh_min_seconds",
            "jwks_refresh_max_seconds",
        ],
    ),
    (
        "aws",
        &["region", "endpoint_url", "federation_endpoint", "call_timeout_ms", "identity_cache_seconds", "sts_max_rps"],
    ),
    ("trust", &["principal_arn"]),
    (
        "console",
        &[
            "issuer",
            "ticket_secret",
            "ticket_secret_file",
            "launches_per_session_per_minute",
            "launch_sts_share_percent",
        ],
    ),
];

const PROFILE_KEYS: &[&str] = &[
    "role_name",
    "access_policy",
    "managed_policy_arns",
    "permissions_boundary_arn",
    "max_session_seconds",
    "default_session_seconds",
    "default",
];

#[derive(Default)]
pub(super) struct Problems(Vec<Problem>);

impl Problems {
    pub(super) fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { key: key.into(), message: message.into() });
    }
}

pub(super) fn extract_and_validate(figment: &Figment, base_dir: &Path) -> Result<Settings, ConfigError> {
    let mut problems = Problems::default();
    match figment.extract::<Dict>() {
        Ok(root) => unknown_keys(&root, &mut problems),
        Err(err) => problems.add("(file)", err.to_string()),
    }
    // Unknown keys were reported above (the structs ignore them), so the
    // remaining checks still run and every problem is listed at once.
    let mut settings: Settings = match figment.extract() {
        Ok(settings) => settings,
        Err(err) => {
            problems.0.extend(err.into_iter().map(|e| Problem { key: e.path.join("."), message: e.kind.to_string() }));
            return Err(ConfigError { problems: problems.0 });
        }
    };
    resolve_secret_files(&mut settings, &mut problems);
    validate(&settings, &mut problems);
    profiles::load_policies(&mut settings, base_dir, &mut problems);
    if problems.0.is_empty() { Ok(settings) } else { Err(ConfigError { problems: problems.0 }) }
}

fn unknown_keys(root: &Dict, problems: &mut Problems) {
    for (section, value) in root {
        if section == "profiles" {
            let Value::Dict(_, profiles) = value else {
                problems.add("profiles", "must be a table of profiles");
                continue;
            };
            for (name, profile) in profiles {
                check_table(&format!("profiles.{name}"), profile, PROFILE_KEYS, problems);
            }
            continue;
        }
        match SECTIONS.iter().find(|(known, _)| known == section) {
            Some((_, keys)) => check_table(section, value, keys, problems),
            None => problems.add(section.clone(), "unknown section"),
        }
    }
}

fn check_table(prefix: &str, value: &Value, known: &[&str], problems: &mut Problems) {
    let Value::Dict(_, table) = value else {
        problems.add(prefix, "must be a table");
        return;
    };
    for key in table.keys().filter(|k| !known.contains(&k.as_str())) {
        problems.add(format!("{prefix}.{key}"), "unknown key");
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

fn validate(s: &Settings, problems: &mut Problems) {
    if s.server.listen.parse::<std::net::SocketAddr>().is_err() {
        problems.add("server.listen", "must be address:port, e.g. 0.0.0.0:8080");
    }
    check_url("server.public_url", Some(&s.server.public_url), problems);
    // The id ends up in an IAM policy name: 128 characters of [\w+=,.@-].
    match s.server.replica_id() {
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
    for (key, value) in [
        ("server.request_timeout_ms", s.server.request_timeout_ms),
        ("server.max_body_bytes", s.server.max_body_bytes as u64),
        ("server.max_header_bytes", s.server.max_header_bytes as u64),
        ("server.max_concurrency", s.server.max_concurrency as u64),
        ("server.max_connections", s.server.max_connections as u64),
        ("server.header_read_timeout_ms", s.server.header_read_timeout_ms),
        ("server.idle_timeout_ms", s.server.idle_timeout_ms),
        ("aws.call_timeout_ms", s.aws.call_timeout_ms),
    ] {
        if value == 0 {
            problems.add(key, "must be greater than zero");
        }
    }

    let auth = &s.auth;
    for (key, value) in [("auth.issuer", &auth.issuer), ("auth.audience", &auth.audience)] {
        if value.as_deref().is_none_or(str::is_empty) {
            problems.add(key, "is required");
        }
    }
    let sources = [auth.hs256_secret.is_some(), auth.public_key_pem_file.is_some(), auth.jwks_url.is_some()];
    match sources.iter().filter(|s| **s).count() {
        0 => problems.add("auth", "no key source: set one of hs256_secret, public_key_pem_file, jwks_url"),
        1 => {}
        _ => problems.add("auth", "several key sources set: choose exactly one"),
    }
    check_secret("auth.hs256_secret", auth.hs256_secret.as_ref(), false, problems);
    if let Some(file) = &auth.public_key_pem_file
        && let Err(err) = crate::auth::PemKey::load(file)
    {
        problems.add("auth.public_key_pem_file", err.to_string());
    }
    check_url("auth.jwks_url", auth.jwks_url.as_deref(), problems);
    if auth.jwks_refresh_min_seconds > auth.jwks_refresh_max_seconds {
        problems.add("auth.jwks_refresh_min_seconds", "must not exceed auth.jwks_refresh_max_seconds");
    }

    if Region::parse(&s.aws.region).is_err() {
        problems.add("aws.region", format!("`{}` is not an AWS region name", s.aws.region));
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
    check_secret("console.ticket_secret", s.console.ticket_secret.as_ref(), true, problems);
    profiles::validate_profiles(s, problems);
}
