//! Liveness, readiness and the OpenAPI document.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

const OPENAPI: &str = include_str!("../../openapi.yaml");

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

/// 200 once the broker's AWS identity resolves (config was validated at
/// start-up); 503 while it does not, and once shutdown has begun.
async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if state.lifecycle.is_draining() {
        return Err(ApiError::NotReady("shutting down".into()));
    }
    let identity = state
        .broker
        .identity()
        .await
        .map_err(|e| ApiError::NotReady(format!("broker AWS identity does not resolve: {e}")))?;
    Ok(Json(json!({
        "status": "ready",
        "broker_principal_arn": identity.arn,
        "role_chained": identity.is_role_session(),
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
