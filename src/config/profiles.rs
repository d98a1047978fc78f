//! Profile checks: role names, durations, policy ARNs, and the policy
//! templates, rendered and size-checked the way bootstrap will use them.

use std::path::Path;

use super::Settings;
use super::check::Problems;
use crate::domain::guardrails::{GuardrailSettings, Guardrails, boundary_document};
use crate::domain::policy::{INLINE_POLICY_BUDGET, TemplateVars, minify, render};
use crate::domain::{MAX_SESSION_SECONDS, MIN_SESSION_SECONDS, Region, is_valid_role_name};

pub(super) fn validate_profiles(s: &Settings, problems: &mut Problems) {
    if s.profiles.is_empty() {
        problems.add("profiles", "at least one profile is required");
        return;
    }
    if s.profiles.values().filter(|p| p.default).count() > 1 {
        problems.add("profiles", "more than one profile has `default = true`");
    } else if s.default_profile().is_none() {
        problems.add("profiles", "several profiles and none has `default = true`");
    }
    for (name, p) in &s.profiles {
        let key = |k: &str| format!("profiles.{name}.{k}");
        if !is_valid_role_name(&p.role_name(name)) {
            problems.add(key("role_name"), "IAM role names are 1-64 characters of [A-Za-z0-9+=,.@_-]");
        }
        if !(MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&p.max_session_seconds) {
            problems.add(
                key("max_session_seconds"),
                format!("must be within {MIN_SESSION_SECONDS}..={MAX_SESSION_SECONDS}"),
            );
        }
        if !(MIN_SESSION_SECONDS..=p.max_session_seconds).contains(&p.default_session_seconds) {
            problems.add(
                key("default_session_seconds"),
                format!("must be within {MIN_SESSION_SECONDS}..=max_session_seconds"),
            );
        }
        for problem in s.guardrails(p).problems() {
            problems.add(key("guardrails"), problem);
        }
        if p.permissions_boundary_arn.is_some() && p.guardrails != GuardrailSettings::default() {
            problems.add(
                key("guardrails"),
                "guardrails are rendered into the boundary bootstrap generates; with permissions_boundary_arn \
                 set, put them into that boundary instead (or drop permissions_boundary_arn)",
            );
        }
        for arn in p.managed_policy_arns.iter().chain(p.permissions_boundary_arn.iter()) {
            if !arn.starts_with("arn:") || !arn.contains(":policy/") {
                problems.add(key("managed_policy_arns"), format!("`{arn}` is not a policy ARN"));
            }
        }
    }
}

/// Renders a template the way bootstrap will (a 12-digit account id has the
/// same length as any real one) so unknown variables and IAM's size limit
/// are caught at start-up, before any AWS call.
fn check_policy_template(template: &str, region: &str, guardrails: Option<&Guardrails>) -> Result<(), String> {
    let partition = Region::parse(region).map(|r| r.partition().id()).unwrap_or("aws");
    let vars = TemplateVars { account_id: "000000000000", partition, region };
    let rendered = minify(&render(template, &vars)?)?;
    if rendered.len() > INLINE_POLICY_BUDGET {
        return Err(format!(
            "rendered policy is {} characters; IAM allows {INLINE_POLICY_BUDGET} across a role's inline policies",
            rendered.len()
        ));
    }
    match guardrails {
        Some(guardrails) => boundary_document(&rendered, guardrails, &vars).map(drop),
        None => Ok(()),
    }
}

pub(super) fn load_policies(s: &mut Settings, base_dir: &Path, problems: &mut Problems) {
    let region = s.aws.region.clone();
    // The generated boundary (access policy + guardrails) is size-checked
    // too; a profile with its own boundary gets none.
    let boundaries: Vec<Option<Guardrails>> =
        s.profiles.values().map(|p| p.permissions_boundary_arn.is_none().then(|| s.guardrails(p))).collect();
    for ((name, p), guardrails) in s.profiles.iter_mut().zip(boundaries) {
        let relative = p.access_policy.clone().unwrap_or_else(|| format!("policies/{name}.json").into());
        let path = base_dir.join(relative);
        match std::fs::read_to_string(&path) {
            Ok(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(_)) => {
                    match check_policy_template(&text, region.as_str(), guardrails.as_ref()) {
                        Ok(()) => p.policy_template = text,
                        Err(err) => {
                            problems.add(format!("profiles.{name}.access_policy"), format!("{}: {err}", path.display()))
                        }
                    }
                }
                Ok(_) => problems.add(format!("profiles.{name}.access_policy"), "policy must be a JSON object"),
                Err(err) => problems.add(
                    format!("profiles.{name}.access_policy"),
                    format!("{} is not valid JSON: {err}", path.display()),
                ),
            },
            Err(err) => {
                problems.add(format!("profiles.{name}.access_policy"), format!("cannot read {}: {err}", path.display()))
            }
        }
    }
}
