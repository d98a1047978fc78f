//! Ending an account session's lease: the account moves to `resetting` and
//! every credential issued in it until now stops working at once, the way
//! IAM's "revoke active sessions" does it (an `aws:TokenIssueTime` Deny on
//! each role learners assume there): nobody keeps working in an account
//! being wiped, and the next learner's credentials, issued later, pass.

use serde_json::json;

use super::Accounts;
use crate::aws::members::MemberClients;
use crate::aws::pool::{AccountState, Transition};
use crate::aws::{UpstreamError, UpstreamErrorKind};
use crate::broker::context::Context;
use crate::clock::{rfc3339_unix as rfc3339, unix_seconds};
use crate::config::Isolation;
use crate::error::ApiError;

/// The inline policy holding the account-wide Deny (under the revocation
/// prefix, so bootstrap's convergence leaves it alone).
pub const REVOKE_ALL_POLICY: &str = "sandbox-broker-revocations-all";

/// The Deny of every credential issued before `at` (Unix seconds).
fn revoke_all_document(at: u64) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RevokeOlderSessions",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": { "DateLessThan": { "aws:TokenIssueTime": rfc3339(at) } },
        }],
    })
    .to_string()
}

/// Writes the account-wide Deny on every account profile's role in the
/// account. A role that is not there (never provisioned) has nothing to revoke.
pub(super) async fn revoke_all(ctx: &Context, member: &MemberClients, at: u64) -> Result<(), UpstreamError> {
    let document = revoke_all_document(at);
    for (name, profile) in ctx.settings.profiles.iter().filter(|(_, p)| p.isolation == Isolation::Account) {
        let role = profile.role_name(name);
        match member.iam.put_inline_policy(&role, REVOKE_ALL_POLICY, &document).await {
            Err(err) if err.kind != UpstreamErrorKind::NotFound => return Err(err),
            _ => {}
        }
    }
    Ok(())
}

/// Denies every credential issued in `account_id` before `at` (a frozen
/// session's account), failing if it cannot be written.
pub async fn deny_issued_before(ctx: &Context, account_id: &str, at: u64) -> Result<(), ApiError> {
    let member = ctx.open_member(account_id).await?;
    Ok(revoke_all(ctx, &member, at).await?)
}

/// Ends `session_id`'s lease of `account_id`: leased → resetting, then the
/// account-wide revocation. Idempotent: an account already past `leased`
/// is left as it is.
pub async fn end_account_lease(ctx: &Context, account_id: &str, session_id: &str, why: &str) -> Result<(), ApiError> {
    let t = Transition {
        account_id,
        session_id: Some(session_id),
        from: &[AccountState::Leased],
        to: AccountState::Resetting,
        now: unix_seconds(ctx.clock.now()),
        reason: None,
    };
    ctx.upstreams.pool.transition(&t).await?;
    revoke_account(ctx, account_id, session_id, why).await
}

/// The account-wide revocation of every credential issued until now. One
/// that fails here is written again by the reset, which refuses to wipe an
/// account it could not revoke.
pub(super) async fn revoke_account(
    ctx: &Context,
    account_id: &str,
    session_id: &str,
    why: &str,
) -> Result<(), ApiError> {
    let now = unix_seconds(ctx.clock.now());
    let revoked = match ctx.open_member(account_id).await {
        Ok(member) => revoke_all(ctx, &member, now).await.map_err(ApiError::from),
        Err(err) => Err(err),
    };
    match revoked {
        Ok(()) => tracing::info!(target: "sandbox_broker::audit", event = "account_lease_ended", account_id,
            session_id, reason = why, revoked_before = %rfc3339(now)),
        Err(err) => tracing::warn!(error = %err, account_id, session_id,
            "account-wide revocation failed; the reset writes it before wiping"),
    }
    Ok(())
}

/// How long a lease may exist before the ledger must bind it: far past the
/// request that leased it (which binds it or gives it back before it
/// answers, cut at `server.request_timeout_ms` at the latest).
fn stray_after(ctx: &Context) -> u64 {
    (ctx.settings.server.request_timeout_ms / 1_000 * 2).max(600)
}

impl Accounts {
    /// Ends leases no session record binds: an account bound in the pool
    /// table by a request whose ledger write then failed (or timed out,
    /// leaving no record), or whose give-back failed. Nobody holds keys to
    /// it, but it was leased, so it is reset before anyone gets it. One
    /// page of leased accounts per pass, the cursor carried between passes
    /// so every lease is looked at in turn however large the pool.
    pub(super) async fn end_stray_leases(&self) -> Result<usize, ApiError> {
        let mut cursor = self.stray_cursor.lock().await;
        let pool = &self.ctx.upstreams.pool;
        let (page, next) = pool.list(Some(AccountState::Leased), STRAY_PAGE, cursor.as_deref()).await?;
        *cursor = next;
        let old = unix_seconds(self.ctx.clock.now()).saturating_sub(stray_after(&self.ctx));
        let mut ended = 0;
        for record in page.iter().filter(|r| r.leased_at.is_some_and(|at| at <= old)) {
            let Some(session_id) = record.session_id.as_deref() else { continue };
            let bound = self.ctx.upstreams.ledger.get(session_id).await?.and_then(|r| r.account_id);
            if bound.as_deref() != Some(record.account_id.as_str()) {
                end_account_lease(&self.ctx, &record.account_id, session_id, "stray lease: no session record binds it")
                    .await?;
                ended += 1;
            }
        }
        Ok(ended)
    }
}

/// Leased accounts looked at per worker pass.
const STRAY_PAGE: u32 = 25;
