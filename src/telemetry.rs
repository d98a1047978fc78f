//! Logging. `RUST_LOG` sets the filter (default `info`); `LOG_FORMAT=json`
//! switches to one JSON object per line for log pipelines.
//!
//! Secrets are held in `secrecy` types whose `Debug` prints a placeholder,
//! the Authorization header is marked sensitive, and spans record the path
//! without the query string.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // try_init: a second initialisation (tests) is not an error worth dying for.
    let _ =
        if json { builder.json().with_current_span(true).with_span_list(false).try_init() } else { builder.try_init() };
}

/// Prometheus metrics. One recorder per process (the `metrics` facade is
/// global); every `Application` in the process shares it.
pub mod metrics {
    use std::sync::OnceLock;
    use std::time::Duration;

    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

    pub const HTTP_REQUESTS: &str = "sandbox_broker_http_requests_total";
    pub const HTTP_DURATION: &str = "sandbox_broker_http_request_duration_seconds";
    pub const SESSIONS: &str = "sandbox_broker_sessions_total";
    pub const UPSTREAM_CALLS: &str = "sandbox_broker_upstream_calls_total";
    pub const UPSTREAM_DURATION: &str = "sandbox_broker_upstream_call_duration_seconds";
    pub const UPSTREAM_ERRORS: &str = "sandbox_broker_upstream_errors_total";
    pub const STS_RATE_LIMIT: &str = "sandbox_broker_sts_rate_limit_total";

    /// Latency buckets in seconds: loopback emulators to slow AWS regions.
    const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

    /// Installs the recorder on first use and returns its handle.
    pub fn handle() -> Option<PrometheusHandle> {
        static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
        HANDLE
            .get_or_init(|| {
                let builder = PrometheusBuilder::new().set_buckets(&BUCKETS).ok()?;
                match builder.install_recorder() {
                    Ok(handle) => Some(handle),
                    Err(err) => {
                        tracing::warn!(error = %err, "metrics recorder not installed");
                        None
                    }
                }
            })
            .clone()
    }

    /// A session event (`issued`, `revoked`, `launched`) for a profile.
    pub fn session_event(event: &'static str, profile: &str) {
        ::metrics::counter!(SESSIONS, "event" => event, "profile" => profile.to_owned()).increment(1);
    }

    /// One upstream call: service (`sts`, `iam`, `signin`), operation and
    /// outcome (`ok` or the error kind).
    pub fn upstream_call(service: &'static str, operation: &'static str, outcome: &'static str, elapsed: Duration) {
        ::metrics::counter!(UPSTREAM_CALLS, "service" => service, "operation" => operation, "outcome" => outcome)
            .increment(1);
        ::metrics::histogram!(UPSTREAM_DURATION, "service" => service, "operation" => operation)
            .record(elapsed.as_secs_f64());
    }

    /// One failed upstream call by AWS error code (or the failure kind when
    /// there is no code, e.g. `timeout`).
    pub fn upstream_error(service: &'static str, operation: &'static str, code: String) {
        ::metrics::counter!(UPSTREAM_ERRORS, "service" => service, "operation" => operation, "code" => code)
            .increment(1);
    }

    /// The STS limiter made a call wait (`waited`) or refused it (`shed`).
    pub fn sts_rate_limit(result: &'static str) {
        ::metrics::counter!(STS_RATE_LIMIT, "result" => result).increment(1);
    }

    /// One HTTP request by route template and status.
    pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
        let (method, route) = (method.to_owned(), route.to_owned());
        ::metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
            .increment(1);
        ::metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route).record(elapsed.as_secs_f64());
    }
}
