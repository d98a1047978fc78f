//! A pool account's whole reset (`engine::reset_account`) on a moto account
//! of its own, in two regions: everything unprotected goes, a default VPC
//! the learner deleted comes back, and only verify passes in a row that find
//! nothing make it clean; a type the registry does not know ends it unclean
//! with the ARN named.

use aws_sdk_ec2::types::Filter;
use sandbox_reset::engine::{ResetOutcome, ResetPlan, reset_account};

use super::lab::{Account, options};
use crate::helpers::REGION;

const SECOND: &str = "us-east-1";

async fn reset(account: &Account) -> ResetOutcome {
    let plan = ResetPlan {
        regions: vec![REGION.to_owned(), SECOND.to_owned()],
        account: account.id.clone(),
        keep: Vec::new(),
        verify_passes: 2,
        attempts: 3,
    };
    reset_account(&account.backend(), &plan, &options()).await
}

fn ec2(account: &Account, region: &str) -> aws_sdk_ec2::Client {
    let config =
        aws_sdk_ec2::config::Builder::from(&account.sdk()).region(aws_sdk_ec2::config::Region::new(region.to_owned()));
    aws_sdk_ec2::Client::from_conf(config.build())
}

async fn default_vpcs(account: &Account, region: &str) -> Vec<String> {
    let filter = Filter::builder().name("is-default").values("true").build();
    let out = ec2(account, region).describe_vpcs().filters(filter).send().await.unwrap();
    out.vpcs().iter().filter_map(|v| v.vpc_id().map(str::to_owned)).collect()
}

/// What a learner with the whole account may do: delete the default VPC
/// (its subnets and internet gateway first, as AWS requires).
async fn delete_default_vpc(account: &Account, region: &str) {
    let client = ec2(account, region);
    for vpc in default_vpcs(account, region).await {
        let in_vpc = Filter::builder().name("vpc-id").values(&vpc).build();
        let subnets = client.describe_subnets().filters(in_vpc).send().await.unwrap();
        for subnet in subnets.subnets().iter().filter_map(|s| s.subnet_id()) {
            client.delete_subnet().subnet_id(subnet).send().await.unwrap();
        }
        let attached = Filter::builder().name("attachment.vpc-id").values(&vpc).build();
        let gateways = client.describe_internet_gateways().filters(attached).send().await.unwrap();
        for gateway in gateways.internet_gateways().iter().filter_map(|g| g.internet_gateway_id()) {
            client.detach_internet_gateway().internet_gateway_id(gateway).vpc_id(&vpc).send().await.unwrap();
            client.delete_internet_gateway().internet_gateway_id(gateway).send().await.unwrap();
        }
        client.delete_vpc().vpc_id(&vpc).send().await.unwrap();
    }
    assert!(default_vpcs(account, region).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_near_empty_account_comes_back_clean_with_its_default_vpcs() {
    let account = Account::new().await;
    let before = (default_vpcs(&account, REGION).await, default_vpcs(&account, SECOND).await);
    let outcome = reset(&account).await;
    assert_eq!(outcome.problem, None, "{outcome:?}");
    assert_eq!((outcome.rounds, outcome.clean_passes), (1, 2));
    assert!(outcome.restored.is_empty());
    assert!(outcome.report.kept > 0, "the default VPC family is kept");
    let after = (default_vpcs(&account, REGION).await, default_vpcs(&account, SECOND).await);
    assert_eq!(after, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_regions_of_labs_go_and_a_deleted_default_vpc_comes_back() {
    let account = Account::new().await;
    // Two learners in turn (IAM names are global: a lab's role once each).
    let second_key = format!("bb{}", &account.key[2..]);
    let lab: Vec<String> = [(REGION, account.key.as_str()), (SECOND, second_key.as_str())]
        .iter()
        .flat_map(|(region, key)| {
            let out = account.script_in(region, "tests/support/vpc_lab.py", &["--key", key]);
            out["arns"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect::<Vec<_>>()
        })
        .collect();
    assert!(lab.iter().any(|a| a.contains(&format!(":{SECOND}:"))), "{lab:?}");
    delete_default_vpc(&account, SECOND).await;

    let outcome = reset(&account).await;
    assert_eq!(outcome.problem, None, "{outcome:?}");
    assert_eq!(outcome.clean_passes, 2);
    let deleted: Vec<&str> = outcome.report.deleted.iter().map(|o| o.arn.as_str()).collect();
    let missing: Vec<&String> = lab.iter().filter(|a| !deleted.contains(&a.as_str())).collect();
    assert!(missing.is_empty(), "not deleted: {missing:?}");
    let restored = default_vpcs(&account, SECOND).await;
    assert_eq!(restored.len(), 1, "a default VPC again");
    assert_eq!(outcome.restored, [format!("arn:aws:ec2:{SECOND}:{}:vpc/{}", account.id, restored[0])]);
    assert_eq!(default_vpcs(&account, REGION).await.len(), 1, "the other region's was kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_the_registry_does_not_know_ends_the_reset_unclean_with_its_arn() {
    let account = Account::new().await;
    let args = ["--key", &account.key, "--account", &account.id, "--only", "queue", "--unsupported"];
    let made = account.script_in(REGION, "scripts/lib/footprint.py", &args);
    let certificate = made[&account.key]["unsupported"][0].as_str().unwrap().to_owned();
    let outcome = reset(&account).await;
    let problem = outcome.problem.clone().unwrap_or_default();
    assert!(problem.contains(&certificate) && problem.contains("does not know"), "{outcome:?}");
    assert_eq!(outcome.rounds, 1, "no retry deletes an unknown type");
    assert!(outcome.report.left.iter().any(|o| o.arn == certificate));
    let queue = made[&account.key]["expected"][0].as_str().unwrap();
    assert!(outcome.report.deleted.iter().any(|o| o.arn == queue), "the rest still went: {outcome:?}");
}
