//! The account pool's table in bootstrap (created, drift-checked), teardown
//! (removed, refused while it still holds accounts) and status.

use serde_json::{Value, json};

use super::ledger::{plan_table, plan_table_teardown, table_status};
use super::plan::{Item, Step};
use super::principals::{PoolAccess, Tables};
use super::{Provisioner, drift};
use crate::aws::UpstreamError;
use crate::aws::pool::AccountState;
use crate::error::ApiError;

impl Provisioner {
    /// The broker's tables' names, for its policies.
    pub(super) fn tables(&self) -> Tables<'_> {
        let settings = &self.ctx.settings;
        let accounts = PoolAccess {
            roles: &self.pool_roles,
            access_role: &settings.pool.access_role_name,
            creates: settings.pool.create_email.is_some(),
        };
        Tables { ledger: &settings.ledger.table, pool: &settings.pool.table, accounts }
    }

    fn pool_resource(&self) -> String {
        format!("dynamodb/table/{}", self.ctx.settings.pool.table)
    }

    pub(super) async fn plan_pool(&self) -> Result<Vec<Item>, UpstreamError> {
        let info = self.ctx.upstreams.pool.describe().await?;
        Ok(vec![plan_table(self.pool_resource(), info, "account pool (on demand; state-index)", Step::CreatePool)])
    }

    pub(super) async fn plan_pool_teardown(&self) -> Result<Vec<Item>, UpstreamError> {
        let info = self.ctx.upstreams.pool.describe().await?;
        Ok(vec![plan_table_teardown(self.pool_resource(), info, "account pool", Step::DeletePool)])
    }

    /// Teardown must not forget accounts that are still the broker's to
    /// lease or wipe: every one must be deregistered first.
    pub(super) async fn refuse_accounts(&self, force: bool) -> Result<(), ApiError> {
        let pool = &self.ctx.upstreams.pool;
        if force || pool.describe().await?.is_none() {
            return Ok(());
        }
        let mut held = 0;
        for state in AccountState::ALL.into_iter().filter(|s| *s != AccountState::Removed) {
            held += pool.count(state).await?;
        }
        if held > 0 {
            return Err(ApiError::AccountsRegistered(held));
        }
        Ok(())
    }

    /// The pool's part of `GET /admin/status`: the table and the accounts
    /// in each state.
    pub(super) async fn pool_status(&self) -> Result<Value, ApiError> {
        let pool = &self.ctx.upstreams.pool;
        let table = &self.ctx.settings.pool.table;
        let Some(info) = pool.describe().await? else {
            return Ok(json!({"table": table, "state": "missing"}));
        };
        let mut accounts = serde_json::Map::new();
        for state in AccountState::ALL {
            accounts.insert(state.as_str().to_owned(), json!(pool.count(state).await?));
        }
        let mut status = table_status(table, info);
        status.insert("accounts".into(), Value::Object(accounts));
        status.insert("roles".into(), self.pool_roles_sample().await?);
        Ok(Value::Object(status))
    }

    /// The account profiles' roles against the configuration, checked live
    /// (a dry-run convergence) in one available account: the next a lease
    /// would take. Every account is converged from the same configuration
    /// at registration and after each reset, so a changed profile shows
    /// here as drift of every account until its next reset; a role changed
    /// by hand in one account shows in `GET /admin/accounts/{id}`.
    async fn pool_roles_sample(&self) -> Result<Value, ApiError> {
        // Reserved accounts too (their `since` is ahead): a sample, not a lease.
        let sample = self.ctx.upstreams.pool.in_state_since(AccountState::Available, u64::MAX, 1).await?;
        let Some(account_id) = sample.into_iter().next() else {
            return Ok(json!({ "checked_in": null }));
        };
        let checked = match self.ctx.open_member(&account_id).await {
            Ok(member) => self.provision_account(&member, true).await.map_err(|e| e.source.to_string()),
            Err(err) => Err(err.to_string()),
        };
        Ok(match checked {
            Ok(changes) => json!({ "checked_in": account_id, "drift": drift(changes) }),
            Err(error) => json!({ "checked_in": account_id, "error": error }),
        })
    }
}
