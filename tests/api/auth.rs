//! Platform token checks: the negative matrix, and each key source.

use std::process::Command;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, ISSUER, TestApp, TestOptions, merge_claims, mint};

pub(crate) fn now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

/// A body that fails validation, so an accepted token ends in 422 without
/// any AWS call.
fn invalid_body() -> Value {
    json!({"session_id": ""})
}

async fn post_with(app: &TestApp, authorization: Option<String>) -> reqwest::Response {
    let mut request = app.http.post(format!("{}/sessions", app.base)).json(&invalid_body());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

pub(crate) async fn assert_unauthorized(app: &TestApp, authorization: Option<String>, case: &str) {
    let response = post_with(app, authorization).await;
    assert_eq!(response.status(), 401, "{case}");
    assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{case}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized", "{case}");
}

pub(crate) async fn assert_accepted(app: &TestApp, token: String, case: &str) {
    let response = post_with(app, Some(format!("Bearer {token}"))).await;
    assert_eq!(response.status(), 422, "{case}: token should pass auth");
}

pub(crate) fn sign(claims: &Value, algorithm: Algorithm, key: &EncodingKey, kid: Option<&str>) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

pub(crate) fn claims(overrides: Value) -> Value {
    let mut claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "p", "nbf": now(), "exp": now() + 600,
        "scope": "sessions:issue"});
    merge_claims(&mut claims, overrides);
    claims
}

#[tokio::test]
async fn hs256_negative_matrix() {
    let app = TestApp::spawn().await;
    let issue = json!({"scope": "sessions:issue"});
    // Overrides keep their nulls so `mint` removes those claims.
    let with = |extra: Value| {
        let mut overrides = issue.clone();
        overrides.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        mint(overrides)
    };
    let other_key = EncodingKey::from_secret(b"another-secret-another-secret-another-secret");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(json!({})).to_string())
    );
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("not bearer", Some("Basic dXNlcjpwYXNz".into())),
        ("malformed", Some("Bearer not.a.jwt".into())),
        ("empty bearer", Some("Bearer ".into())),
        ("wrong signature", Some(format!("Bearer {}", sign(&claims(json!({})), Algorithm::HS256, &other_key, None)))),
        ("alg none", Some(format!("Bearer {unsigned}"))),
        ("expired beyond leeway", Some(format!("Bearer {}", with(json!({"exp": now() - 120}))))),
        ("future nbf", Some(format!("Bearer {}", with(json!({"nbf": now() + 300}))))),
        ("missing exp", Some(format!("Bearer {}", with(json!({"exp": null}))))),
        ("issuer in an array", Some(format!("Bearer {}", with(json!({"iss": [ISSUER]}))))),
        ("iat in the future", Some(format!("Bearer {}", with(json!({"iat": now() + 300}))))),
        ("string iat", Some(format!("Bearer {}", with(json!({"iat": "yesterday"}))))),
        ("missing aud", Some(format!("Bearer {}", with(json!({"aud": null}))))),
        ("missing iss", Some(format!("Bearer {}", with(json!({"iss": null}))))),
        ("wrong aud", Some(format!("Bearer {}", with(json!({"aud": "someone-else"}))))),
        ("wrong iss", Some(format!("Bearer {}", with(json!({"iss": "https://evil.test"}))))),
        ("string exp", Some(format!("Bearer {}", with(json!({"exp": (now() + 600).to_string()}))))),
    ];
    for (case, authorization) in cases {
        assert_unauthorized(&app, authorization, case).await;
    }
    assert_accepted(&app, with(json!({"exp": now() - 10})), "expired within leeway").await;
    assert_accepted(&app, with(json!({"nbf": null})), "no nbf (RFC 9068 access token)").await;
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let response = post_with(&app, Some(format!("{scheme} {}", with(json!({}))))).await;
        assert_eq!(response.status(), 422, "scheme {scheme} is case-insensitive (RFC 7235)");
    }
    assert_accepted(&app, with(json!({"scope": null, "scp": ["other", "sessions:issue"]})), "scp array").await;
    assert_eq!(app.calls.get(), 0, "no AWS call for rejected requests");
}

/// A verified token is remembered (docs/security.md), but only until it
/// expires: the second request is served from memory, the third, after
/// `exp` + leeway (30 s here) has passed, is refused as expired.
#[tokio::test]
async fn a_remembered_token_is_refused_once_it_expires() {
    let app = TestApp::spawn().await;
    let token = mint(json!({"scope": "sessions:issue", "exp": now() - 29}));
    assert_accepted(&app, token.clone(), "within leeway").await;
    assert_accepted(&app, token.clone(), "within leeway, again").await;
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let response = post_with(&app, Some(format!("Bearer {token}"))).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "token expired");
}

