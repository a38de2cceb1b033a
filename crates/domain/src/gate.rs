//! Whether screenshots may be captured (R4, R5).
//!
//! Capture needs both switches: an admin turned "Activate screenshot capturing" on (R4), and the
//! workspace has the feature — an `enterprise` plan or a running one-time 7-day trial (R5). The
//! two are separate questions ([`CaptureGate::feature_available`] and
//! [`CaptureGate::capture_allowed`]) because the settings page needs the plan answer even while
//! capture is switched off.
//!
//! A trial start in the future (clock skew between machines) counts as running, so skew never
//! turns capture off early; its days left are capped at the trial length.

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_api::{ErrorCode, Plan};

/// Length of the one-time free trial.
pub const TRIAL_LENGTH: TimeDelta = TimeDelta::days(7);

/// The workspace settings that decide whether capture may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureGate {
    /// "Activate screenshot capturing" (admin setting, off by default).
    pub enabled: bool,
    /// The workspace's plan.
    pub plan: Plan,
    /// When the one-time trial was started; `None` if never.
    pub trial_started_at: Option<DateTime<Utc>>,
}

/// Why capture is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum GateReason {
    /// An admin has not turned capture on.
    #[error("screenshot capturing is turned off for this workspace")]
    Disabled,
    /// Not on `enterprise` and no trial was ever started.
    #[error("screenshots need the enterprise plan or a trial")]
    NoPlan,
    /// Not on `enterprise` and the one-time trial has ended.
    #[error("the screenshot trial has ended")]
    TrialExpired,
}

impl GateReason {
    /// The wire error code for a request refused for this reason.
    #[must_use]
    pub const fn error_code(&self) -> ErrorCode {
        ErrorCode::FeatureUnavailable
    }
}

impl CaptureGate {
    /// The instant the trial ends (`None` if never started).
    #[must_use]
    pub fn trial_ends_at(&self) -> Option<DateTime<Utc>> {
        self.trial_started_at.map(|started| {
            started
                .checked_add_signed(TRIAL_LENGTH)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        })
    }

    /// Whether the trial runs at `now` (started and not yet ended).
    #[must_use]
    pub fn trial_active(&self, now: DateTime<Utc>) -> bool {
        self.trial_ends_at().is_some_and(|end| now < end)
    }

    /// Whether the workspace has the screenshot feature at `now`, regardless of the switch.
    pub fn feature_available(&self, now: DateTime<Utc>) -> Result<(), GateReason> {
        match (self.plan, self.trial_started_at) {
            (Plan::Enterprise, _) => Ok(()),
            (Plan::Free, None) => Err(GateReason::NoPlan),
            (Plan::Free, Some(_)) if self.trial_active(now) => Ok(()),
            (Plan::Free, Some(_)) => Err(GateReason::TrialExpired),
        }
    }

    /// Whether screenshots may be captured at `now`. "Turned off" is reported first.
    pub fn capture_allowed(&self, now: DateTime<Utc>) -> Result<(), GateReason> {
        if !self.enabled {
            return Err(GateReason::Disabled);
        }
        self.feature_available(now)
    }

    /// Whole days of trial left at `now`, rounded up (a trial started a second ago has 7; one
    /// ending in an hour has 1; an ended one has 0). `None` if no trial was ever started.
    #[must_use]
    pub fn trial_days_left(&self, now: DateTime<Utc>) -> Option<u32> {
        let end = self.trial_ends_at()?;
        let left = end - now;
        if left <= TimeDelta::zero() {
            return Some(0);
        }
        if left >= TRIAL_LENGTH {
            // Only when the start lies in the future (clock skew): never show more than 7.
            return Some(u32::try_from(TRIAL_LENGTH.num_days()).unwrap_or(u32::MAX));
        }
        // 0 < left < 7 days here, so the whole-day count fits and the round-up is exact.
        let whole = left.num_days();
        let rounded_up = match TimeDelta::try_days(whole) {
            Some(whole_days) if left > whole_days => whole + 1,
            _ => whole,
        };
        Some(u32::try_from(rounded_up).unwrap_or(0))
    }

