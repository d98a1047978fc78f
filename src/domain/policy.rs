//! IAM policy documents: template rendering, size accounting and the
//! normalisation used to compare what IAM holds with what is wanted.

use serde_json::Value;

/// IAM's limit on the aggregate size of a role's inline policies, counted
/// without whitespace ("IAM and AWS STS quotas").
pub const INLINE_POLICY_BUDGET: usize = 10_240;
/// IAM's limit on a customer managed policy's size, counted the same way.
pub const MANAGED_POLICY_LIMIT: usize = 6_144;

/// Values for the broker's own template variables.
pub struct TemplateVars<'a> {
    /// `${account_id}`.
    pub account_id: &'a str,
    /// `${partition}`.
    pub partition: &'a str,
    /// `${region}`.
    pub region: &'a str,
}

/// Replaces `${account_id}`, `${partition}` and `${region}`. AWS policy
/// variables (`${aws:…}`, `${s3:…}`, any name with a colon, and `${*}`,
/// `${?}`, `${$}`) pass through; any other `${name}` is a typo and an error.
pub fn render(template: &str, vars: &TemplateVars<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or("unterminated `${` in policy template")?;
        let name = &after[..end];
        match name {
            "account_id" => out.push_str(vars.account_id),
            "partition" => out.push_str(vars.partition),
            "region" => out.push_str(vars.region),
            n if n.contains(':') || matches!(n, "*" | "?" | "$") => {
                out.push_str("${");
                out.push_str(n);
                out.push('}');
            }
            other => {
                return Err(format!("unknown template variable `${{{other}}}` (known: account_id, partition, region)"));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The document without insignificant whitespace, as IAM counts it.
pub fn minify(document: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(document).map_err(|e| format!("not valid JSON: {e}"))?;
    if !value.get("Statement").is_some_and(|s| s.is_array() || s.is_object()) {
        return Err("a policy needs a `Statement`".into());
    }
    Ok(value.to_string())
}

/// A canonical form for comparison: single-element arrays become scalars
/// (IAM treats `"Action": "s3:*"` and `["s3:*"]` alike) and arrays that are
/// sets (actions, resources, principals) are sorted.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::Array(items) if items.len() == 1 => normalize(&items[0]),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalize).collect();
            if items.iter().all(Value::is_string) {
                items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()),
        other => other.clone(),
    }
}

/// True when two policy texts mean the same document.
pub fn same_document(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(a), Ok(b)) => normalize(&a) == normalize(&b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: TemplateVars<'static> =
        TemplateVars { account_id: "123456789012", partition: "aws", region: "eu-west-1" };

    #[test]
    fn renders_own_variables_and_keeps_aws_ones() {
        let t = r#"{"Resource": "arn:${partition}:s3:::${aws:PrincipalTag/sandbox-key}-*", "A": "${account_id}/${region}/${*}"}"#;
        assert_eq!(
            render(t, &VARS).unwrap(),
            r#"{"Resource": "arn:aws:s3:::${aws:PrincipalTag/sandbox-key}-*", "A": "123456789012/eu-west-1/${*}"}"#
        );
    }

    #[test]
    fn rejects_typos_and_unterminated_variables() {
        assert!(render("${acount_id}", &VARS).unwrap_err().contains("acount_id"));
        assert!(render("${account_id", &VARS).is_err());
    }

    #[test]
    fn compares_documents_by_meaning() {
        assert!(same_document(
            r#"{"Statement":[{"Action":["s3:*"],"Effect":"Allow"}]}"#,
            r#"{ "Statement": { "Effect": "Allow", "Action": "s3:*" } }"#
        ));
        assert!(same_document(r#"{"A":["b","a"]}"#, r#"{"A":["a","b"]}"#));
        assert!(!same_document(r#"{"A":"s3:*"}"#, r#"{"A":"iam:*"}"#));
    }

    #[test]
    fn minify_counts_without_whitespace() {
        assert_eq!(minify("{ \"Statement\" : [ ] }").unwrap(), r#"{"Statement":[]}"#);
        assert!(minify("[]").is_err());
    }
}
