//! Wiring: AWS clients, state, the middleware stack, the listener and
//! graceful shutdown. [`Application::build`] binds the listener (port 0
//! allowed) so tests can spawn the real app and read its port.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;

use crate::auth::Verifier;
use crate::aws::{Upstreams, http_client, load_sdk_config};
use crate::broker::spend::Meter;
use crate::broker::{Cleanup, Context, Provisioner, Sessions};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::state::{AppState, Lifecycle};

mod connections;
mod middleware;

use connections::{ConnectionServer, Limits};

/// The HTTP service, bound and ready to run.
pub struct Application {
    listener: TcpListener,
    port: u16,
    router: Router,
    grace: Duration,
    lifecycle: Arc<Lifecycle>,
    limits: Limits,
    /// The cleanup worker, started by `run_until` (`cleanup.enabled`).
    worker: Option<Arc<Cleanup>>,
    /// The spend meter, when `spend.enabled`.
    meter: Option<Arc<Meter>>,
}

impl Application {
    /// Builds the app with AWS clients from the environment.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let sdk = load_sdk_config(&settings).await;
        let upstreams = Upstreams::from_sdk_config(&settings, &sdk)?;
        Self::build_with(settings, upstreams, Arc::new(SystemClock)).await
    }

    /// Builds the app around given upstreams and clock, and binds the
    /// listener (`server.listen`; port 0 picks a free port).
    pub async fn build_with(settings: Settings, upstreams: Upstreams, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let serving = crate::config::check_serving(&settings).map_err(|e| anyhow::anyhow!("{e}"))?;
        let settings = Arc::new(settings);
        let verifier = Verifier::from_settings(&settings.auth, http_client(&settings)?).map_err(anyhow::Error::msg)?;
        let context = Arc::new(Context::new(settings.clone(), upstreams, clock));
        let sessions = Arc::new(Sessions::new(context.clone(), &serving.ticket_secret, &serving.replica_id)?);
        let provisioner = Arc::new(Provisioner::new(context.clone()));
        let cleanup = Arc::new(Cleanup::new(context.clone(), serving.replica_id.clone()));
        let worker = settings.cleanup.enabled.then(|| cleanup.clone());
        let meter = settings
            .spend
            .enabled
            .then(|| Arc::new(Meter::new(context.clone(), sessions.clone(), serving.replica_id.clone())));
        // Installed before the first request so no early sample is lost.
        let _ = crate::telemetry::metrics::handle();
        let lifecycle = Arc::new(Lifecycle::default());
        let state = AppState {
            verifier: Arc::new(verifier),
            context,
            sessions,
            provisioner,
            accounts: cleanup.accounts().clone(),
            cleanup,
            lifecycle: lifecycle.clone(),
        };
        let router = middleware::stack(crate::routes::api(), crate::routes::operations(), &settings, state);
        let listener = TcpListener::bind(settings.server.listen)
            .await
            .with_context(|| format!("binding {}", settings.server.listen))?;
        let port = listener.local_addr()?.port();
        let grace = Duration::from_secs(settings.server.shutdown_grace_seconds);
        let limits = Limits::from_settings(&settings.server);
        Ok(Self { listener, port, router, grace, lifecycle, limits, worker, meter })
    }

    /// The port the listener is bound to.
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
        let Self { listener, router, grace, lifecycle, limits, worker, meter, .. } = self;
        // Stopped with the server: a cleanup cut short keeps its claim until
        // the claim expires, then another replica finishes it.
        let worker = worker.map(|cleanup| AbortOnDrop(tokio::spawn(cleanup.run())));
        let meter = meter.map(|meter| AbortOnDrop(tokio::spawn(meter.run())));
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
        drop(worker);
        drop(meter);
        Ok(())
    }
}

/// A background task that ends when its handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
