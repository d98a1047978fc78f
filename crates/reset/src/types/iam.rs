//! IAM (global): roles, customer managed policies and instance profiles
//! (users and groups: `iam_people`). IAM refuses to delete an entity that still has
//! anything attached (DeleteConflict), so each delete detaches first:
//! policies, inline policies, instance-profile memberships, access keys,
//! login profiles, MFA devices, group members. Service-linked roles (and
//! AWS's reserved ones) are AWS's; what the broker manages carries
//! `managed-by=sandbox-broker`, so listings read each entity's tags.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use futures_util::FutureExt;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::unless_gone;
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};

/// Tag reads in flight per listing.
const TAG_READS: usize = 8;

pub(super) fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()
}

/// Adds each resource's tags, read `TAG_READS` at a time, in an account
/// reset (where `managed-by=sandbox-broker` protects). Session cleanup
/// attributes IAM entities by name (and by any tags the tagging API
/// gives): one tag read per role on every session's cleanup would be
/// hundreds of IAM calls in a busy shared account.
pub(super) async fn with_tags<'a, F, Fut>(
    at: &Where,
    resources: Vec<Resource>,
    read: F,
) -> Result<Vec<Resource>, UpstreamError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<(String, String)>, UpstreamError>> + 'a,
{
    if !at.whole_account {
        return Ok(resources);
    }
    stream::iter(resources.into_iter().map(|r| {
        let tags = read(r.id.clone());
        async move { Ok::<_, UpstreamError>(r.tagged(tags.await?)) }
    }))
    .buffered(TAG_READS)
    .try_collect()
    .await
}

async fn roles(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_roles().into_paginator().items().send();
    let roles = sdk_call("iam", "ListRoles", pages.collect::<Result<Vec<_>, _>>()).await?;
    let found = roles
        .iter()
        .map(|r| {
            let aws_owned = r.path().starts_with("/aws-service-role/") || r.path().starts_with("/aws-reserved/");
            Resource::new(ROLE.name, at, r.arn().to_owned(), r.role_name())
                .named(r.role_name())
                .protect_if(aws_owned, "a service-linked or AWS-reserved role")
        })
        .collect();
    with_tags(at, found, |name| async move {
        let out = sdk_call("iam", "ListRoleTags", c.list_role_tags().role_name(name).send()).await?;
        Ok(pairs(out.tags()))
    })
    .await
}

async fn delete_role(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let name = r.id.as_str();
    let attached =
        sdk_call("iam", "ListAttachedRolePolicies", c.list_attached_role_policies().role_name(name).send()).await?;
    for arn in attached.attached_policies().iter().filter_map(|p| p.policy_arn()) {
        unless_gone(
            sdk_call("iam", "DetachRolePolicy", c.detach_role_policy().role_name(name).policy_arn(arn).send()).await,
        )?;
    }
    let inline = sdk_call("iam", "ListRolePolicies", c.list_role_policies().role_name(name).send()).await?;
    for policy in inline.policy_names() {
        unless_gone(
            sdk_call("iam", "DeleteRolePolicy", c.delete_role_policy().role_name(name).policy_name(policy).send())
                .await,
        )?;
    }
    let profiles =
        sdk_call("iam", "ListInstanceProfilesForRole", c.list_instance_profiles_for_role().role_name(name).send())
            .await?;
    for profile in profiles.instance_profiles() {
        let call = c
            .remove_role_from_instance_profile()
            .role_name(name)
            .instance_profile_name(profile.instance_profile_name());
        unless_gone(sdk_call("iam", "RemoveRoleFromInstanceProfile", call.send()).await)?;
    }
    sdk_call("iam", "DeleteRole", c.delete_role().role_name(name).send()).await?;
    Ok(Deleted::Now)
}

pub(crate) const ROLE: Registration = Registration {
    name: "iam:role",
    scope: Scope::Global,
    found_by: "ListRoles, ListRoleTags",
    reads: &["iam:ListRoles", "iam:ListRoleTags"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::any("iam", "role/"),
    depends_on: &[],
    protected: "service-linked and AWS-reserved roles; `managed-by=sandbox-broker`; the pool's access role",
    grants: Grants::on(
        &[
            "iam:ListRolePolicies",
            "iam:DeleteRolePolicy",
            "iam:ListAttachedRolePolicies",
            "iam:DetachRolePolicy",
            "iam:ListInstanceProfilesForRole",
            "iam:RemoveRoleFromInstanceProfile",
            "iam:DeleteRole",
        ],
        &["arn:{p}:iam::{a}:role/{name}", "arn:{p}:iam::{a}:instance-profile/{name}"],
    ),
    list: |c, at| roles(&c.iam, at).boxed(),
    delete: |c, r| delete_role(&c.iam, r).boxed(),
    gone: None,
};

async fn policies(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local).into_paginator().items().send();
    let policies = sdk_call("iam", "ListPolicies", pages.collect::<Result<Vec<_>, _>>()).await?;
    let found = policies
        .iter()
        .filter_map(|p| {
            let arn = p.arn()?;
            // The broker's boundaries live under this path: created by the
            // broker (and tagged) or by a StackSet (which cannot tag them).
            let boundary = p.path() == Some("/sandbox-broker/");
            let found = Resource::new(POLICY.name, at, arn.to_owned(), arn).named(p.policy_name()?);
            Some(found.protect_if(boundary, "a broker boundary (path /sandbox-broker/)"))
        })
        .collect();
    with_tags(at, found, |arn| async move {
        let out = sdk_call("iam", "ListPolicyTags", c.list_policy_tags().policy_arn(arn).send()).await?;
        Ok(pairs(out.tags()))
    })
    .await
}

