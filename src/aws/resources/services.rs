//! DynamoDB tables, SQS queues, SNS topics, Lambda functions and
//! CloudWatch Logs groups: found by name prefix, deleted with one call
//! (a topic's subscriptions first).

use futures_util::stream::{FuturesUnordered, TryStreamExt};

use super::{Found, Kind};
use crate::aws::{UpstreamError, sdk_call};

fn found(kind: Kind, arn: String, region: &str, id: &str) -> Found {
    Found { kind, arn, region: region.to_owned(), id: id.to_owned(), detail: String::new() }
}

/// The account id in an ARN (SQS and Logs list names, not ARNs).
fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}

pub(super) async fn named_tables(
    client: &aws_sdk_dynamodb::Client,
    region: &str,
    account: &str,
    prefix: &str,
) -> Result<Vec<Found>, UpstreamError> {
    let pages = client.list_tables().into_paginator().items().send();
    let names = sdk_call("dynamodb", "ListTables", pages.collect::<Result<Vec<_>, _>>()).await?;
    // A table's ARN follows from its name: no DescribeTable per table.
    Ok(names
        .iter()
        .filter(|n| n.starts_with(prefix))
        .map(|name| {
            found(
                Kind::Table,
                format!("arn:{}:dynamodb:{region}:{account}:table/{name}", super::partition(region)),
                region,
                name,
            )
        })
        .collect())
}

pub(super) async fn named_queues(
    client: &aws_sdk_sqs::Client,
    region: &str,
    prefix: &str,
) -> Result<Vec<Found>, UpstreamError> {
    let pages = client.list_queues().queue_name_prefix(prefix).into_paginator().items().send();
    let urls = sdk_call("sqs", "ListQueues", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(urls
        .iter()
        .filter_map(|url| {
            let mut parts = url.rsplit('/');
            let (name, account) = (parts.next()?, parts.next()?);
            name.starts_with(prefix).then(|| {
                found(
                    Kind::Queue,
                    format!("arn:{}:sqs:{region}:{account}:{name}", super::partition(region)),
                    region,
                    url,
                )
            })
        })
        .collect())
}

pub(super) async fn named_topics(
    client: &aws_sdk_sns::Client,
    region: &str,
    prefix: &str,
) -> Result<Vec<Found>, UpstreamError> {
    let pages = client.list_topics().into_paginator().items().send();
    let topics = sdk_call("sns", "ListTopics", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(topics
        .into_iter()
        .filter_map(|t| t.topic_arn)
        .filter(|arn| arn.rsplit(':').next().is_some_and(|name| name.starts_with(prefix)))
        .map(|arn| found(Kind::Topic, arn.clone(), region, &arn))
        .collect())
}

pub(super) async fn named_functions(
    client: &aws_sdk_lambda::Client,
    region: &str,
    prefix: &str,
) -> Result<Vec<Found>, UpstreamError> {
    let pages = client.list_functions().into_paginator().items().send();
    let functions = sdk_call("lambda", "ListFunctions", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(functions
        .into_iter()
        .filter_map(|f| Some((f.function_name?, f.function_arn?)))
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, arn)| found(Kind::Function, arn, region, &name))
        .collect())
}

pub(super) async fn named_log_groups(
    client: &aws_sdk_cloudwatchlogs::Client,
    region: &str,
    prefix: &str,
) -> Result<Vec<Found>, UpstreamError> {
    let pages = client.describe_log_groups().log_group_name_prefix(prefix).into_paginator().items().send();
    let groups = sdk_call("logs", "DescribeLogGroups", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(groups
        .into_iter()
        .filter_map(|g| Some((g.log_group_name?, g.arn?)))
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, arn)| {
            let arn = format!("arn:{}:logs:{region}:{}:log-group:{name}", super::partition(region), account_of(&arn));
            found(Kind::LogGroup, arn, region, &name)
        })
        .collect())
}

pub(super) async fn delete_table(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), UpstreamError> {
    sdk_call("dynamodb", "DeleteTable", client.delete_table().table_name(name).send()).await.map(drop)
}

/// `id` is the queue's URL (from ListQueues) or its name (from the tag).
pub(super) async fn delete_queue(client: &aws_sdk_sqs::Client, id: &str) -> Result<(), UpstreamError> {
    let url = if id.starts_with("http") {
        id.to_owned()
    } else {
        let out = sdk_call("sqs", "GetQueueUrl", client.get_queue_url().queue_name(id).send()).await?;
        out.queue_url.unwrap_or_default()
    };
    sdk_call("sqs", "DeleteQueue", client.delete_queue().queue_url(url).send()).await.map(drop)
}

/// Subscriptions outlive their topic in some states (pending confirmation
/// ones are kept for days): unsubscribe each first.
pub(super) async fn delete_topic(client: &aws_sdk_sns::Client, arn: &str) -> Result<(), UpstreamError> {
    let pages = client.list_subscriptions_by_topic().topic_arn(arn).into_paginator().items().send();
    let subscriptions = sdk_call("sns", "ListSubscriptionsByTopic", pages.collect::<Result<Vec<_>, _>>()).await?;
    let unsubscribes = FuturesUnordered::new();
    for arn in subscriptions.into_iter().filter_map(|s| s.subscription_arn).filter(|a| a.starts_with("arn:")) {
        unsubscribes.push(async move {
            sdk_call("sns", "Unsubscribe", client.unsubscribe().subscription_arn(arn).send()).await.map(drop)
        });
    }
    unsubscribes.try_collect::<Vec<()>>().await?;
    sdk_call("sns", "DeleteTopic", client.delete_topic().topic_arn(arn).send()).await.map(drop)
}

pub(super) async fn delete_function(client: &aws_sdk_lambda::Client, name: &str) -> Result<(), UpstreamError> {
    sdk_call("lambda", "DeleteFunction", client.delete_function().function_name(name).send()).await.map(drop)
}

pub(super) async fn delete_log_group(client: &aws_sdk_cloudwatchlogs::Client, name: &str) -> Result<(), UpstreamError> {
    sdk_call("logs", "DeleteLogGroup", client.delete_log_group().log_group_name(name).send()).await.map(drop)
}
