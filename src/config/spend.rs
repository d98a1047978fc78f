//! `[spend]`: the spend meter and what a budget does when it is spent
//! (DESIGN §10), and the profiles' `budget_usd` and `max_lease_seconds`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Settings;
use super::check::Problems;
use crate::domain::prices::{PriceTable, SHIPPED};

/// The largest budget a profile or a request may set: a session budget past
/// it is a typo (a missing decimal point), not a plan.
pub const MAX_BUDGET_USD: f64 = 10_000.0;

/// What happens to a session whose estimate reaches its budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExhausted {
    /// Credentials and console launches refused, resources kept.
    #[default]
    Freeze,
    /// Ended, and cleaned up or reset.
    End,
}

/// `[spend]`.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct SpendSettings {
    /// Whether the worker meters active sessions.
    pub enabled: bool,
    /// Seconds between meter passes.
    pub interval_seconds: u64,
    /// Percent of the budget at which a warning is raised.
    pub warn_percent: u32,
    /// What a spent budget does.
    pub on_exhausted: OnExhausted,
    /// The price table; default `prices.toml` beside the config file, else
    /// the table shipped with the broker.
    pub prices_file: Option<PathBuf>,
    /// The table read, checked against the registry.
    #[serde(skip)]
    pub prices: PriceTable,
}

impl Default for SpendSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_seconds: 60,
            warn_percent: 80,
            on_exhausted: OnExhausted::Freeze,
            prices_file: None,
            prices: PriceTable::default(),
        }
    }
}

impl Settings {
    /// The regions a price table must cover: home first (the table's own
    /// prices), then every region cleanup or a pool reset searches.
    pub fn priced_regions(&self) -> Vec<String> {
        let pool = self.pool.regions_or(&self.cleanup.regions_or(&self.aws.region));
        let mut regions = vec![self.aws.region.to_string()];
        for region in self.cleanup.regions.iter().chain(&pool).map(ToString::to_string) {
            if !regions.contains(&region) {
                regions.push(region);
            }
        }
        regions
    }
}

/// A budget a profile or request may set.
pub fn valid_budget(usd: f64) -> bool {
    usd.is_finite() && usd > 0.0 && usd <= MAX_BUDGET_USD
}

pub(super) fn problems(s: &Settings) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if s.spend.interval_seconds < 10 {
        problems.push(("spend.interval_seconds".into(), "must be at least 10".into()));
    }
    if !(1..=100).contains(&s.spend.warn_percent) {
        problems.push(("spend.warn_percent".into(), "must be 1-100".into()));
    }
    for (name, profile) in &s.profiles {
        if let Some(usd) = profile.budget_usd
            && !valid_budget(usd)
        {
            let message = format!("must be more than 0 and at most {MAX_BUDGET_USD} USD");
            problems.push((format!("profiles.{name}.budget_usd"), message));
        }
        if let Some(lease) = profile.max_lease_seconds
            && lease < profile.max_session_seconds
        {
            let message = "must be at least the profile's max_session_seconds".to_owned();
            problems.push((format!("profiles.{name}.max_lease_seconds"), message));
        }
    }
    problems
}

/// Reads the price table: `spend.prices_file` (relative to the config
/// file's directory), else `prices.toml` there, else the shipped one.
pub(super) fn load_prices(s: &mut Settings, base_dir: &Path, problems: &mut Problems) {
    let known = |kind: &str| sandbox_reset::registry::find(kind).is_some();
    let beside = base_dir.join("prices.toml");
    let (path, text) = match &s.spend.prices_file {
        Some(file) => {
            let path = base_dir.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => (Some(path), text),
                Err(err) => return problems.add("spend.prices_file", format!("cannot read {}: {err}", path.display())),
            }
        }
        None => match std::fs::read_to_string(&beside) {
            Ok(text) => (Some(beside), text),
            Err(_) => (None, SHIPPED.to_owned()),
        },
    };
    match PriceTable::parse(&text, known) {
        Ok(table) => s.spend.prices = table,
        Err(err) => {
            let from = path.map_or_else(|| "the shipped table".to_owned(), |p| p.display().to_string());
            problems.add("spend.prices_file", format!("{from}: {err}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(configure: impl FnOnce(&mut Settings)) -> Vec<String> {
        let mut settings = crate::config::test_settings();
        configure(&mut settings);
        problems(&settings).into_iter().map(|(key, _)| key).collect()
    }

    #[test]
    fn the_defaults_check_out_and_each_bad_value_names_its_key() {
        assert!(keys(|_| ()).is_empty());
        assert_eq!(keys(|s| s.spend.interval_seconds = 1), ["spend.interval_seconds"]);
        assert_eq!(keys(|s| s.spend.warn_percent = 0), ["spend.warn_percent"]);
        assert_eq!(keys(|s| s.spend.warn_percent = 150), ["spend.warn_percent"]);
        for bad in [0.0, -5.0, f64::NAN, 1e9] {
            let key = keys(|s| s.profiles.values_mut().for_each(|p| p.budget_usd = Some(bad)));
            assert_eq!(key, ["profiles.s3.budget_usd"], "{bad}");
        }
        assert!(keys(|s| s.profiles.values_mut().for_each(|p| p.budget_usd = Some(25.0))).is_empty());
        let short = keys(|s| s.profiles.values_mut().for_each(|p| p.max_lease_seconds = Some(60)));
        assert_eq!(short, ["profiles.s3.max_lease_seconds"]);
    }

    #[test]
    fn a_missing_file_falls_back_to_the_shipped_table_and_a_named_one_must_exist() {
        let dir = std::env::temp_dir().join(format!("prices-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut settings = crate::config::test_settings();
        let mut problems = Problems::default();
        load_prices(&mut settings, &dir, &mut problems);
        assert!(problems.is_empty() && !settings.spend.prices.is_empty());
        settings.spend.prices_file = Some("absent.toml".into());
        load_prices(&mut settings, &dir, &mut problems);
        assert_eq!(problems.keys(), ["spend.prices_file"]);
        std::fs::write(dir.join("bad.toml"), "[prices.\"ec2:warp-drive\"]\n\"*\" = 1.0").unwrap();
        settings.spend.prices_file = Some("bad.toml".into());
        let mut problems = Problems::default();
        load_prices(&mut settings, &dir, &mut problems);
        assert_eq!(problems.keys(), ["spend.prices_file"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
