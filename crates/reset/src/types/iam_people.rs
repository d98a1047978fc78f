//! IAM users and groups (global). A user is deleted once nothing hangs
//! on it (DeleteConflict otherwise): its login profile, access keys, MFA
//! devices, group memberships and policies go first; a group once its
//! members and policies are gone.

use aws_sdk_iam::Client;
use futures_util::FutureExt;

use super::iam::{pairs, with_tags};
use super::unless_gone;
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};

async fn users(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_users().into_paginator().items().send();
    let users = sdk_call("iam", "ListUsers", pages.collect::<Result<Vec<_>, _>>()).await?;
    let found = users
        .iter()
        .map(|u| Resource::new(USER.name, at, u.arn().to_owned(), u.user_name()).named(u.user_name()))
        .collect();
    with_tags(at, found, |name| async move {
        let out = sdk_call("iam", "ListUserTags", c.list_user_tags().user_name(name).send()).await?;
        Ok(pairs(out.tags()))
    })
    .await
}

async fn delete_user(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let name = r.id.as_str();
    let keys = sdk_call("iam", "ListAccessKeys", c.list_access_keys().user_name(name).send()).await?;
    for key in keys.access_key_metadata().iter().filter_map(|k| k.access_key_id()) {
        unless_gone(
            sdk_call("iam", "DeleteAccessKey", c.delete_access_key().user_name(name).access_key_id(key).send()).await,
        )?;
    }
    unless_gone(sdk_call("iam", "DeleteLoginProfile", c.delete_login_profile().user_name(name).send()).await)?;
    let devices = sdk_call("iam", "ListMFADevices", c.list_mfa_devices().user_name(name).send()).await?;
    for serial in devices.mfa_devices().iter().map(|d| d.serial_number()) {
        let call = c.deactivate_mfa_device().user_name(name).serial_number(serial).send();
        unless_gone(sdk_call("iam", "DeactivateMFADevice", call).await)?;
    }
    let attached =
        sdk_call("iam", "ListAttachedUserPolicies", c.list_attached_user_policies().user_name(name).send()).await?;
    for arn in attached.attached_policies().iter().filter_map(|p| p.policy_arn()) {
        unless_gone(
            sdk_call("iam", "DetachUserPolicy", c.detach_user_policy().user_name(name).policy_arn(arn).send()).await,
        )?;
    }
    let inline = sdk_call("iam", "ListUserPolicies", c.list_user_policies().user_name(name).send()).await?;
    for policy in inline.policy_names() {
        unless_gone(
            sdk_call("iam", "DeleteUserPolicy", c.delete_user_policy().user_name(name).policy_name(policy).send())
                .await,
        )?;
    }
    let groups = sdk_call("iam", "ListGroupsForUser", c.list_groups_for_user().user_name(name).send()).await?;
    for group in groups.groups() {
        let call = c.remove_user_from_group().user_name(name).group_name(group.group_name()).send();
        unless_gone(sdk_call("iam", "RemoveUserFromGroup", call).await)?;
    }
    sdk_call("iam", "DeleteUser", c.delete_user().user_name(name).send()).await?;
    Ok(Deleted::Now)
}

pub(crate) const USER: Registration = Registration {
    name: "iam:user",
    scope: Scope::Global,
    found_by: "ListUsers, ListUserTags",
    reads: &["iam:ListUsers", "iam:ListUserTags"],
    attribution: Attribution::Name,
    arn: ArnMatch::any("iam", "user/"),
    depends_on: &[],
    protected: "`managed-by=sandbox-broker`",
    grants: Grants::on(
        &[
            "iam:DeleteLoginProfile",
            "iam:ListAccessKeys",
            "iam:DeleteAccessKey",
            "iam:ListMFADevices",
            "iam:DeactivateMFADevice",
            "iam:ListGroupsForUser",
            "iam:RemoveUserFromGroup",
            "iam:ListUserPolicies",
            "iam:DeleteUserPolicy",
            "iam:ListAttachedUserPolicies",
            "iam:DetachUserPolicy",
            "iam:DeleteUser",
        ],
        &["arn:{p}:iam::{a}:user/{name}", "arn:{p}:iam::{a}:group/{name}"],
    ),
    list: |c, at| users(&c.iam, at).boxed(),
    delete: |c, r| delete_user(&c.iam, r).boxed(),
    gone: None,
};

async fn groups(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_groups().into_paginator().items().send();
    let groups = sdk_call("iam", "ListGroups", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(groups
        .iter()
        .map(|g| Resource::new(GROUP.name, at, g.arn().to_owned(), g.group_name()).named(g.group_name()))
        .collect())
}

async fn delete_group(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let name = r.id.as_str();
    let members = sdk_call("iam", "GetGroup", c.get_group().group_name(name).send()).await?;
    for user in members.users() {
        let call = c.remove_user_from_group().group_name(name).user_name(user.user_name()).send();
        unless_gone(sdk_call("iam", "RemoveUserFromGroup", call).await)?;
    }
    let attached =
        sdk_call("iam", "ListAttachedGroupPolicies", c.list_attached_group_policies().group_name(name).send()).await?;
    for arn in attached.attached_policies().iter().filter_map(|p| p.policy_arn()) {
        unless_gone(
            sdk_call("iam", "DetachGroupPolicy", c.detach_group_policy().group_name(name).policy_arn(arn).send()).await,
        )?;
    }
    let inline = sdk_call("iam", "ListGroupPolicies", c.list_group_policies().group_name(name).send()).await?;
    for policy in inline.policy_names() {
        unless_gone(
            sdk_call("iam", "DeleteGroupPolicy", c.delete_group_policy().group_name(name).policy_name(policy).send())
                .await,
        )?;
    }
    sdk_call("iam", "DeleteGroup", c.delete_group().group_name(name).send()).await?;
    Ok(Deleted::Now)
}

pub(crate) const GROUP: Registration = Registration {
    name: "iam:group",
    scope: Scope::Global,
    found_by: "ListGroups",
    reads: &["iam:ListGroups"],
    attribution: Attribution::Name,
    arn: ArnMatch::any("iam", "group/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &[
            "iam:GetGroup",
            "iam:RemoveUserFromGroup",
            "iam:ListGroupPolicies",
            "iam:DeleteGroupPolicy",
            "iam:ListAttachedGroupPolicies",
            "iam:DetachGroupPolicy",
            "iam:DeleteGroup",
        ],
        &["arn:{p}:iam::{a}:group/{name}"],
    ),
    list: |c, at| groups(&c.iam, at).boxed(),
    delete: |c, r| delete_group(&c.iam, r).boxed(),
    gone: None,
};
