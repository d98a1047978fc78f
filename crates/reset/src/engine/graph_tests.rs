//! The removal graph over an in-memory backend: order by each resource's
//! own edges, failures that fail only what waits, cycles, the parallelism
//! bound and retries of refusals. Ordering is asserted from the backend's
//! record of calls, never from timings.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::remove;
use crate::clients::{Backend, Tagged};
use crate::engine::{Found, Options};
use crate::registry::{Deleted, Registration, Resource, Where};
use crate::upstream::{UpstreamError, UpstreamErrorKind};

#[derive(Default)]
struct Memory {
    /// "start ARN" / "end ARN", in order.
    events: Mutex<Vec<String>>,
    /// How each ARN's deletes answer, in turn; then Ok.
    answers: Mutex<HashMap<String, Vec<UpstreamErrorKind>>>,
    in_flight: Mutex<(usize, usize)>,
}

impl Memory {
    fn answer(&self, arn: &str, kinds: &[UpstreamErrorKind]) {
        self.answers.lock().unwrap().insert(arn.to_owned(), kinds.to_vec());
    }
    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
    fn position(&self, event: &str) -> usize {
        self.events().iter().position(|e| e == event).unwrap_or_else(|| panic!("no {event}: {:?}", self.events()))
    }
}

#[async_trait]
impl Backend for Memory {
    async fn tagged(&self, _: &str, _: Option<(&str, &str)>) -> Result<Tagged, UpstreamError> {
        Ok(Vec::new())
    }
    async fn list(&self, _: &'static Registration, _: &Where) -> Result<Vec<Resource>, UpstreamError> {
        Ok(Vec::new())
    }
    async fn delete(&self, _: &'static Registration, r: &Resource) -> Result<Deleted, UpstreamError> {
        self.events.lock().unwrap().push(format!("start {}", r.arn));
        {
            let mut flight = self.in_flight.lock().unwrap();
            flight.0 += 1;
            flight.1 = flight.1.max(flight.0);
        }
        // Long enough that independent deletes overlap.
        tokio::time::sleep(Duration::from_millis(if r.arn.contains("slow") { 150 } else { 20 })).await;
        self.in_flight.lock().unwrap().0 -= 1;
        let next = self.answers.lock().unwrap().get_mut(&r.arn).and_then(|a| (!a.is_empty()).then(|| a.remove(0)));
        self.events.lock().unwrap().push(format!("end {}", r.arn));
        match next {
            Some(kind) => Err(UpstreamError::new("test", "Delete", kind, "refused")),
            None => Ok(Deleted::Now),
        }
    }
    async fn gone(&self, _: &'static Registration, _: &Resource) -> Result<bool, UpstreamError> {
        Ok(true)
    }
}

fn resource(kind: &'static str, arn: &str, before: &[&str]) -> Resource {
    Resource {
        kind,
        arn: arn.to_owned(),
        region: "eu-west-1".into(),
        id: arn.to_owned(),
        before: before.iter().map(|b| (*b).to_owned()).collect(),
        ..Resource::default()
    }
}

fn options(max_parallel: usize) -> Options {
    Options { max_parallel, resource_deadline: Duration::from_secs(10), retries: 2 }
}

fn found(resources: Vec<Resource>) -> Found {
    Found { resources, ..Found::default() }
}

#[tokio::test]
async fn a_vpc_waits_for_its_own_subnets_and_nothing_else() {
    let memory = Memory::default();
    let resources = vec![
        resource("ec2:vpc", "vpc-a", &[]),
        resource("ec2:subnet", "subnet-a-slow", &["vpc-a"]),
        resource("ec2:vpc", "vpc-b", &[]),
    ];
    let report = remove(&memory, found(resources), &options(4), false).await;
    assert!(report.clean(), "{report:?}");
    assert_eq!(report.deleted.len(), 3);
    assert!(memory.position("end subnet-a-slow") < memory.position("start vpc-a"));
    // The unrelated VPC went while the subnet was still being deleted.
    assert!(memory.position("end vpc-b") < memory.position("end subnet-a-slow"));
    let step = report.steps.iter().find(|s| s.arn == "vpc-a").unwrap();
    assert_eq!(step.after, vec!["subnet-a-slow".to_owned()]);
    assert!(report.critical_path() >= step.finished - step.started);
}

