//! Two learners build the same VPC lab in one shared account: ending one
//! session takes that lab and nothing of the other's; an account reset then
//! takes everything unprotected and keeps the default VPC family.

use std::collections::BTreeSet;

use sandbox_reset::clients::Backend;
use sandbox_reset::engine::Mode;
use sandbox_reset::registry::{self, Where};

use super::lab::{Account, arns};
use crate::helpers::REGION;

fn set(items: &[String]) -> BTreeSet<&str> {
    items.iter().map(String::as_str).collect()
}

async fn listed(account: &Account) -> BTreeSet<String> {
    let found = account.discover(&Mode::Account { keep: Vec::new() }).await;
    assert!(found.failed.is_empty(), "{:?}", found.failed);
    found.resources.into_iter().map(|r| r.arn).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_one_learner_takes_that_lab_and_nothing_of_the_other() {
    let a = Account::new().await;
    let b = a.learner("bb0000000001");
    let (lab_a, lab_b) = (a.vpc_lab(), b.vpc_lab());
    assert!(lab_a.len() >= 29, "{lab_a:?}");

    let report = a.clean_session().await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    // A task definition is pool only (IAM cannot bound
    // DeregisterTaskDefinition to one session's): reported left, with why.
    let pool_only: BTreeSet<&str> =
        lab_a.iter().map(String::as_str).filter(|a| a.contains(":task-definition/")).collect();
    assert_eq!(arns(&report.left).into_iter().collect::<BTreeSet<_>>(), pool_only, "{:?}", report.left);
    assert!(report.left.iter().all(|o| o.reason.as_deref().is_some_and(|r| r.contains("only in pool accounts"))));
    let deleted: BTreeSet<&str> = arns(&report.deleted).into_iter().collect();
    let missing: Vec<&str> = set(&lab_a).difference(&deleted).copied().filter(|a| !pool_only.contains(a)).collect();
    assert!(missing.is_empty(), "not deleted: {missing:?}");
    assert!(set(&lab_b).is_disjoint(&deleted), "took the other learner's: {:?}", set(&lab_b).intersection(&deleted));
    // Dependencies were followed resource by resource: the VPC went after
    // its own subnets, the target group after its listener.
    let step = |arn: &str| report.steps.iter().find(|s| s.arn == arn).expect("a step");
    let vpc = lab_a.iter().find(|a| a.contains(":vpc/")).unwrap();
    for subnet in lab_a.iter().filter(|a| a.contains(":subnet/")) {
        assert!(step(subnet).finished <= step(vpc).started, "{subnet} before {vpc}");
        assert!(step(vpc).after.contains(subnet));
    }

    let now = listed(&a).await;
    let gone = lab_a.iter().filter(|arn| !pool_only.contains(arn.as_str()));
    assert!(gone.clone().all(|arn| !now.contains(arn)), "still listed: {:?}", gone.filter(|x| now.contains(*x)));
    assert!(
        lab_b.iter().all(|arn| now.contains(arn)),
        "the other lab lost: {:?}",
        lab_b.iter().filter(|x| !now.contains(*x))
    );

    // Account reset (what a pool account gets between learners).
    let reset = a.run(&Mode::Account { keep: Vec::new() }).await;
    assert!(reset.clean(), "failed {:?} left {:?}", reset.failed, reset.left);
    assert!(set(&lab_b).is_subset(&arns(&reset.deleted).into_iter().collect()));
    assert!(reset.kept > 0, "the default VPC family is protected");
    assert!(listed(&a).await.is_empty(), "an account reset leaves nothing unprotected");
    let vpcs = registry::find("ec2:vpc").unwrap();
    let at =
        Where { region: REGION.into(), account: a.id.clone(), partition: "aws", whole_account: true, metering: false };
    let defaults = a.backend().list(vpcs, &at).await.unwrap();
    assert!(defaults.iter().any(|v| v.protected.is_some()), "the default VPC stays: {defaults:?}");
}
