//! Lease extension: `POST /sessions/{id}/extend` moves the lease end within
//! the profile's `max_lease_seconds`, and refuses, with a code each and
//! nothing changed, what it must not extend.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOptions};

async fn extend(app: &TestApp, session_id: &str, body: &str) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/sessions/{session_id}/extend", app.base))
        .bearer_auth(app.token("sessions:issue"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn lease_end(record: &Value) -> String {
    record["lease_expires_at"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_lease_moves_later_within_the_maximum_and_every_refusal_changes_nothing() {
    let app = TestApp::spawn_with(TestOptions::configured(|s| {
        let s3 = s.profiles.get_mut("s3").unwrap();
        s3.max_session_seconds = 3_600;
        s3.max_lease_seconds = Some(7_200);
    }))
    .await;
    app.issue_keys("learner-long").await;
    let (_, before) = app.session_record("learner-long").await;
    let created = humantime_secs(before["created_at"].as_str().unwrap());

    let (status, extended) = extend(&app, "learner-long", r#"{"seconds": 1800}"#).await;
    assert_eq!(status, 200, "{extended}");
    assert!(humantime_secs(&lease_end(&extended)) >= created + 5_400 - 5, "{extended}");
    let (_, after) = app.session_record("learner-long").await;
    assert_eq!(lease_end(&after), lease_end(&extended), "recorded");

    for (body, status, code) in [
        (r#"{"seconds": 3600}"#, 422, "lease_limit_exceeded"),
        (r#"{"seconds": 0}"#, 422, "invalid_seconds"),
        (r#"{"seconds": -5}"#, 422, "invalid_body"),
        (r#"{"seconds": 10, "until": 5}"#, 422, "unknown_field"),
        (r#"{"seconds": "#, 400, "malformed_json"),
    ] {
        let (got, answer) = extend(&app, "learner-long", body).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{body}: {answer}");
        assert_eq!(lease_end(&app.session_record("learner-long").await.1), lease_end(&after), "{body}");
    }
    let (status, answer) = extend(&app, "no-such-session", r#"{"seconds": 60}"#).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("session_not_found")));

    // A profile without max_lease_seconds never extends.
    app.post_sessions("?format=credential-process", &json!({ "session_id": "learner-other", "profile": "other" }))
        .await;
    let (status, answer) = extend(&app, "learner-other", r#"{"seconds": 60}"#).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("lease_not_extendable")), "{answer}");

    // Frozen, then ended: refused with the state's code.
    assert_eq!(app.admin(Method::POST, "/admin/sessions/learner-long/freeze").await.0, 200);
    let (status, answer) = extend(&app, "learner-long", r#"{"seconds": 60}"#).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("session_frozen")), "{answer}");
    assert_eq!(app.revoke("learner-long", "").await.0, 202);
    let (status, answer) = extend(&app, "learner-long", r#"{"seconds": 60}"#).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("session_ended")), "{answer}");
}

/// Unix seconds of an RFC 3339 time.
fn humantime_secs(text: &str) -> u64 {
    let t = aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime).unwrap();
    t.secs() as u64
}
