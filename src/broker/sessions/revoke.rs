//! Revoking a session, and refusing revoked ones (see [`crate::broker::revocation`]).

use serde::Serialize;

use super::Sessions;
use crate::aws::RoleInfo;
use crate::aws::ledger::{EndRecord, SessionRecord, SessionState};
use crate::broker::Profile;
use crate::broker::accounts::end_account_lease;
use crate::broker::revocation::Recorded;
use crate::clock::unix_seconds;
use crate::config::Isolation;
use crate::domain::{RoleSessionName, SessionId};
use crate::error::ApiError;

/// The answer to ending a session (`DELETE /sessions/{id}` without a
/// profile): the first revocation's fields, as before the ledger, plus the
/// session's state and every profile's revocation.
#[derive(Debug, Serialize)]
pub struct EndReceipt {
    /// The first (or only) revocation.
    #[serde(flatten)]
    pub first: RevocationReceipt,
    /// `ended` (or the cleanup state it had already reached); null for a
    /// session the ledger has never seen, revoked in the default profile.
    pub state: Option<&'static str>,
    /// The revocation in each profile the session used.
    pub revoked: Vec<RevocationReceipt>,
    /// The pool account an account session held (revoked account-wide;
    /// its reset follows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// The answer to a revocation.
#[derive(Debug, Clone, Serialize)]
pub struct RevocationReceipt {
    /// The revoked session.
    pub session_id: String,
    /// The profile whose role carries the Deny.
    pub profile: String,
    /// When the entry was recorded (its group's time when already revoked).
    pub revoked_at: String,
    /// How soon AWS enforces it.
    pub effective: &'static str,
}

impl Sessions {
    /// Revokes the session in `profile` and ends its lease (cleanup due now).
    pub async fn revoke_in_profile(
        &self,
        id: &SessionId,
        profile: &Profile,
        caller: Option<&str>,
    ) -> Result<RevocationReceipt, ApiError> {
        // An account session is ended whole: its account is revoked and reset.
        if profile.isolation == Isolation::Account {
            return Ok(self.end_session(id, caller).await?.first);
        }
        let receipt = self.revoke_session(id, profile, caller).await?;
        // A session issued before the ledger existed has no record: the
        // revocation above is all there is to do.
        self.end_lease(id, vec![profile.name.clone()], caller).await?;
        Ok(receipt)
    }

    /// Ends the session: revokes it in every profile it used and schedules
    /// its cleanup now. A session id the ledger has never seen (issued
    /// before it existed, or blocked in advance) is revoked in the default
    /// profile, as a DELETE without a profile always did.
    pub async fn end_session(&self, id: &SessionId, caller: Option<&str>) -> Result<EndReceipt, ApiError> {
        let record = self.ctx.upstreams.ledger.get(id.as_str()).await?;
        let profiles: Vec<Profile> = match &record {
            // A profile since removed from the configuration has no role to revoke in.
            Some(record) => record.profiles.iter().filter_map(|name| self.ctx.profile(name).ok()).collect(),
            None => vec![self.ctx.resolve_profile(None)?],
        };
        let mut revoked = Vec::new();
        for profile in &profiles {
            revoked.push(match profile.isolation {
                Isolation::Shared => self.revoke_session(id, profile, caller).await?,
                // Revoked account-wide below, once the lease has ended.
                Isolation::Account => self.receipt(id, profile, unix_seconds(self.ctx.clock.now())),
            });
        }
        let state = match &record {
            Some(_) => {
                let names = profiles.iter().map(|p| p.name.clone()).collect();
                Some(self.end_lease(id, names, caller).await?.map_or(SessionState::Ended, |r| r.state).as_str())
            }
            None => None,
        };
        let account_id = record.and_then(|r| r.account_id);
        if let Some(account) = &account_id {
            end_account_lease(&self.ctx, account, id.as_str(), "deleted").await?;
        }
        let first = revoked.first().cloned().ok_or_else(|| ApiError::SessionNotFound(id.to_string()))?;
        Ok(EndReceipt { first, state, revoked, account_id })
    }

    async fn end_lease(
        &self,
        id: &SessionId,
        revoked: Vec<String>,
        caller: Option<&str>,
    ) -> Result<Option<SessionRecord>, ApiError> {
        let now = unix_seconds(self.ctx.clock.now());
        let end = EndRecord { session_id: id.to_string(), now, revoked, again: false };
        let record = self.ctx.upstreams.ledger.end(&end).await?;
        if let Some(record) = record.as_ref().filter(|r| r.ended_at == Some(now)) {
            tracing::info!(target: "sandbox_broker::audit", event = "session_ended", session_id = %id,
                reason = "deleted", profiles = ?record.profiles, caller = caller.unwrap_or("-"));
            crate::telemetry::metrics::session_state(SessionState::Ended.as_str());
        }
        Ok(record)
    }

    /// The profile's role, checked once per request before anything is
    /// minted: `session_revoked` while the session's entry exists.
    pub(super) async fn unrevoked_role(&self, profile: &Profile, id: &SessionId) -> Result<RoleInfo, ApiError> {
        let role = self.ctx.role(profile).await?;
        let iam = self.ctx.upstreams.iam.as_ref();
        let denials = self.vanished(profile, self.revocations.denials(iam, &profile.role_name).await).await?;
        if denials.deny(&role, &RoleSessionName::for_session(id)) {
            return Err(ApiError::SessionRevoked(id.to_string()));
        }
        Ok(role)
    }

    /// Adds the session to this replica's revocation policy on the
    /// profile's role (group-committed with concurrent revocations on that
    /// role). Idempotent; 507 when IAM's size limit leaves no room.
    pub async fn revoke_session(
        &self,
        id: &SessionId,
        profile: &Profile,
        caller: Option<&str>,
    ) -> Result<RevocationReceipt, ApiError> {
        let session_name = RoleSessionName::for_session(id);
        let entry = session_name.as_str();
        let now = unix_seconds(self.ctx.clock.now());
        let iam = self.ctx.upstreams.iam.clone();
        let written = self.revocations.add(iam, &profile.role_name, entry, now).await;
        let recorded = self.vanished(profile, written).await?;
        if let Recorded::Added(_) = recorded {
            tracing::info!(
                target: "sandbox_broker::audit",
                event = "session_revoked",
                session_id = %id,
                profile = %profile.name,
                aws_userid = %format!("*:{entry}"),
                caller = caller.unwrap_or("-"),
            );
            crate::telemetry::metrics::session_event("revoked", &profile.name);
        }
        let (Recorded::Added(seconds) | Recorded::Already(seconds)) = recorded;
        Ok(self.receipt(id, profile, seconds))
    }

    fn receipt(&self, id: &SessionId, profile: &Profile, at: u64) -> RevocationReceipt {
        RevocationReceipt {
            session_id: id.to_string(),
            profile: profile.name.clone(),
            revoked_at: crate::clock::rfc3339_unix(at),
            effective: "within minutes",
        }
    }
}
