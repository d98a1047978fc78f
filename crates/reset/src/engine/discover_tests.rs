//! Discovery over an in-memory backend: a failing listing blinds only its
//! own type, the tagging API names unknown types and tags known ones, and
//! each mode keeps what it should.

use async_trait::async_trait;

use super::discover;
use crate::clients::{Backend, Tagged};
use crate::engine::{Mode, Options, Scan};
use crate::registry::{Deleted, Registration, Resource, Where};
use crate::upstream::{UpstreamError, UpstreamErrorKind};

const KEY: &str = "ab0123456789";
const FS: &str = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-1";
const MT: &str = "arn:aws:elasticfilesystem:eu-west-1:123456789012:mount-target/fsmt-1";

struct Listings;

fn at() -> Where {
    Where {
        region: "eu-west-1".into(),
        account: "123456789012".into(),
        partition: "aws",
        whole_account: false,
        metering: false,
    }
}

#[async_trait]
impl Backend for Listings {
    async fn tagged(&self, _: &str, _: Option<(&str, &str)>) -> Result<Tagged, UpstreamError> {
        let tag = vec![("sandbox-key".to_owned(), KEY.to_owned())];
        Ok(vec![
            // A type no registration knows.
            ("arn:aws:acm:eu-west-1:123456789012:certificate/c-1".into(), tag.clone()),
            // A terminated instance the tagging API still shows.
            ("arn:aws:ec2:eu-west-1:123456789012:instance/i-gone".into(), tag.clone()),
            // Tags for a listed table whose listing carries none.
            ("arn:aws:dynamodb:eu-west-1:123456789012:table/lab".into(), tag),
        ])
    }
    async fn list(&self, kind: &'static Registration, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
        let one = |arn: &str, name: &str| vec![Resource::new(kind.name, at, arn.to_owned(), name).named(name)];
        match kind.name {
            "ec2:vpc" => Err(UpstreamError::new("ec2", "DescribeVpcs", UpstreamErrorKind::AccessDenied, "denied")),
            "sqs:queue" => Ok(one(&format!("arn:aws:sqs:eu-west-1:123456789012:{KEY}-q"), &format!("{KEY}-q"))),
            "dynamodb:table" => Ok(one("arn:aws:dynamodb:eu-west-1:123456789012:table/lab", "lab")),
            "sns:topic" => Ok(one("arn:aws:sns:eu-west-1:123456789012:other", "other")),
            // Tagged with the key, but buckets are taken by name only.
            "s3:bucket" => Ok(vec![
                Resource::new(kind.name, at, "arn:aws:s3:::photos".into(), "photos")
                    .named("photos")
                    .tagged([("sandbox-key", KEY)]),
            ]),
            // Pool only, under a file system of the session's: the mount
            // target is left, and the file system must wait for it.
            "elasticfilesystem:file-system" => {
                Ok(vec![Resource::new(kind.name, at, FS.into(), "fs-1").tagged([("sandbox-key", KEY)])])
            }
            "elasticfilesystem:mount-target" => {
                Ok(vec![Resource::new(kind.name, at, MT.into(), "fsmt-1").before([FS.to_owned()]).child_of(FS.into())])
            }
            "ec2:subnet" => {
                let subnet =
                    Resource::new(kind.name, at, "arn:aws:ec2:eu-west-1:123456789012:subnet/s-1".into(), "s-1");
                Ok(vec![subnet.protect_if(true, "the default subnets")])
            }
            _ => Ok(Vec::new()),
        }
    }
    async fn delete(&self, _: &'static Registration, _: &Resource) -> Result<Deleted, UpstreamError> {
        Ok(Deleted::Now)
    }
    async fn gone(&self, _: &'static Registration, _: &Resource) -> Result<bool, UpstreamError> {
        Ok(true)
    }
}

fn scan() -> Scan {
    Scan { regions: vec![at().region], account: at().account }
}

#[tokio::test]
async fn a_failing_listing_blinds_only_its_own_type() {
    let options = Options { retries: 0, ..Options::default() };
    let found = discover(&Listings, &scan(), &Mode::Session { key: KEY.into() }, &options).await;
    let failed: Vec<&str> = found.failed.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(failed, ["ec2:vpc"]);
    assert_eq!(found.failed[0].arn, "arn:aws:ec2:eu-west-1:123456789012:*");
    assert!(found.failed[0].error.as_deref().unwrap().starts_with("listing failed"));
    let mut kept: Vec<&str> = found.resources.iter().map(|r| r.kind).collect();
    kept.sort_unstable();
    // The queue by its name, the table by the tagging API's tag; not the
    // other learner's topic, not the protected subnet (it carries no key).
    assert_eq!(kept, ["dynamodb:table", "sqs:queue"]);
    let left: Vec<&str> = found.left.iter().map(|l| l.kind.as_str()).collect();
    assert!(left.contains(&"acm:certificate"), "{left:?}");
    assert!(!left.contains(&"ec2:instance"), "the stale instance is gone, not left");
}

