//! The whole-lab footprint ended the way the platform ends it: two learners
//! of one shared account build the same VPC lab with the keys the broker
//! issued them, `DELETE /sessions/{id}` ends one, and the broker's own
//! cleanup takes that lab, reports the pool-only task definition `left`
//! with the reason, and takes nothing of the other learner's.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use sandbox_broker::domain::{SessionId, SessionKey};

use super::lab::script_as;
use crate::cleanup::eager_options;
use crate::helpers::{LOADED, Moto, REGION, TestApp, report_arns};

/// A session id whose key starts with a letter: RDS names must, and the
/// lab names its database `<key>-db…`.
fn session_starting_with_a_letter(prefix: &str) -> (String, String) {
    (0..)
        .map(|n| format!("{prefix}-{n}"))
        .map(|id| {
            let key = SessionKey::of(&SessionId::parse(&id).unwrap()).as_str().to_owned();
            (id, key)
        })
        .find(|(_, key)| key.starts_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap()
}

fn vpc_lab(app: &TestApp, credentials: &Value, key: &str) -> BTreeSet<String> {
    let c = |k: &str| credentials[k].as_str().unwrap().to_owned();
    let creds = (c("access_key_id"), c("secret_access_key"), c("session_token"));
    let out = script_as(
        &app.aws_endpoint,
        REGION,
        (&creds.0, &creds.1, &creds.2),
        "tests/support/vpc_lab.py",
        &["--key", key],
    );
    out["arns"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_session_takes_its_whole_lab_and_nothing_of_the_other() {
    let moto = Moto::start(&[]);
    let app = TestApp::spawn_with(eager_options(&moto, "whole-lab", None)).await;
    let ((id_a, key_a), (id_b, key_b)) =
        (session_starting_with_a_letter("lab-a"), session_starting_with_a_letter("lab-b"));
    let a = app.issue(&json!({"session_id": id_a})).await;
    let b = app.issue(&json!({"session_id": id_b})).await;
    let (lab_a, lab_b) = (vpc_lab(&app, &a["credentials"], &key_a), vpc_lab(&app, &b["credentials"], &key_b));
    assert!(lab_a.len() >= 29, "{lab_a:?}");

    let (status, ended) = app.revoke(&id_a, "").await;
    assert_eq!(status, 202, "{ended}");
    let done = app.wait_for_state(&id_a, &["cleaned", "cleanup_incomplete", "cleanup_failed"], LOADED).await;
    // The task definition is pool only (IAM cannot bound
    // DeregisterTaskDefinition to one session's): left, so incomplete.
    assert_eq!(done["state"], "cleanup_incomplete", "{done}");
    assert_eq!(report_arns(&done, "failed"), Vec::<String>::new(), "{done}");
    let pool_only: Vec<String> = lab_a.iter().filter(|a| a.contains(":task-definition/")).cloned().collect();
    assert_eq!(report_arns(&done, "left"), pool_only, "{done}");
    let reasons = done["cleanup"]["left"].as_array().unwrap().iter().map(|o| o["reason"].as_str().unwrap());
    assert!(reasons.clone().all(|r| r.contains("only in pool accounts")), "{:?}", reasons.collect::<Vec<_>>());
    let deleted: BTreeSet<String> = report_arns(&done, "deleted").into_iter().collect();
    let missing: Vec<&String> = lab_a.iter().filter(|a| !deleted.contains(*a) && !pool_only.contains(a)).collect();
    assert!(missing.is_empty(), "not deleted: {missing:?}");
    assert!(lab_b.is_disjoint(&deleted), "took the other learner's: {:?}", lab_b.intersection(&deleted));
    let types = done["cleanup"]["deleted"].as_array().unwrap().iter().map(|o| o["type"].as_str().unwrap());
    assert!(types.collect::<BTreeSet<_>>().len() >= 20, "{done}");
}
