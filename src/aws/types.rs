//! The values that cross the [`Sts`](super::Sts) and [`Iam`](super::Iam)
//! traits: what the broker sends and what AWS answers, secrets redacted.

use std::time::SystemTime;

use secrecy::SecretString;

use crate::domain::{Partition, RoleSessionName, SessionDuration, SessionNarrowing};

/// The broker's own principal, from sts:GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The account id.
    pub account: String,
    /// The caller's ARN (an assumed-role ARN when on role credentials).
    pub arn: String,
    /// The partition the ARN names.
    pub partition: Partition,
}

impl CallerIdentity {
    /// True when the broker itself runs on role credentials (an assumed-role
    /// ARN, as on EC2, ECS, EKS or after `aws sts assume-role`); assuming a
    /// profile role from there is role chaining, which AWS caps at one hour.
    pub fn is_role_session(&self) -> bool {
        self.arn.contains(":assumed-role/")
    }
}

/// A set of temporary credentials; secrets stay redacted in `Debug`.
#[derive(Debug, Clone)]
pub struct TemporaryCredentials {
    /// `ASIA…`: not a secret, logged in audit events.
    pub access_key_id: String,
    /// The secret key (redacted in `Debug`).
    pub secret_access_key: SecretString,
    /// The session token (redacted in `Debug`).
    pub session_token: SecretString,
    /// When STS lets the credentials expire.
    pub expiration: SystemTime,
}

/// What AssumeRole returned.
#[derive(Debug, Clone)]
pub struct IssuedCredentials {
    /// The temporary keys.
    pub credentials: TemporaryCredentials,
    /// `arn:…:sts::<account>:assumed-role/<role>/<session>`.
    pub assumed_role_arn: String,
}

/// An AssumeRole call as the broker makes it: SourceIdentity is always the
/// role session name, so CloudTrail ties every action to the learner.
#[derive(Debug, Clone)]
pub struct AssumeRoleInput {
    /// The role to assume.
    pub role_arn: String,
    /// RoleSessionName, also sent as SourceIdentity.
    pub session_name: RoleSessionName,
    /// DurationSeconds, already clamped.
    pub duration: SessionDuration,
    /// Session tags (see `domain::session_tags`).
    pub tags: Vec<(String, String)>,
    /// Session policies narrowing this session below the role's rights.
    pub narrowing: SessionNarrowing,
}

/// An IAM role as the session path needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    /// The role's ARN.
    pub arn: String,
    /// The role's unique id (`AROA…`), new when a role is re-created.
    pub role_id: String,
    /// The role's MaxSessionDuration.
    pub max_session_seconds: u32,
}

/// Everything bootstrap compares about a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDetails {
    /// What the session path needs.
    pub info: RoleInfo,
    /// The trust policy as JSON text (already URL-decoded).
    pub trust_policy: Option<String>,
    /// The attached permissions boundary, if any.
    pub permissions_boundary_arn: Option<String>,
    /// The role's tags.
    pub tags: Vec<(String, String)>,
}

/// A customer managed policy as bootstrap compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicy {
    /// The default version's document (already URL-decoded).
    pub document: String,
    /// How many roles and users use it as their permissions boundary.
    pub boundary_usage: u32,
}
