//! The one error type of the HTTP API and its mapping to status + JSON.
//!
//! Every failure a client can see goes through [`ApiError::into_response`], so
//! the body always has the shape `{"error": {"code": "…", "message": "…"}}`.
//! Messages are written here or come from validation; upstream messages are
//! summarised, never forwarded with credentials in them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

mod extract;
mod pool;
mod spend;

pub use extract::{ApiJson, ApiQuery};
pub use pool::PoolError;
pub use spend::SpendError;

use crate::aws::{UpstreamError, UpstreamErrorKind};

/// Everything the API can answer with instead of success.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 401: missing, malformed or refused token (or launch ticket).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A malformed authentication attempt (RFC 6750 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// 403: a valid token without the route's scope.
    #[error("this token lacks the `{0}` scope")]
    InsufficientScope(&'static str),
    /// 422: one request field is invalid; `code` names what.
    #[error("{message}")]
    InvalidField {
        /// The stable code, e.g. `invalid_session_id`.
        code: &'static str,
        /// What is wrong, for a person.
        message: String,
    },
    /// 400: the body is not JSON.
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// 415: the body is not `application/json`.
    #[error("expected `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// 413: the body is larger than `server.max_body_bytes`.
    #[error("request body is too large")]
    PayloadTooLarge,
    /// 400: the query string is invalid.
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    /// 422: the profile is not configured.
    #[error("profile `{0}` is not configured")]
    UnknownProfile(String),
    /// 409: the profile's role does not exist in IAM.
    #[error("the role of profile `{0}` does not exist; run `sandbox-broker bootstrap`")]
    ProfileNotProvisioned(String),
    /// 409: a role of that name exists without the managed-by tag.
    #[error(
        "role `{0}` exists but is not tagged managed-by=sandbox-broker; tag it to adopt it, or choose another role_name"
    )]
    RoleNotManaged(String),
    /// 507: no room left in the role's revocation policies.
    #[error(
        "the revocation policies of role `{0}` have reached IAM's inline policy size limit; entries free up as old ones expire"
    )]
    RevocationCapacityExhausted(String),
    /// 409: someone else changed a role during bootstrap or teardown.
    #[error("`{0}` was changed by someone else during this run (another bootstrap or teardown?); run it again")]
    ConcurrentChange(String),
    /// 429: a launch link minted too often.
    #[error("too many console launches; retry in {retry_after_seconds} s")]
    LaunchRateLimited {
        /// Sent as `Retry-After`.
        retry_after_seconds: u64,
    },
    /// 409 (410 for console links): the session is revoked.
    #[error("session `{0}` has been revoked")]
    SessionRevoked(String),
    /// 404: the ledger has no such session.
    #[error("session `{0}` is not in the ledger")]
    SessionNotFound(String),
    /// 409: the session has ended; it takes no new credentials.
    #[error("session `{0}` has ended ({1}); use a new session id for a new attempt")]
    SessionEnded(String, String),
    /// 409: the session is frozen; it takes no new credentials until
    /// an operator unfreezes it.
    #[error("session `{0}` is frozen (its budget is spent, or an operator froze it)")]
    SessionFrozen(String),
    /// 409: unfreezing a session that is not frozen.
    #[error("session `{0}` is {1}, not frozen")]
    SessionNotFrozen(String, String),
    /// 409: the session holds another pool account (a concurrent issue bound it).
    #[error("session `{0}` holds account {1}; retry")]
    SessionBound(String, String),
    /// 409: cleaning a session that is still active.
    #[error("session `{0}` is active; end it first (DELETE /sessions/{0})")]
    SessionActive(String),
    /// 409: teardown would forget accounts the pool still holds.
    #[error("{0} account(s) are still registered in the pool; deregister them first (or use --force / ?force=true)")]
    AccountsRegistered(usize),
    /// 409: teardown would delete the records of sessions not cleaned yet.
    #[error(
        "{0} session(s) are not cleaned yet; teardown would lose their records (wait, or use --force / ?force=true)"
    )]
    SessionsNotCleaned(usize),
    /// 409: the ledger table does not exist (teardown ran, or no bootstrap yet).
    #[error("the session ledger table does not exist; run `sandbox-broker bootstrap`")]
    LedgerNotProvisioned,
    /// 503: the ledger could not be written, so no credentials were issued.
    #[error("the session ledger could not be written, so no credentials were issued: {0}")]
    LedgerUnavailable(UpstreamError),
    /// 503: not ready (identity does not resolve, or shutting down).
    #[error("{0}")]
    NotReady(String),
    /// The account pool refused or failed (see [`PoolError`]).
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// A budget or a lease extension refused (see [`SpendError`]).
    #[error(transparent)]
    Spend(#[from] SpendError),
    /// An upstream call failed; the kind decides the status.
    #[error(transparent)]
    Upstream(UpstreamError),
    /// 500: a bug; details go to the log only.
    #[error("internal error")]
    Internal(String),
}

impl From<UpstreamError> for ApiError {
    /// A missing ledger table is the deployment's state, like a missing
    /// profile role, not an upstream failure.
    fn from(err: UpstreamError) -> Self {
        if err.service == crate::aws::ledger::dynamo::SERVICE && err.kind == UpstreamErrorKind::NotFound {
            return Self::LedgerNotProvisioned;
        }
        if err.service == crate::aws::pool::dynamo::SERVICE && err.kind == UpstreamErrorKind::NotFound {
            return Self::Pool(PoolError::NotProvisioned);
        }
        Self::Upstream(err)
    }
}

