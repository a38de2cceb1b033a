//! What deleting a screenshot does (R20–R22, with R14 and R16).
//!
//! [`decide`] turns the facts about one delete request into a [`DeleteDecision`]; the caller
//! (service, or the app for the confirmation dialog of R19) carries it out. Checks run in this
//! order, each with a reason:
//!
//! 1. **Visibility** (R16): another workspace, or a member deleting someone else's screenshot →
//!    [`DeleteDecision::Forbidden`]. These map to `not_found`, so existence does not leak; that
//!    is also why they come before anything that describes the entry.
//! 2. **Member restrictions** (R14, R21): locked, then approved → `Forbidden`. They come before
//!    the running check because stopping the timer would not help; the user should hear the
//!    obstacle they cannot remove first, not be sent to stop the timer and then refused anyway.
//! 3. **Running entry** (R20), for everyone → [`DeleteDecision::StopTimerFirst`].
//! 4. **Admin** (R22) → [`DeleteDecision::DeleteScreenshot`] with nothing removed: an admin's
//!    delete never changes an entry — not its duration, not its existence (deleting an entry's
//!    last screenshot keeps the entry), and so never an approved entry either.
//! 5. **Member** (R21): the entry's last remaining screenshot → [`DeleteDecision::DeleteEntry`];
//!    otherwise the span from the previous remaining screenshot (or the entry start) to this one,
//!    clipped to the entry and **minus time already removed**, so time is never removed twice.
//!
//! The removed time is a [`SpanSet`], stored per entry; [`DeleteDecision::apply`] folds a
//! decision into it. Because every decision removes only time that is not yet removed and lies
//! inside the entry, a duration can never go negative and the stored spans never overlap.

use chrono::{DateTime, Utc};
use shotclock_api::ErrorCode;

use crate::entry::EntryTimes;
use crate::span::{Span, SpanSet};
use crate::visibility::{Actor, Owner};

/// Why a delete is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ForbiddenReason {
    /// The screenshot belongs to another workspace. Answer as not found (R16).
    #[error("no such screenshot")]
    OtherWorkspace,
    /// A member asked to delete someone else's screenshot. Answer as not found (R16).
    #[error("no such screenshot")]
    NotOwner,
    /// A member asked to delete from a locked entry (R14, R21).
    #[error("the entry is locked; ask an admin to delete this screenshot")]
    Locked,
    /// A member asked to delete from an approved entry (R14, R21).
    #[error("the entry is approved; ask an admin to delete this screenshot")]
    Approved,
}

impl ForbiddenReason {
    /// The wire error code: invisible objects answer exactly like missing ones (R16).
    #[must_use]
    pub const fn error_code(&self) -> ErrorCode {
        match self {
            ForbiddenReason::OtherWorkspace | ForbiddenReason::NotOwner => ErrorCode::NotFound,
            ForbiddenReason::Locked => ErrorCode::EntryLocked,
            ForbiddenReason::Approved => ErrorCode::EntryApproved,
        }
    }
}

/// The outcome of a delete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteDecision {
    /// Refused; nothing changes.
    Forbidden(ForbiddenReason),
    /// Refused: the entry is running; stop the timer first (R20). Nothing changes.
    StopTimerFirst,
    /// Delete the screenshot and add `removes` to the entry's removed time.
    DeleteScreenshot {
        /// Exactly the time this delete newly removes from the entry: inside the entry and
        /// disjoint from everything removed before. Empty for admins.
        removes: SpanSet,
    },
    /// Delete the whole time entry with all its screenshots (R15, R21): it was the member's
    /// last remaining screenshot of the entry.
    DeleteEntry,
}

impl DeleteDecision {
    /// The wire error code if this decision refuses the request.
    #[must_use]
    pub const fn error_code(&self) -> Option<ErrorCode> {
        match self {
            DeleteDecision::Forbidden(reason) => Some(reason.error_code()),
            DeleteDecision::StopTimerFirst => Some(ErrorCode::StopTimerFirst),
            DeleteDecision::DeleteScreenshot { .. } | DeleteDecision::DeleteEntry => None,
        }
    }