/// What carries the session's mark but its type does not take (what IAM
/// bounds the broker's delete by) is left with the reason, and so is what
/// must wait for it: never attempted, never silently kept.
#[tokio::test]
async fn what_the_session_cannot_take_is_left_with_the_reason() {
    let options = Options { retries: 0, ..Options::default() };
    let found = discover(&Listings, &scan(), &Mode::Session { key: KEY.into() }, &options).await;
    let reason = |arn: &str| {
        let outcome = found.left.iter().find(|l| l.arn == arn).unwrap_or_else(|| panic!("{arn}: {:?}", found.left));
        outcome.reason.clone().unwrap()
    };
    assert!(reason("arn:aws:s3:::photos").contains("s3:bucket is taken in a shared account by name prefix only"));
    assert!(reason(MT).contains("only in pool accounts"));
    assert!(reason(FS).contains("must wait for a resource cleanup leaves"));
    assert!(!found.resources.iter().any(|r| r.arn == FS || r.arn == MT));

    let reset = discover(&Listings, &scan(), &Mode::Account { keep: Vec::new() }, &options).await;
    let taken: Vec<&str> = reset.resources.iter().map(|r| r.arn.as_str()).collect();
    assert!(taken.contains(&FS) && taken.contains(&MT) && taken.contains(&"arn:aws:s3:::photos"), "{taken:?}");
}

#[tokio::test]
async fn an_account_reset_keeps_only_what_is_protected() {
    let options = Options { retries: 0, ..Options::default() };
    let keep = vec!["arn:aws:sns:eu-west-1:123456789012:other".to_owned()];
    let found = discover(&Listings, &scan(), &Mode::Account { keep }, &options).await;
    let mut kinds: Vec<&str> = found.resources.iter().map(|r| r.kind).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["dynamodb:table", "elasticfilesystem:file-system", "elasticfilesystem:mount-target", "s3:bucket", "sqs:queue"]
    );
    assert_eq!(found.kept, 2, "the default subnet and the kept ARN");
}

/// A session's selection as it was before `marks` narrowed it: every
/// listed resource walked.
fn walking_everything(inventory: &super::Inventory, key: &str) -> crate::engine::Found {
    let all: Vec<&Resource> = inventory.listed.values().collect();
    let marked = |tags: &[(String, String)]| tags.iter().any(|(k, v)| k == "sandbox-key" && v == key);
    let left = inventory.unknown.iter().filter(|(_, tags)| marked(tags)).map(|(arn, _)| super::unknown(arn)).collect();
    let mut found = crate::engine::Found { failed: inventory.failed.clone(), left, ..Default::default() };
    crate::engine::select::select(&mut found, &inventory.listed, &all, &Mode::Session { key: key.into() });
    found.left.sort();
    found.failed.sort();
    found
}

/// The spend meter selects every session of an account from one listing:
/// each gets exactly what walking the whole listing for it would give.
#[tokio::test]
async fn selecting_many_sessions_at_once_gives_each_what_a_walk_of_everything_would() {
    fn summary(f: &crate::engine::Found) -> (Vec<String>, Vec<super::Outcome>, Vec<super::Outcome>) {
        (f.resources.iter().map(|r| r.arn.clone()).collect(), f.left.clone(), f.failed.clone())
    }
    let options = Options { retries: 0, ..Options::default() };
    let listed = crate::engine::inventory(&Listings, &scan(), Default::default(), None, &|_| true, &options).await;
    let keys = [KEY, "zz9999999999", "other"];
    let mut each = listed.found_each(keys);
    assert_eq!(each.len(), keys.len());
    for key in keys {
        let expected = summary(&walking_everything(&listed, key));
        assert_eq!(summary(&each.remove(key).unwrap()), expected, "{key}");
    }
    let mine = summary(&listed.found(&Mode::Session { key: KEY.into() }));
    assert_eq!(mine.0.len(), 2, "the queue and the table: {mine:?}");
    assert_eq!(mine.1.len(), 4, "the certificate, the bucket, the mount target and its file system: {mine:?}");
    let only_tables =
        crate::engine::inventory(&Listings, &scan(), Default::default(), None, &|k| k == "dynamodb:table", &options)
            .await;
    let kinds: Vec<&str> = only_tables.listed.values().map(|r| r.kind).collect();
    assert_eq!(kinds, ["dynamodb:table"], "a listing narrowed to the priced types lists only those");
}
