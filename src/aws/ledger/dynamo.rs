//! The ledger in DynamoDB. Layout: partition key `session_id`; a sparse
//! index `due-index` (`queue` = "pending", `due_at`) holding only sessions
//! not cleaned yet, so the worker finds due sessions without a scan; an
//! index `state-index` (`state`, `created_at`) for listing by state.
//! Revocations are top-level `revoked:<profile>` attributes, so two
//! replicas revoking different profiles never overwrite each other.

mod claims;
mod item;
mod updates;

pub use item::LAYOUT;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use self::item::{Attrs, from_item, n, s};
use super::{
    CleanupReport, EndRecord, IssueRecord, Ledger, ListQuery, RecordError, SessionRecord, SessionState, TableInfo,
};
use crate::aws::{UpstreamError, dynamo_table, sdk_call};

/// The label of the ledger's calls in errors and metrics (DynamoDB calls
/// the cleanup engine makes on learners' tables are labelled `dynamodb`).
pub const SERVICE: &str = "ledger";
/// The sparse index of sessions not cleaned yet.
pub const DUE_INDEX: &str = "due-index";
/// The index listing sessions by state.
pub const STATE_INDEX: &str = "state-index";
const PENDING: &str = "pending";

/// The ledger table through the AWS SDK.
pub struct DynamoLedger {
    client: Client,
    table: String,
}

impl DynamoLedger {
    /// The ledger in `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// An UpdateItem with a condition on the ledger (see
    /// [`dynamo_table::conditional_update`]).
    async fn conditional_update(
        &self,
        request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<Result<Attrs, Option<Attrs>>, UpstreamError> {
        dynamo_table::conditional_update(SERVICE, &self.table, request).await
    }
}

fn state_of(item: &Attrs) -> Option<SessionState> {
    item.get("state").and_then(|v| v.as_s().ok()).and_then(|s| SessionState::parse(s))
}

#[async_trait]
impl Ledger for DynamoLedger {
    async fn record_issue(&self, issue: &IssueRecord) -> Result<(), RecordError> {
        let base = |with_lease: bool| {
            let mut set = vec![
                "sandbox_key = :key",
                "role_session_name = :rsn",
                "created_at = if_not_exists(created_at, :now)",
                "#st = :active",
            ];
            if issue.caller.is_some() {
                set.push("caller = if_not_exists(caller, :caller)");
            }
            if issue.account_id.is_some() {
                set.push("account_id = :account");
            }
            if issue.budget_usd.is_some() {
                set.push("budget_usd = :budget");
            }
            if with_lease {
                set.extend(["lease_expires_at = :lease", "due_at = :due", "queue = :pending"]);
            }
            let mut request = self
                .client
                .update_item()
                .key("session_id", s(&issue.session_id))
                .update_expression(format!("SET {} ADD profiles :profile", set.join(", ")))
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":key", s(&issue.sandbox_key))
                .expression_attribute_values(":rsn", s(&issue.role_session_name))
                .expression_attribute_values(":now", n(issue.now))
                .expression_attribute_values(":active", s(SessionState::Active.as_str()))
                .expression_attribute_values(":profile", AttributeValue::Ss(vec![issue.profile.clone()]));
            if let Some(caller) = &issue.caller {
                request = request.expression_attribute_values(":caller", s(caller));
            }
            if let Some(budget) = issue.budget_usd {
                request = request.expression_attribute_values(":budget", AttributeValue::N(budget.to_string()));
            }
            // A session holds one pool account until it ends.
            let bound = match &issue.account_id {
                Some(account) => {
                    request = request.expression_attribute_values(":account", s(account));
                    " AND (attribute_not_exists(account_id) OR account_id = :account)"
                }
                None => "",
            };
            if with_lease {
                request = request
                    .expression_attribute_values(":lease", n(issue.lease_expires_at))
                    .expression_attribute_values(":due", n(issue.due_at))
                    .expression_attribute_values(":pending", s(PENDING))
                    .condition_expression(format!(
                        "attribute_not_exists(session_id) OR (#st = :active AND lease_expires_at <= :lease{bound})"
                    ));
            } else {
                request = request.condition_expression(format!("#st = :active{bound}"));
            }
            request
        };
        // Most issues extend the lease; one whose credentials expire before
        // the lease already recorded adds its profile only.
        let old = match self.conditional_update(base(true)).await? {
            Ok(_) => return Ok(()),
            Err(old) => old,
        };
        let ended = old.as_ref().and_then(state_of).filter(|s| *s != SessionState::Active);
        if let Some(state) = ended {
            return Err(RecordError::Ended(issue.session_id.clone(), state));
        }
        let held = old.as_ref().and_then(|o| crate::aws::dynamo_table::text(o, "account_id"));
        if let (Some(held), Some(wanted)) = (held, &issue.account_id)
            && held != *wanted
        {
            return Err(RecordError::Bound(issue.session_id.clone(), held));
        }
        match self.conditional_update(base(false)).await? {
            Ok(_) => Ok(()),
            Err(old) => {
                let state = old.as_ref().and_then(state_of).unwrap_or(SessionState::Ended);
                Err(RecordError::Ended(issue.session_id.clone(), state))
            }
        }
    }

