use super::*;

#[test]
fn round_trips_and_finds_entries() {
    let mut doc = RevocationDoc::default();
    let bucket = doc.add("learner-1", 7_250);
    assert_eq!(bucket, 7_200);
    doc.add("learner-2", 7_300);
    doc.add("learner-1", 7_400);
    let text = doc.to_json().unwrap();
    let parsed = RevocationDoc::parse(&text).unwrap();
    assert_eq!(parsed, doc);
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed.bucket_of("learner-2"), Some(7_200));
    assert_eq!(parsed.bucket_of("other"), None);
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["Statement"][0]["Effect"], "Deny");
    assert_eq!(value["Statement"][0]["Action"], "*");
    assert_eq!(value["Statement"][0]["Condition"]["StringLike"]["aws:userid"], json!(["*:learner-1", "*:learner-2"]));
}

#[test]
fn reads_the_older_role_id_form() {
    let old = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Revoked3600","Effect":"Deny","Action":"*",
        "Resource":"*","Condition":{"StringEquals":{"aws:userid":["AROAOLD:learner-1"]}}}]}"#;
    let doc = RevocationDoc::parse(old).unwrap();
    assert_eq!(doc.bucket_of("learner-1"), Some(3_600));
    assert_eq!(doc.foreign_statements(), 0);
}

#[test]
fn prunes_only_groups_past_the_longest_session() {
    let mut doc = RevocationDoc::default();
    doc.add("old", 0);
    doc.add("new", 10_000);
    // The 0..3600 group may hold credentials alive until 3600 + 43200.
    assert_eq!(doc.prune(3_600 + 43_199, 43_200), 0);
    assert_eq!(doc.prune(3_600 + 43_200, 43_200), 1);
    assert_eq!(doc.session_names().collect::<Vec<_>>(), ["new"]);
    assert_eq!(doc.prune(u64::MAX / 2, 43_200), 1);
    assert!(doc.to_json().is_none());
}

#[test]
fn keeps_and_honours_statements_it_did_not_write() {
    let edited = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"ByHand","Effect":"Deny","Action":"*","Resource":"*",
         "Condition":{"StringEquals":{"aws:userid":"AROA1:learner-9"}}},
        {"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:userid":"*:mallory-*"}}},
        {"Sid":"Revoked7200","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let mut doc = RevocationDoc::parse(edited).unwrap();
    assert_eq!(doc.foreign_statements(), 3);
    assert!(doc.is_empty());
    let denials = doc.foreign_denials();
    assert!(denials.iter().any(|d| d.denies("AROA1:learner-9")));
    assert!(!denials.iter().any(|d| d.denies("AROA2:learner-9")));
    assert!(denials.iter().any(|d| d.denies("AROA2:mallory-1")));
    doc.add("learner-1", 7_300);
    let rewritten: Value = serde_json::from_str(&doc.to_json().unwrap()).unwrap();
    assert_eq!(rewritten["Statement"].as_array().unwrap().len(), 4, "foreign statements survive a rewrite");
    assert!(RevocationDoc::parse("nope").is_err());
}

#[test]
fn wildcards_follow_iam() {
    assert!(wildcard_match(b"*:learner-1", b"AROA1:learner-1"));
    assert!(!wildcard_match(b"*:learner-1", b"AROA1:learner-10"));
    assert!(wildcard_match(b"AROA?:x", b"AROA1:x"));
    assert!(!wildcard_match(b"AROA?:x", b"AROA12:x"));
}

#[test]
fn a_freeze_denies_only_credentials_issued_before_it_and_round_trips() {
    let mut doc = RevocationDoc::default();
    doc.add("ended-1", 7_300);
    doc.freeze("frozen-1", 7_320);
    doc.freeze("frozen-2", 7_320);
    let text = doc.to_json().unwrap();
    let parsed = RevocationDoc::parse(&text).unwrap();
    assert_eq!(parsed, doc);
    assert_eq!(parsed.foreign_statements(), 0);
    assert_eq!(parsed.len(), 3);
    // Frozen names are not revoked: the ledger's state refuses their issues.
    assert_eq!(parsed.session_names().collect::<Vec<_>>(), ["ended-1"]);
    let value: Value = serde_json::from_str(&text).unwrap();
    let frozen = &value["Statement"][1];
    assert_eq!(frozen["Sid"], "Frozen7320");
    assert_eq!(frozen["Condition"]["StringLike"]["aws:userid"], json!(["*:frozen-1", "*:frozen-2"]));
    assert_eq!(frozen["Condition"]["DateLessThan"]["aws:TokenIssueTime"], "1970-01-01T02:02:00Z");
    // Pruned once no credential issued before the freeze can be alive.
    assert_eq!(doc.prune(7_320 + 43_199, 43_200), 0);
    assert_eq!(doc.prune(7_320 + 43_200, 43_200), 2);
    // A hand-edited freeze (another time in the condition) is not the broker's.
    let edited = text.replace("1970-01-01T02:02:00Z", "1970-01-01T09:00:00Z");
    assert_eq!(RevocationDoc::parse(&edited).unwrap().foreign_statements(), 1);
}
