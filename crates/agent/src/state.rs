//! State shared by the engine's tasks: watch channels for what changes (the running timer, the
//! workspace settings, whether we are signed in), a broadcast channel of events for the UI, and
//! the handles of the store and the service.

use crate::clock::ServiceTime;
use crate::service::Service;
use chrono::{DateTime, Utc};
use serde::Serialize;
use shotclock_api::dto::{Notification, WorkspaceSettings};
use shotclock_api::{EntryId, ScreenshotId};
use shotclock_capture::{Consent, SourceChoice};
use shotclock_domain::GateReason;
use shotclock_store::{
    CachedAccount, CachedSettings, CaptureHealth, OutboxKind, StoreError, StoreHandle, TimeEntry,
};
use tokio::sync::{Notify, broadcast, watch};

/// Whether screenshots are being taken, and if not, why (R7, R8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CaptureStatus {
    /// Capturing while `entry_id` runs; the next moment, when known.
    Active {
        entry_id: EntryId,
        next_at: Option<DateTime<Utc>>,
        /// The screen source and why it was chosen (X11, the Wayland portal, …).
        source: Option<SourceChoice>,
        /// Where the desktop's permission to share the screen stands (the portal's dialog).
        consent: Consent,
    },
    /// Not capturing.
    Off {
        reason: OffReason,
        /// The screen source that captures once capture turns on; `None` before the engine
        /// runs (signed out).
        source: Option<SourceChoice>,
        /// Where the desktop's permission to share the screen stands: before the first
        /// portal dialog the UI says what will be asked and why; after a refusal it offers to
        /// ask again.
        consent: Consent,
    },
}

/// Why screenshots are not being taken; the UI words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OffReason {
    /// The engine has not decided yet.
    Starting,
    /// Nobody is signed in.
    SignedOut,
    /// No timer is running.
    NoTimer,
    /// A timer remembered from an earlier run waits for the service to confirm it (R8).
    Unconfirmed,
    /// An admin has not turned capture on (R4).
    Disabled,
    /// Not on `enterprise` and no trial was ever started (R5).
    NoPlan,
    /// The one-time trial has ended (R5).
    TrialExpired,
    /// The workspace's capture window cannot be scheduled.
    Unschedulable,
}

impl From<GateReason> for OffReason {
    fn from(reason: GateReason) -> Self {
        match reason {
            GateReason::Disabled => OffReason::Disabled,
            GateReason::NoPlan => OffReason::NoPlan,
            GateReason::TrialExpired => OffReason::TrialExpired,
        }
    }
}

/// What the engine tells the UI.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// The running timer changed (started or stopped here, elsewhere, or through the API).
    TimerChanged { running: Option<RunningTimer> },
    /// Capture turned on or off, or the next moment was drawn.
    CaptureChanged { status: CaptureStatus },
    /// A screenshot was taken and committed locally.
    Captured {
        screenshot_id: ScreenshotId,
        captured_at: DateTime<Utc>,
    },
    /// A window produced no screenshot (R12).
    CaptureFailed {
        health: CaptureHealth,
        detail: String,
        at: DateTime<Utc>,
    },
    /// The service acknowledged a queued change: lists the service serves (day counts, today's
    /// entries) now include it.
    Synced { kind: OutboxKind },
    /// A screenshot or entry left this device (deleted here or elsewhere).
    Deleted,
    /// A new notification from the workspace (R6): show it in the app and the OS.
    Notification { notification: Notification },
    /// The service refused an item for good; it is kept aside with this reason (R25).
    Rejected { kind: OutboxKind, reason: String },
    /// The workspace settings as the service last told them (R4, R5): the shell and the UI
    /// follow an admin's change without asking.
    SettingsChanged { settings: WorkspaceSettings },
    /// The session ended (signed out, or the token was revoked).
    SignedOut,
    /// An entry was edited, added or (un)approved — here, elsewhere or by an admin: lists of
    /// entries are stale.
    EntryChanged,
    /// A screenshot of this user reached the service (from this device or another): the day's
    /// lists are stale.
    ScreenshotAdded,
    /// Someone else's look at one of this user's screenshots was logged (R35): the access log
    /// is stale.
    AccessLogged,
}

/// The running timer as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunningTimer {
    pub entry_id: EntryId,
    pub description: String,
    pub start: DateTime<Utc>,
}

/// The running entry as the engine holds it, and whether it may be captured (R8).
///
/// `confirmed`: the service said it runs since this engine started (at a connect, on a
/// refresh, in a live event), or it was started here and the service has not answered yet.
/// A timer remembered from an earlier run is not confirmed until the service says so: it may
/// have been stopped or deleted elsewhere while the app was closed, and its screenshots would
/// be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Running {
    pub entry: TimeEntry,
    pub confirmed: bool,
}

