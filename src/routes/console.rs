//! `GET /console/launch?ticket=…`: the durable console link a learner's
//! browser follows. Errors are small HTML pages, since a person reads them.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret;

use crate::error::ApiError;
use crate::state::AppState;

/// `/console/launch` (GET, HEAD).
pub fn router() -> Router<AppState> {
    Router::new().route("/console/launch", get(launch_console).head(check_console_link))
}

/// `HEAD`: link scanners and chat previews probe links; they learn whether
/// the link is good (200, 401, 410) without a sign-in token being minted.
async fn check_console_link(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(ticket) = params.get("ticket") else {
        return page(ApiError::Unauthorized("this console link is not valid"));
    };
    match state.sessions.check_launch_link(ticket).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => page(err),
    }
}

/// Browsers and mail scanners may append parameters; only `ticket` counts.
async fn launch_console(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(ticket) = params.get("ticket") else {
        return page(ApiError::Unauthorized("this console link is not valid"));
    };
    match state.sessions.launch_console(ticket).await {
        Ok(url) => match HeaderValue::from_str(url.expose_secret()) {
            Ok(location) => {
                let mut response = StatusCode::FOUND.into_response();
                let headers = response.headers_mut();
                headers.insert(header::LOCATION, location);
                // The login URL carries a live sign-in token: keep it out of
                // caches and out of the destination's Referer.
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
                response
            }
            Err(_) => page(ApiError::Internal("login URL is not a valid header".into())),
        },
        Err(err) => page(err),
    }
}

fn page(err: ApiError) -> Response {
    let (status, message) = match &err {
        ApiError::SessionRevoked(_) => (StatusCode::GONE, "This sandbox session has been revoked."),
        ApiError::Unauthorized(why) => (StatusCode::UNAUTHORIZED, *why),
        ApiError::LaunchRateLimited { .. } => {
            (StatusCode::TOO_MANY_REQUESTS, "This console link was opened too often. Please wait a moment and retry.")
        }
        other => {
            (other.status_and_code().0, "The AWS console could not be opened right now. Please try again shortly.")
        }
    };
    tracing::info!(status = status.as_u16(), error = %err, "console launch refused");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Console link</title></head>\
         <body><h1>AWS console link</h1><p>{}</p><p>Ask your training platform for a new link.</p></body></html>",
        html_escape(message)
    );
    let mut response = (status, Html(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if let ApiError::LaunchRateLimited { retry_after_seconds } = err {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
    }
    response
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