    /// The entry's removed spans after carrying out this decision, given those before it.
    /// `None` when the entry itself is deleted; unchanged for refusals.
    #[must_use]
    pub fn apply(&self, removed_before: &SpanSet) -> Option<SpanSet> {
        match self {
            DeleteDecision::DeleteScreenshot { removes } => Some(removed_before.union(removes)),
            DeleteDecision::DeleteEntry => None,
            DeleteDecision::Forbidden(_) | DeleteDecision::StopTimerFirst => {
                Some(removed_before.clone())
            }
        }
    }
}

/// The facts a delete decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct DeleteRequest<'a> {
    /// Who asks.
    pub actor: Actor,
    /// Whose screenshot it is, and in which workspace.
    pub owner: Owner,
    /// The screenshot's entry: start, end (`None` while running) and time already removed.
    pub entry: &'a EntryTimes,
    /// Whether the entry is locked (see [`crate::lock::is_locked`]).
    pub locked: bool,
    /// Whether the entry is approved.
    pub approved: bool,
    /// When the screenshot being deleted was captured.
    pub captured_at: DateTime<Utc>,
    /// Capture times of the entry's *other* remaining screenshots (excluding this one), in any
    /// order.
    pub others: &'a [DateTime<Utc>],
}

/// Decides what deleting one screenshot does. See the module docs for the rules and their order.
#[must_use]
pub fn decide(req: &DeleteRequest<'_>) -> DeleteDecision {
    let admin = req.actor.role.is_admin();

    if req.actor.workspace != req.owner.workspace {
        return DeleteDecision::Forbidden(ForbiddenReason::OtherWorkspace);
    }
    if !admin && req.actor.user != req.owner.user {
        return DeleteDecision::Forbidden(ForbiddenReason::NotOwner);
    }
    if !admin && req.locked {
        return DeleteDecision::Forbidden(ForbiddenReason::Locked);
    }
    if !admin && req.approved {
        return DeleteDecision::Forbidden(ForbiddenReason::Approved);
    }
    let Some(end) = req.entry.end else {
        return DeleteDecision::StopTimerFirst;
    };
    if admin {
        return DeleteDecision::DeleteScreenshot {
            removes: SpanSet::new(),
        };
    }

    if req.others.is_empty() {
        return DeleteDecision::DeleteEntry;
    }
    let wanted = since_previous(req.entry.start, end, req.others, req.captured_at);
    DeleteDecision::DeleteScreenshot {
        removes: SpanSet::from(wanted).subtract(&req.entry.removed),
    }
}

/// The span a member's delete of the screenshot captured at `at` takes: from the previous
/// remaining screenshot (the latest of `others` captured at or before it), or the entry's
/// start if there is none, to `at`, clipped to the entry `[start, end)`.
fn since_previous(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    others: &[DateTime<Utc>],
    at: DateTime<Utc>,
) -> Span {
    let from = others
        .iter()
        .copied()
        .filter(|&t| t <= at)
        .max()
        .unwrap_or(start);
    Span::new(from, at).intersection(&Span::new(start, end))
}

