//! Platform authentication: a JWT bearer token, checked for signature,
//! `exp`, `iss` (a single string) and `aud` (all required) and `nbf` and
//! `iat` when present (RFC 9068 access tokens carry no `nbf`), with
//! permissions from the OAuth2 `scope` (space-separated, RFC 6749 §3.3) or
//! `scp` (array) claim.
//!
//! The accepted algorithms follow the configured key, never the token's
//! header, which closes the classic HS256-signed-with-the-RSA-public-key and
//! `alg: none` confusions.

mod jwks;
mod scopes;
mod verified;

use std::time::Duration;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use jwks::{JwksCache, RefreshBounds};
pub use scopes::{Admin, Authorized, IssueSessions, ReadSessions, RevokeSessions, Scope};
use verified::VerifiedTokens;

use crate::config::AuthSettings;
use crate::error::ApiError;

enum KeySource {
    /// A fixed key: its validation rules are built once, not per request,
    /// and a token that passed them once stays good until it expires.
    Static {
        key: DecodingKey,
        validation: Box<Validation>,
        verified: VerifiedTokens,
    },
    Jwks(JwksCache),
}

/// Verifies platform tokens with the one configured key source.
pub struct Verifier {
    source: KeySource,
    rules: Rules,
}

/// What every token must satisfy besides its signature.
struct Rules {
    issuer: String,
    audience: String,
    leeway: u64,
}

/// The verified caller.
#[derive(Debug, Clone)]
pub struct Claims {
    /// The token's `sub`, for audit events.
    pub sub: Option<String>,
    /// Scopes from `scope` and `scp`.
    pub scopes: Vec<String>,
}

#[derive(Deserialize)]
struct RawClaims {
    /// Required by the validation rules; a float is a valid NumericDate.
    exp: Option<f64>,
    /// jsonwebtoken accepts an array holding the issuer; RFC 7519 §4.1.1
    /// makes `iss` one StringOrURI, so anything else is refused here.
    #[serde(default)]
    iss: serde_json::Value,
    iat: Option<f64>,
    sub: Option<String>,
    scope: Option<String>,
    scp: Option<Vec<String>>,
}

impl Verifier {
    /// A verifier for the one configured key source.
    pub fn from_settings(settings: &AuthSettings, http: reqwest::Client) -> Result<Self, String> {
        let rules = Rules {
            issuer: settings.issuer.clone().unwrap_or_default(),
            audience: settings.audience.clone().unwrap_or_default(),
            leeway: settings.leeway_seconds,
        };
        let source = if let Some(secret) = &settings.hs256_secret {
            let key = DecodingKey::from_secret(secret.expose_secret().as_bytes());
            KeySource::fixed(key, rules.validation(vec![Algorithm::HS256]))
        } else if let Some(pem) = &settings.public_key {
            KeySource::fixed(pem.key.clone(), rules.validation(pem.algorithms.clone()))
        } else if let Some(url) = &settings.jwks_url {
            let cooldown = Duration::from_secs(settings.jwks_refresh_cooldown_seconds);
            let bounds = RefreshBounds {
                min: Duration::from_secs(settings.jwks_refresh_min_seconds),
                max: Duration::from_secs(settings.jwks_refresh_max_seconds),
            };
            KeySource::Jwks(JwksCache::new(url.clone(), http, cooldown, bounds))
        } else {
            return Err("no auth key source configured".into());
        };
        Ok(Self { source, rules })
    }

    /// Verifies a bearer token and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        match &self.source {
            KeySource::Static { key, validation, verified } => {
                // The same clock jsonwebtoken checks `exp` and `nbf` against.
                let now = jsonwebtoken::get_current_timestamp();
                if let Some(claims) = verified.get(token, now, self.rules.leeway) {
                    return Ok(claims);
                }
                let raw = decode(token, key, validation)?;
                let expires = raw.exp;
                let claims = raw.into_claims(now, self.rules.leeway)?;
                if let Some(expires) = expires {
                    verified.insert(token, &claims, expires, now, self.rules.leeway);
                }
                Ok(claims)
            }
            KeySource::Jwks(cache) => {
                let header =
                    jsonwebtoken::decode_header(token).map_err(|_| ApiError::Unauthorized("malformed token"))?;
                let kid = header.kid.as_deref().ok_or(ApiError::Unauthorized("token has no `kid`"))?;
                let (key, algorithms) =
                    cache.key(kid).await.ok_or(ApiError::Unauthorized("token signed by an unknown key"))?;
                let now = jsonwebtoken::get_current_timestamp();
                decode(token, &key, &self.rules.validation(algorithms))?.into_claims(now, self.rules.leeway)
            }
        }
    }
}

