//! Wiring: AWS clients, state, the middleware stack, the listener and
//! graceful shutdown. [`Application::build`] binds the listener (port 0
//! allowed) so tests can spawn the real app and read its port.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use axum::Router;
use tokio::net::TcpListener;

use crate::auth::Verifier;
use crate::aws::federation::HttpFederation;
use crate::aws::iam::SdkIam;
use crate::aws::rate_limit::RateLimitedSts;
use crate::aws::sts::SdkSts;
use crate::broker::{Broker, Upstreams};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::state::{AppState, Lifecycle};

mod connections;
mod middleware;

use connections::{ConnectionServer, Limits};

pub struct Application {
    listener: TcpListener,
    port: u16,
    router: Router,
    grace: Duration,
    lifecycle: Arc<Lifecycle>,
    limits: Limits,
}

/// Loads the AWS SDK configuration from the environment's default chain
/// (env vars, profile, web identity, ECS/EC2 metadata) for `aws.region`.
pub async fn load_sdk_config(settings: &Settings) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(settings.aws.region.clone()))
        .load()
        .await
}

/// An HTTP client with the upstream call budget; it never follows
/// redirects, so a federation endpoint cannot bounce credentials elsewhere.
pub fn http_client(settings: &Settings) -> anyhow::Result<reqwest::Client> {
    let budget = Duration::from_millis(settings.aws.call_timeout_ms);
    reqwest::Client::builder()
        .timeout(budget)
        .connect_timeout(budget.min(Duration::from_secs(3)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sandbox-broker/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")
}

impl Upstreams {
    /// Real STS, IAM and federation clients. Throttling is retried by the
    /// SDK's standard mode (3 attempts with jittered backoff); each attempt
    /// is bounded by `aws.call_timeout_ms`.
    pub fn from_sdk_config(settings: &Settings, sdk: &SdkConfig) -> anyhow::Result<Self> {
        let attempt = Duration::from_millis(settings.aws.call_timeout_ms);
        let timeouts =
            TimeoutConfig::builder().operation_attempt_timeout(attempt).operation_timeout(attempt * 3).build();
        let retry = RetryConfig::standard().with_max_attempts(3);
        let endpoint = settings.aws.endpoint_url.clone();
        let mut sts =
            aws_sdk_sts::config::Builder::from(sdk).timeout_config(timeouts.clone()).retry_config(retry.clone());
        sts.set_endpoint_url(endpoint.clone());
        let mut iam = aws_sdk_iam::config::Builder::from(sdk).timeout_config(timeouts).retry_config(retry);
        iam.set_endpoint_url(endpoint);
        let (sts, iam) = (sts.build(), iam.build());
        let mut sts_client: Arc<dyn crate::aws::Sts> = Arc::new(SdkSts::new(aws_sdk_sts::Client::from_conf(sts)));
        if let Some(rps) = std::num::NonZeroU32::new(settings.aws.sts_max_rps) {
            sts_client = Arc::new(RateLimitedSts::new(sts_client, rps));
        }
        Ok(Self {
            sts: sts_client,
            iam: Arc::new(SdkIam::new(aws_sdk_iam::Client::from_conf(iam))),
            federation: Arc::new(HttpFederation::new(http_client(settings)?)),
        })
    }
}

impl Application {
    /// Builds the app with AWS clients from the environment.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let sdk = load_sdk_config(&settings).await;
        let upstreams = Upstreams::from_sdk_config(&settings, &sdk)?;
        Self::build_with(settings, upstreams, Arc::new(SystemClock)).await
    }

    /// Builds the app around given upstreams and clock.
    pub async fn build_with(settings: Settings, upstreams: Upstreams, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let verifier = Verifier::from_settings(&settings.auth, http_client(&settings)?).map_err(anyhow::Error::msg)?;
        let broker = Broker::new(settings.clone(), upstreams, clock)?;
        Self::build_with_broker(settings, verifier, broker).await
    }

    pub async fn build_with_broker(
        settings: Arc<Settings>,
        verifier: Verifier,
        broker: Broker,
    ) -> anyhow::Result<Self> {
        // Installed before the first request so no early sample is lost.
        let _ = crate::telemetry::metrics::handle();
        let lifecycle = Arc::new(Lifecycle::default());
        let state = AppState {
            settings: settings.clone(),
            verifier: Arc::new(verifier),
            broker: Arc::new(broker),
            lifecycle: lifecycle.clone(),
        };
        let router = middleware::stack(crate::routes::api(), crate::routes::operations(), &settings, state);
        let listener = TcpListener::bind(&settings.server.listen)
            .await
            .with_context(|| format!("binding {}", settings.server.listen))?;
        let port = listener.local_addr()?.port();
        let grace = Duration::from_secs(settings.server.shutdown_grace_seconds);
        let limits = Limits::from_settings(&settings.server);
        Ok(Self { listener, port, router, grace, lifecycle, limits })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or Ctrl-C, then drains.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` resolves. Then `/readyz` answers 503 at once
    /// while the listener keeps accepting, so the load balancer sees the
    /// change; once no API request is in flight the listener closes, idle
    /// and half-open connections close at once and busy ones after their
    /// response. All of it is bounded by `server.shutdown_grace_seconds`.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let Self { listener, router, grace, lifecycle, limits, .. } = self;
        let mut server = ConnectionServer::new(router, limits);
        let signalled = Arc::new(std::sync::OnceLock::new());
        let drained = {
            let signalled = signalled.clone();
            async move {
                signal.await;
                let _ = signalled.set(Instant::now());
                lifecycle.start_draining();
                tracing::info!(grace_seconds = grace.as_secs(), "shutdown requested; draining");
                if tokio::time::timeout(grace, lifecycle.idle()).await.is_err() {
                    tracing::warn!(
                        grace_seconds = grace.as_secs(),
                        "grace period over; abandoning requests still running"
                    );
                }
            }
        };
        server.accept_until(&listener, drained).await;
        drop(listener);
        let left = signalled.get().map_or(grace, |at: &Instant| grace.saturating_sub(at.elapsed()));
        server.shut_down(left).await;
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
