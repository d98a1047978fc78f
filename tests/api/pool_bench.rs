//! The account pool's benchmarks (`scripts/bench_pool.sh`), through the
//! latency proxy: end of session to `available` (a near-empty account, and
//! one holding the VPC lab in two regions), and `POST /sessions` latency
//! for an account profile with 5 and 5,000 registered accounts against a
//! shared profile. Ignored in the suite; the script runs them with
//! BENCH_ENDPOINT (the proxy) and BENCH_MOTO (moto itself, for set-up).

use std::time::{Duration, Instant};

use reqwest::Method;
use sandbox_broker::aws::pool::AccountState;
use sandbox_broker::aws::pool::dynamo::DynamoPool;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOptions, broker_sdk_config};
use crate::pool::{PROFILE, account, available, members, moved, pool_options, register};
use crate::registry::lab::script_as;

const SECOND_REGION: &str = "us-east-1";

fn bench_env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn endpoint() -> String {
    std::env::var("BENCH_ENDPOINT").expect("BENCH_ENDPOINT")
}

async fn bench_app(more: impl FnOnce(&mut sandbox_broker::config::Settings) + Send + 'static) -> TestApp {
    TestApp::spawn_with(TestOptions {
        ..pool_options(&endpoint(), move |s| {
            s.pool.regions = ["eu-west-1", SECOND_REGION]
                .iter()
                .map(|r| sandbox_broker::domain::Region::parse(r).unwrap())
                .collect();
            s.aws.call_timeout_ms = 30_000;
            s.cleanup.max_parallel = bench_env("BENCH_PARALLEL", 32);
            more(s);
        })
    })
    .await
}

/// Ends `session` and times it to the account being `available` again.
async fn end_to_available(app: &TestApp, session: &str, account_id: &str) -> (f64, Value) {
    let started = Instant::now();
    let (status, ended) = app.revoke(session, "").await;
    assert_eq!(status, 202, "{ended}");
    loop {
        let record = account(app, account_id).await;
        match record["state"].as_str() {
            Some("available") => return (started.elapsed().as_secs_f64(), record),
            Some("quarantined") => panic!("quarantined: {record}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by scripts/bench_pool.sh"]
async fn bench_end_of_session_to_available_through_the_proxy() {
    let with_lab = std::env::var("BENCH_LAB").is_ok_and(|v| v == "1");
    let app = bench_app(|_| {}).await;
    let ids = members(&app.aws_endpoint, 1).await;
    assert_eq!(register(&app, json!({ "account_ids": ids })).await.0, 201);
    // Keys only: the suite's fake federation endpoint reads moto's whole
    // state dump to check a sign-in, which a lab makes slow.
    let (_, c) = timed_issue(&app, &json!({ "session_id": "bench-learner", "profile": PROFILE })).await;
    let mut built = 0;
    if with_lab {
        let creds = (
            c["AccessKeyId"].as_str().unwrap(),
            c["SecretAccessKey"].as_str().unwrap(),
            c["SessionToken"].as_str().unwrap(),
        );
        // IAM names are global: one key per region's copy.
        for (region, key) in [("eu-west-1", "aa0000000001"), (SECOND_REGION, "bb0000000002")] {
            let lab = script_as(&app.aws_endpoint, region, creds, "tests/support/vpc_lab.py", &["--key", key]);
            built += lab["arns"].as_array().unwrap().len();
        }
        // The bucket footprint of the cleanup benchmark, straight into moto
        // (set-up, not timed): BENCH_BUCKETS buckets of BENCH_VERSIONS versions.
        let (buckets, versions) = (bench_env("BENCH_BUCKETS", 0), bench_env("BENCH_VERSIONS", 500));
        if buckets > 0 {
            let moto = std::env::var("BENCH_MOTO").expect("BENCH_MOTO");
            let key = "cc0000000003";
            let args = [
                "--key",
                key,
                "--only",
                "bucket",
                "--buckets",
                &buckets.to_string(),
                "--versions",
                &versions.to_string(),
            ];
            let made = script_as(&moto, "eu-west-1", creds, "scripts/lib/footprint.py", &args);
            built += made[key]["expected"].as_array().unwrap().len();
        }
    }
    let (seconds, record) = end_to_available(&app, "bench-learner", &ids[0]).await;
    let deleted = record["reset"]["deleted"].as_array().map_or(0, Vec::len);
    println!("BENCH {{\"seconds\": {seconds:.3}, \"built\": {built}, \"deleted\": {deleted}}}");
}

/// p50 and p90 of `n` timed calls, in milliseconds.
fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9))
}

/// Keys only (`credential-process`): the console sign-in goes to the
/// suite's fake federation endpoint, which reads moto's whole state dump
/// (with 5,000 pool records in it) to check the keys, and would time the
/// test harness rather than the broker.
async fn timed_issue(app: &TestApp, body: &Value) -> (f64, Value) {
    let started = Instant::now();
    let response = app.post_sessions("?format=credential-process", body).await;
    let ms = started.elapsed().as_secs_f64() * 1_000.0;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{answer}");
    (ms, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by scripts/bench_pool.sh"]
async fn bench_issue_latency_account_against_shared_profile() {
    let moto = std::env::var("BENCH_MOTO").expect("BENCH_MOTO");
    let rounds = bench_env("BENCH_ROUNDS", 40);
    // The worker's passes count the pool by state; moto answers each count
    // by walking every item, which would load the emulator, not the lease.
    let app = bench_app(|s| s.cleanup.interval_seconds = 3_600).await;
    // Set-up straight into moto: records written as registration would.
    let pool = DynamoPool::new(aws_sdk_dynamodb::Client::new(&broker_sdk_config(&moto)), app.pool_table());
    let mut results = Vec::new();
    let mut shared = Vec::new();
    for i in 0..rounds {
        shared.push(timed_issue(&app, &json!({ "session_id": format!("shared-{i}"), "profile": "s3" })).await.0);
    }
    results.push(("shared profile".to_owned(), percentiles(shared)));
    let mut registered = 0;
    for size in [5_usize, 5_000] {
        for n in registered..size {
            available(&pool, &format!("{:012}", 500_000_000_000_u64 + n as u64)).await;
        }
        registered = size;
        let mut samples = Vec::new();
        for i in 0..rounds {
            let body = json!({ "session_id": format!("acct-{size}-{i}"), "profile": PROFILE });
            samples.push(timed_issue(&app, &body).await.0);
            // Back to available, untimed: the pool keeps its size.
            let record = app.session_record(&format!("acct-{size}-{i}")).await.1;
            let id = record["account_id"].as_str().unwrap().to_owned();
            moved(&pool, &id, AccountState::Leased, AccountState::Available).await;
        }
        results.push((format!("account profile, {size} accounts registered"), percentiles(samples)));
    }
    let (status, _) = app.admin(Method::GET, "/admin/status").await;
    assert_eq!(status, 200);
    for (what, (p50, p90)) in results {
        println!("BENCH {{\"what\": \"{what}\", \"p50_ms\": {p50:.1}, \"p90_ms\": {p90:.1}}}");
    }
}
