//! Admin routes (scope `admin`): converge IAM, tear it down, report status,
//! clean one session now, freeze and unfreeze one.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::auth::{Admin, Authorized};
use crate::broker::CleanNow;
use crate::broker::provision::ProvisionError;
use crate::domain::SessionId;
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;

/// `/admin/bootstrap` (POST, DELETE), `/admin/status` and
/// `/admin/sessions/{session_id}/cleanup|freeze|unfreeze` (POST).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/bootstrap", post(bootstrap).delete(teardown))
        .route("/admin/status", get(status))
        .route("/admin/sessions/{session_id}/cleanup", post(clean_session))
        .route("/admin/sessions/{session_id}/freeze", post(freeze_session))
        .route("/admin/sessions/{session_id}/unfreeze", post(unfreeze_session))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapQuery {
    #[serde(default)]
    dry_run: bool,
    /// Converge one profile only.
    profile: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeardownQuery {
    #[serde(default)]
    dry_run: bool,
    /// Remove the ledger even while sessions are not cleaned.
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CleanupQuery {
    #[serde(default)]
    dry_run: bool,
}

impl IntoResponse for ProvisionError {
    fn into_response(self) -> Response {
        let completed = serde_json::to_value(&self.completed).unwrap_or_default();
        self.source.into_response_with(Some(("completed", completed)))
    }
}

async fn bootstrap(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    ApiQuery(query): ApiQuery<BootstrapQuery>,
) -> Result<Response, ProvisionError> {
    let report = state.provisioner.bootstrap(query.dry_run, query.profile.as_deref()).await?;
    audit("bootstrap", query.dry_run, &auth, report.changes.len());
    Ok(Json(report).into_response())
}

async fn teardown(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    ApiQuery(query): ApiQuery<TeardownQuery>,
) -> Result<Response, ProvisionError> {
    let report = state.provisioner.teardown(query.dry_run, query.force).await?;
    audit("teardown", query.dry_run, &auth, report.changes.len());
    Ok(Json(report).into_response())
}

fn audit(event: &str, dry_run: bool, auth: &Authorized<Admin>, changes: usize) {
    tracing::info!(target: "sandbox_broker::audit", event, dry_run, changes, caller = auth.claims.sub.as_deref().unwrap_or("-"));
}

/// Cleans an ended session now (again, after a `cleanup_incomplete`): 200
/// with the report when it finishes within half the request timeout,
/// otherwise 202 with the record while it goes on (also when another
/// replica is cleaning it). A dry run lists what would be deleted and
/// changes nothing.
async fn clean_session(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(session_id): Path<String>,
    ApiQuery(query): ApiQuery<CleanupQuery>,
) -> Result<Response, ApiError> {
    let id = SessionId::parse(&session_id).map_err(|m| ApiError::invalid("invalid_session_id", m))?;
    let wait = Duration::from_millis(state.context.settings.server.request_timeout_ms) / 2;
    let outcome = state.cleanup.clean_now(id.as_str(), query.dry_run, Some(wait)).await?;
    audit("session_cleanup", query.dry_run, &auth, 1);
    Ok(match outcome {
        CleanNow::Finished(record) => Json(record).into_response(),
        CleanNow::Running(record) => (StatusCode::ACCEPTED, Json(record)).into_response(),
    })
}

/// Freezes an active session (credentials and launches refused, resources
/// kept, lease running): 200 with its record.
async fn freeze_session(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = SessionId::parse(&session_id).map_err(|m| ApiError::invalid("invalid_session_id", m))?;
    let why = format!("frozen by {}", auth.claims.sub.as_deref().unwrap_or("an operator"));
    let sessions = state.sessions.clone();
    let record = crate::broker::to_completion(async move { sessions.freeze_session(&id, &why).await }).await?;
    Ok(Json(record.view()).into_response())
}

/// Unfreezes a frozen session: 200 with its record, active again.
async fn unfreeze_session(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = SessionId::parse(&session_id).map_err(|m| ApiError::invalid("invalid_session_id", m))?;
    let record = state.sessions.unfreeze_session(&id, auth.claims.sub.as_deref()).await?;
    Ok(Json(record.view()).into_response())
}

async fn status(State(state): State<AppState>, _auth: Authorized<Admin>) -> Result<Response, ApiError> {
    Ok(Json(state.provisioner.status().await?).into_response())
}
