//! Privacy rules of the service (R34, R35): what a workspace blocklist may hold, and when a
//! look at a screenshot goes into its owner's access log.
//!
//! * **Blocklist (R34).** At most [`limits::BLOCK_RULES`] rules; each pattern is trimmed and
//!   must then hold 1 to [`limits::BLOCK_PATTERN_CHARS`] characters and no control character.
//!   Matching (case-insensitive substring of the class or title) happens in the app.
//! * **Access log (R35).** Opening the image of someone else's screenshot is logged as a view,
//!   and deleting it as a delete; one's own screenshots are never logged. Views of the same
//!   screenshot by the same person less than [`VIEW_REPEAT`] after their last logged view are
//!   one view (a gallery going back and forth is not a flood); deletes are always logged. An
//!   entry lives as long as its screenshot could (it goes at the retention cutoff of the
//!   screenshot's capture time, R18) and goes with the owner's account (R23).

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_api::privacy::BlockRule;
use shotclock_api::{ErrorCode, UserId, limits};

/// Repeated views within this time of the last logged one are not logged again.
pub const VIEW_REPEAT: TimeDelta = TimeDelta::minutes(1);

/// How far back a member's access log reaches.
pub const LOG_DAYS: TimeDelta = crate::retention::RETENTION;

/// Why a blocklist was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlocklistError {
    /// More rules than allowed.
    #[error("at most {max} rules", max = limits::BLOCK_RULES)]
    TooMany,
    /// A pattern that is blank after trimming.
    #[error("rule {0}: the pattern is empty")]
    Blank(usize),
    /// A pattern that is too long.
    #[error("rule {0}: the pattern is longer than {max} characters", max = limits::BLOCK_PATTERN_CHARS)]
    TooLong(usize),
    /// A pattern with a control character.
    #[error("rule {0}: the pattern holds a control character")]
    Control(usize),
}

impl BlocklistError {
    /// The wire code of every refusal.
    #[must_use]
    pub const fn error_code(&self) -> ErrorCode {
        ErrorCode::Validation
    }
}

/// The blocklist as it is stored: patterns trimmed, order kept; refused as a whole when any
/// rule breaks a limit (rules are numbered from 1 in the error).
///
/// # Errors
/// [`BlocklistError`] naming the first offending rule.
pub fn validate_blocklist(rules: &[BlockRule]) -> Result<Vec<BlockRule>, BlocklistError> {
    if rules.len() > limits::BLOCK_RULES {
        return Err(BlocklistError::TooMany);
    }
    rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let n = i + 1;
            let pattern = rule.pattern.trim();
            if pattern.is_empty() {
                Err(BlocklistError::Blank(n))
            } else if pattern.chars().count() > limits::BLOCK_PATTERN_CHARS {
                Err(BlocklistError::TooLong(n))
            } else if pattern.chars().any(char::is_control) {
                Err(BlocklistError::Control(n))
            } else {
                Ok(BlockRule {
                    field: rule.field,
                    pattern: pattern.to_owned(),
                })
            }
        })
        .collect()
}

/// Whether a look at `owner`'s screenshot by `viewer` at `now` goes into the log, given the
/// viewer's last logged view of that screenshot.
#[must_use]
pub fn logs_view(
    viewer: UserId,
    owner: UserId,
    last_view: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    viewer != owner && last_view.is_none_or(|last| now - last >= VIEW_REPEAT)
}

/// Whether a delete of `owner`'s screenshot by `actor` goes into the log.
#[must_use]
pub fn logs_delete(actor: UserId, owner: UserId) -> bool {
    actor != owner
}

/// The oldest instant a member's access log shows at `now`.
#[must_use]
pub fn log_from(now: DateTime<Utc>) -> DateTime<Utc> {
    now - LOG_DAYS
}

#[cfg(test)]
mod tests {
    use super::*;
    use shotclock_api::privacy::BlockField;

    fn rule(p: &str) -> BlockRule {
        BlockRule {
            field: BlockField::Title,
            pattern: p.to_owned(),
        }
    }

    #[test]
    fn blocklist_limits() {
        assert_eq!(
            validate_blocklist(&[rule("  Online banking "), rule("x")]).unwrap(),
            vec![rule("Online banking"), rule("x")]
        );
        assert!(validate_blocklist(&[]).unwrap().is_empty());
        assert_eq!(
            validate_blocklist(&[rule("a"), rule("   ")]),
            Err(BlocklistError::Blank(2))
        );
        let long = "é".repeat(limits::BLOCK_PATTERN_CHARS);
        assert!(validate_blocklist(&[rule(&long)]).is_ok());
        assert_eq!(
            validate_blocklist(&[rule(&format!("{long}e"))]),
            Err(BlocklistError::TooLong(1))
        );
        assert_eq!(
            validate_blocklist(&[rule("a\u{7}b")]),
            Err(BlocklistError::Control(1))
        );
        let many = vec![rule("a"); limits::BLOCK_RULES];
        assert!(validate_blocklist(&many).is_ok());
        let too_many = vec![rule("a"); limits::BLOCK_RULES + 1];
        assert_eq!(validate_blocklist(&too_many), Err(BlocklistError::TooMany));
        assert_eq!(BlocklistError::TooMany.error_code(), ErrorCode::Validation);
    }

    #[test]
    fn which_looks_are_logged() {
        let (owner, admin) = (UserId::new(), UserId::new());
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        assert!(!logs_view(owner, owner, None, now));
        assert!(logs_view(admin, owner, None, now));
        assert!(!logs_view(
            admin,
            owner,
            Some(now - TimeDelta::seconds(59)),
            now
        ));
        assert!(logs_view(admin, owner, Some(now - VIEW_REPEAT), now));
        assert!(logs_delete(admin, owner));
        assert!(!logs_delete(owner, owner));
        assert_eq!(log_from(now), now - TimeDelta::days(7));
    }
}
