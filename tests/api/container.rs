//! No Docker engine runs here, so the container files are checked for what
//! can be checked: the compose file parses, its environment is a valid
//! configuration for the baked config file, ports and paths match the code.

use std::collections::BTreeMap;
use std::process::Command;

use crate::helpers::repo_path;

fn compose() -> serde_norway::Value {
    let mut value: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(repo_path("docker-compose.yml")).unwrap()).unwrap();
    // `<<: *anchor` merge keys, as docker compose applies them.
    value.apply_merge().unwrap();
    value
}

fn dockerfile() -> String {
    std::fs::read_to_string(repo_path("Dockerfile")).unwrap()
}

fn environment(service: &serde_norway::Value) -> BTreeMap<String, String> {
    let env = service["environment"].as_mapping().expect("environment mapping");
    env.iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.as_str().map_or_else(|| format!("{v:?}"), str::to_owned)))
        .collect()
}

#[test]
fn compose_environment_is_a_valid_configuration() {
    let compose = compose();
    let services = &compose["services"];
    for name in ["moto", "federation", "bootstrap", "broker"] {
        assert!(services.get(name).is_some(), "service {name}");
    }
    assert!(services["moto"]["image"].as_str().unwrap().starts_with("motoserver/moto:"));
    assert_eq!(services["bootstrap"]["command"][0].as_str(), Some("bootstrap"));
    assert_eq!(services["broker"]["command"][0].as_str(), Some("serve"));
    assert_eq!(
        services["broker"]["depends_on"]["bootstrap"]["condition"].as_str(),
        Some("service_completed_successfully"),
        "the broker starts after a successful bootstrap"
    );
    let env = environment(&services["broker"]);
    let bootstrap = environment(&services["bootstrap"]);
    let config = |e: &BTreeMap<String, String>| {
        e.iter()
            .filter(|(k, _)| k.starts_with("SANDBOX_BROKER"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(config(&env), config(&bootstrap), "one configuration");
    assert_ne!(env["AWS_ACCESS_KEY_ID"], bootstrap["AWS_ACCESS_KEY_ID"], "two principals");
    assert!(
        env.contains_key("SANDBOX_BROKER__TRUST__PRINCIPAL_ARN"),
        "the roles trust the server, not the provisioner"
    );
    // The image bakes config/default.toml at this path; the compose
    // environment must complete it into a valid configuration.
    assert_eq!(env["SANDBOX_BROKER_CONFIG"], "/etc/sandbox-broker/config.toml");
    assert!(dockerfile().contains("COPY config/default.toml /etc/sandbox-broker/config.toml"));
    assert!(dockerfile().contains("COPY config/policies /etc/sandbox-broker/policies"));
    let out = Command::new(env!("CARGO_BIN_EXE_sandbox-broker"))
        .args(["--config", repo_path("config/default.toml").to_str().unwrap(), "check-config"])
        .env_remove("SANDBOX_BROKER_CONFIG")
        .envs(env.iter().filter(|(k, _)| k.starts_with("SANDBOX_BROKER__")))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(env["SANDBOX_BROKER__AWS__ENDPOINT_URL"].contains("moto:5000"));
    assert!(env["SANDBOX_BROKER__AWS__FEDERATION_ENDPOINT"].starts_with("http://federation:5001/"));
}

#[test]
fn ports_and_health_checks_match_the_code() {
    let compose = compose();
    let default_listen = sandbox_broker::config::ServerSettings::default().listen;
    assert_eq!(default_listen.port(), 8080);
    assert_eq!(compose["services"]["broker"]["ports"][0].as_str(), Some("8080:8080"));
    let dockerfile = dockerfile();
    assert!(dockerfile.contains("EXPOSE 8080"));
    assert!(dockerfile.contains("http://127.0.0.1:8080/healthz"), "HEALTHCHECK probes /healthz");
    assert!(dockerfile.contains("USER 10001"), "runs as a non-root user");
    let federation_cmd: Vec<&str> =
        compose["services"]["federation"]["command"].as_sequence().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(federation_cmd.contains(&"5001"));
    // The federation stand-in is a stage of the Dockerfile that builds the
    // shared fake from sources that exist.
    let target = compose["services"]["federation"]["build"]["target"].as_str().unwrap();
    assert!(dockerfile.contains(&format!(" AS {target}\n")), "Dockerfile stage {target}");
    assert!(dockerfile.contains("--example fake_upstream") && repo_path("examples/fake_upstream.rs").exists());
}

#[test]
fn dockerfile_builds_with_the_projects_rust_and_copies_what_exists() {
    let dockerfile = dockerfile();
    let cargo = std::fs::read_to_string(repo_path("Cargo.toml")).unwrap();
    let rust_version = cargo.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"');
    let arg = dockerfile.lines().find_map(|l| l.strip_prefix("ARG RUST_VERSION=")).unwrap();
    assert!(arg.starts_with(rust_version), "builder {arg} vs rust-version {rust_version}");
    for line in dockerfile.lines().filter(|l| l.starts_with("COPY ") && !l.contains("--from")) {
        let sources: Vec<&str> = line.split_whitespace().skip(1).collect();
        for source in &sources[..sources.len() - 1] {
            assert!(repo_path(source).exists(), "{line}: {source} missing");
        }
    }
    let binary = dockerfile.lines().find(|l| l.contains("--from=builder ")).unwrap();
    assert!(binary.contains("target/release/sandbox-broker"), "copies the binary cargo builds");
    let ignore = std::fs::read_to_string(repo_path(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "target") && ignore.lines().any(|l| l == ".venv"));
}
