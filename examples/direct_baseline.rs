//! The direct baseline for benchmarks: the upstream work of one session —
//! AssumeRole, then getSigninToken — done with the broker's own clients and
//! client settings, at a fixed concurrency, without the broker in between.
//!
//! `cargo run --release --example direct_baseline -- CONFIG CONCURRENCY SECONDS`
//! prints `{"requests":…,"rps":…,"p50_ms":…,"p99_ms":…,"cpu_us":…}`, where
//! `cpu_us` is the process's CPU time (user + system) per session.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sandbox_broker::aws::Upstreams;

#[path = "support/upstream_work.rs"]
mod upstream_work;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let config = PathBuf::from(args.next().unwrap_or_else(|| "config/local.toml".into()));
    let concurrency: usize = args.next().and_then(|c| c.parse().ok()).unwrap_or(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let settings = sandbox_broker::config::load(Some(&config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let sdk = sandbox_broker::aws::load_sdk_config(&settings).await;
    let upstreams = Arc::new(Upstreams::from_sdk_config(&settings, &sdk)?);
    let endpoint = Arc::new(settings.aws.federation_endpoint.clone().unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let cpu_before = cpu_ticks();

    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (upstreams, endpoint) = (upstreams.clone(), endpoint.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    upstream_work::one_session(&upstreams, &endpoint, &format!("baseline-{w}-{n}")).await?;
                    latencies.push(started.elapsed());
                    n += 1;
                }
                Ok::<_, anyhow::Error>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await??);
    }
    let cpu_ticks_used = cpu_ticks().zip(cpu_before).map_or(0, |(after, before)| after.saturating_sub(before));
    all.sort();
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied();
    let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!(
        "{{\"requests\":{},\"rps\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"cpu_us\":{:.1}}}",
        all.len(),
        all.len() as f64 / seconds as f64,
        ms(pct(0.50)),
        ms(pct(0.99)),
        cpu_ticks_used as f64 * 1e6 / USER_HZ / all.len().max(1) as f64
    );
    Ok(())
}

/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, 100 per second on
/// Linux whatever the kernel's own tick rate.
const USER_HZ: f64 = 100.0;

/// User + system CPU ticks of this process so far, all threads included.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which sits in parentheses and may hold spaces.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}
