//! Every policy the broker generates — trust, access, boundary, revocation,
//! and the broker's and provisioner's own — as bootstrap and a revocation
//! actually wrote them to the emulator, run through two IAM policy
//! auditors: Duo Labs' `parliament` (community auditors on) and
//! Salesforce's `cloudsplaining scan-policy-file`. The findings must be
//! exactly the documented, intended ones (docs/bootstrap-and-boundaries.md, "Privilege boundaries"):
//! a new finding fails the test, and so does an intended one that vanished
//! (the docs would then be wrong).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOptions, iam_client, repo_path, venv_tool};

type Findings = BTreeMap<String, BTreeSet<String>>;

fn decode(raw: &str) -> Value {
    serde_json::from_str(&sandbox_broker::aws::iam::decode_policy_document(raw)).unwrap()
}

/// Every document bootstrap and a revocation wrote for `role`, by a name
/// like `s3.access` (`<profile>.<kind>`).
async fn written_documents(endpoint: &str, profile: &str, role: &str) -> Vec<(String, Value)> {
    let iam = iam_client(endpoint);
    let got = iam.get_role().role_name(role).send().await.unwrap();
    let got = got.role().unwrap();
    let mut docs = vec![(format!("{profile}.trust"), decode(got.assume_role_policy_document().unwrap()))];
    let boundary = got.permissions_boundary().unwrap().permissions_boundary_arn().unwrap();
    let version = iam.get_policy_version().policy_arn(boundary).version_id("v1").send().await.unwrap();
    docs.push((format!("{profile}.boundary"), decode(version.policy_version().unwrap().document().unwrap())));
    for name in iam.list_role_policies().role_name(role).send().await.unwrap().policy_names() {
        let doc = iam.get_role_policy().role_name(role).policy_name(name).send().await.unwrap();
        let kind = if name == "sandbox-broker-access" { "access" } else { "revocation" };
        docs.push((format!("{profile}.{kind}"), decode(doc.policy_document())));
    }
    docs
}

