//! The account pool over HTTP against moto's Organizations: registering
//! member accounts (every bad input refused, nothing registered), account
//! sessions leasing whole accounts (same session → same account, none free
//! → 503 `pool_exhausted`), ending one revoking it account-wide and
//! resetting it back to `available` with nothing the learner made left,
//! and the operator's quarantine, release, dry-run reset and removal.

use std::time::{Duration, Instant};

use aws_sdk_sns::Client as Sns;
use reqwest::Method;
use sandbox_broker::aws::pool::{AccountPool, AccountState, Transition, Written};
use sandbox_broker::config::Settings;
use serde_json::{Value, json};

use crate::helpers::{ACCOUNT, LOADED, Moto, TestApp, TestOptions, broker_sdk_config, sdk_config, unique};

pub(crate) const PROFILE: &str = "own";

/// A broker on a moto of its own (Organizations state is per server), with
/// an account profile next to the shared ones and a fast worker; `more`
/// changes the settings further.
pub(crate) fn pool_options(endpoint: &str, more: impl FnOnce(&mut Settings) + Send + 'static) -> TestOptions {
    let role = unique("sandbox-own");
    TestOptions {
        aws_endpoint: Some(endpoint.to_owned()),
        ..TestOptions::configured(move |s| {
            let template = s.profiles["s3"].policy_template.clone();
            let mut own: sandbox_broker::config::ProfileSettings =
                serde_json::from_value(json!({ "role_name": role, "isolation": "account" })).unwrap();
            own.policy_template = template;
            s.profiles.insert(PROFILE.into(), own);
            s.cleanup.interval_seconds = 1;
            // A dry-run reset searches the whole account: every type of the
            // registry, which takes moto tens of seconds on a loaded machine.
            s.server.request_timeout_ms = 180_000;
            // A reset hammers moto: other calls meanwhile may wait seconds.
            s.aws.call_timeout_ms = 15_000;
            more(s);
        })
    }
}

async fn pool_app(moto: &Moto) -> TestApp {
    TestApp::spawn_with(pool_options(&moto.endpoint, |_| {})).await
}

/// An organization managed by the broker's account, with `n` members.
pub(crate) async fn members(endpoint: &str, n: usize) -> Vec<String> {
    let org = aws_sdk_organizations::Client::new(&broker_sdk_config(endpoint));
    // A benchmark may run twice against one emulator: one organization.
    let _ = org.create_organization().send().await;
    let mut ids = Vec::new();
    for i in 0..n {
        let out = org
            .create_account()
            .email(format!("pool{i}-{}@example.com", unique("m")))
            .account_name(format!("pool{i}"))
            .send()
            .await
            .unwrap();
        ids.push(out.create_account_status().unwrap().account_id().unwrap().to_owned());
    }
    ids
}

/// Moves `account_id` between states straight in the table (set-up a test
/// or benchmark does as registration or a reset would).
pub(crate) async fn moved(pool: &dyn AccountPool, account_id: &str, from: AccountState, to: AccountState) {
    let t = Transition { account_id, session_id: None, from: &[from], to, now: 0, reason: None };
    assert!(matches!(pool.transition(&t).await.unwrap(), Written::Done(_)), "{account_id}: {from:?} → {to:?}");
}

/// Registers `account_id` as available straight in the table.
pub(crate) async fn available(pool: &dyn AccountPool, account_id: &str) {
    assert!(pool.register(account_id, 0).await.unwrap(), "{account_id} registered already");
    moved(pool, account_id, AccountState::Provisioning, AccountState::Available).await;
}

pub(crate) fn credentials_of(app: &TestApp, session: &Value) -> aws_config::SdkConfig {
    let c = &session["credentials"];
    let get = |k: &str| c[k].as_str().unwrap().to_owned();
    sdk_config(&app.aws_endpoint, &get("access_key_id"), &get("secret_access_key"), Some(&get("session_token")))
}

pub(crate) async fn account(app: &TestApp, id: &str) -> Value {
    let (status, record) = app.admin(Method::GET, &format!("/admin/accounts/{id}")).await;
    assert_eq!(status, 200, "{record}");
    record
}

