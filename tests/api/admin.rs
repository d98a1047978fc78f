//! Bootstrap, teardown and status against moto: converge, re-converge with
//! no writes, repair drift, and never touch what is not ours.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOptions, actions, iam_client, repo_path};

const WRITES: [&str; 10] = [
    "iam.create_role",
    "iam.update_trust_policy",
    "iam.update_max_session",
    "iam.tag_role",
    "iam.set_permissions_boundary",
    "iam.put_inline_policy",
    "iam.delete_inline_policy",
    "iam.attach_policy",
    "iam.detach_policy",
    "iam.delete_role",
];

fn writes(app: &TestApp) -> Vec<&'static str> {
    app.calls.names().into_iter().filter(|n| WRITES.contains(n)).collect()
}

async fn fresh_app() -> TestApp {
    TestApp::spawn_with(TestOptions { create_roles: false, ..Default::default() }).await
}

fn decode(doc: &str) -> Value {
    let text = sandbox_broker::aws::iam::decode_policy_document(doc);
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let app = fresh_app().await;
    let (status, report) = app.admin(Method::POST, "/admin/bootstrap?dry_run=true").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["dry_run"], true);
    assert!(actions(&report).iter().all(|a| a == "create"), "{report}");
    assert!(writes(&app).is_empty());
    let missing = iam_client(&app.aws_endpoint).get_role().role_name(app.role("s3")).send().await;
    assert!(missing.is_err(), "dry run must not create the role");
}

#[tokio::test]
async fn apply_creates_the_configured_state_and_a_second_run_is_all_unchanged() {
    let app = fresh_app().await;
    let (status, report) = app.admin(Method::POST, "/admin/bootstrap").await;
    assert_eq!(status, 200, "{report}");
    // Per profile: the permissions boundary, the role, its access policy;
    // then the session ledger and the account pool's table.
    assert_eq!(actions(&report), ["create"; 8], "{report}");
    assert!(report["changes"][6]["resource"].as_str().unwrap().starts_with("dynamodb/table/sessions-"), "{report}");
    assert!(report["changes"][7]["resource"].as_str().unwrap().starts_with("dynamodb/table/accounts-"), "{report}");
    let principal = report["broker_principal_arn"].as_str().unwrap().to_owned();

    // Read it back through IAM and compare documents.
    let iam = iam_client(&app.aws_endpoint);
    let role_name = app.role("s3");
    let role = iam.get_role().role_name(role_name).send().await.unwrap();
    let role = role.role().unwrap();
    assert_eq!(role.max_session_duration(), Some(43_200));
    let trust = decode(role.assume_role_policy_document().unwrap());
    assert_eq!(trust["Statement"][0]["Principal"]["AWS"], principal);
    assert_eq!(trust["Statement"][0]["Action"], json!(["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]));
    let tags = iam.list_role_tags().role_name(role_name).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "managed-by" && t.value() == "sandbox-broker"));
    let policy = iam.get_role_policy().role_name(role_name).policy_name("sandbox-broker-access").send().await.unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("config/policies/s3.json")).unwrap()).unwrap();
    assert_eq!(decode(policy.policy_document()), expected);

    // The role carries the generated boundary: the access policy plus the guardrails.
    let boundary_arn = role.permissions_boundary().unwrap().permissions_boundary_arn().unwrap();
    assert!(boundary_arn.contains(&format!(":policy/sandbox-broker/boundary-{role_name}-")), "{boundary_arn}");
    let boundary = iam.get_policy_version().policy_arn(boundary_arn).version_id("v1").send().await.unwrap();
    let boundary = decode(boundary.policy_version().unwrap().document().unwrap());
    assert_eq!(boundary["Statement"][0], expected["Statement"][0]);
    assert!(boundary.to_string().contains("GuardrailDeniedActions"));

    // Both principals' policies cover both roles.
    for principal in ["broker_policy", "provisioner_policy"] {
        let policy = report[principal].to_string();
        assert!(policy.contains(&format!("role/{role_name}")) && policy.contains(app.role("other")), "{principal}");
    }

    // Second run: everything unchanged, zero writes.
    app.calls.reset();
    let (status, again) = app.admin(Method::POST, "/admin/bootstrap").await;
    assert_eq!(status, 200);
    assert!(actions(&again).iter().all(|a| a == "unchanged"), "{again}");
    assert!(writes(&app).is_empty(), "second run wrote: {:?}", writes(&app));

    // And sessions can now be issued for the provisioned profile.
    let session = app.issue(&json!({"session_id": "after-bootstrap"})).await;
    assert!(session["role_arn"].as_str().unwrap().ends_with(role_name));

    // A revocation policy survives a bootstrap, reported as unchanged.
    assert_eq!(app.revoke("after-bootstrap", "").await.0, 202);
    app.calls.reset();
    let (status, third) = app.admin(Method::POST, "/admin/bootstrap").await;
    assert_eq!(status, 200);
    assert!(actions(&third).iter().all(|a| a == "unchanged"), "{third}");
    let kept = format!("role/{role_name}/policy/sandbox-broker-revocations-test");
    assert!(third["changes"].as_array().unwrap().iter().any(|c| c["resource"] == kept), "{third}");
    assert!(writes(&app).is_empty());
}

