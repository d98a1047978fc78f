//! Each `?format=` is consumed by its real client: the AWS CLI reading a
//! credentials file, a shell sourcing exports, the CLI's credential_process.

use std::path::Path;

use serde_json::{Value, json};
use tokio::process::Command;

use crate::helpers::{REGION, TestApp, venv_tool};

async fn issue_text(app: &TestApp, query: &str, session_id: &str) -> (String, String) {
    let response = app.post_sessions(query, &json!({"session_id": session_id})).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    (content_type, response.text().await.unwrap())
}

/// Runs the AWS CLI (from .venv) with a clean credential environment.
fn aws_cli(app: &TestApp, dir: &Path) -> Command {
    let mut command = Command::new(venv_tool("aws", "AWS_CLI"));
    command
        .args(["--endpoint-url", &app.aws_endpoint, "--output", "json", "sts", "get-caller-identity"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

async fn caller_arn(mut command: Command) -> String {
    let out = command.output().await.expect("run aws cli");
    assert!(out.status.success(), "aws cli failed: {}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("cli json");
    doc["Arn"].as_str().unwrap().to_owned()
}

fn expected_arn(app: &TestApp, session: &str) -> String {
    format!("arn:aws:sts::123456789012:assumed-role/{}/{session}", app.role("s3"))
}

#[tokio::test]
async fn credentials_file_works_with_the_aws_cli() {
    let app = TestApp::spawn().await;
    let (content_type, text) = issue_text(&app, "?format=credentials-file&profile_name=lab", "learner-ini").await;
    assert!(content_type.starts_with("text/plain"));
    assert!(text.starts_with("[lab]\naws_access_key_id = ASIA"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("credentials"), &text).unwrap();
    std::fs::write(dir.path().join("config"), format!("[profile lab]\nregion = {REGION}\n")).unwrap();
    let mut cli = aws_cli(&app, dir.path());
    cli.env("AWS_PROFILE", "lab");
    assert_eq!(caller_arn(cli).await, expected_arn(&app, "learner-ini"));
}

#[tokio::test]
async fn credentials_file_section_defaults_to_the_role_session_name() {
    let app = TestApp::spawn().await;
    let (_, text) = issue_text(&app, "?format=credentials-file", "learner-ini2").await;
    assert!(text.starts_with("[learner-ini2]\n"), "{text}");
}

#[tokio::test]
async fn env_exports_work_in_a_shell() {
    let app = TestApp::spawn().await;
    let (_, text) = issue_text(&app, "?format=env", "learner-env").await;
    assert!(text.contains("export AWS_REGION=eu-west-1\n"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports.sh");
    std::fs::write(&exports, &text).unwrap();
    let cli = venv_tool("aws", "AWS_CLI");
    let mut shell = Command::new("bash");
    shell
        .arg("-c")
        .arg(format!(
            ". '{}' && exec '{}' --endpoint-url '{}' --output json sts get-caller-identity",
            exports.display(),
            cli.display(),
            app.aws_endpoint
        ))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"));
    assert_eq!(caller_arn(shell).await, expected_arn(&app, "learner-env"));
}

#[tokio::test]
async fn credential_process_output_is_accepted_by_the_aws_cli() {
    let app = TestApp::spawn().await;
    let (content_type, text) = issue_text(&app, "?format=credential-process", "learner-cp").await;
    assert_eq!(content_type, "application/json");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["Version"], 1);
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("process-output.json");
    std::fs::write(&output, &text).unwrap();
    std::fs::write(
        dir.path().join("config"),
        format!("[profile learner]\nregion = {REGION}\ncredential_process = cat {}\n", output.display()),
    )
    .unwrap();
    let mut cli = aws_cli(&app, dir.path());
    cli.env("AWS_PROFILE", "learner");
    assert_eq!(caller_arn(cli).await, expected_arn(&app, "learner-cp"));
}

#[tokio::test]
async fn link_is_the_console_url_alone() {
    let app = TestApp::spawn().await;
    let (content_type, text) = issue_text(&app, "?format=link", "learner-link").await;
    assert!(content_type.starts_with("text/plain"));
    let url = text.trim_end();
    assert!(!url.contains('\n'));
    assert!(url.starts_with(&format!("{}?Action=login&", app.federation.endpoint())), "{url}");
    let login = app.http.get(url).send().await.unwrap();
    assert_eq!(login.status(), 302);
}

#[tokio::test]
async fn unknown_format_and_bad_profile_name_are_rejected() {
    let app = TestApp::spawn().await;
    for query in ["?format=yaml", "?profile_name=a%5Db", "?profile_name=a%0Ab", "?colour=blue"] {
        let response = app.post_sessions(query, &json!({"session_id": "learner-q"})).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_query", "{query}");
    }
    assert_eq!(app.calls.get(), 0);
}

/// The CLI formats show no console URL, so they never call the federation
/// endpoint: with it down they still work, and each costs one upstream
/// round trip (AssumeRole) instead of two.
#[tokio::test]
async fn cli_formats_work_without_the_console_endpoint() {
    let app = TestApp::spawn_with(crate::helpers::TestOptions::configured(|s| {
        s.aws.federation_endpoint = Some("http://127.0.0.1:9/federation".into());
    }))
    .await;
    for format in ["credential-process", "credentials-file", "env"] {
        let (_, body) = issue_text(&app, &format!("?format={format}"), &format!("cli-{format}")).await;
        assert!(body.contains("ASIA"), "{format}: {body}");
    }
    assert!(!app.calls.names().contains(&"federation.signin_token"), "{:?}", app.calls.names());
    let response = app.post_sessions("?format=json", &json!({"session_id": "cli-json"})).await;
    assert_eq!(response.status(), 502, "the json format shows a console URL, so it needs the endpoint");
}
