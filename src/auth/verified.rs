//! Tokens already verified against a fixed key. The platform's backend
//! reuses one token for its lifetime, so every request after the first
//! skips the base64, JSON and signature work and only re-checks expiry —
//! the one check whose answer changes with time (Envoy's `jwt_authn`
//! filter keeps the same kind of cache). Only tokens that passed full
//! verification are stored, so junk cannot fill it.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Claims;

/// At most this many tokens are remembered; when full, expired ones are
/// dropped, and if that frees nothing the cache starts over.
const CAPACITY: usize = 1024;

#[derive(Default)]
pub(crate) struct VerifiedTokens {
    entries: Mutex<HashMap<Box<str>, Verified>>,
}

struct Verified {
    claims: Claims,
    /// `exp`, seconds since the epoch.
    expires: f64,
}

/// `jsonwebtoken` accepts a token while `now - leeway <= exp`; a cached
/// token is served under the same rule and re-verified (to give the
/// precise error) once it fails.
fn still_valid(expires: f64, now: u64, leeway: u64) -> bool {
    now.saturating_sub(leeway) as f64 <= expires
}

impl VerifiedTokens {
    pub(crate) fn get(&self, token: &str, now: u64, leeway: u64) -> Option<Claims> {
        let entries = self.entries.lock().ok()?;
        entries.get(token).filter(|v| still_valid(v.expires, now, leeway)).map(|v| v.claims.clone())
    }

    pub(crate) fn insert(&self, token: &str, claims: &Claims, expires: f64, now: u64, leeway: u64) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= CAPACITY {
            entries.retain(|_, v| still_valid(v.expires, now, leeway));
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(token.into(), Verified { claims: claims.clone(), expires });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims { sub: Some("platform".into()), scopes: vec!["sessions:issue".into()] }
    }

    #[test]
    fn validity_follows_jsonwebtokens_exp_rule() {
        assert!(still_valid(100.0, 100, 0));
        assert!(!still_valid(100.0, 101, 0));
        assert!(still_valid(100.0, 130, 30));
        assert!(!still_valid(100.0, 131, 30));
        assert!(still_valid(100.0, 5, 60), "leeway larger than now must not underflow");
    }

    #[test]
    fn serves_a_token_until_it_expires() {
        let cache = VerifiedTokens::default();
        cache.insert("t", &claims(), 100.0, 50, 0);
        assert_eq!(cache.get("t", 100, 0).map(|c| c.scopes), Some(vec!["sessions:issue".to_owned()]));
        assert!(cache.get("t", 101, 0).is_none());
        assert!(cache.get("other", 50, 0).is_none());
    }

    #[test]
    fn stays_bounded() {
        let cache = VerifiedTokens::default();
        for i in 0..CAPACITY {
            cache.insert(&format!("old-{i}"), &claims(), 10.0, 0, 0);
        }
        // At time 20 every old token has expired: they make room.
        cache.insert("fresh", &claims(), 100.0, 20, 0);
        assert_eq!(cache.len(), 1);
        for i in 0..2 * CAPACITY {
            cache.insert(&format!("live-{i}"), &claims(), 100.0, 20, 0);
        }
        assert!(cache.len() <= CAPACITY);
    }
}
