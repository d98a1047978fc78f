//! Revocation: an explicit Deny on `aws:userid` in the broker's own inline
//! policy, pruned when stale, safe under concurrency, bounded by IAM's size
//! limit, and enforced by POST /sessions and /console/launch.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOptions, iam_client};
use sandbox_broker::clock::ManualClock;

const POLICY: &str = "sandbox-broker-revocations-test";

async fn revocation_policy(app: &TestApp) -> Option<Value> {
    let out =
        iam_client(&app.aws_endpoint).get_role_policy().role_name(app.role("s3")).policy_name(POLICY).send().await;
    out.ok()
        .map(|o| serde_json::from_str(&sandbox_broker::aws::iam::decode_policy_document(o.policy_document())).unwrap())
}

fn denied_ids(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Condition"]["StringLike"]["aws:userid"].as_array().unwrap().clone())
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

async fn role_id(app: &TestApp) -> String {
    let role = iam_client(&app.aws_endpoint).get_role().role_name(app.role("s3")).send().await.unwrap();
    role.role().unwrap().role_id().to_owned()
}

#[tokio::test]
async fn revocation_denies_the_session_and_is_enforced_by_the_broker() {
    let app = TestApp::spawn().await;
    let session = app.issue(&json!({"session_id": "learner-revoked"})).await;

    let (status, receipt) = app.revoke("learner-revoked", "?profile=s3").await;
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(receipt["session_id"], "learner-revoked");
    assert_eq!(receipt["profile"], "s3");
    assert_eq!(receipt["effective"], "within minutes");
    assert!(receipt["revoked_at"].as_str().unwrap().ends_with('Z'));

    let policy = revocation_policy(&app).await.expect("revocation policy");
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    let statement = &statements[0];
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(statement["Action"], "*");
    assert_eq!(statement["Resource"], "*");
    assert_eq!(denied_ids(&policy), ["*:learner-revoked"]);
    assert!(role_id(&app).await.starts_with("AROA"));

    let again = app.post_sessions("", &json!({"session_id": "learner-revoked"})).await;
    assert_eq!(again.status(), 409);
    assert_eq!(again.json::<Value>().await.unwrap()["error"]["code"], "session_revoked");
    let launch = app.http.get(app.launch_url(&session)).send().await.unwrap();
    assert_eq!(launch.status(), 410);

    // Idempotent: 202 again, still one entry. Other sessions are unaffected.
    let (status, _) = app.revoke("learner-revoked", "").await;
    assert_eq!(status, 202);
    assert_eq!(denied_ids(&revocation_policy(&app).await.unwrap()).len(), 1);
    app.issue(&json!({"session_id": "learner-innocent"})).await;

    // Bootstrap keeps the policy and reports it unchanged.
    let (status, report) = app.admin(Method::POST, "/admin/bootstrap?profile=s3&dry_run=true").await;
    assert_eq!(status, 409, "test roles are not tagged as managed: {report}");
    let (_, status_report) = app.admin(Method::GET, "/admin/status").await;
    let s3 = status_report["profiles"].as_array().unwrap().iter().find(|p| p["profile"] == "s3").unwrap().clone();
    assert_eq!(s3["revocations"]["entries"], 1, "{s3}");
    assert_eq!(s3["revocations"]["capacity_chars"], 10240);
}

#[tokio::test]
async fn stale_entries_are_pruned_on_the_next_write() {
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let app = TestApp::spawn_with(TestOptions { clock: clock.clone(), ..Default::default() }).await;
    assert_eq!(app.revoke("learner-old", "").await.0, 202);
    // Within the role's 12-hour maximum (plus the hour of the group) the
    // entry must stay: a credential issued just before could be alive.
    clock.advance(Duration::from_secs(12 * 3600));
    assert_eq!(app.revoke("learner-mid", "").await.0, 202);
    let ids = denied_ids(&revocation_policy(&app).await.unwrap());
    assert_eq!(ids.len(), 2, "{ids:?}");
    clock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(app.revoke("learner-new", "").await.0, 202);
    let ids = denied_ids(&revocation_policy(&app).await.unwrap());
    assert!(ids.iter().all(|id| !id.ends_with(":learner-old")), "{ids:?}");
    assert_eq!(ids.len(), 2, "{ids:?}");
    // A pruned session id can be issued again.
    app.issue(&json!({"session_id": "learner-old"})).await;
}

#[tokio::test]
async fn fifty_concurrent_revocations_keep_every_entry() {
    let app = Arc::new(TestApp::spawn().await);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { app.end_retrying(&format!("learner-{i:02}")).await.0 })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 202);
    }
    let ids = denied_ids(&revocation_policy(&app).await.unwrap());
    assert_eq!(ids.len(), 50, "{ids:?}");
}

