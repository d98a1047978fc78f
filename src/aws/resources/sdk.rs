//! The real clients behind [`Resources`]: one set per region, built on
//! first use from the broker's SDK configuration (same credentials, call
//! budget and retry mode as STS and IAM).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_resourcegroupstagging::types::TagFilter;

use super::{Found, Kind, Resources, ec2, s3, services};
use crate::aws::{UpstreamError, sdk_call};
use crate::domain::TAG_KEY;

/// One region's clients.
pub(super) struct Clients {
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) dynamodb: aws_sdk_dynamodb::Client,
    pub(super) sqs: aws_sdk_sqs::Client,
    pub(super) sns: aws_sdk_sns::Client,
    pub(super) lambda: aws_sdk_lambda::Client,
    pub(super) logs: aws_sdk_cloudwatchlogs::Client,
    pub(super) ec2: aws_sdk_ec2::Client,
    pub(super) tagging: aws_sdk_resourcegroupstagging::Client,
}

/// Discovery and deletion through the AWS SDK.
pub struct SdkResources {
    base: SdkConfig,
    endpoint: Option<String>,
    clients: Mutex<HashMap<String, Arc<Clients>>>,
}

impl SdkResources {
    /// Clients over `base` (credentials, timeouts, retries); `endpoint`
    /// points every service at an emulator.
    pub fn new(base: &SdkConfig, timeouts: TimeoutConfig, retry: RetryConfig, endpoint: Option<String>) -> Self {
        let base = base.to_builder().timeout_config(timeouts).retry_config(retry).build();
        Self { base, endpoint, clients: Mutex::new(HashMap::new()) }
    }

    fn clients(&self, region: &str) -> Arc<Clients> {
        let mut cache = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.entry(region.to_owned()).or_insert_with(|| Arc::new(self.build(region))).clone()
    }

    fn build(&self, region: &str) -> Clients {
        let mut conf = self.base.to_builder().region(aws_config::Region::new(region.to_owned()));
        if let Some(endpoint) = &self.endpoint {
            conf = conf.endpoint_url(endpoint);
        }
        let conf = conf.build();
        // An emulator serves buckets by path, not by virtual host.
        let s3 = aws_sdk_s3::config::Builder::from(&conf).force_path_style(self.endpoint.is_some()).build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            dynamodb: aws_sdk_dynamodb::Client::new(&conf),
            sqs: aws_sdk_sqs::Client::new(&conf),
            sns: aws_sdk_sns::Client::new(&conf),
            lambda: aws_sdk_lambda::Client::new(&conf),
            logs: aws_sdk_cloudwatchlogs::Client::new(&conf),
            ec2: aws_sdk_ec2::Client::new(&conf),
            tagging: aws_sdk_resourcegroupstagging::Client::new(&conf),
        }
    }
}

#[async_trait]
impl Resources for SdkResources {
    async fn tagged(&self, region: &str, key: &str) -> Result<Vec<String>, UpstreamError> {
        let clients = self.clients(region);
        let filter = TagFilter::builder().key(TAG_KEY).values(key).build();
        let pages = clients.tagging.get_resources().tag_filters(filter).into_paginator().items().send();
        let mappings = sdk_call("tagging", "GetResources", pages.collect::<Result<Vec<_>, _>>()).await?;
        Ok(mappings.into_iter().filter_map(|m| m.resource_arn).collect())
    }

    async fn named(&self, region: &str, account: &str, prefix: &str) -> Result<Vec<Found>, UpstreamError> {
        let c = self.clients(region);
        let (buckets, tables, queues, topics, functions, groups, ec2) = tokio::try_join!(
            s3::named(&c.s3, region, prefix),
            services::named_tables(&c.dynamodb, region, account, prefix),
            services::named_queues(&c.sqs, region, prefix),
            services::named_topics(&c.sns, region, prefix),
            services::named_functions(&c.lambda, region, prefix),
            services::named_log_groups(&c.logs, region, prefix),
            ec2::named(&c.ec2, region, account, prefix),
        )?;
        Ok([buckets, tables, queues, topics, functions, groups, ec2].concat())
    }

    async fn delete(&self, found: &Found) -> Result<(), UpstreamError> {
        let c = self.clients(&found.region);
        match found.kind {
            Kind::Bucket => s3::empty_and_delete(&c.s3, &found.id).await,
            Kind::Table => services::delete_table(&c.dynamodb, &found.id).await,
            Kind::Queue => services::delete_queue(&c.sqs, &found.id).await,
            Kind::Topic => services::delete_topic(&c.sns, &found.id).await,
            Kind::Function => services::delete_function(&c.lambda, &found.id).await,
            Kind::LogGroup => services::delete_log_group(&c.logs, &found.id).await,
            Kind::Instance | Kind::Volume | Kind::SecurityGroup | Kind::KeyPair => ec2::delete(&c.ec2, found).await,
            Kind::Unsupported => Ok(()),
        }
    }

    async fn wait_terminated(&self, region: &str, instance_ids: &[String]) -> Result<(), UpstreamError> {
        ec2::wait_terminated(&self.clients(region).ec2, instance_ids).await
    }
}
