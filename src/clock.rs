//! Wall-clock access behind a trait so expiry logic can be tested with a
//! clock that the test moves by hand.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Source of the current time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self { now: Mutex::new(start) }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.now.lock().map(|now| *now).unwrap_or_else(|poisoned| *poisoned.into_inner())
    }
}

/// Whole seconds since the Unix epoch (0 for times before it).
pub fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// [`rfc3339`] of Unix seconds.
pub fn rfc3339_unix(seconds: u64) -> String {
    rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds))
}

/// RFC 3339 UTC timestamp with whole seconds, e.g. `2026-11-23T20:14:59Z`.
pub fn rfc3339(at: SystemTime) -> String {
    use aws_smithy_types::date_time::{DateTime, Format};
    DateTime::from_secs(i64::try_from(unix_seconds(at)).unwrap_or(i64::MAX))
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_seconds() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_464_899_750);
        assert_eq!(rfc3339(at), "2026-11-23T20:14:59Z");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
        clock.advance(Duration::from_secs(1200));
        assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(1200));
    }
}
