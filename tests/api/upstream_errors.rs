//! Upstream failures map to clear answers: throttling 503 + Retry-After,
//! access denied 502 with a bootstrap hint, timeouts 504. A tiny fake
//! STS/IAM speaks the real query protocol so the SDK parses real errors.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_aws::FakeAws;
use crate::helpers::{TestApp, TestOptions};

/// The shared fake STS/IAM with AssumeRole failing with `error` after
/// `delay` (a plain 500 when no error is given) and PutRolePolicy refused
/// with ConcurrentModification; roles allow one-hour sessions.
fn fault(error: Option<(u16, &'static str)>, delay: Duration) -> FakeAws {
    FakeAws {
        assume_role_error: Some(error.unwrap_or((500, "InternalFailure"))),
        assume_role_delay: delay,
        put_policy_error: Some((409, "ConcurrentModification")),
        max_session_seconds: 3600,
        ..FakeAws::default()
    }
}

pub(crate) async fn app_with_fault(fault: FakeAws) -> TestApp {
    let router = fault.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, router).await });
    TestApp::spawn_with(TestOptions { aws_endpoint: Some(endpoint), create_roles: false, ..Default::default() }).await
}

async fn issue(app: &TestApp) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = app.post_sessions("", &json!({"session_id": "learner-err"})).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

#[tokio::test]
async fn throttling_is_503_with_retry_after() {
    let f = fault(Some((400, "Throttling")), Duration::ZERO);
    let calls = f.assume_role_calls.clone();
    let app = app_with_fault(f).await;
    let (status, headers, body) = issue(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "upstream_throttled");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(calls.load(Ordering::SeqCst), 3, "the SDK's standard mode retried throttling");
    let metrics = app.metrics().await;
    let errors = metrics.lines().find(|l| {
        l.starts_with("sandbox_broker_upstream_errors_total{")
            && l.contains("operation=\"AssumeRole\"")
            && l.contains("code=\"Throttling\"")
    });
    assert!(errors.is_some(), "upstream errors by code: {metrics}");
}

#[tokio::test]
async fn access_denied_is_502_after_brief_retries() {
    let f = fault(Some((403, "AccessDenied")), Duration::ZERO);
    let calls = f.assume_role_calls.clone();
    let app = app_with_fault(f).await;
    let (status, _, body) = issue(&app).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "upstream_access_denied");
    assert!(body["error"]["message"].as_str().unwrap().contains("bootstrap"));
    // One attempt plus the four IAM-propagation retries.
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn validation_errors_are_not_retried() {
    let f = fault(Some((400, "ValidationError")), Duration::ZERO);
    let calls = f.assume_role_calls.clone();
    let app = app_with_fault(f).await;
    let (status, _, body) = issue(&app).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "upstream_error");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn slow_sts_is_504() {
    // call_timeout_ms is 2000 in tests; 3 attempts of 2 s exceed nothing
    // else, so the SDK's attempt timeout fires.
    let app = app_with_fault(fault(None, Duration::from_secs(30))).await;
    let (status, _, body) = issue(&app).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "upstream_timeout");
}

#[tokio::test]
async fn slow_federation_endpoint_is_504() {
    let app =
        TestApp::spawn_with(TestOptions { federation_delay: Duration::from_secs(30), ..Default::default() }).await;
    let (status, _, body) = issue(&app).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "upstream_timeout");
}

#[tokio::test]
async fn iam_concurrent_modification_is_retried_then_503() {
    let f = fault(None, Duration::ZERO);
    let calls = f.put_policy_calls.clone();
    let app = app_with_fault(f).await;
    let (status, body) = app.revoke("learner-conflict", "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("upstream_conflict")), "{body}");
    // One attempt plus four backoff retries (0.25 + 0.5 + 1 + 2 s).
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

/// Run with the account's root credentials, bootstrap would write a trust
/// policy naming `:root` (every principal of the account): it refuses
/// before any IAM call, unless `trust.principal_arn` names the principal.
#[tokio::test]
async fn bootstrap_refuses_to_trust_the_account_root() {
    let fake = FakeAws { caller_arn: "arn:aws:iam::123456789012:root", ..FakeAws::default() };
    let app = app_with_fault(fake).await;
    let (status, body) = app.admin(reqwest::Method::POST, "/admin/bootstrap?dry_run=true").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("root_principal_refused")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("trust.principal_arn"), "{body}");
    assert!(!app.calls.names().iter().any(|c| c.starts_with("iam.")), "no IAM call: {:?}", app.calls.names());
}
