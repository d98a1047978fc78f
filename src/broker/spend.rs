//! The spend meter (DESIGN §10): each pass inventories every active
//! session's resources and prices what runs, so an estimate is at most one
//! `spend.interval_seconds` plus a pass old, where Cost Explorer lags hours.
//!
//! A pass lists each account once, never once per session: one inventory
//! of the broker's own account (in `cleanup.regions`) serves every shared
//! session, each selected from it by its tag or name prefix exactly as its
//! cleanup would select; each pool account is listed once for the session
//! holding it (everything unprotected). The estimate lands in the session's
//! record as `spend` (`estimate`: the pricing itself).

mod budget;
mod counting;
mod estimate;
mod schedule;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use sandbox_reset::clients::Backend;
use sandbox_reset::engine::{Found, Inventory, Mode, Reads, Scan, inventory};

pub use budget::{Crossing, Standing, crossings, standing};
use counting::Counting;
pub use estimate::{Window, estimate};

use super::context::Context;
use super::engine::engine_options;
use crate::aws::ledger::spend::Spend;
use crate::aws::ledger::{ListQuery, SessionRecord, SessionState};
use crate::broker::Sessions;
use crate::clock::{rfc3339_unix, unix_seconds};
use crate::config::{OnExhausted, Settings};
use crate::domain::SessionId;
use crate::error::ApiError;

/// Active sessions read per ledger page.
const PAGE: u32 = 100;
/// Claim and estimate writes in flight at once.
const CLAIMS_IN_FLIGHT: usize = 16;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Sessions given a new estimate.
    pub metered: usize,
    /// Listing calls made (one per type and region, and the tagging API).
    pub listings: usize,
    /// Sessions at or past their budget's warning line.
    pub over_warn: usize,
    /// Sessions at or past their budget.
    pub over_budget: usize,
}

/// The meter of one replica.
pub struct Meter {
    ctx: Arc<Context>,
    /// What a spent budget freezes or ends through.
    sessions: Arc<Sessions>,
    /// Names this replica's meter claims.
    owner: String,
}

impl Meter {
    /// The meter over the shared context; `owner` is this replica's id.
    pub fn new(ctx: Arc<Context>, sessions: Arc<Sessions>, owner: impl Into<String>) -> Self {
        Self { ctx, sessions, owner: owner.into() }
    }

    /// Passes every `spend.interval_seconds` until dropped.
    pub async fn run(self: Arc<Self>) {
        let interval = Duration::from_secs(self.ctx.settings.spend.interval_seconds.max(1));
        loop {
            let started = Instant::now();
            if let Err(err) = self.pass().await {
                tracing::warn!(error = %err, "meter pass failed; retrying next interval");
            }
            tokio::time::sleep(schedule::next_pass_in(interval, started.elapsed())).await;
        }
    }

    /// One pass over every active session.
    pub async fn pass(&self) -> Result<Pass, ApiError> {
        let started = Instant::now();
        // The estimate is as of when the listing began: what it shows may
        // have changed by the time the last listing answers.
        let now = unix_seconds(self.ctx.clock.now());
        let sessions = self.claimed(self.active().await?, now).await;
        let mut pass = Pass::default();
        let mut shared = Vec::new();
        let mut priced = Vec::new();
        for record in sessions {
            match record.account_id.clone() {
                Some(account) => match self.meter_account(&record, &account, now, &mut pass).await {
                    Ok(spend) => priced.push((record, spend)),
                    Err(err) => tracing::warn!(error = %err, session_id = %record.session_id, "not metered"),
                },
                None => shared.push(record),
            }
        }
        if !shared.is_empty() {
            let home = self.ctx.identity().await?.account;
            let regions = self.ctx.settings.cleanup.regions_or(&self.ctx.settings.aws.region);
            let listed = self.inventory(self.ctx.upstreams.resources.as_ref(), &home, &regions, false).await;
            pass.listings += listed.1;
            let mut each = listed.0.found_each(shared.iter().map(|r| r.sandbox_key.as_str()));
            for record in shared {
                let found = each.remove(&record.sandbox_key).unwrap_or_default();
                let spend = self.price(&record, &found, now);
                priced.push((record, spend));
            }
        }
        // Every profile, so one whose sessions all ended reads 0, not its last.
        let mut by_profile: BTreeMap<String, f64> =
            self.ctx.settings.profiles.keys().map(|p| (p.clone(), 0.0)).collect();
        for (record, spend) in &priced {
            for profile in &record.profiles {
                *by_profile.entry(profile.clone()).or_default() += spend.estimated_usd;
            }
        }
        // Each session's write (and action) on its own: one slow write
        // does not hold up the rest of the pass.
        // Built eagerly (boxed): the pass stays Send.
        let stores: Vec<BoxFuture<'_, _>> =
            priced.iter().map(|(record, spend)| self.store(record, spend, now).boxed()).collect();
        let stored: Vec<Result<Option<Standing>, ApiError>> =
            stream::iter(stores).buffer_unordered(CLAIMS_IN_FLIGHT).collect().await;
        for standing in stored {
            match standing {
                Ok(Some(standing)) => {
                    pass.metered += 1;
                    pass.over_warn += usize::from(standing.over_warn);
                    pass.over_budget += usize::from(standing.over_budget);
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "a session's estimate was not stored"),
            }
        }
        for (profile, usd) in by_profile {
            crate::telemetry::metrics::spend_estimated(&profile, usd);
        }
        crate::telemetry::metrics::meter_pass(started.elapsed(), pass.listings);
        crate::telemetry::metrics::sessions_over_budget(pass.over_warn, pass.over_budget);
        Ok(pass)
    }