pub(crate) async fn wait_for_account(app: &TestApp, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + LOADED * 2;
    loop {
        let record = account(app, id).await;
        if record["state"] == state {
            return record;
        }
        assert!(Instant::now() < deadline, "{id} never became {state}: {record}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub(crate) async fn register(app: &TestApp, body: Value) -> (u16, Value) {
    post_json(app, "/admin/accounts", body).await
}

pub(crate) async fn post_json(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let response =
        app.http.post(format!("{}{path}", app.base)).bearer_auth(app.token("admin")).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn listed(app: &TestApp) -> Vec<String> {
    let (status, page) = app.admin(Method::GET, "/admin/accounts").await;
    assert_eq!(status, 200, "{page}");
    let mut ids: Vec<String> =
        page["accounts"].as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_every_bad_input_and_registers_nothing() {
    let moto = Moto::start(&[]);
    let app = pool_app(&moto).await;
    let (status, alone) = register(&app, json!({ "account_ids": ["210987654321"] })).await;
    assert_eq!((status, alone["error"]["code"].as_str()), (409, Some("no_organization")), "{alone}");
    let ids = members(&moto.endpoint, 1).await;
    let refusals = [
        (json!({ "account_ids": ["12345"] }), 422, "invalid_account_id"),
        (json!({ "account_ids": [ACCOUNT] }), 422, "account_refused"),
        (json!({ "account_ids": ["999999999999"] }), 422, "account_not_member"),
        (json!({ "account_ids": [&ids[0], &ids[0]] }), 422, "invalid_account_id"),
        (json!({ "account_ids": [&ids[0]], "create": 1 }), 422, "invalid_registration"),
        (json!({ "account_ids": [] }), 422, "invalid_registration"),
        (json!({ "create": 0 }), 422, "invalid_create"),
        (json!({ "create": 1 }), 422, "invalid_create"),
        (json!({ "account_ids": [&ids[0]], "extra": true }), 422, "unknown_field"),
    ];
    for (body, status, code) in refusals {
        let (got, answer) = register(&app, body.clone()).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{body}: {answer}");
        assert!(listed(&app).await.is_empty(), "{body} registered something");
    }
    let (status, answer) = register(&app, json!({ "account_ids": [&ids[0]] })).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["accounts"][0]["state"], "available", "{answer}");
    let (status, again) = register(&app, json!({ "account_ids": [&ids[0]] })).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("account_registered")), "{again}");
    let (status, bad) = app.admin(Method::GET, "/admin/accounts/12").await;
    assert_eq!((status, bad["error"]["code"].as_str()), (422, Some("invalid_account_id")), "{bad}");
    let (status, missing) = app.admin(Method::GET, "/admin/accounts/999999999999").await;
    assert_eq!((status, missing["error"]["code"].as_str()), (404, Some("account_not_found")), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_gets_a_whole_account_which_comes_back_clean_after_the_session() {
    let moto = Moto::start(&[]);
    let app = pool_app(&moto).await;
    let ids = members(&moto.endpoint, 2).await;
    let (status, answer) = register(&app, json!({ "account_ids": ids })).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(account(&app, &ids[0]).await["drift"], json!([]), "provisioned as configured");

    // Two learners, one account each; the same session keeps its account.
    let first = app.issue(&json!({ "session_id": "learner-1", "profile": PROFILE })).await;
    let held = first["account_id"].as_str().expect("account_id").to_owned();
    assert!(ids.contains(&held), "{first}");
    assert!(first["role_arn"].as_str().unwrap().contains(&format!("::{held}:role/")), "{first}");
    let again = app.issue(&json!({ "session_id": "learner-1", "profile": PROFILE })).await;
    assert_eq!(again["account_id"], first["account_id"]);
    let second = app.issue(&json!({ "session_id": "learner-2", "profile": PROFILE })).await;
    let other = second["account_id"].as_str().unwrap().to_owned();
    assert_ne!(other, held);
    let response = app.post_sessions("", &json!({ "session_id": "learner-3", "profile": PROFILE })).await;
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "pool_exhausted", "{body}");
    assert_eq!(app.session_record("learner-3").await.0, 404, "nothing recorded");
    assert_eq!(app.session_record("learner-1").await.1["account_id"], held.as_str());

    // Each learner works in their own account.
    let mine = Sns::new(&credentials_of(&app, &first));
    let topic = mine.create_topic().name(unique("lab-topic")).send().await.unwrap().topic_arn.unwrap();
    assert!(topic.contains(&held), "{topic}");
    let theirs = Sns::new(&credentials_of(&app, &second));
    let kept = theirs.create_topic().name(unique("other-topic")).send().await.unwrap().topic_arn.unwrap();
    assert_eq!(account(&app, &held).await["state"], "leased");
    let (status, refused) = app.admin(Method::DELETE, &format!("/admin/accounts/{held}")).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("account_state")), "{refused}");

    // Dry run: what a reset would delete now, deleting nothing.
    let (status, preview) = app.admin(Method::POST, &format!("/admin/accounts/{held}/reset?dry_run=true")).await;
    assert_eq!(status, 200, "{preview}");
    assert!(preview["reset"]["deleted"].to_string().contains(&topic), "{preview}");
    mine.get_topic_attributes().topic_arn(&topic).send().await.expect("still there");

    // Ending the session revokes the account and resets it.
    let (status, ended) = app.revoke("learner-1", "").await;
    assert_eq!(status, 202, "{ended}");
    let record = wait_for_account(&app, &held, "available").await;
    assert!(record["reset"]["deleted"].to_string().contains(&topic), "{record}");
    assert_eq!(record["resets"], 1, "{record}");
    let session = app.wait_for_state("learner-1", &["cleaned"], LOADED).await;
    assert!(session["cleanup"]["deleted"].to_string().contains(&topic), "{session}");
    let access = sdk_for_access(&app, &held).await;
    let iam = aws_sdk_iam::Client::new(&access);
    let role = first["role_arn"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let deny = iam.get_role_policy().role_name(&role).policy_name("sandbox-broker-revocations-all").send().await;
    assert!(deny.unwrap().policy_document().contains("aws%3ATokenIssueTime"), "revoked account-wide");
    let topics = Sns::new(&access).list_topics().send().await.unwrap();
    assert!(topics.topics().is_empty(), "nothing left: {topics:?}");
    theirs.get_topic_attributes().topic_arn(&kept).send().await.expect("the other learner's account is untouched");
    // A role changed by hand is drift: in the account's record, and in
    // the status's live check of an available account (the only one).
    iam.update_role().role_name(&role).max_session_duration(7_200).send().await.unwrap();
    assert!(account(&app, &held).await["drift"].to_string().contains(&role), "drift shown");
    let (_, status) = app.admin(Method::GET, "/admin/status").await;
    assert_eq!(status["pool"]["roles"]["checked_in"], held.as_str(), "{status}");
    assert!(status["pool"]["roles"]["drift"].to_string().contains(&role), "{status}");

    // Quarantine ends the other session first; release resets it back.
    let path = format!("/admin/accounts/{other}/quarantine");
    let (status, quarantined) = post_json(&app, &path, json!({ "reason": "inspect" })).await;
    assert_eq!(status, 200, "{quarantined}");
    assert_eq!(quarantined["quarantine_reason"], "inspect");
    assert_ne!(app.session_record("learner-2").await.1["state"], "active");
    let (status, removed) = app.admin(Method::DELETE, &format!("/admin/accounts/{held}")).await;
    assert_eq!(status, 200, "{removed}");
    let (status, released) = app.admin(Method::POST, &format!("/admin/accounts/{other}/release")).await;
    assert_eq!((status, released["state"].as_str()), (202, Some("resetting")), "{released}");
    wait_for_account(&app, &other, "available").await;
    assert_eq!(listed(&app).await, std::slice::from_ref(&other), "the removed account is no longer listed");
    let (status, refused) = app.admin(Method::POST, &format!("/admin/accounts/{other}/release")).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("account_state")), "{refused}");
    let metrics = app.metrics().await;
    assert!(metrics.contains("sandbox_broker_pool_exhausted_total"), "{metrics}");
    assert!(metrics.contains("sandbox_broker_reset_duration_seconds"), "{metrics}");
}

