//! Calls to AWS and how their failures are classified: [`sdk_call`]
//! awaits one SDK request and turns its error into an [`UpstreamError`]
//! whose [`UpstreamErrorKind`] decides what the caller does (retry, report,
//! answer 502/503/504).

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Where each upstream call's outcome goes: the embedding service's
/// metrics. Set once at start-up; calls before that are not recorded.
pub type Observer =
    fn(service: &'static str, operation: &'static str, error: Option<&UpstreamError>, elapsed: Duration);

static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Sends every later call's outcome to `observer` (the first one set wins:
/// it is the process's metrics recorder).
pub fn observe_with(observer: Observer) {
    let _ = OBSERVER.set(observer);
}

/// Times an upstream call and hands its outcome to the observer.
pub async fn observed<T>(
    service: &'static str,
    operation: &'static str,
    call: impl std::future::Future<Output = Result<T, UpstreamError>>,
) -> Result<T, UpstreamError> {
    let started = Instant::now();
    let result = call.await;
    if let Some(observe) = OBSERVER.get() {
        observe(service, operation, result.as_ref().err(), started.elapsed());
    }
    result
}

/// Awaits one SDK request, classifying its error and recording metrics.
pub async fn sdk_call<T, E, R>(
    service: &'static str,
    operation: &'static str,
    request: impl std::future::Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, UpstreamError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + 'static,
{
    observed(service, operation, async { request.await.map_err(|e| UpstreamError::from_sdk(service, operation, e)) })
        .await
}

/// What kind of upstream failure happened; decides the HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamErrorKind {
    /// AWS throttled the call (503 + Retry-After).
    Throttled,
    /// The broker's own STS rate limit (`aws.sts_max_rps`) refused the call.
    RateLimited,
    /// The broker's principal may not do this (502 with a bootstrap hint).
    AccessDenied,
    /// The entity does not exist (NoSuchEntity).
    NotFound,
    /// No answer within the call budget (504).
    Timeout,
    /// IAM refused an overlapping write (ConcurrentModification).
    Conflict,
    /// The endpoint could not be reached, or no credentials were found.
    Unavailable,
    /// AWS refused a policy document the request carried (malformed, or
    /// too large once packed): the caller's input, not an outage.
    PolicyRejected,
    /// Anything else.
    Other,
}

impl UpstreamErrorKind {
    /// The label used in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Throttled => "throttled",
            Self::RateLimited => "rate_limited",
            Self::AccessDenied => "access_denied",
            Self::NotFound => "not_found",
            Self::Timeout => "timeout",
            Self::Conflict => "conflict",
            Self::Unavailable => "unavailable",
            Self::PolicyRejected => "policy_rejected",
            Self::Other => "error",
        }
    }
}

/// `Ok(None)` for NoSuchEntity, so "absent" is not an error.
pub fn absent_as_none<T>(result: Result<T, UpstreamError>) -> Result<Option<T>, UpstreamError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == UpstreamErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A failed call to STS, IAM or the federation endpoint.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{service}:{operation} failed ({}): {summary}", code.as_deref().unwrap_or("no error code"))]
pub struct UpstreamError {
    /// `sts`, `iam` or `signin`.
    pub service: &'static str,
    /// The API operation, e.g. `AssumeRole`.
    pub operation: &'static str,
    /// What kind of failure, which decides the HTTP answer.
    pub kind: UpstreamErrorKind,
    /// The AWS error code, when AWS gave one.
    pub code: Option<String>,
    /// A summary safe to show: never a credential.
    pub summary: String,
}

impl UpstreamError {
    /// A failure without an AWS error code.
    pub fn new(
        service: &'static str,
        operation: &'static str,
        kind: UpstreamErrorKind,
        summary: impl Into<String>,
    ) -> Self {
        Self { service, operation, kind, code: None, summary: summary.into() }
    }

