//! The revocation policy document: explicit Denies on `aws:userid`, which
//! STS reports as `<RoleId>:<role session name>` for a role session,
//! grouped into one statement per hour of revocation so whole statements
//! can be dropped once no credential issued before them can be alive.
//!
//! Entries are written as `StringLike` `*:<role session name>`. The policy
//! is attached to the role, so it only ever applies to that role's
//! sessions; leaving the RoleId out keeps the Deny true for a role deleted
//! and re-created under the same name (a new RoleId), which a cached
//! RoleId would silently miss. Session names cannot contain `:`, `*` or
//! `?`, so the pattern matches exactly that one name.
//!
//! A frozen session (DESIGN §10) gets a statement of its own, `Frozen<time>`:
//! the same `aws:userid` pattern, but only for credentials issued before
//! the freeze (`DateLessThan` `aws:TokenIssueTime`). The broker issues
//! nothing while the session is frozen, so unfreezing needs no write:
//! credentials issued after it pass, those from before stay denied.
//!
//! Statements not in the broker's layout (someone edited the policy by
//! hand) are kept verbatim on every rewrite, reported as drift, and their
//! `aws:userid` Denies are honoured when refusing a session (fail closed).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

/// Width of one revocation group.
pub const BUCKET_SECONDS: u64 = 3_600;
const SID_PREFIX: &str = "Revoked";
const FROZEN_PREFIX: &str = "Frozen";

/// One replica's revocation policy, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RevocationDoc {
    /// Bucket start (Unix seconds) → revoked role session names.
    buckets: BTreeMap<u64, BTreeSet<String>>,
    /// Freeze time (Unix seconds) → role session names frozen then.
    frozen: BTreeMap<u64, BTreeSet<String>>,
    /// Statements the broker did not write, kept as they are.
    foreign: Vec<Value>,
}

/// An `aws:userid` condition of a Deny the broker did not write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForeignDenial {
    /// `StringEquals`: exactly this userid.
    Equals(String),
    /// `StringLike`: this pattern (`*`, `?`).
    Like(String),
}

impl RevocationDoc {
    /// Reads a revocation policy; only text that is not JSON is an error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("revocation policy is not JSON: {e}"))?;
        let mut doc = Self::default();
        let statements = match &value["Statement"] {
            Value::Array(items) => items.clone(),
            Value::Object(_) => vec![value["Statement"].clone()],
            _ => Vec::new(),
        };
        for statement in statements {
            if let Some((bucket, names)) = own_statement(&statement) {
                doc.buckets.entry(bucket).or_default().extend(names);
            } else if let Some((at, names)) = frozen_statement(&statement) {
                doc.frozen.entry(at).or_default().extend(names);
            } else {
                doc.foreign.push(statement);
            }
        }
        Ok(doc)
    }

    /// The minified document, or `None` when there is nothing to deny.
    pub fn to_json(&self) -> Option<String> {
        if self.is_empty() && self.foreign.is_empty() {
            return None;
        }
        let mut statements: Vec<Value> = self
            .buckets
            .iter()
            .map(|(bucket, names)| {
                let patterns: Vec<String> = names.iter().map(|name| format!("*:{name}")).collect();
                json!({
                    "Sid": format!("{SID_PREFIX}{bucket}"),
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": { "StringLike": { "aws:userid": patterns } },
                })
            })
            .collect();
        statements.extend(self.frozen.iter().map(|(at, names)| {
            let patterns: Vec<String> = names.iter().map(|name| format!("*:{name}")).collect();
            json!({
                "Sid": format!("{FROZEN_PREFIX}{at}"),
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "StringLike": { "aws:userid": patterns },
                    "DateLessThan": { "aws:TokenIssueTime": crate::clock::rfc3339_unix(*at) },
                },
            })
        }));
        statements.extend(self.foreign.iter().cloned());
        Some(json!({ "Version": "2012-10-17", "Statement": statements }).to_string())
    }

    /// The bucket holding the role session name, if revoked.
    pub fn bucket_of(&self, session_name: &str) -> Option<u64> {
        self.buckets.iter().find(|(_, names)| names.contains(session_name)).map(|(b, _)| *b)
    }

    /// Adds a role session name revoked at `now`; returns its bucket.
    pub fn add(&mut self, session_name: &str, now: u64) -> u64 {
        let bucket = now - now % BUCKET_SECONDS;
        self.buckets.entry(bucket).or_default().insert(session_name.to_owned());
        bucket
    }

    /// Freezes a role session name at `at`: its credentials issued before
    /// then are denied.
    pub fn freeze(&mut self, session_name: &str, at: u64) {
        self.frozen.entry(at).or_default().insert(session_name.to_owned());
    }

    /// Drops groups whose every credential has expired: anything issued
    /// before the end of a bucket lives at most `max_session` seconds.
    pub fn prune(&mut self, now: u64, max_session: u64) -> usize {
        let stale: Vec<u64> =
            self.buckets.keys().copied().filter(|b| b + BUCKET_SECONDS + max_session <= now).collect();
        let frozen: Vec<u64> = self.frozen.keys().copied().filter(|at| at + max_session <= now).collect();
        let dropped = frozen.iter().filter_map(|at| self.frozen.remove(at)).map(|names| names.len()).sum::<usize>();
        dropped + stale.iter().filter_map(|b| self.buckets.remove(b)).map(|names| names.len()).sum::<usize>()
    }

    /// Revoked role session names.
    pub fn session_names(&self) -> impl Iterator<Item = &String> {
        self.buckets.values().flatten()
    }

    /// The `aws:userid` conditions of Deny statements the broker did not write.
    pub fn foreign_denials(&self) -> Vec<ForeignDenial> {
        self.foreign.iter().filter(|s| s["Effect"] == "Deny").flat_map(userid_conditions).collect()
    }

    /// How many statements the broker did not write.
    pub fn foreign_statements(&self) -> usize {
        self.foreign.len()
    }

    /// Revoked and frozen session names in the broker's statements.
    pub fn len(&self) -> usize {
        self.buckets.values().chain(self.frozen.values()).map(BTreeSet::len).sum()
    }

    /// Whether the broker's statements hold no entry.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.frozen.is_empty()
    }
}

