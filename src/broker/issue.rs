//! Issuing a learner session: AssumeRole, then a console sign-in token.

use std::time::SystemTime;

use secrecy::SecretString;
use serde::Deserialize;

use super::Broker;
use crate::aws::federation::{SIGNIN_TOKEN_LIFETIME, login_url};
use crate::aws::{AssumeRoleInput, IssuedCredentials, TemporaryCredentials, UpstreamErrorKind};
use crate::config::{ProfileSettings, Settings};
use crate::domain::ticket::Ticket;
use crate::domain::{Destination, Region, RoleSessionName, SessionDuration, SessionId, SessionKey};
use crate::error::ApiError;

/// The body of `POST /sessions`, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueSessionBody {
    pub session_id: String,
    pub profile: Option<String>,
    pub duration_seconds: Option<u32>,
    pub region: Option<String>,
    pub destination: Option<String>,
}

/// A fully validated session request; building one makes no AWS call.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    pub session_id: SessionId,
    pub profile: String,
    pub requested_seconds: Option<u32>,
    pub region: Region,
    pub destination: Destination,
}

/// The named profile if configured (`unknown_profile` otherwise), or the
/// default one when the request names none.
pub fn resolve_profile(settings: &Settings, requested: Option<String>) -> Result<String, ApiError> {
    match requested {
        Some(name) if settings.profiles.contains_key(&name) => Ok(name),
        Some(name) => Err(ApiError::UnknownProfile(name)),
        None => {
            settings.default_profile().map(str::to_owned).ok_or_else(|| ApiError::Internal("no default profile".into()))
        }
    }
}

impl SessionRequest {
    pub fn validate(body: IssueSessionBody, settings: &Settings) -> Result<Self, ApiError> {
        let session_id = SessionId::parse(&body.session_id).map_err(|m| ApiError::invalid("invalid_session_id", m))?;
        let profile = resolve_profile(settings, body.profile)?;
        let requested_seconds = body
            .duration_seconds
            .map(SessionDuration::validate_requested)
            .transpose()
            .map_err(|m| ApiError::invalid("invalid_duration", m))?;
        let home = Region::parse(&settings.aws.region).map_err(ApiError::Internal)?;
        let region = match body.region {
            Some(raw) => Region::parse(&raw).map_err(|m| ApiError::invalid("invalid_region", m))?,
            None => home.clone(),
        };
        // The broker's credentials belong to the partition of aws.region; a
        // console in another partition could never accept them.
        let home_partition = home.partition();
        if region.partition() != home_partition {
            return Err(ApiError::invalid(
                "invalid_region",
                format!("region `{region}` is outside the broker's partition `{home_partition}`"),
            ));
        }
        let destination = match body.destination {
            Some(raw) => {
                Destination::parse(&raw, region.partition()).map_err(|m| ApiError::invalid("invalid_destination", m))?
            }
            None => Destination::home(&region),
        };
        Ok(Self { session_id, profile, requested_seconds, region, destination })
    }
}

/// Everything a response about an issued session can show.
#[derive(Debug)]
pub struct IssuedSession {
    pub session_id: SessionId,
    pub profile: String,
    pub role_arn: String,
    pub role_session_name: RoleSessionName,
    pub assumed_role_arn: String,
    pub region: Region,
    pub credentials: TemporaryCredentials,
    /// The sign-in URL and its expiry, when the response shows one.
    pub console: Option<(SecretString, SystemTime)>,
    /// The broker's durable console link (see [`Broker::launch_console`]).
    pub launch_url: String,
}

/// Fresh credentials for a session plus a console sign-in URL for them.
pub(super) struct Minted {
    pub role_arn: String,
    pub session_name: RoleSessionName,
    pub issued: IssuedCredentials,
    pub console: Option<(SecretString, SystemTime)>,
    pub duration: SessionDuration,
    pub chained: bool,
}

