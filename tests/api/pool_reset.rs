//! Account resets that must not hand an account on: a type the registry
//! does not know quarantines it with the ARN named, a reset past
//! `pool.reset_timeout_seconds` quarantines it, a lease that runs out
//! without a DELETE resets the account all the same, and so does a lease no
//! session record binds; 50 concurrent
//! account sessions through two broker processes take a pool of 20 once each.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures_util::future::join_all;
use sandbox_broker::aws::UpstreamError;
use sandbox_broker::aws::members::{MemberClients, Members};
use sandbox_broker::aws::pool::dynamo::DynamoPool;
use sandbox_broker::aws::pool::{AccountPool, AccountState};
use sandbox_broker::clock::{Clock, ManualClock};
use sandbox_reset::clients::{Backend, Tagged};
use sandbox_reset::registry::{Deleted, Registration, Resource, Where};
use serde_json::{Value, json};

use crate::helpers::{LOADED, Moto, TestApp, TestOptions, broker_sdk_config, footprint};
use crate::pool::{PROFILE, account, available, members, pool_options, register, wait_for_account};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_resets_and_an_unknown_type_quarantines_the_account_with_its_arn() {
    let moto = Moto::start(&[]);
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let app = TestApp::spawn_with(TestOptions {
        clock: clock.clone(),
        ..pool_options(&moto.endpoint, |s| s.cleanup.grace_seconds = 0)
    })
    .await;
    let ids = members(&moto.endpoint, 1).await;
    assert_eq!(register(&app, json!({ "account_ids": ids })).await.0, 201);
    let session = app.issue(&json!({ "session_id": "learner-1", "profile": PROFILE, "duration_seconds": 900 })).await;
    let key = app.session_record("learner-1").await.1["sandbox_key"].as_str().unwrap().to_owned();
    let args = ["--account", &ids[0], "--only", "queue", "--unsupported"];
    let made = footprint(&app.aws_endpoint, Some(&session["credentials"]), &[&key], &args);
    let certificate = made[&key]["unsupported"][0].as_str().unwrap().to_owned();
    let queue = made[&key]["expected"][0].as_str().unwrap().to_owned();
    assert!(certificate.contains(&ids[0]) && queue.contains(&ids[0]), "{made}");

    // No DELETE: the lease runs out, and the worker ends and resets it.
    clock.advance(Duration::from_secs(1_000));
    let record = wait_for_account(&app, &ids[0], "quarantined").await;
    let reason = record["quarantine_reason"].as_str().unwrap();
    assert!(reason.contains(&certificate) && reason.contains("does not know"), "{record}");
    assert!(record["reset"]["left"].to_string().contains(&certificate), "{record}");
    assert!(record["reset"]["deleted"].to_string().contains(&queue), "the rest went: {record}");
    let ended = app.wait_for_state("learner-1", &["cleanup_incomplete"], LOADED).await;
    assert!(ended["cleanup"]["left"].to_string().contains(&certificate), "{ended}");
    let refused = app.post_sessions("", &json!({ "session_id": "learner-2", "profile": PROFILE })).await;
    assert_eq!(refused.status().as_u16(), 503, "a quarantined account is never leased");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_account_sessions_from_two_broker_processes_take_a_pool_of_twenty_once_each() {
    let moto = Moto::start(&[]);
    let role = crate::helpers::unique("two-own");
    let named = role.clone();
    // The app provides the config file and the tables; two broker
    // processes serve from them, each with its own reservations.
    let app = TestApp::spawn_with(pool_options(&moto.endpoint, move |s| {
        if let Some(own) = s.profiles.get_mut(PROFILE) {
            own.role_name = Some(named);
        }
    }))
    .await;
    let pool = DynamoPool::new(aws_sdk_dynamodb::Client::new(&broker_sdk_config(&moto.endpoint)), app.pool_table());
    for i in 0..20 {
        available(&pool, &format!("{:012}", 410_000_000_000_u64 + i)).await;
    }
    let env = crate::pool_cli::own_profile_env(&role);
    let start = |replica: &'static str| {
        let mut envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        envs.push(("SANDBOX_BROKER__SERVER__REPLICA_ID", replica));
        crate::helpers::start_broker(&app.config_path(), &envs)
    };
    let (first, second) = (start("process-a"), start("process-b"));
    let token = crate::helpers::mint(json!({ "scope": "sessions:issue" }));
    let requests = (0..50).map(|i| {
        let base = if i % 2 == 0 { &first.base } else { &second.base };
        let (http, token) = (app.http.clone(), token.clone());
        async move {
            let body = json!({ "session_id": format!("learner-{i}"), "profile": PROFILE });
            let url = format!("{base}/sessions?format=credential-process");
            let response = http.post(url).bearer_auth(token).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    });
    let answers = join_all(requests).await;
    let issued = answers.iter().filter(|(s, _)| *s == 201).count();
    let exhausted = answers.iter().filter(|(s, b)| *s == 503 && b["error"]["code"] == "pool_exhausted").count();
    assert_eq!((issued, exhausted), (20, 30), "{answers:?}");
    let mut leased = BTreeSet::new();
    for i in 0..50 {
        let (status, record) = app.session_record(&format!("learner-{i}")).await;
        if status == 200 {
            assert!(leased.insert(record["account_id"].as_str().unwrap().to_owned()), "an account twice: {record}");
        }
    }
    assert_eq!(leased.len(), 20, "20 sessions recorded on 20 distinct accounts");
    assert_eq!(pool.count(AccountState::Leased).await.unwrap(), 20);
}

/// Pool accounts whose deletes never finish (a resource AWS keeps
/// "deleting" forever), everything else as it is.
struct StuckDeletes(Arc<dyn Members>);

struct NeverDeletes(Arc<dyn Backend>);

#[async_trait]
impl Backend for NeverDeletes {
    async fn tagged(&self, region: &str, filter: Option<(&str, &str)>) -> Result<Tagged, UpstreamError> {
        self.0.tagged(region, filter).await
    }
    async fn list(&self, kind: &'static Registration, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
        self.0.list(kind, at).await
    }
    async fn delete(&self, _: &'static Registration, _: &Resource) -> Result<Deleted, UpstreamError> {
        std::future::pending().await
    }
    async fn gone(&self, kind: &'static Registration, resource: &Resource) -> Result<bool, UpstreamError> {
        self.0.gone(kind, resource).await
    }
}

#[async_trait]
impl Members for StuckDeletes {
    async fn management_account(&self) -> Result<String, UpstreamError> {
        self.0.management_account().await
    }
    async fn is_member(&self, account_id: &str) -> Result<bool, UpstreamError> {
        self.0.is_member(account_id).await
    }
    async fn create_account(&self, email: &str, name: &str, ou: Option<&str>) -> Result<String, UpstreamError> {
        self.0.create_account(email, name, ou).await
    }
    async fn open(&self, account_id: &str, role: &str, partition: &str) -> Result<MemberClients, UpstreamError> {
        let mut clients = self.0.open(account_id, role, partition).await?;
        clients.resources = Arc::new(NeverDeletes(clients.resources));
        Ok(clients)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_past_its_timeout_quarantines_the_account_and_never_hands_it_on() {
    let moto = Moto::start(&[]);
    let app = TestApp::spawn_with(TestOptions {
        upstreams: Box::new(|mut u| {
            u.members = Arc::new(StuckDeletes(u.members));
            u
        }),
        ..pool_options(&moto.endpoint, |s| s.pool.reset_timeout_seconds = 5)
    })
    .await;
    let ids = members(&moto.endpoint, 1).await;
    assert_eq!(register(&app, json!({ "account_ids": ids })).await.0, 201);
    let session = app.issue(&json!({ "session_id": "learner-1", "profile": PROFILE })).await;
    let sns = aws_sdk_sns::Client::new(&crate::pool::credentials_of(&app, &session));
    sns.create_topic().name("stuck-topic").send().await.unwrap();
    let (status, _) = app.revoke("learner-1", "").await;
    assert_eq!(status, 202);
    let record = wait_for_account(&app, &ids[0], "quarantined").await;
    let reason = record["quarantine_reason"].as_str().unwrap();
    assert!(reason.contains("reset_timeout_seconds"), "{record}");
    assert!(record["reset"]["failed"].to_string().contains("still running"), "{record}");
    let ended = app.wait_for_state("learner-1", &["cleanup_failed"], LOADED).await;
    assert_eq!(ended["account_id"], ids[0].as_str());
    let refused = app.post_sessions("", &json!({ "session_id": "learner-2", "profile": PROFILE })).await;
    assert_eq!(refused.status().as_u16(), 503, "never handed on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_no_session_record_binds_is_ended_and_its_account_reset() {
    let moto = Moto::start(&[]);
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let app = TestApp::spawn_with(TestOptions { clock: clock.clone(), ..pool_options(&moto.endpoint, |_| {}) }).await;
    let ids = members(&moto.endpoint, 2).await;
    assert_eq!(register(&app, json!({ "account_ids": ids })).await.0, 201);
    let session = app.issue(&json!({ "session_id": "learner-1", "profile": PROFILE, "duration_seconds": 3_600 })).await;
    let held = session["account_id"].as_str().unwrap().to_owned();
    let stray = ids.iter().find(|id| **id != held).unwrap().clone();

    // What a request leaves when its ledger write fails after the lease:
    // the account leased in the table to a session no record knows.
    let pool = DynamoPool::new(aws_sdk_dynamodb::Client::new(&broker_sdk_config(&moto.endpoint)), app.pool_table());
    let now = clock.now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let leased = pool.lease("ghost-session", now).await.unwrap().expect("the free account");
    assert_eq!(leased.account_id, stray);
    assert_eq!(account(&app, &stray).await["state"], "leased");

    clock.advance(Duration::from_secs(700));
    let record = wait_for_account(&app, &stray, "available").await;
    assert_eq!(record["resets"], 1, "reset before it is handed on: {record}");
    let kept = account(&app, &held).await;
    assert_eq!(kept["state"], "leased", "a lease its session record binds stays: {kept}");
    assert_eq!(kept["session_id"], "learner-1");
}
