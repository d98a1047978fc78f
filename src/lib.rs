//! sandbox-broker: a custom identity broker for hands-on AWS training.
//!
//! A training platform calls `POST /sessions` with its own JWT; the broker
//! assumes a per-challenge IAM role with STS, mints a console sign-in token at
//! the AWS federation endpoint and hands back temporary keys in the format the
//! learner's tool wants, plus a one-click console link. Every session is
//! recorded in a ledger, and when it ends what the learner created is
//! deleted; the broker provisions its roles under permissions boundaries
//! and spend guardrails, as a principal that cannot escalate its own rights.
//!
//! # Layout
//!
//! - [`config`]: layered configuration (built-in defaults, one TOML file,
//!   `SANDBOX_BROKER__…` environment variables, `…_FILE` secrets) and the
//!   validation behind `check-config`.
//! - [`telemetry`]: tracing subscriber (text or JSON logs) and the
//!   Prometheus metrics served at `/metrics`.
//! - [`startup`]: [`startup::Application`] binds the listener, wires the state,
//!   owns the tower middleware stack (`startup/middleware.rs`) and drains on
//!   SIGTERM.
//! - [`state`]: the one [`state::AppState`] shared by every handler.
//! - [`error`]: the one [`error::ApiError`] and the JSON extractor whose
//!   rejections use the same `{"error": {"code", "message"}}` shape.
//! - [`auth`]: platform JWT verification (HS256 secret, PEM public key or JWKS)
//!   and the [`auth::Claims`] extractor with scope checks.
//! - [`routes`]: one module per resource, each exposing `router()`.
//! - [`broker`]: the use cases composed from the AWS traits — issuing a
//!   session (`issue`), durable console links (`launch`), revocation
//!   (`revocation`, one IAM policy per replica), provisioning (`provision`:
//!   desired state, boundaries, the two principals' policies, a pure plan,
//!   its application and the CloudFormation template) and `cleanup` (the
//!   engine and the worker every replica runs).
//! - [`aws`]: the only code that talks to AWS — STS, IAM, the console
//!   federation endpoint, the session ledger (DynamoDB) and the resources
//!   cleanup finds and deletes, each behind a small trait — plus the
//!   client-side STS rate limit.
//! - [`domain`]: validated newtypes (session id, role session name, durations,
//!   regions and partitions, console destinations, session policies), policy
//!   templates, guardrails and launch tickets.
//! - [`clock`]: an injectable clock for expiry logic.
//! - [`cli`]: the command line's grammar; `main.rs` only dispatches it.

pub mod auth;
pub mod aws;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
