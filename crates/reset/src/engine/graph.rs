//! Removal: the found resources form a graph by their own `before` (and
//! `after`) edges
//! (a subnet before its VPC, never before every VPC). Each resource is
//! deleted as soon as everything that must go first is gone, with at most
//! `max_parallel` calls in flight; an asynchronous delete is polled until
//! AWS says it is gone, within the resource's deadline. A failure fails
//! exactly the resources waiting on it; a cycle fails its members; the
//! rest still goes, and nothing waits forever.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Semaphore;

use super::{Found, Options, Outcome, Report, Step};
use crate::clients::Backend;
use crate::registry::{self, Deleted, Registration, Resource};
use crate::retry::{FIRST_WAIT, next, transient};
use crate::upstream::UpstreamErrorKind;

/// How one resource ended.
enum End {
    Deleted(Option<i64>),
    /// Already gone when its delete was sent (the learner deleted it).
    Gone,
    Failed(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Finished,
}

/// Deletes what `found` holds (in a dry run, only reports it).
pub async fn remove(backend: &dyn Backend, found: Found, options: &Options, dry_run: bool) -> Report {
    let mut report = Report { left: found.left, failed: found.failed, kept: found.kept, ..Report::default() };
    let resources = found.resources;
    if dry_run {
        report.deleted = resources.iter().map(Outcome::of).collect();
        return report;
    }
    let index: HashMap<&str, usize> = resources.iter().enumerate().map(|(i, r)| (r.arn.as_str(), i)).collect();
    // first[i]: what must go before i; then[j]: what waits for j.
    let mut first: Vec<Vec<usize>> = vec![Vec::new(); resources.len()];
    let mut then: Vec<Vec<usize>> = vec![Vec::new(); resources.len()];
    let mut edge = |earlier: usize, later: usize| {
        if earlier != later && !first[later].contains(&earlier) {
            first[later].push(earlier);
            then[earlier].push(later);
        }
    };
    for (j, r) in resources.iter().enumerate() {
        for i in r.before.iter().filter_map(|arn| index.get(arn.as_str())).copied() {
            edge(j, i);
        }
        for i in r.after.iter().filter_map(|arn| index.get(arn.as_str())).copied() {
            edge(i, j);
        }
    }
    let mut pending: Vec<usize> = first.iter().map(Vec::len).collect();
    let mut state = vec![State::Waiting; resources.len()];
    let permits = Arc::new(Semaphore::new(options.max_parallel.max(1)));
    let started = Instant::now();
    let mut running = FuturesUnordered::new();
    let start = |i: usize, state: &mut Vec<State>, running: &mut FuturesUnordered<_>| {
        state[i] = State::Running;
        let resource = &resources[i];
        let permits = permits.clone();
        running.push(async move {
            let begun = started.elapsed();
            let end = match registry::find(resource.kind) {
                Some(kind) => delete_one(backend, kind, resource, options, &permits).await,
                None => End::Failed(format!("{} is not a registered type", resource.kind)),
            };
            (i, begun, started.elapsed(), end)
        });
    };
    for (i, _) in pending.iter().enumerate().filter(|(_, waits)| **waits == 0) {
        start(i, &mut state, &mut running);
    }
    while let Some((i, begun, finished, end)) = running.next().await {
        state[i] = State::Finished;
        let resource = &resources[i];
        let after = first[i].iter().map(|j| resources[*j].arn.clone()).collect();
        report.steps.push(Step { arn: resource.arn.clone(), started: begun, finished, after });
        match end {
            End::Deleted(scheduled_for) => report.deleted.push(Outcome { scheduled_for, ..Outcome::of(resource) }),
            End::Gone => tracing::debug!(arn = %resource.arn, "gone before the engine reached it"),
            End::Failed(error) => {
                report.failed.push(Outcome { error: Some(error), ..Outcome::of(resource) });
                fail_waiting(&resources, &then, i, &mut state, &mut report);
                continue;
            }
        }
        for &d in &then[i] {
            pending[d] -= 1;
            if pending[d] == 0 && state[d] == State::Waiting {
                start(d, &mut state, &mut running);
            }
        }
    }
    // Whatever still waits is in a cycle (or waits on one).
    for (i, r) in resources.iter().enumerate().filter(|(i, _)| state[*i] == State::Waiting) {
        let blockers: Vec<&str> =
            first[i].iter().filter(|j| state[**j] != State::Finished).map(|j| resources[*j].arn.as_str()).collect();
        let error = format!("dependency cycle: waits for {}", blockers.join(", "));
        report.failed.push(Outcome { error: Some(error), ..Outcome::of(r) });
    }
    report.deleted.sort();
    report.failed.sort();
    report
}

/// Fails everything that (transitively) waits for `i`, which failed.
fn fail_waiting(resources: &[Resource], then: &[Vec<usize>], i: usize, state: &mut [State], report: &mut Report) {
    let mut stack = vec![i];
    while let Some(j) = stack.pop() {
        for &d in &then[j] {
            if state[d] == State::Waiting {
                state[d] = State::Finished;
                let error = format!("not attempted: {} must go first and was not deleted", resources[j].arn);
                report.failed.push(Outcome { error: Some(error), ..Outcome::of(&resources[d]) });
                stack.push(d);
            }
        }
    }
}

/// Deletes one resource: a refusal for now (a dependency still draining,
/// protection being lifted) or throttling is retried until the deadline, a
/// timed-out or unreachable call `options.retries` times; then, for an asynchronous type,
/// polls until it is gone.
async fn delete_one(
    backend: &dyn Backend,
    kind: &'static Registration,
    resource: &Resource,
    options: &Options,
    permits: &Semaphore,
) -> End {
    let deadline = Instant::now() + options.resource_deadline;
    let mut wait = FIRST_WAIT;
    let mut retries = options.retries;
    let deleted = loop {
        let result = {
            let _permit = permits.acquire().await;
            backend.delete(kind, resource).await
        };
        match result {
            Ok(deleted) => break deleted,
            Err(e) if e.kind == UpstreamErrorKind::NotFound => return End::Gone,
            // A refusal for now, or throttling (API Gateway allows one
            // DeleteRestApi per 30 s per account), lasts as long as it lasts.
            Err(e)
                if matches!(e.kind, UpstreamErrorKind::Conflict | UpstreamErrorKind::Throttled)
                    && Instant::now() + wait < deadline => {}
            Err(e) if transient(&e) && retries > 0 => retries -= 1,
            Err(e) => return End::Failed(e.to_string()),
        }
        tokio::time::sleep(wait).await;
        wait = next(wait);
    };
    let scheduled_for = match deleted {
        Deleted::Now => None,
        Deleted::ScheduledFor(at) => return End::Deleted(Some(at)),
    };
    if kind.gone.is_none() {
        return End::Deleted(scheduled_for);
    }
    let mut wait = FIRST_WAIT;
    loop {
        let result = {
            let _permit = permits.acquire().await;
            backend.gone(kind, resource).await
        };
        match result {
            Ok(true) => return End::Deleted(None),
            Err(e) if e.kind == UpstreamErrorKind::NotFound => return End::Deleted(None),
            Err(e) if !transient(&e) => return End::Failed(format!("deleted, but could not tell it is gone: {e}")),
            _ if Instant::now() + wait >= deadline => {
                let waited = options.resource_deadline.as_secs();
                return End::Failed(format!("deleted, but still there after {waited} s"));
            }
            _ => {}
        }
        tokio::time::sleep(wait).await;
        wait = next(wait).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
