//! SQS queues and SNS topics: found by listing, deleted with one call (a
//! topic's subscriptions first). Their listings carry no tags; the tagging
//! API supplies them.

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, TryStreamExt};

use super::deleting;
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};

async fn list_queues(client: &aws_sdk_sqs::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.list_queues().into_paginator().items().send();
    let urls = sdk_call("sqs", "ListQueues", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(urls
        .iter()
        .filter_map(|url| {
            // https://sqs.<region>.amazonaws.com/<account>/<name>
            let mut parts = url.rsplit('/');
            let (name, account) = (parts.next()?, parts.next()?);
            let arn = format!("arn:{}:sqs:{}:{account}:{name}", at.partition, at.region);
            Some(Resource::new(SQS_QUEUE.name, at, arn, url.as_str()).named(name))
        })
        .collect())
}

pub(crate) const SQS_QUEUE: Registration = Registration {
    name: "sqs:queue",
    scope: Scope::Regional,
    found_by: "ListQueues",
    reads: &["sqs:ListQueues"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("sqs", ""),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["sqs:DeleteQueue"], &["arn:{p}:sqs:*:{a}:{name}"]),
    list: |c, at| list_queues(&c.sqs, at).boxed(),
    delete: |c, r| deleting(sdk_call("sqs", "DeleteQueue", c.sqs.delete_queue().queue_url(&r.id).send())),
    gone: None,
};

async fn list_topics(client: &aws_sdk_sns::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.list_topics().into_paginator().items().send();
    let topics = sdk_call("sns", "ListTopics", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(topics
        .into_iter()
        .filter_map(|t| t.topic_arn)
        .map(|arn| {
            let name = arn.rsplit(':').next().unwrap_or_default().to_owned();
            Resource::new(SNS_TOPIC.name, at, arn.clone(), arn).named(name)
        })
        .collect())
}

/// Subscriptions outlive their topic in some states (pending confirmation
/// ones are kept for days): unsubscribe each first.
async fn delete_topic(client: &aws_sdk_sns::Client, arn: &str) -> Result<Deleted, UpstreamError> {
    let pages = client.list_subscriptions_by_topic().topic_arn(arn).into_paginator().items().send();
    let subscriptions = sdk_call("sns", "ListSubscriptionsByTopic", pages.collect::<Result<Vec<_>, _>>()).await?;
    let unsubscribes = FuturesUnordered::new();
    for arn in subscriptions.into_iter().filter_map(|s| s.subscription_arn).filter(|a| a.starts_with("arn:")) {
        unsubscribes.push(async move {
            sdk_call("sns", "Unsubscribe", client.unsubscribe().subscription_arn(arn).send()).await.map(drop)
        });
    }
    unsubscribes.try_collect::<Vec<()>>().await?;
    sdk_call("sns", "DeleteTopic", client.delete_topic().topic_arn(arn).send()).await?;
    Ok(Deleted::Now)
}

pub(crate) const SNS_TOPIC: Registration = Registration {
    name: "sns:topic",
    scope: Scope::Regional,
    found_by: "ListTopics",
    reads: &["sns:ListTopics"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("sns", ""),
    depends_on: &[],
    protected: "",
    grants: Grants {
        actions: &["sns:ListSubscriptionsByTopic", "sns:DeleteTopic"],
        on: &["arn:{p}:sns:*:{a}:{name}"],
        unscoped: &["sns:Unsubscribe"],
    },
    list: |c, at| list_topics(&c.sns, at).boxed(),
    delete: |c, r| delete_topic(&c.sns, &r.id).boxed(),
    gone: None,
};
