//! What every service of the broker shares: configuration, the AWS
//! clients, the clock, and short-lived caches of what rarely changes (the
//! broker's own identity, the profiles' roles). Caches are `moka`'s:
//! concurrent misses for one key wait for one load, misses for different
//! keys do not wait for each other, and failures are not cached, so a
//! fixed problem (a role bootstrap just created) is seen on the next call.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::future::Cache;

use crate::aws::members::MemberClients;
use crate::aws::{CallerIdentity, RoleInfo, UpstreamErrorKind, Upstreams};
use crate::clock::Clock;
use crate::config::{Isolation, Settings};
use crate::error::{ApiError, PoolError};

/// A profile resolved from a request: looked up once, passed along.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name in the configuration.
    pub name: String,
    /// Its IAM role's name.
    pub role_name: String,
    /// The profile's cap on session length.
    pub max_session_seconds: u32,
    /// The length used when a request names none.
    pub default_session_seconds: u32,
    /// Whether its sessions share the broker's account or lease one each.
    pub isolation: Isolation,
}

/// The shared state of the broker's services.
pub struct Context {
    /// The validated configuration.
    pub settings: Arc<Settings>,
    /// STS, IAM and the federation endpoint.
    pub upstreams: Upstreams,
    /// The clock expiry logic reads (injectable for tests).
    pub clock: Arc<dyn Clock>,
    identity: Cache<(), CallerIdentity>,
    last_identity: Mutex<Option<(CallerIdentity, Instant)>>,
    roles: Cache<String, RoleInfo>,
}

impl Context {
    /// A context whose caches keep entries for `aws.identity_cache_seconds`.
    pub fn new(settings: Arc<Settings>, upstreams: Upstreams, clock: Arc<dyn Clock>) -> Self {
        let ttl = Duration::from_secs(settings.aws.identity_cache_seconds);
        Self {
            settings,
            upstreams,
            clock,
            identity: Cache::builder().max_capacity(1).time_to_live(ttl).build(),
            last_identity: Mutex::new(None),
            roles: Cache::builder().max_capacity(1_024).time_to_live(ttl).build(),
        }
    }

    /// The broker's own principal (sts:GetCallerIdentity), cached.
    pub async fn identity(&self) -> Result<CallerIdentity, ApiError> {
        let sts = &self.upstreams.sts;
        let identity = self
            .identity
            .try_get_with((), async { sts.caller_identity().await.map_err(ApiError::from) })
            .await
            .map_err(|shared| (*shared).clone())?;
        if let Ok(mut last) = self.last_identity.lock() {
            *last = Some((identity.clone(), Instant::now()));
        }
        Ok(identity)
    }

    /// Clients in pool account `account_id` through `pool.access_role_name`,
    /// named by the broker's own partition (STS answers it; a guessed one
    /// would name roles that do not exist in GovCloud or China).
    pub async fn open_member(&self, account_id: &str) -> Result<MemberClients, ApiError> {
        let partition = self.identity().await?.partition.id();
        let role = &self.settings.pool.access_role_name;
        let opened = self.upstreams.members.open(account_id, role, partition).await;
        Ok(opened.map_err(|e| PoolError::AccessRole(account_id.to_owned(), e))?)
    }

    /// The identity last resolved, and how long ago (for `/readyz` while
    /// STS is slow).
    pub fn last_known_identity(&self) -> Option<(CallerIdentity, Duration)> {
        let last = self.last_identity.lock().ok()?;
        last.as_ref().map(|(identity, at)| (identity.clone(), at.elapsed()))
    }

    /// The named profile, or `unknown_profile`.
    pub fn profile(&self, name: &str) -> Result<Profile, ApiError> {
        let settings = self.settings.profiles.get(name).ok_or_else(|| ApiError::UnknownProfile(name.to_owned()))?;
        Ok(Profile {
            name: name.to_owned(),
            role_name: settings.role_name(name),
            max_session_seconds: settings.max_session_seconds,
            default_session_seconds: settings.default_session_seconds,
            isolation: settings.isolation,
        })
    }

    /// The named profile, or the default one when the request names none.
    pub fn resolve_profile(&self, requested: Option<&str>) -> Result<Profile, ApiError> {
        match requested {
            Some(name) => self.profile(name),
            None => match self.settings.default_profile() {
                Some(name) => self.profile(name),
                None => Err(ApiError::Internal("no default profile".into())),
            },
        }
    }

    /// The profile's role, cached; `profile_not_provisioned` when IAM has
    /// no such role.
    pub async fn role(&self, profile: &Profile) -> Result<RoleInfo, ApiError> {
        let iam = &self.upstreams.iam;
        let load = async {
            match iam.get_role(&profile.role_name).await {
                Ok(Some(role)) => Ok(role),
                Ok(None) => Err(ApiError::ProfileNotProvisioned(profile.name.clone())),
                Err(err) if err.kind == UpstreamErrorKind::NotFound => {
                    Err(ApiError::ProfileNotProvisioned(profile.name.clone()))
                }
                Err(err) => Err(err.into()),
            }
        };
        self.roles.try_get_with(profile.role_name.clone(), load).await.map_err(|shared| (*shared).clone())
    }

    /// Forgets a cached role (it was changed, re-created or deleted).
    pub async fn forget_role(&self, role_name: &str) {
        self.roles.invalidate(role_name).await;
    }

    /// The federation endpoint for the broker's partition, or the override.
    pub fn federation_endpoint(&self, identity: &CallerIdentity) -> String {
        self.settings
            .aws
            .federation_endpoint
            .clone()
            .unwrap_or_else(|| identity.partition.federation_endpoint().to_owned())
    }
}