impl Running {
    /// What the service said runs, or what was started here.
    pub(crate) fn confirmed(entry: TimeEntry) -> Self {
        Running {
            entry,
            confirmed: true,
        }
    }
}

impl From<&TimeEntry> for RunningTimer {
    fn from(e: &TimeEntry) -> Self {
        RunningTimer {
            entry_id: e.id,
            description: e.description.clone(),
            start: e.start,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub store: StoreHandle,
    pub service: Service,
    pub time: ServiceTime,
    pub account: CachedAccount,
    /// The running entry (None when no timer runs).
    pub timer: watch::Sender<Option<Running>>,
    /// Held while the running timer changes: a start or stop made here, and the adoption of
    /// the service's timer state, each checks the outbox and writes under it, so neither
    /// overwrites the other with an older view. Every drop of an entry (deleted here, or
    /// heard of as deleted) also happens under it, and the scheduler stores a screenshot under
    /// it, so a screenshot never brings a deleted entry back.
    pub timer_lock: tokio::sync::Mutex<()>,
    /// Wakes the event task to re-read the service's timer: the last queued timer change was
    /// acknowledged, so the service's view is the newest again, or a refresh could not write
    /// what the service said into the buffer.
    pub timer_settled: Notify,
    pub settings: watch::Sender<CachedSettings>,
    /// The member's own blocked-window rules (local only: stored in the buffer, never sent),
    /// read by the scheduler at each capture.
    pub own_rules: watch::Sender<Vec<shotclock_capture::BlockRule>>,
    /// The workspace's blocked-window rules as the service last sent them (cached in the
    /// buffer, so they hold while offline), applied together with the own rules.
    pub workspace_rules: watch::Sender<Vec<shotclock_capture::BlockRule>>,
    /// Whether the scheduler is capturing now (R7), for the UI's indicator and the tray.
    pub capture: watch::Sender<CaptureStatus>,
    /// The user asked for the screen-sharing dialog again after declining it.
    pub ask_again: Notify,
    /// Wakes the uploader when something was queued.
    pub kick: Notify,
    /// Wakes the uploader from a retry pause: the event stream (re)connected, so the service
    /// is reachable again.
    pub reconnected: Notify,
    pub events: broadcast::Sender<AgentEvent>,
    /// Set once to stop every task.
    pub shutdown: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn emit(&self, event: AgentEvent) {
        // No subscriber is fine: the UI may not be listening.
        let _ = self.events.send(event);
    }

    /// Sets the running-timer mirror and tells the UI, if what it shows changed.
    pub(crate) fn set_timer(&self, running: Option<Running>) {
        let shown = |r: Option<&Running>| r.map(|r| RunningTimer::from(&r.entry));
        let mut was = None;
        self.timer.send_if_modified(|current| {
            was = Some(shown(current.as_ref()));
            let modified = *current != running;
            *current = running.clone();
            modified
        });
        let now = shown(running.as_ref());
        if was.as_ref() != Some(&now) {
            self.emit(AgentEvent::TimerChanged { running: now });
        }
    }

    /// Drops entry `id`, which the service no longer has, from this device: from the buffer
    /// with everything of it, and from the running-timer mirror — from the mirror even when the
    /// buffer cannot take the delete now, so capture stops at once. Under the timer lock, like
    /// every drop of an entry (see the scheduler). Answers whether the buffer held it.
    pub(crate) async fn drop_deleted_entry(&self, id: EntryId) -> Result<bool, StoreError> {
        let _changing = self.timer_lock.lock().await;
        let done = self.store.call(move |s| s.delete_entry(id)).await;
        self.forget_timer(id);
        done
    }

    /// Clears the running-timer mirror if it holds entry `id` (stopped or deleted elsewhere).
    pub(crate) fn forget_timer(&self, id: EntryId) {
        let cleared = self.timer.send_if_modified(|current| {
            let it = current.as_ref().is_some_and(|r| r.entry.id == id);
            if it {
                *current = None;
            }
            it
        });
        if cleared {
            self.emit(AgentEvent::TimerChanged { running: None });
        }
    }

    /// The running entry this device knows of, if any.
    pub(crate) fn running_entry(&self) -> Option<TimeEntry> {
        self.timer.borrow().as_ref().map(|r| r.entry.clone())
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves once the engine is told to stop: at once if it already was. Every task waits
    /// on this, not on a change of its own receiver: a receiver made after the stop takes the
    /// stop as seen, so a task first run after a quick shutdown (a sign-out or quit right after
    /// the start) would never end, and the shutdown waiting for it neither.
    pub(crate) async fn stopping(&self) {
        let mut rx = self.shutdown.subscribe();
        // An error only once the sender is gone, and `self` owns it.
        let _ = rx.wait_for(|stop| *stop).await;
    }
}
