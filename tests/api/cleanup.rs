//! Sandboxes, not just keys: the ledger records every session, and when a
//! session ends exactly what it created is deleted, in an account learners
//! share. Learners create their resources with boto3 and their own keys
//! (`scripts/lib/footprint.py`); moto serves every service involved.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::fake_aws::FakeAws;
use crate::helpers::{LOADED, Moto, TestApp, TestOptions, footprint, lambda_role, report_arns, strings};

/// An app on its own emulator (`moto`), whose worker looks for due
/// sessions every second, with no grace. Footprints load moto (EC2 above
/// all); a private one keeps that from slowing every other test.
pub(crate) fn eager_options(moto: &Moto, replica: &'static str, table: Option<String>) -> TestOptions {
    let mut options = TestOptions::configured(move |s| {
        s.server.replica_id = Some(replica.into());
        s.cleanup.interval_seconds = 1;
        s.cleanup.grace_seconds = 0;
        // A claim lost to a slow emulator under the whole suite's load is
        // taken over soon.
        s.cleanup.claim_seconds = 20;
        loaded_deadlines(s);
        if let Some(table) = table {
            s.ledger.table = table;
        }
    });
    options.aws_endpoint = Some(moto.endpoint.clone());
    options
}

/// moto's first EC2 call in a region loads its default images: on a loaded
/// machine that takes seconds, and an attempt cut short by the call timeout
/// is only retried a minute later. A dry run lists every registered type in
/// the request: against one moto on a loaded machine that has taken over a
/// minute (a cold CI run with builds beside it), so twice the loaded deadline.
fn loaded_deadlines(s: &mut sandbox_broker::config::Settings) {
    s.aws.call_timeout_ms = 15_000;
    s.server.request_timeout_ms = 2 * u64::try_from(LOADED.as_millis()).unwrap_or(u64::MAX);
}

async fn key_of(app: &TestApp, session_id: &str) -> String {
    let (status, record) = app.session_record(session_id).await;
    assert_eq!(status, 200, "{record}");
    record["sandbox_key"].as_str().unwrap().to_owned()
}

/// What discovery finds for `key` now (the broker's own discovery, run
/// through an engine that deletes nothing).
pub(crate) async fn still_there(app: &TestApp, session_id: &str) -> Vec<String> {
    let (status, dry) =
        app.admin(reqwest::Method::POST, &format!("/admin/sessions/{session_id}/cleanup?dry_run=true")).await;
    assert_eq!(status, 200, "{dry}");
    report_arns(&dry, "deleted")
}

