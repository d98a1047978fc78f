//! Discovery: every registered type's own listing in every region (global
//! types once), plus the tagging API, all at once within `max_parallel`.
//! The tagging API contributes tags to what the listings found and names
//! what no registration knows (reported `left`); a tagged ARN of a known
//! type that its listing no longer shows is gone (AWS and moto keep stale
//! tagging entries for terminated instances and deleted tables a while).

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};

use super::{Found, Mode, Options, Outcome, Scan};
use crate::clients::{Backend, Tagged};
use crate::registry::{self, Registration, Resource, Scope, Where};
use crate::retry::with_retries;
use crate::upstream::UpstreamError;

/// The tag that attributes a resource to a session.
pub const SESSION_TAG: &str = "sandbox-key";
/// Resources the broker itself manages carry `managed-by=sandbox-broker`:
/// never deleted by an account reset.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "sandbox-broker");

/// The ARN partition of a region.
pub(super) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A log group's ARN ends `:*` in some listings and not in others.
fn canonical(arn: &str) -> &str {
    arn.trim_end_matches(":*")
}

enum Listing {
    Tagged(Result<Tagged, UpstreamError>),
    Type(&'static Registration, Where, Result<Vec<Resource>, UpstreamError>),
}

/// Finds what `mode` covers in `scan`'s regions.
pub async fn discover(backend: &dyn Backend, scan: &Scan, mode: &Mode, options: &Options) -> Found {
    find(backend, scan, mode, false, options).await
}

/// As [`discover`], the listings also reading what the spend meter's
/// estimate needs: for a cleanup preview that shows what each resource
/// has cost.
pub async fn discover_priced(backend: &dyn Backend, scan: &Scan, mode: &Mode, options: &Options) -> Found {
    find(backend, scan, mode, true, options).await
}

async fn find(backend: &dyn Backend, scan: &Scan, mode: &Mode, metering: bool, options: &Options) -> Found {
    let (whole_account, filter) = match mode {
        Mode::Session { key } => (false, Some((SESSION_TAG, key.as_str()))),
        Mode::Account { .. } => (true, None),
    };
    let reads = Reads { whole_account, metering };
    inventory(backend, scan, reads, filter, &|_| true, options).await.found(mode)
}

/// Everything the listings and the tagging API show in one account, before
/// any selection: what one round of calls costs, shared by every session
/// the account holds (the spend meter lists once per account, region and
/// type, never per session).
#[derive(Debug, Default)]
pub struct Inventory {
    /// Every listed resource by ARN, with the tagging API's tags merged.
    pub listed: BTreeMap<String, Resource>,
    /// Tagged ARNs of no registered type, with their tags.
    unknown: Vec<(String, Vec<(String, String)>)>,
    /// Listings that failed after retries.
    pub failed: Vec<Outcome>,
}

impl Inventory {
    /// What `mode` takes from this inventory, as [`discover`] would find it.
    pub fn found(&self, mode: &Mode) -> Found {
        match mode {
            Mode::Session { key } => self.found_each([key.as_str()]).remove(key).unwrap_or_default(),
            Mode::Account { .. } => {
                let everything: Vec<&Resource> = self.listed.values().collect();
                self.selected(&everything, mode, self.unknown.iter().map(|(arn, _)| unknown(arn)).collect())
            }
        }
    }

    /// What each session (by its key) takes from this inventory, exactly as
    /// `found(&Mode::Session { key })` would, in one walk over it.
    pub fn found_each<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> HashMap<String, Found> {
        let keys: HashSet<&str> = keys.into_iter().collect();
        let mut unlisted: HashMap<&str, Vec<Outcome>> = HashMap::new();
        for (arn, tags) in &self.unknown {
            if let Some((_, key)) = tags.iter().find(|(k, v)| k == SESSION_TAG && keys.contains(v.as_str())) {
                unlisted.entry(key.as_str()).or_default().push(unknown(arn));
            }
        }
        let considered = super::marks::by_key(&self.listed, &keys);
        considered
            .into_iter()
            .map(|(key, considered)| {
                let left = unlisted.remove(key.as_str()).unwrap_or_default();
                let found = self.selected(&considered, &Mode::Session { key: key.clone() }, left);
                (key, found)
            })
            .collect()
    }

