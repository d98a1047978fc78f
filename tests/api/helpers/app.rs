//! `TestApp`: the real broker on port 0, against moto and a fake
//! federation endpoint, configured through a closure over typed settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use sandbox_broker::aws::Upstreams;
use sandbox_broker::clock::{Clock, SystemClock};
use sandbox_broker::config::Settings;
use sandbox_broker::startup::Application;
use serde_json::{Value, json};

use super::calls::{CallCounter, counted};
use super::moto::{Moto, broker_sdk_config, create_role, repo_path, unique};
use super::{ALL_SCOPES, AUDIENCE, FederationServer, HS256_SECRET, ISSUER, REGION, TICKET_SECRET, mint};

/// Changes a test makes to the loaded, validated settings.
pub type Configure = Box<dyn FnOnce(&mut Settings) + Send>;

/// What a test wants different from the defaults.
pub struct TestOptions {
    /// AWS endpoint; default: the shared moto.
    pub aws_endpoint: Option<String>,
    /// The broker's own AWS SDK config; default: static keys for moto.
    pub sdk: Option<SdkConfig>,
    /// Max session duration of the roles created for the profiles.
    pub role_max_session: i32,
    /// Whether to create the profiles' roles in moto.
    pub create_roles: bool,
    pub clock: Arc<dyn Clock>,
    pub federation_delay: Duration,
    /// (profile, role name) pairs; default: fresh unique names.
    pub roles: Option<Vec<(String, String)>>,
    /// Applied to the settings after they were loaded from the generated
    /// file (typed: `|s| s.server.max_concurrency = 2`).
    pub configure: Configure,
    /// Replaces upstream services (a fault a test injects).
    pub upstreams: Box<dyn FnOnce(Upstreams) -> Upstreams + Send>,
}

impl TestOptions {
    /// Default options with `configure` applied to the settings.
    pub fn configured(configure: impl FnOnce(&mut Settings) + Send + 'static) -> Self {
        Self { configure: Box::new(configure), ..Self::default() }
    }
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            aws_endpoint: None,
            sdk: None,
            role_max_session: 43_200,
            create_roles: true,
            clock: Arc::new(SystemClock),
            federation_delay: Duration::ZERO,
            roles: None,
            configure: Box::new(|_| {}),
            upstreams: Box::new(|u| u),
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub aws_endpoint: String,
    pub federation: FederationServer,
    pub calls: Arc<CallCounter>,
    /// Role name of each profile: `s3` (default) and `other`.
    pub roles: Vec<(String, String)>,
    /// The ledger table this app uses (unique per app unless configured).
    pub ledger_table: String,
    /// The pool table this app uses (likewise).
    pool_table: String,
    /// Keeps the config directory alive as long as the app.
    _config_dir: tempfile::TempDir,
}

/// The config TOML of a test app, with placeholders filled in.
pub fn test_config_toml(
    aws_endpoint: &str,
    federation: &str,
    roles: &[(String, String)],
    auth_source: &str,
    extra: &str,
) -> String {
    let mut toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1"
request_timeout_ms = 10000
replica_id = "test"

[auth]
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
{auth_source}

[aws]
region = "{REGION}"
endpoint_url = "{aws_endpoint}"
federation_endpoint = "{federation}"
call_timeout_ms = 2000

[console]
issuer = "Test Platform"
ticket_secret = "{TICKET_SECRET}"

[ledger]
table = "{table}"

[pool]
table = "{pool}"

[spend]
# Off unless a test meters: a pass lists every type in the account, load
# the rest of the suite need not carry.
enabled = false
"#,
        table = unique("sessions"),
        pool = unique("accounts")
    );
    for (profile, role) in roles {
        let default = profile == "s3";
        toml.push_str(&format!(
            "\n[profiles.{profile}]\nrole_name = \"{role}\"\naccess_policy = \"policies/s3.json\"\ndefault = {default}\n"
        ));
    }
    toml.push_str(extra);
    toml
}