/// An RFC 9068 access token as an OAuth2 server issues it for the
/// client_credentials grant: `typ: at+jwt`, `iat`, `jti`, `client_id`, no `nbf`.
#[tokio::test]
async fn rfc9068_access_tokens_are_accepted() {
    let app = TestApp::spawn().await;
    let key = EncodingKey::from_secret(crate::helpers::HS256_SECRET.as_bytes());
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "platform-client", "client_id": "platform-client",
        "iat": now(), "exp": now() + 600, "jti": "8d7b2f", "scope": "sessions:issue"});
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    assert_accepted(&app, token, "RFC 9068 token").await;
}

#[tokio::test]
async fn two_authorization_headers_are_an_invalid_request() {
    let app = TestApp::spawn().await;
    let good = format!("Bearer {}", mint(json!({"scope": "sessions:issue"})));
    let response = app
        .http
        .post(format!("{}/sessions", app.base))
        .header("authorization", good.clone())
        .header("authorization", good)
        .json(&invalid_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["www-authenticate"], "Bearer error=\"invalid_request\"");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");
}

#[tokio::test]
async fn missing_scope_is_403() {
    let app = TestApp::spawn().await;
    // RFC 6749 §3.3 separates scopes by spaces only: a no-break space
    // does not split "x\u{a0}sessions:issue" into two scopes.
    for scope in [
        json!({"scope": "sessions:revoke admin"}),
        json!({"scope": null}),
        json!({"scope": "sessions:issuex"}),
        json!({"scope": "x\u{a0}sessions:issue"}),
        json!({"scope": "x\tsessions:issue"}),
    ] {
        let response = post_with(&app, Some(format!("Bearer {}", mint(scope.clone())))).await;
        assert_eq!(response.status(), 403, "{scope}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "insufficient_scope");
    }
    assert_eq!(app.calls.get(), 0);
}

/// Generates a key pair with openssl: (private PEM, public PEM, public DER).
pub(crate) fn keypair(
    dir: &std::path::Path,
    name: &str,
    genpkey_args: &[&str],
) -> (Vec<u8>, std::path::PathBuf, Vec<u8>) {
    let private = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub.pem"));
    let der = dir.join(format!("{name}.pub.der"));
    let ok = |c: &mut Command| assert!(c.status().unwrap().success());
    ok(Command::new("openssl").arg("genpkey").args(genpkey_args).arg("-out").arg(&private));
    ok(Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(&private).arg("-out").arg(&public));
    ok(Command::new("openssl").args(["pkey", "-pubout", "-outform", "DER", "-in"]).arg(&private).arg("-out").arg(&der));
    (std::fs::read(private).unwrap(), public, std::fs::read(der).unwrap())
}

async fn pem_app(public: &std::path::Path) -> TestApp {
    let key = sandbox_broker::config::PemKey::load(public).unwrap();
    TestApp::spawn_with(TestOptions::configured(move |s| {
        s.auth.hs256_secret = None;
        s.auth.public_key = Some(key);
    }))
    .await
}

#[tokio::test]
async fn rs256_public_key_and_algorithm_confusion() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public, _) = keypair(dir.path(), "rsa", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
    let app = pem_app(&public).await;
    let rsa = EncodingKey::from_rsa_pem(&private).unwrap();
    assert_accepted(&app, sign(&claims(json!({})), Algorithm::RS256, &rsa, None), "RS256").await;
    // The classic confusion: HS256 keyed with the RSA public key's PEM text.
    let confused = EncodingKey::from_secret(&std::fs::read(&public).unwrap());
    let token = sign(&claims(json!({})), Algorithm::HS256, &confused, None);
    assert_unauthorized(&app, Some(format!("Bearer {token}")), "HS256 with RSA public key").await;
    let expired = sign(&claims(json!({"exp": now() - 120})), Algorithm::RS256, &rsa, None);
    assert_unauthorized(&app, Some(format!("Bearer {expired}")), "expired RS256").await;
    assert_eq!(app.calls.get(), 0);
}

#[tokio::test]
async fn es256_and_eddsa_public_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (ec_private, ec_public, _) =
        keypair(dir.path(), "ec", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let app = pem_app(&ec_public).await;
    let key = EncodingKey::from_ec_pem(&ec_private).unwrap();
    assert_accepted(&app, sign(&claims(json!({})), Algorithm::ES256, &key, None), "ES256").await;

    let (ed_private, ed_public, _) = keypair(dir.path(), "ed", &["-algorithm", "ED25519"]);
    let app = pem_app(&ed_public).await;
    let key = EncodingKey::from_ed_pem(&ed_private).unwrap();
    assert_accepted(&app, sign(&claims(json!({})), Algorithm::EdDSA, &key, None), "EdDSA").await;
    let es = EncodingKey::from_ec_pem(&ec_private).unwrap();
    let wrong = sign(&claims(json!({})), Algorithm::ES256, &es, None);
    assert_unauthorized(&app, Some(format!("Bearer {wrong}")), "ES256 token for an Ed25519 key").await;
}
