//! A pool account's whole reset: delete every unprotected resource, restore
//! the baseline, then search again. Only `verify_passes` searches in a row
//! that find nothing to delete, nothing unknown and no failed listing make
//! it clean; otherwise it goes round again, up to `attempts` times. What a
//! retry cannot fix (a type the registry does not know) ends it at once.
//! The caller bounds the whole reset in time and quarantines on anything
//! but clean.

use super::{Found, Mode, Options, Outcome, Report, Scan, discover, remove};
use crate::clients::Backend;
use crate::registry::Where;

/// What to reset and how hard to try.
#[derive(Debug, Clone)]
pub struct ResetPlan {
    /// The regions wiped (global types from the first).
    pub regions: Vec<String>,
    /// The account's id.
    pub account: String,
    /// ARNs never deleted (the pool's access role).
    pub keep: Vec<String>,
    /// Clean searches in a row that make the account clean.
    pub verify_passes: u32,
    /// Delete-and-verify rounds before giving up.
    pub attempts: u32,
}

/// How a reset ended.
#[derive(Debug, Default)]
pub struct ResetOutcome {
    /// Every deletion of every round; the last round's failures and what
    /// was left.
    pub report: Report,
    /// What restoring the baseline created (a default VPC a learner deleted).
    pub restored: Vec<String>,
    /// Rounds run.
    pub rounds: u32,
    /// Clean searches in a row at the end.
    pub clean_passes: u32,
    /// `None` when clean; else why the account must not be handed on.
    pub problem: Option<String>,
}

fn arns(outcomes: &[Outcome]) -> String {
    outcomes.iter().map(|o| o.arn.as_str()).collect::<Vec<_>>().join(", ")
}

/// Why a type the registry does not know stops the reset.
fn unknown(left: &[Outcome]) -> String {
    format!("left (the registry does not know it): {}", arns(left))
}

/// Why a search is not clean, if it is not.
fn unclean(found: &Found) -> Option<String> {
    if !found.left.is_empty() {
        Some(unknown(&found.left))
    } else if !found.failed.is_empty() {
        Some(format!("listing failed: {}", arns(&found.failed)))
    } else if !found.resources.is_empty() {
        let arns: Vec<&str> = found.resources.iter().map(|r| r.arn.as_str()).collect();
        Some(format!("still found after deleting: {}", arns.join(", ")))
    } else {
        None
    }
}

/// Resets one account through `backend` (credentials in that account).
pub async fn reset_account(backend: &dyn Backend, plan: &ResetPlan, options: &Options) -> ResetOutcome {
    let scan = Scan { regions: plan.regions.clone(), account: plan.account.clone() };
    let mode = Mode::Account { keep: plan.keep.clone() };
    let mut outcome = ResetOutcome::default();
    while outcome.rounds < plan.attempts.max(1) {
        outcome.rounds += 1;
        let found = discover(backend, &scan, &mode, options).await;
        let round = remove(backend, found, options, false).await;
        outcome.report.deleted.extend(round.deleted);
        outcome.report.steps.extend(round.steps);
        (outcome.report.failed, outcome.report.left, outcome.report.kept) = (round.failed, round.left, round.kept);
        if !outcome.report.left.is_empty() {
            // No retry deletes a type the broker does not know.
            outcome.problem = Some(unknown(&outcome.report.left));
            return outcome;
        }
        let mut problem = None;
        for region in &plan.regions {
            let at = Where {
                region: region.clone(),
                account: plan.account.clone(),
                partition: super::discover::partition(region),
                whole_account: true,
                metering: false,
            };
            match backend.restore_baseline(&at).await {
                Ok(created) => outcome.restored.extend(created),
                Err(err) => problem = Some(format!("restoring the baseline in {region} failed: {err}")),
            }
        }
        outcome.clean_passes = 0;
        while problem.is_none() && outcome.clean_passes < plan.verify_passes.max(1) {
            match unclean(&discover(backend, &scan, &mode, options).await) {
                None => outcome.clean_passes += 1,
                Some(why) => problem = Some(why),
            }
        }
        if problem.is_none() && !outcome.report.failed.is_empty() {
            problem = Some(format!("failed: {}", arns(&outcome.report.failed)));
        }
        outcome.problem = problem;
        if outcome.problem.is_none() {
            return outcome;
        }
    }
    outcome
}