    /// Every active and frozen session (a frozen one's resources run on),
    /// page by page through the state index.
    async fn active(&self) -> Result<Vec<SessionRecord>, ApiError> {
        let mut all = Vec::new();
        for state in [SessionState::Active, SessionState::Frozen] {
            let mut query = ListQuery { state: Some(state), profile: None, limit: PAGE, cursor: None };
            loop {
                let (page, next) = self.ctx.upstreams.ledger.list(&query).await?;
                all.extend(page);
                match next {
                    Some(cursor) => query.cursor = Some(cursor),
                    None => break,
                }
            }
        }
        Ok(all)
    }

    /// The sessions this replica's claim holds for this pass: its own from
    /// the last pass, and those no live claim holds. A new claim lasts two
    /// intervals; storing an estimate renews it to three intervals past the
    /// pass's start, so a session this replica still holds for at least one
    /// more interval needs no claim write (one ledger write a session a
    /// pass, not two). Another replica takes a session over within three
    /// intervals of this one stopping.
    async fn claimed(&self, sessions: Vec<SessionRecord>, now: u64) -> Vec<SessionRecord> {
        let interval = self.ctx.settings.spend.interval_seconds;
        let until = now + 2 * interval;
        let ledger = &self.ctx.upstreams.ledger;
        let claims = sessions.into_iter().map(|record| async move {
            if record.meter.as_ref().is_some_and(|(owner, held)| *owner == self.owner && *held >= now + interval) {
                return Some(record);
            }
            match ledger.claim_meter(&record.session_id, &self.owner, now, until).await {
                Ok(true) => Some(record),
                Ok(false) => None,
                Err(err) => {
                    tracing::warn!(error = %err, session_id = %record.session_id, "meter claim failed");
                    None
                }
            }
        });
        stream::iter(claims).buffer_unordered(CLAIMS_IN_FLIGHT).filter_map(std::future::ready).collect().await
    }

    /// A pool account's session: everything unprotected in its account.
    async fn meter_account(
        &self,
        record: &SessionRecord,
        account: &str,
        now: u64,
        pass: &mut Pass,
    ) -> Result<Spend, ApiError> {
        let member = self.ctx.open_member(account).await?;
        let settings = &self.ctx.settings;
        let regions = settings.pool.regions_or(&settings.cleanup.regions_or(&settings.aws.region));
        let (listed, calls) = self.inventory(member.resources.as_ref(), account, &regions, true).await;
        pass.listings += calls;
        let partition = self.ctx.identity().await?.partition.id();
        let keep = vec![format!("arn:{partition}:iam::{account}:role/{}", settings.pool.access_role_name)];
        Ok(self.price(record, &listed.found(&Mode::Account { keep }), now))
    }

