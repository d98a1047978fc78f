//! Which failures are worth another try, and trying again.

use std::future::Future;
use std::time::Duration;

use crate::engine::Options;
use crate::upstream::{UpstreamError, UpstreamErrorKind};

/// The first wait between tries; each next one doubles, up to [`MAX_WAIT`].
pub(crate) const FIRST_WAIT: Duration = Duration::from_millis(250);
/// The longest wait between tries or polls.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(5);

/// Throttling, a timeout or an unreachable endpoint: the call may work
/// when sent again.
pub(crate) fn transient(err: &UpstreamError) -> bool {
    matches!(
        err.kind,
        UpstreamErrorKind::Throttled
            | UpstreamErrorKind::Timeout
            | UpstreamErrorKind::Unavailable
            | UpstreamErrorKind::RateLimited
    )
}

/// The wait after `wait`.
pub(crate) fn next(wait: Duration) -> Duration {
    (wait * 2).min(MAX_WAIT)
}

/// Runs `call`, retrying transient failures `options.retries` times.
pub(crate) async fn with_retries<T, F, Fut>(options: &Options, mut call: F) -> Result<T, UpstreamError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let mut wait = FIRST_WAIT;
    let mut left = options.retries;
    loop {
        match call().await {
            Err(err) if transient(&err) && left > 0 => {
                left -= 1;
                tokio::time::sleep(wait).await;
                wait = next(wait);
            }
            result => return result,
        }
    }
}
