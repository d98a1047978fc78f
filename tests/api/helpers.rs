//! The test harness: one moto server per test binary, a fake console
//! federation endpoint per test, and `TestApp` running the real broker on
//! port 0 against both.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use sandbox_broker::aws::Upstreams;
use sandbox_broker::aws::{
    AssumeRoleInput, CallerIdentity, Federation, Iam, IssuedCredentials, RoleDetails, RoleInfo, Sts,
    TemporaryCredentials, UpstreamError,
};
use sandbox_broker::clock::{Clock, SystemClock};
use sandbox_broker::startup::Application;
use secrecy::SecretString;
use serde_json::{Value, json};

pub use crate::federation::FakeFederation;

pub const HS256_SECRET: &str = "test-hs256-secret-0123456789abcdefghijklmnop";
pub const TICKET_SECRET: &str = "test-ticket-secret-0123456789abcdefghijklmnop";
pub const ISSUER: &str = "https://platform.test";
pub const AUDIENCE: &str = "sandbox-broker";
pub const REGION: &str = "eu-west-1";
pub const ACCOUNT: &str = "123456789012";
pub const ALL_SCOPES: &str = "sessions:issue sessions:revoke admin";

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
        let moto = venv_tool("moto_server", "MOTO_SERVER");
        assert!(moto.exists(), "{} missing: run scripts/test.sh (it creates .venv)", moto.display());
        let port = free_port();
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("'{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; read _; kill $m", moto.display()))
            .stdin(Stdio::piped());
        for (k, v) in extra_env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn moto");
        let stdin = child.stdin.take().expect("moto stdin");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
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

/// Something to run once, just before a given upstream call is forwarded.
type Hook = Box<dyn FnOnce() -> futures_util::future::BoxFuture<'static, ()> + Send>;

/// Records every upstream call the broker makes, then forwards it.
#[derive(Default)]
pub struct CallCounter {
    calls: std::sync::Mutex<Vec<&'static str>>,
    before: std::sync::Mutex<Option<(&'static str, Hook)>>,
}

impl CallCounter {
    pub fn get(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
    /// Names of the calls so far, e.g. `iam.put_inline_policy`.
    pub fn names(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }
    pub fn reset(&self) {
        self.calls.lock().unwrap().clear();
    }
    /// Runs `hook` once, right before the next call named `name` (e.g. to
    /// play another replica changing IAM between the broker's read and write).
    pub fn before_next(&self, name: &'static str, hook: Hook) {
        *self.before.lock().unwrap() = Some((name, hook));
    }
    async fn hit(&self, name: &'static str) {
        self.calls.lock().unwrap().push(name);
        let hook = {
            let mut before = self.before.lock().unwrap();
            if before.as_ref().is_some_and(|(n, _)| *n == name) { before.take().map(|(_, h)| h) } else { None }
        };
        if let Some(hook) = hook {
            hook().await;
        }
    }
}

struct Counted<T: ?Sized> {
    inner: Arc<T>,
    counter: Arc<CallCounter>,
}

/// Implements a trait for `Counted<dyn Trait>` by recording and forwarding.
macro_rules! counted_impl {
    ($trait:ident, $prefix:literal, $( fn $name:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty; )*) => {
        #[async_trait]
        impl $trait for Counted<dyn $trait> {
            $( async fn $name(&self $(, $arg: $ty)*) -> $ret {
                self.counter.hit(concat!($prefix, ".", stringify!($name))).await;
                self.inner.$name($($arg),*).await
            } )*
        }
    };
}

counted_impl! {
    Sts, "sts",
    fn caller_identity(&self) -> Result<CallerIdentity, UpstreamError>;
    fn assume_role(&self, input: &AssumeRoleInput) -> Result<IssuedCredentials, UpstreamError>;
}

counted_impl! {
    Federation, "federation",
    fn signin_token(
        &self,
        endpoint: &str,
        credentials: &TemporaryCredentials,
        session_duration: Option<u32>,
    ) -> Result<SecretString, UpstreamError>;
}

counted_impl! {
    Iam, "iam",
    fn get_role(&self, role_name: &str) -> Result<Option<RoleInfo>, UpstreamError>;
    fn role_details(&self, role_name: &str) -> Result<Option<RoleDetails>, UpstreamError>;
    fn create_role(
        &self,
        role_name: &str,
        trust_policy: &str,
        max_session_seconds: u32,
        tags: &[(String, String)],
        permissions_boundary_arn: Option<&str>,
    ) -> Result<RoleInfo, UpstreamError>;
    fn update_trust_policy(&self, role_name: &str, document: &str) -> Result<(), UpstreamError>;
    fn update_max_session(&self, role_name: &str, seconds: u32) -> Result<(), UpstreamError>;
    fn tag_role(&self, role_name: &str, tags: &[(String, String)]) -> Result<(), UpstreamError>;
    fn set_permissions_boundary(
        &self,
        role_name: &str,
        arn: Option<&str>,
    ) -> Result<(), UpstreamError>;
    fn list_inline_policies(&self, role_name: &str) -> Result<Vec<String>, UpstreamError>;
    fn get_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<Option<String>, UpstreamError>;
    fn put_inline_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), UpstreamError>;
    fn delete_inline_policy(&self, role_name: &str, policy_name: &str)
    -> Result<(), UpstreamError>;
    fn list_attached_policies(&self, role_name: &str) -> Result<Vec<String>, UpstreamError>;
    fn attach_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), UpstreamError>;
    fn detach_policy(&self, role_name: &str, policy_arn: &str) -> Result<(), UpstreamError>;
    fn delete_role(&self, role_name: &str) -> Result<(), UpstreamError>;
}