/// The time a member's deletes of the screenshots captured at `deleted` removed from the stopped
/// entry `entry`, given the screenshots of it that `remain`: in whatever order they were
/// deleted, its union with `entry.removed` is what [`decide`] and [`DeleteDecision::apply`]
/// left one delete after another: each gap between remaining screenshots (or after the entry's
/// start) loses the time up to its latest deleted screenshot. A device works out from this what
/// its deletes not yet sent took, so that a later delete there does not count that time twice.
/// A running entry has had nothing removed by deletes (R20).
#[must_use]
pub fn removed_by_deletes(
    entry: &EntryTimes,
    remain: &[DateTime<Utc>],
    deleted: &[DateTime<Utc>],
) -> SpanSet {
    let Some(end) = entry.end else {
        return SpanSet::new();
    };
    deleted
        .iter()
        .map(|&at| since_previous(entry.start, end, remain, at))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};
    use proptest::prelude::*;
    use rstest::rstest;
    use shotclock_api::{Role, UserId, WorkspaceId};

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 3, 9, 0, 0).unwrap() + TimeDelta::seconds(secs)
    }

    fn spans(list: &[(i64, i64)]) -> SpanSet {
        list.iter().map(|&(a, b)| Span::new(t(a), t(b))).collect()
    }

    #[derive(Debug, Clone, Copy)]
    enum Who {
        /// The screenshot's owner, a member.
        OwnerMember,
        /// Another member of the same workspace.
        OtherMember,
        /// An admin of the same workspace (not the owner).
        Admin,
        /// The workspace owner (role), not the screenshot's owner.
        WorkspaceOwner,
        /// An admin of another workspace.
        ForeignAdmin,
        /// The screenshot's owner acting in another workspace.
        OwnerElsewhere,
    }

    struct Case {
        who: Who,
        end: Option<i64>,
        locked: bool,
        approved: bool,
        removed: &'static [(i64, i64)],
        captured: i64,
        others: &'static [i64],
    }

    /// A stopped entry [0, 1000) with screenshots at 100, 400, 700 (deleting 400).
    const BASE: Case = Case {
        who: Who::OwnerMember,
        end: Some(1_000),
        locked: false,
        approved: false,
        removed: &[],
        captured: 400,
        others: &[100, 700],
    };

    fn run(case: &Case) -> DeleteDecision {
        let owner = Owner {
            user: UserId::new(),
            workspace: WorkspaceId::new(),
        };
        let actor = match case.who {
            Who::OwnerMember => Actor {
                user: owner.user,
                workspace: owner.workspace,
                role: Role::Member,
            },
            Who::OtherMember => Actor {
                user: UserId::new(),
                workspace: owner.workspace,
                role: Role::Member,
            },
            Who::Admin => Actor {
                user: UserId::new(),
                workspace: owner.workspace,
                role: Role::Admin,
            },
            Who::WorkspaceOwner => Actor {
                user: UserId::new(),
                workspace: owner.workspace,
                role: Role::Owner,
            },
            Who::ForeignAdmin => Actor {
                user: UserId::new(),
                workspace: WorkspaceId::new(),
                role: Role::Admin,
            },
            Who::OwnerElsewhere => Actor {
                user: owner.user,
                workspace: WorkspaceId::new(),
                role: Role::Member,
            },
        };
        let entry = EntryTimes {
            start: t(0),
            end: case.end.map(t),
            removed: spans(case.removed),
        };
        let others: Vec<_> = case.others.iter().map(|&s| t(s)).collect();
        decide(&DeleteRequest {
            actor,
            owner,
            entry: &entry,
            locked: case.locked,
            approved: case.approved,
            captured_at: t(case.captured),
            others: &others,
        })
    }

    fn removes(list: &[(i64, i64)]) -> DeleteDecision {
        DeleteDecision::DeleteScreenshot {
            removes: spans(list),
        }
    }

    fn forbidden(r: ForbiddenReason) -> DeleteDecision {
        DeleteDecision::Forbidden(r)
    }

    #[rstest]
    // --- who may ---
    #[case::member_own_removes_since_previous(BASE, removes(&[(100, 400)]))]
    #[case::member_not_owner(Case { who: Who::OtherMember, ..BASE }, forbidden(ForbiddenReason::NotOwner))]
    #[case::foreign_admin(Case { who: Who::ForeignAdmin, ..BASE }, forbidden(ForbiddenReason::OtherWorkspace))]
    #[case::owner_in_other_workspace(Case { who: Who::OwnerElsewhere, ..BASE }, forbidden(ForbiddenReason::OtherWorkspace))]
    // --- running entry (R20), for everyone ---
    #[case::running_member(Case { end: None, ..BASE }, DeleteDecision::StopTimerFirst)]
    #[case::running_admin(Case { who: Who::Admin, end: None, ..BASE }, DeleteDecision::StopTimerFirst)]
    #[case::running_workspace_owner(Case { who: Who::WorkspaceOwner, end: None, ..BASE }, DeleteDecision::StopTimerFirst)]
    #[case::running_admin_locked_approved(Case { who: Who::Admin, end: None, locked: true, approved: true, ..BASE }, DeleteDecision::StopTimerFirst)]
    // --- visibility before anything about the entry ---
    #[case::running_not_owner_is_not_found(Case { who: Who::OtherMember, end: None, ..BASE }, forbidden(ForbiddenReason::NotOwner))]
    #[case::running_foreign(Case { who: Who::ForeignAdmin, end: None, ..BASE }, forbidden(ForbiddenReason::OtherWorkspace))]
    // --- member restrictions (R14, R21) ---
    #[case::member_locked(Case { locked: true, ..BASE }, forbidden(ForbiddenReason::Locked))]
    #[case::member_approved(Case { approved: true, ..BASE }, forbidden(ForbiddenReason::Approved))]
    #[case::member_locked_and_approved(Case { locked: true, approved: true, ..BASE }, forbidden(ForbiddenReason::Locked))]
    #[case::member_locked_running_says_locked(Case { locked: true, end: None, ..BASE }, forbidden(ForbiddenReason::Locked))]
    #[case::member_last_but_locked(Case { locked: true, others: &[], ..BASE }, forbidden(ForbiddenReason::Locked))]
    // --- admins remove no time (R22) ---
    #[case::admin_removes_nothing(Case { who: Who::Admin, ..BASE }, removes(&[]))]
    #[case::workspace_owner_removes_nothing(Case { who: Who::WorkspaceOwner, ..BASE }, removes(&[]))]
    #[case::admin_locked(Case { who: Who::Admin, locked: true, ..BASE }, removes(&[]))]
    #[case::admin_approved(Case { who: Who::Admin, approved: true, ..BASE }, removes(&[]))]
    #[case::admin_last_screenshot_keeps_entry(Case { who: Who::Admin, others: &[], ..BASE }, removes(&[]))]
    // --- member spans (R21) ---
    #[case::member_first_removes_from_entry_start(Case { captured: 100, others: &[400, 700], ..BASE }, removes(&[(0, 100)]))]
    #[case::member_last_remaining_deletes_entry(Case { others: &[], ..BASE }, DeleteDecision::DeleteEntry)]
    #[case::member_latest_removes_since_previous(Case { captured: 700, others: &[100, 400], ..BASE }, removes(&[(400, 700)]))]
    #[case::others_in_any_order(Case { captured: 700, others: &[400, 100, 900], ..BASE }, removes(&[(400, 700)]))]
    #[case::already_removed_is_not_removed_again(Case { removed: &[(100, 250)], ..BASE }, removes(&[(250, 400)]))]
    #[case::removed_hole_in_middle(Case { removed: &[(200, 300)], ..BASE }, removes(&[(100, 200), (300, 400)]))]
    #[case::all_already_removed(Case { removed: &[(0, 400)], ..BASE }, removes(&[]))]
    #[case::removed_after_is_irrelevant(Case { removed: &[(400, 700)], ..BASE }, removes(&[(100, 400)]))]
    #[case::same_instant_as_previous(Case { captured: 100, others: &[100, 700], ..BASE }, removes(&[]))]
    #[case::capture_after_entry_end_is_clipped(Case { captured: 1_200, others: &[700], ..BASE }, removes(&[(700, 1_000)]))]
    #[case::capture_before_entry_start_removes_nothing(Case { captured: -20, others: &[100], ..BASE }, removes(&[]))]
    fn decisions(#[case] case: Case, #[case] expected: DeleteDecision) {
        assert_eq!(run(&case), expected);
    }

    #[test]
    fn error_codes_follow_r16() {
        use ErrorCode as E;
        assert_eq!(
            forbidden(ForbiddenReason::NotOwner).error_code(),
            Some(E::NotFound)
        );
        assert_eq!(
            forbidden(ForbiddenReason::OtherWorkspace).error_code(),
            Some(E::NotFound)
        );
        assert_eq!(
            forbidden(ForbiddenReason::Locked).error_code(),
            Some(E::EntryLocked)
        );
        assert_eq!(
            forbidden(ForbiddenReason::Approved).error_code(),
            Some(E::EntryApproved)
        );
        assert_eq!(
            DeleteDecision::StopTimerFirst.error_code(),
            Some(E::StopTimerFirst)
        );
        assert_eq!(removes(&[]).error_code(), None);
        assert_eq!(DeleteDecision::DeleteEntry.error_code(), None);
    }

    #[test]
    fn apply_folds_decisions() {
        let before = spans(&[(0, 100)]);
        assert_eq!(
            removes(&[(100, 400)]).apply(&before),
            Some(spans(&[(0, 400)]))
        );
        assert_eq!(removes(&[]).apply(&before), Some(before.clone()));
        assert_eq!(
            DeleteDecision::StopTimerFirst.apply(&before),
            Some(before.clone())
        );
        assert_eq!(
            forbidden(ForbiddenReason::Locked).apply(&before),
            Some(before.clone())
        );
        assert_eq!(DeleteDecision::DeleteEntry.apply(&before), None);
    }

    #[test]
    fn removed_by_deletes_reaches_back_to_the_previous_remaining_screenshot() {
        let entry = EntryTimes {
            start: t(0),
            end: Some(t(1_000)),
            removed: spans(&[(800, 900)]),
        };
        let at = |list: &[i64]| list.iter().map(|&s| t(s)).collect::<Vec<_>>();
        // 400 and 700 deleted, 100 remains: [100, 700); the first screenshot's span reaches
        // back to the start; one after the end is clipped to it.
        assert_eq!(
            removed_by_deletes(&entry, &at(&[100]), &at(&[700, 400])),
            spans(&[(100, 700)])
        );
        assert_eq!(
            removed_by_deletes(&entry, &at(&[400]), &at(&[100])),
            spans(&[(0, 100)])
        );
        assert_eq!(
            removed_by_deletes(&entry, &at(&[950]), &at(&[1_200])),
            spans(&[(950, 1_000)])
        );
        assert_eq!(removed_by_deletes(&entry, &at(&[100]), &[]), SpanSet::new());
        // A running entry has had nothing removed by deletes.
        let running = EntryTimes::new(t(0), None);
        assert_eq!(
            removed_by_deletes(&running, &at(&[100]), &at(&[400])),
            SpanSet::new()
        );
    }

    /// An entry [0, len) with screenshots at the given offsets (seconds), deleted in `order`.
    fn arb_entry_and_deletes() -> impl Strategy<Value = (i64, Vec<i64>, Vec<usize>)> {
        (1i64..20_000).prop_flat_map(|len| {
            prop::collection::vec(0..len, 1..25).prop_flat_map(move |shots| {
                let n = shots.len();
                (
                    Just(len),
                    Just(shots),
                    Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                )
            })
        })
    }

    fn delete_all(
        role: Role,
        len: i64,
        shots: &[i64],
        order: &[usize],
        approved: bool,
    ) -> Vec<(DeleteDecision, EntryTimes)> {
        let owner = Owner {
            user: UserId::new(),
            workspace: WorkspaceId::new(),
        };
        let actor = Actor {
            user: if role.is_admin() {
                UserId::new()
            } else {
                owner.user
            },
            workspace: owner.workspace,
            role,
        };
        let mut entry = EntryTimes::new(t(0), Some(t(len)));
        let mut remaining: Vec<usize> = (0..shots.len()).collect();
        let mut log = Vec::new();
        for &i in order {
            remaining.retain(|&j| j != i);
            let others: Vec<_> = remaining.iter().map(|&j| t(shots[j])).collect();
            let decision = decide(&DeleteRequest {
                actor,
                owner,
                entry: &entry,
                locked: false,
                approved,
                captured_at: t(shots[i]),
                others: &others,
            });
            match decision.apply(&entry.removed) {
                Some(removed) => entry.removed = removed,
                None => {
                    log.push((decision, entry.clone()));
                    break;
                }
            }
            log.push((decision, entry.clone()));
        }
        log
    }

    proptest! {
        /// (c) Member deletes in any order: each delete removes only new time inside the entry,
        /// removed spans never overlap, never exceed the entry, durations never go negative,
        /// and the entry is deleted exactly when its last screenshot goes.
        #[test]
        fn member_deletes_never_remove_time_twice((len, shots, order) in arb_entry_and_deletes()) {
            let entry_len = TimeDelta::seconds(len);
            let end = t(len);
            let mut removed_before = SpanSet::new();
            let mut sum_of_removes = TimeDelta::zero();
            let log = delete_all(Role::Member, len, &shots, &order, false);
            prop_assert_eq!(log.len(), shots.len(), "every delete is carried out");
            for (step, (decision, entry)) in log.iter().enumerate() {
                let last = step + 1 == shots.len();
                match decision {
                    DeleteDecision::DeleteScreenshot { removes } => {
                        prop_assert!(!last, "last screenshot must delete the entry");
                        prop_assert!(!removes.overlaps(&removed_before), "time removed twice");
                        prop_assert_eq!(removes.clip(Span::new(t(0), end)), removes.clone(), "outside entry");
                        sum_of_removes += removes.total();
                        prop_assert_eq!(entry.removed.total(), sum_of_removes);
                        prop_assert!(entry.removed.total() <= entry_len);
                        prop_assert!(entry.duration(end) >= TimeDelta::zero());
                        prop_assert_eq!(entry.duration(end) + entry.removed.total(), entry_len);
                        for w in entry.removed.spans().windows(2) {
                            prop_assert!(w[0].end < w[1].start, "removed spans overlap");
                        }
                        // Order-independent: from the screenshots deleted and those still
                        // remaining alone, without replaying the deletes.
                        let deleted: Vec<i64> = order[..=step].iter().map(|&i| shots[i]).collect();
                        let remaining: Vec<i64> = order[step + 1..].iter().map(|&i| shots[i]).collect();
                        let at = |list: &[i64]| list.iter().map(|&s| t(s)).collect::<Vec<_>>();
                        prop_assert_eq!(
                            &entry.removed,
                            &removed_by_deletes(
                                &EntryTimes::new(t(0), Some(t(len))),
                                &at(&remaining),
                                &at(&deleted),
                            )
                        );
                        removed_before = entry.removed.clone();
                    }
                    DeleteDecision::DeleteEntry => prop_assert!(last),
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }

        /// (d) Admin deletes never change a duration (nor delete the entry), approved or not.
        #[test]
        fn admin_deletes_never_change_duration(
            (len, shots, order) in arb_entry_and_deletes(),
            approved in any::<bool>(),
            owner_role in prop_oneof![Just(Role::Admin), Just(Role::Owner)],
        ) {
            let full = TimeDelta::seconds(len);
            let log = delete_all(owner_role, len, &shots, &order, approved);
            prop_assert_eq!(log.len(), shots.len());
            for (decision, entry) in &log {
                prop_assert_eq!(decision, &DeleteDecision::DeleteScreenshot { removes: SpanSet::new() });
                prop_assert_eq!(entry.duration(t(len)), full);
                prop_assert!(entry.removed.is_empty());
            }
        }
    }
}
