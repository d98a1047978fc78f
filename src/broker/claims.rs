//! Holding a claim while work runs. Cleanups (in the ledger) and resets (in
//! the pool table) are claimed by one replica until a deadline; the claim
//! is renewed every third of `cleanup.claim_seconds` while the work runs, so
//! a slow attempt keeps it and only a replica that stopped loses it.

use std::future::Future;
use std::time::Duration;

use crate::aws::UpstreamError;

/// Runs `work`, calling `renew` (which extends the claim by
/// `claim_seconds` from now) every third of that.
pub(crate) async fn while_renewing<T, R>(
    claim_seconds: u64,
    what: &str,
    work: impl Future<Output = T>,
    renew: impl Fn() -> R,
) -> T
where
    R: Future<Output = Result<bool, UpstreamError>>,
{
    let every = Duration::from_secs((claim_seconds / 3).max(1));
    tokio::pin!(work);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = ticker.tick() => match renew().await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(what, "claim taken over by another replica"),
                Err(err) => tracing::warn!(error = %err, what, "claim not renewed"),
            },
        }
    }
}