    /// Classifies an SDK error by transport outcome and AWS error code.
    pub fn from_sdk<E, R>(service: &'static str, operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug + 'static,
    {
        let code = err.code().map(str::to_owned);
        if lacks_credentials(&err as &(dyn std::error::Error + 'static)) {
            let summary = "the broker found no AWS credentials (environment, shared profile, web identity, \
                           container or instance metadata)";
            return Self { service, operation, kind: UpstreamErrorKind::Unavailable, code, summary: summary.into() };
        }
        let (kind, summary) = match &err {
            SdkError::TimeoutError(_) => (UpstreamErrorKind::Timeout, "timed out".to_owned()),
            SdkError::DispatchFailure(d) if d.is_timeout() => (UpstreamErrorKind::Timeout, "timed out".to_owned()),
            SdkError::DispatchFailure(_) => (UpstreamErrorKind::Unavailable, "could not reach the endpoint".to_owned()),
            _ => (kind_of_code(code.as_deref()), err.message().unwrap_or("unexpected response").to_owned()),
        };
        Self { service, operation, kind, code, summary }
    }
}

/// Whether the SDK gave up before sending because no credential provider
/// produced credentials (it reports that as a dispatch failure).
fn lacks_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>().is_some() {
            return true;
        }
        source = e.source();
    }
    false
}

fn kind_of_code(code: Option<&str>) -> UpstreamErrorKind {
    match code.unwrap_or_default() {
        "Throttling"
        | "ThrottlingException"
        | "ProvisionedThroughputExceededException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "RequestThrottledException" => UpstreamErrorKind::Throttled,
        "AccessDenied"
        | "AccessDeniedException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "UnrecognizedClientException" => UpstreamErrorKind::AccessDenied,
        "NoSuchEntity"
        | "ResourceNotFoundException"
        | "NoSuchBucket"
        | "AWS.SimpleQueueService.NonExistentQueue"
        | "QueueDoesNotExist"
        | "NotFound"
        | "InvalidInstanceID.NotFound"
        | "InvalidVolume.NotFound"
        | "InvalidGroup.NotFound"
        | "InvalidKeyPair.NotFound" => UpstreamErrorKind::NotFound,
        // A resource still in use or changing state; retrying later succeeds
        // (a table being created, a volume detaching, a group referenced by
        // a terminating instance, a bucket written to while emptied).
        "ResourceInUseException"
        | "DependencyViolation"
        | "VolumeInUse"
        | "IncorrectState"
        | "BucketNotEmpty"
        | "ResourceConflictException"
        | "OperationAbortedException" => UpstreamErrorKind::Conflict,
        "MalformedPolicyDocument" | "PackedPolicyTooLarge" => UpstreamErrorKind::PolicyRejected,
        // IAM refuses overlapping writes to one entity; retrying later succeeds.
        "ConcurrentModification" | "ConcurrentModificationException" => UpstreamErrorKind::Conflict,
        // What must go first is still going (EKS node groups, ECS services,
        // a DB instance still modifying, an IAM attachment, Route 53 records).
        "DeleteConflict"
        | "HostedZoneNotEmpty"
        | "PriorRequestNotComplete"
        | "ClusterContainsServicesException"
        | "ClusterContainsContainerInstancesException"
        | "ClusterContainsTasksException"
        | "RepositoryNotEmptyException"
        | "InvalidDBInstanceState"
        | "InvalidDBInstanceStateFault"
        | "InvalidDBClusterStateFault"
        | "InvalidDBSubnetGroupStateFault"
        | "InvalidCacheClusterState"
        | "InvalidClusterState"
        | "InvalidClusterStateFault" => UpstreamErrorKind::Conflict,
        // Each service spells "not found" its own way.
        code if code.ends_with("NotFound")
            || code.ends_with("NotFoundException")
            || code.ends_with("NotFoundFault")
            || code.ends_with("DoesNotExist")
            || code.ends_with("DoesNotExistException")
            || code.starts_with("NoSuch") =>
        {
            UpstreamErrorKind::NotFound
        }
        code if code.ends_with("InUse") || code.ends_with("InUseException") => UpstreamErrorKind::Conflict,
        _ => UpstreamErrorKind::Other,
    }
}
