//! Budgets that act: a spent budget freezes the session within one meter
//! interval (its keys denied by the broker's documents, launches 410,
//! nothing deleted) and an unfreeze restores it; `on_exhausted = "end"` ends
//! and cleans it; an operator freezes and unfreezes sessions, shared and in
//! a pool account, and every bad request is refused with its code.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_ec2::types::{InstanceStateName, InstanceType, ResourceType, Tag, TagSpecification};
use reqwest::Method;
use sandbox_broker::clock::{Clock, ManualClock};
use sandbox_broker::config::OnExhausted;
use serde_json::{Value, json};

use crate::helpers::{LOADED, Moto, TestApp, TestOptions, broker_sdk_config, iam_client};
use crate::pool::{PROFILE, credentials_of, members, pool_options, register, sdk_for_access};

/// A session's learner runs one m5.large, tagged as theirs: 0.107 USD an
/// hour in eu-west-1, so a 0.05 USD budget is spent within the hour.
pub(crate) async fn launch_m5(app: &TestApp, session: &Value, key: &str) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&credentials_of(app, session));
    let tag = Tag::builder().key("sandbox-key").value(key).build();
    let tags = TagSpecification::builder().resource_type(ResourceType::Instance).tags(tag).build();
    let run = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(InstanceType::M5Large)
        .min_count(1)
        .max_count(1)
        .tag_specifications(tags)
        .send()
        .await
        .unwrap();
    run.instances()[0].instance_id().unwrap().to_owned()
}

/// An eight-hour session's keys only (no sign-in: the suite's fake sign-in
/// reads moto's state, which EC2's built-in images make slow), shaped as a
/// session answer's `credentials`.
async fn keys(app: &TestApp, session_id: &str) -> Value {
    let body = json!({ "session_id": session_id, "duration_seconds": 28_800 });
    let response = app.post_sessions("?format=credential-process", &body).await;
    assert_eq!(response.status(), 201);
    let keys: Value = response.json().await.unwrap();
    json!({ "credentials": {
        "access_key_id": keys["AccessKeyId"], "secret_access_key": keys["SecretAccessKey"],
        "session_token": keys["SessionToken"] } })
}

async fn instance_state(app: &TestApp, id: &str) -> InstanceStateName {
    let ec2 = aws_sdk_ec2::Client::new(&broker_sdk_config(&app.aws_endpoint));
    let out = ec2.describe_instances().instance_ids(id).send().await.unwrap();
    out.reservations()[0].instances()[0].state().unwrap().name().unwrap().clone()
}

/// A metered broker on a moto of its own: the suite's fake sign-in reads
/// moto's whole state, which the shared server's other tests make large.
fn budgeted(moto: &Moto, clock: Arc<ManualClock>, on_exhausted: OnExhausted) -> TestOptions {
    TestOptions {
        clock,
        aws_endpoint: Some(moto.endpoint.clone()),
        ..TestOptions::configured(move |s| {
            s.spend.enabled = true;
            // A pass lists every type: back to back they would load the
            // machine the rest of the suite shares.
            s.spend.interval_seconds = 3;
            s.spend.on_exhausted = on_exhausted;
            // Meter passes list every type while EC2 loads its images:
            // other calls meanwhile may wait seconds on a loaded machine.
            s.aws.call_timeout_ms = 15_000;
            s.server.request_timeout_ms = 60_000;
            let s3 = s.profiles.get_mut("s3").unwrap();
            s3.budget_usd = Some(0.05);
            s3.max_lease_seconds = Some(86_400);
        })
    }
}

