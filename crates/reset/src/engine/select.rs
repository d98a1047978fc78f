//! Which found resources a run takes. Session cleanup takes what each
//! type's attribution gives the session (which is also what bounds the
//! broker's delete in IAM); account reset takes everything unprotected. A
//! stack's members go with their stack. In a session, what carries the
//! session's mark but its type does not take, and whatever must wait for
//! such a resource, is reported `left` with the reason: never attempted,
//! never silently kept.

use std::collections::{BTreeMap, HashSet};

use super::discover::{MANAGED_BY, SESSION_TAG};
use super::{Found, Mode, Outcome};
use crate::registry::{self, Attribution, Resource};

/// CloudFormation tags what it creates with its stack's id: a stack's own
/// resources are left to deleting the stack.
const STACK_TAG: &str = "aws:cloudformation:stack-id";

/// `considered`: what a session's selection must look at (every resource
/// carrying its mark, and their children: `marks::by_key`); an account
/// reset looks at everything in `listed`.
pub(super) fn select(found: &mut Found, listed: &BTreeMap<String, Resource>, considered: &[&Resource], mode: &Mode) {
    let in_stack =
        |r: &Resource| r.tags.get(STACK_TAG).is_some_and(|stack| listed.contains_key(stack) && stack != r.arn.as_str());
    let mut chosen: Vec<Resource> = Vec::new();
    let mut left: Vec<(&Resource, String)> = Vec::new();
    match mode {
        Mode::Session { key } => {
            let own: HashSet<&str> = considered.iter().filter(|r| attributed(r, key)).map(|r| r.arn.as_str()).collect();
            let of_own_parent = |r: &Resource| r.parent.as_deref().is_some_and(|p| own.contains(p));
            for r in considered.iter().copied().filter(|r| !in_stack(r)) {
                let attribution = registry::find(r.kind).map(|k| k.attribution);
                if own.contains(r.arn.as_str()) || (attribution == Some(Attribution::Parent) && of_own_parent(r)) {
                    chosen.push(r.clone());
                } else if marked(r, key) || of_own_parent(r) {
                    left.push((r, not_taken(r, attribution)));
                }
            }
        }
        Mode::Account { keep } => {
            for r in listed.values() {
                let managed = r.tags.get(MANAGED_BY.0).is_some_and(|v| v == MANAGED_BY.1);
                let protected = r.protected.is_some() || managed || keep.contains(&r.arn);
                found.kept += usize::from(protected);
                if !protected && !in_stack(r) {
                    chosen.push(r.clone());
                }
            }
        }
    }
    // What must wait for a resource left behind cannot go either (an EFS
    // file system whose mount target stays, then its subnet and VPC).
    let mut blocked: HashSet<String> = left.iter().flat_map(|(r, _)| r.before.iter().cloned()).collect();
    let mut staying: HashSet<String> = left.iter().map(|(r, _)| r.arn.clone()).collect();
    let waits = |r: &Resource, blocked: &HashSet<String>, staying: &HashSet<String>| {
        blocked.contains(&r.arn) || r.after.iter().any(|a| staying.contains(a))
    };
    while let Some(i) = chosen.iter().position(|r| waits(r, &blocked, &staying)) {
        let r = chosen.remove(i);
        blocked.extend(r.before.iter().cloned());
        staying.insert(r.arn.clone());
        let reason = "must wait for a resource cleanup leaves (see the others left)".to_owned();
        found.left.push(outcome(&r, reason));
    }
    found.left.extend(left.into_iter().map(|(r, reason)| outcome(r, reason)));
    found.resources = chosen;
}

fn outcome(r: &Resource, reason: String) -> Outcome {
    Outcome { arn: r.arn.clone(), kind: r.kind.to_owned(), error: None, reason: Some(reason), scheduled_for: None }
}

/// Carries the session's `sandbox-key` tag.
fn by_tag(r: &Resource, key: &str) -> bool {
    r.tags.get(SESSION_TAG).is_some_and(|v| v == key)
}

/// Is named `<key>-…`.
fn by_name(r: &Resource, key: &str) -> bool {
    r.name.strip_prefix(key).is_some_and(|rest| rest.starts_with('-'))
}

/// Carries the session's tag or name prefix, whatever its type's rule.
fn marked(r: &Resource, key: &str) -> bool {
    by_tag(r, key) || by_name(r, key)
}

/// Why a resource marked as the session's is not taken.
fn not_taken(r: &Resource, attribution: Option<Attribution>) -> String {
    match attribution {
        Some(Attribution::None) | None => format!(
            "{} is deleted only in pool accounts (IAM cannot bound its delete to one session's resources); \
             delete it by hand",
            r.kind
        ),
        Some(rule) => format!("{} is taken in a shared account by {} only; delete it by hand", r.kind, rule.label()),
    }
}

/// Whether `r` carries the session's tag or name prefix, by its type's rule.
fn attributed(r: &Resource, key: &str) -> bool {
    let Some(kind) = registry::find(r.kind) else { return false };
    match kind.attribution {
        Attribution::Tag => by_tag(r, key),
        Attribution::Name => by_name(r, key),
        Attribution::TagOrName => marked(r, key),
        Attribution::Parent | Attribution::None => false,
    }
}
