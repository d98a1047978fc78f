//! Diffing a profile's desired role against what IAM holds. Pure: the
//! result lists every resource with its action, and the write steps that
//! converge it. Comparing parsed, normalised documents (not text) is what
//! makes a second run report everything `unchanged` with no write call.

use std::collections::BTreeMap;

use serde::Serialize;

use super::desired::{ACCESS_POLICY_NAME, BOUNDARY_PATH, DesiredRole, MANAGED_BY, is_generated_boundary};
use crate::aws::{ManagedPolicy, RoleDetails};
use crate::broker::revocation::is_revocation_policy;
use crate::domain::policy::same_document;

/// What a report line did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The resource is created.
    Create,
    /// The resource exists and is changed.
    Update,
    /// The resource is as desired.
    Unchanged,
    /// The resource is removed.
    Delete,
}

/// One line of a bootstrap or teardown report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What the line is about, e.g. `role/sandbox-s3/policy/sandbox-broker-access`.
    pub resource: String,
    /// What happens to it.
    pub action: Action,
    /// Why, in words.
    pub detail: String,
}

/// One IAM write; `role` is always the role's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    CreateRole(DesiredRole),
    UpdateTrust {
        role: String,
        document: String,
    },
    UpdateMaxSession {
        role: String,
        seconds: u32,
    },
    TagRole {
        role: String,
        tags: Vec<(String, String)>,
    },
    /// Puts the boundary (a role's boundary is never removed).
    SetBoundary {
        role: String,
        arn: String,
    },
    CreateBoundary {
        name: String,
        document: String,
    },
    DeleteBoundary {
        arn: String,
    },
    PutInline {
        role: String,
        name: String,
        document: String,
    },
    DeleteInline {
        role: String,
        name: String,
    },
    Attach {
        role: String,
        arn: String,
    },
    Detach {
        role: String,
        arn: String,
    },
    DeleteRole {
        role: String,
    },
    CreateLedger,
    DeleteLedger,
    CreatePool,
    DeletePool,
}

/// A change and the write (if any) that makes it.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) change: Change,
    pub(crate) step: Option<Step>,
}

/// What IAM holds for one role.
#[derive(Debug, Clone)]
pub(crate) struct ActualRole {
    pub(crate) details: RoleDetails,
    /// Inline policies other than the revocation ones: name → document.
    pub(crate) inline: BTreeMap<String, String>,
    pub(crate) attached: Vec<String>,
}

/// Whether the role carries the broker's `managed-by` tag.
pub(crate) fn is_managed(details: &RoleDetails) -> bool {
    details.tags.iter().any(|(k, v)| k == MANAGED_BY.0 && v == MANAGED_BY.1)
}

pub(crate) fn item(resource: String, action: Action, detail: impl Into<String>, step: Option<Step>) -> Item {
    Item { change: Change { resource, action, detail: detail.into() }, step }
}

