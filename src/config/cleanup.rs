//! `[ledger]` and `[cleanup]`: the session ledger's table and the cleanup
//! worker every replica runs (DESIGN §7).

use serde::Deserialize;

use super::Settings;
use crate::domain::Region;

/// `[ledger]`: the DynamoDB table holding one record per session.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct LedgerSettings {
    /// Table name; bootstrap creates it, teardown removes it.
    pub table: String,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        Self { table: "sandbox-broker-sessions".into() }
    }
}

/// `[cleanup]`: deleting what each learner created once the session ends.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct CleanupSettings {
    /// Whether this replica runs the cleanup worker.
    pub enabled: bool,
    /// Regions searched for a session's resources; default `[aws.region]`.
    pub regions: Vec<Region>,
    /// Wait after a lease ends before cleaning (credentials issued at the
    /// last moment, IAM propagation); a DELETE cleans at once.
    pub grace_seconds: u64,
    /// How often the worker looks for due sessions.
    pub interval_seconds: u64,
    /// Deletions in flight at once, per session.
    pub max_parallel: usize,
    /// How long a replica's claim on a session lasts unless renewed (every
    /// third of it, while the replica cleans); a crashed replica's claim is
    /// taken over after it.
    pub claim_seconds: u64,
    /// Attempts before a session is given up as `cleanup_failed`.
    pub max_attempts: u32,
}

impl Default for CleanupSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            regions: Vec::new(),
            grace_seconds: 300,
            interval_seconds: 30,
            max_parallel: 16,
            claim_seconds: 300,
            max_attempts: 5,
        }
    }
}

impl CleanupSettings {
    /// The regions to search: the configured ones, else `home`.
    pub fn regions_or(&self, home: &Region) -> Vec<Region> {
        if self.regions.is_empty() { vec![home.clone()] } else { self.regions.clone() }
    }
}

/// DynamoDB's table-name rule, and claims long enough to be renewed in time
/// (every third of them) under a slow ledger.
pub(super) fn problems(s: &Settings) -> Vec<(&'static str, &'static str)> {
    let mut problems = Vec::new();
    let table = &s.ledger.table;
    let valid = (3..=255).contains(&table.len())
        && table.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !valid {
        problems.push(("ledger.table", "DynamoDB table names are 3-255 characters of [A-Za-z0-9_.-]"));
    }
    if s.cleanup.claim_seconds < 5 {
        problems.push(("cleanup.claim_seconds", "must be at least 5"));
    }
    if s.cleanup.max_parallel > 256 {
        problems.push(("cleanup.max_parallel", "must be at most 256"));
    }
    problems
}
