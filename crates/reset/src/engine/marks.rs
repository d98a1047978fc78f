//! Which sessions' marks each resource carries, for selecting many
//! sessions from one inventory at once (the spend meter's shared account).
//! Selecting each session by walking every listed resource costs sessions ×
//! resources: at 500 sessions of ten resources, 2.5 million attribution
//! checks a pass. Here one walk over the inventory finds, for every
//! resource, the asked-for keys in its `sandbox-key` tag and its name's
//! `<key>-` prefixes, so each session's selection walks only its own.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::discover::SESSION_TAG;
use crate::registry::Resource;

/// Per asked-for key, what a session selection must consider: every
/// resource carrying the key (by tag or name), and every child of one (a
/// `Parent`-attributed type carries no mark of its own), in ARN order.
pub(super) fn by_key<'r>(
    listed: &'r BTreeMap<String, Resource>,
    keys: &HashSet<&str>,
) -> HashMap<String, Vec<&'r Resource>> {
    let mut children: HashMap<&str, Vec<&Resource>> = HashMap::new();
    for r in listed.values() {
        if let Some(parent) = r.parent.as_deref() {
            children.entry(parent).or_default().push(r);
        }
    }
    let mut marked: HashMap<String, Vec<&Resource>> = keys.iter().map(|k| ((*k).to_owned(), Vec::new())).collect();
    for r in listed.values() {
        for key in marks(r, keys) {
            if let Some(own) = marked.get_mut(key) {
                own.push(r);
                own.extend(children.get(r.arn.as_str()).into_iter().flatten());
            }
        }
    }
    for considered in marked.values_mut() {
        considered.sort_by(|a, b| a.arn.cmp(&b.arn));
        considered.dedup_by(|a, b| a.arn == b.arn);
    }
    marked
}

/// The asked-for keys `r` carries: its tag's value, and each `<key>` its
/// name starts with followed by `-`.
fn marks<'k>(r: &Resource, keys: &HashSet<&'k str>) -> Vec<&'k str> {
    let mut found: Vec<&'k str> = Vec::new();
    let tagged = r.tags.get(SESSION_TAG).and_then(|v| keys.get(v.as_str()));
    found.extend(tagged.copied());
    let prefixes = r.name.match_indices('-').filter_map(|(at, _)| keys.get(&r.name[..at]));
    for key in prefixes {
        if !found.contains(key) {
            found.push(key);
        }
    }
    found
}
