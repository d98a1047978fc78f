//! A workshop ending at once, and requests cut short: concurrent
//! revocations on one role share IAM writes (group commit), a failed write
//! fails every caller it carried, and a DELETE or cleanup that outlives
//! its request finishes, so a retry answers 202 and nothing is done twice.
//! Slowness is injected at a named upstream call, not hoped for from load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cleanup::eager_options;
use crate::helpers::{LOADED, Moto, TestApp, TestOptions, footprint, iam_client, report_arns, strings};

/// No cleanup, and requests that outlast a held write on a loaded machine.
fn patient(settings: &mut sandbox_broker::config::Settings) {
    settings.cleanup.enabled = false;
    settings.server.request_timeout_ms = 120_000;
}

/// A value of one labelled series on `/metrics` (0 when absent).
async fn metric(app: &TestApp, name: &str, role: &str) -> f64 {
    let text = app.metrics().await;
    let series = format!("{name}{{role=\"{role}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(series.as_str())).map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Holds the next PutRolePolicy until the returned sender fires (or drops).
fn hold_next_policy_write(app: &TestApp) -> tokio::sync::oneshot::Sender<()> {
    let (release, held) = tokio::sync::oneshot::channel::<()>();
    app.calls.before_next("iam.put_inline_policy", Box::new(move || held.map(drop).boxed()));
    release
}

/// Waits until `n` revocations on `role` wait for (or ride in) a write.
async fn until_pending(app: &TestApp, role: &str, n: f64) {
    let deadline = Instant::now() + LOADED;
    loop {
        let pending = metric(app, "sandbox_broker_revocations_pending", role).await;
        if pending >= n {
            return;
        }
        assert!(Instant::now() < deadline, "only {pending} of {n} revocations ever queued on {role}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn revoke_all(app: &Arc<TestApp>, ids: &[String]) -> Vec<tokio::task::JoinHandle<(u16, Value)>> {
    ids.iter()
        .map(|id| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move { app.revoke(&id, "").await })
        })
        .collect()
}

fn policy_writes(app: &TestApp) -> usize {
    app.calls.names().iter().filter(|c| **c == "iam.put_inline_policy").count()
}

#[tokio::test]
async fn a_workshop_ending_at_once_shares_policy_writes() {
    let app = Arc::new(TestApp::spawn_with(TestOptions::configured(patient)).await);
    let ids: Vec<String> = (0..50).map(|i| format!("workshop-{i:02}")).collect();
    for id in &ids {
        app.issue_keys(id).await;
    }
    let role = app.role("s3").to_owned();
    app.calls.reset();
    // The first write is held until every learner's DELETE has queued
    // behind it: then exactly one more write carries all the rest.
    let release = hold_next_policy_write(&app);
    let deletes = revoke_all(&app, &ids);
    until_pending(&app, &role, 50.0).await;
    release.send(()).unwrap();
    for (id, task) in ids.iter().zip(deletes) {
        let (status, receipt) = task.await.unwrap();
        assert_eq!((status, receipt["state"].as_str()), (202, Some("ended")), "{id}: {receipt}");
    }
    assert!(policy_writes(&app) <= 2, "{:?}", app.calls.names());
    assert!(metric(&app, "sandbox_broker_revocation_writes_total", &role).await <= 2.0);
    assert_eq!(metric(&app, "sandbox_broker_revocation_entries_written_total", &role).await, 50.0);
    let policy = iam_client(&app.aws_endpoint)
        .get_role_policy()
        .role_name(&role)
        .policy_name("sandbox-broker-revocations-test")
        .send()
        .await
        .unwrap();
    let text = sandbox_broker::aws::iam::decode_policy_document(policy.policy_document());
    for id in &ids {
        assert!(text.contains(&format!("\"*:{id}\"")), "{id} missing from {text}");
        let refused = app.post_sessions("", &json!({"session_id": id})).await;
        assert_eq!(refused.status(), 409, "{id} is revoked");
    }
}

#[tokio::test]
async fn a_failed_write_fails_every_caller_it_carried_and_a_retry_completes() {
    let app = Arc::new(TestApp::spawn_with(TestOptions::configured(patient)).await);
    let ids: Vec<String> = (0..10).map(|i| format!("failing-{i}")).collect();
    let role = app.role("s3").to_owned();
    // The role vanishes while the first write is held: that write and the
    // batch behind it fail, and every caller hears it.
    let release = hold_next_policy_write(&app);
    let deletes = revoke_all(&app, &ids);
    until_pending(&app, &role, 10.0).await;
    iam_client(&app.aws_endpoint).delete_role().role_name(&role).send().await.unwrap();
    release.send(()).unwrap();
    for task in deletes {
        let (status, body) = task.await.unwrap();
        assert_eq!((status, body["error"]["code"].as_str()), (409, Some("profile_not_provisioned")), "{body}");
    }
    // Nothing was reported revoked that is not; once the role is back the
    // same requests complete.
    crate::helpers::create_role(&app.aws_endpoint, &role, 43_200).await;
    for task in revoke_all(&app, &ids) {
        assert_eq!(task.await.unwrap().0, 202);
    }
}

#[tokio::test]
async fn a_delete_cut_short_by_the_timeout_finishes_and_a_retry_answers_202() {
    let moto = Moto::start(&[]);
    let mut options = eager_options(&moto, "retry-a", None);
    let configure = std::mem::replace(&mut options.configure, Box::new(|_| {}));
    options.configure = Box::new(move |s| {
        configure(s);
        s.server.request_timeout_ms = 1_000;
    });
    let app = TestApp::spawn_with(options).await;
    app.issue(&json!({"session_id": "learner-slow"})).await;
    let (_, record) = app.session_record("learner-slow").await;
    let key = record["sandbox_key"].as_str().unwrap().to_owned();
    let made = footprint(&app.aws_endpoint, None, &[key.as_str()], &["--only", "queue"]);
    // IAM takes longer than the whole request may.
    app.calls.before_next("iam.put_inline_policy", Box::new(|| tokio::time::sleep(Duration::from_secs(3)).boxed()));
    let (status, body) = app.revoke("learner-slow", "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (504, Some("request_timeout")), "{body}");
    // The DELETE went on without its request: the session ends and is cleaned.
    let done = app.wait_for_state("learner-slow", &["cleaned", "cleanup_incomplete", "cleanup_failed"], LOADED).await;
    assert_eq!(done["state"], "cleaned", "{done}");
    assert_eq!(report_arns(&done, "deleted"), strings(&made[&key]["expected"]));
    // The platform retries: 202 with the first revocation's time, and
    // nothing is revoked, ended or cleaned again.
    let (status, receipt) = app.revoke("learner-slow", "").await;
    assert_eq!((status, receipt["state"].as_str()), (202, Some("cleaned")), "{receipt}");
    let (_, after) = app.session_record("learner-slow").await;
    assert_eq!(after["revoked"], done["revoked"], "the revocation time is the first one");
    assert_eq!(after["cleanup"], done["cleanup"], "no second cleanup");
    assert_eq!(after["cleanup"]["attempts"], 1);
    assert_eq!(policy_writes(&app), 1, "{:?}", app.calls.names());
    let deletes = app.calls.names().iter().filter(|c| **c == "resources.delete").count();
    assert_eq!(deletes, report_arns(&done, "deleted").len(), "each resource deleted once");
}

#[tokio::test]
async fn a_cleanup_that_outlives_its_request_answers_202_and_runs_once() {
    // Discovery calls EC2, after which moto's state dump (what the fake
    // federation endpoint reads) is megabytes: a moto of its own.
    let moto = Moto::start(&[]);
    let mut options = TestOptions::configured(|s| {
        s.cleanup.enabled = false;
        // The attempt lists every registered type first; the request's
        // own calls queue behind that burst at moto, which on a loaded
        // machine has taken the answer past a 10 s timeout. The wait is
        // half of this (15 s): still less than the 20 s a delete is held.
        s.server.request_timeout_ms = 30_000;
    });
    options.aws_endpoint = Some(moto.endpoint.clone());
    let app = TestApp::spawn_with(options).await;
    app.issue(&json!({"session_id": "learner-long"})).await;
    let (_, record) = app.session_record("learner-long").await;
    let key = record["sandbox_key"].as_str().unwrap().to_owned();
    let made = footprint(&app.aws_endpoint, None, &[key.as_str()], &["--only", "queue"]);
    assert_eq!(app.revoke("learner-long", "").await.0, 202);
    app.calls.reset();
    // Deleting takes longer than the request may: the answer is 202 with
    // the record while the attempt goes on.
    app.calls.before_next("resources.delete", Box::new(|| tokio::time::sleep(Duration::from_secs(20)).boxed()));
    let path = "/admin/sessions/learner-long/cleanup";
    let (status, running) = app.admin(Method::POST, path).await;
    assert_eq!(status, 202, "{running}");
    assert!(["ended", "cleaning"].contains(&running["state"].as_str().unwrap()), "{running}");
    // A retry while it runs starts nothing new.
    let (status, again) = app.admin(Method::POST, path).await;
    assert!(status == 202 || (status == 200 && again["state"] == "cleaned"), "{status} {again}");
    // Discovery (every registered type, at one moto) plus the 20 s hold:
    // on a loaded machine more than one loaded deadline.
    let states = ["cleaned", "cleanup_incomplete", "cleanup_failed"];
    let done = app.wait_for_state("learner-long", &states, 2 * LOADED).await;
    assert_eq!(done["state"], "cleaned", "{done}");
    assert_eq!(report_arns(&done, "deleted"), strings(&made[&key]["expected"]));
    // A retry after it finished answers the record as it is.
    let (status, finished) = app.admin(Method::POST, path).await;
    assert_eq!((status, &finished["cleanup"]), (200, &done["cleanup"]), "{finished}");
    assert_eq!(finished["cleanup"]["attempts"], 1);
    let deletes = app.calls.names().iter().filter(|c| **c == "resources.delete").count();
    assert_eq!(deletes, report_arns(&done, "deleted").len(), "each resource deleted once");
}