/// Converges one role. The caller has checked that an existing role is
/// managed. `revocations` names the role's revocation policies, which are
/// reported and kept as they are.
pub(crate) fn plan_role(want: &DesiredRole, have: Option<&ActualRole>, revocations: &[String]) -> Vec<Item> {
    let role = &want.role_name;
    let res = format!("role/{role}");
    let policy_res = format!("role/{role}/policy/{ACCESS_POLICY_NAME}");
    let Some(have) = have else {
        let mut items = vec![item(
            res,
            Action::Create,
            format!("max session {}s, trusts the broker", want.max_session_seconds),
            Some(Step::CreateRole(want.clone())),
        )];
        items.push(item(policy_res, Action::Create, "inline access policy", Some(put_access(want))));
        for arn in &want.managed_policy_arns {
            let step = Step::Attach { role: role.clone(), arn: arn.clone() };
            items.push(item(format!("role/{role}/attached/{arn}"), Action::Create, "attach", Some(step)));
        }
        return items;
    };

    let mut items = Vec::new();
    let mut role_updates = Vec::new();
    if !have.details.trust_policy.as_deref().is_some_and(|t| same_document(t, &want.trust_policy)) {
        role_updates
            .push(("trust policy", Step::UpdateTrust { role: role.clone(), document: want.trust_policy.clone() }));
    }
    if have.details.info.max_session_seconds != want.max_session_seconds {
        let step = Step::UpdateMaxSession { role: role.clone(), seconds: want.max_session_seconds };
        role_updates.push(("max session duration", step));
    }
    let missing_tags: Vec<_> = want.tags.iter().filter(|t| !have.details.tags.contains(t)).cloned().collect();
    if !missing_tags.is_empty() {
        role_updates.push(("tags", Step::TagRole { role: role.clone(), tags: missing_tags }));
    }
    let replaced_boundary = match &want.permissions_boundary_arn {
        Some(arn) if have.details.permissions_boundary_arn.as_ref() != Some(arn) => {
            role_updates.push(("permissions boundary", Step::SetBoundary { role: role.clone(), arn: arn.clone() }));
            have.details.permissions_boundary_arn.clone().filter(|old| is_generated_boundary(old))
        }
        _ => None,
    };
    if role_updates.is_empty() {
        items.push(item(res.clone(), Action::Unchanged, "", None));
    }
    for (what, step) in role_updates {
        items.push(item(res.clone(), Action::Update, format!("{what} differs"), Some(step)));
    }

    match have.inline.get(ACCESS_POLICY_NAME) {
        Some(doc) if same_document(doc, &want.access_policy) => {
            items.push(item(policy_res, Action::Unchanged, "", None))
        }
        Some(_) => items.push(item(policy_res, Action::Update, "document differs", Some(put_access(want)))),
        None => items.push(item(policy_res, Action::Create, "inline access policy", Some(put_access(want)))),
    }
    for name in revocations {
        items.push(item(format!("role/{role}/policy/{name}"), Action::Unchanged, "revocation entries kept", None));
    }
    for name in have.inline.keys().filter(|n| *n != ACCESS_POLICY_NAME && !is_revocation_policy(n)) {
        let step = Step::DeleteInline { role: role.clone(), name: name.clone() };
        items.push(item(format!("role/{role}/policy/{name}"), Action::Delete, "not configured", Some(step)));
    }
    for arn in &want.managed_policy_arns {
        let res = format!("role/{role}/attached/{arn}");
        if have.attached.contains(arn) {
            items.push(item(res.clone(), Action::Unchanged, "", None));
        } else {
            items.push(item(
                res,
                Action::Create,
                "attach",
                Some(Step::Attach { role: role.clone(), arn: arn.clone() }),
            ));
        }
    }
    for arn in have.attached.iter().filter(|a| !want.managed_policy_arns.contains(*a)) {
        let step = Step::Detach { role: role.clone(), arn: arn.clone() };
        items.push(item(format!("role/{role}/attached/{arn}"), Action::Delete, "not configured", Some(step)));
    }
    // The replaced boundary is unused once the new one is in place.
    if let Some(arn) = replaced_boundary {
        items.push(item(
            policy_resource(&arn),
            Action::Delete,
            "replaced boundary",
            Some(Step::DeleteBoundary { arn }),
        ));
    }
    items
}

fn policy_resource(arn: &str) -> String {
    arn.split_once(":policy/").map_or_else(|| arn.to_owned(), |(_, path)| format!("policy/{path}"))
}

/// The profile's generated boundary, created before the role that uses it.
/// A document that differs from the one its name was derived from was
/// edited outside the broker: reported, and left for an operator (the
/// provisioner may not add policy versions, by design).
pub(crate) fn plan_boundary(want: &DesiredRole, have: Option<&ManagedPolicy>) -> Vec<Item> {
    let Some(boundary) = &want.boundary else {
        return Vec::new();
    };
    let res = policy_resource(&boundary.arn);
    let step = Step::CreateBoundary { name: boundary.name.clone(), document: boundary.document.clone() };
    vec![match have {
        None => item(res, Action::Create, format!("permissions boundary in {BOUNDARY_PATH}"), Some(step)),
        Some(p) if same_document(&p.document, &boundary.document) => item(res, Action::Unchanged, "", None),
        Some(_) => item(
            res,
            Action::Update,
            "document was changed outside the broker; delete the policy's extra versions by hand",
            None,
        ),
    }]
}

fn put_access(want: &DesiredRole) -> Step {
    Step::PutInline {
        role: want.role_name.clone(),
        name: ACCESS_POLICY_NAME.into(),
        document: want.access_policy.clone(),
    }
}

/// Removes a managed role: inline policies (revocations included) and
/// attachments first, because IAM refuses to delete a role that has them.
pub(crate) fn plan_teardown(role: &str, have: &ActualRole, revocation_policies: &[String]) -> Vec<Item> {
    let mut items = Vec::new();
    for name in have.inline.keys().chain(revocation_policies) {
        let step = Step::DeleteInline { role: role.to_owned(), name: name.clone() };
        items.push(item(format!("role/{role}/policy/{name}"), Action::Delete, "inline policy", Some(step)));
    }
    for arn in &have.attached {
        let step = Step::Detach { role: role.to_owned(), arn: arn.clone() };
        items.push(item(format!("role/{role}/attached/{arn}"), Action::Delete, "detach", Some(step)));
    }
    items.push(item(format!("role/{role}"), Action::Delete, "role", Some(Step::DeleteRole { role: role.to_owned() })));
    if let Some(arn) = have.details.permissions_boundary_arn.clone().filter(|arn| is_generated_boundary(arn)) {
        items.push(item(
            policy_resource(&arn),
            Action::Delete,
            "permissions boundary",
            Some(Step::DeleteBoundary { arn }),
        ));
    }
    items
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
