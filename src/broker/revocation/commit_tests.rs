//! The group commit against an in-memory IAM that records how many policy
//! writes overlap: however callers arrive, one role is never written by two
//! writers at once, every entry lands, and writes are shared.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::super::{Recorded, Revocations};
use crate::aws::{Iam, ManagedPolicy, RoleDetails, RoleInfo, UpstreamError, UpstreamErrorKind};

#[derive(Default)]
struct MemoryIam {
    policies: Mutex<HashMap<String, String>>,
    writing: AtomicUsize,
    most_at_once: AtomicUsize,
    writes: AtomicUsize,
    /// Makes every PutRolePolicy fail (the role vanished meanwhile).
    failing: std::sync::atomic::AtomicBool,
}

fn unused<T>() -> Result<T, UpstreamError> {
    Err(UpstreamError::new("iam", "unused", UpstreamErrorKind::Other, "not used by revocations"))
}

#[async_trait]
impl Iam for MemoryIam {
    async fn get_role(&self, role_name: &str) -> Result<Option<RoleInfo>, UpstreamError> {
        let arn = format!("arn:aws:iam::123456789012:role/{role_name}");
        Ok(Some(RoleInfo { arn, role_id: "AROATEST".into(), max_session_seconds: 3_600 }))
    }
    async fn list_inline_policies(&self, _: &str) -> Result<Vec<String>, UpstreamError> {
        Ok(self.policies.lock().unwrap().keys().cloned().collect())
    }
    async fn get_inline_policy(&self, _: &str, name: &str) -> Result<Option<String>, UpstreamError> {
        Ok(self.policies.lock().unwrap().get(name).cloned())
    }
    async fn put_inline_policy(&self, _: &str, name: &str, document: &str) -> Result<(), UpstreamError> {
        let now = self.writing.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        // Long enough for other callers to queue behind this write.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        self.writing.fetch_sub(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(UpstreamError::new("iam", "PutRolePolicy", UpstreamErrorKind::NotFound, "no such role"));
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.policies.lock().unwrap().insert(name.to_owned(), document.to_owned());
        Ok(())
    }
    async fn role_details(&self, _: &str) -> Result<Option<RoleDetails>, UpstreamError> {
        unused()
    }
    async fn create_role(
        &self,
        _: &str,
        _: &str,
        _: u32,
        _: &[(String, String)],
        _: Option<&str>,
    ) -> Result<RoleInfo, UpstreamError> {
        unused()
    }
    async fn update_trust_policy(&self, _: &str, _: &str) -> Result<(), UpstreamError> {
        unused()
    }
    async fn update_max_session(&self, _: &str, _: u32) -> Result<(), UpstreamError> {
        unused()
    }
    async fn tag_role(&self, _: &str, _: &[(String, String)]) -> Result<(), UpstreamError> {
        unused()
    }
    async fn set_permissions_boundary(&self, _: &str, _: &str) -> Result<(), UpstreamError> {
        unused()
    }
    async fn delete_inline_policy(&self, _: &str, _: &str) -> Result<(), UpstreamError> {
        unused()
    }
    async fn list_attached_policies(&self, _: &str) -> Result<Vec<String>, UpstreamError> {
        unused()
    }
    async fn attach_policy(&self, _: &str, _: &str) -> Result<(), UpstreamError> {
        unused()
    }
    async fn detach_policy(&self, _: &str, _: &str) -> Result<(), UpstreamError> {
        unused()
    }
    async fn delete_role(&self, _: &str) -> Result<(), UpstreamError> {
        unused()
    }
    async fn managed_policy(&self, _: &str) -> Result<Option<ManagedPolicy>, UpstreamError> {
        unused()
    }
    async fn create_managed_policy(&self, _: &str, _: &str, _: &str) -> Result<(), UpstreamError> {
        unused()
    }
    async fn delete_managed_policy(&self, _: &str) -> Result<(), UpstreamError> {
        unused()
    }
}

