//! The one stand-in for the AWS console federation endpoint, shared by the
//! tests (in process), the dev stack and compose (`fake_upstream
//! --federation-only`) and the benchmark. Nothing emulates the real one.
//!
//! With a moto URL it checks every submitted key triple against what moto
//! issued (`/moto-api/data.json`, one dump shared by concurrent checks) and asks moto who the credentials are
//! (sts:GetCallerIdentity) before answering `getSigninToken`; `login`
//! redirects known tokens to `Destination`. Without one (the benchmark) it
//! answers every `getSigninToken` at once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

/// One request the endpoint received.
#[derive(Debug, Clone)]
pub(crate) struct FederationCall {
    pub(crate) method: Method,
    pub(crate) action: String,
    pub(crate) session_duration: Option<String>,
    pub(crate) access_key_id: Option<String>,
}

/// The federation endpoint at `/federation`; clones share their records.
#[derive(Clone, Default)]
pub(crate) struct FakeFederation {
    /// The emulator to check credentials against; `None` checks nothing.
    moto: Option<String>,
    delay: Duration,
    calls: Arc<Mutex<Vec<FederationCall>>>,
    /// Sign-in token → the assumed-role ARN it logs in as.
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

static MINTED: AtomicU64 = AtomicU64::new(0);

impl FakeFederation {
    /// A federation endpoint that checks credentials against `moto` (when
    /// given) and waits `delay` before each answer.
    pub(crate) fn new(moto: Option<String>, delay: Duration) -> Self {
        Self { moto, delay, ..Self::default() }
    }

    /// The routes, for a server of the caller's.
    pub(crate) fn router(&self) -> Router {
        Router::new().route("/federation", any(federation)).with_state(self.clone())
    }

    /// Every request so far (recorded only when checking against moto: the
    /// benchmark's endpoint keeps nothing, so its memory stays flat).
    pub(crate) fn calls(&self) -> Vec<FederationCall> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The assumed-role ARN a sign-in token was issued for.
    pub(crate) fn token_identity(&self, token: &str) -> Option<String> {
        self.tokens.lock().ok()?.get(token).cloned()
    }
}

async fn federation(
    State(fed): State<FakeFederation>,
    method: Method,
    RawQuery(query): RawQuery,
    body: String,
) -> Response {
    let raw = if method == Method::POST { body } else { query.unwrap_or_default() };
    let params: HashMap<String, String> = url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let action = params.get("Action").cloned().unwrap_or_default();
    let session: Option<Value> = params.get("Session").and_then(|s| serde_json::from_str(s).ok());
    if fed.moto.is_some()
        && let Ok(mut calls) = fed.calls.lock()
    {
        calls.push(FederationCall {
            method: method.clone(),
            action: action.clone(),
            session_duration: params.get("SessionDuration").cloned(),
            access_key_id: session.as_ref().and_then(|s| s["sessionId"].as_str()).map(str::to_owned),
        });
    }
    // Recorded on arrival, so a test can tell a request is being held.
    if !fed.delay.is_zero() {
        tokio::time::sleep(fed.delay).await;
    }
    match action.as_str() {
        "getSigninToken" => signin_token(&fed, session).await,
        "login" => login(&fed, &params),
        _ => (StatusCode::BAD_REQUEST, "unknown Action").into_response(),
    }
}

async fn signin_token(fed: &FakeFederation, session: Option<Value>) -> Response {
    let Some(session) = session else {
        return (StatusCode::BAD_REQUEST, "no Session").into_response();
    };
    let n = MINTED.fetch_add(1, Ordering::Relaxed);
    let Some(moto) = &fed.moto else {
        return token_response(format!("fake-signin-token-{n:020}"));
    };
    let field = |name: &str| session[name].as_str().unwrap_or_default().to_owned();
    let (key, secret, token) = (field("sessionId"), field("sessionKey"), field("sessionToken"));
    // moto does not check signatures without enforcement, so compare the
    // triple with what it issued, then ask it who these credentials are.
    if !issued_by_moto(moto, &key, &secret, &token).await {
        return (StatusCode::BAD_REQUEST, "credentials unknown to the emulator").into_response();
    }
    let Some(arn) = caller_arn(moto, &key, &secret, &token).await else {
        return (StatusCode::BAD_REQUEST, "GetCallerIdentity failed").into_response();
    };
    let signin_token = format!("signin-{n}-{}", uuid::Uuid::new_v4());
    if let Ok(mut tokens) = fed.tokens.lock() {
        tokens.insert(signin_token.clone(), arn);
    }
    token_response(signin_token)
}

fn token_response(token: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json!({ "SigninToken": token }).to_string()).into_response()
}

