//! The binary itself: configuration checks, the token command, and a log
//! canary run proving no secret reaches the logs.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    FederationServer, Moto, create_role, run_cli as run, start_broker, test_config_toml, unique, write_config,
};

#[test]
fn shipped_configs_check_out() {
    let local = crate::helpers::repo_path("config/local.toml");
    let (code, stdout, stderr) = run(&["--config", local.to_str().unwrap(), "check-config"], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // default.toml deliberately lacks the deployment's secrets and identity.
    let default = crate::helpers::repo_path("config/default.toml");
    let (code, _, stderr) = run(&["--config", default.to_str().unwrap(), "check-config"], &[]);
    assert_ne!(code, 0);
    for key in ["auth.issuer", "auth.audience", "console.ticket_secret", "no key source"] {
        assert!(stderr.contains(key), "{key} missing from: {stderr}");
    }
    let secret_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret_file.path(), "a-file-secret-that-is-long-enough-0123456789\n").unwrap();
    let file = secret_file.path().to_str().unwrap();
    let envs = [
        ("SANDBOX_BROKER__AUTH__ISSUER", "https://platform.example"),
        ("SANDBOX_BROKER__AUTH__AUDIENCE", "sandbox-broker"),
        ("SANDBOX_BROKER__AUTH__HS256_SECRET_FILE", file),
        ("SANDBOX_BROKER__CONSOLE__TICKET_SECRET_FILE", file),
    ];
    let (code, stdout, stderr) = run(&["--config", default.to_str().unwrap(), "check-config"], &envs);
    assert_eq!(code, 0, "default.toml + environment is complete: {stdout}{stderr}");
}

#[test]
fn check_config_reports_every_problem_with_its_key() {
    let toml = r#"
[server]
listen = "not an address"
bogus = 1
[auth]
issuer = "x"
audience = "y"
hs256_secret = "short"
jwks_url = "https://example/jwks"
[aws]
region = "mars"
[console]
ticket_secret = "also-short"
[profiles.a]
max_session_seconds = 100
access_policy = "policies/missing.json"
[profiles.b]
role_name = "bad name!"
access_policy = "policies/s3.json"
[extra]
"#;
    let (_dir, path) = write_config(toml);
    let (code, _, stderr) = run(&["--config", path.to_str().unwrap(), "check-config"], &[]);
    assert_eq!(code, 2);
    for expected in [
        "server.bogus: unknown key",
        "extra: unknown section",
        "server.listen",
        "auth: several key sources",
        "auth.hs256_secret: must be at least 32 bytes",
        "console.ticket_secret: must be at least 32 bytes",
        "aws.region",
        "profiles.a.max_session_seconds",
        "profiles.a.access_policy",
        "profiles.b.role_name",
        "profiles: several profiles and none has `default = true`",
    ] {
        assert!(stderr.contains(expected), "missing `{expected}` in:\n{stderr}");
    }
}

