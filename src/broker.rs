//! The broker's use cases, composed from the AWS traits: everything between
//! "the request is well-formed" and "the answer". Two services share one
//! [`Context`] (configuration, AWS clients, clock, identity and role caches):
//!
//! - [`Sessions`]: issuing sessions, durable console links, revocation;
//!   built by `serve` only (it needs `console.ticket_secret`).
//! - [`Provisioner`]: bootstrap, teardown and status; also what the one-shot
//!   `bootstrap`/`teardown` commands build.
//!
//! [`revocation`] (the Deny documents and their IAM reads and writes) sits
//! below both; [`provision`]'s desired state and plan are pure.

mod context;
pub mod provision;
pub mod revocation;
mod sessions;

pub use context::{Context, Profile};
pub use provision::Provisioner;
pub use sessions::{IssueSessionBody, IssuedSession, RevocationReceipt, SessionRequest, Sessions};
