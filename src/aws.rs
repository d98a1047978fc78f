//! The only code that talks to AWS. Handlers see three small traits —
//! [`Sts`], [`Iam`], [`Federation`] — so they can be exercised without a
//! network, while [`sts`], [`iam`] and [`federation`] hold the real clients.

mod clients;
pub mod federation;
pub mod iam;
pub mod ledger;
pub mod rate_limit;
pub mod resources;
pub mod retry;
pub mod sts;
mod types;

pub use clients::{Upstreams, http_client, load_sdk_config};
pub use types::{
    AssumeRoleInput, CallerIdentity, IssuedCredentials, ManagedPolicy, RoleDetails, RoleInfo, TemporaryCredentials,
};

use std::fmt;

use async_trait::async_trait;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use secrecy::SecretString;

/// Times an upstream call and records it in the metrics.
pub async fn observed<T>(
    service: &'static str,
    operation: &'static str,
    call: impl std::future::Future<Output = Result<T, UpstreamError>>,
) -> Result<T, UpstreamError> {
    let started = std::time::Instant::now();
    let result = call.await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => {
            let code = e.code.clone().unwrap_or_else(|| e.kind.label().to_owned());
            crate::telemetry::metrics::upstream_error(service, operation, code);
            e.kind.label()
        }
    };
    crate::telemetry::metrics::upstream_call(service, operation, outcome, started.elapsed());
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
        _ => UpstreamErrorKind::Other,
    }
}

/// STS as the broker uses it.
#[async_trait]
pub trait Sts: Send + Sync {
    /// sts:GetCallerIdentity: the broker's own principal.
    async fn caller_identity(&self) -> Result<CallerIdentity, UpstreamError>;
    /// sts:AssumeRole with session tags and SourceIdentity.
    async fn assume_role(&self, input: &AssumeRoleInput) -> Result<IssuedCredentials, UpstreamError>;
}

/// IAM operations on roles. Reads of absent things answer `Ok(None)`;
/// deletes of absent things succeed (both make convergence idempotent).
#[async_trait]
pub trait Iam: Send + Sync {
    /// GetRole: ARN, RoleId, MaxSessionDuration.
    async fn get_role(&self, role_name: &str) -> Result<Option<RoleInfo>, UpstreamError>;
    /// GetRole and ListRoleTags: everything bootstrap compares.
    async fn role_details(&self, role_name: &str) -> Result<Option<RoleDetails>, UpstreamError>;
    /// CreateRole with its trust policy, tags and optional boundary.
    async fn create_role(
        &self,
        role_name: &str,
        trust_policy: &str,
        max_session_seconds: u32,
        tags: &[(String, String)],
        permissions_boundary_arn: Option<&str>,
    ) -> Result<RoleInfo, UpstreamError>;
    /// UpdateAssumeRolePolicy.
    async fn update_trust_policy(&self, role_name: &str, document: &str) -> Result<(), UpstreamError>;
    /// UpdateRole's MaxSessionDuration.
    async fn update_max_session(&self, role_name: &str, seconds: u32) -> Result<(), UpstreamError>;
    /// TagRole.
    async fn tag_role(&self, role_name: &str, tags: &[(String, String)]) -> Result<(), UpstreamError>;
    /// PutRolePermissionsBoundary (nothing in the broker removes one).
    async fn set_permissions_boundary(&self, role_name: &str, arn: &str) -> Result<(), UpstreamError>;
    /// ListRolePolicies (all pages).
    async fn list_inline_policies(&self, role_name: &str) -> Result<Vec<String>, UpstreamError>;
    /// GetRolePolicy, URL-decoded; `None` when absent.
    async fn get_inline_policy(&self, role_name: &str, policy_name: &str) -> Result<Option<String>, UpstreamError>;
    /// PutRolePolicy.
    async fn put_inline_policy(&self, role_name: &str, policy_name: &str, document: &str) -> Result<(), UpstreamError>;
    /// DeleteRolePolicy; absent is fine.
    async fn delete_inline_policy(&self, role_name: &str, policy_name: &str) -> Result<(), UpstreamError>;
    /// ListAttachedRolePolicies (all pages), as ARNs.
    async fn list_attached_policies(&self, role_name: &str) -> Result<Vec<String>, UpstreamError>;
    /// AttachRolePolicy.
    async fn attach_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), UpstreamError>;
    /// DetachRolePolicy; absent is fine.
    async fn detach_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), UpstreamError>;
    /// DeleteRole; absent is fine.
    async fn delete_role(&self, role_name: &str) -> Result<(), UpstreamError>;
    /// GetPolicy + GetPolicyVersion of its default version; `None` when absent.
    async fn managed_policy(&self, arn: &str) -> Result<Option<ManagedPolicy>, UpstreamError>;
    /// CreatePolicy at `path` (e.g. `/sandbox-broker/`).
    async fn create_managed_policy(&self, path: &str, name: &str, document: &str) -> Result<(), UpstreamError>;
    /// DeletePolicy; absent is success.
    async fn delete_managed_policy(&self, arn: &str) -> Result<(), UpstreamError>;
}

/// The console federation endpoint.
#[async_trait]
pub trait Federation: Send + Sync {
    /// `Action=getSigninToken` for `credentials` at `endpoint`.
    async fn signin_token(
        &self,
        endpoint: &str,
        credentials: &TemporaryCredentials,
        session_duration: Option<u32>,
    ) -> Result<SecretString, UpstreamError>;
}
