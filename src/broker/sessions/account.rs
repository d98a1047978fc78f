//! Sessions of account profiles (DESIGN §8): each holds one pool account,
//! leased with a conditional write in the pool table and bound to the
//! session in the ledger, so the same session id gets the same account until
//! it ends and no account ever serves two sessions. The profile's role in
//! that account is assumed directly from the broker's principal (one hop).

use super::Sessions;
use crate::aws::RoleInfo;
use crate::aws::ledger::SessionState;
use crate::aws::pool::{AccountState, Transition, Written};
use crate::broker::Profile;
use crate::clock::unix_seconds;
use crate::domain::SessionId;
use crate::error::{ApiError, PoolError};

/// What a client is told to wait before asking again when no account is
/// free: about one reset of a near-empty account.
const EXHAUSTED_RETRY_AFTER: u64 = 30;

/// The account a session works in, and whether this request leased it.
pub(super) struct Held {
    pub(super) account_id: String,
    pub(super) fresh: bool,
}

impl Sessions {
    /// The profile's role in `account_id`. The role was converged there with
    /// the profile's maximum as its MaxSessionDuration (IAM's floor 3,600).
    pub(super) async fn role_in(&self, profile: &Profile, account_id: &str) -> Result<RoleInfo, ApiError> {
        let partition = self.ctx.identity().await?.partition.id();
        Ok(RoleInfo {
            arn: format!("arn:{partition}:iam::{account_id}:role/{}", profile.role_name),
            role_id: String::new(),
            max_session_seconds: profile.max_session_seconds.max(3_600),
        })
    }

    /// The account the session already holds, or a newly leased one.
    /// Ended sessions take nothing; no free account is `pool_exhausted`.
    pub(super) async fn hold_account(&self, id: &SessionId) -> Result<Held, ApiError> {
        if let Some(record) = self.ctx.upstreams.ledger.get(id.as_str()).await? {
            if record.state != SessionState::Active {
                return Err(ApiError::SessionEnded(id.to_string(), record.state.to_string()));
            }
            if let Some(account_id) = record.account_id {
                return Ok(Held { account_id, fresh: false });
            }
        }
        let now = unix_seconds(self.ctx.clock.now());
        match self.ctx.upstreams.pool.lease(id.as_str(), now).await? {
            Some(account) => {
                tracing::info!(target: "sandbox_broker::audit", event = "account_leased", session_id = %id,
                    account_id = %account.account_id);
                Ok(Held { account_id: account.account_id, fresh: true })
            }
            None => {
                crate::telemetry::metrics::pool_exhausted();
                Err(PoolError::Exhausted { retry_after_seconds: EXHAUSTED_RETRY_AFTER }.into())
            }
        }
    }

    /// The role of a console launch for an account session: only while the
    /// session is active and holds its account (an ended one's account is
    /// being wiped or serves someone else): `session_revoked` (410) otherwise.
    pub(super) async fn held_role(&self, profile: &Profile, id: &SessionId) -> Result<RoleInfo, ApiError> {
        let record = self.ctx.upstreams.ledger.get(id.as_str()).await?;
        match record.filter(|r| r.state == SessionState::Active).and_then(|r| r.account_id) {
            Some(account_id) => self.role_in(profile, &account_id).await,
            None => Err(ApiError::SessionRevoked(id.to_string())),
        }
    }

    /// Gives back an account this request leased when binding it to the
    /// session failed (the session holds another, or the ledger refused):
    /// leased → available, only while it is still this session's.
    pub(super) async fn give_back(&self, id: &SessionId, account_id: &str) {
        let now = unix_seconds(self.ctx.clock.now());
        let back = Transition {
            account_id,
            session_id: Some(id.as_str()),
            from: &[AccountState::Leased],
            to: AccountState::Available,
            now,
            reason: None,
        };
        match self.ctx.upstreams.pool.transition(&back).await {
            Ok(Written::Done(_)) => {}
            Ok(other) => tracing::warn!(account_id, ?other, "a lease given back had changed meanwhile"),
            // The account stays leased to a session that holds nothing: the
            // worker finds it (no ledger record binds it) and resets it.
            Err(err) => tracing::warn!(error = %err, account_id, "a lease could not be given back"),
        }
    }
}
