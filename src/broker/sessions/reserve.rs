//! This replica's reserved pool accounts, and the accounts of sessions it
//! served recently. A reservation is claimed in the pool table ahead of the
//! requests (see `aws::pool::dynamo::reserve`), so an account profile's
//! `POST /sessions` binds one with a write that runs alongside AssumeRole
//! and the ledger write instead of a query and a write before them. A
//! replica that dies leaves its reservations to expire back into the pool.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::future::Cache;

use crate::aws::pool::AccountPool;

/// Accounts held in reserve at once.
const RESERVED: usize = 2;
/// How long a reservation lasts in the table.
const TTL_SECONDS: u64 = 120;
/// A reservation this close to its end is not used: the binding write
/// could arrive after it lapsed.
const MARGIN_SECONDS: u64 = 30;

/// See the module docs.
pub(super) struct Reservations {
    /// Names this replica's reservations.
    owner: String,
    held: Mutex<VecDeque<(String, u64)>>,
    filling: Mutex<bool>,
    /// Session id → the account it holds (bindings never change while a
    /// session is active; an ended session is refused by the ledger anyway).
    bound: Cache<String, String>,
}

impl Reservations {
    pub(super) fn new(owner: &str) -> Self {
        Self {
            owner: format!("reservations-{owner}"),
            held: Mutex::new(VecDeque::new()),
            filling: Mutex::new(false),
            bound: Cache::builder().max_capacity(10_000).time_to_live(Duration::from_secs(600)).build(),
        }
    }

    pub(super) fn owner(&self) -> &str {
        &self.owner
    }

    /// A reservation still good for a while: (account, until).
    pub(super) fn take(&self, now: u64) -> Option<(String, u64)> {
        let mut held = self.held.lock().ok()?;
        while let Some((account, until)) = held.pop_front() {
            if until > now + MARGIN_SECONDS {
                return Some((account, until));
            }
        }
        None
    }

    /// The account `session_id` was bound to by this replica, if known.
    pub(super) async fn bound(&self, session_id: &str) -> Option<String> {
        self.bound.get(session_id).await
    }

    /// Remembers a session's account.
    pub(super) async fn remember(&self, session_id: &str, account_id: &str) {
        self.bound.insert(session_id.to_owned(), account_id.to_owned()).await;
    }

    /// Forgets a session's account (it ended).
    pub(super) async fn forget(&self, session_id: &str) {
        self.bound.invalidate(session_id).await;
    }

    /// Tops the reserve up in a task of its own (one at a time).
    pub(super) fn refill(self: &Arc<Self>, pool: Arc<dyn AccountPool>, now: u64) {
        match self.filling.lock() {
            Ok(mut filling) if !*filling => *filling = true,
            _ => return,
        }
        let this = self.clone();
        tokio::spawn(async move {
            while this.held.lock().map(|h| h.len() < RESERVED).unwrap_or(false) {
                match pool.reserve(&this.owner, now, now + TTL_SECONDS).await {
                    Ok(Some(account)) => {
                        if let Ok(mut held) = this.held.lock() {
                            held.push_back((account, now + TTL_SECONDS));
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        tracing::debug!(error = %err, "no pool account reserved");
                        break;
                    }
                }
            }
            if let Ok(mut filling) = this.filling.lock() {
                *filling = false;
            }
        });
    }
}