#[tokio::test]
async fn an_after_edge_orders_like_a_before_edge_from_the_other_side() {
    let memory = Memory::default();
    let mut acl = resource("ec2:network-acl", "acl-a", &["vpc-a"]);
    acl.after = vec!["subnet-a-slow".to_owned(), "subnet-not-found".to_owned()];
    let resources = vec![acl, resource("ec2:subnet", "subnet-a-slow", &["vpc-a"]), resource("ec2:vpc", "vpc-a", &[])];
    let report = remove(&memory, found(resources), &options(4), false).await;
    assert!(report.clean(), "{report:?}");
    assert!(memory.position("end subnet-a-slow") < memory.position("start acl-a"));
    assert!(memory.position("end acl-a") < memory.position("start vpc-a"));
}

#[tokio::test]
async fn a_failure_fails_only_what_waits_for_it() {
    let memory = Memory::default();
    memory.answer("subnet-a", &[UpstreamErrorKind::AccessDenied]);
    let resources = vec![
        resource("ec2:vpc", "vpc-a", &[]),
        resource("ec2:subnet", "subnet-a", &["vpc-a"]),
        resource("ec2:route-table", "rtb-a", &["vpc-a"]),
        resource("ec2:vpc", "vpc-b", &[]),
    ];
    let report = remove(&memory, found(resources), &options(4), false).await;
    let failed: Vec<&str> = report.failed.iter().map(|f| f.arn.as_str()).collect();
    assert_eq!(failed, ["subnet-a", "vpc-a"]);
    let vpc = report.failed.iter().find(|f| f.arn == "vpc-a").unwrap();
    assert!(vpc.error.as_deref().unwrap().contains("subnet-a must go first"), "{vpc:?}");
    let deleted: Vec<&str> = report.deleted.iter().map(|d| d.arn.as_str()).collect();
    assert_eq!(deleted, ["rtb-a", "vpc-b"]);
    assert!(!memory.events().contains(&"start vpc-a".to_owned()), "never attempted");
}

#[tokio::test]
async fn a_cycle_fails_its_members_and_the_rest_goes() {
    let memory = Memory::default();
    let resources = vec![
        resource("ec2:security-group", "sg-a", &["sg-b"]),
        resource("ec2:security-group", "sg-b", &["sg-a"]),
        resource("ec2:key-pair", "key-c", &[]),
    ];
    let report = remove(&memory, found(resources), &options(4), false).await;
    assert_eq!(report.deleted.iter().map(|d| d.arn.as_str()).collect::<Vec<_>>(), ["key-c"]);
    assert_eq!(report.failed.len(), 2);
    assert!(report.failed.iter().all(|f| f.error.as_deref().unwrap().starts_with("dependency cycle")));
}

#[tokio::test]
async fn no_more_than_max_parallel_deletes_are_in_flight() {
    let memory = Memory::default();
    let resources = (0..12).map(|i| resource("sqs:queue", &format!("queue-{i}"), &[])).collect();
    let report = remove(&memory, found(resources), &options(3), false).await;
    assert_eq!(report.deleted.len(), 12);
    let peak = memory.in_flight.lock().unwrap().1;
    assert!((2..=3).contains(&peak), "peak {peak}");
}

#[tokio::test]
async fn a_refusal_for_now_is_retried_and_a_missing_resource_is_not_reported() {
    let memory = Memory::default();
    memory.answer("vpc-a", &[UpstreamErrorKind::Conflict, UpstreamErrorKind::Throttled]);
    memory.answer("vpc-gone", &[UpstreamErrorKind::NotFound]);
    let resources = vec![resource("ec2:vpc", "vpc-a", &[]), resource("ec2:vpc", "vpc-gone", &[])];
    let report = remove(&memory, found(resources), &options(2), false).await;
    assert!(report.clean(), "{report:?}");
    assert_eq!(report.deleted.iter().map(|d| d.arn.as_str()).collect::<Vec<_>>(), ["vpc-a"]);
    assert_eq!(memory.events().iter().filter(|e| *e == "start vpc-a").count(), 3);
}

#[tokio::test]
async fn a_dry_run_reports_and_calls_nothing() {
    let memory = Memory::default();
    let report = remove(&memory, found(vec![resource("ec2:vpc", "vpc-a", &[])]), &options(2), true).await;
    assert_eq!(report.deleted.len(), 1);
    assert!(memory.events().is_empty());
}
