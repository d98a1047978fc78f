//! The spend meter's benchmark (`scripts/bench_spend.sh`): one pass over
//! BENCH_SESSIONS active sessions holding ten resources each (two
//! instances with their root volumes, four volumes, two elastic IPs),
//! every broker call through the latency proxy (BENCH_ENDPOINT), the
//! resources made straight in moto (BENCH_MOTO). Ignored in the suite.

use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use futures_util::stream::{self, StreamExt};
use sandbox_broker::domain::{SessionId, SessionKey};
use serde_json::json;

use crate::helpers::{TestApp, TestOptions, broker_sdk_config};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name}"))
}

/// A metric's value in the exposition text.
fn metric(text: &str, name: &str) -> f64 {
    let line = text.lines().find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '));
    line.and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or(0.0)
}

async fn ten_resources(ec2: &aws_sdk_ec2::Client, key: &str) {
    let tag = || Tag::builder().key("sandbox-key").value(key).build();
    let spec = |kind: ResourceType| TagSpecification::builder().resource_type(kind).tags(tag()).build();
    let run =
        ec2.run_instances().image_id("ami-12c6146b").instance_type(InstanceType::T3Micro).min_count(2).max_count(2);
    run.tag_specifications(spec(ResourceType::Instance))
        .tag_specifications(spec(ResourceType::Volume))
        .send()
        .await
        .unwrap();
    for _ in 0..4 {
        let volume = ec2.create_volume().availability_zone("eu-west-1a").size(20).volume_type("gp3".into());
        volume.tag_specifications(spec(ResourceType::Volume)).send().await.unwrap();
    }
    for _ in 0..2 {
        ec2.allocate_address().tag_specifications(spec(ResourceType::ElasticIp)).send().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by scripts/bench_spend.sh"]
async fn bench_meter_pass_through_the_proxy() {
    let sessions: usize = env("BENCH_SESSIONS").parse().unwrap();
    let app = TestApp::spawn_with(TestOptions {
        aws_endpoint: Some(env("BENCH_ENDPOINT")),
        ..TestOptions::configured(|s| {
            s.spend.enabled = true;
            s.spend.interval_seconds = 5;
            s.aws.call_timeout_ms = 30_000;
        })
    })
    .await;
    let ec2 = aws_sdk_ec2::Client::new(&broker_sdk_config(&env("BENCH_MOTO")));
    let ids: Vec<String> = (0..sessions).map(|i| format!("metered-{i:04}")).collect();
    let made = ids.iter().map(|id| {
        let (app, ec2) = (&app, &ec2);
        async move {
            app.issue_keys(id).await;
            ten_resources(ec2, SessionKey::of(&SessionId::parse(id).unwrap()).as_str()).await;
        }
    });
    stream::iter(made).buffer_unordered(8).collect::<Vec<_>>().await;

    // Two passes that began after everything was there: the second's time.
    let (seconds, after) = nth_pass(&app, 2).await;
    let listings = metric(&after, "sandbox_broker_meter_listings_per_pass");
    let (_, record) = app.session_record(&ids[sessions - 1]).await;
    let top = record["spend"]["top"].as_array().map_or(0, Vec::len);
    assert_eq!(top, 5, "metered with its resources: {record}");
    // The same pass with the listings answered as AWS would (the latency
    // alone, moto's own rendering taken out): the proxy keeps each
    // listing's answer and replays it. The pass running when replay began
    // and the next one record; the one after is timed, and every listing
    // it made must have been replayed.
    replay("on").await;
    nth_pass(&app, 2).await;
    let kept = replay("").await;
    let (replayed, _) = nth_pass(&app, 1).await;
    let served = replay("off").await;
    assert_eq!(served["misses"], kept["misses"], "nothing new was listed: {kept} then {served}");
    let hits = served["hits"].as_f64().unwrap() - kept["hits"].as_f64().unwrap();
    assert!(hits >= listings, "the timed pass's listings were replayed: {hits} of {listings}");
    let (seen, frozen) = headline(&app, &ec2, &ids[0]).await;
    println!(
        "BENCH {}",
        json!({ "sessions": sessions, "pass_seconds": seconds, "listings": listings,
                "replayed_pass_seconds": replayed,
                "launch_to_estimate_seconds": seen, "crossing_to_frozen_seconds": frozen })
    );
}

/// The time of the `n`th meter pass to finish from now, and the metrics
/// text read just after it.
async fn nth_pass(app: &TestApp, n: u32) -> (f64, String) {
    let count = |text: &str| metric(text, "sandbox_broker_meter_pass_seconds_count");
    let start = count(&app.metrics().await);
    let (mut before, mut after) = (String::new(), String::new());
    while count(&after) < start + f64::from(n) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = app.metrics().await;
        if count(&now) > count(&after) {
            before = std::mem::replace(&mut after, now);
        } else if after.is_empty() {
            after = now;
        }
    }
    let sum = |text: &str| metric(text, "sandbox_broker_meter_pass_seconds_sum");
    (sum(&after) - sum(&before), after)
}

/// The proxy's replay counts, after turning it `on` or `off` (or neither).
async fn replay(what: &str) -> serde_json::Value {
    let url = format!("{}/__replay", env("BENCH_ENDPOINT"));
    let proxy = reqwest::Client::new();
    let sent = if what.is_empty() { proxy.get(url) } else { proxy.post(format!("{url}/{what}")) };
    sent.send().await.unwrap().json().await.unwrap()
}

/// Polls the session's record until `done` says so; the seconds it took.
async fn until(app: &TestApp, id: &str, done: impl Fn(&serde_json::Value) -> bool) -> f64 {
    let started = Instant::now();
    loop {
        let (_, record) = app.session_record(id).await;
        if done(&record) {
            return started.elapsed().as_secs_f64();
        }
        assert!(started.elapsed() < Duration::from_secs(600), "{record}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The headline figures: a learner's `RunInstances` to an estimate that
/// includes the instance, and a spent budget to the session frozen.
async fn headline(app: &TestApp, ec2: &aws_sdk_ec2::Client, id: &str) -> (f64, f64) {
    let launch = |key: String, size: InstanceType| async move {
        let tag = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(Tag::builder().key("sandbox-key").value(key).build())
            .build();
        let run = ec2.run_instances().image_id("ami-12c6146b").instance_type(size).min_count(1).max_count(1);
        let out = run.tag_specifications(tag).send().await.unwrap();
        out.instances()[0].instance_id().unwrap().to_owned()
    };
    let key = |id: &str| SessionKey::of(&SessionId::parse(id).unwrap()).as_str().to_owned();
    // In the estimate once the projection jumps by the m5.large's hours to
    // the lease end (a running resource's projection stays put): `top`
    // would name it only once it out-spent the session's older resources.
    let projected = |r: &serde_json::Value| r["spend"]["projected_usd"].as_f64().unwrap_or(0.0);
    let before = projected(&app.session_record(id).await.1);
    launch(key(id), InstanceType::M5Large).await;
    let seen = until(app, id, |r| projected(r) > before + 0.01).await;
    // 0.0001 USD: an m5.4xlarge (0.768 USD an hour) spends it in 0.47 s.
    // Keys only: a console link's federation would read all of moto's EC2.
    let body = json!({ "session_id": "budgeted-0001", "budget_usd": 0.0001 });
    let issued = app.post_sessions("?format=credential-process", &body).await;
    assert!(issued.status().is_success(), "{}", issued.text().await.unwrap());
    launch(key("budgeted-0001"), InstanceType::M54xlarge).await;
    let frozen = until(app, "budgeted-0001", |r| r["state"] == "frozen").await - 0.0001 / 0.768 * 3_600.0;
    (seen, frozen)
}
