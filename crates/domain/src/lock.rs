//! Entry locking and approval (R14).
//!
//! An entry is **locked** when it starts before the workspace's lock date. The lock date is set
//! by an admin as a calendar date; the caller turns it into an instant (midnight at the start of
//! that date in the workspace's time zone) before asking. Locked or approved entries may not be
//! edited or deleted by members — only by admins.

use chrono::{DateTime, Utc};
use shotclock_api::Role;

/// Whether an entry starting at `entry_start` is locked under `lock_date` (`None` = no lock).
#[must_use]
pub fn is_locked(entry_start: DateTime<Utc>, lock_date: Option<DateTime<Utc>>) -> bool {
    lock_date.is_some_and(|lock| entry_start < lock)
}

/// The facts about an entry that decide whether it may be edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryStatus {
    /// When the entry started.
    pub start: DateTime<Utc>,
    /// Whether an admin approved it.
    pub approved: bool,
}

/// Why an entry may not be edited by a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum EditBlock {
    /// The entry starts before the workspace lock date.
    #[error("the entry is locked; ask an admin")]
    Locked,
    /// The entry was approved.
    #[error("the entry is approved; ask an admin")]
    Approved,
}

impl EditBlock {
    /// The wire error code for this refusal.
    #[must_use]
    pub const fn error_code(&self) -> shotclock_api::ErrorCode {
        match self {
            EditBlock::Locked => shotclock_api::ErrorCode::EntryLocked,
            EditBlock::Approved => shotclock_api::ErrorCode::EntryApproved,
        }
    }
}

/// Whether a member (non-admin) may edit or delete `entry`. Locked is reported before approved.
pub fn member_may_edit(
    entry: &EntryStatus,
    lock_date: Option<DateTime<Utc>>,
) -> Result<(), EditBlock> {
    if is_locked(entry.start, lock_date) {
        Err(EditBlock::Locked)
    } else if entry.approved {
        Err(EditBlock::Approved)
    } else {
        Ok(())
    }
}

/// Whether someone with `role` may edit or delete `entry`: admins always may.
pub fn may_edit(
    role: Role,
    entry: &EntryStatus,
    lock_date: Option<DateTime<Utc>>,
) -> Result<(), EditBlock> {
    if role.is_admin() {
        Ok(())
    } else {
        member_may_edit(entry, lock_date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rstest::rstest;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    #[rstest]
    #[case::no_lock_date(0, None, false)]
    #[case::before_lock(0, Some(10), true)]
    #[case::exactly_at_lock(10, Some(10), false)]
    #[case::after_lock(11, Some(10), false)]
    #[case::one_ns_before(-1, Some(0), true)]
    fn locked(#[case] start: i64, #[case] lock: Option<i64>, #[case] expected: bool) {
        assert_eq!(is_locked(t(start), lock.map(t)), expected);
    }

    #[rstest]
    #[case::open(Role::Member, false, false, Ok(()))]
    #[case::locked(Role::Member, true, false, Err(EditBlock::Locked))]
    #[case::approved(Role::Member, false, true, Err(EditBlock::Approved))]
    #[case::locked_and_approved(Role::Member, true, true, Err(EditBlock::Locked))]
    #[case::admin_locked_and_approved(Role::Admin, true, true, Ok(()))]
    #[case::owner_locked(Role::Owner, true, false, Ok(()))]
    #[case::admin_open(Role::Admin, false, false, Ok(()))]
    fn edit_rules(
        #[case] role: Role,
        #[case] locked: bool,
        #[case] approved: bool,
        #[case] expected: Result<(), EditBlock>,
    ) {
        let entry = EntryStatus {
            start: t(0),
            approved,
        };
        let lock = if locked { Some(t(1)) } else { Some(t(0)) };
        assert_eq!(may_edit(role, &entry, lock), expected);
        if role == Role::Member {
            assert_eq!(member_may_edit(&entry, lock), expected);
        }
    }

    #[test]
    fn error_codes() {
        use shotclock_api::ErrorCode;
        assert_eq!(EditBlock::Locked.error_code(), ErrorCode::EntryLocked);
        assert_eq!(EditBlock::Approved.error_code(), ErrorCode::EntryApproved);
    }
}
