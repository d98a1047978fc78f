//! The one state shared by every handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::auth::Verifier;
use crate::broker::Broker;
use crate::config::Settings;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub verifier: Arc<Verifier>,
    pub broker: Arc<Broker>,
    pub draining: Arc<Draining>,
}

/// Set once shutdown begins, so `/readyz` tells the load balancer to stop
/// sending traffic while in-flight requests finish.
#[derive(Debug, Default)]
pub struct Draining(AtomicBool);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
