//! The SDK clients the registry's listers and deleters use, one set per
//! region, and [`Backend`]: the engine's only door to AWS (a test wraps it
//! to count or delay calls).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_resourcegroupstagging::types::TagFilter;

use crate::registry::{Deleted, Registration, Resource, Where};
use crate::upstream::{UpstreamError, sdk_call};

macro_rules! clients {
    ($($field:ident: $krate:ident),* $(,)?) => {
        /// One region's clients, one per service the registry knows.
        #[allow(missing_docs)]
        pub struct Clients {
            pub s3: aws_sdk_s3::Client,
            $(pub $field: $krate::Client,)*
        }

        impl Clients {
            fn new(conf: &SdkConfig, s3: aws_sdk_s3::Client) -> Self {
                Self { s3, $($field: $krate::Client::new(conf),)* }
            }
        }
    };
}

clients! {
    apigateway: aws_sdk_apigateway,
    apigatewayv2: aws_sdk_apigatewayv2,
    athena: aws_sdk_athena,
    autoscaling: aws_sdk_autoscaling,
    cloudformation: aws_sdk_cloudformation,
    cloudwatch: aws_sdk_cloudwatch,
    cognito: aws_sdk_cognitoidentityprovider,
    dynamodb: aws_sdk_dynamodb,
    ec2: aws_sdk_ec2,
    ecr: aws_sdk_ecr,
    ecs: aws_sdk_ecs,
    efs: aws_sdk_efs,
    eks: aws_sdk_eks,
    elasticache: aws_sdk_elasticache,
    elbv2: aws_sdk_elasticloadbalancingv2,
    events: aws_sdk_eventbridge,
    firehose: aws_sdk_firehose,
    glue: aws_sdk_glue,
    iam: aws_sdk_iam,
    kinesis: aws_sdk_kinesis,
    kms: aws_sdk_kms,
    lambda: aws_sdk_lambda,
    logs: aws_sdk_cloudwatchlogs,
    opensearch: aws_sdk_opensearch,
    rds: aws_sdk_rds,
    redshift: aws_sdk_redshift,
    route53: aws_sdk_route53,
    sagemaker: aws_sdk_sagemaker,
    secrets: aws_sdk_secretsmanager,
    sfn: aws_sdk_sfn,
    sns: aws_sdk_sns,
    sqs: aws_sdk_sqs,
    ssm: aws_sdk_ssm,
    tagging: aws_sdk_resourcegroupstagging,
}

/// ARNs the tagging API returned, each with its tags.
pub type Tagged = Vec<(String, Vec<(String, String)>)>;

/// The engine's calls to AWS.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Tagging-API ARNs in `region` with their tags: those tagged
    /// `tag=value` when a filter is given, else every tagged resource.
    async fn tagged(&self, region: &str, filter: Option<(&str, &str)>) -> Result<Tagged, UpstreamError>;
    /// One type's listing in one place.
    async fn list(&self, kind: &'static Registration, at: &Where) -> Result<Vec<Resource>, UpstreamError>;
    /// Deletes one resource of `kind` (with its preparation).
    async fn delete(&self, kind: &'static Registration, resource: &Resource) -> Result<Deleted, UpstreamError>;
    /// For an asynchronous type: whether it is gone yet.
    async fn gone(&self, kind: &'static Registration, resource: &Resource) -> Result<bool, UpstreamError>;
    /// Restores a pool account's baseline in one region (a default VPC);
    /// the ARNs of what it created. Backends that hold no real account
    /// restore nothing.
    async fn restore_baseline(&self, _at: &Where) -> Result<Vec<String>, UpstreamError> {
        Ok(Vec::new())
    }
}

/// The real clients, built per region on first use from one SDK
/// configuration (credentials, call budget and retry mode).
pub struct SdkBackend {
    base: SdkConfig,
    endpoint: Option<String>,
    clients: Mutex<HashMap<String, Arc<Clients>>>,
}

impl SdkBackend {
    /// Clients over `base`; `endpoint` points every service at an emulator.
    pub fn new(base: SdkConfig, endpoint: Option<String>) -> Self {
        Self { base, endpoint, clients: Mutex::new(HashMap::new()) }
    }

    /// The clients of `region`.
    pub fn clients(&self, region: &str) -> Arc<Clients> {
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
        Clients::new(&conf, aws_sdk_s3::Client::from_conf(s3))
    }
}

#[async_trait]
impl Backend for SdkBackend {
    async fn tagged(&self, region: &str, filter: Option<(&str, &str)>) -> Result<Tagged, UpstreamError> {
        let clients = self.clients(region);
        let mut request = clients.tagging.get_resources();
        if let Some((key, value)) = filter {
            request = request.tag_filters(TagFilter::builder().key(key).values(value).build());
        }
        let pages = request.into_paginator().items().send();
        let mappings = sdk_call("tagging", "GetResources", pages.collect::<Result<Vec<_>, _>>()).await?;
        Ok(mappings
            .into_iter()
            .filter_map(|m| {
                let tags = m.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
                Some((m.resource_arn?, tags))
            })
            .collect())
    }

    async fn list(&self, kind: &'static Registration, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
        (kind.list)(&self.clients(&at.region), at).await
    }

    async fn delete(&self, kind: &'static Registration, resource: &Resource) -> Result<Deleted, UpstreamError> {
        (kind.delete)(&self.clients(&resource.region), resource).await
    }

    async fn gone(&self, kind: &'static Registration, resource: &Resource) -> Result<bool, UpstreamError> {
        match kind.gone {
            Some(gone) => gone(&self.clients(&resource.region), resource).await,
            None => Ok(true),
        }
    }

    async fn restore_baseline(&self, at: &Where) -> Result<Vec<String>, UpstreamError> {
        crate::baseline::restore(&self.clients(&at.region), at).await
    }
}
