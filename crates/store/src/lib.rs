//! The desktop app's local SQLite buffer.
//!
//! Everything the app must not lose between a capture and the service's acknowledgement lives
//! here: the cached account and workspace settings, the time entries the app knows of, the
//! screenshots (blurred WebP thumbnails, never full frames), the capture attempts that explain
//! a missing screenshot (R12), and the **outbox** of changes still to send (R25).
//!
//! # Design
//!
//! * **One file, one connection.** [`Store`] owns a single `rusqlite::Connection` on
//!   `<data_dir>/shotclock.db` in WAL mode with `synchronous=FULL`, so a write that returned is on
//!   disk and survives a crash or `kill -9` (R26). `foreign_keys=ON`; `secure_delete=ON` so a
//!   deleted thumbnail's bytes are overwritten, and every delete ends with
//!   `PRAGMA wal_checkpoint(TRUNCATE)` so no copy survives in the WAL either (R24).
//! * **Private files.** The data directory is `0700` and the database, `-wal` and `-shm` files
//!   `0600`; looser modes found on open are repaired (Unix; elsewhere the per-user profile
//!   directory's ACLs apply).
//! * **Each write is one transaction and returns only after commit.** A capture inserts the
//!   screenshot, its outbox row and its attempt together ([`Store::record_capture`]); a timer
//!   change writes the entry and its outbox row together ([`Store::record_timer_change`]).
//! * **Sync, the store's half.** The uploader asks [`Store::next_due`], sends, and then calls
//!   [`Store::ack`] (after the service's own commit), [`Store::retry_later`] (network error,
//!   5xx) or [`Store::reject`] (a 4xx that will never succeed: kept aside with its reason,
//!   listed by [`Store::rejected_items`], never blocking what follows) — or, when the service
//!   answers `deleted` (R29), [`Store::settle_deleted`] (done, and the local copy goes too).
//!   The service's word on an entry is taken with [`Store::adopt_entry`] and
//!   [`Store::drop_entry_missing_on_service`], never over a local change still queued.
//!   Items go out in `seq` order per time entry; see [`outbox`] for the exact rule. Nothing but
//!   retention ([`Store::purge_expired`]) or the user's delete (here, or elsewhere: a `deleted`
//!   answer) removes an unsent screenshot.
//! * **Schema** is owned here: plain SQL, append-only, applied on open ([`schema`]).
//! * **Blocking.** `rusqlite` is synchronous; the engine must not call [`Store`] on an async
//!   executor thread or the UI thread. [`StoreHandle`] is the cheap, cloneable async face: each
//!   call runs on tokio's blocking pool (`spawn_blocking`) against the one shared connection.
//! * **Clock injected.** Methods that need "now" take it as an argument; timestamps are
//!   `DateTime<Utc>` stored as integer milliseconds since the Unix epoch.
//!
//! # Known gaps
//!
//! * Secure deletion covers SQLite's own files. Copies the filesystem or SSD firmware keeps
//!   (journaling filesystems, wear levelling, snapshots, backups) are out of reach of any
//!   application; full-disk encryption is the answer there.
//! * The session token is deliberately not stored here (R3: it lives in the OS keyring).

#![warn(missing_docs)]

mod convert;
mod entries;
mod error;
mod fsperm;
mod handle;
mod model;
pub mod outbox;
mod payload;
pub mod schema;
mod screenshots;
mod settings;
mod store;

pub use error::StoreError;
pub use handle::StoreHandle;
pub use model::{
    AttemptId, BlockField, CachedAccount, CachedSettings, CaptureAttempt, CaptureHealth,
    NewAttempt, NewOutboxItem, NewScreenshot, OutboxItem, OutboxKind, OutboxState, OwnBlockRule,
    Screenshot, ScreenshotInfo, ScreenshotState, TimeEntry, UnknownText, UnreadablePayload,
};
pub use payload::{
    EditEntry, EntryBefore, ManualEntry, OutboxPayload, TimerStart, TimerStop, UnsentShot,
};
pub use store::{DB_FILE_NAME, Store};

#[cfg(test)]
mod forensic_tests;
