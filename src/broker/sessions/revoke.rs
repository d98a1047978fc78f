//! Revoking a session, and refusing revoked ones (see [`crate::broker::revocation`]).

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::Sessions;
use crate::aws::RoleInfo;
use crate::broker::Profile;
use crate::broker::revocation::Recorded;
use crate::clock::unix_seconds;
use crate::domain::{RoleSessionName, SessionId};
use crate::error::ApiError;

/// The answer to a revocation.
#[derive(Debug, Serialize)]
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
    /// profile's role. Idempotent; 507 when IAM's size limit leaves no room.
    pub async fn revoke_session(
        &self,
        id: &SessionId,
        profile: &Profile,
        caller: Option<&str>,
    ) -> Result<RevocationReceipt, ApiError> {
        // Read afresh: the role may have been re-created (by a teardown and
        // bootstrap elsewhere) since this replica cached it.
        self.ctx.forget_role(&profile.role_name).await;
        let role = self.ctx.role(profile).await?;
        let session_name = RoleSessionName::for_session(id);
        let entry = session_name.as_str();
        let now = unix_seconds(self.ctx.clock.now());
        let iam = self.ctx.upstreams.iam.as_ref();
        let written = self.revocations.add(iam, &profile.role_name, &role, entry, now).await;
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
        Ok(RevocationReceipt {
            session_id: id.to_string(),
            profile: profile.name.clone(),
            revoked_at: crate::clock::rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)),
            effective: "within minutes",
        })
    }
}