impl Broker {
    /// Issues a session. `sign_in` asks for a console sign-in URL too; the
    /// CLI formats show none, so they skip that upstream round trip (and
    /// do not depend on the federation endpoint being up).
    pub async fn issue_session(
        &self,
        req: &SessionRequest,
        caller: Option<&str>,
        sign_in: bool,
    ) -> Result<IssuedSession, ApiError> {
        let profile = self.profile(&req.profile)?;
        let requested = req.requested_seconds.unwrap_or(profile.default_session_seconds);
        let destination = sign_in.then_some(&req.destination);
        let minted = self.mint(&req.profile, &req.session_id, requested, destination).await?;
        let expiration = minted.issued.credentials.expiration;
        let ticket = Ticket {
            session_id: req.session_id.to_string(),
            profile: req.profile.clone(),
            region: req.region.to_string(),
            destination: req.destination.as_str().to_owned(),
            exp: crate::clock::unix_seconds(expiration),
        };
        let launch_url = format!(
            "{}/console/launch?ticket={}",
            self.settings.server.public_url.trim_end_matches('/'),
            self.tickets.sign(&ticket)
        );
        tracing::info!(
            target: "sandbox_broker::audit",
            event = "session_issued",
            session_id = %req.session_id,
            profile = %req.profile,
            role_session_name = %minted.session_name,
            access_key_id = %minted.issued.credentials.access_key_id,
            expiration = %crate::clock::rfc3339(expiration),
            duration_seconds = minted.duration.seconds(),
            role_chained = minted.chained,
            caller = caller.unwrap_or("-"),
        );
        crate::telemetry::metrics::session_event("issued", &req.profile);
        Ok(IssuedSession {
            session_id: req.session_id.clone(),
            profile: req.profile.clone(),
            role_arn: minted.role_arn,
            role_session_name: minted.session_name,
            assumed_role_arn: minted.issued.assumed_role_arn,
            region: req.region.clone(),
            credentials: minted.issued.credentials,
            console: minted.console,
            launch_url,
        })
    }

    pub(super) fn profile(&self, name: &str) -> Result<&ProfileSettings, ApiError> {
        self.settings.profiles.get(name).ok_or_else(|| ApiError::UnknownProfile(name.to_owned()))
    }

    /// AssumeRole for the session (refused if revoked), then, given a
    /// console destination, a sign-in token for those credentials.
    /// `requested` is clamped to the profile's and role's maxima and the
    /// role-chaining limit.
    pub(super) async fn mint(
        &self,
        profile_name: &str,
        id: &SessionId,
        requested: u32,
        destination: Option<&Destination>,
    ) -> Result<Minted, ApiError> {
        let profile = self.profile(profile_name)?;
        let identity = self.identity().await?;
        let role_name = profile.role_name(profile_name);
        let role = self.role(profile_name, &role_name).await?;
        self.ensure_not_revoked(&role_name, &role, id)
            .await
            .map_err(|e| self.role_vanished(profile_name, &role_name, e))?;
        let chained = identity.is_role_session();
        let duration =
            SessionDuration::clamp(requested, profile.max_session_seconds, role.max_session_seconds, chained);
        let session_name = RoleSessionName::for_session(id);
        let input = AssumeRoleInput {
            role_arn: role.arn.clone(),
            tags: vec![
                ("sandbox-session".into(), session_name.tag_value()),
                ("sandbox-profile".into(), profile_name.to_owned()),
                ("sandbox-key".into(), SessionKey::of(id).as_str().to_owned()),
            ],
            session_name,
            duration,
        };
        let issued = self.assume_role_with_retry(&input).await?;
        let console = match destination {
            Some(destination) => Some(self.sign_in(&identity, &issued, duration, chained, destination).await?),
            None => None,
        };
        Ok(Minted { role_arn: role.arn, session_name: input.session_name, issued, console, duration, chained })
    }

    /// A console login URL for fresh credentials, and when it expires.
    async fn sign_in(
        &self,
        identity: &crate::aws::CallerIdentity,
        issued: &IssuedCredentials,
        duration: SessionDuration,
        chained: bool,
        destination: &Destination,
    ) -> Result<(SecretString, SystemTime), ApiError> {
        let endpoint = self.federation_endpoint(identity);
        // AWS rejects SessionDuration for credentials obtained by role chaining.
        let console_seconds = (!chained).then(|| duration.seconds());
        let token = self.upstreams.federation.signin_token(&endpoint, &issued.credentials, console_seconds).await?;
        let url = login_url(&endpoint, &self.settings.console.issuer, destination, &token)
            .map_err(|e| ApiError::Internal(format!("federation endpoint URL: {e}")))?;
        Ok((url, (self.clock.now() + SIGNIN_TOKEN_LIFETIME).min(issued.credentials.expiration)))
    }

    /// AssumeRole, retrying AccessDenied on a short capped schedule: a role
    /// created or re-trusted seconds ago may not be assumable yet because
    /// IAM changes propagate eventually. Throttling is retried by the SDK's
    /// standard retry mode; validation errors are never retried.
    async fn assume_role_with_retry(&self, input: &AssumeRoleInput) -> Result<IssuedCredentials, ApiError> {
        let mut waits = self.denied_backoff.iter();
        loop {
            match self.upstreams.sts.assume_role(input).await {
                Err(err) if err.kind == UpstreamErrorKind::AccessDenied => match waits.next() {
                    Some(wait) => {
                        tracing::debug!(role_arn = %input.role_arn, ?wait, "AssumeRole denied; retrying");
                        tokio::time::sleep(*wait).await;
                    }
                    None => return Err(err.into()),
                },
                other => return other.map_err(Into::into),
            }
        }
    }
}
