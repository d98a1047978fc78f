//! The spend meter over HTTP: what a learner runs is priced from its launch
//! or creation time at the price table's rates, projected to the lease's
//! end, with what cannot be priced listed; a pool account's session is
//! metered over its whole account.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ProvisionedThroughput, ScalarAttributeType,
};
use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use reqwest::Method;
use sandbox_broker::clock::ManualClock;
use sandbox_broker::domain::prices::{PriceTable, SHIPPED};
use serde_json::{Value, json};

use crate::helpers::{LOADED, Moto, REGION, TestApp, TestOptions};
use crate::pool::{PROFILE, credentials_of, members, pool_options, register};

const HOUR: u64 = 3_600;
/// About 3.5 hours of what the first test runs in eu-west-1.
const BUDGET: f64 = 0.7;

fn prices() -> PriceTable {
    PriceTable::parse(SHIPPED, |k| sandbox_reset::registry::find(k).is_some()).unwrap()
}

fn tagged(kind: ResourceType, key: &str) -> TagSpecification {
    let tag = Tag::builder().key("sandbox-key").value(key).build();
    TagSpecification::builder().resource_type(kind).tags(tag).build()
}

/// Waits until the meter has priced the session at or after `since` (Unix).
async fn metered(app: &TestApp, session_id: &str, since: u64) -> Value {
    let deadline = tokio::time::Instant::now() + LOADED;
    loop {
        let (_, record) = app.session_record(session_id).await;
        let as_of = record["spend"]["as_of"].as_str().and_then(|t| DateTime::from_str(t, Format::DateTime).ok());
        if as_of.is_some_and(|t| t.secs() >= since as i64) {
            return record;
        }
        assert!(tokio::time::Instant::now() < deadline, "not metered since {since}: {record}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits for `needle` in the metrics (raised just after the record is
/// written), and answers them.
async fn metric(app: &TestApp, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + LOADED;
    loop {
        let metrics = app.metrics().await;
        if metrics.contains(needle) {
            return metrics;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {needle}: {metrics}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn unix(clock: &ManualClock) -> u64 {
    use sandbox_broker::clock::Clock;
    clock.now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

fn attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().unwrap()
}

fn hash_key(name: &str) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(KeyType::Hash).build().unwrap()
}

/// A table of 40 read and 20 write units with an index of 10 and 10.
async fn provisioned_table(dynamodb: &aws_sdk_dynamodb::Client, name: &str) {
    let units = |read, write| {
        ProvisionedThroughput::builder().read_capacity_units(read).write_capacity_units(write).build().unwrap()
    };
    let index = GlobalSecondaryIndex::builder()
        .index_name("by-customer")
        .key_schema(hash_key("customer"))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .provisioned_throughput(units(10, 10))
        .build()
        .unwrap();
    let create = dynamodb.create_table().table_name(name).provisioned_throughput(units(40, 20));
    let create = create.attribute_definitions(attribute("id")).attribute_definitions(attribute("customer"));
    create.key_schema(hash_key("id")).global_secondary_indexes(index).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_learner_runs_is_priced_by_the_hour_and_projected_to_the_lease_end() {
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let app = TestApp::spawn_with(TestOptions {
        clock: clock.clone(),
        ..TestOptions::configured(|s| {
            s.spend.enabled = true;
            // A pass lists every type: back to back they would load the
            // machine the rest of the suite shares.
            s.spend.interval_seconds = 3;
            s.profiles.get_mut("s3").unwrap().budget_usd = Some(BUDGET);
            // The dry-run preview searches every type of the registry, which
            // takes moto tens of seconds on a loaded machine.
            s.server.request_timeout_ms = 180_000;
            s.aws.call_timeout_ms = 15_000;
        })
    })
    .await;
    let session = app.issue(&json!({ "session_id": "metered-1", "profile": "s3", "duration_seconds": 8 * HOUR })).await;
    let key = app.session_record("metered-1").await.1["sandbox_key"].as_str().unwrap().to_owned();
    let ec2 = aws_sdk_ec2::Client::new(&credentials_of(&app, &session));
    let vpc = ec2.create_vpc().cidr_block("10.7.0.0/16").send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    let mut subnets = Vec::new();
    for (i, zone) in ["a", "b"].iter().enumerate() {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.7.{i}.0/24"))
            .availability_zone(format!("{REGION}{zone}"))
            .send()
            .await
            .unwrap();
        subnets.push(subnet.subnet.unwrap().subnet_id.unwrap());
    }
    let mut instances = Vec::new();
    for kind in [InstanceType::T3Micro, InstanceType::M5Large, InstanceType::T2Nano] {
        let run = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .instance_type(kind)
            .min_count(1)
            .max_count(1)
            .subnet_id(&subnets[0])
            .tag_specifications(tagged(ResourceType::Instance, &key))
            .send()
            .await
            .unwrap();
        instances.push(run.instances()[0].instance_id().unwrap().to_owned());
    }
    let eip = ec2.allocate_address().tag_specifications(tagged(ResourceType::ElasticIp, &key)).send().await.unwrap();
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&subnets[0])
        .allocation_id(eip.allocation_id().unwrap())
        .tag_specifications(tagged(ResourceType::Natgateway, &key))
        .send()
        .await
        .unwrap();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&credentials_of(&app, &session));
    let tag = aws_sdk_elasticloadbalancingv2::types::Tag::builder().key("sandbox-key").value(&key).build();
    let balancer =
        elb.create_load_balancer().name(format!("{key}-lb")).set_subnets(Some(subnets)).tags(tag).send().await.unwrap();
    // Provisioned capacity bills by the hour (the table's and its index's
    // units); an on-demand table bills by request, outside the estimate.
    let dynamodb = aws_sdk_dynamodb::Client::new(&credentials_of(&app, &session));
    provisioned_table(&dynamodb, &format!("{key}-orders")).await;
    let on_demand =
        dynamodb.create_table().table_name(format!("{key}-events")).billing_mode(BillingMode::PayPerRequest);
    on_demand.attribute_definitions(attribute("id")).key_schema(hash_key("id")).send().await.unwrap();

    // Three hours on: everything has run three hours, the t2.nano has no price.
    let start = unix(&clock);
    clock.advance(Duration::from_secs(3 * HOUR));
    let record = metered(&app, "metered-1", start + 3 * HOUR).await;
    let spend = &record["spend"];
    let table = prices();
    let hourly = table.price(REGION, "ec2:instance", "t3.micro").unwrap()
        + table.price(REGION, "ec2:instance", "m5.large").unwrap()
        + table.price(REGION, "ec2:natgateway", "*").unwrap()
        + table.price(REGION, "ec2:elastic-ip", "*").unwrap()
        + table.price(REGION, "elasticloadbalancing:loadbalancer", "application").unwrap()
        + 50.0 * table.price(REGION, "dynamodb:table", "rcu").unwrap()
        + 30.0 * table.price(REGION, "dynamodb:table", "wcu").unwrap();
    let estimated = spend["estimated_usd"].as_f64().unwrap();
    assert!((estimated - 3.0 * hourly).abs() < 0.01, "{estimated} vs {}: {spend}", 3.0 * hourly);
    let projected = spend["projected_usd"].as_f64().unwrap();
    assert!((projected - 8.0 * hourly).abs() < 0.01, "{projected} vs {}: {spend}", 8.0 * hourly);
    let unpriced = spend["unpriced"].to_string();
    assert!(unpriced.contains(&instances[2]), "the t2.nano is unpriced, not free: {spend}");
    assert_eq!(spend["unpriced"].as_array().unwrap().len(), 1, "{spend}");
    let top = spend["top"].to_string();
    assert!(top.contains(&instances[1]) && top.contains(nat.nat_gateway().unwrap().nat_gateway_id().unwrap()));
    assert!(!spend.to_string().contains(&format!("{key}-events")), "on demand: priced at nothing: {spend}");
    assert_eq!(spend["budget_usd"], BUDGET);
    let lb = balancer.load_balancers()[0].load_balancer_arn().unwrap();
    assert_eq!(spend["top"].as_array().unwrap().len(), 5, "the five priced resources: {spend}");
    assert!(top.contains(lb), "{spend}");
    // What ending the lab now would delete, and what each piece has cost:
    // the learner's own resources, nothing deleted, nothing recorded.
    let (status, preview) = app.admin(Method::POST, "/admin/sessions/metered-1/cleanup?dry_run=true").await;
    assert_eq!(status, 200, "{preview}");
    let deleted = preview["cleanup"]["deleted"].to_string();
    assert!(instances.iter().all(|i| deleted.contains(i.as_str())) && deleted.contains(lb), "{preview}");
    let estimate = &preview["cleanup"]["estimate"];
    assert_eq!(estimate["top"].as_array().unwrap().len(), 6, "every priced resource: {estimate}");
    assert!((estimate["estimated_usd"].as_f64().unwrap() - estimated).abs() < 0.01, "{estimate}");
    let (_, after) = app.session_record("metered-1").await;
    assert_eq!((after["state"].as_str(), after["cleanup"].is_null()), (Some("active"), true), "{after}");
    let ec2_now = ec2.describe_instances().instance_ids(&instances[0]).send().await.unwrap();
    assert_eq!(ec2_now.reservations()[0].instances()[0].state().unwrap().name().unwrap().as_str(), "running");

    // Past 80 % of the budget, and projected past it: warned, not exhausted.
    let crossed = |event: &str| format!("sandbox_broker_budget_crossings_total{{event=\"{event}\"}}");
    let metrics = metric(&app, &crossed("budget_warning")).await;
    assert!(metrics.contains("sandbox_broker_spend_estimated_usd{profile=\"s3\"}"), "{metrics}");
    assert!(metrics.contains("sandbox_broker_meter_listings_per_pass"), "{metrics}");
    metric(&app, &crossed("budget_projected_over")).await;
    assert!(!app.metrics().await.contains(&crossed("budget_exhausted")));

    clock.advance(Duration::from_secs(HOUR));
    let record = metered(&app, "metered-1", start + 4 * HOUR).await;
    assert!(record["spend"]["estimated_usd"].as_f64().unwrap() >= BUDGET, "{record}");
    metric(&app, &crossed("budget_exhausted")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_account_session_is_metered_over_its_whole_account() {
    let moto = Moto::start(&[]);
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let app = TestApp::spawn_with(TestOptions {
        clock: clock.clone(),
        ..pool_options(&moto.endpoint, |s| {
            s.spend.enabled = true;
            // A pass lists every type: back to back they would load the
            // machine the rest of the suite shares.
            s.spend.interval_seconds = 3;
            s.profiles.get_mut(PROFILE).unwrap().budget_usd = Some(5.0);
        })
    })
    .await;
    let ids = members(&moto.endpoint, 1).await;
    assert_eq!(register(&app, json!({ "account_ids": ids })).await.0, 201);
    // A request's budget below the profile's is the session's.
    let session = app
        .issue(&json!({ "session_id": "own-1", "profile": PROFILE, "duration_seconds": 2 * HOUR, "budget_usd": 2.5 }))
        .await;
    // Its tag matters not: in its own account everything is the learner's.
    let instance = crate::spend_budget::launch_m5(&app, &session, "any-key").await;
    // An OpenSearch domain of two data nodes: priced by its nodes, which
    // only DescribeDomains shows.
    use aws_sdk_opensearch::types::{ClusterConfig, OpenSearchPartitionInstanceType};
    let search = aws_sdk_opensearch::Client::new(&credentials_of(&app, &session));
    let nodes =
        ClusterConfig::builder().instance_type(OpenSearchPartitionInstanceType::T3SmallSearch).instance_count(2);
    search.create_domain().domain_name("lab-search").cluster_config(nodes.build()).send().await.unwrap();

    let start = unix(&clock);
    clock.advance(Duration::from_secs(HOUR));
    let record = metered(&app, "own-1", start + HOUR).await;
    let spend = &record["spend"];
    let price = prices().price(REGION, "ec2:instance", "m5.large").unwrap()
        + 2.0 * prices().price(REGION, "es:domain", "t3.small.search").unwrap();
    let estimated = spend["estimated_usd"].as_f64().unwrap();
    // The instance's root volume is priced too (per GB-month: under a cent).
    assert!((estimated - price).abs() < 0.01, "{estimated} vs {price}: {spend}");
    assert!(spend["top"][0]["arn"].as_str().unwrap().ends_with(&instance), "{spend}");
    assert_eq!(spend["budget_usd"], 2.5);
    assert_eq!(spend["unpriced"], json!([]), "{spend}");
    // The account shows its lease's spend.
    let (status, account) = app.admin(Method::GET, &format!("/admin/accounts/{}", ids[0])).await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["spend"], *spend, "{account}");
}