/// Writes a config dir (config.toml + the shipped policies) and loads it.
pub fn write_config(toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("policies")).expect("mkdir");
    for policy in ["s3.json", "s3-isolated.json", "lab-isolated.json"] {
        std::fs::copy(repo_path(&format!("config/policies/{policy}")), dir.path().join("policies").join(policy))
            .expect("copy policy");
    }
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).expect("write config");
    (dir, path)
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(TestOptions::default()).await
    }

    pub async fn spawn_with(opts: TestOptions) -> TestApp {
        let aws_endpoint = opts.aws_endpoint.clone().unwrap_or_else(|| Moto::shared().endpoint.clone());
        let federation = FederationServer::start(&aws_endpoint, opts.federation_delay).await;
        let roles = opts.roles.clone().unwrap_or_else(|| {
            vec![("s3".to_owned(), unique("sandbox-s3")), ("other".to_owned(), unique("sandbox-other"))]
        });
        if opts.create_roles {
            for (_, role) in &roles {
                create_role(&aws_endpoint, role, opts.role_max_session).await;
            }
        }
        let auth = format!("hs256_secret = \"{HS256_SECRET}\"");
        let toml = test_config_toml(&aws_endpoint, &federation.endpoint(), &roles, &auth, "");
        let (config_dir, path) = write_config(&toml);
        let mut settings = sandbox_broker::config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        (opts.configure)(&mut settings);
        let sdk = opts.sdk.unwrap_or_else(|| broker_sdk_config(&aws_endpoint));
        let calls = Arc::new(CallCounter::default());
        let ledger_table = settings.ledger.table.clone();
        let pool_table = settings.pool.table.clone();
        let upstreams = counted(Upstreams::from_sdk_config(&settings, &sdk).expect("upstreams"), &calls);
        let upstreams = (opts.upstreams)(upstreams);
        // The ledger table, like the roles, is bootstrap's job in production.
        if opts.create_roles {
            upstreams.ledger.create().await.expect("create the ledger table");
            upstreams.pool.create().await.expect("create the pool table");
        }
        let app = Application::build_with(settings, upstreams, opts.clock).await.expect("build app");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until(std::future::pending()));
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        TestApp {
            base,
            http,
            aws_endpoint,
            federation,
            calls,
            roles,
            ledger_table,
            pool_table,
            _config_dir: config_dir,
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self._config_dir.path().join("config.toml")
    }

    pub fn pool_table(&self) -> String {
        self.pool_table.clone()
    }

    pub fn role(&self, profile: &str) -> &str {
        &self.roles.iter().find(|(p, _)| p == profile).expect("profile").1
    }

    pub fn token(&self, scope: &str) -> String {
        mint(json!({ "scope": scope }))
    }

    pub async fn post_sessions(&self, query: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/sessions{query}", self.base))
            .bearer_auth(self.token(ALL_SCOPES))
            .json(body)
            .send()
            .await
            .expect("POST /sessions")
    }

    /// Issues keys only (`format=credential-process`: no console sign-in
    /// token, so no federation call), for tests that start many sessions;
    /// retried on the answers a real client retries.
    pub async fn issue_keys(&self, session_id: &str) {
        let body = json!({"session_id": session_id});
        let (status, answer) = retrying(session_id, || async {
            let response = self.post_sessions("?format=credential-process", &body).await;
            (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
        })
        .await;
        assert_eq!(status, 201, "{session_id}: {answer}");
    }

    pub async fn issue(&self, body: &Value) -> Value {
        let response = self.post_sessions("", body).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(status, 201, "{text}");
        serde_json::from_str(&text).expect("json")
    }
}

impl TestApp {
    /// Calls a route with a token carrying `scope`; returns status and JSON.
    pub async fn call(&self, method: reqwest::Method, path_and_query: &str, scope: &str) -> (u16, Value) {
        let response = self
            .http
            .request(method, format!("{}{path_and_query}", self.base))
            .bearer_auth(self.token(scope))
            .send()
            .await
            .expect("call");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.http.get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap()
    }

    /// Calls an admin route with an `admin` token; returns status and JSON.
    pub async fn admin(&self, method: reqwest::Method, path_and_query: &str) -> (u16, Value) {
        self.call(method, path_and_query, "admin").await
    }
}

/// The actions of a bootstrap/teardown report.
pub fn actions(report: &Value) -> Vec<String> {
    report["changes"].as_array().map_or_else(Vec::new, |changes| {
        changes.iter().map(|c| c["action"].as_str().unwrap_or("?").to_owned()).collect()
    })
}

impl TestApp {
    /// The `launch_url` of a session response, pointed at this app.
    pub fn launch_url(&self, session: &Value) -> String {
        let url = session["console"]["launch_url"].as_str().expect("launch_url");
        let query = url.split_once('?').expect("query").1;
        format!("{}/console/launch?{query}", self.base)
    }

    /// Ends a session as a platform would: a 503 with `Retry-After` or a
    /// 504 is retried (DELETE is safe to retry) until a deadline.
    pub async fn end_retrying(&self, session_id: &str) -> (u16, Value) {
        retrying(session_id, || self.revoke(session_id, "")).await
    }

    pub async fn revoke(&self, session_id: &str, query: &str) -> (u16, Value) {
        let id: String = url::form_urlencoded::byte_serialize(session_id.as_bytes()).collect();
        let path = format!("/sessions/{}{query}", id.replace('+', "%20"));
        self.call(reqwest::Method::DELETE, &path, "sessions:revoke").await
    }
}

/// Repeats `send` while the answer is one a real client retries (503 from
/// load shedding, rate limits or a busy upstream; 504 from a timeout),
/// waiting a little between tries, until `LOADED` has passed; returns the
/// last answer.
async fn retrying<F, Fut>(what: &str, mut send: F) -> (u16, Value)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (u16, Value)>,
{
    let deadline = std::time::Instant::now() + super::LOADED;
    loop {
        let (status, body) = send().await;
        if !matches!(status, 503 | 504) || std::time::Instant::now() >= deadline {
            return (status, body);
        }
        // Shown with the test's output if it fails.
        eprintln!("{what}: retrying after {status} {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
