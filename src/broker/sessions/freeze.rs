//! Freezing a session (DESIGN §10): its credentials and console launches
//! are refused and its resources kept for inspection while its lease runs
//! on; unfreezing lets new credentials work again. The ledger's state is
//! what the broker refuses by (`session_frozen` for new credentials, 410
//! for launches, read through a short cache); AWS refuses by a Deny of the credentials issued before
//! the freeze: a `Frozen<time>` statement on each shared profile's role, the
//! account-wide `aws:TokenIssueTime` Deny in a pool account. Credentials
//! issued after an unfreeze are newer than either, so unfreezing writes
//! nothing to IAM.

use std::time::Duration;

use super::Sessions;
use crate::aws::ledger::{SessionRecord, SessionState};
use crate::broker::accounts::deny_issued_before;
use crate::clock::unix_seconds;
use crate::config::Isolation;
use crate::domain::{RoleSessionName, SessionId};
use crate::error::ApiError;

/// How far past the freeze the Deny reaches: an issue in flight when the
/// session froze (its ledger write before the freeze, its AssumeRole
/// after) gets credentials up to an AssumeRole call later, and they must
/// not survive it. An unfreeze within this window waits it out in AWS.
const IN_FLIGHT_SECONDS: u64 = 30;

/// How long a launch trusts the frozen state it read from the ledger, so a
/// console launch costs no ledger read each time. Safe while it is shorter
/// than `IN_FLIGHT_SECONDS`: a replica that has not seen a freeze yet mints
/// credentials AWS denies anyway (issued before the Deny's end). A freeze
/// or unfreeze clears it on the replica that made it; on another, an
/// unfreeze lets launches through at most this much later.
pub(super) const FROZEN_CACHE: Duration = Duration::from_secs(10);
const _: () = assert!(FROZEN_CACHE.as_secs() < IN_FLIGHT_SECONDS);

impl Sessions {
    /// Freezes an active session: the ledger first (nothing more is issued),
    /// then the Denies. A frozen session is frozen again (its Denies written
    /// once more), so a freeze cut short is finished by its retry.
    pub async fn freeze_session(&self, id: &SessionId, why: &str) -> Result<SessionRecord, ApiError> {
        let now = unix_seconds(self.ctx.clock.now());
        let ledger = &self.ctx.upstreams.ledger;
        let record = match ledger.set_frozen(id.as_str(), true, now).await? {
            Some(record) => record,
            None => match ledger.get(id.as_str()).await? {
                Some(record) if record.state == SessionState::Frozen => record,
                Some(record) => return Err(ApiError::SessionEnded(id.to_string(), record.state.to_string())),
                None => return Err(ApiError::SessionNotFound(id.to_string())),
            },
        };
        self.frozen.invalidate(id.as_str()).await;
        let until = now + IN_FLIGHT_SECONDS;
        let name = RoleSessionName::for_session(id);
        for profile in record.profiles.iter().filter_map(|p| self.ctx.profile(p).ok()) {
            if profile.isolation == Isolation::Shared {
                let iam = self.ctx.upstreams.iam.clone();
                let written = self.revocations.freeze(iam, &profile.role_name, name.as_str(), until).await;
                self.vanished(&profile, written).await?;
            }
        }
        if let Some(account) = &record.account_id {
            deny_issued_before(&self.ctx, account, until).await?;
        }
        tracing::info!(target: "sandbox_broker::audit", event = "session_frozen", session_id = %id, reason = why,
            denied_before = %crate::clock::rfc3339_unix(until), account_id = record.account_id.as_deref().unwrap_or("-"));
        crate::telemetry::metrics::session_state(SessionState::Frozen.as_str());
        Ok(record)
    }

    /// Unfreezes a frozen session: active again, so new credentials are
    /// issued (and work); those from before the freeze stay denied.
    pub async fn unfreeze_session(&self, id: &SessionId, caller: Option<&str>) -> Result<SessionRecord, ApiError> {
        let now = unix_seconds(self.ctx.clock.now());
        let ledger = &self.ctx.upstreams.ledger;
        match ledger.set_frozen(id.as_str(), false, now).await? {
            Some(record) => {
                self.frozen.invalidate(id.as_str()).await;
                tracing::info!(target: "sandbox_broker::audit", event = "session_unfrozen", session_id = %id,
                    caller = caller.unwrap_or("-"));
                crate::telemetry::metrics::session_state(SessionState::Active.as_str());
                Ok(record)
            }
            None => match ledger.get(id.as_str()).await? {
                Some(record) => Err(ApiError::SessionNotFrozen(id.to_string(), record.state.to_string())),
                None => Err(ApiError::SessionNotFound(id.to_string())),
            },
        }
    }

    /// Refuses a console launch of a frozen session.
    pub(super) async fn not_frozen(&self, id: &SessionId) -> Result<(), ApiError> {
        let read = async {
            let record = self.ctx.upstreams.ledger.get(id.as_str()).await?;
            Ok::<_, ApiError>(record.is_some_and(|r| r.state == SessionState::Frozen))
        };
        match self.frozen.try_get_with(id.to_string(), read).await.map_err(|shared| (*shared).clone())? {
            true => Err(ApiError::SessionRevoked(id.to_string())),
            false => Ok(()),
        }
    }
}
