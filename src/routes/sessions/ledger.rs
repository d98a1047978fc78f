//! `GET /sessions` and `GET /sessions/{session_id}` (scope `sessions:read`):
//! the ledger's records, cleanup reports included. Nothing in them is secret.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Authorized, ReadSessions};
use crate::aws::ledger::ListQuery;
use crate::domain::SessionId;
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;

/// Largest page `GET /sessions` returns.
const MAX_LIMIT: u32 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListParams {
    state: Option<String>,
    profile: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// A page of sessions, filtered by state and profile.
pub(super) async fn list_sessions(
    State(state): State<AppState>,
    _auth: Authorized<ReadSessions>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let session_state = crate::broker::ledger_reports::state_filter(params.state.as_deref())?;
    if let Some(profile) = &params.profile {
        state.context.profile(profile)?;
    }
    let limit = params.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidQuery(format!("limit must be 1-{MAX_LIMIT}")));
    }
    // A cursor pages one filter: it is signed for it, and refused for any other.
    let filter = json!([session_state.map(|s| s.as_str()), params.profile]).to_string();
    let signer = state.sessions.cursors();
    let refused = |_| ApiError::InvalidQuery("cursor is not one this broker handed out for this filter".into());
    let cursor = params.cursor.as_deref().map(|raw| signer.verify(&filter, raw).map(str::to_owned)).transpose();
    let cursor = cursor.map_err(refused)?;
    let query = ListQuery { state: session_state, profile: params.profile, limit, cursor };
    let (records, next) = state.context.upstreams.ledger.list(&query).await?;
    let sessions: Vec<_> = records.iter().map(|r| r.view()).collect();
    let next = next.map(|inner| signer.sign(&filter, &inner));
    Ok(Json(json!({ "sessions": sessions, "next_cursor": next })).into_response())
}

/// One session's record with its cleanup report.
pub(super) async fn show_session(
    State(state): State<AppState>,
    _auth: Authorized<ReadSessions>,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = SessionId::parse(&session_id).map_err(|m| ApiError::invalid("invalid_session_id", m))?;
    let record = state.context.upstreams.ledger.get(id.as_str()).await?;
    let record = record.ok_or_else(|| ApiError::SessionNotFound(id.to_string()))?;
    Ok(Json(record.view()).into_response())
}
