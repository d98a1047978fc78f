//! Cleanup: deleting exactly what one learner created in an account that
//! learners share. A resource belongs to a session when it carries the tag
//! `sandbox-key=<key>` or, for types whose name is their identity, its name
//! starts with `<key>-` (DESIGN §7). Finding and deleting is the reset
//! engine's (`sandbox_reset`, session mode): every registered type is
//! listed in every configured region at once, deleted by its own
//! dependency edges with `cleanup.max_parallel` in flight, transient
//! errors retried. Anything found that the broker does not delete is
//! reported as `left`, never hidden.

mod worker;

pub use worker::CleanNow;

use sandbox_reset::engine::{self, Found, Mode, Options, Outcome, Scan};
use std::sync::Arc;

use super::accounts::Accounts;
use super::context::Context;
use super::engine::{engine_options, report_of};
use crate::aws::ledger::CleanupReport;
use crate::clock::unix_seconds;
use crate::error::ApiError;

/// The cleanup engine and worker of one replica.
pub struct Cleanup {
    ctx: Arc<Context>,
    /// Names this replica's claims in the ledger.
    owner: String,
    /// The account pool: account sessions end in their account's reset.
    accounts: Arc<Accounts>,
}

/// Whether an error is worth another try: throttling, a resource in a
/// transitional state, a timeout or an unreachable endpoint.
fn transient(err: &crate::aws::UpstreamError) -> bool {
    use crate::aws::UpstreamErrorKind as Kind;
    matches!(err.kind, Kind::Throttled | Kind::Conflict | Kind::Timeout | Kind::Unavailable | Kind::RateLimited)
}

impl Cleanup {
    /// The engine over the shared context; `owner` is this replica's id.
    pub fn new(ctx: Arc<Context>, owner: impl Into<String>) -> Self {
        let owner = owner.into();
        Self { accounts: Arc::new(Accounts::new(ctx.clone(), owner.clone())), ctx, owner }
    }

    /// The account pool service this worker resets accounts through.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    fn options(&self) -> Options {
        engine_options(&self.ctx.settings)
    }

    /// Everything `key`'s session created, in every configured region
    /// (global types once), with the listings that failed; `priced`: read
    /// what an estimate of it needs too (a preview).
    pub async fn discover(&self, key: &str, priced: bool) -> Result<Found, ApiError> {
        let settings = &self.ctx.settings;
        let regions = settings.cleanup.regions_or(&settings.aws.region).iter().map(ToString::to_string).collect();
        let scan = Scan { regions, account: self.ctx.identity().await?.account };
        let mode = Mode::Session { key: key.to_owned() };
        let (backend, options) = (self.ctx.upstreams.resources.as_ref(), &self.options());
        Ok(if priced {
            engine::discover_priced(backend, &scan, &mode, options).await
        } else {
            engine::discover(backend, &scan, &mode, options).await
        })
    }

    /// Deletes what was found (unless `dry_run`) and reports it.
    pub async fn remove(&self, found: Found, dry_run: bool) -> CleanupReport {
        let started = unix_seconds(self.ctx.clock.now());
        let backend = self.ctx.upstreams.resources.as_ref();
        let report = engine::remove(backend, found, &self.options(), dry_run).await;
        if !dry_run {
            let count = |outcomes: &[Outcome], what: &'static str| {
                for o in outcomes {
                    crate::telemetry::metrics::cleanup_resource(&o.kind, what);
                }
            };
            count(&report.deleted, "deleted");
            count(&report.failed, "failed");
            count(&report.left, "left");
        }
        CleanupReport {
            started_at: Some(started),
            finished_at: Some(unix_seconds(self.ctx.clock.now())),
            ..report_of(report, dry_run)
        }
    }
}
