//! The account pool's table against moto's DynamoDB: leasing under
//! concurrency from two replicas never hands one account to two sessions,
//! finds free accounts through the state index (cooldowns respected), and
//! every transition is conditional on the state it leaves; bootstrap,
//! status and teardown handle the table.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::future::join_all;

use sandbox_broker::aws::pool::dynamo::DynamoPool;
use sandbox_broker::aws::pool::{AccountPool, AccountState, Transition, Written};

use crate::helpers::{Moto, broker_sdk_config};

const NOW: u64 = 1_800_000_000;

fn replica(moto: &Moto, table: &str) -> Arc<dyn AccountPool> {
    Arc::new(DynamoPool::new(aws_sdk_dynamodb::Client::new(&broker_sdk_config(&moto.endpoint)), table))
}

fn account(n: usize) -> String {
    format!("{:012}", 210_000_000_000 + n)
}

/// A pool table holding `n` available accounts.
async fn pool_of(moto: &Moto, table: &str, n: usize) -> Arc<dyn AccountPool> {
    let pool = replica(moto, table);
    pool.create().await.unwrap();
    let info = pool.describe().await.unwrap().expect("the table exists");
    assert!(info.drift.is_empty(), "{:?}", info.drift);
    for i in 0..n {
        assert!(pool.register(&account(i), NOW).await.unwrap());
        let up = Transition {
            account_id: &account(i),
            session_id: None,
            from: &[AccountState::Provisioning],
            to: AccountState::Available,
            now: NOW,
            reason: None,
        };
        assert!(matches!(pool.transition(&up).await.unwrap(), Written::Done(_)));
    }
    pool
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_leases_from_two_replicas_take_twenty_accounts_once_each() {
    let moto = Moto::start(&[]);
    let first = pool_of(&moto, "pool-concurrency", 20).await;
    let second = replica(&moto, "pool-concurrency");
    let leases = (0..50).map(|i| {
        let pool = if i % 2 == 0 { first.clone() } else { second.clone() };
        async move { (format!("learner-{i}"), pool.lease(&format!("learner-{i}"), NOW + 1).await.unwrap()) }
    });
    let results = join_all(leases).await;
    let leased: Vec<_> = results.iter().filter_map(|(s, r)| r.as_ref().map(|r| (s, r))).collect();
    assert_eq!(leased.len(), 20, "every account leased once");
    assert_eq!(results.iter().filter(|(_, r)| r.is_none()).count(), 30, "the rest find the pool exhausted");
    let accounts: BTreeSet<&str> = leased.iter().map(|(_, r)| r.account_id.as_str()).collect();
    assert_eq!(accounts.len(), 20, "no account twice");
    for (session, record) in leased {
        let stored = first.get(&record.account_id).await.unwrap().unwrap();
        assert_eq!((stored.state, stored.session_id.as_deref()), (AccountState::Leased, Some(session.as_str())));
        assert_eq!(stored.leased_at, Some(NOW + 1));
    }
    assert_eq!(first.count(AccountState::Available).await.unwrap(), 0);
    assert_eq!(second.count(AccountState::Leased).await.unwrap(), 20);
}

#[tokio::test]
async fn an_account_cooling_down_is_not_leased_before_its_time() {
    let moto = Moto::start(&[]);
    let pool = pool_of(&moto, "pool-cooldown", 1).await;
    let id = account(0);
    let lease = pool.lease("learner-a", NOW).await.unwrap().unwrap();
    assert_eq!(lease.account_id, id);
    // Reset, then available again only from a minute on.
    for (from, to, at) in [
        (AccountState::Leased, AccountState::Resetting, NOW + 10),
        (AccountState::Resetting, AccountState::Available, NOW + 70),
    ] {
        let t = Transition { account_id: &id, session_id: None, from: &[from], to, now: at, reason: None };
        assert!(matches!(pool.transition(&t).await.unwrap(), Written::Done(_)));
    }
    assert_eq!(pool.lease("learner-b", NOW + 20).await.unwrap(), None, "still cooling down");
    let record = pool.get(&id).await.unwrap().unwrap();
    assert_eq!((record.state, record.available_at, record.session_id), (AccountState::Available, Some(NOW + 70), None));
    let again = pool.lease("learner-b", NOW + 70).await.unwrap().unwrap();
    assert_eq!(again.session_id.as_deref(), Some("learner-b"));
}

#[tokio::test]
async fn registration_and_transitions_are_conditional_and_say_what_they_found() {
    let moto = Moto::start(&[]);
    let pool = pool_of(&moto, "pool-transitions", 3).await;
    let id = account(0);
    assert!(!pool.register(&id, NOW + 5).await.unwrap(), "registered once");
    let record = pool.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (record.state, record.registered_at),
        (AccountState::Available, NOW),
        "a second register changes nothing"
    );

    // Quarantine from available, with the reason; release only from there.
    let quarantine = Transition {
        account_id: &id,
        session_id: None,
        from: &[AccountState::Available, AccountState::Resetting],
        to: AccountState::Quarantined,
        now: NOW + 1,
        reason: Some("left: arn:aws:acm:eu-west-1:210000000000:certificate/c-1"),
    };
    let Written::Done(q) = pool.transition(&quarantine).await.unwrap() else { panic!("quarantined") };
    assert_eq!(q.quarantine_reason.as_deref(), quarantine.reason);
    let lease_it = Transition {
        account_id: &id,
        session_id: None,
        from: &[AccountState::Available],
        to: AccountState::Leased,
        now: NOW + 2,
        reason: None,
    };
    let Written::Refused(current) = pool.transition(&lease_it).await.unwrap() else { panic!("refused") };
    assert_eq!(current.state, AccountState::Quarantined, "the record as it is");
    let release = Transition {
        account_id: &id,
        session_id: None,
        from: &[AccountState::Quarantined],
        to: AccountState::Resetting,
        now: NOW + 3,
        reason: None,
    };
    let Written::Done(r) = pool.transition(&release).await.unwrap() else { panic!("released") };
    assert_eq!((r.state, r.quarantine_reason), (AccountState::Resetting, None));
    let missing = Transition { account_id: "999999999999", ..release };
    assert_eq!(pool.transition(&missing).await.unwrap(), Written::Missing);

    // Listing by state pages through the index; every account once.
    let (resetting, _) = pool.list(Some(AccountState::Resetting), 10, None).await.unwrap();
    assert_eq!(resetting.iter().map(|r| r.account_id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    let (mut seen, mut cursor) = (BTreeSet::new(), None);
    loop {
        let (page, next) = pool.list(None, 1, cursor.as_deref()).await.unwrap();
        seen.extend(page.into_iter().map(|r| r.account_id));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    assert!(pool.list(None, 1, Some("not-a-cursor")).await.is_err());
}

/// Bootstrap creates the pool table (status shows it, by state); teardown
/// refuses to forget accounts still registered, changing nothing, unless
/// forced.
#[tokio::test]
async fn teardown_keeps_the_pool_table_while_it_holds_accounts() {
    let app =
        crate::helpers::TestApp::spawn_with(crate::helpers::TestOptions { create_roles: false, ..Default::default() })
            .await;
    let (status, report) = app.admin(reqwest::Method::POST, "/admin/bootstrap").await;
    assert_eq!(status, 200, "{report}");
    let settings = sandbox_broker::config::load(Some(&app.config_path())).unwrap();
    let pool =
        DynamoPool::new(aws_sdk_dynamodb::Client::new(&broker_sdk_config(&app.aws_endpoint)), &settings.pool.table);
    assert!(pool.register(&account(7), NOW).await.unwrap());
    let (_, status_report) = app.admin(reqwest::Method::GET, "/admin/status").await;
    assert_eq!(status_report["pool"]["state"], "provisioned", "{status_report}");
    assert_eq!(status_report["pool"]["accounts"]["provisioning"], 1, "{status_report}");

    let (status, refused) = app.admin(reqwest::Method::DELETE, "/admin/bootstrap").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("accounts_registered")), "{refused}");
    assert!(pool.get(&account(7)).await.unwrap().is_some(), "nothing was removed");
    let (status, forced) = app.admin(reqwest::Method::DELETE, "/admin/bootstrap?force=true").await;
    assert_eq!(status, 200, "{forced}");
    assert!(pool.describe().await.unwrap().is_none(), "the table is gone: {forced}");
}
