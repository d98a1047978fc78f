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
//! [`revocation`] (the Deny documents and their IAM reads and writes) sits
//! below both; [`provision`]'s desired state and plan are pure.

pub mod cleanup;
mod context;
pub mod ledger_reports;
pub mod provision;
pub mod revocation;
mod sessions;

pub use cleanup::{CleanNow, Cleanup};
pub use context::{Context, Profile};
pub use provision::Provisioner;
pub use sessions::{EndReceipt, IssueSessionBody, IssuedSession, RevocationReceipt, SessionRequest, Sessions};
