//! Durable console links. AWS sign-in tokens die 15 minutes after minting;
//! a learner often clicks much later. The launch ticket proves the broker
//! issued the session; a click mints fresh credentials for the same role
//! session name and a new sign-in token.
//!
//! A launch link is in a learner's hands, so replaying it must not starve
//! `POST /sessions` of the shared STS budget:
//! - a still-valid sign-in URL is re-served for the same ticket (one mint
//!   per ticket at a time, however many clicks arrive at once);
//! - mints per session are limited (`console.launches_per_session_per_minute`);
//! - launches may use at most `console.launch_sts_share_percent` of
//!   `aws.sts_max_rps`, the rest stays with session issuance;
//! - `HEAD` (link scanners, previews) checks the ticket and mints nothing.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use moka::Expiry;
use moka::future::Cache;
use secrecy::SecretString;

use super::Sessions;
use super::issue::MintFor;
use crate::aws::RoleInfo;
use crate::broker::Profile;
use crate::clock::unix_seconds;
use crate::config::Isolation;
use crate::config::Settings;
use crate::domain::ticket::{Ticket, TicketError};
use crate::domain::{Destination, Region, SessionId, SessionNarrowing};
use crate::error::ApiError;
use crate::telemetry::metrics;

/// A sign-in URL is re-served until this long before it expires, so the
/// browser following the redirect still gets a live token.
const REUSE_MARGIN: Duration = Duration::from_secs(60);
/// Sign-in URLs remembered at most (one per recently clicked ticket).
const MAX_CACHED_URLS: u64 = 10_000;

/// A minted sign-in URL and until when it may be re-served, by the
/// broker's (injectable) clock; the cache also drops it after `ttl`.
#[derive(Clone)]
struct ReusableUrl {
    url: SecretString,
    reuse_until: SystemTime,
    ttl: Duration,
}

struct UntilReuseEnds;