#[tokio::test]
async fn ending_one_learner_deletes_exactly_what_that_learner_created() {
    let moto = Moto::start(&[]);
    let app = TestApp::spawn_with(eager_options(&moto, "cleanup-a", None)).await;
    let role = lambda_role(&app.aws_endpoint).await;
    let a = app.issue(&json!({"session_id": "learner-a@lab"})).await;
    let b = app.issue(&json!({"session_id": "learner-b@lab"})).await;
    let (key_a, key_b) = (key_of(&app, "learner-a@lab").await, key_of(&app, "learner-b@lab").await);
    let args = ["--lambda-role", role.as_str()];
    let made_a =
        footprint(&app.aws_endpoint, Some(&a["credentials"]), &[&key_a], &[&args[..], &["--unsupported"]].concat());
    let made_b = footprint(&app.aws_endpoint, Some(&b["credentials"]), &[&key_b], &args);
    let (expected_a, unsupported_a) = (strings(&made_a[&key_a]["expected"]), strings(&made_a[&key_a]["unsupported"]));
    assert_eq!(expected_a.len(), 10, "one of every supported type: {expected_a:?}");

    // The record: profiles, key, caller, no secret.
    let (_, record) = app.session_record("learner-a@lab").await;
    assert_eq!((record["state"].as_str(), record["profiles"].clone()), (Some("active"), json!(["s3"])));
    assert!(!record.to_string().contains(a["credentials"]["secret_access_key"].as_str().unwrap()));

    let (status, ended) = app.revoke("learner-a@lab", "").await;
    assert_eq!(status, 202, "{ended}");
    assert_eq!(ended["state"], "ended");
    let done = app.wait_for_state("learner-a@lab", &["cleanup_incomplete", "cleaned", "cleanup_failed"], LOADED).await;
    assert_eq!(done["state"], "cleanup_incomplete", "the unsupported ACM certificate is left: {done}");
    assert_eq!(report_arns(&done, "deleted"), expected_a, "{done}");
    assert_eq!(report_arns(&done, "left"), unsupported_a);
    assert_eq!(report_arns(&done, "failed"), Vec::<String>::new());
    assert_eq!(done["cleanup"]["left"][0]["type"], "acm:certificate");

    // B's resources are all there, and B can still be issued keys.
    let (status, b_end) = app.revoke("learner-b@lab", "?profile=s3").await;
    assert_eq!(status, 202, "{b_end}");
    let b_found: BTreeSet<String> = still_there(&app, "learner-b@lab").await.into_iter().collect();
    let b_expected: BTreeSet<String> = strings(&made_b[&key_b]["expected"]).into_iter().collect();
    assert_eq!(b_found, b_expected);
    // A ended session takes no new credentials.
    let again = app.post_sessions("", &json!({"session_id": "learner-a@lab"})).await;
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn an_expired_lease_is_cleaned_without_a_delete() {
    let clock = Arc::new(sandbox_broker::clock::ManualClock::new(SystemTime::now()));
    let moto = Moto::start(&[]);
    let app =
        TestApp::spawn_with(TestOptions { clock: clock.clone(), ..eager_options(&moto, "cleanup-lease", None) }).await;
    let session = app.issue(&json!({"session_id": "learner-lease", "duration_seconds": 900})).await;
    let key = key_of(&app, "learner-lease").await;
    let made = footprint(&app.aws_endpoint, Some(&session["credentials"]), &[&key], &["--only", "queue,logs"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, before) = app.session_record("learner-lease").await;
    assert_eq!(before["state"], "active", "not due before the lease ends");
    clock.advance(Duration::from_secs(901));
    let done = app.wait_for_state("learner-lease", &["cleaned", "cleanup_incomplete", "cleanup_failed"], LOADED).await;
    assert_eq!(done["state"], "cleaned", "{done}");
    assert_eq!(report_arns(&done, "deleted"), strings(&made[&key]["expected"]));
    assert!(done["ended_at"].is_string(), "{done}");
}

#[tokio::test]
async fn a_dry_run_reports_and_deletes_nothing() {
    let moto = Moto::start(&[]);
    let mut options = TestOptions::configured(|s| {
        s.cleanup.enabled = false;
        loaded_deadlines(s);
    });
    options.aws_endpoint = Some(moto.endpoint.clone());
    let app = TestApp::spawn_with(options).await;
    let session = app.issue(&json!({"session_id": "learner-dry"})).await;
    let key = key_of(&app, "learner-dry").await;
    let made = footprint(&app.aws_endpoint, Some(&session["credentials"]), &[&key], &["--only", "bucket,table,queue"]);
    let (status, active) = app.admin(reqwest::Method::POST, "/admin/sessions/learner-dry/cleanup").await;
    assert_eq!((status, active["error"]["code"].as_str()), (409, Some("session_active")));
    app.revoke("learner-dry", "").await;
    for _ in 0..2 {
        assert_eq!(still_there(&app, "learner-dry").await, strings(&made[&key]["expected"]));
    }
    let (_, record) = app.session_record("learner-dry").await;
    assert_eq!(record["state"], "ended", "a dry run changes nothing: {record}");
    // The same from an operator's terminal.
    let config = app.config_path();
    let envs = [("AWS_ACCESS_KEY_ID", "AKIACLI"), ("AWS_SECRET_ACCESS_KEY", "cli"), ("RUST_LOG", "warn")];
    let cli = |args: &[&str]| {
        let (code, stdout, stderr) =
            crate::helpers::run_cli(&[&["--config", config.to_str().unwrap()], args].concat(), &envs);
        assert_eq!(code, 0, "{stderr}");
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    assert_eq!(cli(&["sessions", "show", "learner-dry"])["state"], "ended");
    let listed = cli(&["sessions", "list", "--state", "ended"]);
    assert!(listed["sessions"].as_array().unwrap().iter().any(|s| s["session_id"] == "learner-dry"), "{listed}");
    let dry = cli(&["cleanup", "--session", "learner-dry", "--dry-run"]);
    assert_eq!(
        (dry["cleanup"]["dry_run"].as_bool(), report_arns(&dry, "deleted")),
        (Some(true), strings(&made[&key]["expected"]))
    );
    // Then for real, on demand.
    let (status, done) = app.admin(reqwest::Method::POST, "/admin/sessions/learner-dry/cleanup").await;
    assert_eq!((status, done["state"].as_str()), (200, Some("cleaned")), "{done}");
    assert_eq!(report_arns(&done, "deleted"), strings(&made[&key]["expected"]));
    assert_eq!(still_there(&app, "learner-dry").await, Vec::<String>::new());
    let metrics = app.metrics().await;
    for name in [
        "sandbox_broker_cleanup_resources_total{",
        "sandbox_broker_session_state_transitions_total{",
        "sandbox_broker_cleanup_duration_seconds_bucket{",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
}

#[tokio::test]
async fn two_replicas_clean_fifty_sessions_once_each() {
    let moto = Moto::start(&[]);
    let a = TestApp::spawn_with(eager_options(&moto, "replica-a", None)).await;
    let table = a.ledger_table.clone();
    let b = TestApp::spawn_with(TestOptions {
        roles: Some(a.roles.clone()),
        create_roles: false,
        ..eager_options(&moto, "replica-b", Some(table))
    })
    .await;
    let ids: Vec<String> = (0..50).map(|i| format!("learner-{i:02}")).collect();
    let mut keys = Vec::new();
    for id in &ids {
        a.issue_keys(id).await;
        keys.push(key_of(&a, id).await);
    }
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let made = footprint(&a.aws_endpoint, None, &key_refs, &["--only", "queue,logs"]);
    for (i, id) in ids.iter().enumerate() {
        let replica = if i % 2 == 0 { &a } else { &b };
        let (status, body) = replica.end_retrying(id).await;
        assert_eq!(status, 202, "{id}: {body}");
    }
    // Every session ends cleaned, no ARN is reported deleted twice, and
    // nothing of any session is left. (A report lists what its attempt
    // deleted: if a replica cannot store its outcome before its claim
    // expires, the replica taking over reports only what was still there;
    // the resources are gone either way.)
    let mut seen = BTreeSet::new();
    for (id, key) in ids.iter().zip(&keys) {
        let done = a.wait_for_state(id, &["cleaned", "cleanup_incomplete", "cleanup_failed"], LOADED).await;
        assert_eq!(done["state"], "cleaned", "{done}");
        let expected = strings(&made[key]["expected"]);
        for arn in report_arns(&done, "deleted") {
            assert!(expected.contains(&arn), "{id} reported another session's {arn}");
            assert!(seen.insert(arn.clone()), "{arn} deleted twice");
        }
        assert_eq!(still_there(&a, id).await, Vec::<String>::new(), "{id} left something behind");
    }
    assert!(!seen.is_empty());
    let (status, page) = a.list_sessions("?state=cleaned&limit=100").await;
    assert_eq!(status, 200);
    assert!(page["sessions"].as_array().unwrap().len() >= 50, "{page}");
}

#[tokio::test]
async fn sessions_list_filters_and_pages() {
    let app = TestApp::spawn_with(TestOptions::configured(|s| s.cleanup.enabled = false)).await;
    for i in 0..5 {
        app.issue(&json!({"session_id": format!("listed-{i}"), "profile": if i < 3 { "s3" } else { "other" }})).await;
    }
    app.revoke("listed-0", "").await;
    let (status, ended) = app.list_sessions("?state=ended").await;
    assert_eq!(status, 200);
    assert_eq!(ended["sessions"].as_array().unwrap().len(), 1);
    let (_, other) = app.list_sessions("?profile=other").await;
    assert_eq!(other["sessions"].as_array().unwrap().len(), 2, "{other}");
    let mut ids = BTreeSet::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let (status, page) = app.list_sessions(&query).await;
        assert_eq!(status, 200, "{page}");
        ids.extend(page["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), 5);
    for bad in ["?state=done", "?limit=0", "?limit=101", "?cursor=forged", "?extra=1"] {
        assert_eq!(app.list_sessions(bad).await.0, 400, "{bad}");
    }
    // Cursors that decode but were not handed out for this filter are the
    // client's mistake (400), never an upstream failure: `{}`, a key on
    // another attribute, a numeric session id, and a real cursor replayed
    // with another filter.
    let (_, first) = app.list_sessions("?limit=2").await;
    let real = first["next_cursor"].as_str().unwrap().to_owned();
    let encode = |json: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, json);
    let forged = [
        "e30".to_owned(),
        encode(r#"{"caller":["S","x"]}"#),
        encode(r#"{"session_id":["N","5"]}"#),
        real.split_once('.').map_or(real.clone(), |(payload, _)| payload.to_owned()),
    ];
    for cursor in &forged {
        let (status, body) = app.list_sessions(&format!("?cursor={cursor}")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_query")), "{cursor}: {body}");
    }
    for query in [format!("?state=ended&cursor={real}"), format!("?profile=other&cursor={real}")] {
        let (status, body) = app.list_sessions(&query).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_query")), "{query}: {body}");
    }
    assert_eq!(app.list_sessions(&format!("?limit=2&cursor={real}")).await.0, 200);
    assert_eq!(app.list_sessions("?profile=nope").await.0, 422);
    assert_eq!(app.session_record("never-issued").await.0, 404);
}

#[tokio::test]
async fn a_failed_ledger_write_returns_no_credentials() {
    let fake = FakeAws { ledger_error: Some((500, "InternalServerError")), ..FakeAws::default() };
    let (writes, assumes) = (fake.ledger_writes.clone(), fake.assume_role_calls.clone());
    let app = crate::upstream_errors::app_with_fault(fake).await;
    let response = app.post_sessions("", &json!({"session_id": "learner-unrecorded"})).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ledger_unavailable", "{body}");
    assert!(body.get("credentials").is_none() && !body.to_string().contains("ASIA"), "{body}");
    assert!(writes.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert_eq!(assumes.load(std::sync::atomic::Ordering::SeqCst), 1, "the write ran alongside AssumeRole");
}

#[tokio::test]
async fn a_profile_that_opts_out_is_skipped() {
    let mut options = TestOptions::configured(|s| {
        s.cleanup.interval_seconds = 1;
        s.cleanup.grace_seconds = 0;
        if let Some(p) = s.profiles.get_mut("other") {
            p.cleanup = false;
        }
    });
    options.create_roles = true;
    let app = TestApp::spawn_with(options).await;
    app.issue(&json!({"session_id": "learner-keep", "profile": "other"})).await;
    app.revoke("learner-keep", "").await;
    let done = app.wait_for_state("learner-keep", &["cleanup_skipped", "cleaned"], LOADED).await;
    assert_eq!(done["state"], "cleanup_skipped", "{done}");
}

#[tokio::test]
async fn teardown_keeps_the_ledger_while_sessions_are_not_cleaned() {
    let app = TestApp::spawn_with(TestOptions::configured(|s| s.cleanup.enabled = false)).await;
    app.issue(&json!({"session_id": "learner-pending"})).await;
    let (status, refused) = app.admin(reqwest::Method::DELETE, "/admin/bootstrap").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("sessions_not_cleaned")), "{refused}");
    assert_eq!(app.session_record("learner-pending").await.0, 200, "nothing was removed");
    let (status, forced) = app.admin(reqwest::Method::DELETE, "/admin/bootstrap?force=true").await;
    assert_eq!(status, 200, "{forced}");
    assert!(
        forced["changes"].as_array().unwrap().iter().any(|c| c["resource"]
            .as_str()
            .unwrap()
            .starts_with("dynamodb/table/")
            && c["action"] == "delete"),
        "{forced}"
    );
    let (status, gone) = app.list_sessions("").await;
    assert_eq!((status, gone["error"]["code"].as_str()), (409, Some("ledger_not_provisioned")), "{gone}");
    let (status, status_report) = app.admin(reqwest::Method::GET, "/admin/status").await;
    assert_eq!((status, status_report["ledger"]["state"].as_str()), (200, Some("missing")));
}
