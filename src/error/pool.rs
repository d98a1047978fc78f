//! What the account pool's routes answer instead of success (DESIGN §8):
//! each a status and a stable code, and each raised before anything is
//! written, so a refused request changes nothing.

use axum::http::StatusCode;

use crate::aws::UpstreamError;

/// An account-pool failure a client can see.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PoolError {
    /// 503: no account is available for an account profile's session.
    #[error("no pool account is available; retry in {retry_after_seconds} s")]
    Exhausted {
        /// Sent as `Retry-After`.
        retry_after_seconds: u64,
    },
    /// 422: not a 12-digit account id.
    #[error("`{0}` is not a 12-digit AWS account id")]
    InvalidAccountId(String),
    /// 422: the account may never be pooled (why is in the message).
    #[error("account {0} cannot be pooled: {1}")]
    Refused(String, &'static str),
    /// 422: Organizations does not list the account as a member.
    #[error("account {0} is not an active member of the broker's organization")]
    NotMember(String),
    /// 409: the account is registered already.
    #[error("account {0} is already registered")]
    AlreadyRegistered(String),
    /// 404: the pool holds no such account.
    #[error("account {0} is not registered")]
    NotFound(String),
    /// 409: the account is not in a state the operation accepts.
    #[error("account {0} is {1}; this needs it {2}")]
    WrongState(String, &'static str, &'static str),
    /// 422: a `create` count out of range.
    #[error("{0}")]
    InvalidCreate(String),
    /// 422: a body naming neither or both of `account_ids` and `create`.
    #[error("name either `account_ids` (a non-empty list) or `create` (a count), not both")]
    InvalidRegistration,
    /// 502: the access role could not be assumed in the account.
    #[error("the access role could not be assumed in account {0}: {1}")]
    AccessRole(String, UpstreamError),
    /// 409: the broker's account belongs to no organization, so no account
    /// can be pooled.
    #[error("the broker's account is in no AWS organization: pool accounts must be members of its organization")]
    NoOrganization,
    /// 409: the pool table does not exist (no bootstrap yet, or torn down).
    #[error("the account pool's table does not exist; run `sandbox-broker bootstrap`")]
    NotProvisioned,
    /// 502: an Organizations call failed.
    #[error("AWS Organizations: {0}")]
    Organizations(UpstreamError),
}

impl PoolError {
    /// An Organizations failure: the deployment's state when the broker's
    /// account is in no organization, else an upstream failure.
    pub fn organizations(err: UpstreamError) -> Self {
        match err.code.as_deref() {
            Some("AWSOrganizationsNotInUseException") => Self::NoOrganization,
            _ => Self::Organizations(err),
        }
    }

    /// The HTTP status and the stable error code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Exhausted { .. } => (StatusCode::SERVICE_UNAVAILABLE, "pool_exhausted"),
            Self::InvalidAccountId(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_account_id"),
            Self::Refused(..) => (StatusCode::UNPROCESSABLE_ENTITY, "account_refused"),
            Self::NotMember(_) => (StatusCode::UNPROCESSABLE_ENTITY, "account_not_member"),
            Self::AlreadyRegistered(_) => (StatusCode::CONFLICT, "account_registered"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "account_not_found"),
            Self::WrongState(..) => (StatusCode::CONFLICT, "account_state"),
            Self::InvalidCreate(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_create"),
            Self::InvalidRegistration => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_registration"),
            Self::AccessRole(..) => (StatusCode::BAD_GATEWAY, "access_role_unassumable"),
            Self::NoOrganization => (StatusCode::CONFLICT, "no_organization"),
            Self::NotProvisioned => (StatusCode::CONFLICT, "pool_not_provisioned"),
            Self::Organizations(_) => (StatusCode::BAD_GATEWAY, "organizations_error"),
        }
    }

    /// The `Retry-After` seconds, when the answer carries one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Exhausted { retry_after_seconds } => Some(*retry_after_seconds),
            _ => None,
        }
    }
}
