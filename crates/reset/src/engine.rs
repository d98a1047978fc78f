//! The engine: finds resources through the registry ([`discover`]) and
//! deletes them in dependency order, in parallel ([`remove`]). It never
//! names a resource type: everything type-specific is in a registration.

mod discover;
mod graph;
mod marks;
mod reset;
mod select;

pub use discover::{Inventory, MANAGED_BY, Reads, SESSION_TAG, discover, discover_priced, inventory};
pub use graph::remove;
pub use reset::{ResetOutcome, ResetPlan, reset_account};

use std::time::Duration;

use crate::registry::Resource;

/// What a run looks for.
#[derive(Debug, Clone)]
pub enum Mode {
    /// A shared account: only what carries the session's `sandbox-key` tag
    /// or `<key>-` name prefix (or belongs to something that does).
    Session {
        /// The session's sandbox key.
        key: String,
    },
    /// A pool account: every resource no rule protects.
    Account {
        /// ARNs never deleted (the pool's access role).
        keep: Vec<String>,
    },
}

/// Where a run looks.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The regions; global types are listed once, from the first.
    pub regions: Vec<String>,
    /// The account's id.
    pub account: String,
}

/// How a run deletes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Deletes (and listing calls) in flight at once.
    pub max_parallel: usize,
    /// How long one resource may take: retries of a delete AWS refuses
    /// for now (a dependency still draining), and the wait for an
    /// asynchronous delete to finish.
    pub resource_deadline: Duration,
    /// Retries of a throttled or timed-out call before it counts as failed.
    pub retries: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { max_parallel: 16, resource_deadline: Duration::from_secs(1_800), retries: 4 }
    }
}

/// One resource in a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Outcome {
    /// Its ARN (for a failed listing: the type's ARN pattern in a region).
    pub arn: String,
    /// Its type label (`service:resource`).
    pub kind: String,
    /// Why it failed.
    pub error: Option<String>,
    /// Why it was left.
    pub reason: Option<String>,
    /// A scheduled delete's date (Unix seconds).
    pub scheduled_for: Option<i64>,
}

impl Outcome {
    fn of(resource: &Resource) -> Self {
        Self {
            arn: resource.arn.clone(),
            kind: resource.kind.to_owned(),
            error: None,
            reason: None,
            scheduled_for: None,
        }
    }
}

/// What discovery found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// To delete.
    pub resources: Vec<Resource>,
    /// Seen (by the tagging API) but of no registered type.
    pub left: Vec<Outcome>,
    /// Listings that failed after retries: that type in that region is
    /// unknown, so the run cannot say it is clean.
    pub failed: Vec<Outcome>,
    /// How many found resources a protection rule kept (account reset).
    pub kept: usize,
}

/// When a resource's delete started and ended, relative to the run's
/// start, and what it waited for: the engine's call record.
#[derive(Debug, Clone)]
pub struct Step {
    /// The resource.
    pub arn: String,
    /// Delete call sent.
    pub started: Duration,
    /// Gone (after any asynchronous wait) or failed.
    pub finished: Duration,
    /// The resources that had to go first.
    pub after: Vec<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Deleted (in a dry run: would be).
    pub deleted: Vec<Outcome>,
    /// Failed after retries, or never reached (a dependency failed).
    pub failed: Vec<Outcome>,
    /// Found and not deleted: an unknown type.
    pub left: Vec<Outcome>,
    /// Kept by a protection rule.
    pub kept: usize,
    /// The call record, in the order deletes finished.
    pub steps: Vec<Step>,
}

impl Report {
    /// Nothing failed and nothing was left.
    pub fn clean(&self) -> bool {
        self.failed.is_empty() && self.left.is_empty()
    }

    /// The longest chain of dependent deletes and waits in the record: the
    /// least time any order could take, however parallel.
    pub fn critical_path(&self) -> Duration {
        let mut longest: std::collections::HashMap<&str, Duration> = std::collections::HashMap::new();
        let mut total = Duration::ZERO;
        // Steps are in finishing order, so each one's predecessors are in.
        for step in &self.steps {
            let own = step.finished.saturating_sub(step.started);
            let before = step.after.iter().filter_map(|a| longest.get(a.as_str())).max().copied().unwrap_or_default();
            longest.insert(&step.arn, before + own);
            total = total.max(before + own);
        }
        total
    }
}
