//! End to end with IAM enforcement: moto checks identity policies and trust
//! principals after its first requests. The broker runs as an IAM user that
//! holds exactly the `broker_policy` bootstrap reports; it bootstraps from
//! an empty account and issues a session whose keys can use S3 but not IAM.

use reqwest::Method;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::helpers::{Moto, REGION, TestApp, TestOptions, broker_sdk_config, sdk_config, venv_tool};

/// Runs the AWS CLI with a learner's keys; returns (success, stdout+stderr).
async fn learner_cli(endpoint: &str, creds: &Value, args: &[&str]) -> (bool, String) {
    let out = Command::new(venv_tool("aws", "AWS_CLI"))
        .args(["--endpoint-url", endpoint, "--output", "json"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", creds["access_key_id"].as_str().unwrap())
        .env("AWS_SECRET_ACCESS_KEY", creds["secret_access_key"].as_str().unwrap())
        .env("AWS_SESSION_TOKEN", creds["session_token"].as_str().unwrap())
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .output()
        .await
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn least_privilege_broker_bootstraps_and_learner_keys_are_scoped() {
    // Four unauthenticated requests set up the broker user; every later one
    // is checked against IAM policies.
    let moto = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
    let endpoint = moto.endpoint.clone();

    // What bootstrap will report as broker_policy, for this user and config.
    let probe = TestApp::spawn_with(TestOptions {
        aws_endpoint: Some(format!("http://127.0.0.1:{}", crate::helpers::free_port())),
        create_roles: false,
        ..Default::default()
    })
    .await;
    let settings = sandbox_broker::config::load(Some(&probe.config_path())).unwrap();
    let identity = sandbox_broker::aws::CallerIdentity {
        account: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:user/broker".into(),
        partition: sandbox_broker::domain::Partition::Aws,
    };
    let desired = sandbox_broker::broker::provision::desired::desired_roles(&settings, &identity).unwrap();
    let policy = sandbox_broker::broker::provision::desired::broker_policy(&desired, &identity);

    let admin = aws_sdk_iam::Client::new(&broker_sdk_config(&endpoint));
    admin.create_user().user_name("broker").send().await.unwrap();
    let key = admin.create_access_key().user_name("broker").send().await.unwrap();
    let key = key.access_key().unwrap();
    admin
        .put_user_policy()
        .user_name("broker")
        .policy_name("broker")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    // moto evaluates IAM calls on a role that does not exist yet (GetRole,
    // CreateRole before the first bootstrap) against resource "*", where
    // AWS uses the role's ARN; these same actions on "*" stand in for that.
    // AssumeRole is still checked against the role ARNs of `broker` alone.
    let iam_actions = policy["Statement"][2]["Action"].clone();
    let workaround =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": iam_actions, "Resource": "*"}]});
    admin
        .put_user_policy()
        .user_name("broker")
        .policy_name("bootstrap-in-emulator")
        .policy_document(workaround.to_string())
        .send()
        .await
        .unwrap();

    // From here on moto enforces. The broker runs as that user, with the
    // same roles as the probe's config.
    let sdk = sdk_config(&endpoint, key.access_key_id(), key.secret_access_key(), None);
    let app = TestApp::spawn_with(TestOptions {
        aws_endpoint: Some(endpoint.clone()),
        sdk: Some(sdk),
        create_roles: false,
        roles: Some(probe.roles.clone()),
        ..Default::default()
    })
    .await;
    let (status, report) = app.admin(Method::POST, "/admin/bootstrap").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["broker_principal_arn"], "arn:aws:iam::123456789012:user/broker");
    assert_eq!(report["broker_policy"], policy, "the policy the user holds is the one reported");

    let session = app.issue(&json!({"session_id": "enforced-learner"})).await;
    let creds = &session["credentials"];

    let (ok, out) = learner_cli(&endpoint, creds, &["s3api", "list-buckets"]).await;
    assert!(ok, "learner can use S3: {out}");
    let bucket = format!("{}-lab", &session["session_id"].as_str().unwrap().replace('@', "-"));
    let (ok, out) = learner_cli(
        &endpoint,
        creds,
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            &bucket,
            "--create-bucket-configuration",
            "LocationConstraint=eu-west-1",
        ],
    )
    .await;
    assert!(ok, "learner can create a bucket: {out}");
    let (ok, out) = learner_cli(&endpoint, creds, &["iam", "list-users"]).await;
    assert!(!ok, "learner must not use IAM: {out}");
    assert!(out.contains("AccessDenied") || out.contains("not authorized"), "{out}");
    drop(moto);
}
