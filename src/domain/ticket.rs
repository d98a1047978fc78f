//! Console launch tickets: a broker-signed, stateless capability naming a
//! session, its profile, region, destination and expiry. It carries nothing
//! secret, so any replica holding `console.ticket_secret` can serve a click.
//!
//! Format: `base64url(JSON payload)` signed by [`super::signed::Signer`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::signed::{Refused, Signer};

/// Binds the MAC to this use, so the key cannot be replayed for another.
const DOMAIN: &[u8] = b"sandbox-broker/console-ticket/v1\n";
/// Longer tickets are refused before any work.
/// (A ticket may carry a 2,048-character session policy: about 3.5 KiB
/// once escaped and base64-encoded.)
pub const MAX_TICKET_LEN: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// What a launch ticket names; nothing in it is secret.
#[serde(deny_unknown_fields)]
pub struct Ticket {
    /// The session id.
    #[serde(rename = "sid")]
    pub session_id: String,
    /// The profile.
    #[serde(rename = "p")]
    pub profile: String,
    /// The console region.
    #[serde(rename = "r")]
    pub region: String,
    /// The console landing page.
    #[serde(rename = "d")]
    pub destination: String,
    /// Unix seconds: the credentials' expiry.
    pub exp: u64,
    /// The session's inline session policy, applied again on every click.
    #[serde(rename = "sp", default, skip_serializing_if = "Option::is_none")]
    pub session_policy: Option<String>,
    /// The session's managed session policies.
    #[serde(rename = "pa", default, skip_serializing_if = "Vec::is_empty")]
    pub policy_arns: Vec<String>,
}

/// Why a ticket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// Not a ticket at all.
    #[error("the link is malformed")]
    Malformed,
    /// Tampered, or signed with another key.
    #[error("the link's signature is invalid")]
    BadSignature,
    /// Past its expiry.
    #[error("the link has expired")]
    Expired,
}

/// Signs and verifies tickets (never holding the key in printable form).
pub struct TicketSigner(Signer);

impl TicketSigner {
    /// A signer keyed by `console.ticket_secret`.
    pub fn new(key: &SecretString) -> Result<Self, String> {
        Signer::new(key, DOMAIN).map(Self).map_err(|e| format!("console.ticket_secret: {e}"))
    }

    /// The ticket's URL-safe text with its HMAC.
    pub fn sign(&self, ticket: &Ticket) -> String {
        self.0.sign("", &URL_SAFE_NO_PAD.encode(serde_json::to_vec(ticket).unwrap_or_default()))
    }

    /// Checks the signature (in constant time) before looking at the
    /// payload, then the expiry against `now` (Unix seconds).
    pub fn verify(&self, raw: &str, now: u64) -> Result<Ticket, TicketError> {
        if raw.len() > MAX_TICKET_LEN {
            return Err(TicketError::Malformed);
        }
        let payload = self.0.verify("", raw).map_err(|refused| match refused {
            Refused::Malformed => TicketError::Malformed,
            Refused::BadSignature => TicketError::BadSignature,
        })?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TicketError::Malformed)?;
        let ticket: Ticket = serde_json::from_slice(&bytes).map_err(|_| TicketError::Malformed)?;
        if ticket.exp <= now {
            return Err(TicketError::Expired);
        }
        Ok(ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        Ticket {
            session_id: "learner-1".into(),
            profile: "s3".into(),
            region: "eu-west-1".into(),
            destination: "https://console.aws.amazon.com/".into(),
            exp: 2_000,
            session_policy: None,
            policy_arns: Vec::new(),
        }
    }

    fn signer(key: &str) -> TicketSigner {
        TicketSigner::new(&SecretString::from(key)).unwrap()
    }

    #[test]
    fn round_trips_until_expiry() {
        let s = signer("k1-0123456789012345678901234567890");
        let raw = s.sign(&ticket());
        assert_eq!(s.verify(&raw, 1_999), Ok(ticket()));
        assert_eq!(s.verify(&raw, 2_000), Err(TicketError::Expired));
    }

    #[test]
    fn refuses_tampering_and_other_keys() {
        let s = signer("k1-0123456789012345678901234567890");
        let raw = s.sign(&ticket());
        assert_eq!(signer("k2-0123456789012345678901234567890").verify(&raw, 0), Err(TicketError::BadSignature));
        let mut forged = ticket();
        forged.exp = 9_999;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let signature = raw.split_once('.').unwrap().1;
        assert_eq!(s.verify(&format!("{forged_payload}.{signature}"), 0), Err(TicketError::BadSignature));
        for junk in ["", ".", "abc", "a.b.c", &"x".repeat(5000)] {
            assert!(s.verify(junk, 0).is_err(), "{junk}");
        }
    }
}
