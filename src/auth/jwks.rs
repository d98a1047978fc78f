//! JWKS key source: keys cached by `kid`; an unknown `kid` triggers a
//! refresh (key rotation), at most once per cooldown so a flood of forged
//! `kid`s cannot turn the broker into a JWKS-fetching amplifier.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};

type Keys = HashMap<String, (DecodingKey, Algorithm)>;

pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    cooldown: Duration,
    keys: RwLock<Keys>,
    last_refresh: Mutex<Option<Instant>>,
}

impl JwksCache {
    pub fn new(url: String, http: reqwest::Client, cooldown: Duration) -> Self {
        Self { url, http, cooldown, keys: RwLock::new(HashMap::new()), last_refresh: Mutex::new(None) }
    }

    /// The key for `kid`, fetching the JWKS if it is unknown and the cooldown allows.
    pub async fn key(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        if let Some(found) = self.keys.read().await.get(kid) {
            return Some(found.clone());
        }
        {
            // Holding this lock makes concurrent misses wait for one fetch.
            let mut last = self.last_refresh.lock().await;
            if let Some(found) = self.keys.read().await.get(kid) {
                return Some(found.clone());
            }
            if last.is_some_and(|at| at.elapsed() < self.cooldown) {
                return None;
            }
            *last = Some(Instant::now());
            match self.fetch().await {
                Ok(keys) => *self.keys.write().await = keys,
                Err(err) => tracing::warn!(url = %self.url, error = %err, "JWKS refresh failed"),
            }
        }
        self.keys.read().await.get(kid).cloned()
    }

    async fn fetch(&self) -> Result<Keys, String> {
        let set: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (_, Some(alg)) => match Algorithm::try_from(alg) {
                    Ok(alg) => alg,
                    Err(_) => continue,
                },
                (AlgorithmParameters::RSA(_), None) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(_), None) => Algorithm::ES256,
                (AlgorithmParameters::OctetKeyPair(_), None) => Algorithm::EdDSA,
                _ => continue,
            };
            // Symmetric keys in a public JWKS would let anyone forge tokens.
            if matches!(algorithm, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
                continue;
            }
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (key, algorithm));
            }
        }
        Ok(keys)
    }
}
