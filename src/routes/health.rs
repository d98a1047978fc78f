//! Liveness, readiness and the OpenAPI document.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

const OPENAPI: &str = include_str!("../../openapi.yaml");

/// `/healthz`, `/readyz`, `/openapi.yaml`, `/metrics`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.yaml", get(openapi))
        .route("/metrics", get(metrics))
}

/// 200 while the process serves requests.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// How long `/readyz` waits for the identity check before it answers from
/// the last known state (probes commonly time out after 1 s).
const READY_BUDGET: Duration = Duration::from_millis(800);
/// A last known good identity older than this no longer counts.
const READY_STALE_AFTER: Duration = Duration::from_secs(300);

/// 200 once the broker's AWS identity resolves (config was validated at
/// start-up); 503 while it does not, and once shutdown has begun. The
/// check runs on its own task: when it takes longer than the budget the
/// answer comes from the last successful check (if recent) and the check
/// goes on to refresh it.
async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if state.lifecycle.is_draining() {
        return Err(ApiError::NotReady("shutting down".into()));
    }
    let context = state.context.clone();
    let check = tokio::spawn(async move { context.identity().await });
    let (identity, checked_ago) = match tokio::time::timeout(READY_BUDGET, check).await {
        Ok(Ok(Ok(identity))) => (identity, Duration::ZERO),
        Ok(Ok(Err(e))) => return Err(ApiError::NotReady(format!("broker AWS identity does not resolve: {e}"))),
        Ok(Err(_)) => return Err(ApiError::NotReady("identity check failed".into())),
        Err(_) => match state.context.last_known_identity().filter(|(_, age)| *age < READY_STALE_AFTER) {
            Some(known) => known,
            None => return Err(ApiError::NotReady("the AWS identity check is taking too long".into())),
        },
    };
    Ok(Json(json!({
        "status": "ready",
        "broker_principal_arn": identity.arn,
        "role_chained": identity.is_role_session(),
        "identity_checked_seconds_ago": checked_ago.as_secs(),
    })))
}

async fn openapi() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
}

/// Prometheus text exposition.
async fn metrics() -> Response {
    match crate::telemetry::metrics::handle() {
        Some(handle) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
        }
        None => ApiError::NotReady("metrics recorder unavailable".into()).into_response(),
    }
}