    /// Whether an admin may start the trial now: it is one-time only, and pointless (so refused,
    /// to keep it for later) while the plan is already `enterprise`.
    #[must_use]
    pub fn can_start_trial(&self) -> bool {
        self.trial_started_at.is_none() && self.plan == Plan::Free
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rstest::rstest;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).unwrap()
    }

    /// `trial_age`: how long ago the trial started (`None` = never).
    fn gate(enabled: bool, plan: Plan, trial_age: Option<TimeDelta>) -> CaptureGate {
        CaptureGate {
            enabled,
            plan,
            trial_started_at: trial_age.map(|age| now() - age),
        }
    }

    const D: fn(i64) -> Option<TimeDelta> = |d| Some(TimeDelta::days(d));

    #[rstest]
    #[case::off_enterprise(false, Plan::Enterprise, None, Err(GateReason::Disabled))]
    #[case::off_free(false, Plan::Free, None, Err(GateReason::Disabled))]
    #[case::enterprise(true, Plan::Enterprise, None, Ok(()))]
    #[case::enterprise_with_old_trial(true, Plan::Enterprise, D(100), Ok(()))]
    #[case::free_never_trialled(true, Plan::Free, None, Err(GateReason::NoPlan))]
    #[case::free_trial_day_one(true, Plan::Free, D(0), Ok(()))]
    #[case::free_trial_day_six(true, Plan::Free, D(6), Ok(()))]
    #[case::free_trial_last_ns(true, Plan::Free, Some(TimeDelta::days(7) - TimeDelta::nanoseconds(1)), Ok(()))]
    #[case::free_trial_exactly_over(true, Plan::Free, D(7), Err(GateReason::TrialExpired))]
    #[case::free_trial_long_over(true, Plan::Free, D(30), Err(GateReason::TrialExpired))]
    #[case::free_trial_in_future_skew(true, Plan::Free, Some(TimeDelta::hours(-1)), Ok(()))]
    fn capture_allowed_cases(
        #[case] enabled: bool,
        #[case] plan: Plan,
        #[case] trial_age: Option<TimeDelta>,
        #[case] expected: Result<(), GateReason>,
    ) {
        assert_eq!(
            gate(enabled, plan, trial_age).capture_allowed(now()),
            expected
        );
    }

    #[rstest]
    #[case::enterprise_even_if_off(false, Plan::Enterprise, None, Ok(()))]
    #[case::trial_even_if_off(false, Plan::Free, D(1), Ok(()))]
    #[case::never(false, Plan::Free, None, Err(GateReason::NoPlan))]
    #[case::expired(false, Plan::Free, D(8), Err(GateReason::TrialExpired))]
    fn feature_available_ignores_switch(
        #[case] enabled: bool,
        #[case] plan: Plan,
        #[case] trial_age: Option<TimeDelta>,
        #[case] expected: Result<(), GateReason>,
    ) {
        assert_eq!(
            gate(enabled, plan, trial_age).feature_available(now()),
            expected
        );
    }

    #[rstest]
    #[case::never(None, None)]
    #[case::just_started(Some(TimeDelta::zero()), Some(7))]
    #[case::a_second_in(Some(TimeDelta::seconds(1)), Some(7))]
    #[case::one_day_in(Some(TimeDelta::days(1)), Some(6))]
    #[case::one_day_and_a_second(Some(TimeDelta::days(1) + TimeDelta::seconds(1)), Some(6))]
    #[case::an_hour_left(Some(TimeDelta::days(7) - TimeDelta::hours(1)), Some(1))]
    #[case::over(Some(TimeDelta::days(7)), Some(0))]
    #[case::long_over(Some(TimeDelta::days(70)), Some(0))]
    #[case::future_start_capped(Some(TimeDelta::days(-3)), Some(7))]
    fn days_left(#[case] trial_age: Option<TimeDelta>, #[case] expected: Option<u32>) {
        assert_eq!(
            gate(true, Plan::Free, trial_age).trial_days_left(now()),
            expected
        );
    }

    #[rstest]
    #[case::free_never(Plan::Free, None, true)]
    #[case::free_running(Plan::Free, D(1), false)]
    #[case::free_expired(Plan::Free, D(10), false)]
    #[case::enterprise_never(Plan::Enterprise, None, false)]
    #[case::enterprise_trialled(Plan::Enterprise, D(10), false)]
    fn start_trial(
        #[case] plan: Plan,
        #[case] trial_age: Option<TimeDelta>,
        #[case] expected: bool,
    ) {
        assert_eq!(gate(true, plan, trial_age).can_start_trial(), expected);
    }

    #[test]
    fn trial_end_and_codes() {
        let g = gate(true, Plan::Free, D(2));
        assert_eq!(g.trial_ends_at(), Some(now() + TimeDelta::days(5)));
        assert!(g.trial_active(now()));
        assert!(!g.trial_active(now() + TimeDelta::days(5)));
        assert_eq!(
            GateReason::TrialExpired.error_code(),
            ErrorCode::FeatureUnavailable
        );
        let edge = CaptureGate {
            enabled: true,
            plan: Plan::Free,
            trial_started_at: Some(DateTime::<Utc>::MAX_UTC),
        };
        assert_eq!(edge.trial_ends_at(), Some(DateTime::<Utc>::MAX_UTC));
    }
}
