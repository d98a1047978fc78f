//! `bootstrap --emit cloudformation`: the template passes cfn-lint, and
//! deployed to the emulator with CloudFormation CreateStack (no runtime IAM
//! write by the broker) it leaves `GET /admin/status` reporting every
//! profile provisioned, with no drift.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Moto, REGION, TestApp, TestOptions, run_cli, unique, venv_tool};

#[tokio::test]
async fn the_emitted_template_lints_deploys_and_is_what_status_expects() {
    let moto = Moto::start(&[]);
    let endpoint = moto.endpoint.clone();
    let roles = vec![("s3".to_owned(), unique("cfn-s3")), ("other".to_owned(), unique("cfn-other"))];
    let principal = "arn:aws:iam::123456789012:role/sandbox-broker";
    // The app is only used for its config file and, later, its status.
    let app = TestApp::spawn_with(TestOptions {
        aws_endpoint: Some(endpoint.clone()),
        create_roles: false,
        roles: Some(roles.clone()),
        ..TestOptions::configured(move |s| s.trust.principal_arn = Some(principal.into()))
    })
    .await;
    let config = app.config_path();
    let envs = [
        ("AWS_ACCESS_KEY_ID", "AKIACFN"),
        ("AWS_SECRET_ACCESS_KEY", "cfn-secret"),
        ("RUST_LOG", "warn"),
        ("SANDBOX_BROKER__TRUST__PRINCIPAL_ARN", principal),
    ];
    let (code, template, stderr) =
        run_cli(&["--config", config.to_str().unwrap(), "bootstrap", "--emit", "cloudformation"], &envs);
    assert_eq!(code, 0, "{stderr}");
    let parsed: Value = serde_json::from_str(&template).unwrap();
    let resources = parsed["Resources"].as_object().unwrap();
    // The broker's policy (every registered type's calls) is longer than
    // IAM's 6,144-character cap for a managed policy: it comes in parts.
    let broker_parts: Vec<&Value> =
        resources.iter().filter(|(id, _)| id.starts_with("BrokerPolicy")).map(|(_, r)| r).collect();
    for part in &broker_parts {
        let document = part["Properties"]["PolicyDocument"].to_string();
        assert!(document.len() <= 6_144, "{} characters", document.len());
    }
    assert!(broker_parts.len() > 1);
    assert_eq!(
        resources.len(),
        7 + broker_parts.len(),
        "two roles, two boundaries, two principals' policies, the ledger, the account pool"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox-broker.json");
    std::fs::write(&file, &template).unwrap();
    let lint = std::process::Command::new(venv_tool("cfn-lint", "CFN_LINT")).arg(&file).output().unwrap();
    assert!(
        lint.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );

    let aws = |args: &[&str]| {
        std::process::Command::new(venv_tool("aws", "AWS_CLI"))
            .args(["--endpoint-url", &endpoint, "--region", REGION, "--output", "json"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "AKIACFN")
            .env("AWS_SECRET_ACCESS_KEY", "cfn-secret")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .unwrap()
    };
    let body = format!("file://{}", file.display());
    let created = aws(&["cloudformation", "create-stack", "--stack-name", "sandbox-broker", "--template-body", &body]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let described = aws(&["cloudformation", "describe-stacks", "--stack-name", "sandbox-broker"]);
    let described: Value = serde_json::from_slice(&described.stdout).unwrap();
    assert_eq!(described["Stacks"][0]["StackStatus"], "CREATE_COMPLETE", "{described}");

    let (status, report) = app.admin(Method::GET, "/admin/status").await;
    assert_eq!(status, 200, "{report}");
    for profile in report["profiles"].as_array().unwrap() {
        assert_eq!(profile["state"], "provisioned", "{profile}");
        assert_eq!(profile["drift"], serde_json::json!([]), "{profile}");
    }
    assert_eq!(report["ledger"]["state"], "provisioned", "{report}");
    assert_eq!(report["pool"]["state"], "provisioned", "{report}");
    // And a bootstrap dry run agrees: nothing to do.
    let (status, plan) = app.admin(Method::POST, "/admin/bootstrap?dry_run=true").await;
    assert_eq!(status, 200, "{plan}");
    assert!(crate::helpers::actions(&plan).iter().all(|a| a == "unchanged"), "{plan}");
    drop(moto);
}
