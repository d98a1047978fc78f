//! `[pool]`: the AWS accounts that `isolation = "account"` profiles lease,
//! one per session, and reset between learners (DESIGN §8).

use serde::Deserialize;

use super::Settings;
use crate::domain::Region;

/// `[pool]`.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct PoolSettings {
    /// DynamoDB table of the pool's accounts; bootstrap creates it.
    pub table: String,
    /// The role the broker assumes in a pool account to provision and
    /// reset it (Organizations creates `OrganizationAccountAccessRole`).
    pub access_role_name: String,
    /// Regions a reset wipes; default `cleanup.regions`.
    pub regions: Vec<Region>,
    /// Clean searches in a row before an account is available again.
    pub verify_passes: u32,
    /// Wait after a clean reset before the account is leased again.
    pub cooldown_seconds: u64,
    /// A reset still running after this quarantines the account.
    pub reset_timeout_seconds: u64,
    /// Accounts kept available by creating new ones (0: never create).
    pub min_available: u32,
    /// The most accounts the pool may hold (registered and created).
    pub max_accounts: u32,
    /// The root e-mail of a created account: a template with `{n}`.
    pub create_email: Option<String>,
    /// The organizational unit created accounts are moved into.
    pub create_ou_id: Option<String>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            table: "sandbox-broker-accounts".into(),
            access_role_name: "OrganizationAccountAccessRole".into(),
            regions: Vec::new(),
            verify_passes: 2,
            cooldown_seconds: 0,
            reset_timeout_seconds: 1_800,
            min_available: 0,
            max_accounts: 100,
            create_email: None,
            create_ou_id: None,
        }
    }
}

/// `profiles.<name>.isolation`: where a profile's sessions work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// In the broker's account, fenced by tags and name prefixes.
    #[default]
    Shared,
    /// In a whole pool account of their own, reset between learners.
    Account,
}

impl Isolation {
    /// The configured name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Account => "account",
        }
    }
}

fn valid_table(table: &str) -> bool {
    (3..=255).contains(&table.len())
        && table.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Organizations' rules for what the pool is given, and a reset deadline a
/// claim can cover (it is renewed every third of `cleanup.claim_seconds`).
pub(super) fn problems(s: &Settings) -> Vec<(&'static str, &'static str)> {
    let pool = &s.pool;
    let mut problems = Vec::new();
    if !valid_table(&pool.table) {
        problems.push(("pool.table", "DynamoDB table names are 3-255 characters of [A-Za-z0-9_.-]"));
    }
    if pool.table == s.ledger.table {
        problems.push(("pool.table", "must differ from ledger.table"));
    }
    if !crate::domain::is_valid_role_name(&pool.access_role_name) {
        problems.push(("pool.access_role_name", "IAM role names are 1-64 characters of [A-Za-z0-9+=,.@_-]"));
    }
    if pool.verify_passes == 0 {
        problems.push(("pool.verify_passes", "must be at least 1: an account is never handed on unverified"));
    }
    if pool.reset_timeout_seconds < 60 {
        problems.push(("pool.reset_timeout_seconds", "must be at least 60"));
    }
    if pool.max_accounts == 0 || pool.min_available > pool.max_accounts {
        problems.push(("pool.max_accounts", "must be at least 1 and at least pool.min_available"));
    }
    if pool.min_available > 0 && pool.create_email.is_none() {
        problems.push(("pool.create_email", "required when pool.min_available > 0 (accounts are then created)"));
    }
    if let Some(email) = &pool.create_email {
        let (local, domain) = email.split_once('@').unwrap_or_default();
        if !email.contains("{n}") || local.is_empty() || !domain.contains('.') {
            problems
                .push(("pool.create_email", "an e-mail address template containing {n}, e.g. aws+pool{n}@example.com"));
        }
    }
    if let Some(ou) = &pool.create_ou_id {
        let body = ou.strip_prefix("ou-").unwrap_or_default();
        if body.len() < 10 || !body.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            problems.push(("pool.create_ou_id", "an organizational unit id, ou-xxxx-xxxxxxxx"));
        }
    }
    problems
}

impl PoolSettings {
    /// The regions a reset wipes: the configured ones, else cleanup's.
    pub fn regions_or(&self, cleanup: &[Region]) -> Vec<Region> {
        if self.regions.is_empty() { cleanup.to_vec() } else { self.regions.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(configure: impl FnOnce(&mut PoolSettings)) -> Vec<&'static str> {
        let mut settings = crate::config::test_settings();
        configure(&mut settings.pool);
        problems(&settings).into_iter().map(|(key, _)| key).collect()
    }

    #[test]
    fn the_defaults_check_out_and_each_bad_value_names_its_key() {
        assert!(keys(|_| ()).is_empty());
        assert_eq!(keys(|p| p.verify_passes = 0), ["pool.verify_passes"]);
        assert_eq!(keys(|p| p.table = "sandbox-broker-sessions".into()), ["pool.table"]);
        assert_eq!(keys(|p| p.table = "a b".into()), ["pool.table"]);
        assert_eq!(keys(|p| p.access_role_name = "no/slashes".into()), ["pool.access_role_name"]);
        assert_eq!(keys(|p| p.reset_timeout_seconds = 5), ["pool.reset_timeout_seconds"]);
        assert_eq!(keys(|p| p.min_available = 3), ["pool.create_email"]);
        assert_eq!(keys(|p| p.max_accounts = 0), ["pool.max_accounts"]);
        assert_eq!(keys(|p| p.create_email = Some("pool@example.com".into())), ["pool.create_email"]);
        assert!(keys(|p| p.create_email = Some("aws+pool{n}@example.com".into())).is_empty());
        assert_eq!(keys(|p| p.create_ou_id = Some("r-abcd".into())), ["pool.create_ou_id"]);
        assert!(keys(|p| p.create_ou_id = Some("ou-ab12-cdef3456".into())).is_empty());
    }
}