pub(crate) fn parliament(document: &Value) -> BTreeSet<String> {
    let out = std::process::Command::new(venv_tool("parliament", "PARLIAMENT"))
        .args(["--include-community-auditors", "--json", "--string", &document.to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run parliament (scripts/test.sh installs it into .venv)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() || !stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|f| f["issue"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn cloudsplaining(document: &Value, dir: &Path, name: &str) -> BTreeSet<String> {
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, document.to_string()).unwrap();
    let out = std::process::Command::new(venv_tool("cloudsplaining", "CLOUDSPLAINING"))
        .args(["scan-policy-file", "--input-file", file.to_str().unwrap()])
        .output()
        .expect("run cloudsplaining (scripts/test.sh installs it into .venv)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // "Potential Issue found: Policy is capable of Data Exfiltration" (with
    // terminal colours around it).
    stdout
        .lines()
        .filter_map(|l| l.split_once("Potential Issue found: ").map(|(_, rest)| rest))
        .map(|rest| rest.trim_end_matches("\u{1b}[0m").trim().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The documented, intended findings; every other document has none.
fn intended() -> (Findings, Findings) {
    // The plain S3 lab grants s3:* on every bucket: its access policy and
    // the boundary that repeats it as the ceiling.
    let s3_parliament = set(&["RESOURCE_STAR", "PERMISSIONS_MANAGEMENT_ACTIONS"]);
    let s3_cloudsplaining = set(&[
        "Policy is capable of Data Exfiltration",
        "Policy is capable of Resource Exposure",
        "Policy allows ALL Actions from a service (like service:*)",
        "Policy is capable of Unrestricted Infrastructure Modification",
    ]);
    // parliament's policy-variable pattern (`\$\{aws.[\w\/]+\}`) has no
    // hyphen, so it misreads `${aws:PrincipalTag/sandbox-key}` in an ARN;
    // with a hyphen-free tag key the same policy has no finding.
    let variable_misread = set(&["RESOURCE_MISMATCH"]);
    // parliament audits identity policies, which need a Resource; a trust
    // policy must not have one (IAM refuses it).
    let trust = set(&["MALFORMED"]);
    let parliament = [
        ("s3.access", s3_parliament.clone()),
        ("s3.boundary", s3_parliament),
        ("s3.trust", trust.clone()),
        ("s3-isolated.access", variable_misread.clone()),
        ("s3-isolated.boundary", variable_misread),
        ("s3-isolated.trust", trust),
        // Vending credentials is the broker's job (sts:AssumeRole). Its
        // revocation Denies are written with iam:PutRolePolicy, only on
        // roles carrying a broker boundary; parliament matches action
        // names, not conditions or boundaries.
        (
            "broker_policy",
            set(&["CREDENTIALS_EXPOSURE", "PERMISSIONS_MANAGEMENT_ACTIONS", "PRIVILEGE_ESCALATION", "RESOURCE_STAR"]),
        ),
        // Provisioning IAM roles is this principal's job.
        ("provisioner_policy", set(&["PERMISSIONS_MANAGEMENT_ACTIONS"])),
    ];
    // lab-isolated: full control of the learner's own resources (service
    // wildcards on `<key>-…` ARNs only, public exposure denied); Lambda
    // functions run as the fixed role `sandbox-lab-execution`, so passing it
    // is the one privilege a learner can "escalate" to; split RunInstances
    // statements (tag-on-create) and the hyphenated tag variable read as
    // resource mismatches.
    let lab = set(&["RESOURCE_MISMATCH", "PRIVILEGE_ESCALATION", "PERMISSIONS_MANAGEMENT_ACTIONS"]);
    let parliament = [&parliament[..], &[("lab-isolated.access", lab)]].concat();
    let cloudsplaining = [
        ("s3.access", s3_cloudsplaining.clone()),
        ("s3.boundary", s3_cloudsplaining),
        ("lab-isolated.access", set(&["Policy allows ALL Actions from a service (like service:*)"])),
    ];
    let own = |items: &[(&str, BTreeSet<String>)]| items.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    (own(&parliament), own(&cloudsplaining))
}

#[tokio::test]
async fn generated_policies_pass_parliament_and_cloudsplaining() {
    let isolated = std::fs::read_to_string(repo_path("config/policies/s3-isolated.json")).unwrap();
    let app = TestApp::spawn_with(TestOptions {
        create_roles: false,
        ..TestOptions::configured(move |s| {
            // moto reports its own caller as an sts ARN no deployment has.
            s.trust.principal_arn = Some("arn:aws:iam::123456789012:role/sandbox-broker".into());
            if let Some(p) = s.profiles.get_mut("other") {
                p.policy_template = isolated;
            }
        })
    })
    .await;
    let (status, report) = app.admin(Method::POST, "/admin/bootstrap").await;
    assert_eq!(status, 200, "{report}");
    for profile in ["s3", "other"] {
        let id = format!("audited-{profile}");
        app.issue(&json!({"session_id": id, "profile": profile})).await;
        assert_eq!(app.revoke(&id, &format!("?profile={profile}")).await.0, 202);
    }

    let mut documents = vec![
        ("broker_policy".to_owned(), report["broker_policy"].clone()),
        ("provisioner_policy".to_owned(), report["provisioner_policy"].clone()),
    ];
    for (profile, role) in app.roles.clone() {
        let profile = if profile == "other" { "s3-isolated".to_owned() } else { profile };
        documents.extend(written_documents(&app.aws_endpoint, &profile, &role).await);
    }
    // The multi-service lab profile, as bootstrap renders it.
    let template = std::fs::read_to_string(repo_path("config/policies/lab-isolated.json")).unwrap();
    let vars = sandbox_broker::domain::policy::TemplateVars {
        account_id: "123456789012",
        partition: "aws",
        region: "eu-west-1",
    };
    let rendered = sandbox_broker::domain::policy::render(&template, &vars).unwrap();
    documents.push(("lab-isolated.access".into(), serde_json::from_str(&rendered).unwrap()));
    let kinds: BTreeSet<&str> = documents.iter().map(|(n, _)| n.as_str()).collect();
    for kind in ["trust", "access", "boundary", "revocation"] {
        assert!(kinds.contains(format!("s3-isolated.{kind}").as_str()), "{kinds:?}");
    }

    let dir = tempfile::tempdir().unwrap();
    let (want_parliament, want_cloudsplaining) = intended();
    let mut got_parliament = Findings::new();
    let mut got_cloudsplaining = Findings::new();
    for (name, document) in &documents {
        got_parliament.insert(name.clone(), parliament(document));
        got_cloudsplaining.insert(name.clone(), cloudsplaining(document, dir.path(), name));
    }
    got_parliament.retain(|_, f| !f.is_empty());
    got_cloudsplaining.retain(|_, f| !f.is_empty());
    assert_eq!(got_parliament, want_parliament, "parliament");
    assert_eq!(got_cloudsplaining, want_cloudsplaining, "cloudsplaining");
}

/// What `broker_policy` gains for an account profile (org-bounded
/// AssumeRole of the pool's roles, Organizations reads and, with
/// `pool.create_email`, account creation) audits as clean as the rest: the
/// only finding is parliament's CREDENTIALS_EXPOSURE that every AssumeRole
/// grant carries, and nothing is granted without an account profile.
#[test]
fn the_pool_statements_audit_clean() {
    use sandbox_broker::broker::provision::principals::{PoolAccess, Tables, broker_policy};
    let identity = sandbox_broker::aws::CallerIdentity {
        account: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:role/sandbox-broker".into(),
        partition: sandbox_broker::domain::Partition::Aws,
    };
    let roles = ["sandbox-own".to_owned()];
    let accounts = PoolAccess { roles: &roles, access_role: "OrganizationAccountAccessRole", creates: true };
    let tables = |accounts| Tables { ledger: "sessions", pool: "accounts", accounts };
    let pool_sids = [
        "AssumePoolProfileRoles",
        "AssumePoolAccessRole",
        "KnowOrganization",
        "ReadMemberAccounts",
        "CreatePoolAccounts",
        "MoveCreatedAccounts",
    ];
    let of_pool = |policy: &Value| -> Vec<Value> {
        let statements = policy["Statement"].as_array().unwrap();
        statements.iter().filter(|s| pool_sids.contains(&s["Sid"].as_str().unwrap_or(""))).cloned().collect()
    };
    assert!(of_pool(&broker_policy(&[], &identity, tables(PoolAccess::NONE))).is_empty());
    let statements = of_pool(&broker_policy(&[], &identity, tables(accounts)));
    assert_eq!(statements.len(), pool_sids.len());
    let document = json!({ "Version": "2012-10-17", "Statement": statements });
    assert_eq!(parliament(&document), set(&["CREDENTIALS_EXPOSURE"]));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(cloudsplaining(&document, dir.path(), "pool"), BTreeSet::new());
}
