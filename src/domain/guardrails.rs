//! Spend guardrails: what no learner may do whatever a profile's access
//! policy says. Cost data lags 8–24 hours (Cost Explorer, Budgets), so a
//! bill must be prevented by IAM, not detected afterwards. Guardrails are
//! rendered as Deny statements into each profile's permissions boundary,
//! which the serving broker cannot change (see `provision::principals`).

use serde::Deserialize;
use serde_json::{Value, json};

use super::policy::{MANAGED_POLICY_LIMIT, TemplateVars, render};

/// Actions denied unless a profile says otherwise: long-term purchases,
/// paid subscriptions and account-wide changes a learner never needs.
pub const STANDARD_DENIED_ACTIONS: &[&str] = &[
    // Bedrock: custom model import, provisioned throughput and fine-tuning
    // bill by the hour or by the job, thousands of dollars a day.
    "bedrock:CreateModelImportJob",
    "bedrock:CreateProvisionedModelThroughput",
    "bedrock:UpdateProvisionedModelThroughput",
    "bedrock:CreateModelCustomizationJob",
    "bedrock:PutFoundationModelEntitlement",
    // Marketplace subscriptions bill the account outside any lab.
    "aws-marketplace:Subscribe",
    "aws-marketplace:AcceptAgreementRequest",
    // Reservations and savings plans are one- or three-year commitments.
    "ec2:PurchaseReservedInstancesOffering",
    "ec2:PurchaseHostReservation",
    "ec2:PurchaseScheduledInstances",
    "ec2:PurchaseCapacityBlock",
    "rds:PurchaseReservedDBInstancesOffering",
    "elasticache:PurchaseReservedCacheNodesOffering",
    "redshift:PurchaseReservedNodeOffering",
    "es:PurchaseReservedElasticsearchInstanceOffering",
    "dynamodb:PurchaseReservedCapacityOfferings",
    "savingsplans:CreateSavingsPlan",
    // Support plans, Shield Advanced ($3,000 a month) and domain names.
    "supportplans:StartSupportPlanUpdate",
    "supportplans:CreateSupportPlanSchedule",
    "shield:CreateSubscription",
    "route53domains:RegisterDomain",
    "route53domains:TransferDomain",
    "route53domains:RenewDomain",
    // The organization, the account and its billing.
    "organizations:*",
    "account:*",
    "aws-portal:ModifyAccount",
    "aws-portal:ModifyBilling",
    "aws-portal:ModifyPaymentMethods",
];

/// Instance types a learner may launch unless a profile says otherwise.
pub const STANDARD_INSTANCE_TYPES: &[&str] =
    &["t2.micro", "t2.small", "t3.micro", "t3.small", "t3.medium", "t4g.micro", "t4g.small", "t4g.medium"];

/// Largest EBS volume (GiB) a learner may create unless a profile says otherwise.
pub const STANDARD_MAX_VOLUME_GIB: u32 = 100;

/// Global services are called in us-east-1 (or the partition's home
/// region) whatever console region a learner uses; the region guardrail
/// exempts them so the console keeps working ("aws:RequestedRegion" in the
/// IAM global condition keys reference).
const GLOBAL_ACTIONS: &[&str] = &[
    "iam:*",
    "sts:*",
    "s3:ListAllMyBuckets",
    "cloudfront:*",
    "route53:*",
    "health:*",
    "support:*",
    "ce:*",
    "budgets:*",
    "pricing:*",
];

/// `[guardrails]` (defaults for every profile) or
/// `[profiles.<name>.guardrails]`: each field set replaces the default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct GuardrailSettings {
    /// Regions learners may use (`${region}` is `aws.region`); empty: any.
    pub allowed_regions: Option<Vec<String>>,
    /// Actions always denied (`service:Action`, wildcards allowed); empty: none.
    pub denied_actions: Option<Vec<String>>,
    /// EC2 instance types learners may launch; empty: any.
    pub allowed_instance_types: Option<Vec<String>>,
    /// Largest EBS volume in GiB; 0: no limit.
    pub max_volume_gib: Option<u32>,
}

