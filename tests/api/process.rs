//! The binary as a process: signals, the host it runs on, the credentials
//! it finds.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    BIN, FederationServer, Moto, create_role, free_port, start_broker, test_config_toml, unique, wait_for_exit,
    write_config,
};

#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_exits_zero() {
    let moto = &Moto::shared().endpoint;
    let federation = FederationServer::start(moto, Duration::from_secs(3)).await;
    let roles = vec![("s3".to_owned(), unique("drain-role"))];
    create_role(moto, &roles[0].1, 43_200).await;
    let auth = format!("hs256_secret = \"{}\"", crate::helpers::HS256_SECRET);
    let toml = test_config_toml(moto, &federation.endpoint(), &roles, &auth, "")
        .replace("request_timeout_ms = 10000", "request_timeout_ms = 10000\nshutdown_grace_seconds = 10")
        .replace("call_timeout_ms = 2000", "call_timeout_ms = 8000");
    let (_dir, path) = write_config(&toml);
    crate::helpers::create_ledger(moto, &path).await;
    let mut broker =
        start_broker(&path, &[("AWS_ACCESS_KEY_ID", "AKIADRAIN"), ("AWS_SECRET_ACCESS_KEY", "drain-secret")]);
    let http = reqwest::Client::new();
    let ready = http.get(format!("{}/readyz", broker.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    // A request that takes about 3 seconds (the federation endpoint is slow).
    let token = crate::helpers::mint(json!({"scope": "sessions:issue"}));
    let slow = {
        let (http, url) = (http.clone(), format!("{}/sessions", broker.base));
        tokio::spawn(async move {
            http.post(url).bearer_auth(token).json(&json!({"session_id": "learner-drain"})).send().await
        })
    };
    // SIGTERM once the request is in flight: the federation endpoint holds it.
    let deadline = Instant::now() + crate::helpers::LOADED;
    while !federation.calls().iter().any(|c| c.action == "getSigninToken") {
        assert!(Instant::now() < deadline, "the request never reached the federation endpoint");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let pid = broker.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());

    // Readiness flips while the listener still answers. Each probe on a
    // connection of its own, as an orchestrator's: draining closes idle
    // keep-alive connections at once.
    let probe = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    loop {
        let ready = probe.get(format!("{}/readyz", broker.base)).send().await.unwrap();
        if ready.status() == 503 {
            assert_eq!(ready.json::<Value>().await.unwrap()["error"]["code"], "not_ready");
            break;
        }
        assert!(started.elapsed() < crate::helpers::LOADED, "readyz never turned 503 after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let response = slow.await.unwrap().unwrap();
    assert_eq!(response.status(), 201, "the in-flight request completes");
    let limit = Duration::from_secs(10).saturating_sub(started.elapsed());
    let status = wait_for_exit(&mut broker.child, limit, "exit within the grace period").await;
    assert_eq!(status.code(), Some(0));
}

/// Without `server.replica_id` the revocation policy is named after the
/// kernel's host name (not `$HOSTNAME`, which bash does not export).
#[tokio::test]
async fn replica_id_defaults_to_the_kernel_host_name() {
    let moto = &Moto::shared().endpoint;
    let roles = vec![("s3".to_owned(), unique("replica-role"))];
    create_role(moto, &roles[0].1, 43_200).await;
    let auth = format!("hs256_secret = \"{}\"", crate::helpers::HS256_SECRET);
    let toml = test_config_toml(moto, "http://127.0.0.1:9/federation", &roles, &auth, "")
        .replace("replica_id = \"test\"\n", "");
    let (_dir, path) = write_config(&toml);
    crate::helpers::create_ledger(moto, &path).await;
    let broker = start_broker(
        &path,
        &[("AWS_ACCESS_KEY_ID", "AKIAREPLICA"), ("AWS_SECRET_ACCESS_KEY", "replica"), ("HOSTNAME", "not-this-one")],
    );
    let token = crate::helpers::mint(json!({"scope": "sessions:revoke"}));
    let response =
        reqwest::Client::new().delete(format!("{}/sessions/learner-1", broker.base)).bearer_auth(token).send().await;
    assert_eq!(response.unwrap().status(), 202);
    let names = crate::helpers::iam_client(moto).list_role_policies().role_name(&roles[0].1).send().await.unwrap();
    let host = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap();
    assert_eq!(names.policy_names(), [format!("sandbox-broker-revocations-{}", host.trim())]);
}

/// With no AWS credentials anywhere, readiness says exactly that, and the
/// SDK's per-provider debug dump stays out of the log.
#[tokio::test]
async fn missing_aws_credentials_are_named_as_such() {
    let home = tempfile::tempdir().unwrap();
    let local = crate::helpers::repo_path("config/local.toml");
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(BIN)
        .args(["--config", local.to_str().unwrap(), "serve"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SANDBOX_BROKER__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("SANDBOX_BROKER__AWS__ENDPOINT_URL", format!("http://127.0.0.1:{}", free_port()))
        .stderr(Stdio::from(log.reopen().unwrap()))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + crate::helpers::LOADED;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "broker did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("no AWS credentials"), "{message}");
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(!logged.contains("ProviderError"), "{logged}");
}

/// The README's commands run as written against the shipped production
/// example: `check-config` once the ticket secret file exists (JWKS needs no
/// secret), and `bootstrap --dry-run` with AWS credentials alone.
#[tokio::test]
async fn the_production_example_checks_out_and_bootstraps() {
    let example = crate::helpers::repo_path("config/production.example.toml");
    let example = example.to_str().unwrap();
    let ticket = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ticket.path(), "a-ticket-secret-that-is-long-enough-0123456789\n").unwrap();
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut command = Command::new(BIN);
        command.args(args).env_remove("SANDBOX_BROKER_CONFIG").envs(envs.iter().copied());
        command.output().unwrap()
    };
    let ticket_env = ("SANDBOX_BROKER__CONSOLE__TICKET_SECRET_FILE", ticket.path().to_str().unwrap());
    let out = run(&["--config", example, "check-config"], &[ticket_env]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["--config", example, "check-config"], &[]);
    assert!(!out.status.success(), "the ticket secret file is required to serve");
    let moto = &Moto::shared().endpoint;
    let envs = [
        ("SANDBOX_BROKER__AWS__ENDPOINT_URL", moto.as_str()),
        ("SANDBOX_BROKER__PROFILES__S3__ROLE_NAME", "production-example-s3"),
        ("AWS_ACCESS_KEY_ID", "AKIAPRODEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "example"),
        ("RUST_LOG", "warn"),
    ];
    let out = run(&["--config", example, "bootstrap", "--dry-run"], &envs);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
}
