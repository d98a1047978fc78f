//! Issuing a learner session: AssumeRole, then a console sign-in token.

use std::time::SystemTime;

use secrecy::SecretString;

use super::Sessions;
pub use super::request::{IssueSessionBody, SessionRequest};
use crate::aws::federation::{SIGNIN_TOKEN_LIFETIME, login_url};
use crate::aws::ledger::{IssueRecord, RecordError};
use crate::aws::retry::retry_on;
use crate::aws::{
    AssumeRoleInput, CallerIdentity, IssuedCredentials, RoleInfo, TemporaryCredentials, UpstreamErrorKind,
};
use crate::broker::Profile;
use crate::config::Isolation;
use crate::domain::ticket::Ticket;
use crate::domain::{
    Destination, Region, RoleSessionName, SessionDuration, SessionId, SessionKey, SessionNarrowing, session_tags,
};
use crate::error::ApiError;

/// Everything a response about an issued session can show.
#[derive(Debug)]
pub struct IssuedSession {
    /// The session id the platform sent.
    pub session_id: SessionId,
    /// The profile's name.
    pub profile: String,
    /// The profile role's ARN.
    pub role_arn: String,
    /// The role session name the session id maps to.
    pub role_session_name: RoleSessionName,
    /// The ARN STS reports for the role session.
    pub assumed_role_arn: String,
    /// The console region.
    pub region: Region,
    /// The temporary keys.
    pub credentials: TemporaryCredentials,
    /// The sign-in URL and its expiry, when the response shows one.
    pub console: Option<(SecretString, SystemTime)>,
    /// The broker's durable console link (see [`Broker::launch_console`]).
    pub launch_url: String,
    /// The pool account the session works in (account profiles).
    pub account_id: Option<String>,
}

/// What a mint is for: the session's policies, the console page to sign in
/// to (none for the CLI formats), and the ledger entry of a new issue.
pub(super) struct MintFor<'a> {
    pub(super) narrowing: &'a SessionNarrowing,
    pub(super) destination: Option<&'a Destination>,
    pub(super) lease: Option<Lease<'a>>,
}

/// A new issue to record in the ledger (a console launch records nothing:
/// its credentials end within the lease already recorded).
pub(super) struct Lease<'a> {
    /// The platform token's `sub`.
    pub(super) caller: Option<&'a str>,
    /// The pool account bound to the session (account profiles).
    pub(super) account_id: Option<&'a str>,
    /// The request's budget, if it set one.
    pub(super) budget_usd: Option<f64>,
}

/// Fresh credentials for a session plus a console sign-in URL for them.
pub(super) struct Minted {
    pub(super) session_name: RoleSessionName,
    pub(super) issued: IssuedCredentials,
    pub(super) console: Option<(SecretString, SystemTime)>,
    pub(super) duration: SessionDuration,
    pub(super) chained: bool,
}

impl Sessions {
    /// Issues a session. `sign_in` asks for a console sign-in URL too; the
    /// CLI formats show none, so they skip that upstream round trip (and
    /// do not depend on the federation endpoint being up).
    pub async fn issue_session(
        &self,
        req: &SessionRequest,
        caller: Option<&str>,
        sign_in: bool,
    ) -> Result<IssuedSession, ApiError> {
        let profile = &req.profile;
        let (role, minted, account_id) = match profile.isolation {
            Isolation::Shared => {
                let role = self.unrevoked_role(profile, &req.session_id).await?;
                let minted = self.mint_issue(req, &role, caller, None, sign_in).await?;
                (role, minted, None)
            }
            Isolation::Account => self.issue_in_account(req, caller, sign_in).await?,
        };
        let expiration = minted.issued.credentials.expiration;
        let ticket = Ticket {
            session_id: req.session_id.to_string(),
            profile: profile.name.clone(),
            region: req.region.to_string(),
            destination: req.destination.as_str().to_owned(),
            exp: crate::clock::unix_seconds(expiration),
            session_policy: req.narrowing.policy.clone(),
            policy_arns: req.narrowing.policy_arns.clone(),
        };
        let public_url = self.ctx.settings.server.public_url.as_str().trim_end_matches('/');
        let launch_url = format!("{public_url}/console/launch?ticket={}", self.tickets.sign(&ticket));
        tracing::info!(
            target: "sandbox_broker::audit",
            event = "session_issued",
            session_id = %req.session_id,
            profile = %profile.name,
            role_session_name = %minted.session_name,
            access_key_id = %minted.issued.credentials.access_key_id,
            expiration = %crate::clock::rfc3339(expiration),
            duration_seconds = minted.duration.seconds(),
            role_chained = minted.chained,
            caller = caller.unwrap_or("-"),
        );
        crate::telemetry::metrics::session_event("issued", &profile.name);
        Ok(IssuedSession {
            session_id: req.session_id.clone(),
            profile: profile.name.clone(),
            role_arn: role.arn,
            role_session_name: minted.session_name,
            assumed_role_arn: minted.issued.assumed_role_arn,
            region: req.region.clone(),
            credentials: minted.issued.credentials,
            console: minted.console,
            launch_url,
            account_id,
        })
    }

