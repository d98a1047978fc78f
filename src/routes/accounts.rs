//! `/admin/accounts` (scope `admin`): the account pool's operator controls
//! (DESIGN §8). A reset started here (release, reset) runs in a task of its
//! own and is answered 202 at once: the record shows `resetting` until the
//! reset stores its end, and a replica that dies mid-way leaves a claim
//! another takes over.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Admin, Authorized};
use crate::aws::pool::AccountState;
use crate::broker::accounts::{Accounts, RegisterBody, view};
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;

/// Largest page `GET /admin/accounts` returns.
const MAX_LIMIT: u32 = 100;
/// Longest quarantine reason kept.
const MAX_REASON: usize = 1_000;

/// The pool's admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/accounts", post(register).get(list))
        .route("/admin/accounts/{account_id}", get(show).delete(remove))
        .route("/admin/accounts/{account_id}/quarantine", post(quarantine))
        .route("/admin/accounts/{account_id}/release", post(release))
        .route("/admin/accounts/{account_id}/reset", post(reset))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    state: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuarantineBody {
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetQuery {
    #[serde(default)]
    dry_run: bool,
}

fn audit(event: &str, account: &str, auth: &Authorized<Admin>) {
    tracing::info!(target: "sandbox_broker::audit", event, account, caller = auth.claims.sub.as_deref().unwrap_or("-"));
}

/// Runs the account's reset in a task of its own (see the module docs).
fn spawn_reset(accounts: &Arc<Accounts>, account_id: String) {
    let accounts = accounts.clone();
    tokio::spawn(async move {
        if let Err(err) = accounts.claim_and_reset(&account_id).await {
            tracing::warn!(error = %err, account_id, "reset not run; the worker retries it");
        }
    });
}

async fn register(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<Response, ApiError> {
    let accounts = state.accounts.clone();
    let shown = crate::broker::to_completion(async move { accounts.register(body).await }).await?;
    audit("accounts_registered", &shown.len().to_string(), &auth);
    Ok((StatusCode::CREATED, Json(json!({ "accounts": shown }))).into_response())
}

async fn list(
    State(state): State<AppState>,
    _auth: Authorized<Admin>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let filter = match params.state.as_deref() {
        Some(name) => Some(AccountState::parse(name).ok_or_else(|| {
            ApiError::InvalidQuery(format!(
                "state must be one of: {}",
                AccountState::ALL.map(|s| s.as_str()).join(", ")
            ))
        })?),
        None => None,
    };
    let limit = params.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidQuery(format!("limit must be 1-{MAX_LIMIT}")));
    }
    // A cursor pages one filter: signed for it, refused for any other.
    let scope = format!("accounts:{}", filter.map_or("", |s| s.as_str()));
    let signer = state.sessions.cursors();
    let refused = |_| ApiError::InvalidQuery("cursor is not one this broker handed out for this filter".into());
    let cursor = params.cursor.as_deref().map(|raw| signer.verify(&scope, raw)).transpose().map_err(refused)?;
    let (accounts, next) = state.accounts.list(filter, limit, cursor).await?;
    let next = next.map(|inner| signer.sign(&scope, &inner));
    Ok(Json(json!({ "accounts": accounts, "next_cursor": next })).into_response())
}

async fn show(
    State(state): State<AppState>,
    _auth: Authorized<Admin>,
    Path(account_id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.accounts.show(&account_id).await?).into_response())
}

async fn remove(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(account_id): Path<String>,
) -> Result<Response, ApiError> {
    let shown = state.accounts.remove(&account_id).await?;
    audit("account_removed", &account_id, &auth);
    Ok(Json(shown).into_response())
}

async fn quarantine(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(account_id): Path<String>,
    ApiJson(body): ApiJson<QuarantineBody>,
) -> Result<Response, ApiError> {
    let reason = body.reason.trim();
    if reason.is_empty() || reason.len() > MAX_REASON || reason.chars().any(char::is_control) {
        return Err(ApiError::invalid("invalid_reason", format!("a reason of 1-{MAX_REASON} printable characters")));
    }
    let accounts = state.accounts.clone();
    let (id, reason) = (account_id.clone(), reason.to_owned());
    let shown = crate::broker::to_completion(async move { accounts.quarantine(&id, &reason).await }).await?;
    audit("account_quarantined", &account_id, &auth);
    Ok(Json(shown).into_response())
}

async fn release(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(account_id): Path<String>,
) -> Result<Response, ApiError> {
    let record = state.accounts.release(&account_id).await?;
    audit("account_released", &account_id, &auth);
    spawn_reset(&state.accounts, record.account_id.clone());
    Ok((StatusCode::ACCEPTED, Json(view(&record))).into_response())
}

async fn reset(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
    Path(account_id): Path<String>,
    ApiQuery(query): ApiQuery<ResetQuery>,
) -> Result<Response, ApiError> {
    if query.dry_run {
        let report = state.accounts.preview(&account_id).await?;
        return Ok(Json(json!({ "account_id": account_id, "dry_run": true, "reset": report.view() })).into_response());
    }
    let record = state.accounts.start_reset(&account_id).await?;
    audit("account_reset_started", &account_id, &auth);
    spawn_reset(&state.accounts, record.account_id.clone());
    Ok((StatusCode::ACCEPTED, Json(view(&record))).into_response())
}
