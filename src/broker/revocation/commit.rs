//! Group commit of revocations on one role.
//!
//! Every revocation is a read-modify-write of one IAM policy (GetRole,
//! ListRolePolicies, GetRolePolicy, PutRolePolicy), and IAM has no
//! conditional writes, so within a replica writes to a role must not
//! overlap. Done one caller at a time, fifty learners of one workshop
//! ending together queue fifty writes, and at IAM's latency the tail
//! passes the request timeout. So callers queue their entries instead:
//! while one write is in flight, the entries that arrive wait for the next
//! write, which carries all of them. Each caller is answered only once a
//! write holding its entry has landed (never before it is in IAM), and when
//! a write fails every caller it carried gets the error.
//!
//! The writer runs as a task of its own, not inside a request: a request
//! cut short by its timeout (or a client that hung up) does not cancel a
//! write other callers are waiting for, and the entry still lands, so a
//! retried DELETE finds it there.

use std::sync::{Arc, Mutex, PoisonError};

use moka::future::Cache;
use tokio::sync::oneshot;

use super::doc::RevocationDoc;
use super::{Denials, Recorded, inline_policies, revocation_docs};
use crate::aws::{Iam, UpstreamError, UpstreamErrorKind};
use crate::domain::policy::INLINE_POLICY_BUDGET;
use crate::error::ApiError;
use crate::telemetry::metrics;

/// One caller's entry, waiting for a write.
/// What a write adds for one caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Entry {
    /// Every credential of the role session name, for good.
    Revoke(String),
    /// Its credentials issued until the write (a frozen session).
    Freeze(String),
}

struct Pending {
    entry: Entry,
    now: u64,
    reply: oneshot::Sender<Result<Recorded, ApiError>>,
}

/// The entries waiting for the next write to one role, and whether a
/// writer task is running for it.
#[derive(Default)]
pub(super) struct RoleQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    pending: Vec<Pending>,
    writing: bool,
}

/// What the writer of one role needs, owned, so it can outlive a request.
pub(super) struct Writer {
    pub(super) iam: Arc<dyn Iam>,
    pub(super) role_name: String,
    pub(super) policy_name: String,
    pub(super) cache: Cache<String, Arc<Denials>>,
    pub(super) queue: Arc<RoleQueue>,
}

impl RoleQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Queues `entry` (revoked at `now`) for the writer of `writer.role_name`,
/// starting that writer unless one runs, and waits for the write that
/// carries it.
pub(super) async fn submit(writer: Writer, entry: Entry, now: u64) -> Result<Recorded, ApiError> {
    let (reply, answer) = oneshot::channel();
    // Counted down by the writer as it answers, whether or not the caller
    // still waits.
    metrics::revocations_pending(&writer.role_name, 1.0);
    let start = {
        let mut state = writer.queue.lock();
        state.pending.push(Pending { entry, now, reply });
        !std::mem::replace(&mut state.writing, true)
    };
    if start {
        tokio::spawn(writer.run());
    }
    answer.await.unwrap_or_else(|_| Err(ApiError::Internal("the revocation writer stopped".into())))
}

/// Clears `writing` if the writer task unwinds (a panic): the entries it
/// held are answered with an error when their senders drop, and the next
/// caller starts a new writer. On a normal return the writer has already
/// cleared it under the lock, and a new writer may be running by then.
struct Running<'a>(&'a Writer);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let mut state = self.0.queue.lock();
        if state.writing {
            state.writing = false;
            metrics::revocations_pending(&self.0.role_name, -(state.pending.len() as f64));
            state.pending.clear();
        }
    }
}

impl Writer {
    /// Writes batches until the queue is empty.
    async fn run(self) {
        let _running = Running(&self);
        loop {
            let batch = {
                let mut state = self.queue.lock();
                if state.pending.is_empty() {
                    state.writing = false;
                    return;
                }
                std::mem::take(&mut state.pending)
            };
            let entries: Vec<(&Entry, u64)> = batch.iter().map(|p| (&p.entry, p.now)).collect();
            let results = match self.write(&entries).await {
                Ok(results) => results,
                Err(err) => batch.iter().map(|_| Err(err.clone())).collect(),
            };
            metrics::revocations_pending(&self.role_name, -(batch.len() as f64));
            for (pending, result) in batch.into_iter().zip(results) {
                // A caller that gave up (its request timed out) is not waiting.
                let _ = pending.reply.send(result);
            }
        }
    }

    /// One read-modify-write of this replica's policy carrying `entries`;
    /// one result per entry, in order. Entries that some replica already
    /// holds are `Already`; entries that no longer fit IAM's size limit are
    /// 507 while the others are written.
    async fn write(&self, entries: &[(&Entry, u64)]) -> Result<Vec<Result<Recorded, ApiError>>, ApiError> {
        let iam = self.iam.as_ref();
        // Read afresh for every batch: the role may have been re-created
        // (a teardown and bootstrap elsewhere) since the last one.
        let role = iam.get_role(&self.role_name).await?.ok_or_else(|| {
            UpstreamError::new("iam", "GetRole", UpstreamErrorKind::NotFound, "the role does not exist")
        })?;
        let now = entries.iter().map(|(_, now)| *now).max().unwrap_or_default();
        let own = &self.policy_name;
        let policies = inline_policies(iam, &self.role_name).await?;
        let existing = revocation_docs(&policies);
        let mut doc = match policies.iter().find(|(name, _)| name == own) {
            Some((_, text)) => RevocationDoc::parse(text).map_err(ApiError::Internal)?,
            None => RevocationDoc::default(),
        };
        doc.prune(now, u64::from(role.max_session_seconds));
        let others: usize = policies.iter().filter(|(name, _)| name != own).map(|(_, d)| d.len()).sum();
        let mut results = Vec::with_capacity(entries.len());
        let mut added = 0;
        for (entry, _) in entries {
            let mut grown = doc.clone();
            match entry {
                Entry::Revoke(name) => {
                    let held =
                        existing.iter().find_map(|(_, other)| other.bucket_of(name)).or_else(|| doc.bucket_of(name));
                    if let Some(bucket) = held {
                        results.push(Ok(Recorded::Already(bucket)));
                        continue;
                    }
                    grown.add(name, now);
                }
                // Always written: a freeze is of the credentials issued
                // until now, which an earlier freeze did not cover.
                Entry::Freeze(name) => grown.freeze(name, now),
            }
            let fits = grown.to_json().is_some_and(|text| others + text.len() <= INLINE_POLICY_BUDGET);
            if fits {
                doc = grown;
                added += 1;
                results.push(Ok(Recorded::Added(now)));
            } else {
                results.push(Err(ApiError::RevocationCapacityExhausted(self.role_name.clone())));
            }
        }
        if added > 0 {
            let text = doc.to_json().ok_or_else(|| ApiError::Internal("empty revocation document".into()))?;
            iam.put_inline_policy(&self.role_name, own, &text).await?;
            metrics::revocation_write(&self.role_name, added);
            self.cache.invalidate(&self.role_name).await;
        }
        Ok(results)
    }
}

#[cfg(test)]
#[path = "commit_tests.rs"]
mod tests;