    fn selected(&self, considered: &[&Resource], mode: &Mode, left: Vec<Outcome>) -> Found {
        let mut found = Found { failed: self.failed.clone(), left, ..Found::default() };
        super::select::select(&mut found, &self.listed, considered, mode);
        found.left.sort();
        found.failed.sort();
        found
    }
}

/// What listings read beyond what every run needs (see [`Where`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reads {
    /// What only an account reset's protection needs.
    pub whole_account: bool,
    /// What only the spend meter's estimate needs.
    pub metering: bool,
}

/// Lists every type `wanted` names in `scan`'s regions (global types once)
/// and the tagging API (only what carries `filter`, when given), at once
/// within `options.max_parallel`, reading what `reads` asks.
pub async fn inventory(
    backend: &dyn Backend,
    scan: &Scan,
    reads: Reads,
    filter: Option<(&str, &str)>,
    wanted: &(dyn Fn(&str) -> bool + Sync),
    options: &Options,
) -> Inventory {
    let places: Vec<Where> = scan
        .regions
        .iter()
        .map(|r| Where {
            region: r.clone(),
            account: scan.account.clone(),
            partition: partition(r),
            whole_account: reads.whole_account,
            metering: reads.metering,
        })
        .collect();
    // Built eagerly: each call owns what it needs, so the run is Send.
    let mut calls: Vec<BoxFuture<'_, Listing>> = Vec::new();
    for at in &places {
        let region = at.region.clone();
        calls.push(
            async move { Listing::Tagged(with_retries(options, || backend.tagged(&region, filter)).await) }.boxed(),
        );
    }
    for &kind in registry::all().iter().filter(|k| wanted(k.name)) {
        let here = match kind.scope {
            Scope::Regional => &places[..],
            Scope::Global => &places[..places.len().min(1)],
        };
        for at in here.iter().cloned() {
            calls.push(
                async move {
                    let result = with_retries(options, || backend.list(kind, &at)).await;
                    Listing::Type(kind, at, result)
                }
                .boxed(),
            );
        }
    }
    let results: Vec<Listing> = stream::iter(calls).buffer_unordered(options.max_parallel.max(1)).collect().await;

    let mut inventory = Inventory::default();
    let mut tags: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for result in results {
        match result {
            Listing::Tagged(Ok(arns)) => {
                tags.extend(arns.into_iter().map(|(arn, t)| (canonical(&arn).to_owned(), t)));
            }
            Listing::Tagged(Err(err)) => inventory.failed.push(listing_failed("tagging:resource", "tagging", &err)),
            Listing::Type(_, _, Ok(resources)) => {
                for mut r in resources {
                    r.arn = canonical(&r.arn).to_owned();
                    inventory.listed.insert(r.arn.clone(), r);
                }
            }
            Listing::Type(kind, at, Err(err)) => {
                let service = kind.name.split(':').next().unwrap_or_default();
                let pattern = at.regional(service, "*");
                inventory.failed.push(listing_failed(kind.name, &pattern, &err));
            }
        }
    }
    for (arn, t) in tags {
        match inventory.listed.get_mut(&arn) {
            Some(resource) => resource.tags.extend(t),
            None if registry::for_arn(&arn).is_none() => inventory.unknown.push((arn, t)),
            None => {}
        }
    }
    inventory
}

fn listing_failed(kind: &str, arn: &str, err: &UpstreamError) -> Outcome {
    Outcome {
        arn: arn.to_owned(),
        kind: kind.to_owned(),
        error: Some(format!("listing failed: {err}")),
        reason: None,
        scheduled_for: None,
    }
}

fn unknown(arn: &str) -> Outcome {
    let mut parts = arn.splitn(6, ':');
    let service = parts.nth(2).unwrap_or_default();
    let resource = parts.nth(2).unwrap_or_default();
    let kind = format!("{service}:{}", resource.split(['/', ':']).next().unwrap_or_default());
    let reason = format!("{kind} is not a type the broker deletes; delete it by hand");
    Outcome { arn: arn.to_owned(), kind, error: None, reason: Some(reason), scheduled_for: None }
}

#[cfg(test)]
#[path = "discover_tests.rs"]
mod tests;
