//! What bootstrap provisions for each profile (DESIGN §3), and the identity
//! policy the broker's own principal needs to do all of it.

use std::collections::BTreeSet;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::aws::CallerIdentity;
use crate::config::{Isolation, Settings};
use crate::domain::guardrails::boundary_document;
use crate::domain::policy::{TemplateVars, minify, render};

pub use crate::aws::iam::MANAGED_BY;
/// Name of the inline access policy on each profile role.
pub const ACCESS_POLICY_NAME: &str = "sandbox-broker-access";
/// IAM path of the permissions boundaries bootstrap creates; the broker's
/// and provisioner's policies name it (`iam:PermissionsBoundary`).
pub const BOUNDARY_PATH: &str = "/sandbox-broker/";
/// IAM's lower bound for a role's MaxSessionDuration.
const ROLE_MIN_MAX_SESSION: u32 = 3_600;

/// The converged state of one profile's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredRole {
    /// The profile's name.
    pub profile: String,
    /// The role's name.
    pub role_name: String,
    /// The trust policy (minified JSON).
    pub trust_policy: String,
    /// MaxSessionDuration.
    pub max_session_seconds: u32,
    /// Tags, `managed-by` first.
    pub tags: Vec<(String, String)>,
    /// The role's permissions boundary: the generated one's ARN, or
    /// `permissions_boundary_arn` from the configuration.
    pub permissions_boundary_arn: Option<String>,
    /// The boundary bootstrap creates, unless the profile names its own.
    pub boundary: Option<DesiredBoundary>,
    /// The rendered access policy (minified JSON).
    pub access_policy: String,
    /// Managed policies to attach.
    pub managed_policy_arns: BTreeSet<String>,
}

/// A generated permissions boundary: a managed policy named after its
/// content. IAM policies are changed only by adding versions, which would
/// let whoever may do so rewrite every learner's ceiling; a new document
/// gets a new name instead, and the old policy is deleted once unused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredBoundary {
    /// `boundary-<role>-<first 10 hex digits of SHA-256(document)>`.
    pub name: String,
    /// Its ARN (path [`BOUNDARY_PATH`]).
    pub arn: String,
    /// The document (minified JSON).
    pub document: String,
}

/// ARN pattern matching every boundary bootstrap creates in the account.
pub fn boundary_arn_pattern(identity: &CallerIdentity) -> String {
    format!("arn:{}:iam::{}:policy{BOUNDARY_PATH}boundary-*", identity.partition.id(), identity.account)
}

/// Whether `arn` names a boundary bootstrap created.
pub fn is_generated_boundary(arn: &str) -> bool {
    arn.split_once(":policy").is_some_and(|(_, rest)| rest.starts_with(&format!("{BOUNDARY_PATH}boundary-")))
}

fn boundary(role_name: &str, document: String, partition: &str, account: &str) -> DesiredBoundary {
    let digest = hex::encode(Sha256::digest(document.as_bytes()));
    let name = format!("boundary-{role_name}-{}", &digest[..10]);
    let arn = format!("arn:{partition}:iam::{account}:policy{BOUNDARY_PATH}{name}");
    DesiredBoundary { name, arn, document }
}

/// The principal the roles trust: `trust.principal_arn`, or the broker's
/// own. An assumed-role session ARN maps to its role's ARN, because trust
/// policies name roles, not sessions (a role with a path needs the override:
/// the session ARN does not carry the path).
pub fn trust_principal(settings: &Settings, identity: &CallerIdentity) -> String {
    if let Some(arn) = &settings.trust.principal_arn {
        return arn.clone();
    }
    let partition = identity.partition.id();
    match identity.arn.split_once(":assumed-role/") {
        Some((_, rest)) => {
            let role = rest.split('/').next().unwrap_or_default();
            format!("arn:{partition}:iam::{}:role/{role}", identity.account)
        }
        None => identity.arn.clone(),
    }
}

/// Refuses to trust an account root (`arn:…:iam::<account>:root`), which
/// is what the broker's principal is when it runs with root credentials:
/// AWS reads that as "any principal of the account that IAM allows
/// sts:AssumeRole", not the broker alone. `trust.principal_arn` overrides.
pub fn refuse_root_trust(settings: &Settings, identity: &CallerIdentity) -> Result<String, String> {
    let principal = trust_principal(settings, identity);
    if settings.trust.principal_arn.is_none() && principal.ends_with(":root") {
        return Err(format!(
            "the broker runs with the account's root credentials ({principal}); the roles would trust every \
             principal of the account. Run it as an IAM role or user, or set trust.principal_arn \
             (SANDBOX_BROKER__TRUST__PRINCIPAL_ARN) to the principal that should assume the roles"
        ));
    }
    Ok(principal)
}

