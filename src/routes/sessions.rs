//! `POST /sessions`: issue a learner session.

mod formats;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use crate::auth::{Authorized, IssueSessions};
use crate::broker::SessionRequest;
use crate::broker::issue::IssueSessionBody;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;

pub use formats::{FormatQuery, OutputFormat};

pub fn router() -> Router<AppState> {
    Router::new().route("/sessions", post(issue_session))
}

/// Validates everything (auth, query, body) before the first AWS call.
async fn issue_session(
    State(state): State<AppState>,
    auth: Authorized<IssueSessions>,
    ApiQuery(query): ApiQuery<FormatQuery>,
    ApiJson(body): ApiJson<IssueSessionBody>,
) -> Result<Response, ApiError> {
    let query = query.validate()?;
    let request = SessionRequest::validate(body, &state.settings)?;
    let session = state
        .broker
        .issue_session(&request, auth.claims.sub.as_deref())
        .await?;
    Ok(formats::render(&session, &query))
}
