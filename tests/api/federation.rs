//! A stand-in for the AWS console federation endpoint. Nothing emulates it,
//! so this one checks submitted credentials against moto (the exact key
//! triple moto issued, and GetCallerIdentity with them) before it answers
//! `getSigninToken`; `login` redirects to `Destination` for known tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

use crate::helpers::{moto_issued_triple, whoami};

#[derive(Debug, Clone)]
pub struct FederationCall {
    pub method: Method,
    pub action: String,
    pub session_duration: Option<String>,
    pub access_key_id: Option<String>,
}

#[derive(Clone)]
struct Fed {
    moto: String,
    delay: Duration,
    calls: Arc<Mutex<Vec<FederationCall>>>,
    /// Sign-in token → the assumed-role ARN it logs in as.
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

#[derive(Clone)]
pub struct FakeFederation {
    port: u16,
    state: Fed,
}

impl FakeFederation {
    pub async fn start(moto: &str, delay: Duration) -> FakeFederation {
        let state = Fed { moto: moto.to_owned(), delay, calls: Default::default(), tokens: Default::default() };
        let app = Router::new().route("/federation", any(federation)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeFederation { port, state }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/federation", self.port)
    }

    pub fn calls(&self) -> Vec<FederationCall> {
        self.state.calls.lock().expect("lock").clone()
    }

    /// The assumed-role ARN a sign-in token was issued for.
    pub fn token_identity(&self, token: &str) -> Option<String> {
        self.state.tokens.lock().expect("lock").get(token).cloned()
    }
}

async fn federation(State(fed): State<Fed>, method: Method, RawQuery(query): RawQuery, body: String) -> Response {
    tokio::time::sleep(fed.delay).await;
    let raw = if method == Method::POST { body } else { query.unwrap_or_default() };
    let params: HashMap<String, String> = url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let action = params.get("Action").cloned().unwrap_or_default();
    let session: Option<Value> = params.get("Session").and_then(|s| serde_json::from_str(s).ok());
    fed.calls.lock().expect("lock").push(FederationCall {
        method: method.clone(),
        action: action.clone(),
        session_duration: params.get("SessionDuration").cloned(),
        access_key_id: session.as_ref().and_then(|s| s["sessionId"].as_str()).map(str::to_owned),
    });
    match action.as_str() {
        "getSigninToken" => signin_token(&fed, session).await,
        "login" => login(&fed, &params),
        _ => (StatusCode::BAD_REQUEST, "unknown Action").into_response(),
    }
}

async fn signin_token(fed: &Fed, session: Option<Value>) -> Response {
    let Some(session) = session else {
        return (StatusCode::BAD_REQUEST, "no Session").into_response();
    };
    let key = session["sessionId"].as_str().unwrap_or_default();
    let secret = session["sessionKey"].as_str().unwrap_or_default();
    let token = session["sessionToken"].as_str().unwrap_or_default();
    // moto does not check signatures without enforcement, so compare the
    // triple with what it issued, then ask it who these credentials are.
    match moto_issued_triple(&fed.moto, key).await {
        Some((s, t)) if s == secret && t == token => {}
        _ => {
            return (StatusCode::BAD_REQUEST, "credentials unknown to the emulator").into_response();
        }
    }
    let creds = json!({"access_key_id": key, "secret_access_key": secret, "session_token": token});
    let Ok(arn) = whoami(&fed.moto, &creds).await else {
        return (StatusCode::BAD_REQUEST, "GetCallerIdentity failed").into_response();
    };
    let signin_token = format!("signin-{}", uuid::Uuid::new_v4());
    fed.tokens.lock().expect("lock").insert(signin_token.clone(), arn);
    axum::Json(json!({ "SigninToken": signin_token })).into_response()
}

fn login(fed: &Fed, params: &HashMap<String, String>) -> Response {
    let known = params.get("SigninToken").is_some_and(|t| fed.tokens.lock().expect("lock").contains_key(t));
    match (known, params.get("Destination")) {
        (true, Some(destination)) => (StatusCode::FOUND, [(header::LOCATION, destination.clone())]).into_response(),
        _ => (StatusCode::BAD_REQUEST, "invalid sign-in token").into_response(),
    }
}