    /// AssumeRole for a new issue, recorded in the ledger alongside.
    pub(super) async fn mint_issue(
        &self,
        req: &SessionRequest,
        role: &RoleInfo,
        caller: Option<&str>,
        account_id: Option<&str>,
        sign_in: bool,
    ) -> Result<Minted, ApiError> {
        let profile = &req.profile;
        let requested = req.requested_seconds.unwrap_or(profile.default_session_seconds);
        let destination = sign_in.then_some(&req.destination);
        let lease = Lease { caller, account_id, budget_usd: req.budget_usd };
        let what = MintFor { narrowing: &req.narrowing, destination, lease: Some(lease) };
        self.mint(profile, role, &req.session_id, requested, what).await
    }

    /// AssumeRole for the session on `role` (already checked by
    /// [`Sessions::unrevoked_role`]), then, given a console destination, a
    /// sign-in token for those credentials. `requested` is clamped to the
    /// profile's and role's maxima and the role-chaining limit.
    pub(super) async fn mint(
        &self,
        profile: &Profile,
        role: &RoleInfo,
        id: &SessionId,
        requested: u32,
        what: MintFor<'_>,
    ) -> Result<Minted, ApiError> {
        let MintFor { narrowing, destination, lease } = what;
        let identity = self.ctx.identity().await?;
        let chained = identity.is_role_session();
        let duration =
            SessionDuration::clamp(requested, profile.max_session_seconds, role.max_session_seconds, chained);
        let session_name = RoleSessionName::for_session(id);
        let input = AssumeRoleInput {
            role_arn: role.arn.clone(),
            tags: session_tags(id, &session_name, &profile.name),
            session_name,
            duration,
            narrowing: narrowing.clone(),
        };
        // AccessDenied is retried on a short capped schedule: a role created
        // or re-trusted seconds ago may not be assumable yet because IAM
        // changes propagate eventually. Throttling is retried by the SDK's
        // standard mode; validation errors are never retried.
        let sts = &self.ctx.upstreams.sts;
        let assume = retry_on(UpstreamErrorKind::AccessDenied, &self.denied_backoff, || sts.assume_role(&input));
        // The ledger records a new issue alongside AssumeRole (no extra round
        // trip), and no credential leaves unless both succeeded.
        let issued = match lease {
            Some(lease) => {
                let record = self.lease_record(profile, id, &input.session_name, duration, lease);
                let (issued, recorded) = tokio::join!(assume, self.ctx.upstreams.ledger.record_issue(&record));
                recorded.map_err(|e| match e {
                    RecordError::Ended(id, state) => ApiError::refused(id, state),
                    RecordError::Bound(id, account) => ApiError::SessionBound(id, account),
                    RecordError::Upstream(e) if e.kind == UpstreamErrorKind::NotFound => ApiError::LedgerNotProvisioned,
                    RecordError::Upstream(e) => ApiError::LedgerUnavailable(e),
                })?;
                issued?
            }
            None => assume.await?,
        };
        let console = match destination {
            Some(destination) => Some(self.sign_in(&identity, &issued, duration, chained, destination).await?),
            None => None,
        };
        Ok(Minted { session_name: input.session_name, issued, console, duration, chained })
    }

    /// The ledger entry of an issue: the lease runs to the credentials'
    /// expiry (now + the clamped duration, which STS reports back), and
    /// cleanup is due `cleanup.grace_seconds` after it.
    fn lease_record(
        &self,
        profile: &Profile,
        id: &SessionId,
        session_name: &RoleSessionName,
        duration: SessionDuration,
        lease: Lease<'_>,
    ) -> IssueRecord {
        let now = crate::clock::unix_seconds(self.ctx.clock.now());
        let lease_expires_at = now + u64::from(duration.seconds());
        IssueRecord {
            session_id: id.to_string(),
            sandbox_key: SessionKey::of(id).as_str().to_owned(),
            role_session_name: session_name.as_str().to_owned(),
            profile: profile.name.clone(),
            caller: lease.caller.map(str::to_owned),
            now,
            lease_expires_at,
            due_at: lease_expires_at + self.ctx.settings.cleanup.grace_seconds,
            account_id: lease.account_id.map(str::to_owned),
            budget_usd: lease.budget_usd,
        }
    }

    /// A console login URL for fresh credentials, and when it expires.
    async fn sign_in(
        &self,
        identity: &CallerIdentity,
        issued: &IssuedCredentials,
        duration: SessionDuration,
        chained: bool,
        destination: &Destination,
    ) -> Result<(SecretString, SystemTime), ApiError> {
        let endpoint = self.ctx.federation_endpoint(identity);
        // AWS rejects SessionDuration for credentials obtained by role chaining.
        let console_seconds = (!chained).then(|| duration.seconds());
        let federation = &self.ctx.upstreams.federation;
        let token = federation.signin_token(&endpoint, &issued.credentials, console_seconds).await?;
        let url = login_url(&endpoint, &self.ctx.settings.console.issuer, destination, &token)
            .map_err(|e| ApiError::Internal(format!("federation endpoint URL: {e}")))?;
        Ok((url, (self.ctx.clock.now() + SIGNIN_TOKEN_LIFETIME).min(issued.credentials.expiration)))
    }
}
