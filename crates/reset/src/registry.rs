//! What a resource type is, as data: one [`Registration`] per type, in one
//! file per service family under `types/`. The engine reads these and never
//! names a type; the `cleanup types` table is printed from them.

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;

pub use crate::arn_match::{ArnMatch, for_arn};
use crate::clients::Clients;
use crate::upstream::UpstreamError;
use crate::usage::Usage;

/// Where a type lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Listed in every region the run covers.
    Regional,
    /// One name space for the account (IAM, Route 53, S3's bucket list):
    /// listed once, from the first region.
    Global,
}

/// How a found resource is attributed to a session in a shared account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    /// The `sandbox-key` tag (from the listing, or the tagging API).
    Tag,
    /// The `<sandbox-key>-` name prefix.
    Name,
    /// Either of the two.
    TagOrName,
    /// It belongs to its parent (a listener to its load balancer): it is
    /// the session's when the parent is.
    Parent,
    /// Not attributable, or its delete cannot be bounded by IAM to one
    /// session's resources: deleted only in account reset.
    None,
}

/// What a type's delete needs from IAM, for the broker's own policy in a
/// shared account: every call the delete and its preparation make on the
/// resource (its listing's `reads` are granted on `*` apart), and the ARNs
/// they act on. The type's [`Attribution`] bounds them: `{name}` becomes
/// `????????????-*` (a sandbox key, then a dash) for a name prefix, `*`
/// under an `aws:ResourceTag/sandbox-key` condition for a tag; a type
/// attributed to its parent puts the parent's name there. A test checks
/// each action and ARN against IAM's own service reference.
#[derive(Debug, Clone, Copy)]
pub struct Grants {
    /// IAM actions, e.g. `ec2:DeleteVpc`.
    pub actions: &'static [&'static str],
    /// Resource ARNs with `{p}` (partition), `{a}` (account) and `{name}`;
    /// regions are `*`.
    pub on: &'static [&'static str],
    /// Calls that name no resource IAM can scope (SNS's Unsubscribe takes
    /// a subscription ARN, which IAM has no resource type for): granted on
    /// `*` whenever the type is deletable in a shared account.
    pub unscoped: &'static [&'static str],
}

impl Grants {
    /// `actions` on `on`.
    pub const fn on(actions: &'static [&'static str], on: &'static [&'static str]) -> Self {
        Self { actions, on, unscoped: &[] }
    }
}

/// Where a listing runs.
#[derive(Debug, Clone)]
pub struct Where {
    /// The region (for a global type, the region its calls go to).
    pub region: String,
    /// The account id, for building ARNs the listing does not return.
    pub account: String,
    /// The ARN partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: &'static str,
    /// Whether the run resets the whole account: listings then read what
    /// only protection needs (an IAM entity's tags, one call each), which
    /// session cleanup, run for every session, skips.
    pub whole_account: bool,
    /// Whether the spend meter lists: listings then read what only its
    /// estimate needs (a DynamoDB table's capacity, a DescribeTable each),
    /// which cleanup and reset skip.
    pub metering: bool,
}

impl Where {
    /// `arn:<partition>:<service>:<region>:<account>:<resource>`; `region`
    /// is left empty for global services by passing `""`.
    pub fn arn(&self, service: &str, region: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{region}:{}:{resource}", self.partition, self.account)
    }

    /// An ARN in this region and account.
    pub fn regional(&self, service: &str, resource: &str) -> String {
        self.arn(service, &self.region, resource)
    }
}

/// One resource a listing found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resource {
    /// Its registration's name, e.g. `ec2:vpc`.
    pub kind: &'static str,
    /// Its ARN: the report's identity, and how others refer to it.
    pub arn: String,
    /// The region it lives in (a global type: the region listed from).
    pub region: String,
    /// What its delete call takes (an id, a name, a URL).
    pub id: String,
    /// Its name, for `<sandbox-key>-` attribution (empty when unnamed).
    pub name: String,
    /// Its tags, when the listing returns them.
    pub tags: BTreeMap<String, String>,
    /// The ARN of the resource it belongs to (a listener's load balancer).
    pub parent: Option<String>,
    /// ARNs of resources that can only be deleted once this one is gone
    /// (a subnet lists its VPC; an instance its subnet, groups and
    /// volumes). Edges are between found resources, never between types.
    pub before: Vec<String>,
    /// ARNs of resources that must be gone before this one: the same edge
    /// from the other side, for a link only this resource's listing shows
    /// (a network ACL knows the subnets associated with it).
    pub after: Vec<String>,
    /// Why it must stay in a pool account (the default VPC, a
    /// service-linked role), if it must.
    pub protected: Option<&'static str>,
    /// What it bills for while it exists, for the spend meter.
    pub usage: Option<Usage>,
}

impl Resource {
    /// A resource with its identity; the rest is filled in by the lister.
    pub fn new(kind: &'static str, at: &Where, arn: String, id: impl Into<String>) -> Self {
        Self { kind, arn, region: at.region.clone(), id: id.into(), ..Self::default() }
    }