fn counted(upstreams: Upstreams, counter: &Arc<CallCounter>) -> Upstreams {
    Upstreams {
        sts: Arc::new(Counted { inner: upstreams.sts, counter: counter.clone() }),
        iam: Arc::new(Counted { inner: upstreams.iam, counter: counter.clone() }),
        federation: Arc::new(Counted { inner: upstreams.federation, counter: counter.clone() }),
    }
}

/// What a test wants different from the defaults.
pub struct TestOptions {
    /// AWS endpoint; default: the shared moto.
    pub aws_endpoint: Option<String>,
    /// The broker's own AWS SDK config; default: static keys for moto.
    pub sdk: Option<SdkConfig>,
    /// Extra TOML appended to the generated config (profiles, overrides).
    pub extra_toml: String,
    /// Max session duration of the roles created for the profiles.
    pub role_max_session: i32,
    /// Whether to create the profiles' roles in moto.
    pub create_roles: bool,
    pub clock: Arc<dyn Clock>,
    pub federation_delay: Duration,
    /// The `[auth]` key source line(s); default: the test HS256 secret.
    pub auth_source: String,
    /// (profile, role name) pairs; default: fresh unique names.
    pub roles: Option<Vec<(String, String)>>,
    /// Extra lines for the `[server]` and `[aws]` tables.
    pub server_overrides: String,
    pub aws_overrides: String,
    pub console_overrides: String,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            aws_endpoint: None,
            sdk: None,
            extra_toml: String::new(),
            role_max_session: 43_200,
            create_roles: true,
            clock: Arc::new(SystemClock),
            federation_delay: Duration::ZERO,
            auth_source: format!("hs256_secret = \"{HS256_SECRET}\""),
            roles: None,
            server_overrides: String::new(),
            aws_overrides: String::new(),
            console_overrides: String::new(),
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub aws_endpoint: String,
    pub federation: FakeFederation,
    pub calls: Arc<CallCounter>,
    /// Role name of each profile: `s3` (default) and `other`.
    pub roles: Vec<(String, String)>,
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
"#
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

/// Puts `key = value` lines at the top of `table`, replacing the same keys.
fn override_keys(toml: &str, table: &str, overrides: &str) -> String {
    let keys: Vec<&str> = overrides.lines().filter_map(|l| l.split('=').next()).map(str::trim).collect();
    let kept: Vec<&str> =
        toml.lines().filter(|line| !keys.iter().any(|k| line.split('=').next().map(str::trim) == Some(*k))).collect();
    kept.join("\n").replace(&format!("{table}\n"), &format!("{table}\n{overrides}"))
}

/// Writes a config dir (config.toml + the shipped policies) and loads it.
pub fn write_config(toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("policies")).expect("mkdir");
    for policy in ["s3.json", "s3-isolated.json"] {
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
        let federation = FakeFederation::start(&aws_endpoint, opts.federation_delay).await;
        let roles = opts.roles.clone().unwrap_or_else(|| {
            vec![("s3".to_owned(), unique("sandbox-s3")), ("other".to_owned(), unique("sandbox-other"))]
        });
        if opts.create_roles {
            for (_, role) in &roles {
                create_role(&aws_endpoint, role, opts.role_max_session).await;
            }
        }
        let toml = test_config_toml(&aws_endpoint, &federation.endpoint(), &roles, &opts.auth_source, &opts.extra_toml);
        let toml = override_keys(&toml, "[server]", &opts.server_overrides);
        let toml = override_keys(&toml, "[aws]", &opts.aws_overrides);
        let toml = override_keys(&toml, "[console]", &opts.console_overrides);
        let (config_dir, path) = write_config(&toml);
        let settings = sandbox_broker::config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        let sdk = opts.sdk.unwrap_or_else(|| broker_sdk_config(&aws_endpoint));
        let calls = Arc::new(CallCounter::default());
        let upstreams = counted(Upstreams::from_sdk_config(&settings, &sdk).expect("upstreams"), &calls);
        let app = Application::build_with(settings, upstreams, opts.clock).await.expect("build app");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until(std::future::pending()));
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        TestApp { base, http, aws_endpoint, federation, calls, roles, _config_dir: config_dir }
    }

    pub fn config_path(&self) -> PathBuf {
        self._config_dir.path().join("config.toml")
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

    pub async fn issue(&self, body: &Value) -> Value {
        let response = self.post_sessions("", body).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(status, 201, "{text}");
        serde_json::from_str(&text).expect("json")
    }
}

