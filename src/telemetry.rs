//! Logging. `RUST_LOG` sets the filter (default `info`); `LOG_FORMAT=json`
//! switches to one JSON object per line for log pipelines.
//!
//! Secrets are held in `secrecy` types whose `Debug` prints a placeholder,
//! the Authorization header is marked sensitive, and spans record the path
//! without the query string.

use tracing_subscriber::EnvFilter;

/// The default filter. The SDK's credential chain logs each provider it
/// tried (instance metadata included) with its error's debug form at WARN;
/// the broker reports a missing-credentials failure in one line itself.
const DEFAULT_FILTER: &str = "info,aws_config::meta::credentials::chain=error,aws_config::imds=error";

/// Installs the global subscriber (a second call does nothing).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
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

    /// Counter: requests by method, route and status.
    pub const HTTP_REQUESTS: &str = "sandbox_broker_http_requests_total";
    /// Histogram: request latency by method and route.
    pub const HTTP_DURATION: &str = "sandbox_broker_http_request_duration_seconds";
    /// Counter: sessions issued, revoked, launched, by profile.
    pub const SESSIONS: &str = "sandbox_broker_sessions_total";
    /// Counter: upstream calls by service, operation, outcome.
    pub const UPSTREAM_CALLS: &str = "sandbox_broker_upstream_calls_total";
    /// Histogram: upstream call latency.
    pub const UPSTREAM_DURATION: &str = "sandbox_broker_upstream_call_duration_seconds";
    /// Counter: upstream errors by AWS error code.
    pub const UPSTREAM_ERRORS: &str = "sandbox_broker_upstream_errors_total";
    /// Counter: STS calls the broker's limit made wait or refused.
    pub const STS_RATE_LIMIT: &str = "sandbox_broker_sts_rate_limit_total";
    /// Gauge: open client connections.
    pub const CONNECTIONS_OPEN: &str = "sandbox_broker_http_connections_open";
    /// Counter: closed connections by reason.
    pub const CONNECTIONS_CLOSED: &str = "sandbox_broker_http_connections_closed_total";
    /// Counter: console launches by result.
    pub const CONSOLE_LAUNCHES: &str = "sandbox_broker_console_launches_total";
    /// Counter: sessions entering a ledger state (`ended`, `cleaned`, …).
    pub const SESSION_STATES: &str = "sandbox_broker_session_state_transitions_total";
    /// Gauge: revocations waiting for (or carried by) a policy write, by role.
    pub const REVOCATIONS_PENDING: &str = "sandbox_broker_revocations_pending";
    /// Counter: revocation policy writes (PutRolePolicy), by role.
    pub const REVOCATION_WRITES: &str = "sandbox_broker_revocation_writes_total";
    /// Counter: revocation entries those writes added, by role.
    pub const REVOCATION_ENTRIES: &str = "sandbox_broker_revocation_entries_written_total";
    /// Gauge: sessions whose cleanup is due and not done.
    pub const CLEANUP_BACKLOG: &str = "sandbox_broker_cleanup_backlog";
    /// Gauge: seconds since the oldest due session became due.
    pub const CLEANUP_OLDEST_DUE: &str = "sandbox_broker_cleanup_oldest_due_age_seconds";
    /// Counter: resources deleted, failed or left, by type.
    pub const CLEANUP_RESOURCES: &str = "sandbox_broker_cleanup_resources_total";
    /// Histogram: one session's cleanup, by resulting state.
    pub const CLEANUP_DURATION: &str = "sandbox_broker_cleanup_duration_seconds";

    /// Gauge: pool accounts by state.
    pub const POOL_ACCOUNTS: &str = "sandbox_broker_pool_accounts";
    /// Counter: account-profile sessions refused for want of a free account.
    pub const POOL_EXHAUSTED: &str = "sandbox_broker_pool_exhausted_total";
    /// Histogram: one account reset, by outcome (`available`, `quarantined`).
    pub const RESET_DURATION: &str = "sandbox_broker_reset_duration_seconds";

    /// Gauge: USD the active sessions of a profile have spent, estimated.
    pub const SPEND_ESTIMATED: &str = "sandbox_broker_spend_estimated_usd";
    /// Histogram: one meter pass.
    pub const METER_PASS: &str = "sandbox_broker_meter_pass_seconds";
    /// Gauge: listing calls the last meter pass made.
    pub const METER_LISTINGS: &str = "sandbox_broker_meter_listings_per_pass";

    /// Gauge: active sessions at or past their budget's warning line.
    pub const SESSIONS_OVER_WARN: &str = "sandbox_broker_sessions_over_budget_warning";
    /// Gauge: active sessions at or past their budget.
    pub const SESSIONS_OVER_BUDGET: &str = "sandbox_broker_sessions_over_budget";
    /// Counter: budget lines crossed, by `event`.
    pub const BUDGET_CROSSINGS: &str = "sandbox_broker_budget_crossings_total";

    /// Latency buckets in seconds: loopback emulators to slow AWS regions.
    const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

    /// How often histogram samples are folded into their buckets.
    const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

    /// Installs the recorder on first use and returns its handle.
    pub fn handle() -> Option<PrometheusHandle> {
        static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
        HANDLE
            .get_or_init(|| {
                sandbox_reset::upstream::observe_with(upstream_call);
                let builder = PrometheusBuilder::new().set_buckets(&BUCKETS).ok()?;
                match builder.install_recorder() {
                    Ok(handle) => {
                        spawn_upkeep(handle.clone());
                        Some(handle)
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "metrics recorder not installed");
                        None
                    }
                }
            })
            .clone()
    }

    /// The recorder keeps every histogram sample until something drains
    /// it: a scrape or `run_upkeep`. `install_recorder` (unlike the
    /// exporter's own `install`) starts no upkeep task, so a broker nobody
    /// scrapes would grow by every request's samples, without bound. A
    /// plain thread, because the recorder is process-wide and outlives any
    /// one tokio runtime (tests build many).
    fn spawn_upkeep(handle: PrometheusHandle) {
        let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
        if let Err(err) = spawned {
            tracing::warn!(error = %err, "metrics upkeep thread not started; samples are drained only by scrapes");
        }
    }

    /// A session event (`issued`, `revoked`, `launched`) for a profile.
    pub fn session_event(event: &'static str, profile: &str) {
        ::metrics::counter!(SESSIONS, "event" => event, "profile" => profile.to_owned()).increment(1);
    }

    /// One upstream call: service (`sts`, `iam`, `signin`, `ec2`…),
    /// operation, outcome (`ok` or the error kind) and, for a failure, the
    /// AWS error code (or the kind when there is none, e.g. `timeout`).
    /// Installed as the reset engine's observer, so every AWS call of the
    /// process lands here.
    pub fn upstream_call(
        service: &'static str,
        operation: &'static str,
        error: Option<&sandbox_reset::upstream::UpstreamError>,
        elapsed: Duration,
    ) {
        let outcome = error.map_or("ok", |e| e.kind.label());
        if let Some(e) = error {
            let code = e.code.clone().unwrap_or_else(|| e.kind.label().to_owned());
            ::metrics::counter!(UPSTREAM_ERRORS, "service" => service, "operation" => operation, "code" => code)
                .increment(1);
        }
        ::metrics::counter!(UPSTREAM_CALLS, "service" => service, "operation" => operation, "outcome" => outcome)
            .increment(1);
        ::metrics::histogram!(UPSTREAM_DURATION, "service" => service, "operation" => operation)
            .record(elapsed.as_secs_f64());
    }

    /// The STS limiter made a call wait (`waited`) or refused it (`shed`).
    pub fn sts_rate_limit(result: &'static str) {
        ::metrics::counter!(STS_RATE_LIMIT, "result" => result).increment(1);
    }

    /// Open client connections.
    pub fn connections_open(count: usize) {
        ::metrics::gauge!(CONNECTIONS_OPEN).set(count as f64);
    }

    /// A client connection closed: `client`, `header_timeout`,
    /// `idle_timeout`, `evicted` (idle the longest at the cap), `refused`
    /// (at the cap with every connection busy) or `shutdown`.
    pub fn connection_closed(reason: &'static str) {
        ::metrics::counter!(CONNECTIONS_CLOSED, "reason" => reason).increment(1);
    }

    /// How a console launch was answered: `minted`, `reused` (a still-valid
    /// sign-in URL of the same ticket), `checked` (HEAD) or `limited`.
    pub fn console_launch(result: &'static str) {
        ::metrics::counter!(CONSOLE_LAUNCHES, "result" => result).increment(1);
    }

    /// A session entered `state` in the ledger.
    pub fn session_state(state: &'static str) {
        ::metrics::counter!(SESSION_STATES, "state" => state).increment(1);
    }

    /// The cleanup backlog as the worker last saw it.
    pub fn cleanup_backlog(due: usize, oldest_age: Duration) {
        ::metrics::gauge!(CLEANUP_BACKLOG).set(due as f64);
        ::metrics::gauge!(CLEANUP_OLDEST_DUE).set(oldest_age.as_secs_f64());
    }

    /// Revocations on `role` submitted (`delta` > 0) or answered (< 0).
    pub fn revocations_pending(role: &str, delta: f64) {
        ::metrics::gauge!(REVOCATIONS_PENDING, "role" => role.to_owned()).increment(delta);
    }

    /// One revocation policy write on `role` carrying `entries` new entries.
    pub fn revocation_write(role: &str, entries: usize) {
        ::metrics::counter!(REVOCATION_WRITES, "role" => role.to_owned()).increment(1);
        ::metrics::counter!(REVOCATION_ENTRIES, "role" => role.to_owned()).increment(entries as u64);
    }

    /// A resource's cleanup outcome (`deleted`, `failed`, `left`) by type.
    pub fn cleanup_resource(kind: &str, outcome: &'static str) {
        ::metrics::counter!(CLEANUP_RESOURCES, "type" => kind.to_owned(), "outcome" => outcome).increment(1);
    }

    /// One session's cleanup attempt and the state it left the session in.
    pub fn cleanup_finished(state: &'static str, elapsed: Duration) {
        ::metrics::histogram!(CLEANUP_DURATION, "state" => state).record(elapsed.as_secs_f64());
    }

    /// How many pool accounts are in `state`.
    pub fn pool_accounts(state: &'static str, count: usize) {
        ::metrics::gauge!(POOL_ACCOUNTS, "state" => state).set(count as f64);
    }

    /// A session refused with `pool_exhausted`.
    pub fn pool_exhausted() {
        ::metrics::counter!(POOL_EXHAUSTED).increment(1);
    }

    /// One account reset and how it ended.
    pub fn reset_finished(outcome: &'static str, elapsed: Duration) {
        ::metrics::histogram!(RESET_DURATION, "outcome" => outcome).record(elapsed.as_secs_f64());
    }

    /// The active sessions of `profile`: USD spent, estimated.
    pub fn spend_estimated(profile: &str, usd: f64) {
        ::metrics::gauge!(SPEND_ESTIMATED, "profile" => profile.to_owned()).set(usd);
    }

    /// One meter pass: how long, and how many listing calls.
    pub fn meter_pass(elapsed: Duration, listings: usize) {
        ::metrics::histogram!(METER_PASS).record(elapsed.as_secs_f64());
        ::metrics::gauge!(METER_LISTINGS).set(listings as f64);
    }

    /// Active sessions past their budget's warning line, and past it.
    pub fn sessions_over_budget(over_warn: usize, over_budget: usize) {
        ::metrics::gauge!(SESSIONS_OVER_WARN).set(over_warn as f64);
        ::metrics::gauge!(SESSIONS_OVER_BUDGET).set(over_budget as f64);
    }

    /// A budget line a session's estimate crossed.
    pub fn budget_crossed(event: &'static str) {
        ::metrics::counter!(BUDGET_CROSSINGS, "event" => event).increment(1);
    }

    /// One HTTP request by route template and status. Labels are static
    /// strings where possible: this runs on every request.
    pub fn http_request(method: &axum::http::Method, route: &str, status: u16, elapsed: Duration) {
        let method = static_method(method);
        let route = route.to_owned();
        ::metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status_label(status))
            .increment(1);
        ::metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route).record(elapsed.as_secs_f64());
    }

    fn static_method(method: &axum::http::Method) -> &'static str {
        use axum::http::Method;
        match *method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::DELETE => "DELETE",
            Method::PUT => "PUT",
            Method::HEAD => "HEAD",
            Method::OPTIONS => "OPTIONS",
            Method::PATCH => "PATCH",
            _ => "other",
        }
    }

    fn status_label(status: u16) -> ::metrics::SharedString {
        const COMMON: [(u16, &str); 16] = [
            (200, "200"),
            (201, "201"),
            (202, "202"),
            (302, "302"),
            (400, "400"),
            (401, "401"),
            (403, "403"),
            (404, "404"),
            (409, "409"),
            (410, "410"),
            (413, "413"),
            (415, "415"),
            (422, "422"),
            (502, "502"),
            (503, "503"),
            (504, "504"),
        ];
        match COMMON.iter().find(|(code, _)| *code == status) {
            Some((_, label)) => ::metrics::SharedString::const_str(label),
            None => status.to_string().into(),
        }
    }
}
