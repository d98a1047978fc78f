//! `sandbox-broker pool …` against moto: add, list, show, quarantine,
//! release (the reset runs in the command), dry-run reset and remove,
//! printing the JSON of the `/admin/accounts` routes; a bad id exits
//! non-zero and changes nothing.

use serde_json::Value;

use crate::helpers::{Moto, TestApp, run_cli, unique};
use crate::pool::{PROFILE, members, pool_options};

/// The account profile as environment variables (the test app adds it to
/// its typed settings; the CLI reads the file and the environment).
pub(crate) fn own_profile_env(role: &str) -> Vec<(String, String)> {
    let key = |k: &str| format!("SANDBOX_BROKER__PROFILES__{}__{k}", PROFILE.to_uppercase());
    vec![
        ("AWS_ACCESS_KEY_ID".into(), "AKIAPOOLCLI".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "pool-cli".into()),
        ("RUST_LOG".into(), "warn".into()),
        (key("ROLE_NAME"), role.into()),
        (key("ACCESS_POLICY"), "policies/s3.json".into()),
        (key("ISOLATION"), "account".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_commands_manage_accounts_from_a_terminal() {
    let moto = Moto::start(&[]);
    let role = unique("cli-own");
    let named = role.clone();
    // The app only provides the config file and the tables; its worker is
    // off so that the commands' own resets are the only ones.
    let app = TestApp::spawn_with(pool_options(&moto.endpoint, move |s| {
        s.cleanup.enabled = false;
        if let Some(own) = s.profiles.get_mut(PROFILE) {
            own.role_name = Some(named);
        }
    }))
    .await;
    let config = app.config_path();
    let env = own_profile_env(&role);
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let pool = |args: &[&str]| {
        let mut all = vec!["--config", config.to_str().unwrap(), "pool"];
        all.extend_from_slice(args);
        let (code, out, err) = run_cli(&all, &envs);
        (code, serde_json::from_str::<Value>(&out).unwrap_or(Value::Null), err)
    };
    let ids = members(&moto.endpoint, 2).await;
    let (code, added, err) = pool(&["add", &ids[0], &ids[1]]);
    assert_eq!(code, 0, "{err}");
    assert!(added["accounts"].as_array().unwrap().iter().all(|a| a["state"] == "available"), "{added}");
    let (code, listed, err) = pool(&["list", "--state", "available"]);
    assert_eq!((code, listed["accounts"].as_array().map(Vec::len)), (0, Some(2)), "{err}");
    let (code, shown, err) = pool(&["show", &ids[0]]);
    assert_eq!((code, shown["drift"].clone()), (0, serde_json::json!([])), "{err}");

    let (code, quarantined, err) = pool(&["quarantine", &ids[0], "--reason", "checked from a terminal"]);
    assert_eq!((code, quarantined["state"].as_str()), (0, Some("quarantined")), "{err}");
    let (code, released, err) = pool(&["release", &ids[0]]);
    assert_eq!((code, released["state"].as_str()), (0, Some("available")), "{err} {released}");
    assert_eq!(released["resets"], 1, "{released}");
    let (code, preview, err) = pool(&["reset", &ids[1], "--dry-run"]);
    assert_eq!((code, preview["dry_run"].as_bool()), (0, Some(true)), "{err}");
    assert_eq!(pool(&["show", &ids[1]]).1["resets"], 0, "a dry run changes nothing");
    let (code, removed, err) = pool(&["remove", &ids[1]]);
    assert_eq!((code, removed["state"].as_str()), (0, Some("removed")), "{err}");
    assert_eq!(pool(&["list"]).1["accounts"].as_array().map(Vec::len), Some(1));

    let (code, _, err) = pool(&["show", "12"]);
    assert_ne!(code, 0);
    assert!(err.contains("12-digit"), "{err}");
    let (code, _, err) = pool(&["remove", "999999999999"]);
    assert_ne!(code, 0);
    assert!(err.contains("not registered"), "{err}");
}