#[tokio::test]
async fn capacity_exhaustion_is_507_and_leaves_the_policy_valid() {
    let app = TestApp::spawn().await;
    // Someone else's inline policy uses most of the role's 10,240 characters.
    let filler: Vec<Value> = (0..105)
        .map(|i| json!({"Sid": format!("F{i}"), "Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::b{i:03}/*")}))
        .collect();
    let filler = json!({"Version": "2012-10-17", "Statement": filler}).to_string();
    assert!(filler.len() > 9_000 && filler.len() < 10_000, "{}", filler.len());
    iam_client(&app.aws_endpoint)
        .put_role_policy()
        .role_name(app.role("s3"))
        .policy_name("filler")
        .policy_document(&filler)
        .send()
        .await
        .unwrap();

    let mut accepted = 0;
    let mut last_good = None;
    for i in 0..100 {
        let (status, body) = app.revoke(&format!("learner-capacity-{i:03}"), "").await;
        if status == 202 {
            accepted += 1;
            last_good = revocation_policy(&app).await;
            continue;
        }
        assert_eq!(status, 507, "{body}");
        assert_eq!(body["error"]["code"], "revocation_capacity_exhausted");
        break;
    }
    assert!(accepted > 0 && accepted < 100, "accepted {accepted}");
    assert_eq!(revocation_policy(&app).await, last_good, "the policy is untouched by the refused write");
    app.calls.reset();
    let (_, status) = app.admin(Method::GET, "/admin/status").await;
    let s3 = status["profiles"].as_array().unwrap().iter().find(|p| p["profile"] == "s3").unwrap().clone();
    assert_eq!(s3["revocations"]["entries"], accepted);
    assert!(s3["revocations"]["remaining_chars"].as_u64().unwrap() < 100, "{s3}");
    // One listing of each existing role's inline policies serves both the
    // drift check and the capacity figures.
    let calls = app.calls.names();
    let existing = status["profiles"].as_array().unwrap().iter().filter(|p| p["state"] != "missing").count();
    assert_eq!(calls.iter().filter(|c| **c == "iam.list_inline_policies").count(), existing, "{calls:?}");
}

#[tokio::test]
async fn bad_revocations_change_nothing() {
    let app = TestApp::spawn().await;
    let (status, body) = app.revoke("learner-x", "?profile=nope").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("unknown_profile")));
    let (status, body) = app.revoke("learner-x", "?bogus=1").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_query")));
    let (status, body) = app.revoke(&"a".repeat(300), "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_session_id")));
    assert_eq!(app.calls.get(), 0);
    let forbidden = app
        .http
        .delete(format!("{}/sessions/learner-x", app.base))
        .bearer_auth(app.token("sessions:issue"))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
}

#[tokio::test]
async fn replicas_revoking_at_once_never_lose_an_entry() {
    // Two replicas (two apps, different replica ids) share the same roles
    // and ledger.
    let a = Arc::new(TestApp::spawn().await);
    let table = a.ledger_table.clone();
    let b = Arc::new(
        TestApp::spawn_with(TestOptions {
            roles: Some(a.roles.clone()),
            create_roles: false,
            ..TestOptions::configured(move |s| {
                s.server.replica_id = Some("test-b".into());
                s.ledger.table = table;
            })
        })
        .await,
    );
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let app = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { app.end_retrying(&format!("learner-replica-{i:02}")).await.0 })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 202);
    }
    let iam = iam_client(&a.aws_endpoint);
    let mut ids = Vec::new();
    for policy in ["sandbox-broker-revocations-test", "sandbox-broker-revocations-test-b"] {
        let out = iam.get_role_policy().role_name(a.role("s3")).policy_name(policy).send().await.unwrap();
        let doc: Value =
            serde_json::from_str(&sandbox_broker::aws::iam::decode_policy_document(out.policy_document())).unwrap();
        ids.extend(denied_ids(&doc));
    }
    assert_eq!(ids.len(), 40, "{ids:?}");
    // Each replica refuses the sessions the other one revoked.
    let refused = a.post_sessions("", &json!({"session_id": "learner-replica-01"})).await;
    assert_eq!(refused.status(), 409);
    let refused = b.post_sessions("", &json!({"session_id": "learner-replica-00"})).await;
    assert_eq!(refused.status(), 409);
}

