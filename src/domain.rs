//! Validated newtypes. Everything a request carries is parsed into one of
//! these before any AWS call is made, so an invalid value can never reach STS.

mod destination;
mod duration;
pub mod guardrails;
mod narrowing;
pub mod policy;
pub mod prices;
mod region;
mod session;
pub mod signed;
pub mod ticket;

pub use destination::Destination;
pub use duration::{MAX_SESSION_SECONDS, MIN_SESSION_SECONDS, ROLE_CHAINING_MAX_SECONDS, SessionDuration};
pub use narrowing::{SESSION_POLICY_LIMIT, SessionNarrowing};
pub use region::{Partition, Region};
pub use session::{
    RoleSessionName, SessionId, SessionKey, TAG_KEY, TAG_PROFILE, TAG_SESSION, is_valid_role_name, session_tags,
};
