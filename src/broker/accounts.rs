//! The account pool (DESIGN §8): registering and provisioning member
//! accounts (`register`), ending a lease and wiping the account between
//! learners (`reset`), and the operator's controls (here). The pool table is
//! the only coordination between replicas: every move is a conditional
//! write on the state the account leaves.

mod cli;
mod lease_end;
mod register;
mod reset;

pub use cli::PoolCommand;
pub use lease_end::{REVOKE_ALL_POLICY, deny_issued_before, end_account_lease};
pub use register::RegisterBody;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::context::Context;
use super::provision::{Provisioner, drift};
use crate::aws::ledger::EndRecord;
use crate::aws::members::MemberClients;
use crate::aws::pool::{AccountRecord, AccountState, Transition, Written};
use crate::clock::{rfc3339_unix as rfc3339, unix_seconds};
use crate::error::{ApiError, PoolError};

/// The pool service of one replica.
pub struct Accounts {
    ctx: Arc<Context>,
    provisioner: Provisioner,
    /// Names this replica's reset claims.
    owner: String,
    /// Where the sweep for stray leases goes on next pass.
    stray_cursor: tokio::sync::Mutex<Option<String>>,
}

/// A 12-digit account id, or `invalid_account_id`.
pub fn parse_account_id(raw: &str) -> Result<String, PoolError> {
    if raw.len() == 12 && raw.bytes().all(|b| b.is_ascii_digit()) {
        Ok(raw.to_owned())
    } else {
        Err(PoolError::InvalidAccountId(raw.chars().take(64).collect()))
    }
}

/// The JSON of `GET /admin/accounts/{id}` (times as RFC 3339).
pub fn view(record: &AccountRecord) -> Value {
    json!({
        "account_id": record.account_id,
        "state": record.state,
        "session_id": record.session_id,
        "leased_at": record.leased_at.map(rfc3339),
        "reset": record.reset.as_ref().map(crate::aws::ledger::CleanupReport::view),
        "resets": record.resets,
        "quarantine_reason": record.quarantine_reason,
        "registered_at": rfc3339(record.registered_at),
        "available_at": record.available_at.map(rfc3339),
    })
}

impl Accounts {
    /// The pool service over the shared context; `owner` is this replica's id.
    pub fn new(ctx: Arc<Context>, owner: impl Into<String>) -> Self {
        Self { provisioner: Provisioner::new(ctx.clone()), ctx, owner: owner.into(), stray_cursor: Default::default() }
    }

    fn now(&self) -> u64 {
        unix_seconds(self.ctx.clock.now())
    }

    /// Clients in the account through the pool's access role.
    async fn member(&self, account_id: &str) -> Result<MemberClients, ApiError> {
        self.ctx.open_member(account_id).await
    }

    /// One registered account, or `account_not_found`.
    pub async fn get(&self, raw_id: &str) -> Result<AccountRecord, ApiError> {
        let id = parse_account_id(raw_id)?;
        match self.ctx.upstreams.pool.get(&id).await? {
            Some(record) if record.state != AccountState::Removed => Ok(record),
            _ => Err(PoolError::NotFound(id).into()),
        }
    }

    /// `GET /admin/accounts/{id}`: the record, the lease's spend as the
    /// meter last stored it on the session's record (DESIGN §10), and its
    /// roles' drift from the configuration (a dry-run convergence through
    /// the access role).
    pub async fn show(&self, raw_id: &str) -> Result<Value, ApiError> {
        let record = self.get(raw_id).await?;
        let mut shown = view(&record);
        let lease = record.session_id.as_deref().filter(|_| record.state == AccountState::Leased);
        shown["spend"] = match lease {
            Some(session) => json!(self.ctx.upstreams.ledger.get(session).await?.and_then(|s| s.spend)),
            None => Value::Null,
        };
        shown["drift"] = match self.member(&record.account_id).await {
            Ok(member) => match self.provisioner.provision_account(&member, true).await {
                Ok(changes) => json!(drift(changes)),
                Err(err) => json!({ "error": err.source.to_string() }),
            },
            Err(err) => json!({ "error": err.to_string() }),
        };
        Ok(shown)
    }

