//! Broker-signed text: `payload "." base64url(HMAC-SHA256(key, domain ||
//! context || payload))`. The domain binds a key to one use (launch
//! tickets, ledger cursors), so a token of one kind is never accepted as
//! another; the context binds a token to what it was issued for (a cursor
//! to its list filter) without carrying it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};

/// Why signed text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not `payload.signature` in base64url.
    Malformed,
    /// Tampered, signed with another key, or for another context.
    BadSignature,
}

/// Signs and verifies text for one use. Holds the keyed MAC state, never
/// the key in printable form (no `Debug`).
pub struct Signer {
    keyed: Hmac<sha2::Sha256>,
}

impl Signer {
    /// A signer keyed by `key` for the use named by `domain`.
    pub fn new(key: &SecretString, domain: &[u8]) -> Result<Self, String> {
        let mut keyed =
            <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.expose_secret().as_bytes()).map_err(|e| e.to_string())?;
        keyed.update(domain);
        Ok(Self { keyed })
    }

    fn mac(&self, context: &str, payload: &str) -> Hmac<sha2::Sha256> {
        let mut mac = self.keyed.clone();
        // Length-prefixed, so no context/payload split is ambiguous. No
        // context adds nothing: launch tickets signed before contexts
        // existed stay valid.
        if !context.is_empty() {
            mac.update(&(context.len() as u64).to_be_bytes());
            mac.update(context.as_bytes());
        }
        mac.update(payload.as_bytes());
        mac
    }

    /// `payload` (base64url text: no `.`) with its signature for `context`.
    pub fn sign(&self, context: &str, payload: &str) -> String {
        let signature = self.mac(context, payload).finalize().into_bytes();
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The payload of `raw` once its signature for `context` is checked
    /// (in constant time).
    pub fn verify<'a>(&self, context: &str, raw: &'a str) -> Result<&'a str, Refused> {
        let (payload, signature) = raw.split_once('.').ok_or(Refused::Malformed)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| Refused::Malformed)?;
        self.mac(context, payload).verify_slice(&signature).map_err(|_| Refused::BadSignature)?;
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(key: &str, domain: &[u8]) -> Signer {
        Signer::new(&SecretString::from(key), domain).unwrap()
    }

    #[test]
    fn binds_key_domain_and_context() {
        let s = signer("key-0123456789", b"one");
        let raw = s.sign("state=ended", "cGF5bG9hZA");
        assert_eq!(s.verify("state=ended", &raw), Ok("cGF5bG9hZA"));
        assert_eq!(s.verify("state=active", &raw), Err(Refused::BadSignature));
        assert_eq!(signer("key-0123456789", b"two").verify("state=ended", &raw), Err(Refused::BadSignature));
        assert_eq!(signer("key-9876543210", b"one").verify("state=ended", &raw), Err(Refused::BadSignature));
        // The context's length is signed: moving bytes across the split fails.
        assert_eq!(
            s.verify("state=ende", &s.sign("state=ended", "x").replacen('x', "dx", 1)),
            Err(Refused::BadSignature)
        );
        for junk in ["", ".", "abc", "e30", "a.!!"] {
            assert!(s.verify("", junk).is_err(), "{junk}");
        }
    }
}
