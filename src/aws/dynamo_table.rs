//! What the broker's two DynamoDB tables (the session ledger and the account
//! pool) share: a layout declared once (partition key and indexes), created
//! on demand and drift-checked from it; attribute helpers; opaque paging
//! cursors.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::aws::{UpstreamError, UpstreamErrorKind, absent_as_none, observed, sdk_call};

/// A table as DescribeTable reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// `ACTIVE`, `CREATING`, …
    pub status: String,
    /// What differs from the layout the broker needs (key, indexes).
    pub drift: Vec<String>,
}

/// One item's attributes.
pub type Attrs = HashMap<String, AttributeValue>;

/// A string attribute.
pub fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A number attribute.
pub fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A string attribute's value.
pub fn text(item: &Attrs, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

/// A number attribute's value.
pub fn number(item: &Attrs, key: &str) -> Option<u64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

/// A global secondary index: its name, partition key and sort key (a
/// number when `numeric`), projecting every attribute.
pub struct Index {
    /// The index's name.
    pub name: &'static str,
    /// Its partition key.
    pub hash: &'static str,
    /// Its sort key.
    pub range: &'static str,
    /// Whether the sort key is a number (else a string).
    pub numeric: bool,
}

/// A table's layout: the label its calls carry, its partition key (a
/// string) and its indexes.
pub struct Layout {
    /// The label of the table's calls in errors and metrics.
    pub service: &'static str,
    /// The partition key.
    pub key: &'static str,
    /// Its global secondary indexes.
    pub indexes: &'static [Index],
}

impl Layout {
    fn build_error(&self, err: aws_sdk_dynamodb::error::BuildError) -> UpstreamError {
        UpstreamError::new(self.service, "CreateTable", UpstreamErrorKind::Other, err.to_string())
    }

    fn key_element(&self, name: &str, kind: KeyType) -> Result<KeySchemaElement, UpstreamError> {
        KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(|e| self.build_error(e))
    }

    fn attribute(&self, name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition, UpstreamError> {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .map_err(|e| self.build_error(e))
    }

    /// Every key attribute once, with its type: the partition key (a
    /// string), each index's partition key (a string) and sort key.
    fn attributes(&self) -> Vec<(&'static str, ScalarAttributeType)> {
        let mut attributes = vec![(self.key, ScalarAttributeType::S)];
        for index in self.indexes {
            let range_kind = if index.numeric { ScalarAttributeType::N } else { ScalarAttributeType::S };
            for (name, kind) in [(index.hash, ScalarAttributeType::S), (index.range, range_kind)] {
                if !attributes.iter().any(|(defined, _)| *defined == name) {
                    attributes.push((name, kind));
                }
            }
        }
        attributes
    }

    /// Creates the table, billed on demand: its traffic follows learners,
    /// not a plan.
    pub async fn create(&self, client: &Client, table: &str) -> Result<(), UpstreamError> {
        let mut request = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(self.key_element(self.key, KeyType::Hash)?);
        for (name, kind) in self.attributes() {
            request = request.attribute_definitions(self.attribute(name, kind)?);
        }
        for index in self.indexes {
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(self.key_element(index.hash, KeyType::Hash)?)
                .key_schema(self.key_element(index.range, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(|e| self.build_error(e))?;
            request = request.global_secondary_indexes(gsi);
        }
        sdk_call(self.service, "CreateTable", request.send()).await.map(drop)
    }

    /// The table's status and what differs from the layout, or `None` when
    /// it does not exist.
    pub async fn describe(&self, client: &Client, table: &str) -> Result<Option<TableInfo>, UpstreamError> {
        let request = client.describe_table().table_name(table);
        let Some(out) = absent_as_none(sdk_call(self.service, "DescribeTable", request.send()).await)? else {
            return Ok(None);
        };
        let Some(desc) = out.table else {
            return Ok(None);
        };
        let mut drift = Vec::new();
        let keys: Vec<(&str, &KeyType)> =
            desc.key_schema().iter().map(|k| (k.attribute_name(), k.key_type())).collect();
        if keys != [(self.key, &KeyType::Hash)] {
            drift.push(format!("partition key is not {}", self.key));
        }
        for Index { name, hash, range, .. } in self.indexes {
            let found = desc.global_secondary_indexes().iter().find(|i| i.index_name() == Some(*name));
            let schema: Option<Vec<&str>> = found.map(|i| i.key_schema().iter().map(|k| k.attribute_name()).collect());
            if schema.as_deref() != Some(&[*hash, *range][..]) {
                drift.push(format!("index {name} ({hash}, {range}) is missing or different"));
            }
        }
        let status = desc.table_status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "UNKNOWN".into());
        Ok(Some(TableInfo { status, drift }))
    }

    /// The table as a CloudFormation resource, exactly as [`Layout::create`]
    /// makes it; retained on stack deletion (it holds records the broker
    /// works from).
    pub fn cloudformation(&self, table: &str) -> serde_json::Value {
        let attributes: Vec<serde_json::Value> = self
            .attributes()
            .into_iter()
            .map(|(name, kind)| serde_json::json!({"AttributeName": name, "AttributeType": kind.as_str()}))
            .collect();
        let indexes: Vec<serde_json::Value> = self
            .indexes
            .iter()
            .map(|index| {
                serde_json::json!({"IndexName": index.name, "Projection": {"ProjectionType": "ALL"},
                    "KeySchema": [{"AttributeName": index.hash, "KeyType": "HASH"},
                                  {"AttributeName": index.range, "KeyType": "RANGE"}]})
            })
            .collect();
        serde_json::json!({"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {
            "TableName": table,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": self.key, "KeyType": "HASH"}],
            "AttributeDefinitions": attributes,
            "GlobalSecondaryIndexes": indexes,
        }})
    }

    /// Deletes the table (absent already is fine).
    pub async fn delete(&self, client: &Client, table: &str) -> Result<(), UpstreamError> {
        let request = client.delete_table().table_name(table);
        absent_as_none(sdk_call(self.service, "DeleteTable", request.send()).await).map(drop)
    }
}

/// An UpdateItem with a condition on `table`: the new item (unless the
/// request asked for other return values), or the old one when the
/// condition failed (`Err(Some(old))`; `Err(None)` when there was no item),
/// so callers decide in one round trip.
pub async fn conditional_update(
    service: &'static str,
    table: &str,
    request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
) -> Result<Result<Attrs, Option<Attrs>>, UpstreamError> {
    let values = request.get_return_values().clone().unwrap_or(ReturnValue::AllNew);
    let request = request
        .table_name(table)
        .return_values(values)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    observed(service, "UpdateItem", async {
        match request.send().await {
            Ok(out) => Ok(Ok(out.attributes.unwrap_or_default())),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(e)) => Ok(Err(e.item.clone())),
                // Timeouts, throttling and missing tables are classified as
                // for every other AWS call.
                _ => Err(UpstreamError::from_sdk(service, "UpdateItem", err)),
            },
        }
    })
    .await
}

/// A Query of `index` (partitioned by `state`) for the items in `state`.
pub fn by_state(
    client: &Client,
    table: &str,
    index: &str,
    state: &str,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    client
        .query()
        .table_name(table)
        .index_name(index)
        .key_condition_expression("#st = :state")
        .expression_attribute_names("#st", "state")
        .expression_attribute_values(":state", s(state))
}

/// How many items `query` matches, counted page by page (no item read).
pub async fn count(
    service: &'static str,
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<usize, UpstreamError> {
    let mut count = 0usize;
    let mut start = None;
    loop {
        let request = query.clone().select(aws_sdk_dynamodb::types::Select::Count).set_exclusive_start_key(start);
        let out = sdk_call(service, "Query", request.send()).await?;
        count += usize::try_from(out.count).unwrap_or_default();
        start = out.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            return Ok(count);
        }
    }
}

/// Paging keys as an opaque cursor: base64url of the key's JSON.
pub fn encode_cursor(key: &Attrs) -> String {
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
pub fn decode_cursor(cursor: &str) -> Option<Attrs> {
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
