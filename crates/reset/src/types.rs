//! The registry's entries: one file per service family, one
//! [`Registration`] per resource type. Adding a type touches one file here
//! (and its test); the engine needs nothing else.

mod analytics;
mod autoscaling;
mod containers;
mod data;
mod dns;
mod ec2_compute;
mod ec2_traffic;
pub(crate) mod ec2_vpc;
mod elb;
mod iam;
mod iam_people;
mod messaging;
mod ml;
mod monitoring;
mod rds;
mod s3;
mod security;
mod serverless;
mod storage;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::registry::{Deleted, Registration};
use crate::upstream::UpstreamError;

/// Every registered type, in the table's order.
pub(crate) const ALL: &[&Registration] = &[
    &ec2_compute::INSTANCE,
    &ec2_compute::VOLUME,
    &ec2_compute::SNAPSHOT,
    &ec2_compute::IMAGE,
    &ec2_compute::KEY_PAIR,
    &ec2_compute::LAUNCH_TEMPLATE,
    &ec2_vpc::VPC,
    &ec2_vpc::SUBNET,
    &ec2_vpc::ROUTE_TABLE,
    &ec2_vpc::INTERNET_GATEWAY,
    &ec2_vpc::NETWORK_ACL,
    &ec2_vpc::VPC_ENDPOINT,
    &ec2_traffic::NAT_GATEWAY,
    &ec2_traffic::ELASTIC_IP,
    &ec2_traffic::NETWORK_INTERFACE,
    &ec2_traffic::SECURITY_GROUP,
    &elb::LOAD_BALANCER,
    &elb::LISTENER,
    &elb::TARGET_GROUP,
    &autoscaling::GROUP,
    &autoscaling::LAUNCH_CONFIGURATION,
    &rds::INSTANCE,
    &rds::CLUSTER,
    &rds::SNAPSHOT,
    &rds::SUBNET_GROUP,
    &containers::ECS_CLUSTER,
    &containers::ECS_SERVICE,
    &containers::ECS_TASK_DEFINITION,
    &containers::ECR_REPOSITORY,
    &containers::EKS_CLUSTER,
    &containers::EKS_NODEGROUP,
    &serverless::LAMBDA_FUNCTION,
    &serverless::LAMBDA_LAYER,
    &serverless::REST_API,
    &serverless::HTTP_API,
    &serverless::STATE_MACHINE,
    &serverless::EVENT_RULE,
    &serverless::EVENT_BUS,
    &s3::BUCKET,
    &data::DYNAMODB_TABLE,
    &data::KINESIS_STREAM,
    &data::FIREHOSE_STREAM,
    &data::GLUE_DATABASE,
    &data::ATHENA_WORKGROUP,
    &analytics::REDSHIFT_CLUSTER,
    &analytics::OPENSEARCH_DOMAIN,
    &storage::EFS_FILE_SYSTEM,
    &storage::EFS_MOUNT_TARGET,
    &storage::ELASTICACHE_CLUSTER,
    &messaging::SQS_QUEUE,
    &messaging::SNS_TOPIC,
    &monitoring::ALARM,
    &monitoring::DASHBOARD,
    &monitoring::LOG_GROUP,
    &monitoring::STACK,
    &security::KMS_KEY,
    &security::KMS_ALIAS,
    &security::SECRET,
    &security::PARAMETER,
    &security::USER_POOL,
    &iam::ROLE,
    &iam_people::USER,
    &iam_people::GROUP,
    &iam::POLICY,
    &iam::INSTANCE_PROFILE,
    &dns::HOSTED_ZONE,
    &ml::NOTEBOOK_INSTANCE,
];

/// A delete call's answer as the engine's: done.
pub(crate) fn done<T>(result: Result<T, UpstreamError>) -> Result<Deleted, UpstreamError> {
    result.map(|_| Deleted::Now)
}

/// `Ok(())` when the call's target is already gone: a preparation step
/// (detach, stop, empty) on something the learner removed meanwhile.
pub(crate) fn unless_gone<T>(result: Result<T, UpstreamError>) -> Result<(), UpstreamError> {
    match result {
        Err(e) if e.kind != crate::upstream::UpstreamErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The last `/`-separated part of an ARN: the id its delete call takes.
pub(crate) fn last(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or_default()
}

/// A registration's delete that is one call.
pub(crate) fn deleting<'a, T>(
    call: impl Future<Output = Result<T, UpstreamError>> + Send + 'a,
) -> BoxFuture<'a, Result<Deleted, UpstreamError>> {
    async move { done(call.await) }.boxed()
}
