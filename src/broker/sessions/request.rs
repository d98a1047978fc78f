//! `POST /sessions`'s body, and the request it validates into before any
//! AWS call is made.

use serde::Deserialize;

use crate::broker::Profile;
use crate::broker::context::Context;
use crate::config::{MAX_BUDGET_USD, valid_budget};
use crate::domain::{Destination, Region, SessionDuration, SessionId, SessionNarrowing};
use crate::error::{ApiError, SpendError};

/// The body of `POST /sessions`, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueSessionBody {
    /// The platform's id of the learner's session.
    pub session_id: String,
    /// The profile; the default one when absent.
    pub profile: Option<String>,
    /// Requested credential lifetime (900..=43200), then clamped.
    pub duration_seconds: Option<u32>,
    /// Console region; `aws.region` when absent.
    pub region: Option<String>,
    /// Console page to land on; the region's console home when absent.
    pub destination: Option<String>,
    /// An inline session policy narrowing this session (AssumeRole `Policy`).
    pub session_policy: Option<serde_json::Value>,
    /// Managed session policies narrowing this session (AssumeRole `PolicyArns`).
    pub policy_arns: Option<Vec<String>>,
    /// The session's spend budget in USD, at most the profile's.
    pub budget_usd: Option<f64>,
}

/// A fully validated session request; building one makes no AWS call.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    /// The validated session id.
    pub session_id: SessionId,
    /// The resolved profile.
    pub profile: Profile,
    /// The requested lifetime, if any (validated, not yet clamped).
    pub requested_seconds: Option<u32>,
    /// The console region.
    pub region: Region,
    /// The console landing page.
    pub destination: Destination,
    /// Session policies below the profile's rights, if any.
    pub narrowing: SessionNarrowing,
    /// The session's budget, when the request sets one.
    pub budget_usd: Option<f64>,
}

impl SessionRequest {
    /// Validates a request body against the configuration.
    pub fn validate(body: IssueSessionBody, ctx: &Context) -> Result<Self, ApiError> {
        let session_id = SessionId::parse(&body.session_id).map_err(|m| ApiError::invalid("invalid_session_id", m))?;
        let profile = ctx.resolve_profile(body.profile.as_deref())?;
        let requested_seconds = body
            .duration_seconds
            .map(SessionDuration::validate_requested)
            .transpose()
            .map_err(|m| ApiError::invalid("invalid_duration", m))?;
        let home = ctx.settings.aws.region.clone();
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
        let narrowing = SessionNarrowing::parse(body.session_policy, body.policy_arns, home_partition)
            .map_err(|m| ApiError::invalid("invalid_session_policy", m))?;
        let budget_usd = body.budget_usd.map(|usd| check_budget(usd, ctx, &profile.name)).transpose()?;
        Ok(Self { session_id, profile, requested_seconds, region, destination, narrowing, budget_usd })
    }
}

/// A request's budget: a budget at all, and no more than its profile's.
fn check_budget(usd: f64, ctx: &Context, profile: &str) -> Result<f64, ApiError> {
    if !valid_budget(usd) {
        let message = format!("budget_usd must be more than 0 and at most {MAX_BUDGET_USD}");
        return Err(SpendError::InvalidBudget(message).into());
    }
    match ctx.settings.profiles.get(profile).and_then(|p| p.budget_usd) {
        Some(cap) if usd > cap => {
            let message = format!("budget_usd {usd} exceeds profile {profile}'s budget of {cap}");
            Err(SpendError::InvalidBudget(message).into())
        }
        _ => Ok(usd),
    }
}