/// Detached from every role, user and group, and its old versions
/// deleted: DeletePolicy refuses either (DeleteConflict).
async fn delete_policy(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let arn = r.id.as_str();
    let entities =
        sdk_call("iam", "ListEntitiesForPolicy", c.list_entities_for_policy().policy_arn(arn).send()).await?;
    for role in entities.policy_roles().iter().filter_map(|e| e.role_name()) {
        unless_gone(
            sdk_call("iam", "DetachRolePolicy", c.detach_role_policy().role_name(role).policy_arn(arn).send()).await,
        )?;
    }
    for user in entities.policy_users().iter().filter_map(|e| e.user_name()) {
        unless_gone(
            sdk_call("iam", "DetachUserPolicy", c.detach_user_policy().user_name(user).policy_arn(arn).send()).await,
        )?;
    }
    for group in entities.policy_groups().iter().filter_map(|e| e.group_name()) {
        unless_gone(
            sdk_call("iam", "DetachGroupPolicy", c.detach_group_policy().group_name(group).policy_arn(arn).send())
                .await,
        )?;
    }
    let versions = sdk_call("iam", "ListPolicyVersions", c.list_policy_versions().policy_arn(arn).send()).await?;
    for version in versions.versions().iter().filter(|v| !v.is_default_version()).filter_map(|v| v.version_id()) {
        let call = c.delete_policy_version().policy_arn(arn).version_id(version).send();
        unless_gone(sdk_call("iam", "DeletePolicyVersion", call).await)?;
    }
    sdk_call("iam", "DeletePolicy", c.delete_policy().policy_arn(arn).send()).await?;
    Ok(Deleted::Now)
}

pub(crate) const POLICY: Registration = Registration {
    name: "iam:policy",
    scope: Scope::Global,
    found_by: "ListPolicies (local), ListPolicyTags",
    reads: &["iam:ListPolicies", "iam:ListPolicyTags"],
    attribution: Attribution::Name,
    arn: ArnMatch::any("iam", "policy/"),
    depends_on: &[],
    protected: "`managed-by=sandbox-broker`; the broker's boundaries (path `/sandbox-broker/`)",
    grants: Grants::on(
        &[
            "iam:ListEntitiesForPolicy",
            "iam:DetachRolePolicy",
            "iam:DetachUserPolicy",
            "iam:DetachGroupPolicy",
            "iam:ListPolicyVersions",
            "iam:DeletePolicyVersion",
            "iam:DeletePolicy",
        ],
        &[
            "arn:{p}:iam::{a}:policy/{name}",
            "arn:{p}:iam::{a}:role/{name}",
            "arn:{p}:iam::{a}:user/{name}",
            "arn:{p}:iam::{a}:group/{name}",
        ],
    ),
    list: |c, at| policies(&c.iam, at).boxed(),
    delete: |c, r| delete_policy(&c.iam, r).boxed(),
    gone: None,
};

async fn instance_profiles(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_instance_profiles().into_paginator().items().send();
    let profiles = sdk_call("iam", "ListInstanceProfiles", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(profiles
        .iter()
        .map(|p| {
            let name = p.instance_profile_name();
            Resource::new(INSTANCE_PROFILE.name, at, p.arn().to_owned(), name).named(name).tagged(pairs(p.tags()))
        })
        .collect())
}

async fn delete_instance_profile(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let name = r.id.as_str();
    let out =
        sdk_call("iam", "GetInstanceProfile", c.get_instance_profile().instance_profile_name(name).send()).await?;
    for role in out.instance_profile().map(|p| p.roles()).unwrap_or_default() {
        let call = c.remove_role_from_instance_profile().instance_profile_name(name).role_name(role.role_name()).send();
        unless_gone(sdk_call("iam", "RemoveRoleFromInstanceProfile", call).await)?;
    }
    sdk_call("iam", "DeleteInstanceProfile", c.delete_instance_profile().instance_profile_name(name).send()).await?;
    Ok(Deleted::Now)
}

pub(crate) const INSTANCE_PROFILE: Registration = Registration {
    name: "iam:instance-profile",
    scope: Scope::Global,
    found_by: "ListInstanceProfiles",
    reads: &["iam:ListInstanceProfiles"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::any("iam", "instance-profile/"),
    depends_on: &[],
    protected: "`managed-by=sandbox-broker`",
    grants: Grants::on(
        &["iam:GetInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
        &["arn:{p}:iam::{a}:instance-profile/{name}"],
    ),
    list: |c, at| instance_profiles(&c.iam, at).boxed(),
    delete: |c, r| delete_instance_profile(&c.iam, r).boxed(),
    gone: None,
};
