//! End to end with IAM enforcement: moto checks identity policies and trust
//! principals after its first requests. Two IAM users hold exactly what
//! bootstrap reports: `provisioner` (provisioner_policy) bootstraps from an
//! empty account, then `broker` (broker_policy) serves: it issues, launches,
//! revokes and reads status, and may reshape no role. Learner keys can use
//! S3 but not IAM.
//!
//! moto evaluates neither permissions boundaries nor session policies, so
//! the guardrails are checked in the documents bootstrap wrote, not by a
//! denied learner call (docs/testing.md).

use aws_sdk_iam::error::ProvideErrorMetadata;
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

/// An IAM user holding `policies` (inline, by name);
/// returns its SDK config. Setup calls are unauthenticated (moto counts them).
async fn user_with(endpoint: &str, name: &str, policies: &[(&str, &Value)]) -> aws_config::SdkConfig {
    let admin = aws_sdk_iam::Client::new(&broker_sdk_config(endpoint));
    admin.create_user().user_name(name).send().await.unwrap();
    let key = admin.create_access_key().user_name(name).send().await.unwrap();
    let key = key.access_key().unwrap();
    for (policy_name, document) in policies {
        let put = admin.put_user_policy().user_name(name).policy_name(*policy_name);
        put.policy_document(document.to_string()).send().await.unwrap();
    }
    sdk_config(endpoint, key.access_key_id(), key.secret_access_key(), None)
}

