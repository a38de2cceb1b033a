//! Live events per user (the SSE stream at `GET /api/v1/events`).
//!
//! A [`Hub`] keeps one `tokio::sync::broadcast` channel per user that has at least one open
//! stream; publishing to a user without listeners is a no-op. Events are hints to refresh, not
//! the source of truth: anything important (e.g. R6 notifications) is persisted first and only
//! then published, so a client that was offline catches up by listing.
//!
//! When a session ends (sign-out) or a user's sessions are revoked (deactivated, role changed,
//! account deleted), [`Hub::end`] closes the matching open streams at once: the client's
//! reconnect then meets a 401 and it stops, instead of listening on a dead session. A stream
//! that lags behind more than [`CAPACITY`] endings may miss its own; it then lives until the
//! client disconnects.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use shotclock_api::UserId;
use shotclock_api::dto::Event;
use tokio::sync::broadcast;

/// Buffered events per user before a slow listener starts losing them (it then gets a
/// `lagged` notice and should re-list).
const CAPACITY: usize = 64;

/// A session, or every session of a user, that ended: its open streams close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The session of this token hash.
    Session([u8; 32]),
    /// Every session of this user.
    User(UserId),
}

impl Ended {
    /// Whether this ending concerns the stream of `user` opened with `session`.
    #[must_use]
    pub fn ends(&self, user: UserId, session: &[u8; 32]) -> bool {
        match self {
            Ended::Session(hash) => hash == session,
            Ended::User(id) => *id == user,
        }
    }
}

/// Fan-out of events to the users' open streams.
#[derive(Debug)]
pub struct Hub {
    users: Mutex<HashMap<UserId, broadcast::Sender<Event>>>,
    ended: broadcast::Sender<Ended>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            users: Mutex::default(),
            ended: broadcast::channel(CAPACITY).0,
        }
    }
}

impl Hub {
    /// A new receiver of `user`'s events.
    pub fn subscribe(&self, user: UserId) -> broadcast::Receiver<Event> {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users.retain(|_, tx| tx.receiver_count() > 0);
        users
            .entry(user)
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }

    /// Endings of sessions, for open streams to close on their own.
    pub fn endings(&self) -> broadcast::Receiver<Ended> {
        self.ended.subscribe()
    }

    /// Closes the open streams of an ended session (or of all of a user's sessions).
    pub fn end(&self, ended: Ended) {
        let _ = self.ended.send(ended);
    }

    /// Sends `event` to every open stream of `user`.
    pub fn publish(&self, user: UserId, event: Event) {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = users.get(&user) {
            let _ = tx.send(event);
        }
    }
}