/// A profile's guardrails with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrails {
    /// Regions learners may use; empty: any.
    pub allowed_regions: Vec<String>,
    /// Actions always denied; empty: none.
    pub denied_actions: Vec<String>,
    /// Instance types learners may launch; empty: any.
    pub allowed_instance_types: Vec<String>,
    /// Largest EBS volume in GiB; 0: no limit.
    pub max_volume_gib: u32,
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl Guardrails {
    /// The profile's fields, else `[guardrails]`'s, else the standard set.
    pub fn resolve(defaults: &GuardrailSettings, profile: &GuardrailSettings) -> Self {
        let pick = |p: &Option<Vec<String>>, d: &Option<Vec<String>>, standard: &[&str]| {
            p.clone().or_else(|| d.clone()).unwrap_or_else(|| owned(standard))
        };
        Self {
            allowed_regions: pick(&profile.allowed_regions, &defaults.allowed_regions, &["${region}"]),
            denied_actions: pick(&profile.denied_actions, &defaults.denied_actions, STANDARD_DENIED_ACTIONS),
            allowed_instance_types: pick(
                &profile.allowed_instance_types,
                &defaults.allowed_instance_types,
                STANDARD_INSTANCE_TYPES,
            ),
            max_volume_gib: profile.max_volume_gib.or(defaults.max_volume_gib).unwrap_or(STANDARD_MAX_VOLUME_GIB),
        }
    }

    /// What is wrong with the values, if anything (checked at start-up).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for action in &self.denied_actions {
            let valid = action.split_once(':').is_some_and(|(service, name)| {
                !service.is_empty()
                    && service.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
            });
            if !valid {
                problems.push(format!("denied_actions: `{action}` is not an IAM action (service:Action)"));
            }
        }
        for region in &self.allowed_regions {
            if region != "${region}" && super::Region::parse(region).is_err() {
                problems.push(format!("allowed_regions: `{region}` is not a region name"));
            }
        }
        for kind in &self.allowed_instance_types {
            if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '*')) {
                problems.push(format!("allowed_instance_types: `{kind}` is not an instance type"));
            }
        }
        problems
    }

    /// The Deny statements, rendered with the broker's template variables.
    pub fn statements(&self, vars: &TemplateVars<'_>) -> Result<Vec<Value>, String> {
        let mut statements = Vec::new();
        if !self.denied_actions.is_empty() {
            statements.push(json!({"Sid": "GuardrailDeniedActions", "Effect": "Deny",
                "Action": self.denied_actions, "Resource": "*"}));
        }
        if !self.allowed_regions.is_empty() {
            let regions = self.allowed_regions.iter().map(|r| render(r, vars)).collect::<Result<Vec<_>, _>>()?;
            statements.push(json!({"Sid": "GuardrailRegions", "Effect": "Deny", "NotAction": GLOBAL_ACTIONS,
                "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": regions}}}));
        }
        let ec2 = |kind: &str| format!("arn:{}:ec2:*:*:{kind}/*", vars.partition);
        if !self.allowed_instance_types.is_empty() {
            statements.push(json!({"Sid": "GuardrailInstanceTypes", "Effect": "Deny",
                "Action": ["ec2:RunInstances", "ec2:StartInstances", "ec2:ModifyInstanceAttribute"],
                "Resource": ec2("instance"),
                "Condition": {"StringNotLike": {"ec2:InstanceType": self.allowed_instance_types}}}));
        }
        if self.max_volume_gib > 0 {
            statements.push(json!({"Sid": "GuardrailVolumeSize", "Effect": "Deny",
                "Action": ["ec2:CreateVolume", "ec2:RunInstances", "ec2:ModifyVolume"], "Resource": ec2("volume"),
                "Condition": {"NumericGreaterThan": {"ec2:VolumeSize": self.max_volume_gib.to_string()}}}));
        }
        Ok(statements)
    }
}

