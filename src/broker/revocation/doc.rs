//! The revocation policy document: explicit Denies on `aws:userid`
//! (`<RoleId>:<role session name>`, what STS reports for a role session),
//! grouped into one statement per hour of revocation so whole statements
//! can be dropped once no credential issued before them can be alive.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

/// Width of one revocation group.
pub const BUCKET_SECONDS: u64 = 3_600;
const SID_PREFIX: &str = "Revoked";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationDoc {
    /// Bucket start (Unix seconds) → revoked `aws:userid` values.
    buckets: BTreeMap<u64, BTreeSet<String>>,
}

impl RevocationDoc {
    /// Reads a document this broker wrote (other statements are an error:
    /// the policy name is reserved for the broker).
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("revocation policy is not JSON: {e}"))?;
        let mut doc = Self::default();
        let statements = match &value["Statement"] {
            Value::Array(items) => items.clone(),
            Value::Object(_) => vec![value["Statement"].clone()],
            _ => return Err("revocation policy has no Statement".into()),
        };
        for statement in statements {
            let bucket = statement["Sid"]
                .as_str()
                .and_then(|sid| sid.strip_prefix(SID_PREFIX))
                .and_then(|ts| ts.parse::<u64>().ok())
                .ok_or("revocation statement without a Revoked<time> Sid")?;
            let ids = &statement["Condition"]["StringEquals"]["aws:userid"];
            let ids: Vec<String> = match ids {
                Value::String(one) => vec![one.clone()],
                Value::Array(many) => many.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                _ => return Err("revocation statement without aws:userid".into()),
            };
            doc.buckets.entry(bucket).or_default().extend(ids);
        }
        Ok(doc)
    }

    /// The minified document, or `None` when there is nothing to deny.
    pub fn to_json(&self) -> Option<String> {
        if self.buckets.is_empty() {
            return None;
        }
        let statements: Vec<Value> = self
            .buckets
            .iter()
            .map(|(bucket, ids)| {
                json!({
                    "Sid": format!("{SID_PREFIX}{bucket}"),
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": { "StringEquals": { "aws:userid": ids } },
                })
            })
            .collect();
        Some(json!({ "Version": "2012-10-17", "Statement": statements }).to_string())
    }

    /// The bucket holding `userid`, if revoked.
    pub fn bucket_of(&self, userid: &str) -> Option<u64> {
        self.buckets.iter().find(|(_, ids)| ids.contains(userid)).map(|(b, _)| *b)
    }

    /// Adds `userid` revoked at `now`; returns its bucket.
    pub fn add(&mut self, userid: &str, now: u64) -> u64 {
        let bucket = now - now % BUCKET_SECONDS;
        self.buckets.entry(bucket).or_default().insert(userid.to_owned());
        bucket
    }

    /// Drops groups whose every credential has expired: anything issued
    /// before the end of a bucket lives at most `max_session` seconds.
    pub fn prune(&mut self, now: u64, max_session: u64) -> usize {
        let stale: Vec<u64> =
            self.buckets.keys().copied().filter(|b| b + BUCKET_SECONDS + max_session <= now).collect();
        stale.iter().filter_map(|b| self.buckets.remove(b)).map(|ids| ids.len()).sum()
    }

    pub fn userids(&self) -> impl Iterator<Item = &String> {
        self.buckets.values().flatten()
    }

    pub fn len(&self) -> usize {
        self.buckets.values().map(BTreeSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_finds_entries() {
        let mut doc = RevocationDoc::default();
        let bucket = doc.add("AROA1:learner-1", 7_250);
        assert_eq!(bucket, 7_200);
        doc.add("AROA1:learner-2", 7_300);
        doc.add("AROA1:learner-1", 7_400);
        let text = doc.to_json().unwrap();
        let parsed = RevocationDoc::parse(&text).unwrap();
        assert_eq!(parsed, doc);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed.bucket_of("AROA1:learner-2"), Some(7_200));
        assert_eq!(parsed.bucket_of("AROA1:other"), None);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["Statement"][0]["Effect"], "Deny");
        assert_eq!(value["Statement"][0]["Action"], "*");
    }

    #[test]
    fn prunes_only_groups_past_the_longest_session() {
        let mut doc = RevocationDoc::default();
        doc.add("old", 0);
        doc.add("new", 10_000);
        // The 0..3600 group may hold credentials alive until 3600 + 43200.
        assert_eq!(doc.prune(3_600 + 43_199, 43_200), 0);
        assert_eq!(doc.prune(3_600 + 43_200, 43_200), 1);
        assert_eq!(doc.userids().collect::<Vec<_>>(), ["new"]);
        assert_eq!(doc.prune(u64::MAX / 2, 43_200), 1);
        assert!(doc.to_json().is_none());
    }

    #[test]
    fn refuses_foreign_statements() {
        assert!(RevocationDoc::parse(r#"{"Statement":[{"Sid":"Other","Effect":"Allow"}]}"#).is_err());
        assert!(RevocationDoc::parse("nope").is_err());
    }
}
