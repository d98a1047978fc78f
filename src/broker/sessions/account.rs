//! Sessions of account profiles (DESIGN §8): each holds one pool account,
//! leased with a conditional write in the pool table and bound to the
//! session in the ledger, so the same session id gets the same account until
//! it ends and no account ever serves two sessions. The profile's role in
//! that account is assumed directly from the broker's principal (one hop).

use super::Sessions;
use super::issue::{Minted, SessionRequest};
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

/// What an issue in an account profile answers: the role it assumed, the
/// credentials, and the account.
type InAccount = (RoleInfo, Minted, Option<String>);

impl Sessions {
    /// An account profile's issue. Fast paths first: a session this replica
    /// bound before gets its account again with no lookup; a new one takes
    /// one of this replica's reserved accounts and binds it in the pool
    /// table while AssumeRole and the ledger write run. Otherwise (or when
    /// a fast path finds the session bound elsewhere): the ledger's
    /// binding, or a lease through the state index.
    pub(super) async fn issue_in_account(
        &self,
        req: &SessionRequest,
        caller: Option<&str>,
        sign_in: bool,
    ) -> Result<InAccount, ApiError> {
        let id = &req.session_id;
        if let Some(account) = self.reservations.bound(id.as_str()).await {
            let role = self.role_in(&req.profile, &account).await?;
            match self.mint_issue(req, &role, caller, Some(&account), sign_in).await {
                Ok(minted) => return Ok((role, minted, Some(account))),
                Err(err) => {
                    self.reservations.forget(id.as_str()).await;
                    return Err(err);
                }
            }
        }
        let now = unix_seconds(self.ctx.clock.now());
        let pool = self.ctx.upstreams.pool.clone();
        let reserved = self.reservations.take(now);
        self.reservations.refill(pool, now);
        if let Some((account, until)) = reserved
            && let Some(done) = self.issue_reserved(req, caller, sign_in, &account, until).await?
        {
            return Ok(done);
        }
        self.issue_leased(req, caller, sign_in).await
    }

    /// Binds a reserved account to the session (pool table), records it
    /// (ledger) and assumes its role, all at once. `None`: fall back (the
    /// session holds another account, or the reservation was lost); no
    /// credential minted here is ever returned then.
    async fn issue_reserved(
        &self,
        req: &SessionRequest,
        caller: Option<&str>,
        sign_in: bool,
        account: &str,
        until: u64,
    ) -> Result<Option<InAccount>, ApiError> {
        let id = req.session_id.as_str();
        let role = self.role_in(&req.profile, account).await?;
        let now = unix_seconds(self.ctx.clock.now());
        let pool = &self.ctx.upstreams.pool;
        let bind = pool.bind(account, self.reservations.owner(), until, id, now);
        let mint = self.mint_issue(req, &role, caller, Some(account), sign_in);
        let (bound, minted) = tokio::join!(bind, mint);
        match (bound, minted) {
            (Ok(true), Ok(minted)) => {
                tracing::info!(target: "sandbox_broker::audit", event = "account_leased", session_id = id,
                    account_id = account, reserved = true);
                self.reservations.remember(id, account).await;
                return Ok(Some((role, minted, Some(account.to_owned()))));
            }
            (Ok(true), Err(err)) => {
                if !matches!(err, ApiError::SessionEnded(..) | ApiError::SessionBound(..)) {
                    // The session holds the account (as after a lease whose
                    // AssumeRole failed); its reset follows its end, or the
                    // worker's sweep for stray leases if no record binds it.
                    return Err(err);
                }
                self.give_back(&req.session_id, account).await;
                if matches!(err, ApiError::SessionEnded(..)) {
                    return Err(err);
                }
            }
            // The session already holds this very account (leased on the
            // slow path while this replica still counted it reserved): the
            // binding stands, and so do the credentials.
            (Ok(false), Ok(minted)) if self.ctx.upstreams.pool.is_leased_to(account, id).await? => {
                self.reservations.remember(id, account).await;
                return Ok(Some((role, minted, Some(account.to_owned()))));
            }
            (bound, minted) => {
                // The reservation was lost: the ledger must not keep a
                // binding the pool does not hold.
                if let Err(err) = &bound {
                    tracing::warn!(error = %err, account, "binding a reserved account failed");
                }
                if minted.is_ok() && !self.ctx.upstreams.ledger.unbind(id, account, now).await? {
                    tracing::warn!(session_id = id, account, "a lost reservation's binding was not in the ledger");
                }
                if let Err(err @ ApiError::SessionEnded(..)) = minted {
                    return Err(err);
                }
            }
        }
        Ok(None)
    }

    /// The slow path: the ledger's binding, or a lease through the state
    /// index. A lease the ledger refuses to bind (the session ended, or a
    /// concurrent request of the same session bound another account first)
    /// is given back, and the second case is served from the account bound.
    async fn issue_leased(
        &self,
        req: &SessionRequest,
        caller: Option<&str>,
        sign_in: bool,
    ) -> Result<InAccount, ApiError> {
        let id = &req.session_id;
        let mut tries = 2;
        loop {
            tries -= 1;
            let held = self.hold_account(id).await?;
            let role = self.role_in(&req.profile, &held.account_id).await?;
            match self.mint_issue(req, &role, caller, Some(&held.account_id), sign_in).await {
                Ok(minted) => {
                    self.reservations.remember(id.as_str(), &held.account_id).await;
                    return Ok((role, minted, Some(held.account_id)));
                }
                Err(err @ (ApiError::SessionEnded(..) | ApiError::SessionBound(..))) => {
                    if held.fresh {
                        self.give_back(id, &held.account_id).await;
                    }
                    if tries == 0 || !matches!(err, ApiError::SessionBound(..)) {
                        return Err(err);
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

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
                return Err(ApiError::refused(id.to_string(), record.state));
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
