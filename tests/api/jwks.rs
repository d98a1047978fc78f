//! The JWKS key source: keys by `kid`, rotation, withdrawal after the
//! set's max-age, and the algorithms a key published without `alg` allows.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use sandbox_broker::config::AuthSettings;
use serde_json::{Value, json};

use crate::auth::{assert_accepted, assert_unauthorized, claims, keypair, sign};
use crate::helpers::{TestApp, TestOptions};

/// A test app verifying tokens against the JWKS at `url`.
fn jwks_options(url: &str, tweak: impl FnOnce(&mut AuthSettings) + Send + 'static) -> TestOptions {
    let url = url.to_owned();
    TestOptions::configured(move |s| {
        s.auth.hs256_secret = None;
        s.auth.jwks_url = Some(url);
        tweak(&mut s.auth);
    })
}

/// Serves a JWKS whose keys the test can change; counts fetches.
async fn jwks_server(keys: Arc<std::sync::Mutex<Vec<Value>>>, hits: Arc<AtomicUsize>) -> String {
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let keys = keys.clone();
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                let set = axum::Json(json!({ "keys": keys.lock().unwrap().clone() }));
                ([(axum::http::header::CACHE_CONTROL, "public, max-age=1")], set)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{port}/jwks.json")
}

fn ed_jwk(kid: &str, public_der: &[u8]) -> Value {
    // An Ed25519 SubjectPublicKeyInfo ends with the 32-byte raw key.
    let raw = &public_der[public_der.len() - 32..];
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "use": "sig", "x": URL_SAFE_NO_PAD.encode(raw)})
}

#[tokio::test]
async fn jwks_keys_by_kid_with_refresh_and_cooldown() {
    let dir = tempfile::tempdir().unwrap();
    let (k1_private, _, k1_der) = keypair(dir.path(), "k1", &["-algorithm", "ED25519"]);
    let (k2_private, _, k2_der) = keypair(dir.path(), "k2", &["-algorithm", "ED25519"]);
    let keys = Arc::new(std::sync::Mutex::new(vec![ed_jwk("k1", &k1_der)]));
    let hits = Arc::new(AtomicUsize::new(0));
    let url = jwks_server(keys.clone(), hits.clone()).await;
    let k1 = EncodingKey::from_ed_pem(&k1_private).unwrap();
    let k2 = EncodingKey::from_ed_pem(&k2_private).unwrap();

    // Long cooldown: an unknown kid right after a refresh does not refetch.
    let app = TestApp::spawn_with(jwks_options(&url, |auth| auth.jwks_refresh_cooldown_seconds = 600)).await;
    assert_accepted(&app, sign(&claims(json!({})), Algorithm::EdDSA, &k1, Some("k1")), "kid k1").await;
    assert_accepted(&app, sign(&claims(json!({})), Algorithm::EdDSA, &k1, Some("k1")), "kid k1 cached").await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "cached by kid");
    let forged = sign(&claims(json!({})), Algorithm::EdDSA, &k2, Some("k9"));
    assert_unauthorized(&app, Some(format!("Bearer {forged}")), "unknown kid").await;
    assert_unauthorized(&app, Some(format!("Bearer {forged}")), "unknown kid again").await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "cooldown holds refreshes back");
    let no_kid = sign(&claims(json!({})), Algorithm::EdDSA, &k1, None);
    assert_unauthorized(&app, Some(format!("Bearer {no_kid}")), "no kid").await;

    // Rotation: a new kid appears and is fetched on first sight.
    let app = TestApp::spawn_with(jwks_options(&url, |auth| auth.jwks_refresh_cooldown_seconds = 0)).await;
    assert_accepted(&app, sign(&claims(json!({})), Algorithm::EdDSA, &k1, Some("k1")), "k1 before rotation").await;
    keys.lock().unwrap().push(ed_jwk("k2", &k2_der));
    assert_accepted(&app, sign(&claims(json!({})), Algorithm::EdDSA, &k2, Some("k2")), "k2 after rotation").await;
    let wrong_key = sign(&claims(json!({})), Algorithm::EdDSA, &k1, Some("k2"));
    assert_unauthorized(&app, Some(format!("Bearer {wrong_key}")), "k2 kid signed by k1").await;
}

/// The IdP withdraws a key: once the set's `max-age` (1 s, within the
/// configured bounds) has passed the broker fetches it again and refuses
/// tokens signed with the withdrawn key, without waiting for an unknown kid.
#[tokio::test]
async fn jwks_withdrawn_keys_stop_being_trusted_after_max_age() {
    let dir = tempfile::tempdir().unwrap();
    let (k1_private, _, k1_der) = keypair(dir.path(), "k1", &["-algorithm", "ED25519"]);
    let (_, _, k2_der) = keypair(dir.path(), "k2", &["-algorithm", "ED25519"]);
    let keys = Arc::new(std::sync::Mutex::new(vec![ed_jwk("k1", &k1_der)]));
    let hits = Arc::new(AtomicUsize::new(0));
    let url = jwks_server(keys.clone(), hits.clone()).await;
    let k1 = EncodingKey::from_ed_pem(&k1_private).unwrap();
    let app = TestApp::spawn_with(jwks_options(&url, |auth| {
        auth.jwks_refresh_cooldown_seconds = 0;
        auth.jwks_refresh_min_seconds = 1;
    }))
    .await;
    let token = sign(&claims(json!({})), Algorithm::EdDSA, &k1, Some("k1"));
    assert_accepted(&app, token.clone(), "k1 published").await;
    *keys.lock().unwrap() = vec![ed_jwk("k2", &k2_der)];
    assert_accepted(&app, token.clone(), "k1 within the set's max-age").await;
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    assert_unauthorized(&app, Some(format!("Bearer {token}")), "k1 withdrawn").await;
    assert_eq!(hits.load(Ordering::SeqCst), 2, "one fetch per max-age");
}

/// The JWK form of an RSA public key, published without `alg` (as many
/// IdPs do): its modulus from openssl, exponent 65537.
fn rsa_jwk(kid: &str, public_pem: &std::path::Path) -> Value {
    let out =
        Command::new("openssl").args(["rsa", "-pubin", "-modulus", "-noout", "-in"]).arg(public_pem).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let hex = text.trim().trim_start_matches("Modulus=");
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    json!({"kty": "RSA", "kid": kid, "use": "sig", "n": URL_SAFE_NO_PAD.encode(bytes), "e": "AQAB"})
}

#[tokio::test]
async fn jwks_rsa_keys_without_alg_accept_rs256_and_ps256_only() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public, _) = keypair(dir.path(), "rsa", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
    let keys = Arc::new(std::sync::Mutex::new(vec![rsa_jwk("r1", &public)]));
    let url = jwks_server(keys, Arc::new(AtomicUsize::new(0))).await;
    let app = TestApp::spawn_with(jwks_options(&url, |_| {})).await;
    let rsa = EncodingKey::from_rsa_pem(&private).unwrap();
    assert_accepted(&app, sign(&claims(json!({})), Algorithm::RS256, &rsa, Some("r1")), "RS256").await;
    assert_accepted(&app, sign(&claims(json!({})), Algorithm::PS256, &rsa, Some("r1")), "PS256").await;
    let confused = EncodingKey::from_secret(&std::fs::read(&public).unwrap());
    let hs = sign(&claims(json!({})), Algorithm::HS256, &confused, Some("r1"));
    assert_unauthorized(&app, Some(format!("Bearer {hs}")), "HS256 naming an RSA kid").await;
}
