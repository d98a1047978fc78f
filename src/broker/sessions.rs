//! The session service: issuing sessions (`issue`), durable console links
//! (`launch`) and revocation (`revoke`). Built for `serve` only: it needs
//! `console.ticket_secret`, which provisioning never does.

mod account;
mod extend;
mod freeze;
mod issue;
mod launch;
mod request;
mod reserve;
mod revoke;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

pub use issue::{IssueSessionBody, IssuedSession, SessionRequest};
use launch::LaunchLimits;
pub use revoke::{EndReceipt, RevocationReceipt};

use super::Profile;
use super::context::Context;
use super::revocation::Revocations;
use crate::aws::UpstreamErrorKind;
use crate::domain::signed::Signer;
use crate::domain::ticket::TicketSigner;
use crate::error::ApiError;

/// Issues, launches and revokes learner sessions.
pub struct Sessions {
    ctx: Arc<Context>,
    tickets: TicketSigner,
    cursors: Signer,
    revocations: Revocations,
    launches: LaunchLimits,
    /// Waits between AssumeRole attempts that IAM denied (see `issue`).
    denied_backoff: Vec<Duration>,
    /// Pool accounts reserved ahead, and recent sessions' accounts.
    reservations: Arc<reserve::Reservations>,
    /// Whether a session is frozen, as a console launch last read it
    /// (`freeze::FROZEN_CACHE`).
    frozen: moka::future::Cache<String, bool>,
}

/// New roles can be denied for seconds after creation (IAM is eventually
/// consistent), so AccessDenied on AssumeRole is retried on this schedule.
/// Binds the cursor signer's key to this use (see [`Signer`]).
const CURSOR_DOMAIN: &[u8] = b"sandbox-broker/ledger-cursor/v1\n";

const DENIED_BACKOFF_MS: [u64; 4] = [200, 400, 800, 1_600];

impl Sessions {
    /// The session service of this replica (`server.replica_id` names its
    /// revocation policy).
    pub fn new(ctx: Arc<Context>, ticket_secret: &SecretString, replica_id: &str) -> anyhow::Result<Self> {
        let tickets = TicketSigner::new(ticket_secret).map_err(anyhow::Error::msg)?;
        let cursors = Signer::new(ticket_secret, CURSOR_DOMAIN).map_err(anyhow::Error::msg)?;
        let launches = LaunchLimits::new(&ctx.settings);
        Ok(Self {
            ctx,
            tickets,
            cursors,
            revocations: Revocations::new(replica_id),
            reservations: Arc::new(reserve::Reservations::new(replica_id)),
            launches,
            denied_backoff: DENIED_BACKOFF_MS.iter().map(|ms| Duration::from_millis(*ms)).collect(),
            frozen: moka::future::Cache::builder().max_capacity(100_000).time_to_live(freeze::FROZEN_CACHE).build(),
        })
    }

    /// Signs `GET /sessions` cursors, bound to the filter they page, so a
    /// cursor the broker did not hand out for that filter is refused (400)
    /// before it reaches DynamoDB. Keyed by `console.ticket_secret`, which
    /// every replica shares: a page can be followed on any replica.
    pub fn cursors(&self) -> &Signer {
        &self.cursors
    }

    /// The shared context (identity, profiles, roles).
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// IAM answers NoSuchEntity when the role was deleted after this replica
    /// looked it up (a teardown ran meanwhile): forget the cached role and
    /// say the profile is not provisioned, as a fresh lookup would.
    async fn vanished<T>(&self, profile: &Profile, result: Result<T, ApiError>) -> Result<T, ApiError> {
        match result {
            Err(ApiError::Upstream(e)) if e.kind == UpstreamErrorKind::NotFound => {
                self.ctx.forget_role(&profile.role_name).await;
                self.revocations.invalidate(&profile.role_name).await;
                Err(ApiError::ProfileNotProvisioned(profile.name.clone()))
            }
            other => other,
        }
    }
}
