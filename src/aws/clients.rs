//! Building the real clients: the SDK configuration from the environment's
//! default chain, the HTTP client for the federation endpoint and JWKS,
//! and [`Upstreams`], the set every service of the broker is built over.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use super::federation::HttpFederation;
use super::iam::SdkIam;
use super::ledger::Ledger;
use super::ledger::dynamo::DynamoLedger;
use super::members::{Members, SdkMembers};
use super::pool::AccountPool;
use super::pool::dynamo::DynamoPool;
use super::rate_limit::RateLimitedSts;
use super::sts::SdkSts;
use super::{Federation, Iam, Sts};
use crate::config::Settings;
use sandbox_reset::clients::{Backend, SdkBackend};

/// The AWS-facing services, injectable for tests.
#[derive(Clone)]
pub struct Upstreams {
    /// STS, behind the client-side rate limit when one is configured.
    pub sts: Arc<dyn Sts>,
    /// IAM (writes retried on ConcurrentModification).
    pub iam: Arc<dyn Iam>,
    /// The console federation endpoint.
    pub federation: Arc<dyn Federation>,
    /// The session ledger (DynamoDB, in `aws.region`).
    pub ledger: Arc<dyn Ledger>,
    /// What learners created, for cleanup.
    pub resources: Arc<dyn Backend>,
    /// The account pool's table (DynamoDB, in `aws.region`).
    pub pool: Arc<dyn AccountPool>,
    /// Organizations, and access to the pool's member accounts.
    pub members: Arc<dyn Members>,
}

/// Loads the AWS SDK configuration from the environment's default chain
/// (env vars, profile, web identity, ECS/EC2 metadata) for `aws.region`.
pub async fn load_sdk_config(settings: &Settings) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(settings.aws.region.to_string()))
        .load()
        .await
}

/// An HTTP client with the upstream call budget; it never follows
/// redirects, so a federation endpoint cannot bounce credentials elsewhere.
pub fn http_client(settings: &Settings) -> anyhow::Result<reqwest::Client> {
    let budget = Duration::from_millis(settings.aws.call_timeout_ms);
    reqwest::Client::builder()
        .timeout(budget)
        .connect_timeout(budget.min(Duration::from_secs(3)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sandbox-broker/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")
}

impl Upstreams {
    /// Real STS, IAM, DynamoDB (the ledger), resource and federation clients. Throttling is retried by the
    /// SDK's standard mode (3 attempts with jittered backoff); each attempt
    /// is bounded by `aws.call_timeout_ms`.
    pub fn from_sdk_config(settings: &Settings, sdk: &SdkConfig) -> anyhow::Result<Self> {
        let attempt = Duration::from_millis(settings.aws.call_timeout_ms);
        let timeouts =
            TimeoutConfig::builder().operation_attempt_timeout(attempt).operation_timeout(attempt * 3).build();
        let retry = RetryConfig::standard().with_max_attempts(3);
        let endpoint = settings.aws.endpoint_url.clone();
        let mut sts =
            aws_sdk_sts::config::Builder::from(sdk).timeout_config(timeouts.clone()).retry_config(retry.clone());
        sts.set_endpoint_url(endpoint.clone());
        let mut iam =
            aws_sdk_iam::config::Builder::from(sdk).timeout_config(timeouts.clone()).retry_config(retry.clone());
        iam.set_endpoint_url(endpoint.clone());
        let mut dynamodb =
            aws_sdk_dynamodb::config::Builder::from(sdk).timeout_config(timeouts.clone()).retry_config(retry.clone());
        dynamodb.set_endpoint_url(endpoint.clone());
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(dynamodb.build());
        let ledger = DynamoLedger::new(dynamodb.clone(), &settings.ledger.table);
        let pool = DynamoPool::new(dynamodb, &settings.pool.table);
        let base = sdk.to_builder().timeout_config(timeouts).retry_config(retry).build();
        let resources = SdkBackend::new(base.clone(), endpoint.clone());
        let (sts, iam) = (sts.build(), iam.build());
        let mut sts_client: Arc<dyn Sts> = Arc::new(SdkSts::new(aws_sdk_sts::Client::from_conf(sts)));
        if let Some(rps) = NonZeroU32::new(settings.aws.sts_max_rps) {
            sts_client = Arc::new(RateLimitedSts::new(sts_client, rps));
        }
        let members = SdkMembers::new(base, endpoint, sts_client.clone());
        Ok(Self {
            members: Arc::new(members),
            sts: sts_client,
            iam: Arc::new(SdkIam::new(aws_sdk_iam::Client::from_conf(iam))),
            federation: Arc::new(HttpFederation::new(http_client(settings)?)),
            ledger: Arc::new(ledger),
            resources: Arc::new(resources),
            pool: Arc::new(pool),
        })
    }
}
