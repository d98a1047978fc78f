//! JWKS key source. The set is cached for the lifetime the IdP gives it
//! (`Cache-Control: max-age`, held within `auth.jwks_refresh_min_seconds`
//! ..= `auth.jwks_refresh_max_seconds`, 300 s when absent) and fetched again
//! on first use after that, so a key the IdP withdrew stops being trusted
//! within one lifetime. An unknown `kid` (key rotation) triggers a fetch
//! too, at most once per cooldown, so a flood of forged `kid`s cannot turn
//! the broker into a JWKS-fetching amplifier. When a fetch fails the last
//! good set stays in use and the fetch is retried after the cooldown.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::header::CACHE_CONTROL;
use tokio::sync::{Mutex, RwLock};

/// A published key and the algorithms a token signed with it may name.
pub(crate) type VerifyingKey = (DecodingKey, Vec<Algorithm>);

/// A JWKS is small; anything larger is refused rather than buffered.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Lifetime of a set served without `max-age` (before the bounds).
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

#[derive(Default)]
struct KeySet {
    keys: HashMap<String, VerifyingKey>,
    fresh_until: Option<Instant>,
}

/// How long a fetched set may be used: its `max-age`, within bounds.
#[derive(Debug, Clone, Copy)]
pub struct RefreshBounds {
    /// Shortest use of a fetched set.
    pub min: Duration,
    /// Longest use of a fetched set.
    pub max: Duration,
}

/// Keys of a JWKS URL by `kid`.
pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    cooldown: Duration,
    bounds: RefreshBounds,
    set: RwLock<KeySet>,
    /// Held while fetching, so concurrent misses wait for one fetch; holds
    /// the time of the last attempt.
    last_fetch: Mutex<Option<Instant>>,
}

impl JwksCache {
    /// A cache of the set at `url`.
    pub fn new(url: String, http: reqwest::Client, cooldown: Duration, bounds: RefreshBounds) -> Self {
        Self { url, http, cooldown, bounds, set: RwLock::default(), last_fetch: Mutex::new(None) }
    }

    /// The key for `kid` from a fresh set, fetching the set if it is stale
    /// or lacks `kid` and the cooldown allows.
    pub async fn key(&self, kid: &str) -> Option<VerifyingKey> {
        if let Some(found) = self.lookup(kid, true).await {
            return Some(found);
        }
        let mut last = self.last_fetch.lock().await;
        if let Some(found) = self.lookup(kid, true).await {
            return Some(found);
        }
        if last.is_none_or(|at| at.elapsed() >= self.cooldown) {
            *last = Some(Instant::now());
            match self.fetch().await {
                Ok((keys, max_age)) => {
                    let lifetime = max_age.unwrap_or(DEFAULT_MAX_AGE).clamp(self.bounds.min, self.bounds.max);
                    *self.set.write().await = KeySet { keys, fresh_until: Some(Instant::now() + lifetime) };
                }
                Err(err) => tracing::warn!(url = %self.url, error = %err, "JWKS fetch failed; keeping the last set"),
            }
        }
        // Stale keys only when the fetch failed or was held back by the cooldown.
        self.lookup(kid, false).await
    }

    async fn lookup(&self, kid: &str, fresh_only: bool) -> Option<VerifyingKey> {
        let set = self.set.read().await;
        let fresh = set.fresh_until.is_some_and(|until| Instant::now() < until);
        if fresh_only && !fresh {
            return None;
        }
        set.keys.get(kid).cloned()
    }

    async fn fetch(&self) -> Result<(HashMap<String, VerifyingKey>, Option<Duration>), String> {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.without_url().to_string())?;
        let max_age = response.headers().get(CACHE_CONTROL).and_then(|v| v.to_str().ok()).and_then(max_age);
        if response.content_length().is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
            return Err("JWKS document is too large".into());
        }
        let body = response.bytes().await.map_err(|e| e.without_url().to_string())?;
        if body.len() > MAX_JWKS_BYTES {
            return Err("JWKS document is too large".into());
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| format!("not a JWKS document: {e}"))?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let algorithms = algorithms(jwk)?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, (key, algorithms)))
            })
            .collect();
        Ok((keys, max_age))
    }
}

/// The algorithms a key allows: its `alg` when published (never HS*:
/// a symmetric key in a public set would let anyone forge tokens), else
/// what its type and curve permit.
fn algorithms(jwk: &Jwk) -> Option<Vec<Algorithm>> {
    if let Some(alg) = jwk.common.key_algorithm {
        let alg = Algorithm::try_from(alg).ok()?;
        return (!matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)).then(|| vec![alg]);
    }
    match &jwk.algorithm {
        // RFC 7518 defines RSASSA-PSS beside PKCS#1 v1.5 for the same keys.
        AlgorithmParameters::RSA(_) => Some(vec![Algorithm::RS256, Algorithm::PS256]),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(vec![Algorithm::ES256]),
            EllipticCurve::P384 => Some(vec![Algorithm::ES384]),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Some(vec![Algorithm::EdDSA]),
        _ => None,
    }
}

/// `max-age` of a Cache-Control value; `no-cache`/`no-store` mean zero
/// (the lower bound then applies).
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        lower.strip_prefix("max-age=")?.trim_matches('"').parse().ok().map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_age() {
        assert_eq!(max_age("public, max-age=600"), Some(Duration::from_secs(600)));
        assert_eq!(max_age("Max-Age=\"42\""), Some(Duration::from_secs(42)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn rsa_keys_without_alg_allow_pss_but_never_hmac() {
        let rsa: Jwk =
            serde_json::from_value(serde_json::json!({"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"})).unwrap();
        assert_eq!(algorithms(&rsa), Some(vec![Algorithm::RS256, Algorithm::PS256]));
        let hmac: Jwk =
            serde_json::from_value(serde_json::json!({"kty": "oct", "kid": "h", "alg": "HS256", "k": "c2VjcmV0"}))
                .unwrap();
        assert_eq!(algorithms(&hmac), None);
    }
}