    /// With its name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// With the tags the listing returned.
    pub fn tagged<K: Into<String>, V: Into<String>>(mut self, tags: impl IntoIterator<Item = (K, V)>) -> Self {
        self.tags.extend(tags.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Billed as `usage` says.
    pub fn billed(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Must be deleted before each of `arns`.
    pub fn before<I: IntoIterator<Item = String>>(mut self, arns: I) -> Self {
        self.before.extend(arns);
        self
    }

    /// Deleted only once each of `arns` is gone.
    pub fn after<I: IntoIterator<Item = String>>(mut self, arns: I) -> Self {
        self.after.extend(arns);
        self
    }

    /// Belongs to `arn`.
    pub fn child_of(mut self, arn: String) -> Self {
        self.parent = Some(arn);
        self
    }

    /// Kept in a pool account, for `why`.
    pub fn protect_if(mut self, protect: bool, why: &'static str) -> Self {
        if protect {
            self.protected = Some(why);
        }
        self
    }
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// Gone, or going (an asynchronous type is then polled).
    Now,
    /// AWS only scheduled it (a KMS key): deleted at this Unix time.
    ScheduledFor(i64),
}

/// A type's listing in one region.
pub type ListFn = for<'a> fn(&'a Clients, &'a Where) -> BoxFuture<'a, Result<Vec<Resource>, UpstreamError>>;
/// A type's delete, with whatever preparation AWS requires first.
pub type DeleteFn = for<'a> fn(&'a Clients, &'a Resource) -> BoxFuture<'a, Result<Deleted, UpstreamError>>;
/// Whether an asynchronously deleted resource is gone yet.
pub type GoneFn = for<'a> fn(&'a Clients, &'a Resource) -> BoxFuture<'a, Result<bool, UpstreamError>>;

/// One resource type: everything the engine and the docs need to know.
pub struct Registration {
    /// The report's `type` label, `service:resource`.
    pub name: &'static str,
    /// Regional or global.
    pub scope: Scope,
    /// The listing call(s), for the table.
    pub found_by: &'static str,
    /// The IAM actions the listing needs (read-only, granted on `*` in
    /// `broker_policy`: a List or Describe call names no resource).
    pub reads: &'static [&'static str],
    /// How it is attributed to a session in a shared account.
    pub attribution: Attribution,
    /// Which tagging-API ARNs are of this type.
    pub arn: ArnMatch,
    /// Types whose resources may have to go first, for the table; the
    /// engine follows each found resource's own `before` edges.
    pub depends_on: &'static [&'static str],
    /// What is kept in a pool account, for the table (`""`: nothing).
    pub protected: &'static str,
    /// What its delete needs from IAM, bounded by `attribution` in a
    /// shared account.
    pub grants: Grants,
    /// Lists every resource of the type in a region.
    pub list: ListFn,
    /// Deletes one (emptying, detaching or disabling protection first).
    pub delete: DeleteFn,
    /// For a type AWS deletes asynchronously: polled until it says gone.
    pub gone: Option<GoneFn>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Every registered type, in the order the table shows them.
pub fn all() -> &'static [&'static Registration] {
    crate::types::ALL
}

/// Every listing action of every type, sorted and once each.
pub fn read_actions() -> Vec<&'static str> {
    let set: std::collections::BTreeSet<&str> = all().iter().flat_map(|r| r.reads.iter().copied()).collect();
    set.into_iter().collect()
}

/// The registration named `name`.
pub fn find(name: &str) -> Option<&'static Registration> {
    all().iter().copied().find(|r| r.name == name)
}

impl Attribution {
    /// How the table names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Tag => "tag",
            Self::Name => "name prefix",
            Self::TagOrName => "tag or name prefix",
            Self::Parent => "its parent",
            Self::None => "pool only",
        }
    }
}

/// The registry as a Markdown table: what `sandbox-broker cleanup types`
/// prints and the docs carry (a test keeps the two equal).
pub fn table() -> String {
    let mut out = String::from(
        "| type | scope | found by | attribution in a shared account | depends on | protected in a pool account |\n\
         |---|---|---|---|---|---|\n",
    );
    for r in all() {
        let scope = match r.scope {
            Scope::Regional => "regional",
            Scope::Global => "global",
        };
        let depends = if r.depends_on.is_empty() { "–".to_owned() } else { r.depends_on.join(", ") };
        let protected = if r.protected.is_empty() { "–" } else { r.protected };
        let row = [r.name, scope, r.found_by, r.attribution.label(), &depends, protected];
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_a_unique_name_and_known_dependencies() {
        let names: Vec<&str> = all().iter().map(|r| r.name).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} registered twice");
            assert!(name.contains(':'), "{name} is not service:resource");
        }
        for r in all() {
            for d in r.depends_on.iter().filter(|d| d.contains(':')) {
                assert!(names.contains(d), "{} depends on unknown {d}", r.name);
            }
        }
        assert!(all().len() >= 60);
    }
}
