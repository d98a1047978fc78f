//! Session revocation. STS credentials cannot be recalled, but an explicit
//! Deny on the role for `aws:userid` like `*:<role session name>` (STS
//! reports `<RoleId>:<name>`) makes every credential of that session fail
//! within minutes (IAM propagation), whatever the role's current RoleId.
//!
//! IAM has no conditional writes: two writers doing read-modify-write on one
//! policy document can silently drop each other's entries, and a check
//! afterwards still races. So no two writers ever rewrite the same document:
//! each replica owns the inline policy `sandbox-broker-revocations-<replica>`
//! and writes only that one, and within a replica writes to a role are
//! serialised by a per-role lock. Readers take the union of all replicas'
//! policies. Each write prunes groups no credential can outlive.

pub mod doc;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use self::doc::{ForeignDenial, RevocationDoc};
use super::Broker;
use super::TtlCache;
use super::provision::apply_with_retry;
use super::provision::desired::REVOCATION_POLICY_PREFIX;
use super::provision::plan::Step;
use crate::aws::{Iam, RoleInfo};
use crate::clock::unix_seconds;
use crate::domain::policy::{INLINE_POLICY_BUDGET, minify};
use crate::domain::{RoleSessionName, SessionId};
use crate::error::ApiError;

/// How long a replica trusts its cached view of the revocation policies for
/// refusing revoked session ids (its own writes invalidate it at once).
const REVOCATION_CACHE: Duration = Duration::from_secs(5);

pub struct Revocations {
    policy_name: String,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    cache: TtlCache<Arc<Denials>>,
}

/// Everything the revocation policies of one role deny, across replicas.
#[derive(Default)]
struct Denials {
    session_names: HashSet<String>,
    /// Denies written by hand: honoured, so a hand edit never fails open.
    foreign: Vec<ForeignDenial>,
}

impl Denials {
    fn deny(&self, role: &RoleInfo, session_name: &RoleSessionName) -> bool {
        self.session_names.contains(session_name.as_str())
            || self.foreign.iter().any(|d| d.denies(&format!("{}:{session_name}", role.role_id)))
    }
}

impl Revocations {
    pub fn new(replica_id: &str) -> Self {
        Self {
            policy_name: format!("{REVOCATION_POLICY_PREFIX}-{replica_id}"),
            locks: Mutex::new(HashMap::new()),
            cache: TtlCache::new(REVOCATION_CACHE),
        }
    }

    pub fn invalidate(&self, role: &str) {
        self.cache.invalidate(role);
    }

    fn lock_for(&self, role: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(role.to_owned()).or_default().clone()
    }
}

/// The answer to a revocation.
#[derive(Debug, Serialize)]
pub struct RevocationReceipt {
    pub session_id: String,
    pub profile: String,
    pub revoked_at: String,
    pub effective: &'static str,
}

/// What a revocation found or wrote, with its time in Unix seconds.
enum Recorded {
    /// Some replica already holds the entry, in the group of this time.
    Already(u64),
    /// Added now, at this time.
    Added(u64),
}

/// Revocation capacity of one role, in IAM's inline-policy characters.
#[derive(Debug, Serialize)]
pub struct Capacity {
    pub entries: usize,
    pub policies: usize,
    /// Statements in the revocation policies that the broker did not write.
    pub foreign_statements: usize,
    pub used_chars: usize,
    pub capacity_chars: usize,
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
        .filter(|(name, _)| name.starts_with(REVOCATION_POLICY_PREFIX))
        .filter_map(|(name, doc)| RevocationDoc::parse(doc).ok().map(|d| (name.clone(), d)))
        .collect()
}

impl Broker {
    /// Everything the revocation policies of a role deny, across replicas
    /// (cached briefly).
    async fn denials(&self, role_name: &str) -> Result<Arc<Denials>, ApiError> {
        let iam = self.upstreams.iam.as_ref();
        self.revocations
            .cache
            .get_or_load(role_name, || async {
                let mut denials = Denials::default();
                for (_, doc) in revocation_docs(&inline_policies(iam, role_name).await?) {
                    denials.session_names.extend(doc.session_names().cloned());
                    denials.foreign.extend(doc.foreign_denials());
                }
                Ok::<_, ApiError>(Arc::new(denials))
            })
            .await
    }

