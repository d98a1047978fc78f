//! The ledger table in bootstrap (created, drift-checked), teardown
//! (removed, refused while sessions are not cleaned) and status; how any of
//! the broker's tables is planned.

use serde_json::{Map, Value, json};

use super::Provisioner;
use super::plan::{Action, Item, Step, item};
use crate::aws::UpstreamError;
use crate::aws::ledger::TableInfo;
use crate::clock::unix_seconds;
use crate::error::ApiError;

/// Creates a table when absent. A table whose key or indexes differ cannot
/// be changed in place: reported, left to an operator.
pub(super) fn plan_table(resource: String, info: Option<TableInfo>, what: &str, create: Step) -> Item {
    match info {
        None => item(resource, Action::Create, what, Some(create)),
        Some(t) if t.drift.is_empty() => item(resource, Action::Unchanged, "", None),
        Some(t) => item(resource, Action::Update, format!("{}; recreate the table by hand", t.drift.join("; ")), None),
    }
}

/// Deletes a table when present.
pub(super) fn plan_table_teardown(resource: String, info: Option<TableInfo>, what: &str, delete: Step) -> Item {
    match info {
        None => item(resource, Action::Unchanged, "absent", None),
        Some(_) => item(resource, Action::Delete, what, Some(delete)),
    }
}

impl Provisioner {
    fn table_resource(&self) -> String {
        format!("dynamodb/table/{}", self.ctx.settings.ledger.table)
    }

    pub(super) async fn plan_ledger(&self) -> Result<Vec<Item>, UpstreamError> {
        let info = self.ctx.upstreams.ledger.describe().await?;
        let what = "session ledger (on demand; due-index, state-index)";
        Ok(vec![plan_table(self.table_resource(), info, what, Step::CreateLedger)])
    }

    pub(super) async fn plan_ledger_teardown(&self) -> Result<Vec<Item>, UpstreamError> {
        let info = self.ctx.upstreams.ledger.describe().await?;
        Ok(vec![plan_table_teardown(self.table_resource(), info, "session ledger", Step::DeleteLedger)])
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
        let mut status = table_status(table, info);
        status.insert("sessions_not_cleaned".into(), json!(pending));
        status.insert("cleanup_backlog".into(), json!(due));
        status.insert("oldest_due_seconds".into(), json!(oldest.map(|at| now.saturating_sub(at))));
        Ok(Value::Object(status))
    }
}

/// A table in `GET /admin/status`: provisioned or drifted (with what
/// differs), and DynamoDB's own status.
pub(super) fn table_status(table: &str, info: TableInfo) -> Map<String, Value> {
    let state = if info.drift.is_empty() { "provisioned" } else { "drifted" };
    let status = json!({"table": table, "state": state, "status": info.status, "drift": info.drift});
    status.as_object().cloned().unwrap_or_default()
}