/// An HS256 platform token with sane defaults; `overrides` replaces or adds
/// claims (a `null` value removes the claim).
pub fn mint(overrides: Value) -> String {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("time").as_secs();
    let mut claims =
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "platform-test", "iat": now, "nbf": now, "exp": now + 600});
    merge_claims(&mut claims, overrides);
    let key = jsonwebtoken::EncodingKey::from_secret(HS256_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("sign")
}

pub fn merge_claims(claims: &mut Value, overrides: Value) {
    if let (Some(target), Value::Object(extra)) = (claims.as_object_mut(), overrides) {
        for (k, v) in extra {
            if v.is_null() {
                target.remove(&k);
            } else {
                target.insert(k, v);
            }
        }
    }
}

/// The (secret, token) moto recorded for an access key it issued.
pub async fn moto_issued_triple(endpoint: &str, access_key_id: &str) -> Option<(String, String)> {
    let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json")).await.ok()?.json().await.ok()?;
    data["sts"]["AssumedRole"].as_array()?.iter().find(|r| r["access_key_id"] == access_key_id).map(|r| {
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

impl TestApp {
    /// Calls an admin route with an `admin` token; returns status and JSON.
    pub async fn admin(&self, method: reqwest::Method, path_and_query: &str) -> (u16, Value) {
        let response = self
            .http
            .request(method, format!("{}{path_and_query}", self.base))
            .bearer_auth(self.token("admin"))
            .send()
            .await
            .expect("admin call");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
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

    pub async fn revoke(&self, session_id: &str, query: &str) -> (u16, Value) {
        let id: String = url::form_urlencoded::byte_serialize(session_id.as_bytes()).collect();
        let response = self
            .http
            .delete(format!("{}/sessions/{}{query}", self.base, id.replace('+', "%20")))
            .bearer_auth(self.token("sessions:revoke"))
            .send()
            .await
            .expect("DELETE /sessions");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}
