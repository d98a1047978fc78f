//! IAM through the AWS SDK: role metadata for the session path, and the
//! reads and writes bootstrap, teardown and revocation use. IAM refuses
//! overlapping writes to one entity with ConcurrentModification; every
//! write here is retried on that, so callers never see it unless it lasts.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_iam::types::{Role, Tag};

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::retry::retry_on;
use super::{Iam, ManagedPolicy, RoleDetails, RoleInfo, UpstreamError, UpstreamErrorKind, absent_as_none, sdk_call};

const SERVICE: &str = "iam";
/// Tag marking what this broker owns; teardown and a pool account's reset
/// delete nothing that carries it.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "sandbox-broker");

/// Waits before retrying a write refused with ConcurrentModification.
const CONFLICT_BACKOFF: [Duration; 4] =
    [Duration::from_millis(250), Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(2)];

/// IAM through the AWS SDK.
pub struct SdkIam {
    client: aws_sdk_iam::Client,
}

impl SdkIam {
    /// Wraps an SDK client.
    pub fn new(client: aws_sdk_iam::Client) -> Self {
        Self { client }
    }
}

/// Sends one IAM request, classifying errors and recording metrics.
async fn call<T, E, R>(
    operation: &'static str,
    request: impl std::future::Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, UpstreamError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    sdk_call(SERVICE, operation, request).await
}

