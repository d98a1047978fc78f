//! The HTTP floor for benchmarks: the least any HTTP service doing the
//! broker's upstream work can cost. One axum route, `POST /sessions`, does
//! exactly the direct baseline's upstream work per request (AssumeRole,
//! getSigninToken, same clients) and answers with the keys and the token —
//! no authentication, validation, logging, metrics or middleware.
//!
//! Its throughput against the direct baseline's is the ceiling of the
//! broker's ratio on this machine: what the extra HTTP hop alone costs.
//!
//! `cargo run --release --example http_floor -- CONFIG PORT`

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use sandbox_broker::aws::Upstreams;
use secrecy::ExposeSecret;

#[path = "support/upstream_work.rs"]
mod upstream_work;

struct Floor {
    upstreams: Upstreams,
    endpoint: String,
    counter: AtomicU64,
}

async fn issue(State(floor): State<Arc<Floor>>, _body: axum::body::Bytes) -> (StatusCode, String) {
    let n = floor.counter.fetch_add(1, Ordering::Relaxed);
    match upstream_work::one_session(&floor.upstreams, &floor.endpoint, &format!("floor-{n}")).await {
        Ok((issued, token)) => {
            let c = &issued.credentials;
            let body = serde_json::json!({
                "access_key_id": c.access_key_id,
                "secret_access_key": c.secret_access_key.expose_secret(),
                "session_token": c.session_token.expose_secret(),
                "signin_token": token.expose_secret(),
            });
            (StatusCode::CREATED, body.to_string())
        }
        Err(err) => (StatusCode::BAD_GATEWAY, err.to_string()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let config = PathBuf::from(args.next().unwrap_or_else(|| "config/local.toml".into()));
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(5200);
    let settings = sandbox_broker::config::load(Some(&config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let sdk = sandbox_broker::aws::load_sdk_config(&settings).await;
    let floor = Floor {
        upstreams: Upstreams::from_sdk_config(&settings, &sdk)?,
        endpoint: settings.aws.federation_endpoint.clone().unwrap_or_default(),
        counter: AtomicU64::new(0),
    };
    let app = Router::new().route("/sessions", post(issue)).with_state(Arc::new(floor));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
