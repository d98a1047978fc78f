//! Items ↔ records, listing and counting, and the table's layout.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::Client;

use super::{DUE_INDEX, PENDING, SERVICE, STATE_INDEX};
pub(super) use crate::aws::dynamo_table::{Attrs, n, s};
use crate::aws::dynamo_table::{Index, Layout, by_state, count, decode_cursor, encode_cursor, number, text};
use crate::aws::ledger::{CleanupReport, ListQuery, SessionRecord, SessionState};
use crate::aws::{UpstreamError, UpstreamErrorKind, sdk_call};

fn malformed(what: &str) -> UpstreamError {
    UpstreamError::new(SERVICE, "GetItem", UpstreamErrorKind::Other, format!("ledger item lacks a valid {what}"))
}

/// The cleanup report is stored as JSON text: it is read and written whole.
pub(super) fn report_value(report: &CleanupReport) -> aws_sdk_dynamodb::types::AttributeValue {
    s(&serde_json::to_string(report).unwrap_or_default())
}

pub(super) fn from_item(item: &Attrs) -> Result<SessionRecord, UpstreamError> {
    let required = |key: &str| text(item, key).ok_or_else(|| malformed(key));
    let state = text(item, "state").and_then(|s| SessionState::parse(&s)).ok_or_else(|| malformed("state"))?;
    let revoked: BTreeMap<String, u64> = item
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("revoked:")?.to_owned(), v.as_n().ok()?.parse().ok()?)))
        .collect();
    let mut cleanup: Option<CleanupReport> = text(item, "cleanup").and_then(|t| serde_json::from_str(&t).ok());
    if let Some(attempts) = number(item, "attempts").and_then(|a| u32::try_from(a).ok()) {
        cleanup.get_or_insert_with(CleanupReport::default).attempts = attempts;
    }
    let claim = match (text(item, "claim_owner"), number(item, "claim_expires_at")) {
        (Some(owner), Some(until)) => Some((owner, until)),
        _ => None,
    };
    Ok(SessionRecord {
        session_id: required("session_id")?,
        sandbox_key: required("sandbox_key")?,
        role_session_name: required("role_session_name")?,
        profiles: item
            .get("profiles")
            .and_then(|v| v.as_ss().ok())
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default(),
        caller: text(item, "caller"),
        created_at: number(item, "created_at").ok_or_else(|| malformed("created_at"))?,
        lease_expires_at: number(item, "lease_expires_at").unwrap_or_default(),
        ended_at: number(item, "ended_at"),
        state,
        revoked,
        cleanup,
        due_at: number(item, "due_at").filter(|_| text(item, "queue").as_deref() == Some(PENDING)),
        claim,
        account_id: text(item, "account_id"),
        spend: text(item, "spend").and_then(|t| serde_json::from_str(&t).ok()),
        meter: text(item, "meter_owner").zip(number(item, "meter_until")),
        budget_usd: item.get("budget_usd").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()),
    })
}

/// A page of `GET /sessions`: by state through `state-index`, otherwise a
/// scan (listing every session is what was asked for).
pub(super) async fn list(
    client: &Client,
    table: &str,
    query: &ListQuery,
) -> Result<(Vec<SessionRecord>, Option<String>), UpstreamError> {
    let start = match &query.cursor {
        Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
            UpstreamError::new(SERVICE, "Query", UpstreamErrorKind::Other, "the cursor is not valid")
        })?),
        None => None,
    };
    let limit = i32::try_from(query.limit).unwrap_or(100);
    let filter = query.profile.as_ref().map(|p| ("contains(profiles, :profile)", s(p)));
    let (items, last) = match query.state {
        Some(state) => {
            let mut request =
                by_state(client, table, STATE_INDEX, state.as_str()).limit(limit).set_exclusive_start_key(start);
            if let Some((expr, value)) = filter {
                request = request.filter_expression(expr).expression_attribute_values(":profile", value);
            }
            let out = sdk_call(SERVICE, "Query", request.send()).await?;
            (out.items.unwrap_or_default(), out.last_evaluated_key)
        }
        None => {
            let mut request = client.scan().table_name(table).limit(limit).set_exclusive_start_key(start);
            if let Some((expr, value)) = filter {
                request = request.filter_expression(expr).expression_attribute_values(":profile", value);
            }
            let out = sdk_call(SERVICE, "Scan", request.send()).await?;
            (out.items.unwrap_or_default(), out.last_evaluated_key)
        }
    };
    let records = items.iter().map(from_item).collect::<Result<Vec<_>, _>>()?;
    Ok((records, last.as_ref().filter(|k| !k.is_empty()).map(encode_cursor)))
}

/// Sessions due by `now` (counted through the sparse index) and the oldest
/// due time among them.
pub(super) async fn backlog(client: &Client, table: &str, now: u64) -> Result<(usize, Option<u64>), UpstreamError> {
    let due = client
        .query()
        .table_name(table)
        .index_name(DUE_INDEX)
        .key_condition_expression("queue = :pending AND due_at <= :now")
        .expression_attribute_values(":pending", s(PENDING))
        .expression_attribute_values(":now", n(now));
    let count = count(SERVICE, due).await?;
    let oldest = client
        .query()
        .table_name(table)
        .index_name(DUE_INDEX)
        .key_condition_expression("queue = :pending")
        .expression_attribute_values(":pending", s(PENDING))
        .limit(1);
    let out = sdk_call(SERVICE, "Query", oldest.send()).await?;
    let oldest = out.items().first().and_then(|i| number(i, "due_at")).filter(|due| *due <= now);
    Ok((count, oldest))
}

/// The ledger's layout: sessions by id; `due-index` holding only sessions
/// not cleaned yet (`queue` is removed once they are); `state-index`.
pub const LAYOUT: Layout = Layout {
    service: SERVICE,
    key: "session_id",
    indexes: &[
        Index { name: DUE_INDEX, hash: "queue", range: "due_at", numeric: true },
        Index { name: STATE_INDEX, hash: "state", range: "created_at", numeric: true },
    ],
};
