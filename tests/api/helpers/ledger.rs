//! The session ledger and cleanup from a test's side: reading records
//! over HTTP, waiting for a state, and creating a learner's footprint with
//! `scripts/lib/footprint.py` (boto3, as a learner's own tools would).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::app::TestApp;
use super::moto::{repo_path, venv_tool};
use super::{REGION, iam_client, unique};

impl TestApp {
    /// `GET /sessions/{id}` with a `sessions:read` token.
    pub async fn session_record(&self, session_id: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, &format!("/sessions/{session_id}"), "sessions:read").await
    }

    /// `GET /sessions?…` with a `sessions:read` token.
    pub async fn list_sessions(&self, query: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, &format!("/sessions{query}"), "sessions:read").await
    }

    /// Polls the record until its state is one of `states`.
    pub async fn wait_for_state(&self, session_id: &str, states: &[&str], within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (status, record) = self.session_record(session_id).await;
            if status == 200 && states.iter().any(|s| record["state"] == *s) {
                return record;
            }
            assert!(Instant::now() < deadline, "{session_id} never reached {states:?}: {record}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A role Lambda functions can be created with (moto checks it exists).
pub async fn lambda_role(endpoint: &str) -> String {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let out = iam_client(endpoint)
        .create_role()
        .role_name(unique("lambda-lab"))
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create lambda role");
    out.role().expect("role").arn().to_owned()
}

/// Creates resources for each key (as the learner whose `creds` are given,
/// or as the test's own user); returns key → {"expected", "unsupported"}.
pub fn footprint(endpoint: &str, creds: Option<&Value>, keys: &[&str], extra: &[&str]) -> Value {
    let mut command = std::process::Command::new(venv_tool("python", "PYTHON"));
    command.arg(repo_path("scripts/lib/footprint.py")).args(["--endpoint", endpoint, "--region", REGION]);
    for key in keys {
        command.args(["--key", key]);
    }
    command.args(extra).env("AWS_CONFIG_FILE", "/nonexistent").env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    match creds {
        Some(c) => command
            .env("AWS_ACCESS_KEY_ID", c["access_key_id"].as_str().unwrap())
            .env("AWS_SECRET_ACCESS_KEY", c["secret_access_key"].as_str().unwrap())
            .env("AWS_SESSION_TOKEN", c["session_token"].as_str().unwrap()),
        None => command.env("AWS_ACCESS_KEY_ID", "AKIAFOOTPRINT").env("AWS_SECRET_ACCESS_KEY", "footprint"),
    };
    let out = command.output().expect("run footprint.py");
    assert!(out.status.success(), "footprint.py: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("footprint JSON")
}

/// The ARNs a report lists under `kind` (`deleted`, `failed`, `left`), sorted.
pub fn report_arns(record: &Value, kind: &str) -> Vec<String> {
    let mut arns: Vec<String> = record["cleanup"][kind]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["arn"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    arns.sort();
    arns
}

/// The strings of a JSON array, sorted.
pub fn strings(value: &Value) -> Vec<String> {
    let mut items: Vec<String> =
        value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default();
    items.sort();
    items
}
