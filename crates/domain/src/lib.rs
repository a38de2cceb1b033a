//! Shotclock's product rules, as pure functions.
//!
//! Both the desktop app and the workspace service apply these rules — one definition, two
//! callers — so they can never disagree about when to capture, what a delete removes, what has
//! expired or who may see what. Product rule ids (R…) refer to `PRODUCT.md`.
//!
//! Design constraints:
//! * **No I/O, no async, no global state.** The clock is a `now: DateTime<Utc>` argument and
//!   randomness a `&mut impl rand::Rng`, so every rule is deterministic under test.
//! * **No panics.** Arithmetic at the edges of chrono's range is checked and surfaces as an
//!   error (or saturates, where that is the meaningful answer).
//! * Time ranges are half-open `[start, end)` ([`span::Span`]) everywhere.
//!
//! Modules:
//! * [`schedule`] — one uniformly random capture moment per window (R9).
//! * [`delete`] — what deleting a screenshot does, and removed-time accounting (R20–R22).
//! * [`span`] — spans and normalised span sets (removed time).
//! * [`entry`] — entry duration and "starting stops the previous timer" (R13).
//! * [`retention`] — 7-day expiry (R18).
//! * [`clock`] — the injected source of "now" the callers read it from.
//! * [`days`] — a calendar day's bounds in a time zone (R17).
//! * [`visibility`] — who sees which screenshots (R16).
//! * [`gate`] — capture switch, plan and trial (R4, R5).
//! * [`lock`] — lock date and approval (R14).
//! * [`manage`] — editing, adding, deleting and approving entries by hand (R39).

#![warn(missing_docs)]

pub mod clock;
pub mod days;
pub mod delete;
pub mod entry;
pub mod gate;
pub mod lock;
pub mod manage;
pub mod members;
pub mod privacy;
pub mod retention;
pub mod schedule;
pub mod span;
pub mod sso;
pub mod visibility;

pub use delete::{DeleteDecision, DeleteRequest, ForbiddenReason, decide};
pub use entry::{EntryTimes, RunningEntry, TimerPlacement, place_timer_start, stop_end};
pub use gate::{CaptureGate, GateReason, TRIAL_LENGTH};
pub use lock::{EditBlock, EntryStatus, is_locked, may_edit, member_may_edit};
pub use retention::RETENTION;
pub use schedule::{
    CaptureSlot, CaptureWindow, LATE_GRACE, ScheduleError, SlotStatus, next_capture,
    next_capture_after, window_index_of, window_span,
};
pub use span::{Span, SpanSet};
pub use visibility::{Actor, Owner, ViewScope, can_view};
