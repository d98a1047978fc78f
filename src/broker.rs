//! The broker's use cases, composed from the AWS traits: everything between
//! "the request is well-formed" and "here are the credentials".

mod cache;
pub mod issue;
mod launch;

use launch::LaunchLimits;
pub mod provision;
pub mod revocation;

use std::sync::Arc;
use std::time::Duration;

pub use cache::TtlCache;
pub use issue::{IssuedSession, SessionRequest};

use crate::aws::{CallerIdentity, Federation, Iam, RoleInfo, Sts, UpstreamErrorKind};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::ticket::TicketSigner;
use crate::error::ApiError;

/// The AWS-facing services the broker needs, injectable for tests.
#[derive(Clone)]
pub struct Upstreams {
    pub sts: Arc<dyn Sts>,
    pub iam: Arc<dyn Iam>,
    pub federation: Arc<dyn Federation>,
}

pub struct Broker {
    settings: Arc<Settings>,
    upstreams: Upstreams,
    clock: Arc<dyn Clock>,
    identity: TtlCache<CallerIdentity>,
    roles: TtlCache<RoleInfo>,
    /// Waits between AssumeRole attempts that IAM denied (see `issue`).
    denied_backoff: Vec<Duration>,
    revocations: revocation::Revocations,
    tickets: TicketSigner,
    launches: LaunchLimits,
    /// Bootstrap and teardown of one replica run one at a time: interleaved,
    /// one could delete a role the other has just read.
    provisioning: tokio::sync::Mutex<()>,
}

/// New roles can be denied for seconds after creation (IAM is eventually
/// consistent), so AccessDenied on AssumeRole is retried on this schedule.
pub const DEFAULT_DENIED_BACKOFF_MS: [u64; 4] = [200, 400, 800, 1_600];

impl Broker {
    pub fn new(settings: Arc<Settings>, upstreams: Upstreams, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let ttl = Duration::from_secs(settings.aws.identity_cache_seconds);
        let ticket_secret = settings
            .console
            .ticket_secret
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("console.ticket_secret is required"))?;
        let tickets = TicketSigner::new(ticket_secret).map_err(anyhow::Error::msg)?;
        let replica = settings.server.replica_id().ok_or_else(|| anyhow::anyhow!("server.replica_id is required"))?;
        let revocations = revocation::Revocations::new(&replica);
        let launches = LaunchLimits::new(&settings);
        Ok(Self {
            settings,
            upstreams,
            clock,
            identity: TtlCache::new(ttl),
            roles: TtlCache::new(ttl),
            denied_backoff: DEFAULT_DENIED_BACKOFF_MS.iter().map(|ms| Duration::from_millis(*ms)).collect(),
            revocations,
            tickets,
            launches,
            provisioning: tokio::sync::Mutex::new(()),
        })
    }

    /// The broker's own principal, cached for `aws.identity_cache_seconds`.
    pub async fn identity(&self) -> Result<CallerIdentity, ApiError> {
        let sts = &self.upstreams.sts;
        Ok(self.identity.get_or_load("self", || sts.caller_identity()).await?)
    }

    /// The identity last resolved, and how long ago (for `/readyz` when
    /// STS is slow).
    pub fn last_known_identity(&self) -> Option<(CallerIdentity, Duration)> {
        self.identity.last("self")
    }

    /// The profile's role; `profile_not_provisioned` when IAM has no such role.
    async fn role(&self, profile: &str, role_name: &str) -> Result<RoleInfo, ApiError> {
        let iam = &self.upstreams.iam;
        self.roles
            .get_or_load(role_name, || async {
                match iam.get_role(role_name).await {
                    Ok(Some(role)) => Ok(role),
                    Ok(None) => Err(ApiError::ProfileNotProvisioned(profile.to_owned())),
                    Err(err) if err.kind == UpstreamErrorKind::NotFound => {
                        Err(ApiError::ProfileNotProvisioned(profile.to_owned()))
                    }
                    Err(err) => Err(err.into()),
                }
            })
            .await
    }

    /// IAM answers NoSuchEntity when the role was deleted after this replica
    /// looked it up (a teardown ran meanwhile): forget the cached role and
    /// say the profile is not provisioned, as a fresh lookup would.
    fn role_vanished(&self, profile: &str, role_name: &str, err: ApiError) -> ApiError {
        match err {
            ApiError::Upstream(e) if e.kind == UpstreamErrorKind::NotFound => {
                self.roles.invalidate(role_name);
                self.revocations.invalidate(role_name);
                ApiError::ProfileNotProvisioned(profile.to_owned())
            }
            other => other,
        }
    }

    /// The federation endpoint for the broker's partition, or the override.
    fn federation_endpoint(&self, identity: &CallerIdentity) -> String {
        self.settings
            .aws
            .federation_endpoint
            .clone()
            .unwrap_or_else(|| identity.partition.federation_endpoint().to_owned())
    }
}