/// One caller per name revoking at once on one role; whether each succeeded, in order.
async fn revoke_at_once(revocations: &Arc<Revocations>, iam: &Arc<MemoryIam>, names: &[String]) -> Vec<bool> {
    let tasks: Vec<_> = names
        .iter()
        .map(|name| {
            let (revocations, iam, name) = (revocations.clone(), iam.clone(), name.clone());
            tokio::spawn(async move {
                let iam: Arc<dyn Iam> = iam;
                revocations.add(iam, "role", &name, 1_000_000).await.is_ok()
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_writer_at_a_time_every_entry_lands_and_writes_are_shared() {
    let iam = Arc::new(MemoryIam::default());
    let revocations = Arc::new(Revocations::new("test"));
    let mut all = Vec::new();
    // Waves of callers, so writers start and stop many times while new
    // callers arrive (the moment a writer hands over is where a second
    // writer could slip in).
    for wave in 0..20 {
        let names: Vec<String> = (0..10).map(|i| format!("learner-{wave}-{i}")).collect();
        assert!(revoke_at_once(&revocations, &iam, &names).await.iter().all(|ok| *ok));
        all.extend(names);
    }
    assert_eq!(iam.most_at_once.load(Ordering::SeqCst), 1, "two writers overlapped on one role");
    let policy = iam.policies.lock().unwrap().get("sandbox-broker-revocations-test").cloned().unwrap();
    for name in &all {
        assert!(policy.contains(&format!("\"*:{name}\"")), "{name} lost");
    }
    let writes = iam.writes.load(Ordering::SeqCst);
    assert!(writes < all.len() / 2, "{writes} writes for {} entries", all.len());
    // Already there: no write at all.
    let before = iam.writes.load(Ordering::SeqCst);
    let again = revocations.add(iam.clone(), "role", &all[0], 1_000_100).await.unwrap();
    assert!(matches!(again, Recorded::Already(_)));
    assert_eq!(iam.writes.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn a_failed_write_fails_every_caller_it_carried() {
    let iam = Arc::new(MemoryIam::default());
    iam.failing.store(true, Ordering::SeqCst);
    let revocations = Arc::new(Revocations::new("test"));
    let names: Vec<String> = (0..10).map(|i| format!("learner-{i}")).collect();
    assert!(revoke_at_once(&revocations, &iam, &names).await.iter().all(|ok| !ok));
    assert!(iam.policies.lock().unwrap().is_empty());
    // The queue is not stuck: the same callers succeed once IAM does.
    iam.failing.store(false, Ordering::SeqCst);
    assert!(revoke_at_once(&revocations, &iam, &names).await.iter().all(|ok| *ok));
}

#[tokio::test]
async fn entries_that_no_longer_fit_are_refused_while_the_rest_of_the_batch_lands() {
    let iam = Arc::new(MemoryIam::default());
    // Another inline policy leaves room for only a few entries.
    let filler = format!(r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{}"}}]}}"#, "f".repeat(9_950));
    iam.policies.lock().unwrap().insert("filler".into(), filler);
    let revocations = Arc::new(Revocations::new("test"));
    let names: Vec<String> = (0..10).map(|i| format!("learner-{i}")).collect();
    let results = revoke_at_once(&revocations, &iam, &names).await;
    let landed: Vec<&String> = names.iter().zip(&results).filter(|(_, ok)| **ok).map(|(n, _)| n).collect();
    assert!(!landed.is_empty() && landed.len() < names.len(), "{results:?}");
    let policy = iam.policies.lock().unwrap().get("sandbox-broker-revocations-test").cloned().unwrap();
    for (name, ok) in names.iter().zip(&results) {
        assert_eq!(policy.contains(&format!("\"*:{name}\"")), *ok, "{name}: reported {ok}, policy {policy}");
    }
    let total: usize = iam.policies.lock().unwrap().values().map(String::len).sum();
    assert!(total <= crate::domain::policy::INLINE_POLICY_BUDGET, "{total}");
    // The refusal is the 507 error.
    let refused = revocations.add(iam.clone(), "role", "learner-late", 1_000_000).await;
    assert!(matches!(refused, Err(crate::error::ApiError::RevocationCapacityExhausted(_))), "{refused:?}");
}
