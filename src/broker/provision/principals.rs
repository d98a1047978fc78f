//! The two identity policies bootstrap reports. Provisioning and serving
//! need different rights, so they can run as different principals:
//!
//! - `provisioner_policy`: the one-shot `bootstrap`/`teardown` job or an
//!   operator pipeline. It creates and converges the profile roles, but only
//!   with a broker-generated permissions boundary (`iam:PermissionsBoundary`
//!   on CreateRole, PutRolePermissionsBoundary and PutRolePolicy), and it
//!   cannot change a boundary's document (no CreatePolicyVersion: a new
//!   document is a new policy) or remove one from a role.
//! - `broker_policy`: the long-running server. It assumes the roles, reads
//!   them for status, and writes the revocation Deny documents. It can create,
//!   re-trust, re-bound or attach nothing; its inline-policy writes are
//!   limited to roles carrying a broker boundary, which caps whatever they
//!   could say at the profile's access policy minus the guardrails.
//!
//! Policy auditors that match action names alone (parliament's community
//! privilege-escalation check) still flag `iam:PutRolePolicy` next to
//! `sts:AssumeRole` in `broker_policy`; the boundary is what makes that
//! combination gain nothing (docs/bootstrap-and-boundaries.md, "Privilege boundaries").

use std::collections::BTreeSet;

use serde_json::{Value, json};

use sandbox_reset::registry::Attribution;

use super::desired::{DesiredRole, boundary_arn_pattern};
pub use super::pool_grants::PoolAccess;
use super::pool_grants::pool_statements;
use crate::aws::CallerIdentity;

const READ_ROLES: [&str; 5] =
    ["iam:GetRole", "iam:ListRoleTags", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"];

fn role_arns(desired: &[DesiredRole], identity: &CallerIdentity) -> Vec<String> {
    let partition = identity.partition.id();
    desired.iter().map(|d| format!("arn:{partition}:iam::{}:role/{}", identity.account, d.role_name)).collect()
}

/// The boundaries the roles may carry: every generated one, and the ones
/// profiles name themselves.
fn allowed_boundaries(desired: &[DesiredRole], identity: &CallerIdentity) -> Vec<String> {
    let own = desired.iter().filter(|d| d.boundary.is_none()).filter_map(|d| d.permissions_boundary_arn.clone());
    let set: BTreeSet<String> = std::iter::once(boundary_arn_pattern(identity)).chain(own).collect();
    set.into_iter().collect()
}

/// What the policies name beyond the shared profiles' roles: the broker's
/// two DynamoDB tables and the account pool's roles.
#[derive(Debug, Clone, Copy)]
pub struct Tables<'a> {
    /// `ledger.table`.
    pub ledger: &'a str,
    /// `pool.table`.
    pub pool: &'a str,
    /// The pool's roles (none without account profiles).
    pub accounts: PoolAccess<'a>,
}

/// A table and its indexes.
fn table_arns(identity: &CallerIdentity, table: &str) -> Vec<String> {
    let base = format!("arn:{}:dynamodb:*:{}:table/{table}", identity.partition.id(), identity.account);
    vec![base.clone(), format!("{base}/index/*")]
}

/// Discovery: the tagging API and every registered type's listing calls.
fn find_actions() -> Vec<&'static str> {
    std::iter::once("tag:GetResources").chain(sandbox_reset::registry::read_actions()).collect()
}

/// A sandbox key then a dash, as IAM matches it: twelve characters.
const KEY_PREFIX: &str = "????????????-*";

