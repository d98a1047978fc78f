//! The whole-lab footprint in a learner's own account, over HTTP: the VPC
//! lab in two regions built with the keys the broker issued; ending the
//! session brings the account back `available` (through a cooldown) with
//! nothing unprotected left and the default VPC in each region, while a
//! second learner's account is untouched. The console link works while the
//! session holds its account and is refused (410) once it has ended; a
//! reset refuses the broker's own account whatever the pool table says.

use aws_sdk_ec2::types::Filter;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ACCOUNT, Moto, TestApp, broker_sdk_config};
use crate::pool::{PROFILE, account, available, members, pool_options, register, sdk_for_access, wait_for_account};
use crate::registry::lab::script_as;

const SECOND: &str = "us-east-1";

fn keys(session: &Value) -> (String, String, String) {
    let c = &session["credentials"];
    let get = |k: &str| c[k].as_str().unwrap().to_owned();
    (get("access_key_id"), get("secret_access_key"), get("session_token"))
}

async fn default_vpcs(app: &TestApp, account_id: &str, region: &str) -> usize {
    let access = sdk_for_access(app, account_id).await;
    let config =
        aws_sdk_ec2::config::Builder::from(&access).region(aws_sdk_ec2::config::Region::new(region.to_owned()));
    let filter = Filter::builder().name("is-default").values("true").build();
    let out = aws_sdk_ec2::Client::from_conf(config.build()).describe_vpcs().filters(filter).send().await.unwrap();
    out.vpcs().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_lab_in_two_regions_goes_and_the_account_comes_back_with_its_default_vpcs() {
    let moto = Moto::start(&[]);
    let app = TestApp::spawn_with(pool_options(&moto.endpoint, |s| {
        s.pool.regions = [crate::helpers::REGION, SECOND]
            .iter()
            .map(|r| sandbox_broker::domain::Region::parse(r).unwrap())
            .collect();
        s.pool.cooldown_seconds = 2;
    }))
    .await;
    let ids = members(&moto.endpoint, 2).await;
    assert_eq!(register(&app, json!({ "account_ids": ids })).await.0, 201);
    let mine = app.issue(&json!({ "session_id": "learner-lab", "profile": PROFILE })).await;
    let theirs = app.issue(&json!({ "session_id": "learner-other", "profile": PROFILE })).await;
    let (held, other) =
        (mine["account_id"].as_str().unwrap().to_owned(), theirs["account_id"].as_str().unwrap().to_owned());
    let launch = app.launch_url(&mine);
    assert_eq!(app.http.get(&launch).send().await.unwrap().status().as_u16(), 302, "the console opens the account");

    let (key, secret, token) = keys(&mine);
    let mut built = Vec::new();
    // IAM names are global: one key per region's copy.
    for (region, lab_key) in [(crate::helpers::REGION, "aa0000000001"), (SECOND, "bb0000000002")] {
        let lab = script_as(
            &app.aws_endpoint,
            region,
            (&key, &secret, &token),
            "tests/support/vpc_lab.py",
            &["--key", lab_key],
        );
        built.extend(lab["arns"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()));
    }
    // In the learner's account (API Gateway's ARNs name no account).
    assert!(built.len() >= 58 && built.iter().all(|a| a.contains(&held) || a.contains(":apigateway:")), "{built:?}");
    let (t_key, t_secret, t_token) = keys(&theirs);
    let kept = script_as(
        &app.aws_endpoint,
        crate::helpers::REGION,
        (&t_key, &t_secret, &t_token),
        "tests/support/vpc_lab.py",
        &["--key", "cc0000000003"],
    );

    assert_eq!(app.revoke("learner-lab", "").await.0, 202);
    let record = wait_for_account(&app, &held, "available").await;
    let deleted = record["reset"]["deleted"].to_string();
    let missing: Vec<&String> = built.iter().filter(|a| !deleted.contains(a.as_str())).collect();
    assert!(missing.is_empty(), "not in the reset report: {missing:?}");
    assert_eq!(record["reset"]["failed"], json!([]), "{record}");
    assert_eq!(record["reset"]["left"], json!([]), "{record}");
    assert_eq!(app.http.get(&launch).send().await.unwrap().status().as_u16(), 410, "an ended session's link");
    let (status, preview) = app.admin(Method::POST, &format!("/admin/accounts/{held}/reset?dry_run=true")).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["reset"]["deleted"], json!([]), "nothing unprotected left: {preview}");
    for region in [crate::helpers::REGION, SECOND] {
        assert_eq!(default_vpcs(&app, &held, region).await, 1, "the default VPC in {region}");
    }
    let (status, page) = app.admin(Method::POST, &format!("/admin/accounts/{other}/reset?dry_run=true")).await;
    assert_eq!(status, 200, "{page}");
    let still = page["reset"]["deleted"].to_string();
    let untouched = kept["arns"].as_array().unwrap().iter().all(|a| still.contains(a.as_str().unwrap()));
    assert!(untouched, "the other learner's lab is all still there: {page}");
    assert_eq!(account(&app, &other).await["state"], "leased");
    let metrics = app.metrics().await;
    assert!(metrics.contains("sandbox_broker_pool_accounts{state=\"leased\"}"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_refuses_the_brokers_own_account_whatever_the_pool_table_says() {
    let moto = Moto::start(&[]);
    let app = TestApp::spawn_with(pool_options(&moto.endpoint, |_| {})).await;
    // Written straight into the table: registration would refuse it.
    let pool = sandbox_broker::aws::pool::dynamo::DynamoPool::new(
        aws_sdk_dynamodb::Client::new(&broker_sdk_config(&moto.endpoint)),
        app.pool_table(),
    );
    available(&pool, ACCOUNT).await;
    members(&moto.endpoint, 0).await;
    let (status, started) = app.admin(Method::POST, &format!("/admin/accounts/{ACCOUNT}/reset")).await;
    assert_eq!(status, 202, "{started}");
    let record = wait_for_account(&app, ACCOUNT, "quarantined").await;
    let reason = record["quarantine_reason"].as_str().unwrap();
    assert!(reason.contains("refused") && reason.contains("broker's own account"), "{record}");
    assert_eq!(record["reset"]["deleted"], json!([]), "nothing was deleted: {record}");
}

/// A role of the profile's name that the broker does not own (no
/// `managed-by` tag) makes provisioning fail: the account is quarantined
/// with the reason, never available, and no session gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioning_failure_keeps_the_account_out_of_the_pool() {
    let moto = Moto::start(&[]);
    let role = crate::helpers::unique("foreign-own");
    let named = role.clone();
    let app = TestApp::spawn_with(pool_options(&moto.endpoint, move |s| {
        if let Some(own) = s.profiles.get_mut(PROFILE) {
            own.role_name = Some(named);
        }
    }))
    .await;
    let ids = members(&moto.endpoint, 1).await;
    let iam = aws_sdk_iam::Client::new(&sdk_for_access(&app, &ids[0]).await);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role().role_name(&role).assume_role_policy_document(trust).send().await.unwrap();
    let (status, answer) = register(&app, json!({ "account_ids": ids })).await;
    assert_eq!(status, 201, "{answer}");
    let registered = &answer["accounts"][0];
    assert_eq!(registered["state"], "quarantined", "{answer}");
    let reason = registered["quarantine_reason"].as_str().unwrap();
    assert!(reason.contains("provisioning failed") && reason.contains(&role), "{reason}");
    let refused = app.post_sessions("", &json!({ "session_id": "learner-1", "profile": PROFILE })).await;
    assert_eq!(refused.status().as_u16(), 503, "a quarantined account is never leased");
}
