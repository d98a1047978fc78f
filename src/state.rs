//! The one state shared by every handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

use axum::extract::FromRef;

use crate::auth::Verifier;
use crate::broker::accounts::Accounts;
use crate::broker::{Cleanup, Context, Provisioner, Sessions};

/// Everything a handler may need, cloned per request (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    /// Platform token verification.
    pub verifier: Arc<Verifier>,
    /// Configuration, AWS clients and caches shared by the services.
    pub context: Arc<Context>,
    /// Issue, launch, revoke.
    pub sessions: Arc<Sessions>,
    /// Bootstrap, teardown, status.
    pub provisioner: Arc<Provisioner>,
    /// Cleaning up what sessions created.
    pub cleanup: Arc<Cleanup>,
    /// The account pool.
    pub accounts: Arc<Accounts>,
    /// Draining and in-flight bookkeeping for shutdown.
    pub lifecycle: Arc<Lifecycle>,
}

/// The auth extractors need only the verifier.
impl FromRef<AppState> for Arc<Verifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// Shutdown bookkeeping: once draining starts `/readyz` answers 503 so the
/// load balancer stops sending traffic, while API requests in flight are
/// counted so shutdown can wait for them.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
}

impl Lifecycle {
    /// From now on `/readyz` answers 503.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Counts one API request until the guard drops.
    pub fn track(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Resolves once no API request is in flight.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Counts one request in flight while it lives.
pub struct InFlight(Arc<Lifecycle>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
