//! Managing time entries by hand: edit, add, delete, approve (R39, with R14–R16, R21).
//!
//! Each change is one pure decision over the facts the caller read in its transaction; the
//! caller carries it out. Checks run in this order, each with its reason:
//!
//! 1. **Visibility** (R16): another workspace, or a member acting on someone else's entry →
//!    [`Refusal::NotVisible`], answered as `not_found` so existence does not leak.
//! 2. **Member restrictions** (R14): the entry is locked (or a new start would lie in the locked
//!    period), then approved → [`Refusal::Locked`] / [`Refusal::Approved`]. Admins pass.
//! 3. **Shape of the times**: a running entry has no end ([`Refusal::RunningHasNoEnd`]), a
//!    stopped one keeps one ([`Refusal::EndRequired`]); start before end; nothing in the future.
//! 4. **No overlap** with another entry of the same person ([`Refusal::Overlap`]); a running
//!    entry reaches into the open future.
//!
//!    Checks 3 and 4 judge new times only: times left as stored (a description edit) pass, as
//!    a timer stopped in the millisecond it started or started by a clock a little ahead was
//!    stored with them.
//! 5. **Screenshots stay inside their entry** (R15): an edit names the screenshots its new bounds
//!    exclude (a capture at the end instant still belongs to the entry, as an upload does), and
//!    is refused with [`Refusal::ConfirmFirst`] until the user confirmed that those go with it.
//!
//! Removed time (R21) is clipped to the new bounds: what lies outside the entry is dropped, so
//! the stored spans always lie inside the entry and a later screenshot delete, which removes
//! only time not removed yet, can never count a second of it twice.
//!
//! Manual entries ([`decide_manual`]) are stopped entries with no screenshots; the caller marks
//! them manual. Approving ([`may_approve`]) is for admins, over one entry or a member's day or
//! week ([`ApprovalPeriod`]).

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use shotclock_api::ErrorCode;

use crate::days::{self, DayError};
use crate::entry::EntryTimes;
use crate::lock::is_locked;
use crate::span::{Span, SpanSet};
use crate::visibility::{Actor, Owner};

/// Why a change to an entry is refused. Nothing changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Refusal {
    /// Another workspace's entry, or a member acting on someone else's (R16).
    #[error("no such entry")]
    NotVisible,
    /// Only admins approve.
    #[error("only admins approve entries")]
    NotAdmin,
    /// The entry, or its new start, lies in the locked period (R14).
    #[error("the entry is locked; ask an admin")]
    Locked,
    /// The entry is approved (R14).
    #[error("the entry is approved; ask an admin")]
    Approved,
    /// A running entry has no end: stop the timer to end it.
    #[error("a running entry has no end; stop the timer instead")]
    RunningHasNoEnd,
    /// A stopped or manual entry needs an end.
    #[error("a stopped entry needs an end")]
    EndRequired,
    /// The end is not after the start.
    #[error("the end must come after the start")]
    EndBeforeStart,
    /// A start or end lies in the future.
    #[error("an entry cannot start or end in the future")]
    InFuture,
    /// The times overlap another entry of the same person.
    #[error("the times overlap another of your entries")]
    Overlap,
    /// The new bounds exclude this many screenshots; they go only once the user confirmed.
    #[error("the new times leave {0} screenshot(s) outside the entry; confirm to delete them")]
    ConfirmFirst(usize),
}

impl Refusal {
    /// The wire error code: invisible entries answer exactly like missing ones (R16).
    #[must_use]
    pub const fn error_code(&self) -> ErrorCode {
        match self {
            Refusal::NotVisible => ErrorCode::NotFound,
            Refusal::NotAdmin => ErrorCode::Forbidden,
            Refusal::Locked => ErrorCode::EntryLocked,
            Refusal::Approved => ErrorCode::EntryApproved,
            Refusal::RunningHasNoEnd
            | Refusal::EndRequired
            | Refusal::EndBeforeStart
            | Refusal::InFuture => ErrorCode::Validation,
            Refusal::Overlap => ErrorCode::EntryOverlap,
            Refusal::ConfirmFirst(_) => ErrorCode::ConfirmationRequired,
        }
    }
}

/// Another entry's `(start, end)`, `end = None` while it runs.
pub type Bounds = (DateTime<Utc>, Option<DateTime<Utc>>);

