//! Bad input gets a clear error and changes nothing: every field, every
//! body-level mistake, each with its status and code and no AWS call.

use serde_json::{Value, json};

use crate::helpers::{ALL_SCOPES, TestApp};

async fn send_raw(app: &TestApp, content_type: &str, body: String) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/sessions", app.base))
        .bearer_auth(app.token(ALL_SCOPES))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn every_bad_field_is_rejected_before_any_aws_call() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(257);
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({}), 422, "invalid_body"),
        (json!({"session_id": 42}), 422, "invalid_body"),
        (json!({"session_id": null}), 422, "invalid_body"),
        (json!({"session_id": ""}), 422, "invalid_session_id"),
        (json!({"session_id": long}), 422, "invalid_session_id"),
        (json!({"session_id": "a\nb"}), 422, "invalid_session_id"),
        (json!({"session_id": "a\u{0}b"}), 422, "invalid_session_id"),
        (json!({"session_id": "ok", "extra": 1}), 422, "unknown_field"),
        (json!({"session_id": "ok", "profile": "nope"}), 422, "unknown_profile"),
        (json!({"session_id": "ok", "profile": 7}), 422, "invalid_body"),
        (json!({"session_id": "ok", "duration_seconds": 899}), 422, "invalid_duration"),
        (json!({"session_id": "ok", "duration_seconds": 43201}), 422, "invalid_duration"),
        (json!({"session_id": "ok", "duration_seconds": -1}), 422, "invalid_body"),
        (json!({"session_id": "ok", "duration_seconds": 3600.5}), 422, "invalid_body"),
        (json!({"session_id": "ok", "duration_seconds": "3600"}), 422, "invalid_body"),
        (json!({"session_id": "ok", "region": "mars-1"}), 422, "invalid_region"),
        (json!({"session_id": "ok", "region": "EU-WEST-1"}), 422, "invalid_region"),
        (json!({"session_id": "ok", "region": "cn-north-1"}), 422, "invalid_region"),
        (json!({"session_id": "ok", "destination": "https://evil.example/"}), 422, "invalid_destination"),
        (json!({"session_id": "ok", "destination": "http://console.aws.amazon.com/"}), 422, "invalid_destination"),
        (json!({"session_id": "ok", "destination": "javascript:alert(1)"}), 422, "invalid_destination"),
        (
            json!({"session_id": "ok", "destination": "https://console.aws.amazon.com.evil.example/"}),
            422,
            "invalid_destination",
        ),
        (json!({"session_id": "ok", "destination": "https://console.amazonaws.cn/"}), 422, "invalid_destination"),
        (json!([1, 2]), 422, "invalid_body"),
        (json!(null), 422, "invalid_body"),
    ];
    for (body, status, code) in cases {
        let (got_status, got) = send_raw(&app, "application/json", body.to_string()).await;
        assert_eq!(got_status, status, "{body}: {got}");
        assert_eq!(got["error"]["code"], code, "{body}: {got}");
        assert!(got["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
    assert_eq!(app.calls.get(), 0, "no AWS call for invalid input");
}

#[tokio::test]
async fn body_level_mistakes_use_the_error_shape() {
    let app = TestApp::spawn().await;
    let cases = vec![
        ("application/json", r#"{"session_id":"#.to_owned(), 400, "malformed_json"),
        ("application/json", "not json".to_owned(), 400, "malformed_json"),
        ("text/plain", r#"{"session_id":"ok"}"#.to_owned(), 415, "unsupported_media_type"),
        ("application/json", format!(r#"{{"session_id":"{}"}}"#, "a".repeat(20_000)), 413, "payload_too_large"),
    ];
    for (content_type, body, status, code) in cases {
        let (got_status, got) = send_raw(&app, content_type, body).await;
        assert_eq!((got_status, got["error"]["code"].as_str()), (status, Some(code)), "{got}");
    }
    // No Content-Type at all.
    let response = app
        .http
        .post(format!("{}/sessions", app.base))
        .bearer_auth(app.token(ALL_SCOPES))
        .body(r#"{"session_id":"ok"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(app.calls.get(), 0);
}

#[tokio::test]
async fn oversized_body_is_refused_even_before_auth() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(format!("{}/sessions", app.base))
        .header("content-type", "application/json")
        .body(vec![b' '; 1 << 20])
        .send()
        .await
        .unwrap();
    assert!(matches!(response.status().as_u16(), 401 | 413), "{}", response.status());
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["code"].is_string());
}
