//! `shotclock-sync`: the desktop app's typed client of the Shotclock workspace service.
//!
//! What is here:
//! * [`Client`] — one async method per endpoint the app uses (sessions, workspace settings and
//!   trial, notifications, timer, entries, screenshots, members), over `reqwest` with rustls.
//!   It refuses plain HTTP except to loopback (R2), sends the API version on every request and
//!   checks the service's on every answer.
//! * [`SyncError`] — typed failures that say whether to retry ([`SyncError::is_retryable`],
//!   [`SyncError::retry_after`]) or to give up for good: the outbox (R25) keeps retrying the
//!   first kind and sets the second aside with its reason.
//! * [`Client::events`] — the live event stream (Server-Sent Events, parsed by [`sse`]) as a
//!   self-reconnecting [`EventStream`] that reports [`StreamItem::Connected`] after each (re)connect
//!   so the consumer re-reads what it may have missed.
//! * [`Backoff`] — exponential backoff with full jitter and an injectable RNG, shared with the
//!   agent's uploader.
//!
//! ```no_run
//! # async fn demo() -> Result<(), shotclock_sync::SyncError> {
//! use shotclock_sync::{Client, StreamItem};
//!
//! let anon = Client::new("https://acme.example.com")?;
//! let session = anon.login("ann@example.com", "correct horse battery", None).await?;
//! let client = anon.with_token(&session.token);
//! let mut events = client.events();
//! while let Some(item) = events.next().await {
//!     match item {
//!         // (Re)connected or events were lost: re-read what the app mirrors.
//!         StreamItem::Connected | StreamItem::Lagged { .. } => {
//!             let _running = client.timer().await?.running;
//!         }
//!         StreamItem::Event(_event) => { /* apply it */ }
//!         StreamItem::Disconnected { .. } => { /* show "offline"; it reconnects by itself */ }
//!         // Unauthorized or IncompatibleVersion: final, the stream ends.
//!         _ => break,
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Invariants: the library never panics, prints or exits; it never logs a token, a password or
//! image bytes. Idempotency is the caller's ids (client-generated UUIDv7s), so retrying a
//! retryable failure with the same arguments is always safe.
//!
//! Known gaps: the event stream has no replay (the service keeps none),
//! hence the re-read on `Connected`; HTTP/1.1 only.

#![warn(missing_docs)]

pub mod backoff;
pub mod base_url;
mod client;
pub mod error;
mod events;
pub mod sse;

pub use backoff::{Backoff, BackoffPolicy};
pub use bytes::Bytes;
pub use client::{Client, ClientOptions, ScreenshotUpload};
pub use error::{DecodeError, NetworkError, NetworkErrorKind, SyncError};
pub use events::{EventStream, EventsOptions, StreamItem};
pub use reqwest::Url;
pub use shotclock_api as api;