/// Sends one IAM write built by `request`, again while IAM answers
/// ConcurrentModification.
async fn write<T, E, R, F, Fut>(operation: &'static str, request: F) -> Result<T, UpstreamError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, R>>>,
{
    retry_on(UpstreamErrorKind::Conflict, &CONFLICT_BACKOFF, || call(operation, request())).await
}

/// IAM returns policy documents URL-encoded (RFC 3986); emulators sometimes
/// return them as-is. Either way the result is the JSON text.
pub fn decode_policy_document(raw: &str) -> String {
    if raw.trim_start().starts_with('{') {
        return raw.to_owned();
    }
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

fn tags(pairs: &[(String, String)]) -> Result<Vec<Tag>, UpstreamError> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<_, _>>()
        .map_err(|e| UpstreamError::new(SERVICE, "TagRole", UpstreamErrorKind::Other, e.to_string()))
}

impl SdkIam {
    /// GetRole; `None` when the role does not exist.
    async fn fetch_role(&self, role_name: &str) -> Result<Option<Role>, UpstreamError> {
        let out = call("GetRole", self.client.get_role().role_name(role_name).send()).await;
        let Some(out) = absent_as_none(out)? else {
            return Ok(None);
        };
        out.role.map(Some).ok_or_else(|| malformed("GetRole", "Role"))
    }
}

fn malformed(operation: &'static str, what: &str) -> UpstreamError {
    UpstreamError::new(SERVICE, operation, UpstreamErrorKind::Other, format!("response lacks {what}"))
}

fn role_info(role: &Role) -> RoleInfo {
    // IAM reports MaxSessionDuration for every role; 3600 is its default.
    let max = role.max_session_duration().and_then(|s| u32::try_from(s).ok()).unwrap_or(3_600);
    RoleInfo { arn: role.arn().to_owned(), role_id: role.role_id().to_owned(), max_session_seconds: max }
}

#[async_trait]
impl Iam for SdkIam {
    async fn get_role(&self, role_name: &str) -> Result<Option<RoleInfo>, UpstreamError> {
        Ok(self.fetch_role(role_name).await?.map(|role| role_info(&role)))
    }

    async fn role_details(&self, role_name: &str) -> Result<Option<RoleDetails>, UpstreamError> {
        let Some(role) = self.fetch_role(role_name).await? else {
            return Ok(None);
        };
        // GetRole does not always carry tags (emulators, older APIs): ask for them.
        let tag_out = call("ListRoleTags", self.client.list_role_tags().role_name(role_name).send()).await?;
        let tags = tag_out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        Ok(Some(RoleDetails {
            info: role_info(&role),
            trust_policy: role.assume_role_policy_document().map(decode_policy_document),
            permissions_boundary_arn: role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_owned),
            tags,
        }))
    }

    async fn create_role(
        &self,
        role_name: &str,
        trust_policy: &str,
        max_session_seconds: u32,
        role_tags: &[(String, String)],
        permissions_boundary_arn: Option<&str>,
    ) -> Result<RoleInfo, UpstreamError> {
        let request = self
            .client
            .create_role()
            .role_name(role_name)
            .assume_role_policy_document(trust_policy)
            .max_session_duration(i32::try_from(max_session_seconds).unwrap_or(3_600))
            .set_tags(Some(tags(role_tags)?))
            .set_permissions_boundary(permissions_boundary_arn.map(str::to_owned));
        let out = write("CreateRole", || request.clone().send()).await?;
        let role = out.role().ok_or_else(|| malformed("CreateRole", "Role"))?;
        Ok(RoleInfo { arn: role.arn().to_owned(), role_id: role.role_id().to_owned(), max_session_seconds })
    }

    async fn update_trust_policy(&self, role_name: &str, document: &str) -> Result<(), UpstreamError> {
        let request = self.client.update_assume_role_policy().role_name(role_name).policy_document(document);
        write("UpdateAssumeRolePolicy", || request.clone().send()).await.map(drop)
    }

    async fn update_max_session(&self, role_name: &str, seconds: u32) -> Result<(), UpstreamError> {
        let seconds = i32::try_from(seconds).unwrap_or(3_600);
        let request = self.client.update_role().role_name(role_name).max_session_duration(seconds);
        write("UpdateRole", || request.clone().send()).await.map(drop)
    }

    async fn tag_role(&self, role_name: &str, role_tags: &[(String, String)]) -> Result<(), UpstreamError> {
        let request = self.client.tag_role().role_name(role_name).set_tags(Some(tags(role_tags)?));
        write("TagRole", || request.clone().send()).await.map(drop)
    }

    async fn set_permissions_boundary(&self, role_name: &str, arn: &str) -> Result<(), UpstreamError> {
        let request = self.client.put_role_permissions_boundary().role_name(role_name).permissions_boundary(arn);
        write("PutRolePermissionsBoundary", || request.clone().send()).await.map(drop)
    }

    async fn list_inline_policies(&self, role_name: &str) -> Result<Vec<String>, UpstreamError> {
        let pages = self.client.list_role_policies().role_name(role_name).into_paginator().items().send();
        call("ListRolePolicies", pages.collect::<Result<Vec<_>, _>>()).await
    }

    async fn get_inline_policy(&self, role_name: &str, policy_name: &str) -> Result<Option<String>, UpstreamError> {
        let request = self.client.get_role_policy().role_name(role_name).policy_name(policy_name);
        let out = absent_as_none(call("GetRolePolicy", request.send()).await)?;
        Ok(out.map(|o| decode_policy_document(o.policy_document())))
    }

    async fn put_inline_policy(&self, role_name: &str, policy_name: &str, document: &str) -> Result<(), UpstreamError> {
        let request =
            self.client.put_role_policy().role_name(role_name).policy_name(policy_name).policy_document(document);
        write("PutRolePolicy", || request.clone().send()).await.map(drop)
    }

    async fn delete_inline_policy(&self, role_name: &str, policy_name: &str) -> Result<(), UpstreamError> {
        let request = self.client.delete_role_policy().role_name(role_name).policy_name(policy_name);
        absent_as_none(write("DeleteRolePolicy", || request.clone().send()).await).map(drop)
    }

    async fn list_attached_policies(&self, role_name: &str) -> Result<Vec<String>, UpstreamError> {
        let pages = self.client.list_attached_role_policies().role_name(role_name).into_paginator().items().send();
        let items = call("ListAttachedRolePolicies", pages.collect::<Result<Vec<_>, _>>()).await?;
        Ok(items.iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect())
    }

    async fn attach_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), UpstreamError> {
        let request = self.client.attach_role_policy().role_name(role_name).policy_arn(policy_arn);
        write("AttachRolePolicy", || request.clone().send()).await.map(drop)
    }

    async fn detach_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), UpstreamError> {
        let request = self.client.detach_role_policy().role_name(role_name).policy_arn(policy_arn);
        absent_as_none(write("DetachRolePolicy", || request.clone().send()).await).map(drop)
    }

    async fn delete_role(&self, role_name: &str) -> Result<(), UpstreamError> {
        let request = self.client.delete_role().role_name(role_name);
        absent_as_none(write("DeleteRole", || request.clone().send()).await).map(drop)
    }

    async fn managed_policy(&self, arn: &str) -> Result<Option<ManagedPolicy>, UpstreamError> {
        let Some(out) = absent_as_none(call("GetPolicy", self.client.get_policy().policy_arn(arn).send()).await)?
        else {
            return Ok(None);
        };
        let policy = out.policy.ok_or_else(|| malformed("GetPolicy", "Policy"))?;
        let version = policy.default_version_id().ok_or_else(|| malformed("GetPolicy", "DefaultVersionId"))?;
        let request = self.client.get_policy_version().policy_arn(arn).version_id(version);
        let Some(out) = absent_as_none(call("GetPolicyVersion", request.send()).await)? else {
            return Ok(None);
        };
        let document = out
            .policy_version()
            .and_then(|v| v.document())
            .map(decode_policy_document)
            .ok_or_else(|| malformed("GetPolicyVersion", "Document"))?;
        let boundary_usage = policy.permissions_boundary_usage_count().and_then(|n| u32::try_from(n).ok());
        Ok(Some(ManagedPolicy { document, boundary_usage: boundary_usage.unwrap_or(0) }))
    }

    async fn create_managed_policy(&self, path: &str, name: &str, document: &str) -> Result<(), UpstreamError> {
        // Tagged as the roles are: a pool account's reset keeps what carries
        // the tag, and a boundary is deleted there only with its role.
        let tag = Tag::builder()
            .key(MANAGED_BY.0)
            .value(MANAGED_BY.1)
            .build()
            .map_err(|e| UpstreamError::new(SERVICE, "CreatePolicy", UpstreamErrorKind::Other, e.to_string()))?;
        let request = self.client.create_policy().path(path).policy_name(name).policy_document(document).tags(tag);
        write("CreatePolicy", || request.clone().send()).await.map(drop)
    }

    async fn delete_managed_policy(&self, arn: &str) -> Result<(), UpstreamError> {
        let request = self.client.delete_policy().policy_arn(arn);
        absent_as_none(write("DeletePolicy", || request.clone().send()).await).map(drop)
    }
}
