//! HTTP routes. Each module owns its `router()`; this file merges them.
//! The API routes sit behind the limits of the middleware stack; the
//! operational ones (`/healthz`, `/readyz`, `/openapi.yaml`) are kept outside
//! load shedding so an orchestrator can still probe a busy broker.

pub mod accounts;
pub mod admin;
pub mod console;
pub mod health;
pub mod sessions;

use axum::Router;

use crate::state::AppState;

/// Routes that do the broker's work.
pub fn api() -> Router<AppState> {
    Router::new().merge(sessions::router()).merge(admin::router()).merge(accounts::router()).merge(console::router())
}

/// Probes and documentation.
pub fn operations() -> Router<AppState> {
    health::router()
}
