//! What an estimate means for its session's budget: the lines it crossed
//! since the meter's previous estimate (each raised once, as the estimate
//! first reaches it) and where it stands now.

use crate::aws::ledger::spend::Spend;

/// A budget line an estimate crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    /// The estimate reached `spend.warn_percent` of the budget.
    Warn,
    /// The projection to lease end first went past the budget.
    Projected,
    /// The estimate reached the budget.
    Exhausted,
}

impl Crossing {
    /// The audit event's and the metric's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warn => "budget_warning",
            Self::Projected => "budget_projected_over",
            Self::Exhausted => "budget_exhausted",
        }
    }
}

/// Where an estimate stands against its budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    /// At or past the warning line.
    pub over_warn: bool,
    /// At or past the budget.
    pub over_budget: bool,
}

/// Where `spend` stands, with no budget standing nowhere.
pub fn standing(spend: &Spend, warn_percent: u32) -> Standing {
    match spend.budget_usd {
        Some(budget) => Standing {
            over_warn: spend.estimated_usd >= budget * f64::from(warn_percent) / 100.0,
            over_budget: spend.estimated_usd >= budget,
        },
        None => Standing::default(),
    }
}

/// The lines `now` is past that `before` (the previous estimate) was not.
pub fn crossings(before: Option<&Spend>, now: &Spend, warn_percent: u32) -> Vec<Crossing> {
    let Some(budget) = now.budget_usd else { return Vec::new() };
    let was = before.map(|b| standing(&Spend { budget_usd: Some(budget), ..b.clone() }, warn_percent));
    let is = standing(now, warn_percent);
    let was_projected = before.is_some_and(|b| b.projected_usd > budget);
    let mut out = Vec::new();
    if is.over_warn && !was.is_some_and(|w| w.over_warn) {
        out.push(Crossing::Warn);
    }
    if now.projected_usd > budget && !was_projected {
        out.push(Crossing::Projected);
    }
    if is.over_budget && !was.is_some_and(|w| w.over_budget) {
        out.push(Crossing::Exhausted);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spend(estimated: f64, projected: f64) -> Spend {
        Spend { estimated_usd: estimated, projected_usd: projected, budget_usd: Some(10.0), ..Spend::default() }
    }

    #[test]
    fn each_line_is_raised_once_as_the_estimate_first_reaches_it() {
        assert_eq!(crossings(None, &spend(1.0, 5.0), 80), []);
        assert_eq!(crossings(None, &spend(1.0, 12.0), 80), [Crossing::Projected]);
        assert_eq!(crossings(Some(&spend(1.0, 12.0)), &spend(2.0, 13.0), 80), []);
        assert_eq!(crossings(Some(&spend(7.9, 12.0)), &spend(8.0, 12.0), 80), [Crossing::Warn]);
        assert_eq!(crossings(Some(&spend(8.0, 12.0)), &spend(9.0, 12.0), 80), []);
        assert_eq!(crossings(Some(&spend(9.0, 12.0)), &spend(10.0, 12.0), 80), [Crossing::Exhausted]);
        let all = crossings(Some(&spend(0.0, 0.0)), &spend(11.0, 11.0), 80);
        assert_eq!(all, [Crossing::Warn, Crossing::Projected, Crossing::Exhausted]);
    }

    #[test]
    fn no_budget_crosses_nothing_and_stands_nowhere() {
        let unbudgeted = Spend { estimated_usd: 1e6, projected_usd: 1e6, ..Spend::default() };
        assert_eq!(crossings(None, &unbudgeted, 80), []);
        assert_eq!(standing(&unbudgeted, 80), Standing::default());
        assert_eq!(standing(&spend(8.5, 9.0), 80), Standing { over_warn: true, over_budget: false });
    }
}