#[test]
fn serve_refuses_invalid_config() {
    let (_dir, path) = write_config("[auth]\nissuer = \"x\"\n");
    let (code, _, stderr) = run(&["--config", path.to_str().unwrap(), "serve"], &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("invalid configuration"), "{stderr}");
    let (code, _, stderr) = run(&["--config", "/nonexistent.toml", "serve"], &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no such file"), "{stderr}");
}

#[test]
fn env_overrides_the_file() {
    let local = crate::helpers::repo_path("config/local.toml");
    let (code, _, stderr) =
        run(&["--config", local.to_str().unwrap(), "check-config"], &[("SANDBOX_BROKER__AWS__REGION", "nowhere")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("aws.region"), "{stderr}");
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let moto = &Moto::shared().endpoint;
    let federation = FederationServer::start(moto, Duration::ZERO).await;
    let roles = vec![("s3".to_owned(), unique("canary-role"))];
    create_role(moto, &roles[0].1, 43_200).await;
    let hs256 = "CANARY-hs256-secret-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    let ticket = "CANARY-ticket-secret-0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let aws_secret = "CANARY-aws-secret-key-1234567890abcdef";
    let auth = format!("hs256_secret = \"{hs256}\"");
    let toml = test_config_toml(moto, &federation.endpoint(), &roles, &auth, "")
        .replace(crate::helpers::TICKET_SECRET, ticket);
    let (_dir, path) = write_config(&toml);
    crate::helpers::create_ledger(moto, &path).await;
    let mut broker = start_broker(
        &path,
        &[
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "trace"),
            ("AWS_ACCESS_KEY_ID", "AKIACANARYBROKER0001"),
            ("AWS_SECRET_ACCESS_KEY", aws_secret),
            ("AWS_REGION", "eu-west-1"),
        ],
    );

    let mint = |scope: &str| {
        let (code, token, err) = run(&["--config", path.to_str().unwrap(), "token", "--scope", scope], &[]);
        assert_eq!(code, 0, "{err}");
        token.trim().to_owned()
    };
    let jwt = mint("sessions:issue");
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/sessions", broker.base))
        .bearer_auth(&jwt)
        .json(&json!({"session_id": "canary-learner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let console = url::Url::parse(body["console"]["url"].as_str().unwrap()).unwrap();
    let signin_token = console.query_pairs().find(|(k, _)| k == "SigninToken").unwrap().1.into_owned();
    // Failing paths log too: a forged token and a bad body.
    let forged = format!("{}x", &jwt[..jwt.len() - 1]);
    let _ = http.post(format!("{}/sessions", broker.base)).bearer_auth(&forged).json(&json!({})).send().await;
    let _ = http.post(format!("{}/sessions", broker.base)).bearer_auth(&jwt).body("{").send().await;

    let _ = broker.child.kill();
    let _ = broker.child.wait();
    let logs = std::fs::read_to_string(broker.log.path()).unwrap();
    assert!(logs.contains("session_issued"), "audit event missing:\n{logs}");
    assert!(logs.contains(body["credentials"]["access_key_id"].as_str().unwrap()), "audit names the key id");
    let secrets = [
        ("hs256 secret", hs256.to_owned()),
        ("ticket secret", ticket.to_owned()),
        ("broker AWS secret", aws_secret.to_owned()),
        ("learner secret key", body["credentials"]["secret_access_key"].as_str().unwrap().to_owned()),
        ("learner session token", body["credentials"]["session_token"].as_str().unwrap().to_owned()),
        ("sign-in token", signin_token),
        ("platform JWT", jwt.clone()),
        ("JWT signature", jwt.rsplit('.').next().unwrap().to_owned()),
    ];
    for (name, secret) in secrets {
        assert!(!logs.contains(&secret), "{name} leaked into the logs");
    }
}

#[test]
fn bad_policy_files_are_refused_before_any_aws_call() {
    let (dir, path) = write_config(&format!(
        r#"
[auth]
issuer = "x"
audience = "y"
hs256_secret = "{secret}"
[console]
ticket_secret = "{secret}"
[profiles.broken]
access_policy = "policies/broken.json"
default = true
[profiles.huge]
access_policy = "policies/huge.json"
[profiles.typo]
access_policy = "policies/typo.json"
"#,
        secret = crate::helpers::HS256_SECRET
    ));
    let policies = dir.path().join("policies");
    std::fs::write(policies.join("broken.json"), r#"{"Statement": ["#).unwrap();
    let statements: Vec<Value> = (0..200)
        .map(|i| json!({"Sid": format!("S{i}"), "Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::bucket-{i}/*")}))
        .collect();
    std::fs::write(policies.join("huge.json"), json!({"Version": "2012-10-17", "Statement": statements}).to_string())
        .unwrap();
    std::fs::write(
        policies.join("typo.json"),
        r#"{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::${acount_id}-*"}]}"#,
    )
    .unwrap();
    // No AWS endpoint is reachable from this config: any call would hang or fail differently.
    let (code, _, stderr) = run(&["--config", path.to_str().unwrap(), "bootstrap", "--dry-run"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("profiles.broken.access_policy") && stderr.contains("not valid JSON"), "{stderr}");
    assert!(stderr.contains("profiles.huge.access_policy") && stderr.contains("IAM allows 10240"), "{stderr}");
    assert!(stderr.contains("profiles.typo.access_policy") && stderr.contains("acount_id"), "{stderr}");
}

#[tokio::test]
async fn bootstrap_cli_reports_a_plan_as_json() {
    let moto = &Moto::shared().endpoint;
    let roles = vec![("s3".to_owned(), unique("cli-role"))];
    let toml = test_config_toml(
        moto,
        "http://127.0.0.1:9/federation",
        &roles,
        &format!("hs256_secret = \"{}\"", crate::helpers::HS256_SECRET),
        "",
    );
    let (_dir, path) = write_config(&toml);
    let envs = [("AWS_ACCESS_KEY_ID", "AKIACLI"), ("AWS_SECRET_ACCESS_KEY", "cli-secret"), ("RUST_LOG", "warn")];
    let (code, stdout, stderr) = run(&["--config", path.to_str().unwrap(), "bootstrap", "--dry-run"], &envs);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    assert!(report["changes"][0]["resource"].as_str().unwrap().starts_with("policy/sandbox-broker/boundary-"));
    assert_eq!(report["changes"][1]["resource"], format!("role/{}", roles[0].1));
    assert_eq!(report["changes"][1]["action"], "create");
    let (code, stdout, stderr) = run(&["--config", path.to_str().unwrap(), "bootstrap"], &envs);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"create\""));
    let (code, stdout, _) = run(&["--config", path.to_str().unwrap(), "teardown"], &envs);
    assert_eq!(code, 0);
    assert!(stdout.contains("\"delete\""));
}

/// Provisioning needs AWS credentials and the profiles, not the server's
/// secrets: a configuration without any auth key source or ticket secret
/// bootstraps, while `serve` and `check-config` refuse it.
#[tokio::test]
async fn bootstrap_needs_none_of_the_servers_secrets() {
    let moto = &Moto::shared().endpoint;
    let role = unique("provision-only");
    let toml = format!(
        "[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"{moto}\"\n\n[profiles.s3]\nrole_name = \"{role}\"\naccess_policy = \"policies/s3.json\"\n"
    );
    let (_dir, path) = write_config(&toml);
    let envs = [("AWS_ACCESS_KEY_ID", "AKIAPROV"), ("AWS_SECRET_ACCESS_KEY", "prov-secret"), ("RUST_LOG", "warn")];
    let (code, stdout, stderr) = run(&["--config", path.to_str().unwrap(), "bootstrap", "--dry-run"], &envs);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"create\""), "{stdout}");
    let (code, _, stderr) = run(&["--config", path.to_str().unwrap(), "check-config"], &envs);
    assert_eq!(code, 2);
    assert!(stderr.contains("console.ticket_secret: is required"), "{stderr}");
    assert!(stderr.contains("SANDBOX_BROKER__CONSOLE__TICKET_SECRET"), "names the variable: {stderr}");
}
