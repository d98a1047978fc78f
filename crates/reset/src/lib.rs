//! The reset engine: one registry of AWS resource types, found and deleted
//! in dependency order, in parallel. It knows nothing of HTTP, sessions or
//! ledgers; the broker drives it for session cleanup (attributed resources
//! in a shared account) and account reset (everything unprotected in a
//! pool account).
//!
//! - [`registry`]: what a resource type is ([`registry::Registration`]) and
//!   the lookup of all of them; the entries live in `types/`, one file per
//!   service family, and are the only place that names a type.
//! - [`engine`]: [`engine::discover`] lists every type in every region (and
//!   the tagging API), [`engine::remove`] deletes the found resources by
//!   their own dependency edges with bounded parallelism, and both report
//!   in an [`engine::Report`].
//! - [`clients`]: the SDK clients per region, behind the [`clients::Backend`]
//!   trait the engine calls (tests wrap it).
//! - [`upstream`]: one AWS call and how its failure is classified.
//! - [`usage`]: what a found resource bills for (size, quantity, since
//!   when), read by its listing for the broker's spend meter.
//! - [`engine::reset_account`]: a pool account's whole reset: delete
//!   everything unprotected, restore the baseline (`baseline`: a default
//!   VPC), and search again until enough passes in a row find nothing.

mod arn_match;
mod baseline;
pub mod clients;
pub mod engine;
pub mod registry;
mod retry;
mod types;
pub mod upstream;
pub mod usage;
