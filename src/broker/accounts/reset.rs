//! Resetting a pool account between learners: revoke, wipe every
//! unprotected resource in `pool.regions` plus the global types, restore
//! the baseline, search again until `pool.verify_passes` searches in a row
//! find nothing, and converge the profiles' roles. Clean: `available`
//! (through `cooling` when a cooldown is set). Anything else (left,
//! failed, past `pool.reset_timeout_seconds`, the home or management
//! account): `quarantined` with the report and the reason. Resets are
//! claimed in the pool table like cleanups in the ledger.

use std::time::{Duration, Instant};

use sandbox_reset::engine::{Found, Mode, ResetPlan, Scan, discover_priced, remove, reset_account};

use super::lease_end::revoke_all;
use super::{Accounts, parse_account_id};
use crate::aws::UpstreamError;
use crate::aws::ledger::{CleanupReport, ResourceOutcome, SessionState};
use crate::aws::pool::{AccountRecord, AccountState, ResetEnd, Transition};
use crate::broker::engine::{engine_options, report_of};
use crate::error::{ApiError, PoolError};

/// Accounts looked at per worker pass.
const PER_PASS: u32 = 25;

/// One report line for a reset that could not run to its end.
fn stopped(what: &str, error: String) -> ResourceOutcome {
    ResourceOutcome { arn: what.into(), kind: "reset".into(), error: Some(error), reason: None, scheduled_for: None }
}

