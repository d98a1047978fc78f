//! Per-session narrowing: the optional `session_policy` and `policy_arns` of
//! `POST /sessions`, passed to AssumeRole as `Policy` / `PolicyArns`. A
//! session gets the intersection of its role's policies and these, so a
//! platform can scope one learner's keys below the profile (one bucket, one
//! table) without a profile per challenge.

use serde_json::Value;

use super::Partition;

/// IAM's limit on the plaintext of the inline and managed session policies
/// together ("The plaintext that you use for both inline and managed session
/// policies can't exceed 2,048 characters", AssumeRole API reference).
pub const SESSION_POLICY_LIMIT: usize = 2_048;
/// AssumeRole accepts at most ten managed session policies.
const MAX_POLICY_ARNS: usize = 10;

/// Validated session policies; empty when the request names none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionNarrowing {
    /// An inline session policy (minified JSON).
    pub policy: Option<String>,
    /// Managed policies used as session policies.
    pub policy_arns: Vec<String>,
}

impl SessionNarrowing {
    /// Checks a request's `session_policy` and `policy_arns` before any AWS
    /// call: a JSON policy object, ARNs of managed policies in the broker's
    /// partition, and the 2,048-character plaintext limit (whitespace is
    /// removed first, as IAM counts it).
    pub fn parse(
        policy: Option<Value>,
        policy_arns: Option<Vec<String>>,
        partition: Partition,
    ) -> Result<Self, String> {
        let policy = match policy {
            None => None,
            Some(doc @ Value::Object(_)) => {
                if !doc.get("Statement").is_some_and(|s| s.is_array() || s.is_object()) {
                    return Err("session_policy needs a `Statement`".into());
                }
                Some(doc.to_string())
            }
            Some(_) => return Err("session_policy must be an IAM policy document (a JSON object)".into()),
        };
        let policy_arns = policy_arns.unwrap_or_default();
        if policy_arns.len() > MAX_POLICY_ARNS {
            return Err(format!("policy_arns names {} policies; AWS allows {MAX_POLICY_ARNS}", policy_arns.len()));
        }
        let prefix = format!("arn:{}:iam::", partition.id());
        for arn in &policy_arns {
            let account = arn.strip_prefix(&prefix).and_then(|rest| rest.split_once(":policy/"));
            let valid = account.is_some_and(|(account, name)| {
                (account == "aws" || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
                    && !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_graphic())
            });
            if !valid {
                return Err(format!("`{arn}` is not a managed policy ARN of partition `{}`", partition.id()));
            }
        }
        let size = policy.as_ref().map_or(0, String::len) + policy_arns.iter().map(String::len).sum::<usize>();
        if size > SESSION_POLICY_LIMIT {
            return Err(format!(
                "session_policy and policy_arns come to {size} characters; AWS allows {SESSION_POLICY_LIMIT}"
            ));
        }
        Ok(Self { policy, policy_arns })
    }

    /// Whether the session is narrowed at all.
    pub fn is_empty(&self) -> bool {
        self.policy.is_none() && self.policy_arns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_is_minified_and_counted_with_the_arns() {
        let doc = json!({"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lab/*"}]});
        let arns = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()];
        let n = SessionNarrowing::parse(Some(doc.clone()), Some(arns.clone()), Partition::Aws).unwrap();
        assert_eq!(n.policy.as_deref(), Some(doc.to_string().as_str()));
        assert!(!n.policy.unwrap().contains(' '));
        assert_eq!(n.policy_arns, arns);
        assert!(SessionNarrowing::parse(None, None, Partition::Aws).unwrap().is_empty());
    }

    #[test]
    fn the_limit_is_exactly_2048_characters() {
        let padded = |n: usize| json!({"Statement": [], "X": "a".repeat(n)});
        let room = SESSION_POLICY_LIMIT - padded(0).to_string().len();
        assert_eq!(padded(room).to_string().len(), SESSION_POLICY_LIMIT);
        assert!(SessionNarrowing::parse(Some(padded(room)), None, Partition::Aws).is_ok());
        let over = padded(room + 1);
        let err = SessionNarrowing::parse(Some(over), None, Partition::Aws).unwrap_err();
        assert!(err.contains("2049 characters"), "{err}");
    }

    #[test]
    fn bad_documents_and_arns_are_refused() {
        for (policy, arns) in [
            (Some(json!("Allow everything")), None),
            (Some(json!({"Version": "2012-10-17"})), None),
            (None, Some(vec!["arn:aws-cn:iam::aws:policy/ReadOnlyAccess".to_owned()])),
            (None, Some(vec!["arn:aws:iam::12345:policy/x".to_owned()])),
            (None, Some(vec!["arn:aws:s3:::bucket".to_owned()])),
            (None, Some(vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned(); 11])),
        ] {
            assert!(
                SessionNarrowing::parse(policy.clone(), arns.clone(), Partition::Aws).is_err(),
                "{policy:?} {arns:?}"
            );
        }
    }
}
