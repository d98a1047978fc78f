//! A learner's account on the registry tests' moto server, and creating a
//! resource in it as the learner would.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use sandbox_reset::clients::SdkBackend;
use sandbox_reset::engine::{self, Found, Mode, Options, Report, Scan};
use serde_json::Value;

use crate::helpers::{Moto, REGION, broker_sdk_config, repo_path, sdk_config, venv_tool};

pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| Moto::start(&[]))
}

/// An account of its own (moto keeps state per account for assumed-role
/// credentials), with the learner's credentials in it.
pub struct Account {
    pub id: String,
    pub key: String,
    creds: (String, String, String),
}

impl Account {
    pub async fn new() -> Account {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let id = format!("{:012}", 300_000_000_000 + u64::from(std::process::id()) * 1_000 + n);
        let sts = aws_sdk_sts::Client::new(&broker_sdk_config(&moto().endpoint));
        let out = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{id}:role/lab"))
            .role_session_name("learner")
            .send()
            .await
            .expect("assume role into the lab account");
        let c = out.credentials().expect("credentials");
        let creds = (c.access_key_id().to_owned(), c.secret_access_key().to_owned(), c.session_token().to_owned());
        // Keys start with a letter here: RDS and OpenSearch names must.
        Account { id, key: format!("ab{n:010x}"), creds }
    }

    /// Creates one resource of `kind` as the learner; returns its ARN.
    pub async fn create(&self, kind: &str) -> String {
        if kind == "athena:workgroup" {
            return self.work_group().await;
        }
        let out = self.lab(&["--key", &self.key, kind]);
        out["arn"].as_str().expect("lab.py printed an ARN").to_owned()
    }

    /// boto3 calls Athena over REST-JSON, which moto does not serve; the
    /// Rust SDK's JSON 1.1 it does.
    async fn work_group(&self) -> String {
        let (key, secret, token) = &self.creds;
        let client = aws_sdk_athena::Client::new(&sdk_config(&moto().endpoint, key, secret, Some(token)));
        let name = format!("{}-wg", self.key);
        let tag = aws_sdk_athena::types::Tag::builder().key("sandbox-key").value(&self.key).build();
        client.create_work_group().name(&name).tags(tag).send().await.expect("create work group");
        format!("arn:aws:athena:{REGION}:{}:workgroup/{name}", self.id)
    }

    /// Another learner (another key) in the same account.
    pub fn learner(&self, key: &str) -> Account {
        Account { id: self.id.clone(), key: key.to_owned(), creds: self.creds.clone() }
    }

    /// Builds the VPC lab (`tests/support/vpc_lab.py`); returns its ARNs.
    pub fn vpc_lab(&self) -> Vec<String> {
        let out = self.python("tests/support/vpc_lab.py", &["--key", &self.key]);
        out["arns"].as_array().expect("ARNs").iter().map(|a| a.as_str().expect("ARN").to_owned()).collect()
    }

    fn lab(&self, args: &[&str]) -> Value {
        self.python("tests/support/lab.py", args)
    }

    fn python(&self, script: &str, args: &[&str]) -> Value {
        self.script_in(REGION, script, args)
    }

    /// Runs a lab script as this learner in `region`.
    pub fn script_in(&self, region: &str, script: &str, args: &[&str]) -> Value {
        let (key, secret, token) = &self.creds;
        script_as(&moto().endpoint, region, (key, secret, token), script, args)
    }

    /// The SDK configuration of this learner's credentials.
    pub fn sdk(&self) -> aws_config::SdkConfig {
        let (key, secret, token) = &self.creds;
        sdk_config(&moto().endpoint, key, secret, Some(token))
    }

    pub fn backend(&self) -> SdkBackend {
        SdkBackend::new(self.sdk(), Some(moto().endpoint.clone()))
    }

    fn scan(&self) -> Scan {
        Scan { regions: vec![REGION.to_owned()], account: self.id.clone() }
    }

    pub async fn discover(&self, mode: &Mode) -> Found {
        engine::discover(&self.backend(), &self.scan(), mode, &options()).await
    }

    pub fn session(&self) -> Mode {
        Mode::Session { key: self.key.clone() }
    }

    pub async fn clean_session(&self) -> Report {
        self.run(&self.session()).await
    }

    /// Discovers what `mode` covers and deletes it.
    pub async fn run(&self, mode: &Mode) -> Report {
        let backend = self.backend();
        let found = engine::discover(&backend, &self.scan(), mode, &options()).await;
        engine::remove(&backend, found, &options(), false).await
    }
}

pub fn options() -> Options {
    Options { max_parallel: 16, resource_deadline: crate::helpers::LOADED, retries: 4 }
}

pub fn arns(outcomes: &[engine::Outcome]) -> Vec<&str> {
    outcomes.iter().map(|o| o.arn.as_str()).collect()
}

/// Runs a lab script against `endpoint` with a learner's credentials;
/// returns what it printed.
pub fn script_as(
    endpoint: &str,
    region: &str,
    (key, secret, token): (&str, &str, &str),
    script: &str,
    args: &[&str],
) -> Value {
    let out = std::process::Command::new(venv_tool("python", "PYTHON"))
        .arg(repo_path(script))
        .args(["--endpoint", endpoint, "--region", region])
        .args(args)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", token)
        .output()
        .expect("run a lab script");
    assert!(out.status.success(), "{script} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON from the lab script")
}