    /// `GET /admin/accounts`: a page (in one state, through the index).
    pub async fn list(
        &self,
        state: Option<AccountState>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let (records, next) = self.ctx.upstreams.pool.list(state, limit, cursor).await?;
        let shown = records.iter().filter(|r| state.is_some() || r.state != AccountState::Removed).map(view);
        Ok((shown.collect(), next))
    }

    /// Accounts by state, also set as `sandbox_broker_pool_accounts`.
    pub async fn counts(&self) -> Result<BTreeMap<&'static str, usize>, ApiError> {
        let mut counts = BTreeMap::new();
        for state in AccountState::ALL.into_iter().filter(|s| *s != AccountState::Removed) {
            let count = self.ctx.upstreams.pool.count(state).await?;
            crate::telemetry::metrics::pool_accounts(state.as_str(), count);
            counts.insert(state.as_str(), count);
        }
        Ok(counts)
    }

    /// Moves an account, or says why not (`account_state`, `account_not_found`).
    async fn transition(&self, t: &Transition<'_>, wanted: &'static str) -> Result<AccountRecord, ApiError> {
        match self.ctx.upstreams.pool.transition(t).await? {
            Written::Done(record) => Ok(record),
            Written::Refused(record) => {
                Err(PoolError::WrongState(record.account_id, record.state.as_str(), wanted).into())
            }
            Written::Missing => Err(PoolError::NotFound(t.account_id.to_owned()).into()),
        }
    }

    /// `POST /admin/accounts/{id}/quarantine`: out of the pool with a reason.
    /// A leased account's session is ended first (its credentials revoked
    /// account-wide), so nobody keeps working in an account set aside.
    pub async fn quarantine(&self, raw_id: &str, reason: &str) -> Result<Value, ApiError> {
        let record = self.get(raw_id).await?;
        // The session ends, but its account goes straight to quarantine
        // (never through `resetting`, where a worker could start wiping
        // what the operator wants to inspect).
        if let (AccountState::Leased, Some(session)) = (record.state, &record.session_id) {
            let end = EndRecord { session_id: session.clone(), now: self.now(), revoked: Vec::new(), again: false };
            self.ctx.upstreams.ledger.end(&end).await?;
        }
        let from = [
            AccountState::Available,
            AccountState::Cooling,
            AccountState::Leased,
            AccountState::Resetting,
            AccountState::Provisioning,
            AccountState::Quarantined,
        ];
        let t = Transition {
            account_id: &record.account_id,
            session_id: None,
            from: &from,
            to: AccountState::Quarantined,
            now: self.now(),
            reason: Some(reason),
        };
        let record = self.transition(&t, "registered").await?;
        if let Some(session) = &record.session_id {
            lease_end::revoke_account(&self.ctx, &record.account_id, session, "quarantined").await?;
        }
        tracing::info!(target: "sandbox_broker::audit", event = "account_quarantined", account_id = %record.account_id, reason);
        Ok(view(&record))
    }

    /// `POST /admin/accounts/{id}/release`: quarantined → resetting; the
    /// worker (or this call's caller) resets it before it is leased again.
    pub async fn release(&self, raw_id: &str) -> Result<AccountRecord, ApiError> {
        let id = parse_account_id(raw_id)?;
        let t = Transition {
            account_id: &id,
            session_id: None,
            from: &[AccountState::Quarantined],
            to: AccountState::Resetting,
            now: self.now(),
            reason: None,
        };
        self.transition(&t, AccountState::Quarantined.as_str()).await
    }

    /// `DELETE /admin/accounts/{id}`: deregistered (state `removed`);
    /// refused while leased or being reset. Nothing in the account changes.
    pub async fn remove(&self, raw_id: &str) -> Result<Value, ApiError> {
        let record = self.get(raw_id).await?;
        let from =
            [AccountState::Available, AccountState::Cooling, AccountState::Quarantined, AccountState::Provisioning];
        let t = Transition {
            account_id: &record.account_id,
            session_id: None,
            from: &from,
            to: AccountState::Removed,
            now: self.now(),
            reason: None,
        };
        let record = self.transition(&t, "not leased nor resetting").await?;
        tracing::info!(target: "sandbox_broker::audit", event = "account_removed", account_id = %record.account_id);
        Ok(view(&record))
    }
}