    async fn end(&self, end: &EndRecord) -> Result<Option<SessionRecord>, UpstreamError> {
        let mut sets = vec!["#st = :ended".to_owned(), "ended_at = if_not_exists(ended_at, :now)".to_owned()];
        sets.extend(["due_at = :now".to_owned(), "queue = :pending".to_owned()]);
        let mut names = HashMap::from([("#st".to_owned(), "state".to_owned())]);
        for (i, profile) in end.revoked.iter().enumerate() {
            // The first revocation's time: a retried DELETE changes nothing.
            sets.push(format!("#r{i} = if_not_exists(#r{i}, :now)"));
            names.insert(format!("#r{i}"), format!("revoked:{profile}"));
        }
        let condition = if end.again {
            "attribute_exists(session_id) AND #st <> :cleaning"
        } else {
            "#st IN (:active, :frozen, :ended)"
        };
        let request = self
            .client
            .update_item()
            .key("session_id", s(&end.session_id))
            .update_expression(format!("SET {}", sets.join(", ")))
            .set_expression_attribute_names(Some(names.clone()))
            .expression_attribute_values(":ended", s(SessionState::Ended.as_str()))
            .expression_attribute_values(":now", n(end.now))
            .expression_attribute_values(":pending", s(PENDING))
            .condition_expression(condition);
        // DynamoDB refuses values the expressions do not use.
        let request = if end.again {
            request.expression_attribute_values(":cleaning", s(SessionState::Cleaning.as_str()))
        } else {
            request
                .expression_attribute_values(":active", s(SessionState::Active.as_str()))
                .expression_attribute_values(":frozen", s(SessionState::Frozen.as_str()))
        };
        let old = match self.conditional_update(request).await? {
            Ok(new) => return from_item(&new).map(Some),
            Err(None) => return Ok(None),
            Err(Some(old)) => old,
        };
        // Cleaning or already cleaned: the revocations are recorded, the
        // state is left to the cleanup that owns it.
        if end.revoked.is_empty() {
            return from_item(&old).map(Some);
        }
        names.remove("#st");
        let sets: Vec<String> = (0..end.revoked.len()).map(|i| format!("#r{i} = if_not_exists(#r{i}, :now)")).collect();
        let request = self
            .client
            .update_item()
            .key("session_id", s(&end.session_id))
            .update_expression(format!("SET {}", sets.join(", ")))
            .set_expression_attribute_names(Some(names))
            .expression_attribute_values(":now", n(end.now))
            .condition_expression("attribute_exists(session_id)");
        match self.conditional_update(request).await? {
            Ok(new) => from_item(&new).map(Some),
            Err(_) => Ok(None),
        }
    }

    async fn unbind(&self, session_id: &str, account_id: &str, since: u64) -> Result<bool, UpstreamError> {
        self.unbind_account(session_id, account_id, since).await
    }

    async fn set_frozen(
        &self,
        session_id: &str,
        frozen: bool,
        now: u64,
    ) -> Result<Option<SessionRecord>, UpstreamError> {
        self.freeze_or_thaw(session_id, frozen, now).await
    }

    async fn extend_lease(
        &self,
        session_id: &str,
        from: u64,
        to: u64,
        due: u64,
    ) -> Result<Option<SessionRecord>, UpstreamError> {
        self.move_lease(session_id, from, to, due).await
    }

    async fn claim_meter(&self, session_id: &str, owner: &str, now: u64, until: u64) -> Result<bool, UpstreamError> {
        self.claim_for_meter(session_id, owner, now, until).await
    }

    async fn record_spend(
        &self,
        session_id: &str,
        spend: &super::spend::Spend,
        owner: &str,
        until: u64,
    ) -> Result<bool, UpstreamError> {
        self.store_spend(session_id, spend, owner, until).await
    }

    async fn get(&self, session_id: &str) -> Result<Option<SessionRecord>, UpstreamError> {
        let request =
            self.client.get_item().table_name(&self.table).key("session_id", s(session_id)).consistent_read(true);
        let out = sdk_call(SERVICE, "GetItem", request.send()).await?;
        out.item.as_ref().map(from_item).transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<(Vec<SessionRecord>, Option<String>), UpstreamError> {
        item::list(&self.client, &self.table, query).await
    }

    async fn due(&self, now: u64, limit: u32) -> Result<Vec<SessionRecord>, UpstreamError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
            .key_condition_expression("queue = :pending AND due_at <= :now")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":now", n(now))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        let out = sdk_call(SERVICE, "Query", request.send()).await?;
        out.items().iter().map(from_item).collect()
    }

    async fn backlog(&self, now: u64) -> Result<(usize, Option<u64>), UpstreamError> {
        item::backlog(&self.client, &self.table, now).await
    }

    async fn claim(
        &self,
        session_id: &str,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<Option<SessionRecord>, UpstreamError> {
        self.claim_item(session_id, owner, now, until).await
    }

    async fn renew(&self, session_id: &str, owner: &str, until: u64) -> Result<bool, UpstreamError> {
        self.renew_claim(session_id, owner, until).await
    }

    async fn finish(
        &self,
        session_id: &str,
        owner: &str,
        state: SessionState,
        report: &CleanupReport,
    ) -> Result<bool, UpstreamError> {
        self.store_outcome(session_id, owner, state, None, report).await
    }

    async fn release(
        &self,
        session_id: &str,
        owner: &str,
        due_at: u64,
        report: &CleanupReport,
    ) -> Result<bool, UpstreamError> {
        self.store_outcome(session_id, owner, SessionState::Ended, Some(due_at), report).await
    }

    async fn describe(&self) -> Result<Option<TableInfo>, UpstreamError> {
        item::LAYOUT.describe(&self.client, &self.table).await
    }

    async fn create(&self) -> Result<(), UpstreamError> {
        item::LAYOUT.create(&self.client, &self.table).await
    }

    async fn delete(&self) -> Result<(), UpstreamError> {
        item::LAYOUT.delete(&self.client, &self.table).await
    }
}
