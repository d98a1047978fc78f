//! A replica killed (SIGKILL) in the middle of a pool account's reset: its
//! claim in the pool table lapses and another replica finishes the reset;
//! the account comes back `available` with nothing left.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{LOADED, Moto, TestApp, TestOptions, footprint, mint};
use crate::pool::{PROFILE, members, pool_options, wait_for_account};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_reset_is_finished_by_another() {
    let moto = Moto::start(&[]);
    let federation = crate::helpers::FederationServer::start(&moto.endpoint, Duration::ZERO).await;
    let roles = vec![("s3".to_owned(), crate::helpers::unique("crash-shared"))];
    crate::helpers::create_role(&moto.endpoint, &roles[0].1, 43_200).await;
    let own_role = crate::helpers::unique("crash-own");
    let auth = format!("hs256_secret = \"{}\"", crate::helpers::HS256_SECRET);
    let extra = format!(
        "\n[profiles.{PROFILE}]\nrole_name = \"{own_role}\"\naccess_policy = \"policies/s3.json\"\nisolation = \"account\"\n\
         \n[cleanup]\ninterval_seconds = 1\ngrace_seconds = 0\nclaim_seconds = 5\n"
    );
    let toml = crate::helpers::test_config_toml(&moto.endpoint, &federation.endpoint(), &roles, &auth, &extra);
    let (_dir, path) = crate::helpers::write_config(&toml);
    crate::helpers::create_ledger(&moto.endpoint, &path).await;
    let settings = sandbox_broker::config::load(Some(&path)).unwrap();
    let client = aws_sdk_dynamodb::Client::new(&crate::helpers::broker_sdk_config(&moto.endpoint));
    let pool = sandbox_broker::aws::pool::dynamo::DynamoPool::new(client, settings.pool.table.clone());
    sandbox_broker::aws::pool::AccountPool::create(&pool).await.unwrap();
    let ids = members(&moto.endpoint, 1).await;

    let creds = [("AWS_ACCESS_KEY_ID", "AKIAKILLED"), ("AWS_SECRET_ACCESS_KEY", "killed")];
    let mut doomed = crate::helpers::start_broker(&path, &creds);
    let http = reqwest::Client::new();
    let token = mint(json!({"scope": "sessions:issue sessions:revoke sessions:read admin"}));
    let post = |path: &str, body: Value| {
        let request = http.post(format!("{}{path}", doomed.base)).bearer_auth(&token).json(&body);
        async move { request.send().await.unwrap() }
    };
    assert_eq!(post("/admin/accounts", json!({ "account_ids": ids })).await.status(), 201);
    let issued: Value =
        post("/sessions", json!({ "session_id": "learner-big", "profile": PROFILE })).await.json().await.unwrap();
    let made = footprint(
        &moto.endpoint,
        Some(&issued["credentials"]),
        &["crash"],
        &["--only", "bucket", "--versions", "5000"],
    );
    let bucket = made["crash"]["expected"][0].as_str().unwrap().to_owned();
    let ended = http.delete(format!("{}/sessions/learner-big", doomed.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ended.status(), 202);
    // Killed while the reset holds its claim (emptying 5,000 versions).
    let claimed = Instant::now() + LOADED;
    loop {
        let record = pool_record(&pool, &ids[0]).await;
        if record.claim.is_some() {
            break;
        }
        assert!(Instant::now() < claimed, "the reset never claimed the account: {record:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    doomed.child.kill().unwrap();
    doomed.child.wait().unwrap();
    assert_eq!(pool_record(&pool, &ids[0]).await.state.as_str(), "resetting", "killed mid-reset");

    let (ledger, table) = (settings.ledger.table.clone(), settings.pool.table.clone());
    let survivor = TestApp::spawn_with(TestOptions {
        roles: Some(roles),
        create_roles: false,
        ..pool_options(&moto.endpoint, move |s| {
            s.ledger.table = ledger;
            s.pool.table = table;
            s.cleanup.claim_seconds = 5;
            if let Some(own) = s.profiles.get_mut(PROFILE) {
                own.role_name = Some(own_role);
            }
        })
    })
    .await;
    let record = wait_for_account(&survivor, &ids[0], "available").await;
    assert_eq!(record["resets"], 1, "one reset, finished by the survivor: {record}");
    let session = survivor.wait_for_state("learner-big", &["cleaned"], LOADED).await;
    assert_eq!(session["account_id"], ids[0].as_str());
    let access = crate::pool::sdk_for_access(&survivor, &ids[0]).await;
    let buckets = aws_sdk_s3::Client::new(&access).list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty(), "{bucket} and its versions are gone: {buckets:?}");
}

async fn pool_record(
    pool: &sandbox_broker::aws::pool::dynamo::DynamoPool,
    id: &str,
) -> sandbox_broker::aws::pool::AccountRecord {
    sandbox_broker::aws::pool::AccountPool::get(pool, id).await.unwrap().unwrap()
}
