//! Slow, idle and half-open clients: deadlines, the connection cap and a
//! shutdown that does not wait for them.

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, TestOptions, start_broker, test_config_toml, wait_for_exit, write_config};
use sandbox_broker::config::ServerSettings;

const HALF_A_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ";

async fn half_open(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(HALF_A_HEAD).await.unwrap();
    stream
}

/// Whether the server closed the connection before `within` passed.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    matches!(tokio::time::timeout(within, stream.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
}

async fn app_with(configure: impl FnOnce(&mut ServerSettings) + Send + 'static) -> (TestApp, u16) {
    let app = TestApp::spawn_with(TestOptions::configured(|s| configure(&mut s.server))).await;
    let port = app.base.rsplit(':').next().unwrap().parse().unwrap();
    (app, port)
}

#[tokio::test]
async fn half_open_connections_are_closed_within_the_header_timeout() {
    let (app, port) = app_with(|s| {
        s.header_read_timeout_ms = 500;
        s.max_connections = 64;
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..150 {
        slow.push(half_open(port).await);
    }
    // Far more slow clients than the cap, yet probes get through at once.
    for _ in 0..5 {
        let health = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(health.status(), 200);
    }
    let started = Instant::now();
    for stream in &mut slow {
        let left = Duration::from_secs(5).saturating_sub(started.elapsed());
        assert!(closed_by_server(stream, left).await, "a half-open connection outlived the header timeout");
    }
    let metrics = app.metrics().await;
    assert!(metrics.contains("sandbox_broker_http_connections_closed_total{reason=\"header_timeout\"}"), "{metrics}");
    assert!(metrics.contains("sandbox_broker_http_connections_closed_total{reason=\"evicted\"}"), "{metrics}");
}

#[tokio::test]
async fn idle_keep_alive_connections_get_the_idle_timeout_not_the_header_timeout() {
    let (_app, port) = app_with(|s| {
        s.header_read_timeout_ms = 300;
        s.idle_timeout_ms = 2000;
    })
    .await;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Idle for longer than the header timeout: still open, and usable.
    tokio::time::sleep(Duration::from_millis(900)).await;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "keep-alive connection closed early");
    // A head started after that is held to the header timeout again.
    stream.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    assert!(closed_by_server(&mut stream, Duration::from_secs(3)).await);
    // And a silent keep-alive connection closes after the idle timeout.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
    let _ = idle.read(&mut buf).await.unwrap();
    assert!(closed_by_server(&mut idle, Duration::from_secs(6)).await);
}

#[tokio::test]
async fn a_flood_of_slow_clients_keeps_file_descriptors_and_memory_bounded_and_sigterm_prompt() {
    let moto = &crate::helpers::Moto::shared().endpoint;
    let roles = vec![("s3".to_owned(), "unused-role".to_owned())];
    let auth = format!("hs256_secret = \"{}\"", crate::helpers::HS256_SECRET);
    let toml = test_config_toml(moto, "http://127.0.0.1:9/federation", &roles, &auth, "").replace(
        "request_timeout_ms = 10000",
        "request_timeout_ms = 10000\nshutdown_grace_seconds = 30\nmax_connections = 200\nheader_read_timeout_ms = 60000",
    );
    let (_dir, path) = write_config(&toml);
    let mut broker = start_broker(&path, &[("AWS_ACCESS_KEY_ID", "AKIASLOW"), ("AWS_SECRET_ACCESS_KEY", "slow")]);
    let pid = broker.child.id();
    let port: u16 = broker.base.rsplit(':').next().unwrap().parse().unwrap();
    let rss_kb = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap().trim().trim_end_matches(" kB").parse::<u64>()
    };
    let before = rss_kb().unwrap();
    let mut slow = Vec::new();
    for _ in 0..2_000 {
        slow.push(half_open(port).await);
    }
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{}/healthz", broker.base)).send().await.unwrap().status(), 200);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count();
    assert!(fds < 200 + 64, "{fds} descriptors open for a cap of 200 connections");
    let grown_mb = rss_kb().unwrap().saturating_sub(before) / 1024;
    assert!(grown_mb < 40, "RSS grew by {grown_mb} MB for 2,000 slow clients");

    // The slow clients are idle: SIGTERM does not wait the 30 s grace for them.
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    let status =
        wait_for_exit(&mut broker.child, Duration::from_secs(10), "shutdown waited for idle connections").await;
    assert_eq!(status.code(), Some(0));
}
