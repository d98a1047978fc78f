//! Session revocation. STS credentials cannot be recalled, but an explicit
//! Deny on the role for `aws:userid` like `*:<role session name>` (STS
//! reports `<RoleId>:<name>`) makes every credential of that session fail
//! within minutes (IAM propagation), whatever the role's current RoleId.
//!
//! IAM has no conditional writes: two writers doing read-modify-write on one
//! policy document can silently drop each other's entries, and a check
//! afterwards still races. So no two writers ever rewrite the same document:
//! each replica owns the inline policy `sandbox-broker-revocations-<replica>`
//! and writes only that one, and within a replica the writes to a role are
//! group-committed by one writer at a time (`commit`). Readers take the
//! union of all replicas' policies. Each write prunes groups no credential
//! can outlive.

mod commit;
pub mod doc;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::future::Cache;
use serde::Serialize;

use self::commit::{Entry, RoleQueue, Writer};
use self::doc::{ForeignDenial, RevocationDoc};
use crate::aws::{Iam, RoleInfo};
use crate::domain::RoleSessionName;
use crate::domain::policy::{INLINE_POLICY_BUDGET, minify};
use crate::error::ApiError;

/// Every replica's revocation policy is named `<prefix>-<replica id>`.
pub const REVOCATION_POLICY_PREFIX: &str = "sandbox-broker-revocations";

/// Whether an inline policy is one of the broker's revocation policies.
pub fn is_revocation_policy(name: &str) -> bool {
    name.starts_with(REVOCATION_POLICY_PREFIX)
}

/// How long a replica trusts its cached view of the revocation policies for
/// refusing revoked session ids (its own writes invalidate it at once).
const REVOCATION_CACHE: Duration = Duration::from_secs(5);

/// This replica's revocation policy: its name, per-role write queues, and a
/// short cache of what all replicas' policies deny.
pub struct Revocations {
    policy_name: String,
    queues: Mutex<HashMap<String, Arc<RoleQueue>>>,
    cache: Cache<String, Arc<Denials>>,
}

/// Everything the revocation policies of one role deny, across replicas.
#[derive(Debug, Default)]
pub struct Denials {
    session_names: HashSet<String>,
    /// Denies written by hand: honoured, so a hand edit never fails open.
    foreign: Vec<ForeignDenial>,
}

impl Denials {
    /// Whether the role session `session_name` of `role` is denied.
    pub fn deny(&self, role: &RoleInfo, session_name: &RoleSessionName) -> bool {
        self.session_names.contains(session_name.as_str())
            || self.foreign.iter().any(|d| d.denies(&format!("{}:{session_name}", role.role_id)))
    }
}

/// What a revocation found or wrote, with its time in Unix seconds.
#[derive(Debug)]
pub enum Recorded {
    /// Some replica already holds the entry, in the group of this time.
    Already(u64),
    /// Added now, at this time.
    Added(u64),
}

/// Revocation capacity of one role, in IAM's inline-policy characters.
#[derive(Debug, Serialize)]
pub struct Capacity {
    /// Revoked session names across the revocation policies.
    pub entries: usize,
    /// How many revocation policies (replicas) the role carries.
    pub policies: usize,
    /// Statements in the revocation policies that the broker did not write.
    pub foreign_statements: usize,
    /// Characters used by all inline policies of the role.
    pub used_chars: usize,
    /// IAM's limit across a role's inline policies.
    pub capacity_chars: usize,
    /// What is left for revocations.
    pub remaining_chars: usize,
}

/// Every inline policy of a role: (name, minified document).
async fn inline_policies(iam: &dyn Iam, role: &str) -> Result<Vec<(String, String)>, ApiError> {
    let names = iam.list_inline_policies(role).await?;
    fetch_minified(iam, role, names).await
}

/// The named inline policies of a role, minified; one that vanished since it
/// was listed is skipped.
async fn fetch_minified(iam: &dyn Iam, role: &str, names: Vec<String>) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for name in names {
        if let Some(doc) = iam.get_inline_policy(role, &name).await? {
            out.push((name, minified(doc)));
        }
    }
    Ok(out)
}

/// The length IAM counts against the inline-policy budget.
fn minified(doc: String) -> String {
    minify(&doc).unwrap_or(doc)
}