/// Cleanup: discovery (read-only, account-wide: the listing calls have no
/// resource to name), then each registered type's delete calls bounded by
/// its attribution: on resources named `<sandbox-key>-…`, or carrying a
/// `sandbox-key` tag (`aws:ResourceTag`), or (a type attributed to its
/// parent) named under a parent so named or tagged itself. A pool-only
/// type gets nothing here: its resources are deleted only in pool accounts.
fn cleanup_statements(identity: &CallerIdentity) -> Vec<Value> {
    let (p, account) = (identity.partition.id(), identity.account.as_str());
    let fill = |pattern: &str, name: &str| pattern.replace("{p}", p).replace("{a}", account).replace("{name}", name);
    let (mut named, mut tagged, mut unscoped) = (Grant::default(), Grant::default(), BTreeSet::<&str>::new());
    for kind in sandbox_reset::registry::all() {
        let (by_name, by_tag) = match kind.attribution {
            Attribution::Name => (true, false),
            Attribution::Tag => (false, true),
            Attribution::TagOrName | Attribution::Parent => (true, true),
            Attribution::None => continue,
        };
        let grants = &kind.grants;
        if by_name {
            named.actions.extend(grants.actions);
            named.resources.extend(grants.on.iter().map(|on| fill(on, KEY_PREFIX)));
        }
        if by_tag {
            tagged.actions.extend(grants.actions);
            tagged.resources.extend(grants.on.iter().map(|on| fill(on, "*")));
        }
        unscoped.extend(grants.unscoped);
    }
    let tag = json!({"Null": {"aws:ResourceTag/sandbox-key": "false"}});
    vec![
        json!({"Sid": "FindSessionResources", "Effect": "Allow", "Action": find_actions(), "Resource": "*"}),
        json!({"Sid": "DeleteNamedSessionResources", "Effect": "Allow",
               "Action": named.actions, "Resource": named.resources}),
        json!({"Sid": "DeleteTaggedSessionResources", "Effect": "Allow",
               "Action": tagged.actions, "Resource": tagged.resources, "Condition": tag}),
        json!({"Sid": "CleanupCallsNamingNoResource", "Effect": "Allow", "Action": unscoped, "Resource": "*"}),
    ]
}

/// Actions and the resources they are granted on, each once and sorted.
#[derive(Default)]
struct Grant {
    actions: BTreeSet<&'static str>,
    resources: BTreeSet<String>,
}

