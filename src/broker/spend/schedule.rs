//! When the meter's next pass starts.

use std::time::Duration;

/// How long after a pass that took `took` the next one starts: an interval
/// after this one started (fixed rate, so a launch or a budget crossing is
/// in an estimate within one interval plus one pass, not an interval plus
/// two), and after a pass longer than the interval a tenth of an interval
/// later, so that a slow upstream is never listed back to back.
pub(super) fn next_pass_in(interval: Duration, took: Duration) -> Duration {
    interval.saturating_sub(took).max(interval / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn passes_start_an_interval_apart_and_never_back_to_back() {
        assert_eq!(next_pass_in(MINUTE, Duration::from_secs(5)), Duration::from_secs(55));
        assert_eq!(next_pass_in(MINUTE, Duration::ZERO), MINUTE);
        assert_eq!(next_pass_in(MINUTE, Duration::from_secs(58)), Duration::from_secs(6), "a tenth at least");
        assert_eq!(next_pass_in(MINUTE, Duration::from_secs(300)), Duration::from_secs(6));
    }
}