impl ApiError {
    /// Why a session that is not active takes no new credentials.
    pub fn refused(id: String, state: crate::aws::ledger::SessionState) -> Self {
        match state {
            crate::aws::ledger::SessionState::Frozen => Self::SessionFrozen(id),
            state => Self::SessionEnded(id, state.to_string()),
        }
    }

    /// A 422 for one request field, with a stable machine-readable code.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidField { code, message: message.into() }
    }

    /// The HTTP status and the stable error code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::InsufficientScope(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            Self::InvalidField { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            Self::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            Self::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            Self::UnknownProfile(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_profile"),
            Self::ProfileNotProvisioned(_) => (StatusCode::CONFLICT, "profile_not_provisioned"),
            Self::SessionRevoked(_) => (StatusCode::CONFLICT, "session_revoked"),
            Self::ConcurrentChange(_) => (StatusCode::CONFLICT, "concurrent_change"),
            Self::RoleNotManaged(_) => (StatusCode::CONFLICT, "role_not_managed"),
            Self::RevocationCapacityExhausted(_) => (StatusCode::INSUFFICIENT_STORAGE, "revocation_capacity_exhausted"),
            Self::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            Self::SessionNotFound(_) => (StatusCode::NOT_FOUND, "session_not_found"),
            Self::SessionEnded(..) => (StatusCode::CONFLICT, "session_ended"),
            Self::SessionFrozen(_) => (StatusCode::CONFLICT, "session_frozen"),
            Self::SessionNotFrozen(..) => (StatusCode::CONFLICT, "session_not_frozen"),
            Self::SessionActive(_) => (StatusCode::CONFLICT, "session_active"),
            Self::SessionBound(..) => (StatusCode::CONFLICT, "concurrent_change"),
            Self::SessionsNotCleaned(_) => (StatusCode::CONFLICT, "sessions_not_cleaned"),
            Self::AccountsRegistered(_) => (StatusCode::CONFLICT, "accounts_registered"),
            Self::LedgerNotProvisioned => (StatusCode::CONFLICT, "ledger_not_provisioned"),
            Self::LedgerUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ledger_unavailable"),
            Self::LaunchRateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "launch_rate_limited"),
            Self::Pool(err) => err.status_and_code(),
            Self::Spend(err) => err.status_and_code(),
            Self::Upstream(err) => match err.kind {
                UpstreamErrorKind::Throttled => (StatusCode::SERVICE_UNAVAILABLE, "upstream_throttled"),
                UpstreamErrorKind::AccessDenied => (StatusCode::BAD_GATEWAY, "upstream_access_denied"),
                UpstreamErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
                UpstreamErrorKind::Conflict => (StatusCode::SERVICE_UNAVAILABLE, "upstream_conflict"),
                UpstreamErrorKind::RateLimited => (StatusCode::SERVICE_UNAVAILABLE, "sts_rate_limited"),
                UpstreamErrorKind::PolicyRejected => (StatusCode::UNPROCESSABLE_ENTITY, "policy_rejected"),
                UpstreamErrorKind::NotFound | UpstreamErrorKind::Unavailable | UpstreamErrorKind::Other => {
                    (StatusCode::BAD_GATEWAY, "upstream_error")
                }
            },
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    fn public_message(&self) -> String {
        match self {
            // Internal details go to the log, not to the client.
            Self::Internal(_) => "internal error".to_owned(),
            Self::Upstream(err) if err.kind == UpstreamErrorKind::AccessDenied => format!(
                "{err}; the broker's principal lacks a permission or the role does not trust it \
                 (run `sandbox-broker bootstrap` as the provisioner; the server needs the reported \
                 broker_policy, bootstrap and teardown the provisioner_policy)"
            ),
            other => other.to_string(),
        }
    }
}

/// Builds the uniform error body; also used by middleware for errors that
/// never reach a handler (timeouts, body limits, load shedding).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } });
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl ApiError {
    /// The error response, optionally with one more field in the error
    /// object (e.g. the changes a failed bootstrap completed).
    pub fn into_response_with(self, extra: Option<(&str, serde_json::Value)>) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            Self::Internal(detail) => tracing::error!(%detail, "internal error"),
            Self::Upstream(err) | Self::LedgerUnavailable(err) => {
                tracing::warn!(error = %err, code, "upstream call failed")
            }
            _ => tracing::debug!(code, message = %self, "request rejected"),
        }
        let mut error = json!({ "code": code, "message": self.public_message() });
        if let (Some((key, value)), Some(object)) = (extra, error.as_object_mut()) {
            object.insert(key.to_owned(), value);
        }
        let mut response = (status, axum::Json(json!({ "error": error }))).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Self::InvalidRequest(_) = self {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_request\""));
        }
        if let Self::InsufficientScope(_) = self {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"insufficient_scope\""));
        }
        if let Self::LaunchRateLimited { retry_after_seconds } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        if let Some(seconds) = match &self {
            Self::Pool(e) => e.retry_after(),
            _ => None,
        } {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if matches!(&self, Self::LedgerUnavailable(_))
            || matches!(&self, Self::Upstream(e) if matches!(e.kind, UpstreamErrorKind::Throttled | UpstreamErrorKind::Conflict | UpstreamErrorKind::RateLimited))
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_with(None)
    }
}