impl KeySource {
    fn fixed(key: DecodingKey, validation: Validation) -> Self {
        Self::Static { key, validation: Box::new(validation), verified: VerifiedTokens::default() }
    }
}

fn decode(token: &str, key: &DecodingKey, validation: &Validation) -> Result<RawClaims, ApiError> {
    jsonwebtoken::decode::<RawClaims>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|e| ApiError::Unauthorized(reason(e.kind())))
}

impl RawClaims {
    /// The checks jsonwebtoken leaves to the caller: a single-string `iss`
    /// (its value was already compared) and an `iat` not in the future.
    fn into_claims(self, now: u64, leeway: u64) -> Result<Claims, ApiError> {
        if !self.iss.is_string() {
            return Err(ApiError::Unauthorized("token issuer must be a single string"));
        }
        if self.iat.is_some_and(|iat| iat > (now + leeway) as f64) {
            return Err(ApiError::Unauthorized("token issued in the future (iat)"));
        }
        // RFC 6749 §3.3: scope tokens are separated by spaces (%x20) only, so
        // "x\u{a0}admin" is one (unknown) scope, not two.
        let mut scopes: Vec<String> =
            self.scope.unwrap_or_default().split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        scopes.extend(self.scp.unwrap_or_default());
        Ok(Claims { sub: self.sub, scopes })
    }
}

impl Rules {
    fn validation(&self, algorithms: Vec<Algorithm>) -> Validation {
        let mut validation = Validation::new(algorithms.first().copied().unwrap_or(Algorithm::HS256));
        validation.algorithms = algorithms;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        // `nbf` is checked when present but not required (RFC 9068 tokens lack it).
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway;
        validation
    }
}

fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not yet valid (nbf)",
        ErrorKind::InvalidAudience => "token audience not accepted",
        ErrorKind::InvalidIssuer => "token issuer not accepted",
        ErrorKind::MissingRequiredClaim(_) => "token lacks a required claim (exp, iss, aud)",
        ErrorKind::InvalidSignature => "token signature is invalid",
        ErrorKind::InvalidAlgorithm => "token algorithm not accepted",
        _ => "malformed token",
    }
}

/// Pulls `Authorization: Bearer …` and verifies it. The scheme name is
/// case-insensitive (RFC 7235 §2.1); two Authorization headers are an
/// invalid request (RFC 6750 §3.1), not a choice of the first.
async fn claims_from_parts(parts: &Parts, verifier: &Verifier) -> Result<Claims, ApiError> {
    let mut headers = parts.headers.get_all(AUTHORIZATION).iter();
    let header = headers.next().ok_or(ApiError::Unauthorized("missing bearer token"))?;
    if headers.next().is_some() {
        return Err(ApiError::InvalidRequest("send exactly one Authorization header"));
    }
    let value = header.to_str().map_err(|_| ApiError::Unauthorized("malformed Authorization header"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized("Authorization must use the Bearer scheme"));
    }
    let token = token.trim_matches(' ');
    if token.is_empty() {
        return Err(ApiError::Unauthorized("missing bearer token"));
    }
    verifier.verify(token).await
}

/// Any state that can lend the verifier (axum's `FromRef`) authenticates.
impl<S> FromRequestParts<S> for Claims
where
    S: Send + Sync,
    Arc<Verifier>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        claims_from_parts(parts, &Arc::<Verifier>::from_ref(state)).await
    }
}

#[derive(Serialize)]
struct MintedClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    scope: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
}

/// Mints an HS256 platform token (CLI `token`, local use and the demo).
pub fn mint_token(settings: &AuthSettings, sub: &str, scope: &str, ttl: Duration) -> Result<SecretString, String> {
    let secret = settings.hs256_secret.as_ref().ok_or("`token` needs auth.hs256_secret (or its _FILE)")?;
    if settings.issuer.is_none() || settings.audience.is_none() {
        return Err("`token` needs auth.issuer and auth.audience".into());
    }
    let now = jsonwebtoken::get_current_timestamp();
    let claims = MintedClaims {
        iss: settings.issuer.as_deref().unwrap_or_default(),
        aud: settings.audience.as_deref().unwrap_or_default(),
        sub,
        scope,
        iat: now,
        nbf: now,
        exp: now + ttl.as_secs(),
    };
    let key = EncodingKey::from_secret(secret.expose_secret().as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
        .map(SecretString::from)
        .map_err(|e| format!("cannot sign token: {e}"))
}
