//! HTTP routes. Each module owns its `router()`; this file merges them.
//! The API routes sit behind the limits of the middleware stack; the
//! operational ones (`/healthz`, `/readyz`, `/openapi.yaml`) are kept outside
//! load shedding so an orchestrator can still probe a busy broker.

pub mod admin;
pub mod console;
pub mod health;
pub mod sessions;

use std::future::Future;

use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

/// Routes that do the broker's work.
pub fn api() -> Router<AppState> {
    Router::new().merge(sessions::router()).merge(admin::router()).merge(console::router())
}

/// Probes and documentation.
pub fn operations() -> Router<AppState> {
    health::router()
}

/// Runs a state-changing operation to completion in a task of its own and
/// waits for it. A request cut short by `server.request_timeout_ms` or by a
/// client that hung up drops only the wait, never the operation half-way:
/// the revocation, ledger write or cleanup finishes, so a retry finds it
/// done (routes that use this are safe to retry; see `openapi.yaml`).
pub(crate) async fn to_completion<T: Send + 'static>(
    work: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work).await.unwrap_or_else(|_| Err(ApiError::Internal("the operation stopped".into())))
}
