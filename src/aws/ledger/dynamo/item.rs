//! Items ↔ records, paging cursors, and the table's layout.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, Select,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{DUE_INDEX, PENDING, SERVICE, STATE_INDEX};
use crate::aws::ledger::{CleanupReport, ListQuery, SessionRecord, SessionState, TableInfo};
use crate::aws::{UpstreamError, UpstreamErrorKind, absent_as_none, sdk_call};

/// One item's attributes.
pub(super) type Attrs = HashMap<String, AttributeValue>;

pub(super) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub(super) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn malformed(what: &str) -> UpstreamError {
    UpstreamError::new(SERVICE, "GetItem", UpstreamErrorKind::Other, format!("ledger item lacks a valid {what}"))
}

fn text(item: &Attrs, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &Attrs, key: &str) -> Option<u64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

/// The cleanup report is stored as JSON text: it is read and written whole.
pub(super) fn report_value(report: &CleanupReport) -> AttributeValue {
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
    })
}

/// Paging keys as an opaque cursor: base64url of the key's JSON.
fn encode_cursor(key: &Attrs) -> String {
    let plain: BTreeMap<&String, (&str, String)> = key
        .iter()
        .filter_map(|(k, v)| match v {
            AttributeValue::S(s) => Some((k, ("S", s.clone()))),
            AttributeValue::N(n) => Some((k, ("N", n.clone()))),
            _ => None,
        })
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).unwrap_or_default())
}

/// `None` for a cursor that is not one of ours (the route answers 400).
fn decode_cursor(cursor: &str) -> Option<Attrs> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let plain: BTreeMap<String, (String, String)> = serde_json::from_slice(&bytes).ok()?;
    plain
        .into_iter()
        .map(|(k, (kind, v))| match kind.as_str() {
            "S" => Some((k, AttributeValue::S(v))),
            "N" if v.parse::<u64>().is_ok() => Some((k, AttributeValue::N(v))),
            _ => None,
        })
        .collect()
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
            let mut request = client
                .query()
                .table_name(table)
                .index_name(STATE_INDEX)
                .key_condition_expression("#st = :state")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":state", s(state.as_str()))
                .limit(limit)
                .set_exclusive_start_key(start);
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
    let mut count = 0usize;
    let mut start = None;
    loop {
        let request = client
            .query()
            .table_name(table)
            .index_name(DUE_INDEX)
            .key_condition_expression("queue = :pending AND due_at <= :now")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":now", n(now))
            .select(Select::Count)
            .set_exclusive_start_key(start);
        let out = sdk_call(SERVICE, "Query", request.send()).await?;
        count += usize::try_from(out.count).unwrap_or_default();
        start = out.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            break;
        }
    }
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

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, UpstreamError> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(build_error)
}

fn attribute(name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition, UpstreamError> {
    AttributeDefinition::builder().attribute_name(name).attribute_type(kind).build().map_err(build_error)
}

fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> UpstreamError {
    UpstreamError::new(SERVICE, "CreateTable", UpstreamErrorKind::Other, err.to_string())
}

fn index(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, UpstreamError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(build_error)
}

/// On-demand billing: the ledger's traffic follows learners, not a plan.
pub(super) async fn create(client: &Client, table: &str) -> Result<(), UpstreamError> {
    let request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("session_id", KeyType::Hash)?)
        .attribute_definitions(attribute("session_id", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("queue", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("due_at", ScalarAttributeType::N)?)
        .attribute_definitions(attribute("state", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("created_at", ScalarAttributeType::N)?)
        .global_secondary_indexes(index(DUE_INDEX, "queue", "due_at")?)
        .global_secondary_indexes(index(STATE_INDEX, "state", "created_at")?);
    sdk_call(SERVICE, "CreateTable", request.send()).await.map(drop)
}

/// The table's status and what differs from the layout [`create`] makes.
pub(super) async fn describe(client: &Client, table: &str) -> Result<Option<TableInfo>, UpstreamError> {
    let request = client.describe_table().table_name(table);
    let Some(out) = absent_as_none(sdk_call(SERVICE, "DescribeTable", request.send()).await)? else {
        return Ok(None);
    };
    let Some(desc) = out.table else {
        return Ok(None);
    };
    let mut drift = Vec::new();
    let keys: Vec<(&str, &KeyType)> = desc.key_schema().iter().map(|k| (k.attribute_name(), k.key_type())).collect();
    if keys != [("session_id", &KeyType::Hash)] {
        drift.push("partition key is not session_id".to_owned());
    }
    for (name, hash, range) in [(DUE_INDEX, "queue", "due_at"), (STATE_INDEX, "state", "created_at")] {
        let found = desc.global_secondary_indexes().iter().find(|i| i.index_name() == Some(name));
        let schema: Option<Vec<&str>> = found.map(|i| i.key_schema().iter().map(|k| k.attribute_name()).collect());
        if schema.as_deref() != Some(&[hash, range][..]) {
            drift.push(format!("index {name} ({hash}, {range}) is missing or different"));
        }
    }
    let status = desc.table_status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "UNKNOWN".into());
    Ok(Some(TableInfo { status, drift }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let key: Attrs = [("session_id".to_owned(), s("learner-1")), ("created_at".to_owned(), n(42))].into();
        assert_eq!(decode_cursor(&encode_cursor(&key)), Some(key));
        assert_eq!(decode_cursor("not-a-cursor"), None);
        let forged = URL_SAFE_NO_PAD.encode(br#"{"created_at":["N","1; DROP"]}"#);
        assert_eq!(decode_cursor(&forged), None);
    }
}
