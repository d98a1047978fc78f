//! How the broker drives the reset engine (`sandbox_reset`) for both of
//! its uses, session cleanup and a pool account's reset: the engine's
//! options from `[cleanup]`, and its outcomes as the ledger's and the pool
//! table's reports hold them.

use std::time::{Duration, SystemTime};

use sandbox_reset::engine::{Options, Outcome, Report};

use crate::aws::ledger::{CleanupReport, ResourceOutcome};
use crate::clock::rfc3339;

/// A resource's outcome as the ledger and pool reports hold it.
pub(crate) fn outcome(o: Outcome) -> ResourceOutcome {
    let scheduled_for = o
        .scheduled_for
        .and_then(|at| u64::try_from(at).ok())
        .map(|at| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(at)));
    ResourceOutcome { arn: o.arn, kind: o.kind, error: o.error, reason: o.reason, scheduled_for }
}

/// The engine's options from `[cleanup]`. A resource may take as long as
/// a claim lasts (it is renewed while the attempt runs); what is still
/// going then is retried by the next attempt, which finds it in its new state.
pub(crate) fn engine_options(settings: &crate::config::Settings) -> Options {
    let cleanup = &settings.cleanup;
    Options {
        max_parallel: cleanup.max_parallel.max(1),
        resource_deadline: Duration::from_secs(cleanup.claim_seconds),
        ..Options::default()
    }
}

/// The engine's report as a ledger or pool report (times set by the caller).
pub(crate) fn report_of(report: Report, dry_run: bool) -> CleanupReport {
    CleanupReport {
        dry_run,
        deleted: report.deleted.into_iter().map(outcome).collect(),
        failed: report.failed.into_iter().map(outcome).collect(),
        left: report.left.into_iter().map(outcome).collect(),
        ..CleanupReport::default()
    }
}