/// Who may change (edit or delete) an entry of `owner` that starts at `start` (R14, R16):
/// visibility first, then admins always, members only when unlocked and unapproved.
pub fn may_change(
    actor: &Actor,
    owner: &Owner,
    start: DateTime<Utc>,
    approved: bool,
    lock_date: Option<DateTime<Utc>>,
) -> Result<(), Refusal> {
    if actor.workspace != owner.workspace {
        return Err(Refusal::NotVisible);
    }
    if actor.role.is_admin() {
        return Ok(());
    }
    if actor.user != owner.user {
        return Err(Refusal::NotVisible);
    }
    if is_locked(start, lock_date) {
        return Err(Refusal::Locked);
    }
    if approved {
        return Err(Refusal::Approved);
    }
    Ok(())
}

/// Who may approve or withdraw approval of `owner`'s entries: admins of the same workspace.
/// A member is refused as not an admin before anything about the entry is said.
pub fn may_approve(actor: &Actor, owner: &Owner) -> Result<(), Refusal> {
    if !actor.role.is_admin() {
        return Err(Refusal::NotAdmin);
    }
    if actor.workspace != owner.workspace {
        return Err(Refusal::NotVisible);
    }
    Ok(())
}

/// The span an entry occupies when checking overlap: a running entry reaches into the future.
#[must_use]
pub fn occupied(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Span {
    Span::new(start, end.unwrap_or(DateTime::<Utc>::MAX_UTC))
}

/// Whether `[start, end)` (open-ended while running) overlaps any of `others` (the person's
/// other entries, `(start, end)`). Touching is not overlapping.
#[must_use]
pub fn overlaps_any(start: DateTime<Utc>, end: Option<DateTime<Utc>>, others: &[Bounds]) -> bool {
    let span = occupied(start, end);
    others
        .iter()
        .any(|&(s, e)| !span.intersection(&occupied(s, e)).is_empty())
}

/// The facts an edit of an entry's times depends on.
#[derive(Debug, Clone, Copy)]
pub struct EditRequest<'a> {
    /// Who asks.
    pub actor: Actor,
    /// Whose entry, in which workspace.
    pub owner: Owner,
    /// The entry as stored.
    pub entry: &'a EntryTimes,
    /// Whether it is approved.
    pub approved: bool,
    /// The workspace lock date (R14).
    pub lock_date: Option<DateTime<Utc>>,
    /// The new start (the current one when unchanged).
    pub start: DateTime<Utc>,
    /// The new end (the current one when unchanged; `None` for a running entry).
    pub end: Option<DateTime<Utc>>,
    /// Capture instants of the entry's remaining screenshots, in any order.
    pub screenshots: &'a [DateTime<Utc>],
    /// The same person's other entries, `(start, end)`.
    pub others: &'a [Bounds],
    /// Whether the user confirmed that excluded screenshots are deleted with the edit.
    pub confirmed: bool,
    /// The service's now.
    pub now: DateTime<Utc>,
}

/// What an allowed edit does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditPlan {
    /// The entry's times after the edit, removed time clipped to the new bounds.
    pub times: EntryTimes,
    /// Indexes into [`EditRequest::screenshots`] of those the new bounds exclude: they are
    /// deleted with the edit.
    pub excluded: Vec<usize>,
    /// Removed time inside the new bounds (what the entry shows as removed after the edit).
    pub removed: TimeDelta,
}

/// Whether a screenshot captured at `at` lies inside an entry `[start, end]` (a capture at the
/// end instant belongs to the entry, as the upload rule accepts it).
#[must_use]
pub fn holds(start: DateTime<Utc>, end: Option<DateTime<Utc>>, at: DateTime<Utc>) -> bool {
    start <= at && end.is_none_or(|e| at <= e)
}

/// Checks the shape of new times for an entry that is running (`running`) or not.
fn check_times(
    running: bool,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    match (running, end) {
        (true, Some(_)) => Err(Refusal::RunningHasNoEnd),
        (false, None) => Err(Refusal::EndRequired),
        (_, Some(end)) if end <= start => Err(Refusal::EndBeforeStart),
        _ if start > now || end.is_some_and(|e| e > now) => Err(Refusal::InFuture),
        _ => Ok(()),
    }
}