    /// One listing of every type in `regions` of `account`, and its calls.
    async fn inventory(
        &self,
        backend: &dyn Backend,
        account: &str,
        regions: &[crate::domain::Region],
        whole_account: bool,
    ) -> (Inventory, usize) {
        let counting = Counting::new(backend);
        let scan = Scan { regions: regions.iter().map(ToString::to_string).collect(), account: account.to_owned() };
        let options = engine_options(&self.ctx.settings);
        // Only the types the table prices: the others are outside the
        // estimate (DESIGN §10), and listing them would cost the pass a call
        // per type and region for nothing.
        let prices = &self.ctx.settings.spend.prices;
        let reads = Reads { whole_account, metering: true };
        let listed = inventory(&counting, &scan, reads, None, &|kind| prices.prices(kind), &options).await;
        (listed, counting.calls())
    }

    /// The estimate of what `found` holds for the session.
    fn price(&self, record: &SessionRecord, found: &Found, now: u64) -> Spend {
        session_spend(&self.ctx.settings, record, found, now, Some(TOP))
    }

    /// Acts on a spent budget, stores the estimate and raises the lines it
    /// crossed: where it stands, or `None` when nothing was stored.
    async fn store(&self, record: &SessionRecord, spend: &Spend, now: u64) -> Result<Option<Standing>, ApiError> {
        let warn_percent = self.ctx.settings.spend.warn_percent;
        let crossed = crossings(record.spend.as_ref(), spend, warn_percent);
        // Acted on before the estimate is stored: an action that fails is
        // crossed (and tried) again on the next pass, also when it failed
        // after the ledger said frozen but before the Deny was written (a
        // freeze of a frozen session writes its Denies again). Once, so an
        // operator's unfreeze of a spent session holds.
        if crossed.contains(&Crossing::Exhausted)
            && matches!(record.state, SessionState::Active | SessionState::Frozen)
            && let Err(err) = self.act(record).await
        {
            tracing::warn!(error = %err, session_id = %record.session_id, "spent budget not acted on; next pass");
            return Ok(None);
        }
        let until = now + 3 * self.ctx.settings.spend.interval_seconds;
        if !self.ctx.upstreams.ledger.record_spend(&record.session_id, spend, &self.owner, until).await? {
            return Ok(None);
        }
        for crossing in crossed {
            crate::telemetry::metrics::budget_crossed(crossing.as_str());
            tracing::warn!(target: "sandbox_broker::audit", event = crossing.as_str(), session_id = %record.session_id,
                estimated_usd = spend.estimated_usd, projected_usd = spend.projected_usd,
                budget_usd = spend.budget_usd.unwrap_or_default(), as_of = %spend.as_of);
        }
        Ok(Some(standing(spend, warn_percent)))
    }
}

impl Meter {
    /// `spend.on_exhausted`: freeze the session, or end it (its cleanup or
    /// reset follows as for any ended session).
    async fn act(&self, record: &SessionRecord) -> Result<(), ApiError> {
        let id = SessionId::parse(&record.session_id).map_err(|m| ApiError::Internal(m.to_string()))?;
        match self.ctx.settings.spend.on_exhausted {
            OnExhausted::Freeze => self.sessions.freeze_session(&id, "budget exhausted").await.map(drop),
            OnExhausted::End => self.sessions.end_session(&id, Some("spend meter: budget exhausted")).await.map(drop),
        }
    }
}

/// Resources named in a stored estimate's `top`.
const TOP: usize = 5;

/// What `found` (the session's resources) costs the session as of `now`,
/// with its budget; `top` names at most `top` resources (all: `None`).
pub fn session_spend(
    settings: &Settings,
    record: &SessionRecord,
    found: &Found,
    now: u64,
    top: Option<usize>,
) -> Spend {
    let window = Window {
        started: i64::try_from(record.created_at).unwrap_or(i64::MAX),
        now: i64::try_from(now).unwrap_or(i64::MAX),
        lease_end: i64::try_from(record.lease_expires_at).unwrap_or(i64::MAX),
    };
    let mut spend = estimate(&found.resources, &found.left, &settings.spend.prices, window, top);
    spend.as_of = rfc3339_unix(now);
    // The smallest of the request's budget and the session's profiles'.
    let of_profiles = record.profiles.iter().filter_map(|p| settings.profiles.get(p)?.budget_usd);
    spend.budget_usd = of_profiles.chain(record.budget_usd).min_by(f64::total_cmp);
    spend
}
