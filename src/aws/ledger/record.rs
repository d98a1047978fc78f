//! A ledger record and its JSON view (`GET /sessions/{session_id}`).
//! Times are Unix seconds inside, RFC 3339 in the view.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Unix seconds.
pub type Timestamp = u64;

fn rfc3339(at: Timestamp) -> String {
    crate::clock::rfc3339_unix(at)
}

/// Where a session is in its life (DESIGN §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Credentials may be issued and may be alive.
    Active,
    /// Its credentials and console launches are refused and its resources
    /// kept (a spent budget, or an operator); its lease runs on.
    Frozen,
    /// Ended (DELETE or lease expiry); cleanup is due.
    Ended,
    /// A replica holds a claim and is cleaning.
    Cleaning,
    /// Everything found was deleted.
    Cleaned,
    /// Something found was left (unsupported type) or failed.
    CleanupIncomplete,
    /// Gave up after `cleanup.max_attempts`.
    CleanupFailed,
    /// Every profile the session used has `cleanup = false`.
    CleanupSkipped,
}

impl SessionState {
    /// Every state, in life order.
    pub const ALL: [Self; 8] = [
        Self::Active,
        Self::Frozen,
        Self::Ended,
        Self::Cleaning,
        Self::Cleaned,
        Self::CleanupIncomplete,
        Self::CleanupFailed,
        Self::CleanupSkipped,
    ];

    /// The wire name (`cleanup_incomplete`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Frozen => "frozen",
            Self::Ended => "ended",
            Self::Cleaning => "cleaning",
            Self::Cleaned => "cleaned",
            Self::CleanupIncomplete => "cleanup_incomplete",
            Self::CleanupFailed => "cleanup_failed",
            Self::CleanupSkipped => "cleanup_skipped",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the session is done with (nothing more will happen to it).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Cleaned | Self::CleanupIncomplete | Self::CleanupFailed | Self::CleanupSkipped)
    }
}

impl std::fmt::Display for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One resource in a cleanup report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceOutcome {
    /// The resource's ARN.
    pub arn: String,
    /// Its type, e.g. `s3:bucket`, `ec2:instance`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Why it could not be deleted (in `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it was not deleted (in `left`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When AWS deletes it, for a delete AWS only schedules (a KMS key),
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<String>,
}

/// What a cleanup did; stored as JSON in the record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupReport {
    /// When the last attempt started.
    pub started_at: Option<Timestamp>,
    /// When the last attempt finished.
    pub finished_at: Option<Timestamp>,
    /// Attempts so far.
    pub attempts: u32,
    /// Whether the last attempt was a dry run (nothing deleted).
    #[serde(default)]
    pub dry_run: bool,
    /// Deleted (or, in a dry run, that would be).
    pub deleted: Vec<ResourceOutcome>,
    /// Found, and failed after retries.
    pub failed: Vec<ResourceOutcome>,
    /// Found, and not deletable by the broker (unsupported type).
    pub left: Vec<ResourceOutcome>,
}

impl CleanupReport {
    /// The report's JSON (times as RFC 3339).
    pub fn view(&self) -> Value {
        json!({
            "started_at": self.started_at.map(rfc3339),
            "finished_at": self.finished_at.map(rfc3339),
            "attempts": self.attempts,
            "dry_run": self.dry_run,
            "deleted": self.deleted,
            "failed": self.failed,
            "left": self.left,
        })
    }
}

/// One session as the ledger holds it. No secret is ever part of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The platform's session id.
    pub session_id: String,
    /// The `sandbox-key` tag value its resources carry.
    pub sandbox_key: String,
    /// The role session name.
    pub role_session_name: String,
    /// The profiles it was issued for.
    pub profiles: BTreeSet<String>,
    /// The platform token's `sub` that first issued it.
    pub caller: Option<String>,
    /// First issue.
    pub created_at: Timestamp,
    /// The latest credential expiry.
    pub lease_expires_at: Timestamp,
    /// When it ended.
    pub ended_at: Option<Timestamp>,
    /// Where it is.
    pub state: SessionState,
    /// Profile → when it was revoked there.
    pub revoked: BTreeMap<String, Timestamp>,
    /// The last cleanup's report.
    pub cleanup: Option<CleanupReport>,
    /// When cleanup is due (while not cleaned).
    pub due_at: Option<Timestamp>,
    /// The replica cleaning it, and until when its claim holds.
    pub claim: Option<(String, Timestamp)>,
    /// The pool account it holds (account-isolated profiles).
    pub account_id: Option<String>,
    /// The spend meter's latest estimate.
    pub spend: Option<super::spend::Spend>,
    /// The replica metering it, and until when its claim holds.
    pub meter: Option<(String, Timestamp)>,
    /// The budget its issue request set, if any (the profile's applies too).
    pub budget_usd: Option<f64>,
}

impl SessionRecord {
    /// The JSON of `GET /sessions/{session_id}` (DESIGN §7).
    pub fn view(&self) -> Value {
        let cleanup = self.cleanup.as_ref().map(CleanupReport::view);
        let revoked: BTreeMap<&String, String> = self.revoked.iter().map(|(p, at)| (p, rfc3339(*at))).collect();
        json!({
            "session_id": self.session_id,
            "sandbox_key": self.sandbox_key,
            "role_session_name": self.role_session_name,
            "profiles": self.profiles,
            "caller": self.caller,
            "created_at": rfc3339(self.created_at),
            "lease_expires_at": rfc3339(self.lease_expires_at),
            "ended_at": self.ended_at.map(rfc3339),
            "state": self.state,
            "revoked": revoked,
            "cleanup": cleanup,
            "account_id": self.account_id,
            "spend": self.spend,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_their_wire_names() {
        for state in SessionState::ALL {
            assert_eq!(SessionState::parse(state.as_str()), Some(state));
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        assert_eq!(SessionState::parse("done"), None);
    }

    #[test]
    fn the_view_shows_times_as_rfc3339_and_no_claim() {
        let record = SessionRecord {
            session_id: "learner-1".into(),
            sandbox_key: "0123456789ab".into(),
            role_session_name: "learner-1".into(),
            profiles: ["s3".to_owned()].into(),
            caller: Some("platform".into()),
            created_at: 0,
            lease_expires_at: 3_600,
            ended_at: None,
            state: SessionState::Active,
            revoked: BTreeMap::new(),
            cleanup: None,
            due_at: Some(3_900),
            claim: Some(("replica-a".into(), 4_000)),
            account_id: None,
            spend: None,
            meter: Some(("replica-a".into(), 4_060)),
            budget_usd: None,
        };
        let view = record.view();
        assert_eq!(view["created_at"], "1970-01-01T00:00:00Z");
        assert_eq!(view["lease_expires_at"], "1970-01-01T01:00:00Z");
        assert_eq!(view["state"], "active");
        assert!(view.get("claim").is_none() && view.get("due_at").is_none() && view.get("meter").is_none());
    }
}