fn login(fed: &FakeFederation, params: &HashMap<String, String>) -> Response {
    let known = params.get("SigninToken").is_some_and(|t| fed.tokens.lock().is_ok_and(|tokens| tokens.contains_key(t)));
    match (known, params.get("Destination")) {
        (true, Some(destination)) => (StatusCode::FOUND, [(header::LOCATION, destination.clone())]).into_response(),
        _ => (StatusCode::BAD_REQUEST, "invalid sign-in token").into_response(),
    }
}

/// An issued key triple: access key id, secret key, session token.
type Triple = (String, String, String);

/// The key triples one moto server has issued, as of its latest state dump.
/// moto's `/moto-api/data.json` serialises every object it holds, so one
/// dump costs more the longer a suite runs; checks share dumps instead of
/// each taking its own (process-wide: every test app has its own endpoint).
#[derive(Default)]
struct Issued {
    /// Held while a dump is fetched: checks that arrive meanwhile wait and
    /// use it, or the next one.
    fetching: tokio::sync::Mutex<()>,
    /// When the latest successful dump was asked for, and its triples.
    latest: Mutex<Option<(Instant, HashSet<Triple>)>>,
}

impl Issued {
    fn of(moto: &str) -> Arc<Issued> {
        static BY_MOTO: OnceLock<Mutex<HashMap<String, Arc<Issued>>>> = OnceLock::new();
        let mut all = BY_MOTO.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
        all.entry(moto.to_owned()).or_default().clone()
    }

    /// Whether the latest dump holds `triple`, and whether it was asked for
    /// after `since` (so it must hold anything issued before then).
    fn lookup(&self, triple: &Triple, since: Instant) -> (bool, bool) {
        let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        latest.as_ref().map_or((false, false), |(at, triples)| (triples.contains(triple), *at >= since))
    }
}

async fn issued_by_moto(moto: &str, key: &str, secret: &str, token: &str) -> bool {
    let issued = Issued::of(moto);
    let triple = (key.to_owned(), secret.to_owned(), token.to_owned());
    let asked = Instant::now();
    // moto builds its state dump while other requests change that state, and
    // then fails now and again (a dict changed size during iteration): ask
    // again before calling the credentials unknown.
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let _fetching = issued.fetching.lock().await;
        match issued.lookup(&triple, asked) {
            (true, _) => return true,
            (false, true) => return false,
            (false, false) => {}
        }
        let started = Instant::now();
        let Ok(response) = reqwest::get(format!("{moto}/moto-api/data.json")).await else { continue };
        let Ok(data) = response.error_for_status().map(|r| r.json::<Value>()) else { continue };
        let Ok(data) = data.await else { continue };
        let field = |r: &Value, name: &str| r[name].as_str().unwrap_or_default().to_owned();
        let triples = data["sts"]["AssumedRole"].as_array().map_or_else(HashSet::new, |all| {
            all.iter()
                .map(|r| (field(r, "access_key_id"), field(r, "secret_access_key"), field(r, "session_token")))
                .collect()
        });
        let known = triples.contains(&triple);
        *issued.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some((started, triples));
        return known;
    }
    false
}

async fn caller_arn(moto: &str, key: &str, secret: &str, token: &str) -> Option<String> {
    let credentials = aws_credential_types::Credentials::new(key, secret, Some(token.to_owned()), None, "fake");
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto)
        .credentials_provider(credentials)
        .build();
    let out = aws_sdk_sts::Client::from_conf(config).get_caller_identity().send().await.ok()?;
    out.arn().map(str::to_owned)
}