impl Accounts {
    /// One worker pass: cooled-down accounts become available, stray leases
    /// end, and resetting accounts no live claim holds are claimed and reset.
    pub async fn run_due(&self) -> Result<usize, UpstreamError> {
        let pool = &self.ctx.upstreams.pool;
        let now = self.now();
        for id in pool.in_state_since(AccountState::Cooling, now, PER_PASS).await? {
            let t = Transition {
                account_id: &id,
                session_id: None,
                from: &[AccountState::Cooling],
                to: AccountState::Available,
                now,
                reason: None,
            };
            pool.transition(&t).await?;
        }
        match self.end_stray_leases().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(stray = n, "leases no session record binds were ended; their accounts reset"),
            Err(err) => tracing::warn!(error = %err, "the sweep for stray leases failed"),
        }
        let mut done = 0;
        for id in pool.in_state_since(AccountState::Resetting, now, PER_PASS).await? {
            match self.claim_and_reset(&id).await {
                Ok(Some(_)) => done += 1,
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, account_id = %id, "reset pass: an account could not be reset"),
            }
        }
        if let Err(err) = self.keep_available().await {
            tracing::warn!(error = %err, "pool.min_available: creating an account failed");
        }
        if let Err(err) = self.counts().await {
            tracing::debug!(error = %err, "pool counts not refreshed");
        }
        Ok(done)
    }

    /// Claims the account's reset and runs it; `None` while another
    /// replica's claim holds it (or it is not resetting).
    pub async fn claim_and_reset(&self, account_id: &str) -> Result<Option<AccountRecord>, ApiError> {
        let now = self.now();
        let until = now + self.ctx.settings.cleanup.claim_seconds;
        match self.ctx.upstreams.pool.claim_reset(account_id, &self.owner, now, until).await? {
            Some(_) => self.reset_claimed(account_id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Runs a claimed reset under `pool.reset_timeout_seconds`, renewing
    /// the claim, and stores how it ended.
    async fn reset_claimed(&self, account_id: &str) -> Result<AccountRecord, ApiError> {
        let started = Instant::now();
        let started_at = self.now();
        let limit = self.ctx.settings.pool.reset_timeout_seconds;
        let claim = self.ctx.settings.cleanup.claim_seconds;
        let pool = &self.ctx.upstreams.pool;
        let renew = || pool.renew_reset(account_id, &self.owner, self.now() + claim);
        let work = crate::broker::claims::while_renewing(claim, account_id, self.wipe(account_id), renew);
        let (mut report, problem) = match tokio::time::timeout(Duration::from_secs(limit), work).await {
            Ok(done) => done,
            Err(_) => {
                let why = format!("the reset was still running after pool.reset_timeout_seconds = {limit}");
                (CleanupReport { failed: vec![stopped("reset", why.clone())], ..CleanupReport::default() }, Some(why))
            }
        };
        report.started_at = Some(started_at);
        report.finished_at = Some(self.now());
        report.attempts = 1;
        let cooldown = self.ctx.settings.pool.cooldown_seconds;
        let to = match (&problem, cooldown) {
            (Some(_), _) => AccountState::Quarantined,
            (None, 0) => AccountState::Available,
            (None, _) => AccountState::Cooling,
        };
        let end = ResetEnd {
            account_id,
            owner: &self.owner,
            to,
            now: self.now(),
            available_at: self.now() + cooldown,
            report: &report,
            reason: problem.as_deref(),
        };
        if !pool.finish_reset(&end).await? {
            tracing::warn!(
                account_id,
                "reset claim lost (taken over, or quarantined by an operator) before it was stored"
            );
        }
        let outcome = if problem.is_some() { "quarantined" } else { "available" };
        crate::telemetry::metrics::reset_finished(outcome, started.elapsed());
        tracing::info!(target: "sandbox_broker::audit", event = "account_reset", account_id, outcome,
            deleted = report.deleted.len(), failed = report.failed.len(), left = report.left.len(),
            reason = problem.as_deref().unwrap_or("-"), seconds = started.elapsed().as_secs_f64());
        pool.get(account_id).await?.ok_or_else(|| ApiError::Internal("a reset account vanished".into()))
    }

    /// Refuses the home and management accounts, then revokes, wipes,
    /// verifies and converges: the report, and why it is not clean.
    async fn wipe(&self, account_id: &str) -> (CleanupReport, Option<String>) {
        if let Err(err) = self.refuse_special(&[account_id.to_owned()]).await {
            return (CleanupReport::default(), Some(format!("refused: {err}")));
        }
        let member = match self.member(account_id).await {
            Ok(member) => member,
            Err(err) => return (CleanupReport::default(), Some(err.to_string())),
        };
        // Nobody keeps working in an account being wiped.
        if let Err(err) = revoke_all(&self.ctx, &member, self.now()).await {
            return (CleanupReport::default(), Some(format!("credentials could not be revoked: {err}")));
        }
        let settings = &self.ctx.settings;
        let (scan, keep) = match self.scope(account_id).await {
            Ok(scope) => scope,
            Err(err) => return (CleanupReport::default(), Some(err.to_string())),
        };
        let plan = ResetPlan {
            regions: scan.regions,
            account: scan.account,
            keep,
            verify_passes: settings.pool.verify_passes,
            attempts: settings.cleanup.max_attempts,
        };
        let result = reset_account(member.resources.as_ref(), &plan, &engine_options(settings)).await;
        let mut problem = result.problem;
        if !result.restored.is_empty() {
            tracing::info!(account_id, restored = ?result.restored, "baseline restored");
        }
        let report = report_of(result.report, false);
        if problem.is_none()
            && let Err(err) = self.provisioner.provision_account(&member, false).await
        {
            problem = Some(format!("the profiles' roles could not be converged: {}", err.source));
        }
        (report, problem)
    }
}

impl Accounts {
    /// An ended account session's cleanup: end its lease (if the lease ran
    /// out, nothing did yet), reset the account, and answer the session's
    /// state and report. `None` while another replica resets it (the
    /// session is looked at again later, and then finds the reset done).
    pub async fn reset_for_session(
        &self,
        account_id: &str,
        session_id: &str,
    ) -> Result<Option<(SessionState, CleanupReport)>, ApiError> {
        super::end_account_lease(&self.ctx, account_id, session_id, "lease ended").await?;
        let record = match self.ctx.upstreams.pool.get(account_id).await? {
            Some(r) if r.state == AccountState::Resetting && r.session_id.as_deref() == Some(session_id) => {
                match self.claim_and_reset(account_id).await? {
                    Some(record) => record,
                    None => return Ok(None),
                }
            }
            // Reset already (by another replica), or set aside by an operator.
            Some(r) => r,
            None => return Err(PoolError::NotFound(account_id.to_owned()).into()),
        };
        let report = record.reset.clone().unwrap_or_default();
        let state = match record.state {
            // Set aside with what the last reset could not delete, or by an
            // operator (nothing wiped): either way not all of it is gone.
            AccountState::Quarantined if !report.failed.is_empty() => SessionState::CleanupFailed,
            AccountState::Quarantined => SessionState::CleanupIncomplete,
            _ => SessionState::Cleaned,
        };
        Ok(Some((state, report)))
    }
}

impl Accounts {
    /// `POST /admin/accounts/{id}/reset?dry_run=true`: what a reset would
    /// delete in the account now (and what it would leave); nothing changes.
    pub async fn preview(&self, raw_id: &str) -> Result<CleanupReport, ApiError> {
        Ok(self.preview_found(raw_id).await?.1)
    }

    /// What a reset would find in the account now, and its dry-run report.
    pub async fn preview_found(&self, raw_id: &str) -> Result<(Found, CleanupReport), ApiError> {
        let record = self.get(raw_id).await?;
        let member = self.member(&record.account_id).await?;
        let (scan, keep) = self.scope(&record.account_id).await?;
        let options = engine_options(&self.ctx.settings);
        let backend = member.resources.as_ref();
        let found = discover_priced(backend, &scan, &Mode::Account { keep }, &options).await;
        let report = report_of(remove(backend, found.clone(), &options, true).await, true);
        Ok((found, report))
    }

    /// Where a reset of `account_id` searches (`pool.regions`, else the
    /// cleanup regions) and what it keeps: the access role it works through.
    async fn scope(&self, account_id: &str) -> Result<(Scan, Vec<String>), ApiError> {
        let settings = &self.ctx.settings;
        let regions = settings.pool.regions_or(&settings.cleanup.regions_or(&settings.aws.region));
        let partition = self.ctx.identity().await?.partition.id();
        let scan = Scan { regions: regions.iter().map(ToString::to_string).collect(), account: account_id.to_owned() };
        let keep = vec![format!("arn:{partition}:iam::{account_id}:role/{}", settings.pool.access_role_name)];
        Ok((scan, keep))
    }

    /// `POST /admin/accounts/{id}/reset`: an account not leased (available,
    /// cooling or quarantined) moves to `resetting`; the reset then runs.
    pub async fn start_reset(&self, raw_id: &str) -> Result<AccountRecord, ApiError> {
        let id = parse_account_id(raw_id)?;
        let from = [AccountState::Available, AccountState::Cooling, AccountState::Quarantined];
        let t = Transition {
            account_id: &id,
            session_id: None,
            from: &from,
            to: AccountState::Resetting,
            now: self.now(),
            reason: None,
        };
        self.transition(&t, "available, cooling or quarantined").await
    }
}
