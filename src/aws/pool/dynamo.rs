//! The pool in DynamoDB. Layout: partition key `account_id`; an index
//! `state-index` (`state`, `since`), where `since` is when the account
//! entered its state or, for an available one, from when it may be leased:
//! leasing queries `state = available AND since <= now` and never scans.

mod claims;
mod reserve;

use std::hash::{Hash, Hasher};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;

use super::{AccountPool, AccountRecord, AccountState, ResetEnd, Transition, Written};
use crate::aws::dynamo_table::{
    Attrs, Index, Layout, by_state, conditional_update, count, decode_cursor, encode_cursor, n, number, s, text,
};
use crate::aws::ledger::TableInfo;
use crate::aws::{UpstreamError, UpstreamErrorKind, observed, sdk_call};

/// The label of the pool table's calls in errors and metrics.
pub const SERVICE: &str = "pool";
/// The index of accounts by state.
pub const STATE_INDEX: &str = "state-index";
/// The table's layout.
pub const LAYOUT: Layout = Layout {
    service: SERVICE,
    key: "account_id",
    indexes: &[Index { name: STATE_INDEX, hash: "state", range: "since", numeric: true }],
};
/// Candidates read per lease attempt, and attempts before giving up on a
/// pool whose free accounts other leases keep taking first.
const CANDIDATES: i32 = 16;
const ROUNDS: usize = 8;

/// The pool table through the AWS SDK.
pub struct DynamoPool {
    client: Client,
    table: String,
}

impl DynamoPool {
    /// The pool in `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn conditional_update(
        &self,
        request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<Result<Attrs, Option<Attrs>>, UpstreamError> {
        conditional_update(SERVICE, &self.table, request).await
    }

    async fn since(&self, state: AccountState, by: u64, limit: i32) -> Result<Vec<String>, UpstreamError> {
        let request = by_state(&self.client, &self.table, STATE_INDEX, state.as_str())
            .key_condition_expression("#st = :state AND since <= :now")
            .expression_attribute_values(":now", n(by))
            .limit(limit);
        let out = sdk_call(SERVICE, "Query", request.send()).await?;
        Ok(out.items().iter().filter_map(|i| text(i, "account_id")).collect())
    }
}

fn malformed(what: &str) -> UpstreamError {
    UpstreamError::new(SERVICE, "GetItem", UpstreamErrorKind::Other, format!("pool item lacks a valid {what}"))
}

pub(super) fn from_item(item: &Attrs) -> Result<AccountRecord, UpstreamError> {
    let state = text(item, "state").and_then(|s| AccountState::parse(&s)).ok_or_else(|| malformed("state"))?;
    Ok(AccountRecord {
        account_id: text(item, "account_id").ok_or_else(|| malformed("account_id"))?,
        state,
        session_id: text(item, "session_id"),
        leased_at: number(item, "leased_at"),
        reset: text(item, "reset").and_then(|t| serde_json::from_str(&t).ok()),
        resets: number(item, "resets").and_then(|r| u32::try_from(r).ok()).unwrap_or_default(),
        quarantine_reason: text(item, "quarantine_reason"),
        registered_at: number(item, "registered_at").ok_or_else(|| malformed("registered_at"))?,
        available_at: number(item, "since")
            .filter(|_| matches!(state, AccountState::Available | AccountState::Cooling)),
        claim: text(item, "claim_owner").zip(number(item, "claim_expires_at")),
    })
}

/// Where a session's lease starts among the candidates: spread by the
/// session id, so concurrent leases mostly try different accounts first.
fn start_of(session_id: &str, len: usize) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    session_id.hash(&mut hasher);
    usize::try_from(hasher.finish() % u64::try_from(len.max(1)).unwrap_or(1)).unwrap_or_default()
}

