//! Client-side protection of the account's STS quota. AWS allows about 600
//! STS requests per second per account and region, shared by everything in
//! the account; a burst of learners must not get the whole account
//! throttled. Calls beyond `aws.sts_max_rps` wait briefly for a slot, then
//! are refused (503 `sts_rate_limited` with Retry-After) instead.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::{AssumeRoleInput, CallerIdentity, IssuedCredentials, Sts, UpstreamError, UpstreamErrorKind};
use crate::telemetry::metrics;

/// Longest a call waits for a slot before it is refused.
pub const MAX_WAIT: Duration = Duration::from_millis(500);

/// STS behind the broker's own rate limit.
pub struct RateLimitedSts {
    inner: Arc<dyn Sts>,
    limiter: DefaultDirectRateLimiter,
}

impl RateLimitedSts {
    /// At most `max_rps` calls per second through `inner`.
    pub fn new(inner: Arc<dyn Sts>, max_rps: NonZeroU32) -> Self {
        Self { inner, limiter: RateLimiter::direct(Quota::per_second(max_rps)) }
    }

    async fn admit(&self, operation: &'static str) -> Result<(), UpstreamError> {
        if self.limiter.check().is_ok() {
            return Ok(());
        }
        metrics::sts_rate_limit("waited");
        match tokio::time::timeout(MAX_WAIT, self.limiter.until_ready()).await {
            Ok(()) => Ok(()),
            Err(_) => {
                metrics::sts_rate_limit("shed");
                Err(UpstreamError::new(
                    "sts",
                    operation,
                    UpstreamErrorKind::RateLimited,
                    "the broker's STS rate limit (aws.sts_max_rps) is reached",
                ))
            }
        }
    }
}

#[async_trait]
impl Sts for RateLimitedSts {
    async fn caller_identity(&self) -> Result<CallerIdentity, UpstreamError> {
        self.admit("GetCallerIdentity").await?;
        self.inner.caller_identity().await
    }

    async fn assume_role(&self, input: &AssumeRoleInput) -> Result<IssuedCredentials, UpstreamError> {
        self.admit("AssumeRole").await?;
        self.inner.assume_role(input).await
    }
}
