//! The only code that talks to AWS. Handlers see three small traits —
//! [`Sts`], [`Iam`], [`Federation`] — so they can be exercised without a
//! network, while [`sts`], [`iam`] and [`federation`] hold the real clients.

mod clients;
pub mod dynamo_table;
pub mod federation;
pub mod iam;
pub mod ledger;
pub mod members;
pub mod pool;
pub mod rate_limit;
pub mod retry;
pub mod sts;
mod types;

pub use clients::{Upstreams, http_client, load_sdk_config};
pub use types::{
    AssumeRoleInput, CallerIdentity, IssuedCredentials, ManagedPolicy, RoleDetails, RoleInfo, TemporaryCredentials,
};

use async_trait::async_trait;
pub use sandbox_reset::upstream::{UpstreamError, UpstreamErrorKind, absent_as_none, observed, sdk_call};
use secrecy::SecretString;

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