#[tokio::test]
async fn a_role_deleted_behind_the_brokers_back_is_reported_as_not_provisioned() {
    let app = TestApp::spawn().await;
    app.issue(&json!({"session_id": "learner-orphan"})).await;
    // The broker now has the role cached; someone deletes it out of band.
    let iam = iam_client(&app.aws_endpoint);
    iam.delete_role().role_name(app.role("s3")).send().await.unwrap();

    let (status, body) = app.revoke("learner-orphan", "?profile=s3").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("profile_not_provisioned")), "{body}");
    let again = app.post_sessions("", &json!({"session_id": "learner-orphan"})).await;
    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "profile_not_provisioned", "{body}");
}

/// IAM wildcard match, as `StringLike` evaluates `aws:userid`.
fn like(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => text.starts_with(head) && text.len() >= head.len() + tail.len() && text.ends_with(tail),
    }
}

/// The role is deleted and re-created behind this replica's back (a CLI
/// teardown + bootstrap): it gets a new RoleId while the broker still has
/// the old one cached. The revocation must still deny the live role's
/// sessions, and the id stays refused.
#[tokio::test]
async fn a_revocation_after_the_role_is_recreated_denies_the_live_role() {
    let app = TestApp::spawn().await;
    app.issue(&json!({"session_id": "learner-recreated"})).await;
    let old_id = role_id(&app).await;
    let iam = iam_client(&app.aws_endpoint);
    iam.delete_role().role_name(app.role("s3")).send().await.unwrap();
    crate::helpers::create_role(&app.aws_endpoint, app.role("s3"), 43_200).await;
    let live_id = role_id(&app).await;
    assert_ne!(old_id, live_id);

    assert_eq!(app.revoke("learner-recreated", "").await.0, 202);
    let patterns = denied_ids(&revocation_policy(&app).await.unwrap());
    let live_userid = format!("{live_id}:learner-recreated");
    assert!(patterns.iter().any(|p| like(p, &live_userid)), "{patterns:?} misses {live_userid}");
    let again = app.post_sessions("", &json!({"session_id": "learner-recreated"})).await;
    assert_eq!(again.status(), 409);
}

/// Someone writes a valid Deny by hand into the broker's revocation policy.
/// It is kept on later writes, honoured when issuing, reported as drift,
/// and never turns a revocation into a 500.
#[tokio::test]
async fn a_hand_edited_revocation_policy_is_kept_reported_and_honoured() {
    let app = TestApp::spawn().await;
    let by_hand = json!({"Sid": "ByHand", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:userid": format!("{}:learner-by-hand", role_id(&app).await)}}});
    let document = json!({"Version": "2012-10-17", "Statement": [by_hand]}).to_string();
    let iam = iam_client(&app.aws_endpoint);
    iam.put_role_policy().role_name(app.role("s3")).policy_name(POLICY).policy_document(document).send().await.unwrap();

    let refused = app.post_sessions("", &json!({"session_id": "learner-by-hand"})).await;
    assert_eq!(refused.status(), 409, "a hand-written Deny is honoured");
    let (status, body) = app.revoke("learner-other", "").await;
    assert_eq!(status, 202, "{body}");
    let policy = revocation_policy(&app).await.unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert!(statements.iter().any(|s| s["Sid"] == "ByHand"), "kept: {policy}");
    assert!(statements.iter().any(|s| s["Condition"]["StringLike"]["aws:userid"] == json!(["*:learner-other"])));

    let (_, status) = app.admin(Method::GET, "/admin/status").await;
    let s3 = status["profiles"].as_array().unwrap().iter().find(|p| p["profile"] == "s3").unwrap().clone();
    assert_eq!(s3["revocations"]["foreign_statements"], 1, "{s3}");
    assert!(s3["drift"].as_array().unwrap().iter().any(|d| d["resource"].as_str().unwrap().ends_with("/revocations")));
}
