//! `bootstrap --emit cloudformation`: the desired state as a CloudFormation
//! template, for teams that allow IAM changes only through their
//! infrastructure pipeline. It holds exactly what bootstrap would converge
//! to — each profile's boundary, role, trust, access policy and
//! attachments, and the session ledger table — plus the broker's and the provisioner's policies as
//! managed policies to attach to those principals. Deployed, the broker's
//! `GET /admin/status` reports every profile `provisioned`.

use serde_json::{Map, Value, json};

use super::desired::{ACCESS_POLICY_NAME, BOUNDARY_PATH, DesiredRole};
use super::policy_parts::managed_policy_parts;
use super::principals::Tables;

/// Names of the two principals' managed policies in the template.
pub const BROKER_POLICY_NAME: &str = "sandbox-broker-serving";
/// See [`BROKER_POLICY_NAME`].
pub const PROVISIONER_POLICY_NAME: &str = "sandbox-broker-provisioner";

/// A CloudFormation logical id: alphanumeric, from the profile's name,
/// numbered so that `s3-lab` and `s3lab` cannot collide.
fn logical_id(index: usize, profile: &str, kind: &str) -> String {
    let mut id = String::from("Profile");
    id.push_str(&index.to_string());
    let mut upper = true;
    for c in profile.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    id.push_str(kind);
    id
}

/// Documents are held minified; the template carries them as JSON.
fn document(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("generated policy is not JSON: {e}"))
}

fn managed_policy(name: &str, description: &str, policy: Value) -> Value {
    json!({"Type": "AWS::IAM::ManagedPolicy", "Properties": {
        "ManagedPolicyName": name, "Path": BOUNDARY_PATH, "Description": description, "PolicyDocument": policy}})
}

/// Each profile's boundary (unless it names its own), role, trust,
/// access policy and attachments, with the roles' ARNs as outputs.
fn role_resources(
    desired: &[DesiredRole],
    resources: &mut Map<String, Value>,
    outputs: &mut Map<String, Value>,
) -> Result<(), String> {
    for (index, want) in desired.iter().enumerate() {
        let role_id = logical_id(index, &want.profile, "Role");
        let boundary = match &want.boundary {
            Some(b) => {
                let id = logical_id(index, &want.profile, "Boundary");
                let description = format!("sandbox-broker boundary of profile {}", want.profile);
                resources.insert(id.clone(), managed_policy(&b.name, &description, document(&b.document)?));
                json!({"Ref": id})
            }
            None => json!(want.permissions_boundary_arn),
        };
        let tags: Vec<Value> = want.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
        let mut properties = json!({
            "RoleName": want.role_name,
            "AssumeRolePolicyDocument": document(&want.trust_policy)?,
            "MaxSessionDuration": want.max_session_seconds,
            "PermissionsBoundary": boundary,
            "Tags": tags,
            // The inline document as JSON text, which CloudFormation accepts
            // for a Json property just as it accepts an object; moto (the
            // emulator the suite deploys this to) stores an object-valued
            // inline policy as a Python repr that no client can parse.
            "Policies": [{"PolicyName": ACCESS_POLICY_NAME, "PolicyDocument": want.access_policy}],
        });
        if !want.managed_policy_arns.is_empty() {
            properties["ManagedPolicyArns"] = json!(want.managed_policy_arns);
        }
        resources.insert(role_id.clone(), json!({"Type": "AWS::IAM::Role", "Properties": properties}));
        outputs.insert(
            format!("{role_id}Arn"),
            json!({"Description": format!("Role of profile {}", want.profile), "Value": {"Fn::GetAtt": [role_id, "Arn"]}}),
        );
    }
    Ok(())
}