impl Expiry<String, ReusableUrl> for UntilReuseEnds {
    fn expire_after_create(&self, _: &String, value: &ReusableUrl, _: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The limits on console launches of one broker.
pub(crate) struct LaunchLimits {
    urls: Cache<String, ReusableUrl>,
    per_session: DefaultKeyedRateLimiter<String>,
    sts_share: Option<DefaultDirectRateLimiter>,
}

impl LaunchLimits {
    /// The limits configured in `[console]` and `aws.sts_max_rps`.
    pub(crate) fn new(settings: &Settings) -> Self {
        let per_minute = NonZeroU32::new(settings.console.launches_per_session_per_minute).unwrap_or(NonZeroU32::MIN);
        let share = u64::from(settings.aws.sts_max_rps) * u64::from(settings.console.launch_sts_share_percent) / 100;
        let sts_share = (settings.aws.sts_max_rps > 0).then(|| {
            let rps = NonZeroU32::new(u32::try_from(share).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
            RateLimiter::direct(Quota::per_second(rps))
        });
        Self {
            urls: Cache::builder().max_capacity(MAX_CACHED_URLS).expire_after(UntilReuseEnds).build(),
            per_session: RateLimiter::keyed(Quota::per_minute(per_minute)),
            sts_share,
        }
    }

    /// Refuses a mint beyond the session's or the launches' share of STS.
    fn admit_mint(&self, session_id: &str) -> Result<(), ApiError> {
        if self.per_session.len() > MAX_CACHED_URLS as usize {
            self.per_session.retain_recent();
        }
        if self.per_session.check_key(&session_id.to_owned()).is_err() {
            return Err(ApiError::LaunchRateLimited { retry_after_seconds: 30 });
        }
        if self.sts_share.as_ref().is_some_and(|limiter| limiter.check().is_err()) {
            return Err(ApiError::LaunchRateLimited { retry_after_seconds: 1 });
        }
        Ok(())
    }
}

/// A verified ticket with its fields parsed.
struct Launch {
    ticket: Ticket,
    profile: Profile,
    role: RoleInfo,
    id: SessionId,
    destination: Destination,
}

impl Sessions {
    /// Verifies the ticket and answers with a console login URL: a fresh
    /// one, or the still-valid one minted for the same ticket.
    ///
    /// Fresh credentials live for the ticket's remaining lifetime, so a
    /// click never extends the session — except that STS will not issue
    /// credentials for less than 900 seconds, so a click in the last 15
    /// minutes yields a console session of up to 15 minutes past the
    /// original expiry.
    pub async fn launch_console(&self, raw_ticket: &str) -> Result<SecretString, ApiError> {
        let launch = self.check_launch(raw_ticket).await?;
        let minted = AtomicBool::new(false);
        let urls = &self.launches.urls;
        let mint = || async {
            minted.store(true, Ordering::Relaxed);
            self.launches.admit_mint(&launch.ticket.session_id)?;
            self.mint_launch(&launch).await
        };
        let mut reusable = urls.try_get_with(raw_ticket.to_owned(), mint()).await;
        if reusable.as_ref().is_ok_and(|r| r.reuse_until <= self.ctx.clock.now()) {
            urls.invalidate(raw_ticket).await;
            reusable = urls.try_get_with(raw_ticket.to_owned(), mint()).await;
        }
        let reusable = reusable.map_err(|shared| (*shared).clone()).inspect_err(|e| {
            if matches!(e, ApiError::LaunchRateLimited { .. }) {
                metrics::console_launch("limited");
            }
        })?;
        metrics::console_launch(if minted.load(Ordering::Relaxed) { "minted" } else { "reused" });
        Ok(reusable.url)
    }

    /// Checks a ticket and that its session is not revoked, minting
    /// nothing (the answer to `HEAD`).
    pub async fn check_launch_link(&self, raw_ticket: &str) -> Result<(), ApiError> {
        self.check_launch(raw_ticket).await.map(|_| metrics::console_launch("checked"))
    }

    async fn check_launch(&self, raw_ticket: &str) -> Result<Launch, ApiError> {
        let now = unix_seconds(self.ctx.clock.now());
        let ticket = self.tickets.verify(raw_ticket, now).map_err(|e| match e {
            TicketError::Expired => ApiError::Unauthorized("this console link has expired"),
            TicketError::BadSignature | TicketError::Malformed => {
                ApiError::Unauthorized("this console link is not valid")
            }
        })?;
        // A ticket the broker signed holds values it validated; re-check
        // them anyway so a leaked key cannot steer AWS calls.
        let invalid = |_| ApiError::Unauthorized("this console link is not valid");
        let id = SessionId::parse(&ticket.session_id).map_err(invalid)?;
        let region = Region::parse(&ticket.region).map_err(invalid)?;
        let destination = Destination::parse(&ticket.destination, region.partition()).map_err(invalid)?;
        let profile =
            self.ctx.profile(&ticket.profile).map_err(|_| ApiError::Unauthorized("this console link is not valid"))?;
        // Refused while revoked, also when a sign-in URL could be re-served.
        let role = match profile.isolation {
            Isolation::Shared => {
                let role = self.unrevoked_role(&profile, &id).await?;
                self.not_frozen(&id).await?;
                role
            }
            Isolation::Account => self.held_role(&profile, &id).await?,
        };
        Ok(Launch { ticket, profile, role, id, destination })
    }

    async fn mint_launch(&self, launch: &Launch) -> Result<ReusableUrl, ApiError> {
        let Launch { ticket, profile, role, id, destination } = launch;
        let remaining =
            u32::try_from(ticket.exp.saturating_sub(unix_seconds(self.ctx.clock.now()))).unwrap_or(u32::MAX);
        let narrowing =
            SessionNarrowing { policy: ticket.session_policy.clone(), policy_arns: ticket.policy_arns.clone() };
        let what = MintFor { narrowing: &narrowing, destination: Some(destination), lease: None };
        let minted = self.mint(profile, role, id, remaining, what).await?;
        let (url, expires_at) = minted.console.ok_or_else(|| ApiError::Internal("no sign-in URL was minted".into()))?;
        tracing::info!(
            target: "sandbox_broker::audit",
            event = "console_launched",
            session_id = %id,
            profile = %ticket.profile,
            role_session_name = %minted.session_name,
            access_key_id = %minted.issued.credentials.access_key_id,
            duration_seconds = minted.duration.seconds(),
        );
        metrics::session_event("launched", &ticket.profile);
        let reuse_until = expires_at.checked_sub(REUSE_MARGIN).unwrap_or(expires_at);
        let ttl = reuse_until.duration_since(self.ctx.clock.now()).unwrap_or_default();
        Ok(ReusableUrl { url, reuse_until, ttl })
    }
}
