//! IAM caps a managed policy at 6,144 characters, whitespace aside. The
//! broker's own policy grows with the registry (every type's listing and
//! delete calls) and is well past that, so it is also handed out in parts
//! that each fit: whole statements packed in order, and a statement too big
//! alone split by its actions. Every piece keeps its statement's resources
//! and condition, so the parts together grant exactly what the whole does.

use serde_json::{Value, json};

/// IAM's limit for a managed policy document (characters, no whitespace).
pub const MANAGED_POLICY_MAX: usize = 6_144;

fn document(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Characters IAM counts: serde_json writes no whitespace outside strings.
fn size(statements: &[Value]) -> usize {
    document(statements).to_string().len()
}

/// `statement`, or its pieces by halves of its action list until each fits.
fn pieces(statement: &Value, out: &mut Vec<Value>) {
    let actions = statement["Action"].as_array().filter(|a| a.len() > 1);
    match actions {
        Some(actions) if size(std::slice::from_ref(statement)) > MANAGED_POLICY_MAX => {
            let (first, second) = actions.split_at(actions.len() / 2);
            for (n, half) in [first, second].into_iter().enumerate() {
                let mut piece = statement.clone();
                piece["Action"] = json!(half);
                if let Some(sid) = statement["Sid"].as_str() {
                    piece["Sid"] = json!(format!("{sid}{}", n + 1));
                }
                pieces(&piece, out);
            }
        }
        _ => out.push(statement.clone()),
    }
}

/// `policy` as documents of at most [`MANAGED_POLICY_MAX`] characters each
/// (one, when it fits whole).
pub fn managed_policy_parts(policy: &Value) -> Vec<Value> {
    let mut statements = Vec::new();
    for statement in policy["Statement"].as_array().into_iter().flatten() {
        pieces(statement, &mut statements);
    }
    let mut parts: Vec<Vec<Value>> = vec![Vec::new()];
    for statement in statements {
        let current = parts.last_mut().filter(|p| {
            p.is_empty() || size(&[&p[..], std::slice::from_ref(&statement)].concat()) <= MANAGED_POLICY_MAX
        });
        match current {
            Some(part) => part.push(statement),
            None => parts.push(vec![statement]),
        }
    }
    parts.iter().map(|p| document(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(sid: &str, actions: usize) -> Value {
        let actions: Vec<String> = (0..actions).map(|n| format!("service:Action{n:04}")).collect();
        json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "arn:aws:service:*:1:thing/*",
               "Condition": {"Null": {"aws:ResourceTag/sandbox-key": "false"}}})
    }

    fn actions(parts: &[Value]) -> Vec<String> {
        let statements = parts.iter().flat_map(|p| p["Statement"].as_array().unwrap().iter());
        statements
            .flat_map(|s| s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()))
            .collect()
    }

    #[test]
    fn a_small_policy_stays_whole() {
        let policy = document(&[statement("A", 3), statement("B", 2)]);
        assert_eq!(managed_policy_parts(&policy), vec![policy]);
    }

    #[test]
    fn every_part_fits_and_together_they_grant_the_same() {
        let policy = document(&[statement("Small", 10), statement("Huge", 900), statement("Mid", 150)]);
        let parts = managed_policy_parts(&policy);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(part.to_string().len() <= MANAGED_POLICY_MAX, "{}", part.to_string().len());
            for s in part["Statement"].as_array().unwrap() {
                assert_eq!(s["Condition"], policy["Statement"][0]["Condition"], "a piece keeps its condition");
            }
        }
        assert_eq!(actions(&parts), actions(&[policy]));
        let sids: Vec<&str> =
            parts.iter().flat_map(|p| p["Statement"].as_array().unwrap()).map(|s| s["Sid"].as_str().unwrap()).collect();
        let unique: std::collections::BTreeSet<&&str> = sids.iter().collect();
        assert_eq!(unique.len(), sids.len(), "{sids:?}");
    }
}
