//! The fake upstreams, as a server.
//!
//! Benchmark mode — a fast fake AWS (STS and the IAM reads of the session
//! path) plus the console federation endpoint, with an optional delay per
//! call, so the broker's own cost is visible:
//!
//! `cargo run --release --example fake_upstream -- PORT [DELAY_MS]`
//!
//! Federation-only mode — the federation stand-in of the dev stack and the
//! compose file, checking credentials against a moto server:
//!
//! `cargo run --example fake_upstream -- PORT 0 --moto http://127.0.0.1:5000`

#[path = "support/fake_aws.rs"]
mod fake_aws;
// The tests use the inspection methods (calls, tokens) this program does not.
#[allow(dead_code)]
#[path = "support/fake_federation.rs"]
mod fake_federation;

use std::time::Duration;

use fake_aws::FakeAws;
use fake_federation::FakeFederation;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = args.first().and_then(|p| p.parse().ok()).unwrap_or(5100);
    let delay = Duration::from_millis(args.get(1).and_then(|d| d.parse().ok()).unwrap_or(0));
    let moto = args.iter().position(|a| a == "--moto").and_then(|i| args.get(i + 1)).cloned();
    // All interfaces in a container (compose), loopback otherwise.
    let host = std::env::var("FAKE_UPSTREAM_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let app = match &moto {
        Some(_) => FakeFederation::new(moto.clone(), delay).router(),
        None => FakeAws { delay, ..FakeAws::default() }.router().merge(FakeFederation::new(None, delay).router()),
    };
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    eprintln!("fake upstream on {host}:{port}, delay {delay:?}, moto {moto:?}");
    axum::serve(listener, app).await
}