/// A statement in the broker's layout: `Revoked<time>` Sid, Deny of
/// everything, names under `aws:userid` (the older `StringEquals`
/// `<RoleId>:<name>` form is read too and rewritten as a pattern).
fn own_statement(statement: &Value) -> Option<(u64, Vec<String>)> {
    let bucket = statement["Sid"].as_str()?.strip_prefix(SID_PREFIX)?.parse::<u64>().ok()?;
    let shape = statement["Effect"] == "Deny" && statement["Action"] == "*" && statement["Resource"] == "*";
    let condition = statement["Condition"].as_object()?;
    if !shape || condition.len() != 1 {
        return None;
    }
    let values = match condition.iter().next()? {
        (operator, test) if operator == "StringLike" || operator == "StringEquals" => string_values(test)?,
        _ => return None,
    };
    let names = values
        .iter()
        .map(|v| v.rsplit_once(':').map(|(prefix, name)| (prefix, name.to_owned())))
        .collect::<Option<Vec<_>>>()?;
    // Only `*:<name>` or `<RoleId>:<name>` with a literal name belongs to us.
    let literal = |s: &str| !s.is_empty() && !s.contains(['*', '?']);
    let ours = names.iter().all(|(prefix, name)| (*prefix == "*" || literal(prefix)) && literal(name));
    ours.then(|| (bucket, names.into_iter().map(|(_, name)| name).collect()))
}

/// A freeze in the broker's layout: `Frozen<time>` Sid, Deny of everything,
/// `*:<name>` patterns and a `DateLessThan` on `aws:TokenIssueTime` at
/// that very time.
fn frozen_statement(statement: &Value) -> Option<(u64, Vec<String>)> {
    let at = statement["Sid"].as_str()?.strip_prefix(FROZEN_PREFIX)?.parse::<u64>().ok()?;
    let shape = statement["Effect"] == "Deny" && statement["Action"] == "*" && statement["Resource"] == "*";
    let condition = statement["Condition"].as_object()?;
    let before = condition.get("DateLessThan")?.get("aws:TokenIssueTime")?.as_str()?;
    if !shape || condition.len() != 2 || before != crate::clock::rfc3339_unix(at) {
        return None;
    }
    let names = string_values(condition.get("StringLike")?)?
        .iter()
        .map(|v| v.strip_prefix("*:").filter(|n| !n.is_empty() && !n.contains(['*', '?'])).map(str::to_owned))
        .collect::<Option<Vec<_>>>()?;
    Some((at, names))
}

/// `{"aws:userid": "x"}` or `{"aws:userid": ["x", …]}` with no other key.
fn string_values(test: &Value) -> Option<Vec<String>> {
    let test = test.as_object()?;
    if test.len() != 1 {
        return None;
    }
    match test.get("aws:userid")? {
        Value::String(one) => Some(vec![one.clone()]),
        Value::Array(many) => many.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

fn userid_conditions(statement: &Value) -> Vec<ForeignDenial> {
    let Some(condition) = statement["Condition"].as_object() else { return Vec::new() };
    let mut out = Vec::new();
    for (operator, test) in condition {
        let values = match &test["aws:userid"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => continue,
        };
        let like = operator.trim_start_matches("ForAnyValue:").starts_with("StringLike");
        out.extend(values.into_iter().map(|v| if like { ForeignDenial::Like(v) } else { ForeignDenial::Equals(v) }));
    }
    out
}

impl ForeignDenial {
    /// Whether this condition denies `userid` (IAM's `*`/`?` wildcards).
    pub fn denies(&self, userid: &str) -> bool {
        match self {
            Self::Equals(value) => value == userid,
            Self::Like(pattern) => wildcard_match(pattern.as_bytes(), userid.as_bytes()),
        }
    }
}

fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| wildcard_match(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && wildcard_match(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && wildcard_match(rest, &text[1..]),
    }
}

#[cfg(test)]
#[path = "doc_tests.rs"]
mod tests;
