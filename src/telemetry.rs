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
