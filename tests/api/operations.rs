//! Probes, unknown routes and the served OpenAPI document.

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
    let wrong_method = app.http.get(format!("{}/sessions", app.base)).send().await.unwrap();
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