#[tokio::test]
async fn drift_is_reported_and_repaired() {
    let app = fresh_app().await;
    assert_eq!(app.admin(Method::POST, "/admin/bootstrap").await.0, 200);
    let iam = iam_client(&app.aws_endpoint);
    let role = app.role("s3");
    let wide = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    iam.put_role_policy()
        .role_name(role)
        .policy_name("sandbox-broker-access")
        .policy_document(wide.to_string())
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(role)
        .policy_name("hand-made")
        .policy_document(wide.to_string())
        .send()
        .await
        .unwrap();
    iam.update_role().role_name(role).max_session_duration(3600).send().await.unwrap();

    let (status, report) = app.admin(Method::GET, "/admin/status").await;
    assert_eq!(status, 200, "{report}");
    let s3 = report["profiles"].as_array().unwrap().iter().find(|p| p["profile"] == "s3").unwrap().clone();
    assert_eq!(s3["state"], "drifted", "{s3}");
    assert_eq!(s3["drift"].as_array().unwrap().len(), 3, "{s3}");

    let (status, repaired) = app.admin(Method::POST, "/admin/bootstrap").await;
    assert_eq!(status, 200);
    let acted: Vec<_> = actions(&repaired).into_iter().filter(|a| a != "unchanged").collect();
    assert_eq!(acted, ["update", "update", "delete"], "{repaired}");
    let (_, report) = app.admin(Method::GET, "/admin/status").await;
    assert!(report["profiles"].as_array().unwrap().iter().all(|p| p["state"] == "provisioned"), "{report}");
}

#[tokio::test]
async fn teardown_removes_only_managed_roles() {
    let app = fresh_app().await;
    // A role of the same name as profile `other` that someone else owns.
    crate::helpers::create_role(&app.aws_endpoint, app.role("other"), 3600).await;
    let (status, report) = app.admin(Method::POST, "/admin/bootstrap?profile=s3").await;
    assert_eq!(status, 200, "{report}");
    let (status, refused) = app.admin(Method::POST, "/admin/bootstrap").await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "role_not_managed");
    assert!(refused["error"]["completed"].is_array(), "reports what was done before: {refused}");

    let (status, dry) = app.admin(Method::DELETE, "/admin/bootstrap?dry_run=true").await;
    assert_eq!(status, 200, "{dry}");
    assert!(iam_client(&app.aws_endpoint).get_role().role_name(app.role("s3")).send().await.is_ok());

    let (status, report) = app.admin(Method::DELETE, "/admin/bootstrap").await;
    assert_eq!(status, 200, "{report}");
    let iam = iam_client(&app.aws_endpoint);
    assert!(iam.get_role().role_name(app.role("s3")).send().await.is_err(), "managed role deleted");
    assert!(iam.get_role().role_name(app.role("other")).send().await.is_ok(), "unmanaged role survives");
    let other = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == format!("role/{}", app.role("other")))
        .unwrap()
        .clone();
    assert_eq!(other["action"], "unchanged");
    assert!(other["detail"].as_str().unwrap().contains("left alone"));
}

#[tokio::test]
async fn bad_admin_requests_change_nothing() {
    let app = fresh_app().await;
    let (status, body) = app.admin(Method::POST, "/admin/bootstrap?profile=nope").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("unknown_profile")));
    let (status, body) = app.admin(Method::POST, "/admin/bootstrap?dry_run=maybe").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_query")));
    assert_eq!(app.calls.get(), 0, "no AWS call");
    let response = app
        .http
        .post(format!("{}/admin/bootstrap", app.base))
        .bearer_auth(app.token("sessions:issue sessions:revoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn concurrent_bootstraps_and_teardowns_all_succeed_and_converge() {
    let app = std::sync::Arc::new(fresh_app().await);
    // Interleaved, an unserialised teardown deletes the role between a
    // bootstrap's GetRole and its ListRolePolicies (NoSuchEntity).
    let runs: Vec<_> = (0..8)
        .map(|i| {
            let app = app.clone();
            let method = if i % 2 == 0 { Method::POST } else { Method::DELETE };
            tokio::spawn(async move { app.admin(method, "/admin/bootstrap").await })
        })
        .collect();
    for run in runs {
        let (status, body) = run.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let (status, report) = app.admin(Method::POST, "/admin/bootstrap").await;
    assert_eq!(status, 200, "{report}");
    let (status, status_report) = app.admin(Method::GET, "/admin/status").await;
    assert_eq!(status, 200, "{status_report}");
    for profile in status_report["profiles"].as_array().unwrap() {
        assert_eq!(profile["state"], "provisioned", "{status_report}");
    }
}

#[tokio::test]
async fn a_role_deleted_between_read_and_write_is_a_409_concurrent_change() {
    let app = fresh_app().await;
    let (status, report) = app.admin(Method::POST, "/admin/bootstrap?profile=s3").await;
    assert_eq!(status, 200, "{report}");
    // Drift, so the next run writes; another replica's teardown deletes the
    // role after this run has read it, just before its first write.
    let iam = iam_client(&app.aws_endpoint);
    let role = app.role("s3").to_owned();
    iam.update_role().role_name(&role).max_session_duration(3600).send().await.unwrap();
    let hook_iam = iam.clone();
    app.calls.before_next(
        "iam.update_max_session",
        Box::new(move || {
            Box::pin(async move {
                let policies = hook_iam.list_role_policies().role_name(&role).send().await.unwrap();
                for name in policies.policy_names() {
                    hook_iam.delete_role_policy().role_name(&role).policy_name(name).send().await.unwrap();
                }
                hook_iam.delete_role().role_name(&role).send().await.unwrap();
            })
        }),
    );
    let (status, body) = app.admin(Method::POST, "/admin/bootstrap?profile=s3").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("concurrent_change")), "{body}");
    assert!(body["error"]["completed"].is_array(), "{body}");
    // The next run sees the role absent and recreates it.
    let (status, again) = app.admin(Method::POST, "/admin/bootstrap?profile=s3").await;
    assert_eq!(status, 200, "{again}");
    assert!(actions(&again).iter().any(|a| a == "create"), "{again}");
}
