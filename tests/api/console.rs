//! Durable console links: each click re-validates the broker-signed ticket
//! and mints fresh credentials and a fresh sign-in token.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::helpers::{TestApp, TestOptions};
use sandbox_broker::clock::ManualClock;

fn signin_token(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs().find(|(k, _)| k == "SigninToken").unwrap().1.into_owned()
}

async fn click(app: &TestApp, launch: &str) -> reqwest::Response {
    app.http.get(launch).send().await.unwrap()
}

#[tokio::test]
async fn launch_mints_a_fresh_signin_token_and_logs_in() {
    let app = TestApp::spawn().await;
    let destination = "https://eu-west-1.console.aws.amazon.com/s3/home";
    let session = app.issue(&json!({"session_id": "learner-launch", "destination": destination})).await;
    let launch_url = session["console"]["launch_url"].as_str().unwrap();
    assert!(launch_url.starts_with("http://127.0.0.1/console/launch?ticket="), "uses server.public_url");
    assert_eq!(session["console"]["launch_expires_at"], session["credentials"]["expiration"]);

    let response = click(&app, &app.launch_url(&session)).await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let login = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(login.starts_with(&app.federation.endpoint()));
    let fresh = signin_token(&login);
    assert_ne!(fresh, signin_token(session["console"]["url"].as_str().unwrap()), "a new token per click");
    // The fake federation endpoint only minted it after checking the new
    // credentials against moto; they belong to the same role session.
    assert_eq!(app.federation.token_identity(&fresh).unwrap(), session["assumed_role_arn"]);

    let landed = app.http.get(&login).send().await.unwrap();
    assert_eq!(landed.status(), 302);
    assert_eq!(landed.headers()["location"], destination);
}

#[tokio::test]
async fn links_work_later_and_stop_at_expiry() {
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let app = TestApp::spawn_with(TestOptions { clock: clock.clone(), ..Default::default() }).await;
    let session = app.issue(&json!({"session_id": "learner-later", "duration_seconds": 3600})).await;
    let launch = app.launch_url(&session);

    clock.advance(Duration::from_secs(20 * 60));
    let response = click(&app, &launch).await;
    assert_eq!(response.status(), 302, "20 minutes later the link still works");
    // The fresh credentials only cover what is left of the session.
    let last = app.federation.calls().into_iter().rfind(|c| c.action == "getSigninToken").unwrap();
    let seconds: u32 = last.session_duration.unwrap().parse().unwrap();
    assert!((2390..=2410).contains(&seconds), "remaining lifetime, got {seconds}");

    clock.advance(Duration::from_secs(41 * 60));
    let response = click(&app, &launch).await;
    assert_eq!(response.status(), 401, "expired");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(response.text().await.unwrap().contains("expired"));
}

