//! Session durations: what was asked for versus what AWS will grant.

/// STS AssumeRole accepts DurationSeconds in 900..=43200.
pub const MIN_SESSION_SECONDS: u32 = 900;
/// The longest session STS grants (12 hours).
pub const MAX_SESSION_SECONDS: u32 = 43_200;
/// When the caller itself uses role credentials, AWS limits the chained
/// session to one hour ("role chaining") and rejects longer requests.
pub const ROLE_CHAINING_MAX_SECONDS: u32 = 3_600;

/// A duration STS will accept for this role and this caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionDuration(u32);

impl SessionDuration {
    /// Validates a requested duration (before clamping).
    pub fn validate_requested(seconds: u32) -> Result<u32, String> {
        if (MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&seconds) {
            Ok(seconds)
        } else {
            Err(format!("duration_seconds must be within {MIN_SESSION_SECONDS}..={MAX_SESSION_SECONDS}"))
        }
    }

    /// Clamps `requested` to the profile's maximum, the role's
    /// MaxSessionDuration and, when the broker runs on role credentials, the
    /// one-hour role-chaining limit. Never below STS's 900-second floor.
    pub fn clamp(requested: u32, profile_max: u32, role_max: u32, role_chained: bool) -> Self {
        let chain_cap = if role_chained { ROLE_CHAINING_MAX_SECONDS } else { MAX_SESSION_SECONDS };
        let seconds = requested.min(profile_max).min(role_max).min(chain_cap);
        Self(seconds.max(MIN_SESSION_SECONDS))
    }

    /// The duration in seconds.
    pub fn seconds(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_to_the_smallest_limit() {
        assert_eq!(SessionDuration::clamp(43_200, 7_200, 3_600, false).seconds(), 3_600);
        assert_eq!(SessionDuration::clamp(3_000, 7_200, 43_200, false).seconds(), 3_000);
        assert_eq!(SessionDuration::clamp(43_200, 43_200, 43_200, true).seconds(), 3_600);
        assert_eq!(SessionDuration::clamp(43_200, 43_200, 10_000, false).seconds(), 10_000);
    }

    #[test]
    fn never_below_the_sts_floor() {
        assert_eq!(SessionDuration::clamp(900, 900, 600, false).seconds(), 900);
    }

    #[test]
    fn validates_requested_range() {
        assert!(SessionDuration::validate_requested(899).is_err());
        assert!(SessionDuration::validate_requested(43_201).is_err());
        assert_eq!(SessionDuration::validate_requested(900), Ok(900));
    }
}
