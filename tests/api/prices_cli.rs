//! `sandbox-broker prices import`: the price table built from AWS's bulk
//! price list offer files (fixtures in AWS's format) for the configured
//! regions, written where asked, and read back by the broker's own check.

use crate::helpers::{repo_path, run_cli as run};

fn fixtures() -> Vec<String> {
    let dir = repo_path("tests/fixtures/price-list");
    let mut files: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path().to_string_lossy().into_owned()).collect();
    files.sort();
    files
}

#[test]
fn import_builds_the_table_the_broker_reads_for_the_configured_regions() {
    let local = repo_path("config/local.toml");
    let local = local.to_str().unwrap();
    // local.toml names eu-west-1 alone; the environment adds us-east-1 for
    // cleanup, as a deployment's configuration would.
    let envs = [("SANDBOX_BROKER__CLEANUP__REGIONS", "[\"eu-west-1\",\"us-east-1\"]")];
    let files = fixtures();
    let mut args = vec!["--config", local, "prices", "import"];
    args.extend(files.iter().map(String::as_str));
    let (code, stdout, stderr) = run(&args, &envs);
    assert_eq!(code, 0, "{stderr}");
    // eu-west-1 is home: its prices are the table, us-east-1's the override.
    assert!(stdout.contains("[prices.\"ec2:instance\"]\n\"m5.large\" = 0.107\n\"t3.micro\" = 0.0114\n"), "{stdout}");
    assert!(stdout.contains("[regions.\"us-east-1\".prices.\"ec2:instance\"]\n\"m5.large\" = 0.096\n"), "{stdout}");
    assert!(stderr.contains("us-east-1: 20 prices") && stderr.contains("eu-west-1: 7 prices"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("prices.toml");
    let out = out.to_str().unwrap();
    args.extend(["--out", out]);
    let (code, written, stderr) = run(&args, &envs);
    assert_eq!(code, 0, "{stderr}");
    assert!(written.is_empty(), "the table goes to --out only: {written}");
    assert_eq!(std::fs::read_to_string(out).unwrap(), stdout);
    let with_table = [envs[0], ("SANDBOX_BROKER__SPEND__PRICES_FILE", out)];
    let (code, _, stderr) = run(&["--config", local, "check-config"], &with_table);
    assert_eq!(code, 0, "the broker reads the table it built: {stderr}");
}

#[test]
fn import_refuses_a_bad_file_and_writes_nothing() {
    let local = repo_path("config/local.toml");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("AmazonEC2.json");
    std::fs::write(&bad, "{\"products\": {\"SKU\": ").unwrap();
    let out = dir.path().join("prices.toml");
    let files = fixtures();
    let mut args = vec!["--config", local.to_str().unwrap(), "prices", "import"];
    args.extend(files.iter().map(String::as_str));
    args.extend([bad.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let (code, stdout, stderr) = run(&args, &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains(bad.to_str().unwrap()) && stderr.contains("EOF"), "{stderr}");
    assert!(!out.exists());
    let (code, _, stderr) = run(&["--config", local.to_str().unwrap(), "prices", "import"], &[]);
    assert_eq!(code, 2, "clap asks for a file: {stderr}");
}
