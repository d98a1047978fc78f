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
