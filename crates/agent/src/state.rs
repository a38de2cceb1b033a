//! State shared by the engine's tasks: watch channels for what changes (the running timer, the
//! workspace settings, whether we are signed in), a broadcast channel of events for the UI, and
//! the handles of the store and the service.

use crate::clock::ServiceTime;
use crate::service::Service;
use chrono::{DateTime, Utc};
use serde::Serialize;
use shotclock_api::dto::{Notification, WorkspaceSettings};
use shotclock_api::{EntryId, ScreenshotId};
use shotclock_store::{CachedAccount, CachedSettings, StoreHandle, TimeEntry};
use tokio::sync::{Notify, broadcast, watch};

/// Whether screenshots are being taken, and if not, why (R7, R8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CaptureStatus {
    /// Capturing while `entry_id` runs; the next moment, when known.
    Active {
        entry_id: EntryId,
        next_at: Option<DateTime<Utc>>,
    },
    /// Not capturing.
    Off { reason: String },
}

/// What the engine tells the UI.
#[derive(Debug, Clone, Serialize)]
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
        health: String,
        detail: String,
        at: DateTime<Utc>,
    },
    /// The service acknowledged a queued change: `kind` is `screenshot`, `timer_start`,
    /// `timer_stop`, … — lists the service serves (day counts, today's entries) now include it.
    Synced { kind: String },
    /// A screenshot or entry left this device (deleted here or elsewhere).
    Deleted,
    /// A new notification from the workspace (R6): show it in the app and the OS.
    Notification { notification: Notification },
    /// The service refused an item for good; it is kept aside with this reason (R25).
    Rejected { kind: String, reason: String },
    /// The workspace settings as the service last told them (R4, R5): the shell and the UI
    /// follow an admin's change without asking.
    SettingsChanged { settings: WorkspaceSettings },
    /// The session ended (signed out, or the token was revoked).
    SignedOut,
}

/// The running timer as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunningTimer {
    pub entry_id: EntryId,
    pub description: String,
    pub start: DateTime<Utc>,
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
    pub timer: watch::Sender<Option<TimeEntry>>,
    pub settings: watch::Sender<CachedSettings>,
    /// Whether the scheduler is capturing now (R7), for the UI's indicator and the tray.
    pub capture: watch::Sender<CaptureStatus>,
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

    /// Sets the running-timer mirror and tells the UI, if it changed.
    pub(crate) fn set_timer(&self, running: Option<TimeEntry>) {
        let changed = self.timer.send_if_modified(|current| {
            let same = match (current.as_ref(), running.as_ref()) {
                (None, None) => true,
                (Some(a), Some(b)) => {
                    a.id == b.id && a.start == b.start && a.description == b.description
                }
                _ => false,
            };
            *current = running.clone();
            !same
        });
        if changed {
            self.emit(AgentEvent::TimerChanged {
                running: running.as_ref().map(RunningTimer::from),
            });
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        *self.shutdown.borrow()
    }
}
