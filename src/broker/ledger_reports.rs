//! `sandbox-broker sessions list|show`: the ledger for an operator's
//! terminal, as the same JSON the API serves.

use serde_json::{Value, json};

use super::Context;
use crate::aws::ledger::{ListQuery, SessionState};
use crate::error::ApiError;

/// A `state` filter (`GET /sessions?state=`, `sessions list --state`).
pub fn state_filter(raw: Option<&str>) -> Result<Option<SessionState>, ApiError> {
    raw.map(|raw| {
        SessionState::parse(raw).ok_or_else(|| {
            let known: Vec<&str> = SessionState::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::InvalidQuery(format!("unknown state `{raw}` (one of {})", known.join(", ")))
        })
    })
    .transpose()
}

/// Every session (all pages), optionally in one state, as pretty JSON.
pub async fn list(ctx: &Context, state: Option<&str>) -> Result<String, ApiError> {
    let state = state_filter(state)?;
    let mut query = ListQuery { state, profile: None, limit: 100, cursor: None };
    let mut sessions: Vec<Value> = Vec::new();
    loop {
        let (page, next) = ctx.upstreams.ledger.list(&query).await?;
        sessions.extend(page.iter().map(|r| r.view()));
        match next {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    Ok(serde_json::to_string_pretty(&json!({ "sessions": sessions })).unwrap_or_default())
}

/// One session's record and cleanup report, as pretty JSON.
pub async fn show(ctx: &Context, session_id: &str) -> Result<String, ApiError> {
    let record = ctx.upstreams.ledger.get(session_id).await?;
    let record = record.ok_or_else(|| ApiError::SessionNotFound(session_id.to_owned()))?;
    Ok(serde_json::to_string_pretty(&record.view()).unwrap_or_default())
}