/// Credentials in a member account through its access role.
pub(crate) async fn sdk_for_access(app: &TestApp, account: &str) -> aws_config::SdkConfig {
    let sts = aws_sdk_sts::Client::new(&broker_sdk_config(&app.aws_endpoint));
    let role = format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole");
    let out = sts.assume_role().role_arn(role).role_session_name("test").send().await.unwrap();
    let c = out.credentials().unwrap();
    sdk_config(&app.aws_endpoint, c.access_key_id(), c.secret_access_key(), Some(c.session_token()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_created_through_organizations_up_to_the_cap_and_min_available_is_kept() {
    let moto = Moto::start(&[]);
    let app = TestApp::spawn_with(pool_options(&moto.endpoint, |s| {
        s.pool.create_email = Some("aws+pool{n}@example.com".into());
        s.pool.min_available = 1;
        s.pool.max_accounts = 3;
    }))
    .await;
    members(&moto.endpoint, 0).await;
    // The worker creates one account on its own to keep one available.
    let deadline = Instant::now() + LOADED;
    while listed(&app).await.is_empty() {
        assert!(Instant::now() < deadline, "min_available never created an account");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let first = listed(&app).await[0].clone();
    wait_for_account(&app, &first, "available").await;
    let (status, refused) = register(&app, json!({ "create": 3 })).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid_create")), "{refused}");
    let (status, created) = register(&app, json!({ "create": 2 })).await;
    assert_eq!(status, 201, "{created}");
    assert!(created["accounts"].as_array().unwrap().iter().all(|a| a["state"] == "available"), "{created}");
    assert_eq!(listed(&app).await.len(), 3);
    // Pages of one account each, through a cursor signed for its filter.
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/accounts?state=available&limit=1&cursor={c}"),
            None => "/admin/accounts?state=available&limit=1".to_owned(),
        };
        let (status, page) = app.admin(Method::GET, &path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["accounts"].as_array().unwrap().iter().map(|a| a["account_id"].clone()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    let forged = cursor.map_or("forged.cursor".to_owned(), |c| format!("{c}x"));
    let (status, bad) = app.admin(Method::GET, &format!("/admin/accounts?limit=1&cursor={forged}")).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (400, Some("invalid_query")), "{bad}");
    let (status, _) = app.admin(Method::GET, "/admin/accounts?state=gone").await;
    assert_eq!(status, 400);
    let (status, full) = register(&app, json!({ "create": 1 })).await;
    assert_eq!((status, full["error"]["code"].as_str()), (422, Some("invalid_create")), "{full}");
}
