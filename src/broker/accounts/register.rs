//! `POST /admin/accounts`: registering existing member accounts or
//! creating new ones, then provisioning each. Everything a request could
//! get wrong is checked before the first write (the id's shape, the home
//! and management accounts, membership, registration, the access role), so
//! a refused request registers nothing.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::{Accounts, parse_account_id, view};
use crate::aws::members::MemberClients;
use crate::aws::pool::{AccountState, Transition};
use crate::error::{ApiError, PoolError};

/// The body of `POST /admin/accounts`: one of the two fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// Existing member accounts to pool.
    pub account_ids: Option<Vec<String>>,
    /// How many accounts to create through Organizations.
    pub create: Option<i64>,
}

impl Accounts {
    /// Registers (or creates) the accounts and provisions each; the
    /// records as they end up (`available`, or `quarantined` with why
    /// provisioning failed).
    pub async fn register(&self, body: RegisterBody) -> Result<Vec<Value>, ApiError> {
        match (body.account_ids, body.create) {
            (Some(ids), None) if !ids.is_empty() => self.add(&ids).await,
            (None, Some(n)) => self.create(n).await,
            _ => Err(PoolError::InvalidRegistration.into()),
        }
    }

    /// Refuses what may never be pooled: the broker's own account (its
    /// roles, ledger and users would be wiped) and the management account.
    pub(super) async fn refuse_special(&self, ids: &[String]) -> Result<(), ApiError> {
        let home = self.ctx.identity().await?.account;
        if let Some(id) = ids.iter().find(|id| **id == home) {
            return Err(PoolError::Refused(id.clone(), "it is the broker's own account").into());
        }
        let management = self.ctx.upstreams.members.management_account().await.map_err(PoolError::organizations)?;
        for id in ids {
            if *id == management {
                return Err(PoolError::Refused(id.clone(), "it is the organization's management account").into());
            }
        }
        Ok(())
    }

    async fn add(&self, raw: &[String]) -> Result<Vec<Value>, ApiError> {
        let ids = raw.iter().map(|r| parse_account_id(r)).collect::<Result<Vec<_>, _>>()?;
        if ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
            return Err(ApiError::invalid("invalid_account_id", "an account id is listed twice"));
        }
        self.refuse_special(&ids).await?;
        for id in &ids {
            if self.ctx.upstreams.pool.get(id).await?.is_some_and(|r| r.state != AccountState::Removed) {
                return Err(PoolError::AlreadyRegistered(id.clone()).into());
            }
            if !self.ctx.upstreams.members.is_member(id).await.map_err(PoolError::organizations)? {
                return Err(PoolError::NotMember(id.clone()).into());
            }
        }
        let mut members = Vec::new();
        for id in &ids {
            members.push(self.member(id).await?);
        }
        let mut shown = Vec::new();
        for member in members {
            if !self.ctx.upstreams.pool.register(&member.account_id, self.now()).await? {
                return Err(PoolError::AlreadyRegistered(member.account_id).into());
            }
            shown.push(self.provision(&member).await?);
        }
        Ok(shown)
    }

    async fn create(&self, n: i64) -> Result<Vec<Value>, ApiError> {
        let pool = &self.ctx.settings.pool;
        let Some(email) = pool.create_email.as_deref() else {
            return Err(PoolError::InvalidCreate("pool.create_email is not configured".into()).into());
        };
        let mut registered = 0;
        for state in AccountState::ALL.into_iter().filter(|s| *s != AccountState::Removed) {
            registered += self.ctx.upstreams.pool.count(state).await?;
        }
        let room = usize::try_from(pool.max_accounts).unwrap_or(usize::MAX).saturating_sub(registered);
        let wanted = usize::try_from(n).ok().filter(|n| (1..=room).contains(n)).ok_or_else(|| {
            PoolError::InvalidCreate(format!(
                "create must be 1..={room}: the pool holds {registered} of pool.max_accounts = {}",
                pool.max_accounts
            ))
        })?;
        let removed = self.ctx.upstreams.pool.count(AccountState::Removed).await?;
        let mut shown = Vec::new();
        for i in 0..wanted {
            // Numbered past every account the pool ever held: Organizations
            // refuses an e-mail address in use.
            let number = registered + removed + i + 1;
            let address = email.replace("{n}", &number.to_string());
            let name = format!("sandbox-pool-{number}");
            let ou = pool.create_ou_id.as_deref();
            let members = &self.ctx.upstreams.members;
            let id = members.create_account(&address, &name, ou).await.map_err(PoolError::organizations)?;
            tracing::info!(target: "sandbox_broker::audit", event = "account_created", account_id = %id, name);
            let member = self.member(&id).await?;
            self.ctx.upstreams.pool.register(&id, self.now()).await?;
            shown.push(self.provision(&member).await?);
        }
        Ok(shown)
    }

    /// Converges the account's roles; only then is it `available`. A
    /// failure quarantines it with the reason (out of the pool, visible,
    /// and released by an operator once fixed).
    pub(super) async fn provision(&self, member: &MemberClients) -> Result<Value, ApiError> {
        let id = member.account_id.as_str();
        let (to, reason) = match self.provisioner.provision_account(member, false).await {
            Ok(_) => (AccountState::Available, None),
            Err(err) => (AccountState::Quarantined, Some(format!("provisioning failed: {}", err.source))),
        };
        let t = Transition {
            account_id: id,
            session_id: None,
            from: &[AccountState::Provisioning],
            to,
            now: self.now(),
            reason: reason.as_deref(),
        };
        let record = self.transition(&t, AccountState::Provisioning.as_str()).await?;
        tracing::info!(target: "sandbox_broker::audit", event = "account_registered", account_id = id,
            state = record.state.as_str(), reason = reason.as_deref().unwrap_or("-"));
        Ok(view(&record))
    }
}

impl Accounts {
    /// `pool.min_available`: when fewer accounts are available or on their
    /// way (provisioning) than that, creates one (a pass at a time, up to
    /// `pool.max_accounts`). Two replicas may each create one in the same
    /// pass; the cap still holds, checked against the table before each.
    pub(super) async fn keep_available(&self) -> Result<(), ApiError> {
        let wanted = usize::try_from(self.ctx.settings.pool.min_available).unwrap_or(usize::MAX);
        if wanted == 0 {
            return Ok(());
        }
        let pool = &self.ctx.upstreams.pool;
        let coming = pool.count(AccountState::Available).await? + pool.count(AccountState::Provisioning).await?;
        if coming >= wanted {
            return Ok(());
        }
        match self.create(1).await {
            Err(ApiError::Pool(PoolError::InvalidCreate(why))) => {
                tracing::warn!(why, "pool.min_available not met and no account may be created");
                Ok(())
            }
            other => other.map(drop),
        }
    }
}