/// The error code of a refused call. moto wraps an authorisation failure
/// as `<ErrorResponse><Errors><Error>` (EC2's shape), which the IAM client
/// does not parse, so the code is read from the raw response then.
fn denied_code<E: ProvideErrorMetadata + std::fmt::Debug, R>(
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> String
where
    R: std::fmt::Debug,
{
    if let Some(code) = err.code() {
        return code.to_owned();
    }
    let raw = format!("{err:?}");
    if raw.contains("<Code>AccessDenied</Code>") { "AccessDenied".into() } else { raw }
}

/// moto authorises IAM calls on anything but an existing role (a role
/// before it is created, every managed policy), and every DynamoDB call,
/// against resource "*", where AWS uses the ARN: the same statements on "*"
/// stand in for that. `only` limits it to the statements with those Sids.
fn on_any_resource(policy: &Value, only: Option<&[&str]>) -> Value {
    let statements: Vec<Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .filter(|s| only.is_none_or(|sids| sids.iter().any(|sid| s["Sid"] == *sid)))
        .map(|s| json!({"Effect": "Allow", "Action": s["Action"], "Resource": "*"}))
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[tokio::test]
async fn provisioner_and_broker_principals_hold_only_what_bootstrap_reports() {
    // Eight unauthenticated requests set up the two users (below); every
    // later one is checked against IAM policies.
    let moto = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "8")]);
    let endpoint = moto.endpoint.clone();
    let broker_arn = "arn:aws:iam::123456789012:user/broker";

    // The policies bootstrap will report, for this config.
    let probe = TestApp::spawn_with(TestOptions {
        aws_endpoint: Some(format!("http://127.0.0.1:{}", crate::helpers::free_port())),
        create_roles: false,
        ..Default::default()
    })
    .await;
    let mut settings = sandbox_broker::config::load(Some(&probe.config_path())).unwrap();
    settings.trust.principal_arn = Some(broker_arn.into());
    let identity = sandbox_broker::aws::CallerIdentity {
        account: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:user/provisioner".into(),
        partition: sandbox_broker::domain::Partition::Aws,
    };
    let desired = sandbox_broker::broker::provision::desired::desired_roles(&settings, &identity).unwrap();
    let principals = &sandbox_broker::broker::provision::principals::provisioner_policy;
    let tables = sandbox_broker::broker::provision::principals::Tables {
        ledger: &settings.ledger.table,
        pool: &settings.pool.table,
        accounts: sandbox_broker::broker::provision::principals::PoolAccess::NONE,
    };
    let provisioner_policy = principals(&desired, &identity, tables);
    let broker_policy = sandbox_broker::broker::provision::principals::broker_policy(&desired, &identity, tables);

    let workaround = on_any_resource(&provisioner_policy, None);
    let provisioner_sdk = user_with(
        &endpoint,
        "provisioner",
        &[("provisioner", &provisioner_policy), ("emulator-resource-star", &workaround)],
    )
    .await;
    let ledger_workaround = on_any_resource(&broker_policy, Some(&["WriteSessionLedger", "WriteAccountPool"]));
    // moto matches resources with a regex made by replacing `*` with `.*`;
    // IAM's single-character `?` (the cleanup statements name
    // `????????????-*`, twelve characters then a dash) breaks that regex, so
    // the user holds it with `?` written as `.`, which the regex reads as
    // IAM reads `?`. Nothing else differs.
    let as_moto_reads_it: Value = serde_json::from_str(&broker_policy.to_string().replace('?', ".")).unwrap();
    let broker_sdk = user_with(
        &endpoint,
        "broker",
        &[("broker", &as_moto_reads_it), ("emulator-dynamodb-resource-star", &ledger_workaround)],
    )
    .await;

    // From here on moto enforces. The one-shot bootstrap runs as the
    // provisioner; the roles trust the broker.
    // Both principals run the same configuration: the probe's roles,
    // ledger and pool table, the roles trusting the broker.
    let spawn_as = |sdk: &aws_config::SdkConfig| {
        let (trusted, ledger, pool) =
            (broker_arn.to_owned(), settings.ledger.table.clone(), settings.pool.table.clone());
        TestApp::spawn_with(TestOptions {
            aws_endpoint: Some(endpoint.clone()),
            sdk: Some(sdk.clone()),
            create_roles: false,
            roles: Some(probe.roles.clone()),
            ..TestOptions::configured(move |s| {
                s.trust.principal_arn = Some(trusted);
                s.ledger.table = ledger;
                s.pool.table = pool;
            })
        })
    };
    let provisioner = spawn_as(&provisioner_sdk).await;
    let (status, report) = provisioner.admin(Method::POST, "/admin/bootstrap").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["provisioner_policy"], provisioner_policy,
        "the policy the provisioner holds is the one reported"
    );
    assert_eq!(report["broker_policy"], broker_policy);

    let app = spawn_as(&broker_sdk).await;
    let (status, report) = app.admin(Method::GET, "/admin/status").await;
    assert_eq!(status, 200, "{report}");
    for profile in report["profiles"].as_array().unwrap() {
        assert_eq!(profile["state"], "provisioned", "{profile}");
    }

    let session = app.issue(&json!({"session_id": "enforced-learner"})).await;
    let creds = &session["credentials"];
    let launch = app.http.get(app.launch_url(&session)).send().await.unwrap();
    assert_eq!(launch.status(), 302, "the broker can launch the console");

    let (ok, out) = learner_cli(&endpoint, creds, &["s3api", "list-buckets"]).await;
    assert!(ok, "learner can use S3: {out}");
    let bucket = format!("{}-lab", &session["session_id"].as_str().unwrap().replace('@', "-"));
    let create = ["s3api", "create-bucket", "--bucket", &bucket];
    let (ok, out) = learner_cli(
        &endpoint,
        creds,
        &[&create[..], &["--create-bucket-configuration", "LocationConstraint=eu-west-1"]].concat(),
    )
    .await;
    assert!(ok, "learner can create a bucket: {out}");
    let (ok, out) = learner_cli(&endpoint, creds, &["iam", "list-users"]).await;
    assert!(!ok, "learner must not use IAM: {out}");
    assert!(out.contains("AccessDenied") || out.contains("not authorized"), "{out}");

    let (status, body) = app.revoke("enforced-learner", "").await;
    assert_eq!(status, 202, "the broker can revoke: {body}");

    // The broker's own keys can reshape no role, whatever it tries.
    let iam = aws_sdk_iam::Client::new(&broker_sdk);
    let role = app.role("s3").to_owned();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": broker_arn}, "Action": "sts:AssumeRole"}]})
    .to_string();
    let admin_policy = "arn:aws:iam::aws:policy/AdministratorAccess";
    let denied = [
        (
            "CreateRole",
            iam.create_role()
                .role_name("escalated")
                .assume_role_policy_document(&trust)
                .send()
                .await
                .err()
                .map(denied_code),
        ),
        (
            "PutRolePermissionsBoundary",
            iam.put_role_permissions_boundary()
                .role_name(&role)
                .permissions_boundary(admin_policy)
                .send()
                .await
                .err()
                .map(denied_code),
        ),
        (
            "DeleteRolePermissionsBoundary",
            iam.delete_role_permissions_boundary().role_name(&role).send().await.err().map(denied_code),
        ),
        (
            "UpdateAssumeRolePolicy",
            iam.update_assume_role_policy()
                .role_name(&role)
                .policy_document(&trust)
                .send()
                .await
                .err()
                .map(denied_code),
        ),
        (
            "AttachRolePolicy",
            iam.attach_role_policy().role_name(&role).policy_arn(admin_policy).send().await.err().map(denied_code),
        ),
    ];
    for (action, code) in denied {
        assert_eq!(code.as_deref(), Some("AccessDenied"), "the broker must be denied {action}");
    }

    // The guardrails, where moto cannot enforce them: the role's boundary
    // is the generated policy, holding the access ceiling and the Denies.
    let reader = aws_sdk_iam::Client::new(&provisioner_sdk);
    let got = reader.get_role().role_name(&role).send().await.unwrap();
    let boundary_arn =
        got.role().unwrap().permissions_boundary().unwrap().permissions_boundary_arn().unwrap().to_owned();
    assert!(boundary_arn.contains(":policy/sandbox-broker/boundary-"), "{boundary_arn}");
    let policy = reader.get_policy().policy_arn(&boundary_arn).send().await.unwrap();
    let version = policy.policy().unwrap().default_version_id().unwrap().to_owned();
    let doc = reader.get_policy_version().policy_arn(&boundary_arn).version_id(version).send().await.unwrap();
    let doc = sandbox_broker::aws::iam::decode_policy_document(doc.policy_version().unwrap().document().unwrap());
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let sids: Vec<&str> = doc["Statement"].as_array().unwrap().iter().filter_map(|s| s["Sid"].as_str()).collect();
    for sid in ["GuardrailDeniedActions", "GuardrailRegions", "GuardrailInstanceTypes", "GuardrailVolumeSize"] {
        assert!(sids.contains(&sid), "{sid} missing from {doc}");
    }
    drop(moto);
}
