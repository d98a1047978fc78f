//! Upstream failures map to clear answers: throttling 503 + Retry-After,
//! access denied 502 with a bootstrap hint, timeouts 504. A tiny fake
//! STS/IAM speaks the real query protocol so the SDK parses real errors.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOptions};

#[derive(Clone)]
struct Fault {
    /// (HTTP status, AWS error code) returned by AssumeRole; None = success.
    assume_role_error: Option<(u16, &'static str)>,
    assume_role_delay: Duration,
    assume_role_calls: Arc<AtomicUsize>,
    put_policy_calls: Arc<AtomicUsize>,
}

const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

fn xml(body: String) -> Response {
    (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
}

async fn fake_aws(State(fault): State<Fault>, body: String) -> Response {
    let params: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    match params.get("Action").map(String::as_str) {
        Some("GetCallerIdentity") => xml(format!(
            r#"<GetCallerIdentityResponse xmlns="{STS_NS}"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/broker</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
        )),
        Some("GetRole") => {
            let name = params.get("RoleName").cloned().unwrap_or_default();
            xml(format!(
                r#"<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><RoleName>{name}</RoleName><RoleId>AROAEXAMPLE</RoleId><Arn>arn:aws:iam::123456789012:role/{name}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate><MaxSessionDuration>3600</MaxSessionDuration></Role></GetRoleResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></GetRoleResponse>"#
            ))
        }
        Some("ListRolePolicies") => xml(
            r#"<ListRolePoliciesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolePoliciesResult><IsTruncated>false</IsTruncated><PolicyNames/></ListRolePoliciesResult><ResponseMetadata><RequestId>r4</RequestId></ResponseMetadata></ListRolePoliciesResponse>"#.to_owned(),
        ),
        Some("PutRolePolicy") => {
            fault.put_policy_calls.fetch_add(1, Ordering::SeqCst);
            let body = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>ConcurrentModification</Code><Message>injected</Message></Error><RequestId>r5</RequestId></ErrorResponse>"#;
            (StatusCode::CONFLICT, [("content-type", "text/xml")], body).into_response()
        }
        Some("AssumeRole") => {
            fault.assume_role_calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(fault.assume_role_delay).await;
            let (status, code) = fault.assume_role_error.unwrap_or((500, "InternalFailure"));
            let body = format!(
                r#"<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>{code}</Code><Message>injected {code}</Message></Error><RequestId>r3</RequestId></ErrorResponse>"#
            );
            (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), [("content-type", "text/xml")], body)
                .into_response()
        }
        _ => (StatusCode::BAD_REQUEST, "unsupported").into_response(),
    }
}

async fn app_with_fault(fault: Fault) -> TestApp {
    let router = axum::Router::new().route("/", axum::routing::post(fake_aws)).with_state(fault);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, router).await });
    TestApp::spawn_with(TestOptions { aws_endpoint: Some(endpoint), create_roles: false, ..Default::default() }).await
}

fn fault(error: Option<(u16, &'static str)>, delay: Duration) -> Fault {
    Fault {
        assume_role_error: error,
        assume_role_delay: delay,
        assume_role_calls: Arc::new(AtomicUsize::new(0)),
        put_policy_calls: Arc::new(AtomicUsize::new(0)),
    }
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
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
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
