//! `sandbox-broker pool …`: the operator's controls of `/admin/accounts`
//! for a terminal, printing the same JSON. A release or reset runs here to
//! its end (the pool-table claim keeps a serving replica from running it
//! at the same time).

use serde_json::{Value, json};

use super::{Accounts, RegisterBody, view};
use crate::aws::pool::AccountState;
use crate::error::ApiError;

/// `sandbox-broker pool` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PoolCommand {
    /// Every registered account (all pages), optionally in one state.
    List {
        /// provisioning, available, leased, resetting, cooling, quarantined or removed.
        #[arg(long)]
        state: Option<String>,
    },
    /// One account: state, lease, last reset report, drift.
    Show {
        /// The 12-digit account id.
        id: String,
    },
    /// Register existing member accounts and provision them.
    Add {
        /// Account ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Create accounts through Organizations and provision them.
    Create {
        /// How many.
        n: i64,
    },
    /// Take an account out of the pool (its session is ended first).
    Quarantine {
        /// The account id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Reset a quarantined account back into the pool.
    Release {
        /// The account id.
        id: String,
    },
    /// Reset an account that is not leased (or list what a reset would delete).
    Reset {
        /// The account id.
        id: String,
        /// List what would be deleted, deleting nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Deregister an account (refused while leased or resetting).
    Remove {
        /// The account id.
        id: String,
    },
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

impl Accounts {
    /// Runs one `pool` subcommand; the JSON to print.
    pub async fn run_command(&self, command: PoolCommand) -> Result<String, ApiError> {
        let shown = match command {
            PoolCommand::List { state } => {
                let state = match state.as_deref() {
                    Some(raw) => Some(
                        AccountState::parse(raw)
                            .ok_or_else(|| ApiError::InvalidQuery(format!("unknown state `{raw}`")))?,
                    ),
                    None => None,
                };
                let (mut accounts, mut cursor) = (Vec::new(), None);
                loop {
                    let (page, next) = self.list(state, 100, cursor.as_deref()).await?;
                    accounts.extend(page);
                    match next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
                json!({ "accounts": accounts })
            }
            PoolCommand::Show { id } => self.show(&id).await?,
            PoolCommand::Add { ids } => {
                json!({ "accounts": self.register(RegisterBody { account_ids: Some(ids), create: None }).await? })
            }
            PoolCommand::Create { n } => {
                json!({ "accounts": self.register(RegisterBody { account_ids: None, create: Some(n) }).await? })
            }
            PoolCommand::Quarantine { id, reason } => self.quarantine(&id, &reason).await?,
            PoolCommand::Release { id } => {
                let record = self.release(&id).await?;
                self.finish_now(record.account_id).await?
            }
            PoolCommand::Reset { id, dry_run: true } => {
                json!({ "account_id": id, "dry_run": true, "reset": self.preview(&id).await?.view() })
            }
            PoolCommand::Reset { id, dry_run: false } => {
                let record = self.start_reset(&id).await?;
                self.finish_now(record.account_id).await?
            }
            PoolCommand::Remove { id } => self.remove(&id).await?,
        };
        Ok(pretty(&shown))
    }

    /// Runs the account's reset now (unless a replica already does) and
    /// shows the account as it ends up.
    async fn finish_now(&self, account_id: String) -> Result<Value, ApiError> {
        match self.claim_and_reset(&account_id).await? {
            Some(record) => Ok(view(&record)),
            None => Ok(view(&self.get(&account_id).await?)),
        }
    }
}
