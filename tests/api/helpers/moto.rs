//! The AWS emulator: one moto server per test binary, SDK clients for it,
//! and what it recorded.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use serde_json::{Value, json};

use super::{ACCOUNT, REGION};

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A tool from `.venv/bin`, or the one named by an environment variable.
pub fn venv_tool(name: &str, env_override: &str) -> PathBuf {
    std::env::var_os(env_override).map(PathBuf::from).unwrap_or_else(|| repo_path(&format!(".venv/bin/{name}")))
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A moto server. It runs under a shell that kills it when our end of its
/// stdin closes, i.e. when the test binary exits.
pub struct Moto {
    pub endpoint: String,
    _child: Child,
    _stdin: ChildStdin,
}

impl Moto {
    pub fn start(extra_env: &[(&str, &str)]) -> Moto {
        // moto's server with DynamoDB's item writes atomic (see the script).
        let python = venv_tool("python", "PYTHON");
        assert!(python.exists(), "{} missing: run scripts/test.sh (it creates .venv)", python.display());
        let server = repo_path("tests/support/moto_server.py");
        let port = free_port();
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!(
                "'{}' '{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; read _; kill $m",
                python.display(),
                server.display()
            ))
            .stdin(Stdio::piped());
        for (k, v) in extra_env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn moto");
        let stdin = child.stdin.take().expect("moto stdin");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + super::LOADED;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { endpoint, _child: child, _stdin: stdin }
    }

    pub fn shared() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(|| Moto::start(&[]))
    }
}

pub fn sdk_config(endpoint: &str, access_key: &str, secret: &str, token: Option<&str>) -> SdkConfig {
    let creds = Credentials::new(access_key, secret, token.map(str::to_owned), None, "test");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .build()
}

/// The broker's own credentials in moto (an IAM user as far as moto knows).
pub fn broker_sdk_config(endpoint: &str) -> SdkConfig {
    sdk_config(endpoint, "AKIAIOSFODNN7EXAMPLE", "broker-secret-key", None)
}

pub fn iam_client(endpoint: &str) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&broker_sdk_config(endpoint))
}

pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// Creates a role in moto directly (bootstrap's job in production).
pub async fn create_role(endpoint: &str, name: &str, max_session_seconds: i32) -> String {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]});
    let out = iam_client(endpoint)
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .max_session_duration(max_session_seconds)
        .send()
        .await
        .expect("create role");
    out.role().expect("role").arn().to_owned()
}

/// Every AssumeRole moto answered, as its state dump records them (asked
/// again when the dump fails: moto builds it while other requests change
/// its state).
pub async fn moto_assumed_roles(endpoint: &str) -> Vec<Value> {
    for _ in 0..3 {
        let dump = async {
            reqwest::get(format!("{endpoint}/moto-api/data.json"))
                .await
                .ok()?
                .error_for_status()
                .ok()?
                .json::<Value>()
                .await
                .ok()
        };
        if let Some(data) = dump.await {
            return data["sts"]["AssumedRole"].as_array().cloned().unwrap_or_default();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Vec::new()
}

/// The (secret, token) moto recorded for an access key it issued.
pub async fn moto_issued_triple(endpoint: &str, access_key_id: &str) -> Option<(String, String)> {
    moto_assumed_roles(endpoint).await.into_iter().find(|r| r["access_key_id"] == access_key_id).map(|r| {
        (r["secret_access_key"].as_str().unwrap_or("").to_owned(), r["session_token"].as_str().unwrap_or("").to_owned())
    })
}

/// GetCallerIdentity through the AWS SDK with a learner's credentials.
pub async fn whoami(endpoint: &str, creds: &Value) -> Result<String, String> {
    let conf = sdk_config(
        endpoint,
        creds["access_key_id"].as_str().unwrap_or(""),
        creds["secret_access_key"].as_str().unwrap_or(""),
        creds["session_token"].as_str(),
    );
    aws_sdk_sts::Client::new(&conf)
        .get_caller_identity()
        .send()
        .await
        .map(|out| out.arn().unwrap_or_default().to_owned())
        .map_err(|e| format!("{e:?}"))
}

/// Creates the ledger table a config file names (bootstrap's job in
/// production), for tests that run the real binary against moto.
pub async fn create_ledger(endpoint: &str, config: &std::path::Path) {
    let settings = sandbox_broker::config::load(Some(config)).unwrap();
    let client = aws_sdk_dynamodb::Client::new(&broker_sdk_config(endpoint));
    let ledger = sandbox_broker::aws::ledger::dynamo::DynamoLedger::new(client, settings.ledger.table);
    sandbox_broker::aws::ledger::Ledger::create(&ledger).await.unwrap();
}
