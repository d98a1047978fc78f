//! What budgets and lease extensions answer instead of success (DESIGN
//! §10): each a status and a stable code, raised before anything is
//! written.

use axum::http::StatusCode;

/// A budget or lease-extension refusal a client can see.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SpendError {
    /// 409: the session's estimate has reached its budget.
    #[error("session `{0}` has spent its budget; it cannot be extended")]
    BudgetExhausted(String),
    /// 409: none of the session's profiles sets `max_lease_seconds`.
    #[error("session `{0}`'s profile sets no max_lease_seconds, so its lease is never extended")]
    NotExtendable(String),
    /// 422: the extension would end the lease past the profile's maximum.
    #[error("the lease of session `{session}` may end at {latest} at the latest (profiles' max_lease_seconds)")]
    PastMaximum {
        /// The session.
        session: String,
        /// The latest lease end allowed, RFC 3339.
        latest: String,
    },
    /// 422: `seconds` is not a positive number of seconds within a day.
    #[error("seconds must be 1-86400")]
    InvalidSeconds,
    /// 422: a request's `budget_usd` is not a budget, or exceeds the profile's.
    #[error("{0}")]
    InvalidBudget(String),
}

impl SpendError {
    /// The HTTP status and the stable error code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BudgetExhausted(_) => (StatusCode::CONFLICT, "budget_exhausted"),
            Self::NotExtendable(_) => (StatusCode::CONFLICT, "lease_not_extendable"),
            Self::PastMaximum { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "lease_limit_exceeded"),
            Self::InvalidSeconds => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_seconds"),
            Self::InvalidBudget(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_budget"),
        }
    }
}
