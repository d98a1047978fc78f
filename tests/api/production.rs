//! Production limits over real HTTP: body and header limits, request
//! timeout, load shedding, the STS rate limit, metrics and the OpenAPI
//! document matching the routes.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{ALL_SCOPES, TestApp, TestOptions, repo_path, unique};

async fn status_and_code(response: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn oversized_headers_are_431() {
    let app = TestApp::spawn().await;
    let response =
        app.http.get(format!("{}/healthz", app.base)).header("x-padding", "a".repeat(20_000)).send().await.unwrap();
    let (status, _, body) = status_and_code(response).await;
    assert_eq!((status, body["error"]["code"].as_str()), (431, Some("headers_too_large")));
}

#[tokio::test]
async fn request_timeout_is_504_json() {
    let app = TestApp::spawn_with(TestOptions {
        federation_delay: Duration::from_secs(5),
        ..TestOptions::configured(|s| s.server.request_timeout_ms = 1000)
    })
    .await;
    let (status, _, body) = status_and_code(app.post_sessions("", &json!({"session_id": "learner-slow"})).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (504, Some("request_timeout")), "{body}");
}

#[tokio::test]
async fn bursts_beyond_the_concurrency_limit_are_shed_fast() {
    let app = TestApp::spawn_with(TestOptions {
        federation_delay: Duration::from_millis(800),
        ..TestOptions::configured(|s| s.server.max_concurrency = 2)
    })
    .await;
    let bodies: Vec<Value> = (0..8).map(|i| json!({"session_id": format!("learner-burst-{i}")})).collect();
    let results =
        join_all(bodies.iter().map(|b| async { status_and_code(app.post_sessions("", b).await).await })).await;
    let admitted = results.iter().filter(|(s, _, _)| *s == 201).count();
    let shed: Vec<_> = results.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(admitted >= 2, "admitted requests still succeed: {results:?}");
    assert!(!shed.is_empty(), "excess load is shed: {results:?}");
    for (_, retry_after, body) in shed {
        assert_eq!(body["error"]["code"], "overloaded");
        assert!(retry_after.is_some());
    }
    assert_eq!(admitted + results.iter().filter(|(s, _, _)| *s == 503).count(), 8);
    // Probes are outside the limit.
    assert_eq!(app.http.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn sts_rate_limit_waits_then_refuses() {
    let app = TestApp::spawn_with(TestOptions::configured(|s| s.aws.sts_max_rps = 2)).await;
    // Warm up (GetCallerIdentity + AssumeRole use the burst of 2), let the
    // bucket refill, then send more than 2/s can serve.
    app.issue(&json!({"session_id": "learner-rate-warm"})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let bodies: Vec<Value> = (0..6).map(|i| json!({"session_id": format!("learner-rate-{i}")})).collect();
    let results =
        join_all(bodies.iter().map(|b| async { status_and_code(app.post_sessions("", b).await).await })).await;
    let limited: Vec<_> = results.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(results.iter().any(|(s, _, _)| *s == 201), "{results:?}");
    assert!(!limited.is_empty(), "the limit engaged: {results:?}");
    for (_, retry_after, body) in limited {
        assert_eq!(body["error"]["code"], "sts_rate_limited");
        assert!(retry_after.is_some());
    }
    let metrics = app.metrics().await;
    assert!(
        metric_value(&metrics, "sandbox_broker_sts_rate_limit_total", &[("result", "shed")]).is_some_and(|v| v >= 1.0)
    );
}

/// The value of the sample of `name` carrying all `labels`.
fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} ")))
        .find(|line| labels.iter().all(|(k, v)| line.contains(&format!("{k}=\"{v}\""))))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_count_sessions_requests_and_upstream_calls() {
    let profile = "metrics-lab";
    let roles = vec![("s3".to_owned(), unique("sandbox-s3")), (profile.to_owned(), unique("sandbox-metrics"))];
    let app = TestApp::spawn_with(TestOptions { roles: Some(roles), ..Default::default() }).await;
    let first = app.issue(&json!({"session_id": "metrics-1", "profile": profile})).await;
    app.issue(&json!({"session_id": "metrics-2", "profile": profile})).await;
    assert_eq!(app.http.get(app.launch_url(&first)).send().await.unwrap().status(), 302);
    assert_eq!(app.revoke("metrics-2", &format!("?profile={profile}")).await.0, 202);

    let response = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    let sessions =
        |event| metric_value(&text, "sandbox_broker_sessions_total", &[("event", event), ("profile", profile)]);
    assert_eq!(sessions("issued"), Some(2.0), "{text}");
    assert_eq!(sessions("launched"), Some(1.0));
    assert_eq!(sessions("revoked"), Some(1.0));
    let http = metric_value(
        &text,
        "sandbox_broker_http_requests_total",
        &[("method", "POST"), ("route", "/sessions"), ("status", "201")],
    );
    assert!(http.is_some_and(|v| v >= 2.0), "{text}");
    let revoke_route = [("method", "DELETE"), ("route", "/sessions/{session_id}"), ("status", "202")];
    assert!(
        metric_value(&text, "sandbox_broker_http_requests_total", &revoke_route).is_some(),
        "route templates, not paths"
    );
    let assume = [("service", "sts"), ("operation", "AssumeRole"), ("outcome", "ok")];
    assert!(metric_value(&text, "sandbox_broker_upstream_calls_total", &assume).is_some_and(|v| v >= 3.0));
    let put = [("service", "iam"), ("operation", "PutRolePolicy"), ("outcome", "ok")];
    assert!(metric_value(&text, "sandbox_broker_upstream_calls_total", &put).is_some());
    let token = [("service", "signin"), ("operation", "getSigninToken"), ("outcome", "ok")];
    assert!(metric_value(&text, "sandbox_broker_upstream_calls_total", &token).is_some());
    let histogram = [("service", "sts"), ("operation", "AssumeRole"), ("le", "+Inf")];
    assert!(
        metric_value(&text, "sandbox_broker_upstream_call_duration_seconds_bucket", &histogram)
            .is_some_and(|v| v >= 3.0)
    );
    let latency = [("method", "POST"), ("route", "/sessions"), ("le", "+Inf")];
    assert!(metric_value(&text, "sandbox_broker_http_request_duration_seconds_bucket", &latency).is_some());
}

/// The Prometheus recorder holds every histogram sample until it is drained;
/// with nobody scraping `/metrics` a broker grew by every request's samples
/// (RSS 26 → 37 MB over 30 s of load). A thread drains them on a timer:
/// it must be running in any process that built an app.
#[tokio::test]
async fn histogram_samples_are_drained_without_a_scrape() {
    let _app = TestApp::spawn().await;
    let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();
    assert!(threads.iter().any(|name| name == "metrics-upkeep"), "no upkeep thread among {threads:?}");
}

/// (method, path) pairs of the OpenAPI document, read line by line: paths
/// sit at two spaces of indentation, operations at four.
fn spec_operations() -> BTreeSet<(String, String)> {
    let spec = std::fs::read_to_string(repo_path("openapi.yaml")).unwrap();
    let mut in_paths = false;
    let mut path = String::new();
    let mut ops = BTreeSet::new();
    for line in spec.lines() {
        if !line.starts_with(' ') {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            path = format!("/{p}");
        } else if let Some(method) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':'))
            && ["get", "post", "put", "patch", "delete"].contains(&method)
        {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

/// (method, path) pairs registered with `.route("…", get(…).post(…))` in src/routes.
fn routed_operations() -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for entry in std::fs::read_dir(repo_path("src/routes")).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        let flat: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
        for chunk in flat.split(".route(\"").skip(1) {
            let (path, rest) = chunk.split_once('"').unwrap();
            let handlers = rest.split(".route(").next().unwrap();
            for method in ["get", "post", "put", "patch", "delete"] {
                if handlers.contains(&format!("{method}(")) {
                    ops.insert((method.to_uppercase(), path.to_owned()));
                }
            }
        }
    }
    ops
}

#[tokio::test]
async fn openapi_lists_exactly_the_routes() {
    let spec = spec_operations();
    let routed = routed_operations();
    assert!(routed.len() >= 10, "{routed:?}");
    assert_eq!(spec, routed, "openapi.yaml and the routers disagree");
    // And each documented operation exists on the running app.
    let app = TestApp::spawn().await;
    for (method, path) in &spec {
        let url = format!("{}{}", app.base, path.replace("{session_id}", "learner-x"));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.http.request(method.clone(), &url).bearer_auth(app.token(ALL_SCOPES)).send().await.unwrap();
        assert!(![404, 405].contains(&response.status().as_u16()), "{method} {path}: {}", response.status());
    }
}
