use super::*;
use crate::aws::RoleInfo;

const BOUNDARY: &str = "arn:aws:iam::1:policy/sandbox-broker/boundary-sandbox-s3-0123456789";

fn want() -> DesiredRole {
    DesiredRole {
        profile: "s3".into(),
        role_name: "sandbox-s3".into(),
        trust_policy: r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:user/b"},"Action":["sts:AssumeRole"]}]}"#.into(),
        max_session_seconds: 43_200,
        tags: vec![("managed-by".into(), "sandbox-broker".into()), ("sandbox-profile".into(), "s3".into())],
        permissions_boundary_arn: Some(BOUNDARY.into()),
        boundary: None,
        access_policy: r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into(),
        managed_policy_arns: ["arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()].into(),
    }
}

fn converged() -> ActualRole {
    let w = want();
    ActualRole {
        details: RoleDetails {
            info: RoleInfo {
                arn: "arn:aws:iam::1:role/sandbox-s3".into(),
                role_id: "AROA".into(),
                max_session_seconds: 43_200,
            },
            trust_policy: Some(w.trust_policy.replace("[\"sts:AssumeRole\"]", "\"sts:AssumeRole\"")),
            permissions_boundary_arn: Some(BOUNDARY.into()),
            tags: [w.tags.clone(), vec![("owner".into(), "ops".into())]].concat(),
        },
        inline: [(ACCESS_POLICY_NAME.to_owned(), w.access_policy.clone())].into(),
        attached: w.managed_policy_arns.iter().cloned().collect(),
    }
}

fn writes(items: &[Item]) -> usize {
    items.iter().filter(|i| i.step.is_some()).count()
}

#[test]
fn absent_role_is_created_with_policy_and_attachments() {
    let items = plan_role(&want(), None, &[]);
    let actions: Vec<_> = items.iter().map(|i| i.change.action).collect();
    assert_eq!(actions, [Action::Create; 3]);
    assert_eq!(writes(&items), 3);
}

#[test]
fn converged_role_is_all_unchanged_with_no_writes() {
    let items = plan_role(&want(), Some(&converged()), &["sandbox-broker-revocations-a".into()]);
    assert!(items.iter().all(|i| i.change.action == Action::Unchanged), "{items:?}");
    assert_eq!(writes(&items), 0);
}

#[test]
fn drift_is_repaired_item_by_item() {
    let mut have = converged();
    have.details.info.max_session_seconds = 3_600;
    have.inline
        .insert(ACCESS_POLICY_NAME.into(), r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into());
    have.inline.insert("hand-made".into(), "{}".into());
    have.inline.insert(format!("{}-r1", crate::broker::revocation::REVOCATION_POLICY_PREFIX), "{}".into());
    have.attached.push("arn:aws:iam::aws:policy/AdministratorAccess".into());
    let items = plan_role(&want(), Some(&have), &[]);
    let steps: Vec<_> = items.iter().filter_map(|i| i.step.clone()).collect();
    assert!(steps.contains(&Step::UpdateMaxSession { role: "sandbox-s3".into(), seconds: 43_200 }));
    assert!(steps.iter().any(|s| matches!(s, Step::PutInline { .. })));
    assert!(steps.contains(&Step::DeleteInline { role: "sandbox-s3".into(), name: "hand-made".into() }));
    assert!(steps.contains(&Step::Detach {
        role: "sandbox-s3".into(),
        arn: "arn:aws:iam::aws:policy/AdministratorAccess".into()
    }));
    assert!(!steps.iter().any(|s| matches!(s, Step::DeleteInline { name, .. } if is_revocation_policy(name))));
    assert_eq!(steps.len(), 4);
}

#[test]
fn teardown_empties_the_role_before_deleting_it() {
    let items = plan_teardown(
        "sandbox-s3",
        &converged(),
        &[format!("{}-r1", crate::broker::revocation::REVOCATION_POLICY_PREFIX)],
    );
    let steps: Vec<_> = items.iter().filter_map(|i| i.step.clone()).collect();
    assert_eq!(steps[3], Step::DeleteRole { role: "sandbox-s3".into() });
    assert_eq!(steps[4], Step::DeleteBoundary { arn: BOUNDARY.into() }, "the boundary goes after the role");
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|i| i.change.action == Action::Delete));
}

#[test]
fn a_new_boundary_replaces_the_old_one_which_is_then_deleted() {
    let mut want = want();
    want.permissions_boundary_arn = Some(BOUNDARY.replace("0123456789", "abcdefabcd"));
    let items = plan_role(&want, Some(&converged()), &[]);
    let steps: Vec<_> = items.iter().filter_map(|i| i.step.clone()).collect();
    assert_eq!(
        steps,
        [
            Step::SetBoundary { role: "sandbox-s3".into(), arn: want.permissions_boundary_arn.clone().unwrap() },
            Step::DeleteBoundary { arn: BOUNDARY.into() },
        ]
    );
    assert_eq!(items.last().unwrap().change.resource, "policy/sandbox-broker/boundary-sandbox-s3-0123456789");
}

#[test]
fn boundaries_are_created_once_and_never_rewritten() {
    let mut want = want();
    let document = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.to_owned();
    want.boundary = Some(super::super::desired::DesiredBoundary {
        name: "boundary-sandbox-s3-0123456789".into(),
        arn: BOUNDARY.into(),
        document: document.clone(),
    });
    let created = plan_boundary(&want, None);
    assert!(matches!(created[0].step, Some(Step::CreateBoundary { .. })));
    let same = ManagedPolicy { document, boundary_usage: 1 };
    assert_eq!(plan_boundary(&want, Some(&same))[0].change.action, Action::Unchanged);
    let edited = ManagedPolicy { document: r#"{"Statement":[]}"#.into(), boundary_usage: 1 };
    let drift = plan_boundary(&want, Some(&edited));
    assert_eq!((drift[0].change.action, drift[0].step.is_none()), (Action::Update, true));
}
