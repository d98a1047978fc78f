//! The ledger table in bootstrap (created, drift-checked), teardown
//! (removed, refused while sessions are not cleaned) and status.

use serde_json::{Value, json};

use super::Provisioner;
use super::plan::{Action, Item, Step, item};
use crate::aws::UpstreamError;
use crate::clock::unix_seconds;
use crate::error::ApiError;

impl Provisioner {
    fn table_resource(&self) -> String {
        format!("dynamodb/table/{}", self.ctx.settings.ledger.table)
    }

    /// Creates the table when absent. A table whose key or indexes differ
    /// cannot be changed in place: reported, left to an operator.
    pub(super) async fn plan_ledger(&self) -> Result<Vec<Item>, UpstreamError> {
        let res = self.table_resource();
        Ok(vec![match self.ctx.upstreams.ledger.describe().await? {
            None => item(
                res,
                Action::Create,
                "session ledger (on demand; due-index, state-index)",
                Some(Step::CreateLedger),
            ),
            Some(t) if t.drift.is_empty() => item(res, Action::Unchanged, "", None),
            Some(t) => item(res, Action::Update, format!("{}; recreate the table by hand", t.drift.join("; ")), None),
        }])
    }

    pub(super) async fn plan_ledger_teardown(&self) -> Result<Vec<Item>, UpstreamError> {
        let res = self.table_resource();
        Ok(vec![match self.ctx.upstreams.ledger.describe().await? {
            None => item(res, Action::Unchanged, "absent", None),
            Some(_) => item(res, Action::Delete, "session ledger", Some(Step::DeleteLedger)),
        }])
    }

    /// Teardown must not lose the records cleanup works from.
    pub(super) async fn refuse_uncleaned(&self, force: bool) -> Result<(), ApiError> {
        let ledger = &self.ctx.upstreams.ledger;
        if force || ledger.describe().await?.is_none() {
            return Ok(());
        }
        let (pending, _) = ledger.backlog(u64::MAX).await?;
        if pending > 0 {
            return Err(ApiError::SessionsNotCleaned(pending));
        }
        Ok(())
    }

    /// The ledger's part of `GET /admin/status`: the table and the backlog.
    pub(super) async fn ledger_status(&self) -> Result<Value, ApiError> {
        let ledger = &self.ctx.upstreams.ledger;
        let table = &self.ctx.settings.ledger.table;
        let Some(info) = ledger.describe().await? else {
            return Ok(json!({"table": table, "state": "missing"}));
        };
        let now = unix_seconds(self.ctx.clock.now());
        let (due, oldest) = ledger.backlog(now).await?;
        let (pending, _) = ledger.backlog(u64::MAX).await?;
        Ok(json!({
            "table": table,
            "state": if info.drift.is_empty() { "provisioned" } else { "drifted" },
            "status": info.status,
            "drift": info.drift,
            "sessions_not_cleaned": pending,
            "cleanup_backlog": due,
            "oldest_due_seconds": oldest.map(|at| now.saturating_sub(at)),
        }))
    }
}
