//! Platform tokens for tests.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::{AUDIENCE, HS256_SECRET, ISSUER};

/// An HS256 platform token with sane defaults; `overrides` replaces or adds
/// claims (a `null` value removes the claim).
pub fn mint(overrides: Value) -> String {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("time").as_secs();
    let mut claims =
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "platform-test", "iat": now, "nbf": now, "exp": now + 600});
    merge_claims(&mut claims, overrides);
    let key = jsonwebtoken::EncodingKey::from_secret(HS256_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("sign")
}

pub fn merge_claims(claims: &mut Value, overrides: Value) {
    if let (Some(target), Value::Object(extra)) = (claims.as_object_mut(), overrides) {
        for (k, v) in extra {
            if v.is_null() {
                target.remove(&k);
            } else {
                target.insert(k, v);
            }
        }
    }
}