/// A StackSet-ready template of the account profiles' roles for every pool
/// account: the same documents in each (the caller checks they do not name
/// the account), so a StackSet deploys one template everywhere and the
/// broker's own convergence after registration finds nothing to change.
/// The boundaries keep their path (`/sandbox-broker/`), which a pool
/// account's reset protects: CloudFormation cannot tag a managed policy.
pub fn pool_cloudformation(desired: &[DesiredRole]) -> Result<Value, String> {
    let (mut resources, mut outputs) = (Map::new(), Map::new());
    role_resources(desired, &mut resources, &mut outputs)?;
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "sandbox-broker: the account profiles' roles and boundaries in a pool account (deploy with a StackSet)",
        "Resources": resources,
        "Outputs": outputs,
    }))
}

/// The template for `desired` (every configured profile) and the ledger.
pub fn cloudformation(
    desired: &[DesiredRole],
    tables: Tables<'_>,
    broker_policy: Value,
    provisioner_policy: Value,
) -> Result<Value, String> {
    let mut resources = Map::new();
    resources.insert("SessionLedger".into(), crate::aws::ledger::dynamo::LAYOUT.cloudformation(tables.ledger));
    resources.insert("AccountPool".into(), crate::aws::pool::dynamo::LAYOUT.cloudformation(tables.pool));
    let mut outputs = Map::new();
    role_resources(desired, &mut resources, &mut outputs)?;
    let principals = [
        ("BrokerPolicy", BROKER_POLICY_NAME, "Attach to the serving broker's principal", broker_policy),
        ("ProvisionerPolicy", PROVISIONER_POLICY_NAME, "Attach to the bootstrap job's principal", provisioner_policy),
    ];
    // IAM caps a managed policy at 6,144 characters: a longer one (the
    // broker's, with every registered type's calls) becomes `<name>-2`,
    // `<name>-3`… beside it, all to be attached.
    for (id, name, description, policy) in principals {
        for (n, part) in managed_policy_parts(&policy).into_iter().enumerate() {
            let (id, name) = match n {
                0 => (id.to_owned(), name.to_owned()),
                n => (format!("{id}{}", n + 1), format!("{name}-{}", n + 1)),
            };
            resources.insert(id.clone(), managed_policy(&name, description, part));
            outputs.insert(format!("{id}Arn"), json!({"Description": description, "Value": {"Ref": id}}));
        }
    }
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "sandbox-broker: profile roles, their permissions boundaries, and the broker's and provisioner's policies",
        "Resources": resources,
        "Outputs": outputs,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_are_alphanumeric_and_numbered() {
        assert_eq!(logical_id(0, "s3-isolated", "Role"), "Profile0S3IsolatedRole");
        assert_ne!(logical_id(1, "s3-lab", "Role"), logical_id(2, "s3lab", "Role"));
    }

    #[test]
    fn each_profile_gets_its_boundary_and_role() {
        let identity = crate::aws::CallerIdentity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/ops".into(),
            partition: crate::domain::Partition::Aws,
        };
        let desired = super::super::desired::desired_roles(&crate::config::test_settings(), &identity).unwrap();
        let template = cloudformation(
            &desired,
            Tables {
                ledger: "sandbox-broker-sessions",
                pool: "sandbox-broker-accounts",
                accounts: super::super::principals::PoolAccess::NONE,
            },
            json!({}),
            json!({}),
        )
        .unwrap();
        let role = &template["Resources"]["Profile0S3Role"]["Properties"];
        assert_eq!(role["RoleName"], "sandbox-s3");
        assert_eq!(role["PermissionsBoundary"], json!({"Ref": "Profile0S3Boundary"}));
        assert_eq!(role["Policies"][0]["PolicyName"], ACCESS_POLICY_NAME);
        assert_eq!(role["Policies"][0]["PolicyDocument"], desired[0].access_policy.as_str());
        let boundary = &template["Resources"]["Profile0S3Boundary"]["Properties"];
        assert_eq!(boundary["ManagedPolicyName"], desired[0].boundary.as_ref().unwrap().name.as_str());
        assert_eq!(template["Resources"]["BrokerPolicy"]["Properties"]["ManagedPolicyName"], BROKER_POLICY_NAME);
    }
}