fn revocation_docs(policies: &[(String, String)]) -> Vec<(String, RevocationDoc)> {
    policies
        .iter()
        .filter(|(name, _)| is_revocation_policy(name))
        .filter_map(|(name, doc)| RevocationDoc::parse(doc).ok().map(|d| (name.clone(), d)))
        .collect()
}

impl Revocations {
    /// The revocation state of replica `replica_id`.
    pub fn new(replica_id: &str) -> Self {
        Self {
            policy_name: format!("{REVOCATION_POLICY_PREFIX}-{replica_id}"),
            queues: Mutex::new(HashMap::new()),
            cache: Cache::builder().max_capacity(1_024).time_to_live(REVOCATION_CACHE).build(),
        }
    }

    /// Forgets the cached view of a role's policies.
    pub async fn invalidate(&self, role: &str) {
        self.cache.invalidate(role).await;
    }

    fn queue_for(&self, role: &str) -> Arc<RoleQueue> {
        let mut queues = self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        queues.entry(role.to_owned()).or_default().clone()
    }

    /// Everything the revocation policies of a role deny, across replicas
    /// (cached briefly).
    pub async fn denials(&self, iam: &dyn Iam, role_name: &str) -> Result<Arc<Denials>, ApiError> {
        let load = async {
            let mut denials = Denials::default();
            for (_, doc) in revocation_docs(&inline_policies(iam, role_name).await?) {
                denials.session_names.extend(doc.session_names().cloned());
                denials.foreign.extend(doc.foreign_denials());
            }
            Ok::<_, ApiError>(Arc::new(denials))
        };
        self.cache.try_get_with(role_name.to_owned(), load).await.map_err(|shared| (*shared).clone())
    }

    /// Writes `entry` (a role session name) into this replica's revocation
    /// policy of the role at time `now`, together with the entries other
    /// callers revoke on that role meanwhile (group commit, see `commit`),
    /// pruning stale groups and keeping statements it did not write;
    /// nothing is written when some replica already holds it. Answers once
    /// the entry is in IAM; 507 when IAM's size limit leaves no room, and
    /// an IAM `NotFound` when the role does not exist.
    pub async fn add(&self, iam: Arc<dyn Iam>, role_name: &str, entry: &str, now: u64) -> Result<Recorded, ApiError> {
        self.submit(iam, role_name, Entry::Revoke(entry.to_owned()), now).await
    }

    /// Denies the role session name's credentials issued until the write
    /// (a frozen session), the same way as [`Self::add`]; unfreezing needs
    /// no write, since credentials issued later pass.
    pub async fn freeze(
        &self,
        iam: Arc<dyn Iam>,
        role_name: &str,
        entry: &str,
        now: u64,
    ) -> Result<Recorded, ApiError> {
        self.submit(iam, role_name, Entry::Freeze(entry.to_owned()), now).await
    }

    async fn submit(&self, iam: Arc<dyn Iam>, role_name: &str, entry: Entry, now: u64) -> Result<Recorded, ApiError> {
        let writer = Writer {
            iam,
            role_name: role_name.to_owned(),
            policy_name: self.policy_name.clone(),
            cache: self.cache.clone(),
            queue: self.queue_for(role_name),
        };
        commit::submit(writer, entry, now).await
    }
}

/// Used and remaining inline-policy characters of a role whose other
/// inline policies were just read (`others`: name → document), so only its
/// revocation policies (`names`) are fetched.
pub async fn capacity(
    iam: &dyn Iam,
    role_name: &str,
    others: &BTreeMap<String, String>,
    names: Vec<String>,
) -> Result<Capacity, ApiError> {
    let mut policies = fetch_minified(iam, role_name, names).await?;
    policies.extend(others.iter().map(|(name, doc)| (name.clone(), minified(doc.clone()))));
    let docs = revocation_docs(&policies);
    let used: usize = policies.iter().map(|(_, d)| d.len()).sum();
    Ok(Capacity {
        entries: docs.iter().map(|(_, d)| d.len()).sum(),
        policies: docs.len(),
        foreign_statements: docs.iter().map(|(_, d)| d.foreign_statements()).sum(),
        used_chars: used,
        capacity_chars: INLINE_POLICY_BUDGET,
        remaining_chars: INLINE_POLICY_BUDGET.saturating_sub(used),
    })
}
