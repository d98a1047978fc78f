//! The worker every replica runs, and cleaning one session on demand.
//! Replicas coordinate through the ledger alone: a session is cleaned by
//! whoever wins the conditional claim write, and a claim expires, so a
//! crashed replica's session is picked up by another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use super::Cleanup;
use crate::aws::UpstreamError;
use crate::aws::ledger::{CleanupReport, EndRecord, ResourceOutcome, SessionRecord, SessionState};
use crate::clock::unix_seconds;
use crate::error::ApiError;
use crate::telemetry::metrics;

/// Sessions claimed per pass; each session's deletions run in parallel.
const SESSIONS_PER_PASS: u32 = 25;
/// Sessions cleaned at once by one replica.
const SESSIONS_AT_ONCE: usize = 4;
/// A failed attempt is retried after this, times the attempts so far.
const RETRY_AFTER_SECONDS: u64 = 60;

impl Cleanup {
    fn now(&self) -> u64 {
        unix_seconds(self.ctx.clock.now())
    }

    /// One pass: updates the backlog metrics, then claims and cleans the
    /// sessions due now. Returns how many this replica cleaned.
    pub async fn run_due(&self) -> Result<usize, UpstreamError> {
        // Resets first: an account freed now serves the next learner.
        if let Err(err) = self.accounts.run_due().await {
            tracing::warn!(error = %err, "reset pass failed; retrying next interval");
        }
        let ledger = &self.ctx.upstreams.ledger;
        let now = self.now();
        let (backlog, oldest) = ledger.backlog(now).await?;
        metrics::cleanup_backlog(backlog, Duration::from_secs(oldest.map_or(0, |due| now.saturating_sub(due))));
        let due = ledger.due(now, SESSIONS_PER_PASS).await?;
        let cleaned: Vec<_> = stream::iter(due)
            .map(|record| async move { self.claim_and_clean(&record.session_id).await })
            .buffer_unordered(SESSIONS_AT_ONCE)
            .collect()
            .await;
        let mut done = 0;
        for result in cleaned {
            match result {
                Ok(Some(_)) => done += 1,
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "cleanup pass: a session could not be claimed"),
            }
        }
        Ok(done)
    }

    /// Runs passes every `cleanup.interval_seconds` until dropped.
    pub async fn run(self: Arc<Self>) {
        let interval = Duration::from_secs(self.ctx.settings.cleanup.interval_seconds.max(1));
        loop {
            if let Err(err) = self.run_due().await {
                tracing::warn!(error = %err, "cleanup pass failed; retrying next interval");
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Cleans the (ended) session in a task of its own, now, unless a
    /// replica holds it already; the worker's passes remain the backstop.
    pub fn clean_soon(self: &Arc<Self>, session_id: String) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(err) = this.claim_and_clean(&session_id).await {
                tracing::warn!(error = %err, session_id, "cleanup not started; the worker retries it");
            }
        });
    }

    /// Claims the session and cleans it; `None` when another replica holds
    /// it (or it is no longer due).
    async fn claim_and_clean(&self, session_id: &str) -> Result<Option<SessionRecord>, UpstreamError> {
        let now = self.now();
        let until = now + self.ctx.settings.cleanup.claim_seconds;
        match self.ctx.upstreams.ledger.claim(session_id, &self.owner, now, until).await? {
            Some(claimed) => self.clean_claimed(claimed).await.map(Some),
            None => Ok(None),
        }
    }

    /// Cleans a session this replica has claimed and records the outcome.
    async fn clean_claimed(&self, mut record: SessionRecord) -> Result<SessionRecord, UpstreamError> {
        let started = Instant::now();
        if record.state == SessionState::Active {
            tracing::info!(target: "sandbox_broker::audit", event = "session_ended", session_id = %record.session_id,
                reason = "lease_expired", profiles = ?record.profiles);
            metrics::session_state(SessionState::Ended.as_str());
        }
        let attempts = record.cleanup.as_ref().map_or(1, |c| c.attempts);
        let settings = &self.ctx.settings;
        // A profile removed from the configuration is cleaned, to be safe.
        let wanted = record.profiles.iter().any(|p| settings.profiles.get(p).is_none_or(|p| p.cleanup));
        // An account session's cleanup is its account's reset.
        let reset = match &record.account_id {
            Some(account) => {
                let reset = self.accounts.reset_for_session(account, &record.session_id);
                Some(self.while_holding(&record.session_id, reset).await)
            }
            None => None,
        };
        // Another replica (or this one's pool pass) resets the account right
        // now: look again at the next pass, not after a failure's backoff.
        let reset_elsewhere = matches!(reset, Some(Ok(None)));
        let (mut report, reset_state) = match reset {
            Some(Ok(Some((state, report)))) => (report, Some(state)),
            // Another replica resets the account now: looked at again later.
            Some(Ok(None)) => (CleanupReport::default(), Some(SessionState::Ended)),
            Some(Err(err)) => (discovery_failed(err, self.now()), None),
            None if !wanted => (CleanupReport::default(), None),
            None => {
                let work = async {
                    match self.discover(&record.sandbox_key, false).await {
                        Ok(found) => self.remove(found, false).await,
                        Err(err) => discovery_failed(err, self.now()),
                    }
                };
                (self.while_holding(&record.session_id, work).await, None)
            }
        };
        report.attempts = attempts;
        let state = if let Some(state) = reset_state {
            state
        } else if !wanted {
            SessionState::CleanupSkipped
        } else if !report.failed.is_empty() && attempts < settings.cleanup.max_attempts {
            SessionState::Ended
        } else if !report.failed.is_empty() {
            SessionState::CleanupFailed
        } else if !report.left.is_empty() {
            SessionState::CleanupIncomplete
        } else {
            SessionState::Cleaned
        };
        let retry_after =
            if reset_elsewhere { settings.cleanup.interval_seconds } else { RETRY_AFTER_SECONDS * u64::from(attempts) };
        let kept = self.store(&record.session_id, state, retry_after, &report).await?;
        if !kept {
            tracing::warn!(session_id = %record.session_id, "cleanup claim expired before the outcome was stored");
        }
        tracing::info!(target: "sandbox_broker::audit", event = "cleanup_finished", session_id = %record.session_id,
            state = state.as_str(), attempts, deleted = report.deleted.len(), failed = report.failed.len(),
            left = report.left.len(), seconds = started.elapsed().as_secs_f64());
        metrics::session_state(state.as_str());
        metrics::cleanup_finished(state.as_str(), started.elapsed());
        record.state = state;
        record.cleanup = Some(report);
        record.claim = None;
        Ok(record)
    }

    /// Runs `work` while renewing this replica's claim on the session.
    async fn while_holding<T>(&self, session_id: &str, work: impl std::future::Future<Output = T>) -> T {
        let claim = self.ctx.settings.cleanup.claim_seconds;
        let ledger = &self.ctx.upstreams.ledger;
        let renew = || ledger.renew(session_id, &self.owner, self.now() + claim);
        crate::broker::claims::while_renewing(claim, session_id, work, renew).await
    }

    /// Stores the outcome while holding the claim. The deletions are done;
    /// losing their record to a passing timeout would make another replica
    /// redo them after the claim expires, so the write is retried briefly.
    async fn store(
        &self,
        session_id: &str,
        state: SessionState,
        retry_after: u64,
        report: &CleanupReport,
    ) -> Result<bool, UpstreamError> {
        let ledger = &self.ctx.upstreams.ledger;
        let mut waits = [Duration::from_millis(250), Duration::from_secs(1), Duration::from_secs(2)].into_iter();
        loop {
            let stored = if state == SessionState::Ended {
                let retry_at = self.now() + retry_after;
                ledger.release(session_id, &self.owner, retry_at, report).await
            } else {
                ledger.finish(session_id, &self.owner, state, report).await
            };
            match (stored, waits.next()) {
                (Err(err), Some(wait)) if super::transient(&err) => {
                    tracing::debug!(error = %err, session_id, "storing the cleanup outcome; retrying");
                    tokio::time::sleep(wait).await;
                }
                (result, _) => return result,
            }
        }
    }

    /// `POST /admin/sessions/{id}/cleanup` and `sandbox-broker cleanup`:
    /// cleans an ended session now (again, after a `cleanup_incomplete` or
    /// `cleanup_failed`). A session already `cleaned` (or skipped) is
    /// answered as it is, so a retried request never cleans twice or
    /// overwrites the report. The attempt runs in a task of its own: when
    /// it outlasts `wait` (or the request is dropped) it goes on, holding
    /// its claim, and the answer is the record as it stands. A dry run
    /// reports what would be deleted and changes nothing.
    pub async fn clean_now(
        self: &Arc<Self>,
        session_id: &str,
        dry_run: bool,
        wait: Option<Duration>,
    ) -> Result<CleanNow, ApiError> {
        let ledger = &self.ctx.upstreams.ledger;
        let record = ledger.get(session_id).await?.ok_or_else(|| ApiError::SessionNotFound(session_id.to_owned()))?;
        if dry_run {
            return Ok(CleanNow::Finished(self.preview(&record).await?));
        }
        if matches!(record.state, SessionState::Active | SessionState::Frozen) {
            return Err(ApiError::SessionActive(session_id.to_owned()));
        }
        if matches!(record.state, SessionState::Cleaned | SessionState::CleanupSkipped) {
            return Ok(CleanNow::Finished(record.view()));
        }
        let (this, id) = (self.clone(), session_id.to_owned());
        let attempt = super::super::to_completion(async move { this.clean_again(&id).await });
        let finished = match wait {
            Some(wait) => tokio::time::timeout(wait, attempt).await.ok(),
            None => Some(attempt.await),
        };
        match finished.transpose()?.flatten() {
            Some(record) => Ok(CleanNow::Finished(record.view())),
            None => {
                let current = ledger.get(session_id).await?;
                Ok(CleanNow::Running(current.map_or(record.view(), |r| r.view())))
            }
        }
    }

    /// What cleanup (or, for an account session, its account's reset) would
    /// delete now, with what each resource has cost the session so far
    /// (`cleanup.estimate`, every priced resource): the record's view with
    /// a dry-run report. Works on an active session; changes nothing.
    async fn preview(&self, record: &SessionRecord) -> Result<serde_json::Value, ApiError> {
        let (found, report) = match &record.account_id {
            // Once the lease has ended the account is being reset or serves
            // another learner: the record's own report is the answer.
            Some(account) if !self.ctx.upstreams.pool.is_leased_to(account, &record.session_id).await? => {
                return Ok(record.view());
            }
            Some(account) => self.accounts.preview_found(account).await?,
            None => {
                let found = self.discover(&record.sandbox_key, true).await?;
                let report = self.remove(found.clone(), true).await;
                (found, report)
            }
        };
        let mut view = record.view();
        view["cleanup"] = report.view();
        let spend = crate::broker::spend::session_spend(&self.ctx.settings, record, &found, self.now(), None);
        view["cleanup"]["estimate"] = serde_json::json!(spend);
        Ok(view)
    }

    /// Queues the session again and cleans it, unless a replica holds a
    /// live claim on it (`None`).
    async fn clean_again(&self, session_id: &str) -> Result<Option<SessionRecord>, ApiError> {
        let end = EndRecord { session_id: session_id.to_owned(), now: self.now(), revoked: Vec::new(), again: true };
        self.ctx.upstreams.ledger.end(&end).await?;
        Ok(self.claim_and_clean(session_id).await?)
    }
}

/// What `clean_now` did.
pub enum CleanNow {
    /// The cleanup finished (now, or before the request): the record and its report.
    Finished(Value),
    /// A cleanup of the session is running (this request's, still going
    /// when the wait ended, or another replica's): the record as it stands.
    Running(Value),
}

/// A discovery that failed is an attempt that failed: retried later.
fn discovery_failed(err: ApiError, now: u64) -> CleanupReport {
    let failed = ResourceOutcome {
        arn: "discovery".into(),
        kind: "discovery".into(),
        error: Some(err.to_string()),
        reason: None,
        scheduled_for: None,
    };
    CleanupReport { started_at: Some(now), finished_at: Some(now), failed: vec![failed], ..CleanupReport::default() }
}