/// Decides an edit of an entry's start and end. See the module docs for the order.
pub fn decide_edit(req: &EditRequest<'_>) -> Result<EditPlan, Refusal> {
    may_change(
        &req.actor,
        &req.owner,
        req.entry.start,
        req.approved,
        req.lock_date,
    )?;
    if !req.actor.role.is_admin() && is_locked(req.start, req.lock_date) {
        return Err(Refusal::Locked);
    }
    // Times left as stored are not judged again: a timer stopped in the millisecond it started
    // ends at its start, one started by a clock a little ahead starts after now, and entries
    // stored before the overlap rule may overlap; a description-only edit leaves them be.
    let moved = req.start != req.entry.start || req.end != req.entry.end;
    if moved {
        check_times(req.entry.is_running(), req.start, req.end, req.now)?;
        if overlaps_any(req.start, req.end, req.others) {
            return Err(Refusal::Overlap);
        }
    }
    let excluded: Vec<usize> = req
        .screenshots
        .iter()
        .enumerate()
        .filter(|&(_, &at)| !holds(req.start, req.end, at))
        .map(|(i, _)| i)
        .collect();
    if !excluded.is_empty() && !req.confirmed {
        return Err(Refusal::ConfirmFirst(excluded.len()));
    }
    let removed = req.entry.removed.clip(occupied(req.start, req.end));
    let times = EntryTimes {
        start: req.start,
        end: req.end,
        removed,
    };
    Ok(EditPlan {
        removed: times.removed.total(),
        times,
        excluded,
    })
}

/// The facts adding a manual entry depends on.
#[derive(Debug, Clone, Copy)]
pub struct ManualRequest<'a> {
    /// Who asks.
    pub actor: Actor,
    /// For whom (members: themselves).
    pub owner: Owner,
    /// The workspace lock date (R14).
    pub lock_date: Option<DateTime<Utc>>,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// The person's other entries, `(start, end)`.
    pub others: &'a [Bounds],
    /// The service's now.
    pub now: DateTime<Utc>,
}

/// Decides adding a manual entry: a stopped entry with nothing removed and no screenshots.
pub fn decide_manual(req: &ManualRequest<'_>) -> Result<EntryTimes, Refusal> {
    may_change(&req.actor, &req.owner, req.start, false, req.lock_date)?;
    check_times(false, req.start, Some(req.end), req.now)?;
    if overlaps_any(req.start, Some(req.end), req.others) {
        return Err(Refusal::Overlap);
    }
    Ok(EntryTimes {
        start: req.start,
        end: Some(req.end),
        removed: SpanSet::new(),
    })
}

/// A member's day or week, approved or unapproved in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApprovalPeriod {
    /// The calendar day.
    Day,
    /// The ISO week (Monday to Sunday) holding the day.
    Week,
}

