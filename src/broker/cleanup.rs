//! Cleanup: deleting exactly what one learner created in an account that
//! learners share. A resource belongs to a session when it carries the tag
//! `sandbox-key=<key>` or, for types whose name is their identity, its name
//! starts with `<key>-` (DESIGN §7). Discovery runs in every configured
//! region at once; deletion runs with bounded parallelism, retries
//! transient errors with backoff, and respects dependencies: volumes and
//! security groups go once the instances are terminated. Anything found
//! that the broker does not delete is reported as `left`, never hidden.

mod worker;

pub use worker::CleanNow;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use super::context::Context;
use crate::aws::ledger::{CleanupReport, ResourceOutcome};
use crate::aws::resources::{Found, Kind, classify};
use crate::aws::{UpstreamError, UpstreamErrorKind};
use crate::clock::unix_seconds;
use crate::error::ApiError;

/// Waits before retrying a delete that met a transient error.
const BACKOFF: [Duration; 4] =
    [Duration::from_millis(250), Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(2)];

/// The cleanup engine and worker of one replica.
pub struct Cleanup {
    ctx: Arc<Context>,
    /// Names this replica's claims in the ledger.
    owner: String,
}

/// What became of one resource.
enum Outcome {
    Deleted,
    /// Gone before the broker got to it (deleted by the learner meanwhile).
    Gone,
    Failed(String),
}

/// Whether an error is worth another try: throttling, a resource in a
/// transitional state, a timeout or an unreachable endpoint.
fn transient(err: &UpstreamError) -> bool {
    matches!(
        err.kind,
        UpstreamErrorKind::Throttled
            | UpstreamErrorKind::Conflict
            | UpstreamErrorKind::Timeout
            | UpstreamErrorKind::Unavailable
            | UpstreamErrorKind::RateLimited
    )
}

/// The report's identity of an ARN: the tagging API names a log group
/// `…:log-group:NAME`, DescribeLogGroups `…:log-group:NAME:*`.
fn canonical(arn: &str) -> String {
    arn.trim_end_matches(":*").to_owned()
}

fn outcome(found: &Found, error: Option<String>, reason: Option<String>) -> ResourceOutcome {
    let kind = if found.kind == Kind::Unsupported { found.detail.clone() } else { found.kind.label().to_owned() };
    ResourceOutcome { arn: canonical(&found.arn), kind, error, reason }
}

impl Cleanup {
    /// The engine over the shared context; `owner` is this replica's id.
    pub fn new(ctx: Arc<Context>, owner: impl Into<String>) -> Self {
        Self { ctx, owner: owner.into() }
    }

    /// Everything `key`'s session created, in every configured region, by
    /// tag and by name prefix; one entry per resource.
    pub async fn discover(&self, key: &str) -> Result<Vec<Found>, ApiError> {
        let settings = &self.ctx.settings;
        let regions = settings.cleanup.regions_or(&settings.aws.region);
        let resources = &self.ctx.upstreams.resources;
        let account = self.ctx.identity().await?.account;
        let prefix = format!("{key}-");
        let per_region = regions.iter().map(|region| async {
            let region = region.as_str();
            let (tagged, named) =
                tokio::try_join!(resources.tagged(region, key), resources.named(region, &account, &prefix))?;
            Ok::<_, ApiError>((tagged, named))
        });
        let mut found: BTreeMap<String, Found> = BTreeMap::new();
        for result in futures_util::future::join_all(per_region).await {
            let (tagged, named) = result?;
            // Named entries carry the id their delete needs directly (a
            // queue URL); tagged ones are classified from the ARN.
            for f in named {
                found.entry(canonical(&f.arn)).or_insert(f);
            }
            for arn in tagged {
                found.entry(canonical(&arn)).or_insert_with(|| classify(&arn));
            }
        }
        Ok(found.into_values().collect())
    }

