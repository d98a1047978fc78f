//! `POST /sessions`: issue a learner session; end it, read it, extend it.

mod formats;
mod ledger;

use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{delete, post};
use serde::Deserialize;

use crate::auth::{Authorized, IssueSessions, RevokeSessions};
use crate::broker::{IssueSessionBody, SessionRequest};
use crate::config::Isolation;
use crate::domain::SessionId;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;

pub use formats::{FormatQuery, OutputFormat};

/// `POST /sessions`, `GET /sessions`, `GET`/`DELETE /sessions/{session_id}`
/// and `POST /sessions/{session_id}/extend`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", post(issue_session).get(ledger::list_sessions))
        .route("/sessions/{session_id}", delete(revoke_session).get(ledger::show_session))
        .route("/sessions/{session_id}/extend", post(extend_session))
}

/// Validates everything (auth, query, body) before the first AWS call.
async fn issue_session(
    State(state): State<AppState>,
    auth: Authorized<IssueSessions>,
    ApiQuery(query): ApiQuery<FormatQuery>,
    ApiJson(body): ApiJson<IssueSessionBody>,
) -> Result<Response, ApiError> {
    let query = query.validate()?;
    let request = SessionRequest::validate(body, &state.context)?;
    let sign_in = query.format.shows_console_url();
    let session = state.sessions.issue_session(&request, auth.claims.sub.as_deref(), sign_in).await?;
    Ok(formats::render(&session, &query))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeQuery {
    profile: Option<String>,
}

/// Makes every credential of the session stop working (within minutes) and
/// ends its lease: in the named profile, or without one in every profile
/// the session used (which also schedules its cleanup now). Runs to
/// completion even when the request times out, so a retry answers 202.
async fn revoke_session(
    State(state): State<AppState>,
    auth: Authorized<RevokeSessions>,
    Path(session_id): Path<String>,
    ApiQuery(query): ApiQuery<RevokeQuery>,
) -> Result<Response, ApiError> {
    let id = SessionId::parse(&session_id).map_err(|m| ApiError::invalid("invalid_session_id", m))?;
    let caller = auth.claims.sub;
    let sessions = state.sessions.clone();
    let profile = query.profile.as_deref().map(|name| state.context.resolve_profile(Some(name))).transpose()?;
    match profile.filter(|p| p.isolation == Isolation::Shared) {
        Some(profile) => {
            let work = async move { sessions.revoke_in_profile(&id, &profile, caller.as_deref()).await };
            let receipt = crate::broker::to_completion(work).await?;
            Ok((StatusCode::ACCEPTED, Json(receipt)).into_response())
        }
        // An account session ends whole, whichever profile is named.
        None => {
            let work = async move { sessions.end_session(&id, caller.as_deref()).await };
            let receipt = crate::broker::to_completion(work).await?;
            // Its account's reset starts now rather than at the worker's
            // next pass: the next learner waits for it.
            if receipt.account_id.is_some() {
                state.cleanup.clean_soon(receipt.first.session_id.clone());
            }
            Ok((StatusCode::ACCEPTED, Json(receipt)).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendBody {
    seconds: u64,
}

/// Moves an active session's lease end later (scope `sessions:issue`),
/// within its profiles' `max_lease_seconds`: 200 with the record.
async fn extend_session(
    State(state): State<AppState>,
    auth: Authorized<IssueSessions>,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<ExtendBody>,
) -> Result<Response, ApiError> {
    let id = SessionId::parse(&session_id).map_err(|m| ApiError::invalid("invalid_session_id", m))?;
    let record = state.sessions.extend_lease(&id, body.seconds, auth.claims.sub.as_deref()).await?;
    Ok(Json(record.view()).into_response())
}
