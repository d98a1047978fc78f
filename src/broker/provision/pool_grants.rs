//! What the serving broker's principal needs for the account pool, added to
//! `broker_policy` only when a profile has `isolation = "account"`: assume
//! the account profiles' roles and the pool's access role in member
//! accounts of its own organization (`aws:ResourceOrgID` must equal the
//! principal's `aws:PrincipalOrgID`, so no account outside the organization
//! can be named), and read (or, with `pool.create_email`, create) accounts
//! through Organizations. Everything done inside a member account is done
//! with the access role's rights, never the broker's own.

use serde_json::{Value, json};

use crate::aws::CallerIdentity;

/// The pool's roles as the broker's policy names them.
#[derive(Debug, Clone, Copy)]
pub struct PoolAccess<'a> {
    /// The account profiles' role names.
    pub roles: &'a [String],
    /// `pool.access_role_name`.
    pub access_role: &'a str,
    /// Whether accounts may be created (`pool.create_email` is set).
    pub creates: bool,
}

impl PoolAccess<'_> {
    /// No account profile: the policy grants nothing for a pool.
    pub const NONE: PoolAccess<'static> = PoolAccess { roles: &[], access_role: "", creates: false };
}

/// The statements, or none without account profiles.
pub(super) fn pool_statements(access: &PoolAccess<'_>, identity: &CallerIdentity) -> Vec<Value> {
    if access.roles.is_empty() {
        return Vec::new();
    }
    let p = identity.partition.id();
    let in_org = json!({"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}});
    let roles: Vec<String> = access.roles.iter().map(|r| format!("arn:{p}:iam::*:role/{r}")).collect();
    let mut statements = vec![
        json!({"Sid": "AssumePoolProfileRoles", "Effect": "Allow",
               "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"], "Resource": roles,
               "Condition": in_org}),
        json!({"Sid": "AssumePoolAccessRole", "Effect": "Allow", "Action": "sts:AssumeRole",
               "Resource": format!("arn:{p}:iam::*:role/{}", access.access_role), "Condition": in_org}),
        json!({"Sid": "KnowOrganization", "Effect": "Allow", "Action": "organizations:DescribeOrganization",
               "Resource": "*"}),
        json!({"Sid": "ReadMemberAccounts", "Effect": "Allow", "Action": "organizations:DescribeAccount",
               "Resource": format!("arn:{p}:organizations::*:account/o-*/*")}),
    ];
    if access.creates {
        // CreateAccount and its status name no resource IAM can scope.
        statements.push(json!({"Sid": "CreatePoolAccounts", "Effect": "Allow", "Action": [
            "organizations:CreateAccount", "organizations:DescribeCreateAccountStatus"], "Resource": "*"}));
        statements.push(json!({"Sid": "MoveCreatedAccounts", "Effect": "Allow", "Action": [
            "organizations:ListParents", "organizations:MoveAccount"], "Resource": [
            format!("arn:{p}:organizations::*:account/o-*/*"),
            format!("arn:{p}:organizations::*:ou/o-*/ou-*"),
            format!("arn:{p}:organizations::*:root/o-*/r-*")]}));
    }
    statements
}