    /// Deletes one resource, retrying transient errors with backoff.
    async fn delete_one(&self, found: &Found) -> Outcome {
        let resources = &self.ctx.upstreams.resources;
        let mut waits = BACKOFF.iter();
        loop {
            match resources.delete(found).await {
                Ok(()) => return Outcome::Deleted,
                Err(e) if e.kind == UpstreamErrorKind::NotFound => return Outcome::Gone,
                Err(e) if transient(&e) => match waits.next() {
                    Some(wait) => tokio::time::sleep(*wait).await,
                    None => return Outcome::Failed(e.to_string()),
                },
                Err(e) => return Outcome::Failed(e.to_string()),
            }
        }
    }

    /// Deletes `items` with at most `cleanup.max_parallel` in flight.
    async fn delete_all(&self, items: Vec<Found>) -> Vec<(Found, Outcome)> {
        let parallel = self.ctx.settings.cleanup.max_parallel.max(1);
        stream::iter(items)
            .map(|found| async move {
                let result = self.delete_one(&found).await;
                (found, result)
            })
            .buffer_unordered(parallel)
            .collect()
            .await
    }

    /// Instances are terminated and waited for; then what depended on them.
    async fn delete_instances_then_dependents(
        &self,
        instances: Vec<Found>,
        dependents: Vec<Found>,
    ) -> Vec<(Found, Outcome)> {
        let mut results = self.delete_all(instances).await;
        let mut by_region: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (found, result) in &results {
            if matches!(result, Outcome::Deleted) {
                by_region.entry(found.region.clone()).or_default().push(found.id.clone());
            }
        }
        for (region, ids) in by_region {
            if let Err(err) = self.ctx.upstreams.resources.wait_terminated(&region, &ids).await {
                for (found, result) in results.iter_mut() {
                    if found.region == region && matches!(result, Outcome::Deleted) {
                        *result = Outcome::Failed(format!("terminated but not gone: {err}"));
                    }
                }
            }
        }
        results.extend(self.delete_all(dependents).await);
        results
    }

    /// Deletes what was found (unless `dry_run`) and reports it.
    pub async fn remove(&self, found: Vec<Found>, dry_run: bool) -> CleanupReport {
        let started = unix_seconds(self.ctx.clock.now());
        let mut report = CleanupReport { started_at: Some(started), dry_run, ..CleanupReport::default() };
        let (unsupported, supported): (Vec<_>, Vec<_>) = found.into_iter().partition(|f| f.kind == Kind::Unsupported);
        // Counted from the found resource's kind, whose label is static.
        let count = |found: &Found, what: &'static str| {
            if !dry_run {
                crate::telemetry::metrics::cleanup_resource(found.kind.label(), what);
            }
        };
        for f in &unsupported {
            let reason = format!("{} is not a type the broker deletes; delete it by hand", f.detail);
            report.left.push(outcome(f, None, Some(reason)));
            count(f, "left");
        }
        if dry_run {
            report.deleted = supported.iter().map(|f| outcome(f, None, None)).collect();
        } else {
            let (instances, rest): (Vec<_>, Vec<_>) = supported.into_iter().partition(|f| f.kind == Kind::Instance);
            let (dependents, independent): (Vec<_>, Vec<_>) = rest.into_iter().partition(|f| f.kind.after_instances());
            let (a, b) = tokio::join!(
                self.delete_all(independent),
                self.delete_instances_then_dependents(instances, dependents)
            );
            for (found, result) in a.into_iter().chain(b) {
                match result {
                    Outcome::Deleted => {
                        report.deleted.push(outcome(&found, None, None));
                        count(&found, "deleted");
                    }
                    Outcome::Gone => tracing::debug!(arn = %found.arn, "gone before cleanup reached it"),
                    Outcome::Failed(error) => {
                        report.failed.push(outcome(&found, Some(error), None));
                        count(&found, "failed");
                    }
                }
            }
        }
        report.deleted.sort_by(|a, b| a.arn.cmp(&b.arn));
        report.finished_at = Some(unix_seconds(self.ctx.clock.now()));
        report
    }
}
