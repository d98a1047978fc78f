//! The shipped isolated profiles, checked statement by statement: what a
//! learner can reach is named or tagged with the learner's own key.

use serde_json::Value;

use crate::helpers::repo_path;

/// The isolated profile grants nothing on `*` but the one action IAM cannot
/// scope to a resource (s3:ListAllMyBuckets, which the console's bucket list
/// needs); everything else names the learner's own buckets, and nothing lets
/// a learner change who may access them (bucket policies, ACLs).
#[test]
fn the_isolated_profile_uses_no_wildcard_a_resource_could_replace() {
    let text = std::fs::read_to_string(repo_path("config/policies/s3-isolated.json")).unwrap();
    let policy: Value = serde_json::from_str(&text).unwrap();
    for statement in policy["Statement"].as_array().unwrap() {
        let on_everything = statement["Resource"] == "*";
        let actions: Vec<&str> = match &statement["Action"] {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().map(|a| a.as_str().unwrap()).collect(),
            other => panic!("unexpected Action {other}"),
        };
        if on_everything {
            assert_eq!(actions, ["s3:ListAllMyBuckets"], "{statement}");
        } else {
            let resource = statement["Resource"].as_str().unwrap();
            assert!(resource.contains("${aws:PrincipalTag/sandbox-key}-"), "{statement}");
        }
        for action in actions {
            let writes = action.starts_with("s3:Put") || action.starts_with("s3:Delete");
            let access = action.contains("Policy") || action.contains("Acl") || action.contains("PublicAccess");
            assert!(!(action.contains('*') || writes && access), "{action}");
        }
    }
}

/// lab-isolated makes attribution certain: everything a learner can create
/// is named `<sandbox-key>-…` or tagged with the learner's own key at
/// creation (tags cannot be changed afterwards), and what a learner can
/// touch is the same set. moto substitutes no policy variable and ignores
/// conditions, so the document is what is checked.
#[test]
fn the_lab_profile_only_reaches_resources_of_the_learners_own_key() {
    let text = std::fs::read_to_string(repo_path("config/policies/lab-isolated.json")).unwrap();
    let policy: Value = serde_json::from_str(&text).unwrap();
    let own = "${aws:PrincipalTag/sandbox-key}";
    for statement in policy["Statement"].as_array().unwrap() {
        let sid = statement["Sid"].as_str().unwrap();
        let resources: Vec<&str> = match &statement["Resource"] {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().map(|r| r.as_str().unwrap()).collect(),
            other => panic!("{other}"),
        };
        let condition = statement["Condition"].to_string();
        match sid {
            "OwnNamedResources" => assert!(resources.iter().all(|r| r.contains(&format!("{own}-"))), "{statement}"),
            "CreateEc2OnlyTaggedWithOwnKey" => {
                assert!(condition.contains(&format!("\"aws:RequestTag/sandbox-key\":\"{own}\"")))
            }
            "UseOwnTaggedEc2" => assert!(condition.contains(&format!("\"aws:ResourceTag/sandbox-key\":\"{own}\""))),
            "TagOnCreateOnly" => assert!(condition.contains("ec2:CreateAction")),
            "SeeTheConsole" => {
                let actions = statement["Action"].as_array().unwrap();
                assert!(
                    actions
                        .iter()
                        .all(|a| a.as_str().unwrap().contains(":List") || a.as_str().unwrap().contains(":Describe"))
                );
            }
            // Shared inputs of a launch (images, subnets, VPCs), the fixed
            // execution role, and the Deny list.
            "LaunchFromSharedNetworkAndImages" | "PassTheLabExecutionRole" => {}
            "NoPublicExposureNoUntagging" => {
                assert_eq!(statement["Effect"], "Deny");
                assert!(statement.to_string().contains("ec2:DeleteTags"));
            }
            other => panic!("unexpected statement {other}: check it reaches only the learner's own resources"),
        }
    }
}
