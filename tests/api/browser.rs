//! A real browser follows a launch link: headless Chromium opens the
//! `launch_url`, follows the broker's 302 to the federation endpoint's
//! login and lands on the (fake, HTTPS) console destination page.
//! Runs when Chromium is installed (`.ci/run` installs it); otherwise it
//! says so and passes, except under CI (`CI` set), where it fails.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::helpers::{TestApp, repo_path};

fn chromium() -> Option<PathBuf> {
    let candidates =
        [std::env::var("CHROMIUM").unwrap_or_default(), "/usr/bin/chromium".into(), "/usr/bin/chromium-browser".into()];
    candidates.into_iter().filter(|c| !c.is_empty()).map(PathBuf::from).find(|p| p.exists())
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn chromium_follows_a_launch_link_to_the_console() {
    let Some(chromium) = chromium() else {
        // A skip must not pass for a success where the browser is expected.
        assert!(
            std::env::var("CI").is_err(),
            "Chromium is missing in CI (CI is set): .ci/run installs it; the browser test must run there"
        );
        eprintln!("skipped: Chromium is not installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=console.test"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut console = Command::new("python3")
        .arg(repo_path("tests/support/fake_console.py"))
        .args([&cert, &key])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(console.stdout.take().unwrap()).read_line(&mut port).unwrap();
    let _console = KillOnDrop(console);
    let port: u16 = port.trim().parse().unwrap();

    let app = TestApp::spawn().await;
    let destination = "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1";
    let session = app.issue(&json!({"session_id": "learner-browser", "destination": destination})).await;
    let launch = app.launch_url(&session);

    let profile = dir.path().join("profile");
    let output = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--ignore-certificate-errors",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        // The console host resolves to the fake console; nothing leaves the machine.
        .arg(format!("--host-resolver-rules=MAP eu-west-1.console.aws.amazon.com 127.0.0.1:{port}"))
        .arg("--dump-dom")
        .arg(&launch)
        .output()
        .await
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("fake-console-landed /s3/home?region=eu-west-1"),
        "the browser did not land on the console: {dom}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