/// Waits for the stored estimate to reach the 0.05 USD budget.
async fn spent(app: &TestApp, session_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + LOADED;
    loop {
        let (_, record) = app.session_record(session_id).await;
        if record["spend"]["estimated_usd"].as_f64().is_some_and(|usd| usd >= 0.05) {
            return record;
        }
        assert!(tokio::time::Instant::now() < deadline, "budget not spent: {record}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The statements of the s3 role's revocation policy that freeze `name`.
async fn freezes(app: &TestApp, name: &str) -> Vec<Value> {
    let iam = iam_client(&app.aws_endpoint);
    let out = iam.get_role_policy().role_name(app.role("s3")).policy_name("sandbox-broker-revocations-test").send();
    let text = sandbox_broker::aws::iam::decode_policy_document(out.await.unwrap().policy_document());
    let policy: Value = serde_json::from_str(&text).unwrap();
    let pattern = json!(format!("*:{name}"));
    let statements = policy["Statement"].as_array().unwrap().clone();
    statements
        .into_iter()
        .filter(|s| s["Condition"]["StringLike"]["aws:userid"].as_array().unwrap().contains(&pattern))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_freezes_the_session_and_an_unfreeze_restores_it() {
    let moto = Moto::start(&[]);
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let app = TestApp::spawn_with(budgeted(&moto, clock.clone(), OnExhausted::Freeze)).await;
    // A request may lower the profile's budget, never raise it.
    for budget in [0.06, 0.0, -1.0, 1e9] {
        let body = json!({ "session_id": "spender-1", "budget_usd": budget });
        let refused = app.post_sessions("", &body).await;
        assert_eq!(refused.status(), 422, "{budget}");
        assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "invalid_budget");
    }
    assert_eq!(app.session_record("spender-1").await.0, 404, "nothing recorded");
    let session = app.issue(&json!({ "session_id": "spender-1", "duration_seconds": 28_800 })).await;
    let (_, record) = app.session_record("spender-1").await;
    let (key, name) = (record["sandbox_key"].as_str().unwrap(), record["role_session_name"].as_str().unwrap());
    let instance = launch_m5(&app, &session, key).await;

    clock.advance(Duration::from_secs(3_600));
    app.wait_for_state("spender-1", &["frozen"], LOADED).await;
    // Frozen first, then the estimate that froze it is stored.
    let frozen = spent(&app, "spender-1").await;
    // AWS refuses the keys issued before the freeze; the broker issues none.
    let statements = freezes(&app, name).await;
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(statements[0]["Sid"].as_str().unwrap().starts_with("Frozen"));
    assert!(statements[0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"].is_string(), "{statements:?}");
    let refused = app.post_sessions("", &json!({ "session_id": "spender-1" })).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "session_frozen");
    let launch = app.launch_url(&session);
    assert_eq!(app.http.head(&launch).send().await.unwrap().status(), 410);
    assert_eq!(instance_state(&app, &instance).await, InstanceStateName::Running, "nothing deleted");
    let (_, listed) = app.list_sessions("?state=frozen").await;
    assert!(listed.to_string().contains("spender-1"), "{listed}");

    // An operator unfreezes it: new keys and launches work, and the meter
    // does not freeze it again for the budget it already reported spent.
    let (status, thawed) = app.admin(Method::POST, "/admin/sessions/spender-1/unfreeze").await;
    assert_eq!((status, thawed["state"].as_str()), (200, Some("active")), "{thawed}");
    let extend =
        app.http.post(format!("{}/sessions/spender-1/extend", app.base)).bearer_auth(app.token("sessions:issue"));
    let refused = extend.json(&json!({ "seconds": 600 })).send().await.unwrap();
    assert_eq!(refused.status(), 409, "a spent budget is not extended");
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "budget_exhausted");
    // Keys only: the suite's fake sign-in reads moto's state, which EC2's
    // built-in images make slow once the instance is there.
    app.issue_keys("spender-1").await;
    assert_eq!(app.http.head(&launch).send().await.unwrap().status(), 200);
    let as_of = frozen["spend"]["as_of"].as_str().unwrap().to_owned();
    clock.advance(Duration::from_secs(600));
    let deadline = tokio::time::Instant::now() + LOADED;
    loop {
        let (_, again) = app.session_record("spender-1").await;
        if again["spend"]["as_of"].as_str() > Some(as_of.as_str())
            && again["spend"]["estimated_usd"] != frozen["spend"]["estimated_usd"]
        {
            assert_eq!(again["state"], "active", "{again}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not metered again: {again}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_exhausted_end_ends_the_session_and_cleans_it_up() {
    let moto = Moto::start(&[]);
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let app = TestApp::spawn_with(budgeted(&moto, clock.clone(), OnExhausted::End)).await;
    let session = keys(&app, "spender-2").await;
    let key = app.session_record("spender-2").await.1["sandbox_key"].as_str().unwrap().to_owned();
    let instance = launch_m5(&app, &session, &key).await;

    clock.advance(Duration::from_secs(3_600));
    let cleaned = app.wait_for_state("spender-2", &["cleaned"], LOADED).await;
    assert!(cleaned["cleanup"]["deleted"].to_string().contains(&instance), "{cleaned}");
    assert_eq!(instance_state(&app, &instance).await, InstanceStateName::Terminated);
}

#[tokio::test]
async fn operators_freeze_and_unfreeze_and_every_bad_request_is_refused() {
    let app = TestApp::spawn().await;
    app.issue_keys("learner-ops").await;
    for (path, status, code) in [
        ("/admin/sessions/no-such-session/freeze", 404, "session_not_found"),
        ("/admin/sessions/no-such-session/unfreeze", 404, "session_not_found"),
        ("/admin/sessions/bad%07id/freeze", 422, "invalid_session_id"),
        ("/admin/sessions/learner-ops/unfreeze", 409, "session_not_frozen"),
    ] {
        let (got, body) = app.admin(Method::POST, path).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "{path}: {body}");
    }
    assert_eq!(app.session_record("learner-ops").await.1["state"], "active", "nothing changed");
    let (status, frozen) = app.admin(Method::POST, "/admin/sessions/learner-ops/freeze").await;
    assert_eq!((status, frozen["state"].as_str()), (200, Some("frozen")), "{frozen}");
    let (status, again) = app.admin(Method::POST, "/admin/sessions/learner-ops/freeze").await;
    assert_eq!((status, again["state"].as_str()), (200, Some("frozen")), "a retried freeze: {again}");
    assert_eq!(app.revoke("learner-ops", "").await.0, 202, "a frozen session can be ended");
    let (status, ended) = app.admin(Method::POST, "/admin/sessions/learner-ops/freeze").await;
    assert_eq!((status, ended["error"]["code"].as_str()), (409, Some("session_ended")), "{ended}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_pool_account_session_keeps_its_account_and_is_denied_account_wide() {
    let moto = Moto::start(&[]);
    let app = TestApp::spawn_with(pool_options(&moto.endpoint, |_| {})).await;
    let ids = members(&moto.endpoint, 1).await;
    assert_eq!(register(&app, json!({ "account_ids": ids })).await.0, 201);
    let session = app.issue(&json!({ "session_id": "own-frozen", "profile": PROFILE })).await;
    let role = session["role_arn"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();

    let (status, frozen) = app.admin(Method::POST, "/admin/sessions/own-frozen/freeze").await;
    assert_eq!((status, frozen["state"].as_str()), (200, Some("frozen")), "{frozen}");
    let iam = aws_sdk_iam::Client::new(&sdk_for_access(&app, &ids[0]).await);
    let deny = iam.get_role_policy().role_name(&role).policy_name("sandbox-broker-revocations-all").send().await;
    assert!(deny.unwrap().policy_document().contains("aws%3ATokenIssueTime"), "denied account-wide");
    let (_, account) = app.admin(Method::GET, &format!("/admin/accounts/{}", ids[0])).await;
    assert_eq!(account["state"], "leased", "kept for inspection: {account}");
    let refused = app.post_sessions("", &json!({ "session_id": "own-frozen", "profile": PROFILE })).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(app.http.head(app.launch_url(&session)).send().await.unwrap().status(), 410);

    assert_eq!(app.admin(Method::POST, "/admin/sessions/own-frozen/unfreeze").await.0, 200);
    let again = app.issue(&json!({ "session_id": "own-frozen", "profile": PROFILE })).await;
    assert_eq!(again["account_id"], ids[0].as_str(), "the same account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_never_act_on_one_session_twice() {
    let moto = Moto::start(&[]);
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let a = TestApp::spawn_with(budgeted(&moto, clock.clone(), OnExhausted::Freeze)).await;
    let table = a.ledger_table.clone();
    let mut second = budgeted(&moto, clock.clone(), OnExhausted::Freeze);
    let configure = std::mem::replace(&mut second.configure, Box::new(|_| {}));
    second.configure = Box::new(move |s| {
        configure(s);
        s.ledger.table = table;
        s.server.replica_id = Some("test-b".into());
    });
    let b = TestApp::spawn_with(TestOptions { roles: Some(a.roles.clone()), create_roles: false, ..second }).await;
    let ids: Vec<String> = (0..4).map(|i| format!("twice-{i}")).collect();
    for id in &ids {
        let session = keys(&a, id).await;
        let record = a.session_record(id).await;
        let key = record.1["sandbox_key"].as_str().unwrap_or_else(|| panic!("{record:?}")).to_owned();
        launch_m5(&a, &session, &key).await;
    }

    // Both replicas' meters run every second over the same ledger.
    clock.advance(Duration::from_secs(3_600));
    for id in &ids {
        b.wait_for_state(id, &["frozen"], LOADED).await;
    }
    // The ledger says frozen before the Deny is written, and the estimate
    // is stored (renewing the claim) after it: wait for that store, then
    // count the replicas that froze it. The claim, renewed in the same
    // write to three intervals (3 s each) past the pass's start, keeps the
    // other replica out while the clock stands still.
    let now = clock.now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let dynamodb = aws_sdk_dynamodb::Client::new(&broker_sdk_config(&moto.endpoint));
    let iam = iam_client(&moto.endpoint);
    for id in &ids {
        let deadline = std::time::Instant::now() + LOADED;
        let item = loop {
            let key = aws_sdk_dynamodb::types::AttributeValue::S(id.clone());
            let read = dynamodb.get_item().table_name(&a.ledger_table).key("session_id", key).send().await.unwrap();
            let item = read.item.unwrap();
            if item.get("meter_until").and_then(|v| v.as_n().ok()) == Some(&(now + 9).to_string()) {
                break item;
            }
            assert!(std::time::Instant::now() < deadline, "{id}: no estimate stored after the freeze: {item:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let owner = item["meter_owner"].as_s().unwrap();
        assert!(["test", "test-b"].contains(&owner.as_str()), "{owner}");
        let mut freezes = 0;
        for policy in ["sandbox-broker-revocations-test", "sandbox-broker-revocations-test-b"] {
            let Ok(out) = iam.get_role_policy().role_name(a.role("s3")).policy_name(policy).send().await else {
                continue;
            };
            let text = sandbox_broker::aws::iam::decode_policy_document(out.policy_document());
            freezes += text.matches(&format!("\"*:{id}\"")).count();
        }
        assert_eq!(freezes, 1, "{id} frozen by exactly one replica");
    }
}