#[tokio::test]
async fn tampered_foreign_and_missing_tickets_are_refused() {
    let app = TestApp::spawn().await;
    let session = app.issue(&json!({"session_id": "learner-tamper"})).await;
    let launch = app.launch_url(&session);
    let ticket = launch.split_once("ticket=").unwrap().1.to_owned();
    let (payload, signature) = ticket.split_once('.').unwrap();
    let mut flipped = payload.as_bytes().to_vec();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let foreign = sandbox_broker::domain::ticket::TicketSigner::new(&secrecy::SecretString::from(
        "another-key-another-key-another-key!",
    ))
    .unwrap()
    .sign(&sandbox_broker::domain::ticket::Ticket {
        session_id: "learner-tamper".into(),
        profile: "s3".into(),
        region: "eu-west-1".into(),
        destination: "https://console.aws.amazon.com/".into(),
        exp: u64::MAX / 2,
        session_policy: None,
        policy_arns: Vec::new(),
    });
    let before = app.calls.get();
    for bad in [
        format!("{}/console/launch", app.base),
        format!("{}/console/launch?ticket=", app.base),
        format!("{}/console/launch?ticket={}.{signature}", app.base, String::from_utf8(flipped).unwrap()),
        format!("{}/console/launch?ticket={payload}.AAAA", app.base),
        format!("{}/console/launch?ticket={foreign}", app.base),
    ] {
        let response = click(&app, &bad).await;
        assert_eq!(response.status(), 401, "{bad}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    }
    assert_eq!(app.calls.get(), before, "no AWS call for a bad ticket");
}

fn signin_calls(app: &TestApp) -> usize {
    app.calls.names().iter().filter(|c| **c == "federation.signin_token").count()
}

/// Clicks on one ticket re-serve the sign-in URL minted for it while it is
/// valid; HEAD (link scanners) checks the link and mints nothing; neither
/// serves a revoked session.
#[tokio::test]
async fn clicks_reuse_a_valid_signin_url_and_head_mints_nothing() {
    let app = TestApp::spawn().await;
    let session = app.issue(&json!({"session_id": "learner-reuse"})).await;
    let launch = app.launch_url(&session);
    let (minted_before, sts_before) =
        (signin_calls(&app), app.calls.names().iter().filter(|c| c.starts_with("sts.")).count());
    let head = app.http.head(&launch).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["cache-control"], "no-store");
    assert_eq!(signin_calls(&app), minted_before, "HEAD mints no sign-in token");
    assert_eq!(app.calls.names().iter().filter(|c| c.starts_with("sts.")).count(), sts_before, "nor credentials");

    let first = click(&app, &launch).await;
    let second = click(&app, &launch).await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (302, 302));
    assert_eq!(first.headers()["location"], second.headers()["location"], "the valid URL is re-served");
    assert_eq!(signin_calls(&app), minted_before + 1);

    assert_eq!(app.revoke("learner-reuse", "").await.0, 202);
    assert_eq!(app.http.head(&launch).send().await.unwrap().status(), 410);
    assert_eq!(click(&app, &launch).await.status(), 410, "a revoked session gets no re-served URL");
}

#[tokio::test]
async fn mints_per_session_are_limited() {
    let app = TestApp::spawn_with(TestOptions::configured(|s| s.console.launches_per_session_per_minute = 2)).await;
    let mut statuses = Vec::new();
    for seconds in [3600, 3700, 3800] {
        // Each issue gives the session a new ticket (its expiry differs).
        let session = app.issue(&json!({"session_id": "learner-limited", "duration_seconds": seconds})).await;
        let response = click(&app, &app.launch_url(&session)).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert_eq!(response.headers()["retry-after"], "30");
        }
    }
    assert_eq!(statuses, [302, 302, 429]);
}

/// One learner hammers a launch link while the platform issues sessions:
/// the platform must not notice (the STS budget is 20 calls per second).
#[tokio::test]
async fn a_launch_flood_on_one_ticket_leaves_session_issuance_working() {
    let app = Arc::new(TestApp::spawn_with(TestOptions::configured(|s| s.aws.sts_max_rps = 20)).await);
    let session = app.issue(&json!({"session_id": "learner-flood"})).await;
    let launch = app.launch_url(&session);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood: Vec<_> = (0..48)
        .map(|_| {
            let (app, launch, stop) = (app.clone(), launch.clone(), stop.clone());
            tokio::spawn(async move {
                let mut clicks = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = app.http.get(&launch).send().await;
                    clicks += 1;
                }
                clicks
            })
        })
        .collect();
    let issues: Vec<_> = (0..4)
        .map(|worker| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut created = 0;
                for i in 0..10 {
                    let body = json!({"session_id": format!("platform-{worker}-{i}")});
                    created += usize::from(app.post_sessions("", &body).await.status() == 201);
                }
                created
            })
        })
        .collect();
    let mut created = 0;
    for task in issues {
        created += task.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut clicks = 0;
    for task in flood {
        clicks += task.await.unwrap();
    }
    eprintln!("launch flood: {clicks} clicks, {created}/40 platform issues succeeded");
    assert!(clicks > 100, "the flood ran ({clicks} clicks)");
    assert!(created >= 38, "{created}/40 platform issues succeeded under a launch flood");
}
