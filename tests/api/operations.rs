//! Probes, unknown routes and the served OpenAPI document.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{TestApp, TestOptions, free_port};

#[tokio::test]
async fn healthz_and_readyz_with_a_reachable_aws() {
    let app = TestApp::spawn().await;
    let health = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["broker_principal_arn"], "arn:aws:sts::123456789012:user/moto");
    assert_eq!(body["role_chained"], false);
}

#[tokio::test]
async fn readyz_is_503_while_the_identity_does_not_resolve() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let app =
        TestApp::spawn_with(TestOptions { aws_endpoint: Some(dead), create_roles: false, ..Default::default() }).await;
    let health = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.status(), 200, "liveness does not depend on AWS");
    let ready = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_ready");
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_error_shape() {
    let app = TestApp::spawn().await;
    let missing = app.http.get(format!("{}/nope", app.base)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["error"]["code"], "not_found");
    let wrong_method = app.http.put(format!("{}/sessions", app.base)).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert!(wrong_method.headers().contains_key("allow"));
    assert_eq!(wrong_method.json::<Value>().await.unwrap()["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn openapi_document_is_served() {
    let app = TestApp::spawn().await;
    let response = app.http.get(format!("{}/openapi.yaml", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert_eq!(text, std::fs::read_to_string(crate::helpers::repo_path("openapi.yaml")).unwrap());
    assert!(text.contains("/sessions:"));
}

/// An upstream that accepts connections and never answers: /readyz still
/// answers within its own budget (probes time out after about a second).
#[tokio::test]
async fn readyz_answers_promptly_when_aws_stalls() {
    let stalled = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", stalled.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = stalled.accept().await {
            held.push(socket);
        }
    });
    let app = TestApp::spawn_with(TestOptions {
        aws_endpoint: Some(endpoint),
        create_roles: false,
        ..TestOptions::configured(|s| s.aws.call_timeout_ms = 120_000)
    })
    .await;
    // The upstream would hold the identity check for two minutes; readyz
    // answers from its own budget ("too long") instead, well within the
    // client's patience.
    let ready = app.http.get(format!("{}/readyz", app.base)).timeout(Duration::from_secs(60)).send().await;
    let ready = ready.expect("readyz answers before the upstream call gives up");
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_ready");
    assert!(body["error"]["message"].as_str().unwrap().contains("too long"), "{body}");
}

/// A federation endpoint that answers with megabytes is cut off: the
/// broker neither buffers nor forwards it.
#[tokio::test]
async fn oversized_federation_responses_are_refused() {
    let huge = axum::Router::new().route(
        "/federation",
        axum::routing::post(|| async { axum::Json(serde_json::json!({"SigninToken": "x".repeat(1 << 20)})) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let federation = format!("http://{}/federation", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, huge).await });
    let app = TestApp::spawn_with(TestOptions::configured(|s| s.aws.federation_endpoint = Some(federation))).await;
    let response = app.post_sessions("", &serde_json::json!({"session_id": "learner-huge"})).await;
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(text.len() < 1_000 && text.contains("too large"), "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["error"]["code"], "upstream_error");
}

#[tokio::test]
async fn client_request_ids_are_kept_only_when_plain() {
    let app = TestApp::spawn().await;
    let echo = |id: &'static str| {
        let request = app.http.get(format!("{}/healthz", app.base)).header("x-request-id", id);
        async move { request.send().await.unwrap().headers()["x-request-id"].to_str().unwrap().to_owned() }
    };
    assert_eq!(echo("trace-0123:abc_def.9").await, "trace-0123:abc_def.9");
    let long: &'static str = Box::leak("a".repeat(200).into_boxed_str());
    for bad in [long, "has space", "quote\"inside", "<script>"] {
        let replaced = echo(bad).await;
        assert_ne!(replaced, bad);
        assert!(uuid_like(&replaced), "{bad:?} was replaced by {replaced:?}");
    }
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}
