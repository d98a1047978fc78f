//! The broker's use cases, composed from the AWS traits: everything between
//! "the request is well-formed" and "the answer". Two services share one
//! [`Context`] (configuration, AWS clients, clock, identity and role caches):
//!
//! - [`Sessions`]: issuing sessions, durable console links, revocation;
//!   built by `serve` only (it needs `console.ticket_secret`).
//! - [`Provisioner`]: bootstrap, teardown and status; also what the one-shot
//!   `bootstrap`/`teardown` commands build.
//! - [`Cleanup`]: finding and deleting what a session created, and the
//!   worker that does so once sessions end (the ledger coordinates replicas).
//!
//! - [`spend::Meter`]: the spend meter, pricing what every active session
//!   runs once per `spend.interval_seconds`.
//!
//! [`revocation`] (the Deny documents and their IAM reads and writes) sits
//! below both; [`provision`]'s desired state and plan are pure.

pub mod accounts;
mod claims;
pub mod cleanup;
mod context;
mod engine;
pub mod ledger_reports;
pub mod provision;
pub mod revocation;
mod sessions;
pub mod spend;

pub use cleanup::{CleanNow, Cleanup};
pub use context::{Context, Profile};
pub use provision::Provisioner;
pub use sessions::{EndReceipt, IssueSessionBody, IssuedSession, RevocationReceipt, SessionRequest, Sessions};

use std::future::Future;

use crate::error::ApiError;

/// Runs a state-changing operation to completion in a task of its own and
/// waits for it. A caller cut short (a request past
/// `server.request_timeout_ms`, a client that hung up, a wait that gave up)
/// drops only the wait, never the operation half-way: the revocation,
/// ledger write or cleanup finishes, so a retry finds it done (routes that
/// use this are safe to retry; see `openapi.yaml`).
pub async fn to_completion<T: Send + 'static>(
    work: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work).await.unwrap_or_else(|_| Err(ApiError::Internal("the operation stopped".into())))
}