/// The trust policy letting `principal` assume, tag and set SourceIdentity.
pub fn trust_policy(principal: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "SandboxBrokerAssumes",
            "Effect": "Allow",
            "Principal": { "AWS": principal },
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        }],
    })
    .to_string()
}

/// The shared profiles' desired roles in the broker's own account,
/// policies rendered and checked.
pub fn desired_roles(settings: &Settings, identity: &CallerIdentity) -> Result<Vec<DesiredRole>, String> {
    desired_in(settings, identity, &identity.account, Isolation::Shared)
}

/// The account profiles' desired roles in pool account `account`: the same
/// documents rendered for that account, trusting the broker's principal
/// (which assumes them directly, one hop, from its home account).
pub fn desired_pool_roles(
    settings: &Settings,
    identity: &CallerIdentity,
    account: &str,
) -> Result<Vec<DesiredRole>, String> {
    desired_in(settings, identity, account, Isolation::Account)
}

fn desired_in(
    settings: &Settings,
    identity: &CallerIdentity,
    account: &str,
    isolation: Isolation,
) -> Result<Vec<DesiredRole>, String> {
    let principal = refuse_root_trust(settings, identity)?;
    let partition = identity.partition.id();
    let vars = TemplateVars { account_id: account, partition, region: settings.aws.region.as_str() };
    settings
        .profiles
        .iter()
        .filter(|(_, profile)| profile.isolation == isolation)
        .map(|(name, profile)| {
            let role_name = profile.role_name(name);
            let problem = |e: String| format!("profiles.{name}.access_policy: {e}");
            let access_policy =
                render(&profile.policy_template, &vars).and_then(|doc| minify(&doc)).map_err(problem)?;
            let boundary = match &profile.permissions_boundary_arn {
                Some(_) => None,
                None => {
                    let document = boundary_document(&access_policy, &settings.guardrails(profile), &vars)
                        .map_err(|e| format!("profiles.{name}.guardrails: {e}"))?;
                    Some(boundary(&role_name, document, partition, account))
                }
            };
            Ok(DesiredRole {
                profile: name.clone(),
                trust_policy: trust_policy(&principal),
                max_session_seconds: profile.max_session_seconds.max(ROLE_MIN_MAX_SESSION),
                tags: vec![(MANAGED_BY.0.into(), MANAGED_BY.1.into()), ("sandbox-profile".into(), name.clone())],
                permissions_boundary_arn: boundary
                    .as_ref()
                    .map(|b| b.arn.clone())
                    .or_else(|| profile.permissions_boundary_arn.clone()),
                boundary,
                access_policy,
                managed_policy_arns: profile.managed_policy_arns.iter().cloned().collect(),
                role_name,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Partition;

    fn identity(arn: &str) -> CallerIdentity {
        CallerIdentity { account: "123456789012".into(), arn: arn.into(), partition: Partition::Aws }
    }

    #[test]
    fn assumed_role_sessions_map_to_their_role() {
        let settings = crate::config::test_settings();
        let id = identity("arn:aws:sts::123456789012:assumed-role/broker-role/i-0abc");
        assert_eq!(trust_principal(&settings, &id), "arn:aws:iam::123456789012:role/broker-role");
        let user = identity("arn:aws:iam::123456789012:user/broker");
        assert_eq!(trust_principal(&settings, &user), "arn:aws:iam::123456789012:user/broker");
        let root = identity("arn:aws:iam::123456789012:root");
        let refused = desired_roles(&settings, &root).map(|_| ()).unwrap_err();
        assert!(refused.contains("trust.principal_arn"), "{refused}");
    }

    #[test]
    fn role_max_session_respects_iam_floor() {
        let mut settings = crate::config::test_settings();
        if let Some(p) = settings.profiles.get_mut("s3") {
            p.max_session_seconds = 900;
        }
        let desired = desired_roles(&settings, &identity("arn:aws:iam::123456789012:user/b")).unwrap();
        assert_eq!(desired[0].max_session_seconds, 3_600);
        assert!(desired[0].access_policy.contains("s3:*"));
        let boundary = desired[0].boundary.clone().unwrap();
        assert!(boundary.document.contains("s3:*") && boundary.document.contains("GuardrailDeniedActions"));
        assert_eq!(desired[0].permissions_boundary_arn.as_deref(), Some(boundary.arn.as_str()));
        assert!(is_generated_boundary(&boundary.arn), "{}", boundary.arn);
        assert!(boundary.arn.starts_with("arn:aws:iam::123456789012:policy/sandbox-broker/boundary-sandbox-s3-"));
    }
}