    /// `session_revoked` while the session's entry exists.
    pub(crate) async fn ensure_not_revoked(
        &self,
        role_name: &str,
        role: &RoleInfo,
        id: &SessionId,
    ) -> Result<(), ApiError> {
        if self.denials(role_name).await?.deny(role, &RoleSessionName::for_session(id)) {
            return Err(ApiError::SessionRevoked(id.to_string()));
        }
        Ok(())
    }

    /// Adds the session to this replica's revocation policy on the
    /// profile's role. Idempotent; 507 when IAM's size limit leaves no room.
    pub async fn revoke_session(
        &self,
        id: &SessionId,
        profile: &str,
        caller: Option<&str>,
    ) -> Result<RevocationReceipt, ApiError> {
        let settings =
            self.settings.profiles.get(profile).ok_or_else(|| ApiError::UnknownProfile(profile.to_owned()))?;
        let role_name = settings.role_name(profile);
        // Read afresh: the role may have been re-created (by a teardown and
        // bootstrap elsewhere) since this replica cached it.
        self.roles.invalidate(&role_name);
        let role = self.role(profile, &role_name).await?;
        let session_name = RoleSessionName::for_session(id);
        let entry = session_name.as_str();
        let recorded = self
            .add_revocation(&role_name, &role, entry)
            .await
            .map_err(|e| self.role_vanished(profile, &role_name, e))?;
        if let Recorded::Added(_) = recorded {
            tracing::info!(
                target: "sandbox_broker::audit",
                event = "session_revoked",
                session_id = %id,
                profile,
                aws_userid = %format!("*:{entry}"),
                caller = caller.unwrap_or("-"),
            );
            crate::telemetry::metrics::session_event("revoked", profile);
        }
        let (Recorded::Added(seconds) | Recorded::Already(seconds)) = recorded;
        Ok(RevocationReceipt {
            session_id: id.to_string(),
            profile: profile.to_owned(),
            revoked_at: crate::clock::rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)),
            effective: "within minutes",
        })
    }

    /// Writes `entry` (a role session name) into this replica's revocation
    /// policy of the role, pruning stale groups and keeping statements it
    /// did not write; nothing is written when some replica already holds it.
    async fn add_revocation(&self, role_name: &str, role: &RoleInfo, entry: &str) -> Result<Recorded, ApiError> {
        let iam = self.upstreams.iam.as_ref();
        let own = &self.revocations.policy_name;
        let lock = self.revocations.lock_for(role_name);
        let _serialised = lock.lock().await;
        let policies = inline_policies(iam, role_name).await?;
        if let Some(bucket) = revocation_docs(&policies).iter().find_map(|(_, other)| other.bucket_of(entry)) {
            return Ok(Recorded::Already(bucket));
        }
        let mut doc = match policies.iter().find(|(name, _)| name == own) {
            Some((_, text)) => RevocationDoc::parse(text).map_err(ApiError::Internal)?,
            None => RevocationDoc::default(),
        };
        let now = unix_seconds(self.clock.now());
        doc.prune(now, u64::from(role.max_session_seconds));
        doc.add(entry, now);
        let text = doc.to_json().ok_or_else(|| ApiError::Internal("empty revocation document".into()))?;
        let others: usize = policies.iter().filter(|(name, _)| name != own).map(|(_, d)| d.len()).sum();
        if others + text.len() > INLINE_POLICY_BUDGET {
            return Err(ApiError::RevocationCapacityExhausted(role_name.to_owned()));
        }
        // Retried on ConcurrentModification like every IAM write of the broker.
        let write = Step::PutInline { role: role_name.to_owned(), name: own.clone(), document: text };
        apply_with_retry(iam, &write).await?;
        self.revocations.cache.invalidate(role_name);
        Ok(Recorded::Added(now))
    }

    /// Used and remaining inline-policy characters of a role whose other
    /// inline policies were just read (`others`: name → document), so only
    /// its revocation policies (`names`) are fetched.
    pub async fn revocation_capacity(
        &self,
        role_name: &str,
        others: &BTreeMap<String, String>,
        names: Vec<String>,
    ) -> Result<Capacity, ApiError> {
        let mut policies = fetch_minified(self.upstreams.iam.as_ref(), role_name, names).await?;
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
}
