//! `bootstrap --emit cloudformation-pool`: the account profiles' roles as
//! one StackSet-ready template. It passes cfn-lint; deployed into a member
//! account with CloudFormation, registration then finds nothing to change
//! (no second boundary, no drift), and a reset keeps what it deployed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Moto, REGION, TestApp, run_cli, unique, venv_tool};
use crate::pool::{PROFILE, account, members, pool_options, register, sdk_for_access, wait_for_account};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_template_lints_deploys_and_registration_changes_nothing() {
    let moto = Moto::start(&[]);
    let role = unique("stackset-own");
    let named = role.clone();
    // A trust principal CloudFormation accepts (moto's caller is not one).
    let principal = "arn:aws:iam::123456789012:role/sandbox-broker";
    let app = TestApp::spawn_with(pool_options(&moto.endpoint, move |s| {
        s.trust.principal_arn = Some(principal.into());
        if let Some(own) = s.profiles.get_mut(PROFILE) {
            own.role_name = Some(named);
        }
    }))
    .await;
    let config = app.config_path();
    let mut env = crate::pool_cli::own_profile_env(&role);
    env.push(("SANDBOX_BROKER__TRUST__PRINCIPAL_ARN".into(), principal.into()));
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let args = ["--config", config.to_str().unwrap(), "bootstrap", "--emit", "cloudformation-pool"];
    let (code, template, stderr) = run_cli(&args, &envs);
    assert_eq!(code, 0, "{stderr}");
    let parsed: Value = serde_json::from_str(&template).unwrap();
    assert_eq!(parsed["Resources"].as_object().unwrap().len(), 2, "the role and its boundary: {parsed}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pool.json");
    std::fs::write(&file, &template).unwrap();
    let lint = std::process::Command::new(venv_tool("cfn-lint", "CFN_LINT")).arg(&file).output().unwrap();
    assert!(lint.status.success(), "cfn-lint: {}", String::from_utf8_lossy(&lint.stdout));

    // Deployed into the member account as a StackSet instance would be.
    let ids = members(&moto.endpoint, 1).await;
    let access = sdk_for_access(&app, &ids[0]).await;
    let creds = aws_credential_types::provider::ProvideCredentials::provide_credentials(
        access.credentials_provider().as_ref().unwrap(),
    )
    .await
    .unwrap();
    let aws = |args: &[&str]| {
        std::process::Command::new(venv_tool("aws", "AWS_CLI"))
            .args(["--endpoint-url", &moto.endpoint, "--region", REGION, "--output", "json"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
            .env("AWS_SESSION_TOKEN", creds.session_token().unwrap_or_default())
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .unwrap()
    };
    let body = format!("file://{}", file.display());
    let created = aws(&[
        "cloudformation",
        "create-stack",
        "--stack-name",
        "StackSet-sandbox-broker-pool-0001",
        "--template-body",
        &body,
    ]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let described = aws(&["cloudformation", "describe-stacks", "--stack-name", "StackSet-sandbox-broker-pool-0001"]);
    let described: Value = serde_json::from_slice(&described.stdout).unwrap();
    assert_eq!(described["Stacks"][0]["StackStatus"], "CREATE_COMPLETE", "{described}");
    let boundaries = || async {
        let iam = aws_sdk_iam::Client::new(&access);
        let out = iam.list_policies().path_prefix("/sandbox-broker/").send().await.unwrap();
        out.policies().iter().filter_map(|p| p.arn().map(str::to_owned)).collect::<Vec<_>>()
    };
    let deployed = boundaries().await;
    assert_eq!(deployed.len(), 1, "{deployed:?}");

    assert_eq!(register(&app, json!({ "account_ids": ids })).await.0, 201);
    assert_eq!(boundaries().await, deployed, "registration created no boundary of its own");
    assert_eq!(account(&app, &ids[0]).await["drift"], json!([]));
    // A learner's session and the reset after it keep the deployed roles.
    app.issue(&json!({ "session_id": "learner-1", "profile": PROFILE })).await;
    assert_eq!(app.revoke("learner-1", "").await.0, 202);
    wait_for_account(&app, &ids[0], "available").await;
    assert_eq!(boundaries().await, deployed, "the reset kept the boundary");
    let kept = aws(&["cloudformation", "describe-stacks", "--stack-name", "StackSet-sandbox-broker-pool-0001"]);
    assert!(kept.status.success(), "the reset kept the StackSet's stack");
    let (_, status) = app.admin(Method::GET, "/admin/status").await;
    let own = status["profiles"].as_array().unwrap().iter().find(|p| p["profile"] == PROFILE).cloned();
    assert_eq!(own.unwrap()["state"], "pool_accounts", "{status}");
    assert_eq!(status["pool"]["roles"], json!({ "checked_in": ids[0], "drift": [] }), "{status}");
}
