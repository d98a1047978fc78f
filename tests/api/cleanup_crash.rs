//! A replica that dies in the middle of a cleanup: its claim expires and
//! another replica finishes the job (a real broker process, SIGKILLed).

use std::time::Duration;

use serde_json::{Value, json};

use crate::cleanup::{eager_options, still_there};
use crate::helpers::{Moto, TestApp, TestOptions, footprint, report_arns, strings};

/// A replica killed (SIGKILL) while emptying a 5,000-version bucket leaves
/// its claim; once the claim expires another replica finishes the job.
#[tokio::test]
async fn a_replica_killed_mid_cleanup_is_finished_by_another() {
    let moto = Moto::start(&[]);
    let federation = crate::helpers::FederationServer::start(&moto.endpoint, Duration::ZERO).await;
    let roles = vec![("s3".to_owned(), crate::helpers::unique("killed-role"))];
    crate::helpers::create_role(&moto.endpoint, &roles[0].1, 43_200).await;
    let auth = format!("hs256_secret = \"{}\"", crate::helpers::HS256_SECRET);
    let eager = "\n[cleanup]\ninterval_seconds = 1\ngrace_seconds = 0\nclaim_seconds = 5\n";
    let toml = crate::helpers::test_config_toml(&moto.endpoint, &federation.endpoint(), &roles, &auth, eager);
    let (_dir, path) = crate::helpers::write_config(&toml);
    crate::helpers::create_ledger(&moto.endpoint, &path).await;
    let creds = [("AWS_ACCESS_KEY_ID", "AKIAKILLED"), ("AWS_SECRET_ACCESS_KEY", "killed")];
    let mut doomed = crate::helpers::start_broker(&path, &creds);
    let http = reqwest::Client::new();
    let token = crate::helpers::mint(json!({"scope": "sessions:issue sessions:revoke sessions:read"}));
    let issued: Value = http
        .post(format!("{}/sessions", doomed.base))
        .bearer_auth(&token)
        .json(&json!({"session_id": "learner-big"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let record = |base: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let r = http.get(format!("{base}/sessions/learner-big")).bearer_auth(token).send().await.unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let key = record(doomed.base.clone()).await["sandbox_key"].as_str().unwrap().to_owned();
    let made = footprint(
        &moto.endpoint,
        Some(&issued["credentials"]),
        &[&key],
        &["--only", "bucket,queue", "--versions", "5000"],
    );
    let ended = http.delete(format!("{}/sessions/learner-big", doomed.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ended.status(), 202);
    let deadline = std::time::Instant::now() + crate::helpers::LOADED;
    loop {
        let state = record(doomed.base.clone()).await["state"].clone();
        if state == "cleaning" {
            break;
        }
        assert!(state == "ended" && std::time::Instant::now() < deadline, "never seen cleaning: {state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.child.kill().unwrap();
    doomed.child.wait().unwrap();

    let table = sandbox_broker::config::load(Some(&path)).unwrap().ledger.table;
    let survivor = TestApp::spawn_with(TestOptions {
        roles: Some(roles.clone()),
        create_roles: false,
        ..eager_options(&moto, "survivor", Some(table))
    })
    .await;
    let done = survivor
        .wait_for_state("learner-big", &["cleaned", "cleanup_incomplete", "cleanup_failed"], crate::helpers::LOADED)
        .await;
    assert_eq!(done["state"], "cleaned", "{done}");
    assert_eq!(done["cleanup"]["attempts"], 2, "the killed replica's attempt, then the survivor's: {done}");
    let expected = strings(&made[&key]["expected"]);
    let deleted = report_arns(&done, "deleted");
    assert!(deleted.iter().all(|arn| expected.contains(arn)), "{deleted:?}");
    assert_eq!(
        still_there(&survivor, "learner-big").await,
        Vec::<String>::new(),
        "the bucket and its 5,000 versions are gone"
    );
}