#[async_trait]
impl AccountPool for DynamoPool {
    async fn register(&self, account_id: &str, now: u64) -> Result<bool, UpstreamError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("account_id", s(account_id))
            .item("state", s(AccountState::Provisioning.as_str()))
            .item("since", n(now))
            .item("registered_at", n(now))
            .item("resets", n(0))
            // A deregistered account may be registered again.
            .condition_expression("attribute_not_exists(account_id) OR #st = :removed")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":removed", s(AccountState::Removed.as_str()));
        observed(SERVICE, "PutItem", async {
            match request.send().await {
                Ok(_) => Ok(true),
                Err(err) => match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                    _ => Err(UpstreamError::from_sdk(SERVICE, "PutItem", err)),
                },
            }
        })
        .await
    }

    async fn get(&self, account_id: &str) -> Result<Option<AccountRecord>, UpstreamError> {
        let request =
            self.client.get_item().table_name(&self.table).key("account_id", s(account_id)).consistent_read(true);
        let out = sdk_call(SERVICE, "GetItem", request.send()).await?;
        out.item.as_ref().map(from_item).transpose()
    }

    async fn list(
        &self,
        state: Option<AccountState>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<AccountRecord>, Option<String>), UpstreamError> {
        let start = match cursor {
            Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                UpstreamError::new(SERVICE, "Query", UpstreamErrorKind::Other, "the cursor is not valid")
            })?),
            None => None,
        };
        let limit = i32::try_from(limit).unwrap_or(100);
        let (items, last) = match state {
            Some(state) => {
                let request = by_state(&self.client, &self.table, STATE_INDEX, state.as_str())
                    .limit(limit)
                    .set_exclusive_start_key(start);
                let out = sdk_call(SERVICE, "Query", request.send()).await?;
                (out.items.unwrap_or_default(), out.last_evaluated_key)
            }
            None => {
                let request = self.client.scan().table_name(&self.table).limit(limit).set_exclusive_start_key(start);
                let out = sdk_call(SERVICE, "Scan", request.send()).await?;
                (out.items.unwrap_or_default(), out.last_evaluated_key)
            }
        };
        let records = items.iter().map(from_item).collect::<Result<Vec<_>, _>>()?;
        Ok((records, last.as_ref().filter(|k| !k.is_empty()).map(encode_cursor)))
    }

    async fn lease(&self, session_id: &str, now: u64) -> Result<Option<AccountRecord>, UpstreamError> {
        for _ in 0..ROUNDS {
            let candidates = self.since(AccountState::Available, now, CANDIDATES).await?;
            if candidates.is_empty() {
                // Only reservations left: the pool is exhausted only when
                // no account is free, reserved by a replica or not.
                return self.take_reserved(session_id, now).await;
            }
            let start = start_of(session_id, candidates.len());
            for account_id in candidates[start..].iter().chain(&candidates[..start]) {
                let request = self
                    .leasing(account_id, session_id, now)
                    .condition_expression("#st = :available AND since <= :now");
                if let Ok(item) = self.conditional_update(request).await? {
                    return from_item(&item).map(Some);
                }
            }
        }
        Err(UpstreamError::new(
            SERVICE,
            "UpdateItem",
            UpstreamErrorKind::Throttled,
            "every available account was taken by another lease first; retry",
        ))
    }

    async fn transition(&self, t: &Transition<'_>) -> Result<Written, UpstreamError> {
        let mut sets = vec!["#st = :to", "since = :now"];
        let mut removes = Vec::new();
        match t.to {
            AccountState::Quarantined => sets.push("quarantine_reason = :reason"),
            _ => removes.push("quarantine_reason"),
        }
        if matches!(t.to, AccountState::Available | AccountState::Provisioning | AccountState::Removed) {
            removes.extend(["session_id", "leased_at"]);
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let from: Vec<String> = (0..t.from.len()).map(|i| format!(":from{i}")).collect();
        let mut request = self
            .client
            .update_item()
            .key("account_id", s(t.account_id))
            .update_expression(expression)
            .condition_expression(format!(
                "attribute_exists(account_id) AND #st IN ({}){}",
                from.join(", "),
                if t.session_id.is_some() { " AND session_id = :session" } else { "" }
            ))
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":to", s(t.to.as_str()))
            .expression_attribute_values(":now", n(t.now));
        for (name, state) in from.iter().zip(t.from) {
            request = request.expression_attribute_values(name, s(state.as_str()));
        }
        if let Some(session) = t.session_id {
            request = request.expression_attribute_values(":session", s(session));
        }
        if t.to == AccountState::Quarantined {
            request =
                request.expression_attribute_values(":reason", s(t.reason.unwrap_or("quarantined by an operator")));
        }
        Ok(match self.conditional_update(request).await? {
            Ok(item) => Written::Done(from_item(&item)?),
            Err(Some(old)) if !old.is_empty() => Written::Refused(from_item(&old)?),
            Err(_) => Written::Missing,
        })
    }

    async fn claim_reset(
        &self,
        account_id: &str,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<Option<AccountRecord>, UpstreamError> {
        self.claim_item(account_id, owner, now, until).await
    }

    async fn renew_reset(&self, account_id: &str, owner: &str, until: u64) -> Result<bool, UpstreamError> {
        self.renew_item(account_id, owner, until).await
    }

    async fn finish_reset(&self, end: &ResetEnd<'_>) -> Result<bool, UpstreamError> {
        self.finish_item(end).await
    }

    async fn in_state_since(&self, state: AccountState, by: u64, limit: u32) -> Result<Vec<String>, UpstreamError> {
        self.since(state, by, i32::try_from(limit).unwrap_or(100)).await
    }

    async fn reserve(&self, owner: &str, now: u64, until: u64) -> Result<Option<String>, UpstreamError> {
        self.reserve_one(owner, now, until).await
    }

    async fn bind(
        &self,
        account_id: &str,
        owner: &str,
        until: u64,
        session_id: &str,
        now: u64,
    ) -> Result<bool, UpstreamError> {
        self.bind_reserved(account_id, owner, until, session_id, now).await
    }

    async fn count(&self, state: AccountState) -> Result<usize, UpstreamError> {
        count(SERVICE, by_state(&self.client, &self.table, STATE_INDEX, state.as_str())).await
    }

    async fn describe(&self) -> Result<Option<TableInfo>, UpstreamError> {
        LAYOUT.describe(&self.client, &self.table).await
    }

    async fn create(&self) -> Result<(), UpstreamError> {
        LAYOUT.create(&self.client, &self.table).await
    }

    async fn delete(&self) -> Result<(), UpstreamError> {
        LAYOUT.delete(&self.client, &self.table).await
    }
}
