//! The whole tower stack in one place. Layers listed first wrap the ones
//! after them, so a request passes them top to bottom and the response
//! bottom to top; `Router::layer` calls wrap what was built before them.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use tower::ServiceBuilder;
use tower::limit::ConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::load_shed::error::Overloaded;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::Settings;
use crate::error::error_response;
use crate::state::{AppState, Lifecycle};
use crate::telemetry::metrics;

/// Each `Router::layer` call wraps every route in one more boxed service
/// that is cloned and polled per request, so the layers are grouped into
/// two calls: one for the API routes, one for everything.
pub(crate) fn stack(
    api: Router<AppState>,
    operations: Router<AppState>,
    settings: &Settings,
    state: AppState,
) -> Router {
    let server = &settings.server;
    let api = api.layer(
        ServiceBuilder::new()
            // Counted for graceful shutdown, which waits for them.
            .layer(axum::middleware::from_fn_with_state(state.lifecycle.clone(), track_in_flight))
            .layer(DefaultBodyLimit::max(server.max_body_bytes))
            // Turns a shed request into 503 + Retry-After (errors must become responses for axum).
            .layer(HandleErrorLayer::new(overloaded))
            // Refuses at once when no concurrency permit is free, instead of
            // queueing without bound while upstream calls are slow.
            .layer(LoadShedLayer::new())
            .layer(ConcurrencyLimitLayer::new(server.max_concurrency))
            // The whole request, upstream calls included, gets this budget; 504 after.
            .layer(TimeoutLayer::with_status_code(
                StatusCode::GATEWAY_TIMEOUT,
                Duration::from_millis(server.request_timeout_ms),
            ))
            // Refuses large bodies by Content-Length and caps streamed ones.
            .layer(RequestBodyLimitLayer::new(server.max_body_bytes)),
    );

    let max_header_bytes = server.max_header_bytes;
    let app = api.merge(operations).fallback(not_found).with_state(state);
    app.layer(
        ServiceBuilder::new()
            // Authorization is redacted wherever headers are recorded.
            .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION]))
            // A client's X-Request-Id is kept only when short and plain (it
            // reaches logs and the response); otherwise a fresh one replaces it.
            .layer(axum::middleware::map_request(drop_unsafe_request_id))
            // A request id first, so the trace span and the response carry it.
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    // Per-request lines at DEBUG: at INFO they cost ~20% of
                    // throughput (docs/benchmarks.md); counts and latencies
                    // are in /metrics and every session has an audit event.
                    .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            // A panic becomes a 500 without details, and the process lives on.
            .layer(CatchPanicLayer::custom(panic_response))
            // Oversized headers are refused before anything reads them.
            .layer(axum::middleware::from_fn(move |req: Request<Body>, next: Next| {
                limit_header_bytes(max_header_bytes, req, next)
            }))
            // Per route template and status; inside routing, so the template is known.
            .layer(axum::middleware::from_fn(record_http_metrics))
            // Every error response leaves in the one JSON shape.
            .layer(axum::middleware::map_response(json_error_bodies)),
    )
}

/// The span of one request. The path only: query strings may carry tickets.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
}

/// Longest client-supplied request id kept.
const MAX_REQUEST_ID: usize = 128;

async fn drop_unsafe_request_id(mut request: Request<Body>) -> Request<Body> {
    let headers = request.headers_mut();
    let ids: Vec<&HeaderValue> = headers.get_all("x-request-id").iter().collect();
    let plain = |v: &HeaderValue| {
        let bytes = v.as_bytes();
        (1..=MAX_REQUEST_ID).contains(&bytes.len())
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    };
    if ids.len() > 1 || ids.iter().any(|v| !plain(v)) {
        headers.remove("x-request-id");
    }
    request
}

async fn overloaded(err: BoxError) -> Response {
    if err.is::<Overloaded>() {
        let mut response =
            error_response(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "the broker is at capacity; retry shortly");
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    } else {
        tracing::error!(error = %err, "middleware error");
        error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error")
    }
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "not_found", "no such route")
}

fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    // The payload is not logged: it could quote request data.
    tracing::error!("handler panicked");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error")
}

/// Rewrites error responses produced outside handlers (405, 413 from the
/// body limit, 504 from the timeout) into the JSON error shape. JSON and
/// HTML bodies (handlers' errors, browser pages) pass through.
async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "malformed request"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed on this route"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body is too large"),
        StatusCode::GATEWAY_TIMEOUT | StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long"),
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        _ => ("error", status.canonical_reason().unwrap_or("error")),
    };
    let mut rewritten = error_response(status, code, message);
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = response.headers().get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten.into_response()
}

async fn track_in_flight(State(lifecycle): State<Arc<Lifecycle>>, request: Request<Body>, next: Next) -> Response {
    let _in_flight = lifecycle.track();
    next.run(request).await
}

async fn record_http_metrics(request: Request<Body>, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    metrics::http_request(&method, route, response.status().as_u16(), started.elapsed());
    response
}

/// 431 when the request's header names and values exceed the limit.
async fn limit_header_bytes(limit: usize, request: Request<Body>, next: Next) -> Response {
    let size: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if size > limit {
        return error_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "request headers are too large",
        );
    }
    next.run(request).await
}
