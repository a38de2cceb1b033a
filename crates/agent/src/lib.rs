//! The Shotclock engine: everything the desktop app does besides drawing, testable without Tauri.
//!
//! ```text
//!             ┌──────────── event stream (SSE) ◄──── service
//!             ▼
//!   timer mirror ──► scheduler ──► capture ──► store (screenshot + outbox row, one tx)
//!   settings    ──►    (R8, R9)      (R10–R12)        │
//!                                                      ▼
//!                                   uploader ──► service (idempotent by client id)
//!   retention: purges local screenshots older than 7 days, sent or not (R18)
//! ```
//!
//! [`Agent::start`] spawns four tokio tasks and returns a cheap cloneable [`AgentHandle`]; the
//! shell (or the headless `shotclock-agent` binary) drives the engine only through it.
//!
//! Invariants:
//! - a capture is acknowledged (to the UI, to the uploader) only after its transaction
//!   committed; an outbox row is cleared only after the service acknowledged it (R25);
//! - one capture per window (R9), even across restarts: the last attempted window of the
//!   running entry is read back from the store;
//! - nothing is dropped because of retries; an item the service refuses for good is set aside
//!   with its reason and never blocks the items behind it; one it answers `deleted` (R29) is
//!   done, and its local copy goes;
//! - the service's timer state wins (R8): it is adopted in one place (`events::adopt_timer`),
//!   never over a local change still queued, and only a timer the service confirmed since the
//!   engine started — or one started here — is captured.

mod agent;
mod blocklist;
mod clock;
mod door;
mod error;
mod events;
mod manage;
mod members;
mod retention;
mod scheduler;
mod service;
mod session;
pub mod sso;
mod sso_settings;
mod state;
mod uploader;
mod view;

#[cfg(feature = "ts")]
pub mod ts;

pub use agent::{Agent, AgentConfig, AgentHandle};
pub use blocklist::{WindowMatch, WindowsNow};
pub use clock::{Clock, ManualClock, SystemClock};
pub use door::{DayShot, DayShots};
pub use error::AgentError;
pub use members::InviteLink;
pub use session::{Resumed, Session};
pub use shotclock_api::dto::{ApprovalEntry, EntryDeleteReport, MemberWeek};
/// The one private-file writer (0600 on Unix, atomic), for the clients' session files.
pub use shotclock_privatefs::write as write_private;
pub use shotclock_store::{CaptureHealth, OutboxKind};
pub use sso::{SsoError, SsoSignIn};
pub use state::{AgentEvent, CaptureStatus, OffReason, RunningTimer};
pub use view::{
    AttemptView, CaptureView, CommandError, ErrorKind, RejectedItem, SessionView, TokenStorage,
};
