//! The reset benchmark's engine run (`scripts/bench_reset.sh`): session
//! cleanup of one key's footprint through the latency proxy, timed, with
//! the critical path from the engine's own record. Ignored in the suite;
//! the script runs it with BENCH_ENDPOINT, BENCH_KEY and BENCH_PARALLEL.

use std::time::Instant;

use sandbox_reset::clients::SdkBackend;
use sandbox_reset::engine::{self, Mode, Options, Scan};

use crate::helpers::{ACCOUNT, REGION, sdk_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by scripts/bench_reset.sh"]
async fn bench_session_cleanup_through_the_proxy() {
    let endpoint = std::env::var("BENCH_ENDPOINT").expect("BENCH_ENDPOINT");
    let key = std::env::var("BENCH_KEY").expect("BENCH_KEY");
    let parallel = std::env::var("BENCH_PARALLEL").ok().and_then(|p| p.parse().ok()).unwrap_or(16);
    let backend = SdkBackend::new(sdk_config(&endpoint, "AKIABENCH", "bench", None), Some(endpoint.clone()));
    let scan = Scan { regions: vec![REGION.to_owned()], account: ACCOUNT.to_owned() };
    let options = Options { max_parallel: parallel, ..Options::default() };
    let started = Instant::now();
    let found = engine::discover(&backend, &scan, &Mode::Session { key }, &options).await;
    let discovered = started.elapsed();
    let report = engine::remove(&backend, found, &options, false).await;
    let total = started.elapsed();
    // One line for the script to read.
    println!(
        "BENCH {{\"seconds\": {:.3}, \"discovery\": {:.3}, \"deleted\": {}, \"failed\": {}, \"left\": {}, \"chain\": {:.3}}}",
        total.as_secs_f64(),
        discovered.as_secs_f64(),
        report.deleted.len(),
        report.failed.len(),
        report.left.len(),
        report.critical_path().as_secs_f64()
    );
    assert!(report.failed.is_empty(), "{:?}", report.failed);
}

/// A near-empty pool account's whole reset (baseline only) in two regions
/// with two verify passes, through the proxy: the floor of every reset.
/// `BENCH_ACCOUNT` names the account, reached by AssumeRole (moto keeps
/// each account's resources apart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by scripts/bench_reset.sh"]
async fn bench_near_empty_account_reset_through_the_proxy() {
    let endpoint = std::env::var("BENCH_ENDPOINT").expect("BENCH_ENDPOINT");
    let account = std::env::var("BENCH_ACCOUNT").expect("BENCH_ACCOUNT");
    let sts = aws_sdk_sts::Client::new(&sdk_config(&endpoint, "AKIABENCH", "bench", None));
    let role = format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole");
    let out = sts.assume_role().role_arn(role).role_session_name("reset").send().await.expect("assume role");
    let c = out.credentials().expect("credentials");
    let sdk = sdk_config(&endpoint, c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    let backend = SdkBackend::new(sdk, Some(endpoint.clone()));
    let plan = engine::ResetPlan {
        regions: vec![REGION.to_owned(), "us-east-1".to_owned()],
        account,
        keep: Vec::new(),
        verify_passes: 2,
        attempts: 3,
    };
    let started = Instant::now();
    let outcome = engine::reset_account(&backend, &plan, &Options::default()).await;
    println!(
        "BENCH {{\"seconds\": {:.3}, \"rounds\": {}, \"passes\": {}, \"deleted\": {}, \"kept\": {}}}",
        started.elapsed().as_secs_f64(),
        outcome.rounds,
        outcome.clean_passes,
        outcome.report.deleted.len(),
        outcome.report.kept
    );
    assert_eq!(outcome.problem, None);
}
