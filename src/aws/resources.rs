//! What a learner may have created, as the cleanup engine sees it: found by
//! the `sandbox-key` tag (Resource Groups Tagging API) or by the
//! `<sandbox-key>-` name prefix where a name is the resource's identity,
//! and deleted one resource at a time (a bucket is emptied first). The
//! [`Resources`] trait is what the engine sees; [`sdk`] holds the clients.

mod ec2;
mod s3;
pub mod sdk;
mod services;

use async_trait::async_trait;

use super::UpstreamError;

/// The resource types cleanup deletes; anything else found is `Unsupported`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An S3 bucket (every object version, delete marker and multipart upload first).
    Bucket,
    /// A DynamoDB table.
    Table,
    /// An SQS queue.
    Queue,
    /// An SNS topic (its subscriptions first).
    Topic,
    /// A Lambda function.
    Function,
    /// A CloudWatch Logs log group.
    LogGroup,
    /// An EC2 instance (terminated, then waited for).
    Instance,
    /// An EBS volume (after the instances).
    Volume,
    /// An EC2 security group (after the instances).
    SecurityGroup,
    /// An EC2 key pair.
    KeyPair,
    /// Found, but not a type the broker deletes.
    Unsupported,
}

impl Kind {
    /// The report's `type`, e.g. `s3:bucket`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Bucket => "s3:bucket",
            Self::Table => "dynamodb:table",
            Self::Queue => "sqs:queue",
            Self::Topic => "sns:topic",
            Self::Function => "lambda:function",
            Self::LogGroup => "logs:log-group",
            Self::Instance => "ec2:instance",
            Self::Volume => "ec2:volume",
            Self::SecurityGroup => "ec2:security-group",
            Self::KeyPair => "ec2:key-pair",
            Self::Unsupported => "unsupported",
        }
    }

    /// Deleted only once every instance is gone (attachments, references).
    pub fn after_instances(self) -> bool {
        matches!(self, Self::Volume | Self::SecurityGroup)
    }
}

/// One resource found for a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Found {
    /// Its type.
    pub kind: Kind,
    /// Its ARN (the report's identity).
    pub arn: String,
    /// The region it lives in.
    pub region: String,
    /// What the delete call takes: bucket or table name, queue URL, topic
    /// ARN, function or log-group name, instance/volume/group/key-pair id.
    pub id: String,
    /// For `Unsupported`: the service and type the ARN names.
    pub detail: String,
}

/// The partition of a region's ARNs (`aws`, `aws-cn`, `aws-us-gov`).
fn partition(region: &str) -> &'static str {
    crate::domain::Region::parse(region).map_or("aws", |r| r.partition().id())
}

/// Classifies an ARN the tagging API returned.
pub fn classify(arn: &str) -> Found {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (service, region, resource) = match parts.as_slice() {
        [_, _, service, region, _, resource] => (*service, *region, *resource),
        _ => ("", "", ""),
    };
    let (kind, id) = match service {
        "s3" if !resource.contains('/') => (Kind::Bucket, resource.to_owned()),
        "dynamodb" => match resource.strip_prefix("table/") {
            Some(name) if !name.contains('/') => (Kind::Table, name.to_owned()),
            _ => (Kind::Unsupported, String::new()),
        },
        "sqs" => (Kind::Queue, resource.to_owned()),
        "sns" if !resource.contains(':') => (Kind::Topic, arn.to_owned()),
        "lambda" => match resource.strip_prefix("function:") {
            Some(name) if !name.contains(':') => (Kind::Function, name.to_owned()),
            _ => (Kind::Unsupported, String::new()),
        },
        "logs" => match resource.strip_prefix("log-group:") {
            Some(name) => (Kind::LogGroup, name.trim_end_matches(":*").to_owned()),
            None => (Kind::Unsupported, String::new()),
        },
        "ec2" => match resource.split_once('/') {
            Some(("instance", id)) => (Kind::Instance, id.to_owned()),
            Some(("volume", id)) => (Kind::Volume, id.to_owned()),
            Some(("security-group", id)) => (Kind::SecurityGroup, id.to_owned()),
            Some(("key-pair", id)) => (Kind::KeyPair, id.to_owned()),
            _ => (Kind::Unsupported, String::new()),
        },
        _ => (Kind::Unsupported, String::new()),
    };
    let detail = format!("{service}:{}", resource.split(['/', ':']).next().unwrap_or_default());
    Found { kind, arn: arn.to_owned(), region: region.to_owned(), id, detail }
}

/// Discovery and deletion, per region.
#[async_trait]
pub trait Resources: Send + Sync {
    /// ARNs tagged `sandbox-key=<key>` in `region` (every type).
    async fn tagged(&self, region: &str, key: &str) -> Result<Vec<String>, UpstreamError>;
    /// Resources of the name-is-identity types whose name starts with
    /// `prefix` (`<sandbox-key>-`) in `region` of `account`.
    async fn named(&self, region: &str, account: &str, prefix: &str) -> Result<Vec<Found>, UpstreamError>;
    /// Deletes one resource completely (a bucket with everything in it).
    /// An instance is terminated; [`Resources::wait_terminated`] waits.
    async fn delete(&self, found: &Found) -> Result<(), UpstreamError>;
    /// Waits until the instances are terminated (volumes detach, security
    /// groups lose their last reference).
    async fn wait_terminated(&self, region: &str, instance_ids: &[String]) -> Result<(), UpstreamError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_classified_with_the_id_their_delete_takes() {
        let cases = [
            ("arn:aws:s3:::0123456789ab-data", Kind::Bucket, "0123456789ab-data"),
            ("arn:aws:dynamodb:eu-west-1:123456789012:table/0123456789ab-t", Kind::Table, "0123456789ab-t"),
            ("arn:aws:sqs:eu-west-1:123456789012:0123456789ab-q", Kind::Queue, "0123456789ab-q"),
            ("arn:aws:lambda:eu-west-1:123456789012:function:f", Kind::Function, "f"),
            ("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/f:*", Kind::LogGroup, "/aws/lambda/f"),
            ("arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc", Kind::Instance, "i-0abc"),
            ("arn:aws:ec2:eu-west-1:123456789012:key-pair/key-0abc", Kind::KeyPair, "key-0abc"),
            ("arn:aws:ssm:eu-west-1:123456789012:parameter/x", Kind::Unsupported, ""),
            ("arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/2026", Kind::Unsupported, ""),
        ];
        for (arn, kind, id) in cases {
            let found = classify(arn);
            assert_eq!((found.kind, found.id.as_str()), (kind, id), "{arn}");
        }
        let topic = classify("arn:aws:sns:eu-west-1:123456789012:t");
        assert_eq!(
            (topic.kind, topic.id.as_str(), topic.region.as_str()),
            (Kind::Topic, topic.arn.as_str(), "eu-west-1")
        );
        assert_eq!(classify("arn:aws:ssm:eu-west-1:1:parameter/x").detail, "ssm:parameter");
    }
}