/// `[start, end)` in UTC of the `period` holding `day` in IANA zone `tz`: the entries that
/// start inside it are the ones approved together.
pub fn period_bounds(
    period: ApprovalPeriod,
    day: NaiveDate,
    tz: &str,
) -> Result<(DateTime<Utc>, DateTime<Utc>), DayError> {
    let (first, days) = match period {
        ApprovalPeriod::Day => (day, 0),
        ApprovalPeriod::Week => {
            let back = u64::from(day.weekday().num_days_from_monday());
            let monday = day
                .checked_sub_days(chrono::Days::new(back))
                .ok_or(DayError::OutOfRange)?;
            (monday, 6)
        }
    };
    let last = first
        .checked_add_days(chrono::Days::new(days))
        .ok_or(DayError::OutOfRange)?;
    let (start, _) = days::bounds(first, tz)?;
    let (_, end) = days::bounds(last, tz)?;
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delete::{DeleteDecision, DeleteRequest, decide};
    use chrono::TimeZone;
    use proptest::prelude::*;
    use rstest::rstest;
    use shotclock_api::{Role, UserId, WorkspaceId};

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 3, 9, 0, 0).unwrap() + TimeDelta::seconds(secs)
    }

    fn uuid(n: u128) -> serde_json::Value {
        serde_json::json!(format!("00000000-0000-7000-8000-{n:012x}"))
    }

    fn uid(n: u128) -> UserId {
        serde_json::from_value(uuid(n)).unwrap()
    }

    fn wid(n: u128) -> WorkspaceId {
        serde_json::from_value(uuid(n)).unwrap()
    }

    fn owner() -> Owner {
        Owner {
            user: uid(1),
            workspace: wid(1),
        }
    }

    #[derive(Debug, Clone, Copy)]
    enum Who {
        Me,
        OtherMember,
        Admin,
        WorkspaceOwner,
        ForeignAdmin,
    }

    fn actor(who: Who) -> Actor {
        let (user, workspace, role) = match who {
            Who::Me => (1, 1, Role::Member),
            Who::OtherMember => (2, 1, Role::Member),
            Who::Admin => (3, 1, Role::Admin),
            Who::WorkspaceOwner => (4, 1, Role::Owner),
            Who::ForeignAdmin => (5, 2, Role::Admin),
        };
        Actor {
            user: uid(user),
            workspace: wid(workspace),
            role,
        }
    }

    #[rstest]
    #[case::own_open(Who::Me, false, false, Ok(()))]
    #[case::own_locked(Who::Me, true, false, Err(Refusal::Locked))]
    #[case::own_approved(Who::Me, false, true, Err(Refusal::Approved))]
    #[case::locked_before_approved(Who::Me, true, true, Err(Refusal::Locked))]
    #[case::other_member(Who::OtherMember, false, false, Err(Refusal::NotVisible))]
    #[case::other_member_hides_lock(Who::OtherMember, true, true, Err(Refusal::NotVisible))]
    #[case::admin_anything(Who::Admin, true, true, Ok(()))]
    #[case::owner_anything(Who::WorkspaceOwner, true, true, Ok(()))]
    #[case::foreign_admin(Who::ForeignAdmin, false, false, Err(Refusal::NotVisible))]
    fn change_rules(
        #[case] who: Who,
        #[case] locked: bool,
        #[case] approved: bool,
        #[case] expected: Result<(), Refusal>,
    ) {
        let lock = Some(if locked { t(1) } else { t(0) });
        assert_eq!(
            may_change(&actor(who), &owner(), t(0), approved, lock),
            expected
        );
    }

    #[rstest]
    #[case::member(Who::Me, Err(Refusal::NotAdmin))]
    #[case::other_member(Who::OtherMember, Err(Refusal::NotAdmin))]
    #[case::admin(Who::Admin, Ok(()))]
    #[case::owner(Who::WorkspaceOwner, Ok(()))]
    #[case::foreign_admin(Who::ForeignAdmin, Err(Refusal::NotVisible))]
    fn approve_rules(#[case] who: Who, #[case] expected: Result<(), Refusal>) {
        assert_eq!(may_approve(&actor(who), &owner()), expected);
    }

    #[test]
    fn error_codes() {
        use ErrorCode as E;
        let cases = [
            (Refusal::NotVisible, E::NotFound),
            (Refusal::NotAdmin, E::Forbidden),
            (Refusal::Locked, E::EntryLocked),
            (Refusal::Approved, E::EntryApproved),
            (Refusal::RunningHasNoEnd, E::Validation),
            (Refusal::EndRequired, E::Validation),
            (Refusal::EndBeforeStart, E::Validation),
            (Refusal::InFuture, E::Validation),
            (Refusal::Overlap, E::EntryOverlap),
            (Refusal::ConfirmFirst(2), E::ConfirmationRequired),
        ];
        for (refusal, code) in cases {
            assert_eq!(refusal.error_code(), code, "{refusal:?}");
        }
        assert!(
            Refusal::ConfirmFirst(2)
                .to_string()
                .contains("2 screenshot")
        );
    }

    #[rstest]
    #[case::apart((0, Some(10)), (20, Some(30)), false)]
    #[case::touching((0, Some(10)), (10, Some(20)), false)]
    #[case::touching_before((10, Some(20)), (0, Some(10)), false)]
    #[case::inside((0, Some(100)), (10, Some(20)), true)]
    #[case::partly((0, Some(15)), (10, Some(20)), true)]
    #[case::running_other_later((0, Some(10)), (20, None), false)]
    #[case::running_other_earlier((30, Some(40)), (20, None), true)]
    #[case::running_self((30, None), (0, Some(40)), true)]
    #[case::running_self_after((40, None), (0, Some(40)), false)]
    #[case::empty_other((0, Some(10)), (5, Some(5)), false)]
    fn overlap_cases(
        #[case] me: (i64, Option<i64>),
        #[case] other: (i64, Option<i64>),
        #[case] expected: bool,
    ) {
        let others = [(t(other.0), other.1.map(t))];
        assert_eq!(overlaps_any(t(me.0), me.1.map(t), &others), expected);
        assert!(!overlaps_any(t(me.0), me.1.map(t), &[]));
    }

    #[rstest]
    #[case::inside(0, Some(10), 5, true)]
    #[case::at_start(0, Some(10), 0, true)]
    #[case::at_end(0, Some(10), 10, true)]
    #[case::before(0, Some(10), -1, false)]
    #[case::after(0, Some(10), 11, false)]
    #[case::running(0, None, 1_000, true)]
    fn holds_cases(
        #[case] start: i64,
        #[case] end: Option<i64>,
        #[case] at: i64,
        #[case] expected: bool,
    ) {
        assert_eq!(holds(t(start), end.map(t), t(at)), expected);
    }

    struct Edit {
        who: Who,
        running: bool,
        approved: bool,
        lock: Option<i64>,
        start: i64,
        end: Option<i64>,
        confirmed: bool,
    }

    impl Edit {
        fn mine(start: i64, end: Option<i64>) -> Self {
            Self {
                who: Who::Me,
                running: false,
                approved: false,
                lock: None,
                start,
                end,
                confirmed: false,
            }
        }
    }

    /// The entry under edit: `[100, 1000)` (or running since 100), removed `[200, 300)` and
    /// `[900, 950)`, screenshots at 150, 400, 990; another entry of the person at `[0, 50)`
    /// and one at `[1100, 1200)`; now is 2000.
    fn run_edit(e: &Edit) -> Result<EditPlan, Refusal> {
        let entry = EntryTimes {
            start: t(100),
            end: (!e.running).then(|| t(1000)),
            removed: [Span::new(t(200), t(300)), Span::new(t(900), t(950))]
                .into_iter()
                .collect(),
        };
        let shots = [t(150), t(400), t(990)];
        let others = if e.running {
            vec![(t(0), Some(t(50)))]
        } else {
            vec![(t(0), Some(t(50))), (t(1100), Some(t(1200)))]
        };
        decide_edit(&EditRequest {
            actor: actor(e.who),
            owner: owner(),
            entry: &entry,
            approved: e.approved,
            lock_date: e.lock.map(t),
            start: t(e.start),
            end: e.end.map(t),
            screenshots: &shots,
            others: &others,
            confirmed: e.confirmed,
            now: t(2000),
        })
    }

    #[rstest]
    #[case::unchanged(Edit::mine(100, Some(1000)), Ok((vec![], 150)))]
    #[case::widen(Edit::mine(60, Some(1050)), Ok((vec![], 150)))]
    #[case::shorten_keeping_all(Edit::mine(150, Some(990)), Ok((vec![], 150)))]
    #[case::clips_removed(Edit { confirmed: true, ..Edit::mine(250, Some(930)) }, Ok((vec![0, 2], 80)))]
    #[case::shorten_end_unconfirmed(Edit::mine(100, Some(920)), Err(Refusal::ConfirmFirst(1)))]
    #[case::shorten_end_confirmed(Edit { confirmed: true, ..Edit::mine(100, Some(920)) }, Ok((vec![2], 120)))]
    #[case::shorten_both_confirmed(Edit { confirmed: true, ..Edit::mine(250, Some(500)) }, Ok((vec![0, 2], 50)))]
    #[case::end_before_start(Edit::mine(500, Some(500)), Err(Refusal::EndBeforeStart))]
    #[case::inverted(Edit::mine(600, Some(500)), Err(Refusal::EndBeforeStart))]
    #[case::future_end(Edit::mine(100, Some(2001)), Err(Refusal::InFuture))]
    #[case::end_now(Edit { confirmed: true, ..Edit::mine(1300, Some(2000)) }, Ok((vec![0, 1, 2], 0)))]
    #[case::stopped_needs_end(Edit::mine(100, None), Err(Refusal::EndRequired))]
    #[case::overlap_before(Edit::mine(40, Some(1000)), Err(Refusal::Overlap))]
    #[case::touch_before(Edit::mine(50, Some(1000)), Ok((vec![], 150)))]
    #[case::overlap_after(Edit::mine(100, Some(1101)), Err(Refusal::Overlap))]
    #[case::overlap_checked_before_confirm(Edit::mine(1000, Some(1150)), Err(Refusal::Overlap))]
    #[case::other_member(Edit { who: Who::OtherMember, ..Edit::mine(100, Some(1000)) }, Err(Refusal::NotVisible))]
    #[case::foreign_admin(Edit { who: Who::ForeignAdmin, ..Edit::mine(100, Some(1000)) }, Err(Refusal::NotVisible))]
    #[case::approved(Edit { approved: true, ..Edit::mine(100, Some(900)) }, Err(Refusal::Approved))]
    #[case::admin_approved(Edit { who: Who::Admin, approved: true, ..Edit::mine(100, Some(995)) }, Ok((vec![], 150)))]
    #[case::locked(Edit { lock: Some(101), ..Edit::mine(200, Some(900)) }, Err(Refusal::Locked))]
    #[case::new_start_into_lock(Edit { lock: Some(90), ..Edit::mine(80, Some(1000)) }, Err(Refusal::Locked))]
    #[case::new_start_at_lock(Edit { lock: Some(90), ..Edit::mine(90, Some(1000)) }, Ok((vec![], 150)))]
    #[case::admin_into_lock(Edit { who: Who::WorkspaceOwner, lock: Some(90), ..Edit::mine(80, Some(1000)) }, Ok((vec![], 150)))]
    #[case::running_start(Edit { running: true, ..Edit::mine(60, None) }, Ok((vec![], 150)))]
    #[case::running_start_later(Edit { running: true, confirmed: true, ..Edit::mine(250, None) }, Ok((vec![0], 100)))]
    #[case::running_no_end(Edit { running: true, ..Edit::mine(100, Some(1500)) }, Err(Refusal::RunningHasNoEnd))]
    #[case::running_start_now(Edit { running: true, confirmed: true, ..Edit::mine(2000, None) }, Ok((vec![0, 1, 2], 0)))]
    #[case::running_future_start(Edit { running: true, ..Edit::mine(2001, None) }, Err(Refusal::InFuture))]
    #[case::running_overlap(Edit { running: true, ..Edit::mine(10, None) }, Err(Refusal::Overlap))]
    fn edit_cases(#[case] edit: Edit, #[case] expected: Result<(Vec<usize>, i64), Refusal>) {
        let got = run_edit(&edit);
        match (got, expected) {
            (Ok(plan), Ok((excluded, removed))) => {
                assert_eq!(plan.excluded, excluded);
                assert_eq!(plan.removed, TimeDelta::seconds(removed));
                assert_eq!(plan.times.start, t(edit.start));
                assert_eq!(plan.times.end, edit.end.map(t));
                assert_eq!(plan.times.removed.total(), plan.removed);
                let bounds = occupied(plan.times.start, plan.times.end);
                assert_eq!(plan.times.removed.clip(bounds), plan.times.removed);
            }
            (got, expected) => assert_eq!(got.map(|p| (p.excluded, 0)), expected),
        }
    }

    /// Times are judged when an edit moves them, never when it leaves them as stored. Entries
    /// stored before the overlap rule may overlap another; a timer stopped in the millisecond
    /// it started ends at its start; one started by a clock ahead of the service's may start
    /// after the service's now (the stop and the start accept both). Each can be renamed (its
    /// times unchanged), and moving it is checked like any edit.
    #[rstest]
    #[case::overlapping_unchanged((100, 1000), (100, 1000), Ok(()))]
    #[case::overlapping_start_moved((100, 1000), (110, 1000), Err(Refusal::Overlap))]
    #[case::overlapping_end_moved((100, 1000), (100, 990), Err(Refusal::Overlap))]
    #[case::empty_unchanged((1000, 1000), (1000, 1000), Ok(()))]
    #[case::empty_moved((1000, 1000), (1000, 1001), Ok(()))]
    #[case::empty_kept_empty_elsewhere((1000, 1000), (990, 990), Err(Refusal::EndBeforeStart))]
    #[case::ahead_unchanged((2100, 2100), (2100, 2100), Ok(()))]
    #[case::ahead_moved((2100, 2100), (2100, 2101), Err(Refusal::InFuture))]
    fn stored_times_are_judged_only_when_moved(
        #[case] stored: (i64, i64),
        #[case] new: (i64, i64),
        #[case] expected: Result<(), Refusal>,
    ) {
        let entry = EntryTimes::new(t(stored.0), Some(t(stored.1)));
        let others = [(t(500), Some(t(600)))];
        let got = decide_edit(&EditRequest {
            actor: actor(Who::Me),
            owner: owner(),
            entry: &entry,
            approved: false,
            lock_date: None,
            start: t(new.0),
            end: Some(t(new.1)),
            screenshots: &[],
            others: &others,
            confirmed: false,
            now: t(2000),
        });
        assert_eq!(
            got.map(|p| (p.times.start, p.times.end)),
            expected.map(|()| (t(new.0), Some(t(new.1))))
        );
    }

    #[rstest]
    #[case::own(Who::Me, None, 1300, 1400, Ok(()))]
    #[case::admin_for_member(Who::Admin, None, 1300, 1400, Ok(()))]
    #[case::other_member(Who::OtherMember, None, 1300, 1400, Err(Refusal::NotVisible))]
    #[case::foreign_admin(Who::ForeignAdmin, None, 1300, 1400, Err(Refusal::NotVisible))]
    #[case::member_locked(Who::Me, Some(1301), 1300, 1400, Err(Refusal::Locked))]
    #[case::admin_locked(Who::Admin, Some(1301), 1300, 1400, Ok(()))]
    #[case::empty(Who::Me, None, 1300, 1300, Err(Refusal::EndBeforeStart))]
    #[case::future(Who::Me, None, 1300, 2001, Err(Refusal::InFuture))]
    #[case::up_to_now(Who::Me, None, 1300, 2000, Ok(()))]
    #[case::overlap(Who::Me, None, 1150, 1400, Err(Refusal::Overlap))]
    #[case::between(Who::Me, None, 1000, 1100, Ok(()))]
    fn manual_cases(
        #[case] who: Who,
        #[case] lock: Option<i64>,
        #[case] start: i64,
        #[case] end: i64,
        #[case] expected: Result<(), Refusal>,
    ) {
        let others = [(t(100), Some(t(1000))), (t(1100), Some(t(1200)))];
        let got = decide_manual(&ManualRequest {
            actor: actor(who),
            owner: owner(),
            lock_date: lock.map(t),
            start: t(start),
            end: t(end),
            others: &others,
            now: t(2000),
        });
        match (got, expected) {
            (Ok(times), Ok(())) => assert_eq!(times, EntryTimes::new(t(start), Some(t(end)))),
            (got, expected) => assert_eq!(got.map(|_| ()), expected),
        }
    }

    #[rstest]
    #[case::day_utc(ApprovalPeriod::Day, (2024, 6, 5), "UTC", (2024, 6, 5, 0), (2024, 6, 6, 0))]
    #[case::week_from_wednesday(ApprovalPeriod::Week, (2024, 6, 5), "UTC", (2024, 6, 3, 0), (2024, 6, 10, 0))]
    #[case::week_from_monday(ApprovalPeriod::Week, (2024, 6, 3), "UTC", (2024, 6, 3, 0), (2024, 6, 10, 0))]
    #[case::week_from_sunday(ApprovalPeriod::Week, (2024, 6, 9), "UTC", (2024, 6, 3, 0), (2024, 6, 10, 0))]
    #[case::week_in_paris(ApprovalPeriod::Week, (2024, 6, 5), "Europe/Paris", (2024, 6, 2, 22), (2024, 6, 9, 22))]
    fn periods(
        #[case] period: ApprovalPeriod,
        #[case] day: (i32, u32, u32),
        #[case] tz: &str,
        #[case] from: (i32, u32, u32, u32),
        #[case] to: (i32, u32, u32, u32),
    ) {
        let day = NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap();
        let at =
            |(y, m, d, h): (i32, u32, u32, u32)| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        assert_eq!(period_bounds(period, day, tz), Ok((at(from), at(to))));
    }

    #[test]
    fn period_errors() {
        let day = NaiveDate::from_ymd_opt(2024, 6, 5).unwrap();
        assert_eq!(
            period_bounds(ApprovalPeriod::Day, day, "Mars/Base"),
            Err(DayError::UnknownZone("Mars/Base".into()))
        );
        assert_eq!(
            period_bounds(ApprovalPeriod::Week, NaiveDate::MIN, "UTC"),
            Err(DayError::OutOfRange)
        );
        assert_eq!(
            period_bounds(ApprovalPeriod::Week, NaiveDate::MAX, "UTC"),
            Err(DayError::OutOfRange)
        );
    }

    #[derive(Debug, Clone)]
    enum Step {
        /// Move the start and end to these offsets (seconds) from the entry's first start.
        Edit(i64, i64),
        /// A member deletes the remaining screenshot with this index (modulo how many remain).
        Delete(usize),
    }

    fn arb_steps() -> impl Strategy<Value = (Vec<i64>, Vec<Step>)> {
        (
            prop::collection::vec(1i64..999, 1..8),
            prop::collection::vec(
                prop_oneof![
                    (0i64..1000, 1i64..1000).prop_map(|(a, len)| Step::Edit(a, a + len)),
                    (0usize..8).prop_map(Step::Delete),
                ],
                0..20,
            ),
        )
    }

    proptest! {
        /// Any sequence of confirmed edits and member screenshot deletes keeps every remaining
        /// screenshot inside its entry, keeps removed time inside the entry and disjoint, and
        /// each delete adds exactly the time it newly removes (never a second twice).
        #[test]
        fn edits_and_deletes_keep_screenshots_inside_and_time_exact((shots, steps) in arb_steps()) {
            let now = t(5000);
            let me = actor(Who::Me);
            let mut entry = EntryTimes::new(t(0), Some(t(1000)));
            let mut remaining: Vec<DateTime<Utc>> = shots.iter().map(|&s| t(s)).collect();
            for step in steps {
                if remaining.is_empty() {
                    break;
                }
                match step {
                    Step::Edit(a, b) => {
                        let plan = decide_edit(&EditRequest {
                            actor: me, owner: owner(), entry: &entry, approved: false,
                            lock_date: None, start: t(a), end: Some(t(b)),
                            screenshots: &remaining, others: &[], confirmed: true, now,
                        });
                        let Ok(plan) = plan else {
                            prop_assert!(false, "a confirmed edit of valid times was refused: {plan:?}");
                            return Ok(());
                        };
                        let before = remaining.len();
                        let excluded = plan.excluded.len();
                        remaining = remaining
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !plan.excluded.contains(i))
                            .map(|(_, &s)| s)
                            .collect();
                        prop_assert_eq!(remaining.len() + excluded, before);
                        prop_assert!(plan.removed <= entry.removed.total());
                        entry = plan.times;
                    }
                    Step::Delete(k) => {
                        let idx = k % remaining.len();
                        let at = remaining[idx];
                        let others: Vec<_> = remaining.iter().enumerate()
                            .filter(|&(i, _)| i != idx).map(|(_, &s)| s).collect();
                        let decision = decide(&DeleteRequest {
                            actor: me, owner: owner(), entry: &entry, locked: false,
                            approved: false, captured_at: at, others: &others,
                        });
                        match &decision {
                            DeleteDecision::DeleteScreenshot { removes } => {
                                prop_assert!(!removes.overlaps(&entry.removed), "removed twice");
                                let total = entry.removed.total() + removes.total();
                                entry.removed = decision.apply(&entry.removed).unwrap_or_default();
                                prop_assert_eq!(entry.removed.total(), total);
                                remaining.remove(idx);
                            }
                            DeleteDecision::DeleteEntry => {
                                prop_assert_eq!(remaining.len(), 1);
                                remaining.clear();
                            }
                            other => prop_assert!(false, "unexpected {other:?}"),
                        }
                    }
                }
                let bounds = occupied(entry.start, entry.end);
                for &s in &remaining {
                    prop_assert!(holds(entry.start, entry.end, s), "screenshot {s} outside entry");
                }
                prop_assert_eq!(entry.removed.clip(bounds), entry.removed.clone(), "removed outside entry");
                prop_assert!(entry.removed.total() <= bounds.duration());
                prop_assert_eq!(entry.duration(now) + entry.removed.total(), bounds.duration());
            }
        }
    }
}