/// A profile's permissions boundary: every statement of its rendered
/// access policy (the ceiling: nothing written into the role later can
/// exceed its Allows, or lift its Denies) and the guardrail Denies.
/// Minified; at most IAM's managed policy size.
pub fn boundary_document(
    access_policy: &str,
    guardrails: &Guardrails,
    vars: &TemplateVars<'_>,
) -> Result<String, String> {
    let access: Value = serde_json::from_str(access_policy).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut statements: Vec<Value> = match &access["Statement"] {
        Value::Array(items) => items.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => return Err("a policy needs a `Statement`".into()),
    };
    statements.extend(guardrails.statements(vars)?);
    let document = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    if document.len() > MANAGED_POLICY_LIMIT {
        return Err(format!(
            "the permissions boundary (access policy + guardrails) is {} characters; IAM allows {MANAGED_POLICY_LIMIT} \
             in a managed policy",
            document.len()
        ));
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TemplateVars<'static> {
        TemplateVars { account_id: "123456789012", partition: "aws", region: "eu-west-1" }
    }

    #[test]
    fn profile_fields_replace_defaults_which_replace_the_standard_set() {
        let defaults = GuardrailSettings { allowed_regions: Some(vec!["us-east-1".into()]), ..Default::default() };
        let profile = GuardrailSettings { denied_actions: Some(vec![]), ..Default::default() };
        let g = Guardrails::resolve(&defaults, &profile);
        assert_eq!(g.allowed_regions, ["us-east-1"]);
        assert!(g.denied_actions.is_empty());
        assert_eq!(g.allowed_instance_types, owned(STANDARD_INSTANCE_TYPES));
        assert_eq!(g.max_volume_gib, STANDARD_MAX_VOLUME_GIB);
    }

    #[test]
    fn statements_render_the_region_and_partition() {
        let g = Guardrails::resolve(&GuardrailSettings::default(), &GuardrailSettings::default());
        let statements = g.statements(&vars()).unwrap();
        let sids: Vec<_> = statements.iter().map(|s| s["Sid"].as_str().unwrap()).collect();
        assert_eq!(
            sids,
            ["GuardrailDeniedActions", "GuardrailRegions", "GuardrailInstanceTypes", "GuardrailVolumeSize"]
        );
        assert!(statements.iter().all(|s| s["Effect"] == "Deny"));
        assert_eq!(statements[1]["Condition"]["StringNotEquals"]["aws:RequestedRegion"], json!(["eu-west-1"]));
        assert_eq!(statements[2]["Resource"], "arn:aws:ec2:*:*:instance/*");
        assert!(statements[0]["Action"].as_array().unwrap().contains(&json!("bedrock:CreateModelImportJob")));
    }

    #[test]
    fn empty_lists_render_no_statement() {
        let none = GuardrailSettings {
            allowed_regions: Some(vec![]),
            denied_actions: Some(vec![]),
            allowed_instance_types: Some(vec![]),
            max_volume_gib: Some(0),
        };
        let g = Guardrails::resolve(&none, &GuardrailSettings::default());
        assert!(g.statements(&vars()).unwrap().is_empty());
    }

    #[test]
    fn the_boundary_is_the_access_ceiling_plus_the_guardrails() {
        let access = r#"{"Statement":[{"Sid":"Lab","Effect":"Allow","Action":"s3:*","Resource":"*"},
            {"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#;
        let g = Guardrails::resolve(&GuardrailSettings::default(), &GuardrailSettings::default());
        let doc: Value = serde_json::from_str(&boundary_document(access, &g, &vars()).unwrap()).unwrap();
        let sids: Vec<_> = doc["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].clone()).collect();
        assert_eq!(sids[0], "Lab");
        assert_eq!(doc["Statement"][1]["Effect"], "Deny", "the access policy's own Denies are kept");
        assert_eq!(sids.len(), 6);
        let huge = GuardrailSettings { denied_actions: Some(vec!["s3:GetObject".into(); 400]), ..Default::default() };
        let err = boundary_document(access, &Guardrails::resolve(&huge, &GuardrailSettings::default()), &vars());
        assert!(err.unwrap_err().contains("6144"));
    }

    #[test]
    fn bad_values_are_named() {
        let bad = GuardrailSettings {
            allowed_regions: Some(vec!["mars-1".into()]),
            denied_actions: Some(vec!["bedrock".into(), "ec2:Purchase*".into()]),
            allowed_instance_types: Some(vec!["t3 micro".into()]),
            max_volume_gib: None,
        };
        let problems = Guardrails::resolve(&bad, &GuardrailSettings::default()).problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("`bedrock`"));
    }
}
