//! Extending a session's lease (DESIGN §10): its end moves later, within
//! the profiles' `max_lease_seconds` from its start, and its cleanup with
//! it; the platform then issues fresh credentials as for any session. An
//! ended or frozen session, or one whose budget is spent, is not extended.

use super::Sessions;
use crate::aws::ledger::{SessionRecord, SessionState};
use crate::clock::rfc3339_unix;
use crate::domain::SessionId;
use crate::error::{ApiError, SpendError};

/// The longest single extension: a day (a typo past it is refused, not
/// clamped).
const MAX_EXTENSION_SECONDS: u64 = 86_400;

impl Sessions {
    /// Moves the lease end `seconds` later.
    pub async fn extend_lease(
        &self,
        id: &SessionId,
        seconds: u64,
        caller: Option<&str>,
    ) -> Result<SessionRecord, ApiError> {
        if !(1..=MAX_EXTENSION_SECONDS).contains(&seconds) {
            return Err(SpendError::InvalidSeconds.into());
        }
        let ledger = &self.ctx.upstreams.ledger;
        let record = ledger.get(id.as_str()).await?.ok_or_else(|| ApiError::SessionNotFound(id.to_string()))?;
        if record.state != SessionState::Active {
            return Err(ApiError::refused(id.to_string(), record.state));
        }
        let warn_percent = self.ctx.settings.spend.warn_percent;
        if record.spend.as_ref().is_some_and(|s| crate::broker::spend::standing(s, warn_percent).over_budget) {
            return Err(SpendError::BudgetExhausted(id.to_string()).into());
        }
        let profiles = &self.ctx.settings.profiles;
        let limit = record.profiles.iter().filter_map(|p| profiles.get(p)?.max_lease_seconds).min();
        let limit = limit.ok_or_else(|| SpendError::NotExtendable(id.to_string()))?;
        let latest = record.created_at + u64::from(limit);
        let to = record.lease_expires_at + seconds;
        if to > latest {
            return Err(SpendError::PastMaximum { session: id.to_string(), latest: rfc3339_unix(latest) }.into());
        }
        let due = to + self.ctx.settings.cleanup.grace_seconds;
        let extended = ledger.extend_lease(id.as_str(), record.lease_expires_at, to, due).await?;
        // Changed meanwhile (another extension, an issue, an end): retry.
        let extended = extended.ok_or_else(|| ApiError::ConcurrentChange(format!("session {id}")))?;
        tracing::info!(target: "sandbox_broker::audit", event = "session_extended", session_id = %id, seconds,
            lease_expires_at = %rfc3339_unix(to), caller = caller.unwrap_or("-"));
        Ok(extended)
    }
}