fn policy(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// What the serving broker needs: assume the profile roles with tags and
/// source identity, read them, and write revocation Denies into roles that
/// carry a broker boundary. The explicit Denies keep that true even when
/// the broker's principal holds other, broader policies.
pub fn broker_policy(desired: &[DesiredRole], identity: &CallerIdentity, tables: Tables<'_>) -> Value {
    let roles = role_arns(desired, identity);
    let mut statements = vec![
        json!({"Sid": "AssumeProfileRoles", "Effect": "Allow",
               "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"], "Resource": roles}),
        json!({"Sid": "KnowOwnIdentity", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}),
        json!({"Sid": "ReadProfileRoles", "Effect": "Allow", "Action": READ_ROLES, "Resource": roles}),
        json!({"Sid": "WriteRevocationsUnderBoundary", "Effect": "Allow",
               "Action": ["iam:PutRolePolicy", "iam:DeleteRolePolicy"], "Resource": roles,
               "Condition": {"ArnLike": {"iam:PermissionsBoundary": allowed_boundaries(desired, identity)}}}),
        json!({"Sid": "NeverReshapeProfileRoles", "Effect": "Deny", "Action": [
            "iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary",
            "iam:DeleteRolePermissionsBoundary", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRole"],
            "Resource": roles}),
        json!({"Sid": "NeverRewriteBoundaries", "Effect": "Deny", "Action": [
            "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"],
            "Resource": boundary_arn_pattern(identity)}),
        json!({"Sid": "WriteSessionLedger", "Effect": "Allow", "Action": [
            "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan",
            "dynamodb:DescribeTable"],
            "Resource": table_arns(identity, tables.ledger)}),
        // Registration writes new accounts; leases and resets move them.
        json!({"Sid": "WriteAccountPool", "Effect": "Allow", "Action": [
            "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:Scan",
            "dynamodb:DescribeTable"],
            "Resource": table_arns(identity, tables.pool)}),
    ];
    statements.extend(pool_statements(&tables.accounts, identity));
    statements.extend(cleanup_statements(identity));
    policy(statements)
}

/// What bootstrap, teardown and drift repair need: converge the profile
/// roles, always under a broker boundary, and create or delete the
/// boundaries themselves.
pub fn provisioner_policy(desired: &[DesiredRole], identity: &CallerIdentity, tables: Tables<'_>) -> Value {
    let roles = role_arns(desired, identity);
    let bounded = json!({"ArnLike": {"iam:PermissionsBoundary": allowed_boundaries(desired, identity)}});
    let tables_arns = [table_arns(identity, tables.ledger), table_arns(identity, tables.pool)].concat();
    let mut statements = vec![
        json!({"Sid": "KnowOwnIdentity", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}),
        json!({"Sid": "ReadProfileRoles", "Effect": "Allow", "Action": READ_ROLES, "Resource": roles}),
        json!({"Sid": "CreateAndWriteBoundedRoles", "Effect": "Allow", "Action": [
            "iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"], "Resource": roles,
            "Condition": bounded}),
        json!({"Sid": "ConvergeProfileRoles", "Effect": "Allow", "Action": [
            "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy", "iam:DeleteRole"], "Resource": roles}),
        json!({"Sid": "ManageBoundaries", "Effect": "Allow", "Action": [
            "iam:CreatePolicy", "iam:TagPolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:DeletePolicy"],
            "Resource": boundary_arn_pattern(identity)}),
        json!({"Sid": "ManageLedgerAndPoolTables", "Effect": "Allow", "Action": [
            "dynamodb:CreateTable", "dynamodb:DescribeTable", "dynamodb:DeleteTable", "dynamodb:Query"],
            "Resource": tables_arns}),
    ];
    let attachable: BTreeSet<&String> = desired.iter().flat_map(|d| &d.managed_policy_arns).collect();
    if !attachable.is_empty() {
        statements.push(json!({"Sid": "AttachConfiguredPolicies", "Effect": "Allow", "Action": "iam:AttachRolePolicy",
            "Resource": roles, "Condition": {"ArnEquals": {"iam:PolicyARN": attachable}}}));
    }
    policy(statements)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::provision::desired::desired_roles;
    use crate::domain::Partition;

    fn actions(policy: &Value, effect: &str) -> BTreeSet<String> {
        let statements = policy["Statement"].as_array().unwrap();
        let of = |s: &Value| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
            _ => vec![],
        };
        statements.iter().filter(|s| s["Effect"] == effect).flat_map(of).collect()
    }

    const TABLES: Tables<'static> =
        Tables { ledger: "sandbox-broker-sessions", pool: "sandbox-broker-accounts", accounts: PoolAccess::NONE };

    #[test]
    fn the_broker_can_reshape_nothing_and_the_provisioner_assumes_nothing() {
        let identity = CallerIdentity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/broker".into(),
            partition: Partition::Aws,
        };
        let desired = desired_roles(&crate::config::test_settings(), &identity).unwrap();
        let broker = broker_policy(&desired, &identity, TABLES);
        let allowed = actions(&broker, "Allow");
        for reshaping in [
            "iam:CreateRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePermissionsBoundary",
            "iam:DeleteRolePermissionsBoundary",
            "iam:AttachRolePolicy",
            "iam:CreatePolicyVersion",
        ] {
            assert!(!allowed.contains(reshaping), "{reshaping}");
        }
        assert!(actions(&broker, "Deny").contains("iam:PutRolePermissionsBoundary"));
        let provisioner = provisioner_policy(&desired, &identity, TABLES);
        let allowed = actions(&provisioner, "Allow");
        assert!(!allowed.iter().any(|a| a.starts_with("sts:Assume")), "{allowed:?}");
        assert!(!allowed.contains("iam:CreatePolicyVersion") && !allowed.contains("iam:DeleteRolePermissionsBoundary"));
        let create = &provisioner["Statement"][2];
        assert_eq!(create["Action"][0], "iam:CreateRole");
        assert_eq!(
            create["Condition"]["ArnLike"]["iam:PermissionsBoundary"],
            json!(["arn:aws:iam::123456789012:policy/sandbox-broker/boundary-*"])
        );
    }
}
