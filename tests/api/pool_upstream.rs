//! Registration when AWS itself refuses: an access role that cannot be
//! assumed in one of the accounts, and Organizations answering 5xx. moto's
//! STS assumes any role and its Organizations never fails, so both are
//! injected into the broker's member-account client; every other call is
//! moto's. Each is a clear 502 with its code, and nothing is registered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use sandbox_broker::aws::members::{MemberClients, Members};
use sandbox_broker::aws::{UpstreamError, UpstreamErrorKind};
use serde_json::json;

use crate::helpers::{Moto, TestApp, TestOptions};
use crate::pool::{members, pool_options, register};

/// The member-account client with two faults an operator meets: one
/// account whose access role the broker may not assume, and Organizations
/// down while `down` is set.
struct Faulty {
    inner: Arc<dyn Members>,
    unassumable: String,
    down: Arc<AtomicBool>,
}

impl Faulty {
    fn organizations(&self, operation: &'static str) -> Result<(), UpstreamError> {
        if !self.down.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut err = UpstreamError::new("organizations", operation, UpstreamErrorKind::Other, "ServiceException");
        err.code = Some("ServiceException".into());
        Err(err)
    }
}

#[async_trait]
impl Members for Faulty {
    async fn management_account(&self) -> Result<String, UpstreamError> {
        self.organizations("DescribeOrganization")?;
        self.inner.management_account().await
    }
    async fn is_member(&self, account_id: &str) -> Result<bool, UpstreamError> {
        self.organizations("DescribeAccount")?;
        self.inner.is_member(account_id).await
    }
    async fn create_account(&self, email: &str, name: &str, ou: Option<&str>) -> Result<String, UpstreamError> {
        self.organizations("CreateAccount")?;
        self.inner.create_account(email, name, ou).await
    }
    async fn open(&self, account_id: &str, role: &str, partition: &str) -> Result<MemberClients, UpstreamError> {
        if account_id == self.unassumable {
            let message = format!("AccessDenied: not authorized to perform sts:AssumeRole on role/{role}");
            return Err(UpstreamError::new("sts", "AssumeRole", UpstreamErrorKind::AccessDenied, message));
        }
        self.inner.open(account_id, role, partition).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unassumable_access_role_or_an_organizations_outage_registers_nothing() {
    let moto = Moto::start(&[]);
    let ids = members(&moto.endpoint, 2).await;
    let down = Arc::new(AtomicBool::new(false));
    let (unassumable, fault) = (ids[1].clone(), down.clone());
    let app = TestApp::spawn_with(TestOptions {
        upstreams: Box::new(move |mut u| {
            u.members = Arc::new(Faulty { inner: u.members, unassumable, down: fault });
            u
        }),
        ..pool_options(&moto.endpoint, |s| s.pool.create_email = Some("aws+pool{n}@example.com".into()))
    })
    .await;
    let listed = || async { app.admin(reqwest::Method::GET, "/admin/accounts").await.1["accounts"].clone() };

    // One good account and one whose access role is refused: neither.
    let (status, answer) = register(&app, json!({ "account_ids": ids })).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (502, Some("access_role_unassumable")), "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains(&ids[1]), "names the account: {answer}");
    assert_eq!(listed().await, json!([]), "nothing half-registered");

    down.store(true, Ordering::SeqCst);
    for body in [json!({ "account_ids": [&ids[0]] }), json!({ "create": 1 })] {
        let (status, answer) = register(&app, body.clone()).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (502, Some("organizations_error")), "{body}: {answer}");
        assert_eq!(listed().await, json!([]), "{body}");
    }

    // Once Organizations answers again, the good account registers.
    down.store(false, Ordering::SeqCst);
    let (status, answer) = register(&app, json!({ "account_ids": [&ids[0]] })).await;
    assert_eq!(status, 201, "{answer}");
}
