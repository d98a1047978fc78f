//! The representations of an issued session, chosen with `?format=`. They
//! cover the original script's three outputs (json, write, link) plus the
//! two ways shells and the AWS CLI consume credentials directly.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::broker::IssuedSession;
use crate::clock::rfc3339;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
/// `?format=`: how an issued session is shown.
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// The whole session as JSON.
    #[default]
    Json,
    /// An INI section for `~/.aws/credentials`.
    CredentialsFile,
    /// Shell `export` lines.
    Env,
    /// The AWS CLI's `credential_process` document.
    CredentialProcess,
    /// The console sign-in URL alone.
    Link,
}

impl OutputFormat {
    /// Whether the representation includes the console sign-in URL.
    pub fn shows_console_url(self) -> bool {
        matches!(self, Self::Json | Self::Link)
    }
}

#[derive(Debug, Default, Deserialize)]
/// The query of `POST /sessions`.
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    /// The representation.
    #[serde(default)]
    pub format: OutputFormat,
    /// The INI section name for `credentials-file`.
    pub profile_name: Option<String>,
}

impl FormatQuery {
    /// `profile_name` becomes an INI section header, so it is restricted to
    /// characters that cannot break out of `[…]` or start a new line.
    pub fn validate(self) -> Result<Self, ApiError> {
        if let Some(name) = &self.profile_name {
            let ok = (1..=64).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.@+=,".contains(c));
            if !ok {
                return Err(ApiError::InvalidQuery(
                    "profile_name must be 1-64 characters of [A-Za-z0-9_.@+=,-]".into(),
                ));
            }
        }
        Ok(self)
    }
}

pub(crate) fn render(session: &IssuedSession, query: &FormatQuery) -> Response {
    let (content_type, body) = match query.format {
        OutputFormat::Json => ("application/json", json_body(session)),
        OutputFormat::CredentialsFile => ("text/plain; charset=utf-8", credentials_file(session, query).into_bytes()),
        OutputFormat::Env => ("text/plain; charset=utf-8", env_exports(session).into_bytes()),
        OutputFormat::CredentialProcess => ("application/json", credential_process(session).to_string().into_bytes()),
        OutputFormat::Link => ("text/plain; charset=utf-8", format!("{}\n", console_url(session)).into_bytes()),
    };
    let mut response = (StatusCode::CREATED, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Credentials and sign-in links must never sit in a shared or browser cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The `json` representation. Typed, not a `serde_json::Value`: it is
/// written once per session, straight into the response buffer.
#[derive(Serialize)]
struct SessionBody<'a> {
    session_id: &'a str,
    profile: &'a str,
    role_arn: &'a str,
    role_session_name: &'a str,
    assumed_role_arn: &'a str,
    region: &'a str,
    credentials: CredentialsBody<'a>,
    console: ConsoleBody<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
}

#[derive(Serialize)]
struct CredentialsBody<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: &'a str,
}

#[derive(Serialize)]
struct ConsoleBody<'a> {
    url: &'a str,
    url_expires_at: String,
    launch_url: &'a str,
    launch_expires_at: &'a str,
}

/// The sign-in URL; the formats that show it always ask for one.
fn console_url(s: &IssuedSession) -> &str {
    s.console.as_ref().map_or("", |(url, _)| url.expose_secret())
}

fn json_body(s: &IssuedSession) -> Vec<u8> {
    let c = &s.credentials;
    // The launch link is good exactly as long as the keys.
    let expiration = rfc3339(c.expiration);
    let body = SessionBody {
        session_id: s.session_id.as_str(),
        profile: &s.profile,
        role_arn: &s.role_arn,
        role_session_name: s.role_session_name.as_str(),
        assumed_role_arn: &s.assumed_role_arn,
        region: s.region.as_str(),
        credentials: CredentialsBody {
            access_key_id: &c.access_key_id,
            secret_access_key: c.secret_access_key.expose_secret(),
            session_token: c.session_token.expose_secret(),
            expiration: &expiration,
        },
        console: ConsoleBody {
            url: console_url(s),
            url_expires_at: s.console.as_ref().map(|(_, at)| rfc3339(*at)).unwrap_or_default(),
            launch_url: &s.launch_url,
            launch_expires_at: &expiration,
        },
        account_id: s.account_id.as_deref(),
    };
    // Serialising borrowed strings into a Vec cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

fn credentials_file(s: &IssuedSession, query: &FormatQuery) -> String {
    let c = &s.credentials;
    let name = query.profile_name.as_deref().unwrap_or(s.role_session_name.as_str());
    format!(
        "[{name}]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
        c.access_key_id,
        c.secret_access_key.expose_secret(),
        c.session_token.expose_secret(),
    )
}

fn env_exports(s: &IssuedSession) -> String {
    let c = &s.credentials;
    // AWS_DEFAULT_REGION too: AWS CLI v1 and older SDKs read only that one.
    let vars = [
        ("AWS_ACCESS_KEY_ID", c.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", c.secret_access_key.expose_secret()),
        ("AWS_SESSION_TOKEN", c.session_token.expose_secret()),
        ("AWS_REGION", s.region.as_str()),
        ("AWS_DEFAULT_REGION", s.region.as_str()),
    ];
    vars.iter()
        .map(|(name, value)| {
            let quoted = shlex::try_quote(value).map(|q| q.into_owned()).unwrap_or_default();
            format!("export {name}={quoted}\n")
        })
        .collect()
}

/// The document the AWS CLI's `credential_process` expects (Version 1).
fn credential_process(s: &IssuedSession) -> serde_json::Value {
    let c = &s.credentials;
    json!({
        "Version": 1,
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key.expose_secret(),
        "SessionToken": c.session_token.expose_secret(),
        "Expiration": rfc3339(c.expiration),
    })
}
