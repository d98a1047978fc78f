//! POST /sessions against moto: the keys work, the console link works, and
//! what AWS is asked for is what the design says.

use serde_json::json;

use crate::helpers::{ACCOUNT, Moto, TestApp, TestOptions, moto_assumed_roles, moto_issued_triple, sdk_config, whoami};

#[tokio::test]
async fn issued_keys_are_the_assumed_role_and_work() {
    let app = TestApp::spawn().await;
    let body = app.issue(&json!({"session_id": "learner-42@track-s3"})).await;
    let role = app.role("s3");

    assert_eq!(body["session_id"], "learner-42@track-s3");
    assert_eq!(body["profile"], "s3");
    assert_eq!(body["role_arn"], format!("arn:aws:iam::{ACCOUNT}:role/{role}"));
    assert_eq!(body["role_session_name"], "learner-42@track-s3");
    let assumed = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/learner-42@track-s3");
    assert_eq!(body["assumed_role_arn"], assumed);
    assert_eq!(body["region"], "eu-west-1");

    // The keys resolve to the assumed role through the AWS SDK…
    let creds = &body["credentials"];
    assert!(creds["access_key_id"].as_str().unwrap().starts_with("ASIA"));
    assert_eq!(whoami(&app.aws_endpoint, creds).await.unwrap(), assumed);
    // …and the whole triple is the one STS issued (moto skips signature checks).
    let (secret, token) =
        moto_issued_triple(&app.aws_endpoint, creds["access_key_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(creds["secret_access_key"], secret);
    assert_eq!(creds["session_token"], token);
}

#[tokio::test]
async fn console_link_logs_in_at_the_destination() {
    let app = TestApp::spawn().await;
    let destination = "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1";
    let body = app.issue(&json!({"session_id": "learner-console", "destination": destination})).await;
    let url = url::Url::parse(body["console"]["url"].as_str().unwrap()).unwrap();
    assert!(url.as_str().starts_with(&app.federation.endpoint()));
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(params["Action"], "login");
    assert_eq!(params["Issuer"], "Test Platform");
    assert_eq!(params["Destination"], destination);
    // The token was minted for these very credentials.
    assert_eq!(app.federation.token_identity(&params["SigninToken"]).unwrap(), body["assumed_role_arn"]);

    let login = app.http.get(url).send().await.unwrap();
    assert_eq!(login.status(), 302);
    assert_eq!(login.headers()["location"], destination);

    // The sign-in token was requested with a form POST carrying SessionDuration.
    let calls = app.federation.calls();
    let get_token = calls.iter().find(|c| c.action == "getSigninToken").unwrap();
    assert_eq!(get_token.method, "POST");
    assert_eq!(get_token.access_key_id.as_deref(), body["credentials"]["access_key_id"].as_str());
    assert_eq!(get_token.session_duration.as_deref(), Some("3600"));
}

#[tokio::test]
async fn responses_are_never_cached() {
    let app = TestApp::spawn().await;
    let response = app.post_sessions("", &json!({"session_id": "learner-cache"})).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn expiry_reports_the_clamped_duration() {
    let app = TestApp::spawn_with(TestOptions { role_max_session: 7200, ..Default::default() }).await;
    let before = std::time::SystemTime::now();
    let body = app.issue(&json!({"session_id": "learner-long", "duration_seconds": 43200})).await;
    let expiration = body["credentials"]["expiration"].as_str().unwrap();
    let expires =
        aws_smithy_types::DateTime::from_str(expiration, aws_smithy_types::date_time::Format::DateTime).unwrap();
    let lifetime = expires.secs() - before.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    // The role allows 2 hours; moto honours DurationSeconds.
    assert!((7190..=7210).contains(&lifetime), "lifetime {lifetime}");
    let console_expiry = body["console"]["url_expires_at"].as_str().unwrap();
    assert!(console_expiry < expiration, "sign-in tokens live 15 minutes");
}

#[tokio::test]
async fn invalid_session_ids_map_to_distinct_role_session_names() {
    let app = TestApp::spawn().await;
    let a = app.issue(&json!({"session_id": "learner 1 / track"})).await;
    let b = app.issue(&json!({"session_id": "learner 1 ? track"})).await;
    let (na, nb) = (a["role_session_name"].as_str().unwrap(), b["role_session_name"].as_str().unwrap());
    assert_ne!(na, nb);
    assert!(na.starts_with("learner-1---track="), "{na}");
    assert!(a["assumed_role_arn"].as_str().unwrap().ends_with(na));
}

#[tokio::test]
async fn profile_selects_the_role() {
    let app = TestApp::spawn().await;
    let body = app.issue(&json!({"session_id": "learner-other", "profile": "other"})).await;
    assert_eq!(body["profile"], "other");
    assert!(body["role_arn"].as_str().unwrap().ends_with(app.role("other")));
}

#[tokio::test]
async fn missing_role_is_profile_not_provisioned() {
    let app = TestApp::spawn_with(TestOptions { create_roles: false, ..Default::default() }).await;
    let response = app.post_sessions("", &json!({"session_id": "learner-x"})).await;
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "profile_not_provisioned");
}

#[tokio::test]
async fn role_chained_broker_caps_at_one_hour_and_omits_session_duration() {
    // The broker runs on role credentials (as on EC2/ECS/EKS): GetCallerIdentity
    // answers with an assumed-role ARN.
    let moto = &Moto::shared().endpoint;
    let broker_role = crate::helpers::unique("broker-role");
    crate::helpers::create_role(moto, &broker_role, 43_200).await;
    let out = aws_sdk_sts::Client::new(&crate::helpers::broker_sdk_config(moto))
        .assume_role()
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/{broker_role}"))
        .role_session_name("broker")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let sdk = sdk_config(moto, c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    let app = TestApp::spawn_with(TestOptions { sdk: Some(sdk), ..Default::default() }).await;

    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let body = app.issue(&json!({"session_id": "learner-chained", "duration_seconds": 43200})).await;
    let expires = aws_smithy_types::DateTime::from_str(
        body["credentials"]["expiration"].as_str().unwrap(),
        aws_smithy_types::date_time::Format::DateTime,
    )
    .unwrap();
    assert!((3590..=3610).contains(&(expires.secs() - before)));
    let calls = app.federation.calls();
    let get_token = calls.iter().find(|c| c.action == "getSigninToken").unwrap();
    assert_eq!(get_token.session_duration, None);
}

#[tokio::test]
async fn a_session_policy_narrows_the_keys_and_every_console_launch() {
    let app = TestApp::spawn().await;
    let narrow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::lab-bucket/*"}]});
    let arns = json!(["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]);
    let body = json!({"session_id": "narrowed-1", "session_policy": narrow, "policy_arns": arns});
    let session = app.issue(&body).await;
    let launch = app.http.get(app.launch_url(&session)).send().await.unwrap();
    assert_eq!(launch.status(), 302);

    // moto records the Policy of each AssumeRole: the keys and the console
    // session minted by the click both carry it.
    let narrowed: Vec<_> =
        moto_assumed_roles(&app.aws_endpoint).await.into_iter().filter(|r| r["session_name"] == "narrowed-1").collect();
    assert_eq!(narrowed.len(), 2, "{narrowed:?}");
    for role in narrowed {
        assert_eq!(role["policy"], narrow.to_string());
    }
}

#[tokio::test]
async fn bad_session_policies_are_refused_before_any_aws_call() {
    let app = TestApp::spawn().await;
    let padded = |n: usize| json!({"Statement": [], "Sid": "a".repeat(n)});
    let room = 2_048 - padded(0).to_string().len();
    let before = app.calls.get();
    for bad in [
        json!({"session_id": "narrow-bad", "session_policy": padded(room + 1)}),
        json!({"session_id": "narrow-bad", "session_policy": "Allow everything"}),
        json!({"session_id": "narrow-bad", "session_policy": {"Version": "2012-10-17"}}),
        json!({"session_id": "narrow-bad", "policy_arns": ["arn:aws:s3:::bucket"]}),
        json!({"session_id": "narrow-bad", "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    ] {
        let response = app.post_sessions("", &bad).await;
        let status = response.status();
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 422, "{bad}: {error}");
        let expected = if bad["policy_arns"].is_string() { "invalid_body" } else { "invalid_session_policy" };
        assert_eq!(error["error"]["code"], expected, "{error}");
    }
    assert_eq!(app.calls.get(), before, "nothing reached AWS");
    // Exactly at the limit is fine.
    let response = app.post_sessions("", &json!({"session_id": "narrow-ok", "session_policy": padded(room)})).await;
    assert_eq!(response.status(), 201);
}
