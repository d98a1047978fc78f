//! The account pool's table (DESIGN §8): one record per AWS account that
//! account-isolated profiles lease, one session at a time. Every write is
//! conditional on the state it leaves, so two replicas never lease one
//! account twice nor lose each other's transitions; a free account is found
//! by a query on the state index, never a scan. [`AccountPool`] is what the
//! services see, [`dynamo`] the real table.

pub mod dynamo;

use async_trait::async_trait;
use serde::Serialize;

use super::UpstreamError;
use super::ledger::{CleanupReport, TableInfo};

/// Where an account is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Registered; its profile roles are being converged.
    Provisioning,
    /// Free to lease.
    Available,
    /// One session's.
    Leased,
    /// Being wiped after a session.
    Resetting,
    /// Clean, waiting out `pool.cooldown_seconds`.
    Cooling,
    /// Kept out of the pool, with a reason, until an operator releases it.
    Quarantined,
    /// Deregistered.
    Removed,
}

impl AccountState {
    /// Every state, in life order.
    pub const ALL: [Self; 7] = [
        Self::Provisioning,
        Self::Available,
        Self::Leased,
        Self::Resetting,
        Self::Cooling,
        Self::Quarantined,
        Self::Removed,
    ];

    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Available => "available",
            Self::Leased => "leased",
            Self::Resetting => "resetting",
            Self::Cooling => "cooling",
            Self::Quarantined => "quarantined",
            Self::Removed => "removed",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// One account's record (also the JSON of `GET /admin/accounts/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountRecord {
    /// The 12-digit account id.
    pub account_id: String,
    /// Where it is in its life.
    pub state: AccountState,
    /// The session holding it, while leased.
    pub session_id: Option<String>,
    /// Unix seconds: when the session leased it.
    pub leased_at: Option<u64>,
    /// The last reset's report.
    pub reset: Option<CleanupReport>,
    /// How many resets it has had.
    pub resets: u32,
    /// Why it is quarantined.
    pub quarantine_reason: Option<String>,
    /// Unix seconds: when it was registered.
    pub registered_at: u64,
    /// Unix seconds: from when it may be leased (after a cooldown).
    pub available_at: Option<u64>,
    /// The replica resetting it and until when its claim holds.
    #[serde(skip)]
    pub claim: Option<(String, u64)>,
}

/// A move from one state to another, made only if the account is in one of
/// `from` (and, when given, held by `session_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition<'a> {
    /// The account.
    pub account_id: &'a str,
    /// The session that must hold it, if any.
    pub session_id: Option<&'a str>,
    /// The states it may be leaving.
    pub from: &'a [AccountState],
    /// The state it enters.
    pub to: AccountState,
    /// Unix seconds: now (and `available_at` when entering `available`).
    pub now: u64,
    /// Why, when entering `quarantined`.
    pub reason: Option<&'a str>,
}

/// How a reset ends: stored only while `owner` still holds the claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetEnd<'a> {
    /// The account.
    pub account_id: &'a str,
    /// The replica that claimed the reset.
    pub owner: &'a str,
    /// `available`, `cooling` or `quarantined`.
    pub to: AccountState,
    /// Unix seconds: now.
    pub now: u64,
    /// Unix seconds: from when it may be leased (entering `available` or `cooling`).
    pub available_at: u64,
    /// The reset's report.
    pub report: &'a CleanupReport,
    /// Why, when entering `quarantined`.
    pub reason: Option<&'a str>,
}

/// What a conditional write found.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Done; the record as it is now.
    Done(AccountRecord),
    /// Refused: the record as it was (another state, or another session's).
    Refused(AccountRecord),
    /// No such account.
    Missing,
}

/// The pool table.
#[async_trait]
pub trait AccountPool: Send + Sync {
    /// Registers an account as `provisioning`; `false` when it is already
    /// registered (the record is left as it is).
    async fn register(&self, account_id: &str, now: u64) -> Result<bool, UpstreamError>;
    /// One account.
    async fn get(&self, account_id: &str) -> Result<Option<AccountRecord>, UpstreamError>;
    /// Whether `account_id` is leased to `session_id`.
    async fn is_leased_to(&self, account_id: &str, session_id: &str) -> Result<bool, UpstreamError> {
        let record = self.get(account_id).await?;
        Ok(record.is_some_and(|r| r.state == AccountState::Leased && r.session_id.as_deref() == Some(session_id)))
    }
    /// A page of accounts (in one state, through the state index) and the
    /// cursor of the next page.
    async fn list(
        &self,
        state: Option<AccountState>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<AccountRecord>, Option<String>), UpstreamError>;
    /// Leases an available account to `session_id`: candidates from the
    /// state index, each taken only by a write conditional on its still
    /// being available. `None`: no account is available.
    async fn lease(&self, session_id: &str, now: u64) -> Result<Option<AccountRecord>, UpstreamError>;
    /// Moves an account between states (see [`Transition`]).
    async fn transition(&self, transition: &Transition<'_>) -> Result<Written, UpstreamError>;
    /// Claims the reset of a `resetting` account for `owner` until `until`,
    /// unless another replica's claim still runs; `None` if it could not.
    async fn claim_reset(
        &self,
        account_id: &str,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<Option<AccountRecord>, UpstreamError>;
    /// Extends `owner`'s reset claim; `false` when it was lost.
    async fn renew_reset(&self, account_id: &str, owner: &str, until: u64) -> Result<bool, UpstreamError>;
    /// Stores a reset's end (see [`ResetEnd`]); `false` when the claim was lost.
    async fn finish_reset(&self, end: &ResetEnd<'_>) -> Result<bool, UpstreamError>;
    /// Cooling accounts whose cooldown is over, and resetting ones (claimed
    /// or not), oldest first: what the worker looks at.
    async fn in_state_since(&self, state: AccountState, by: u64, limit: u32) -> Result<Vec<String>, UpstreamError>;
    /// Reserves an available account for replica `owner` until `until`
    /// (hidden from leases meanwhile); `None` when none is available.
    async fn reserve(&self, owner: &str, now: u64, until: u64) -> Result<Option<String>, UpstreamError>;
    /// Leases an account `owner` reserved (until `until`) to `session_id`;
    /// `false` when the reservation was lost (it expired and was taken).
    async fn bind(
        &self,
        account_id: &str,
        owner: &str,
        until: u64,
        session_id: &str,
        now: u64,
    ) -> Result<bool, UpstreamError>;
    /// How many accounts are in `state` (a query on the state index).
    async fn count(&self, state: AccountState) -> Result<usize, UpstreamError>;
    /// The table, or `None` when it does not exist.
    async fn describe(&self) -> Result<Option<TableInfo>, UpstreamError>;
    /// Creates the table and its index.
    async fn create(&self) -> Result<(), UpstreamError>;
    /// Deletes the table.
    async fn delete(&self) -> Result<(), UpstreamError>;
}
