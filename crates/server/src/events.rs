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
//!
//! Open streams are counted ([`Hub::admit`]): at most `per_user` per user and `total` in all;
//! a stream beyond either is refused (429 with `Retry-After`), and its [`StreamSlot`] gives the
//! place back when the stream is dropped, however it ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

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
    open: Arc<Mutex<OpenStreams>>,
}

#[derive(Debug, Default)]
struct OpenStreams {
    per_user: HashMap<UserId, usize>,
    total: usize,
}

/// One admitted stream's place; dropping it gives the place back.
#[derive(Debug)]
pub struct StreamSlot {
    user: UserId,
    open: Arc<Mutex<OpenStreams>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_user.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.per_user.remove(&self.user);
            }
        }
    }
}

/// Why a stream was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The user has `per_user` streams open.
    User,
    /// The service has `total` streams open.
    Service,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            users: Mutex::default(),
            ended: broadcast::channel(CAPACITY).0,
            open: Arc::default(),
        }
    }
}

impl Hub {
    /// A place for one more open stream of `user`, unless the user has `per_user` open or the
    /// service `total`.
    pub fn admit(&self, user: UserId, per_user: usize, total: usize) -> Result<StreamSlot, Full> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = open.per_user.get(&user).copied().unwrap_or(0);
        if mine >= per_user {
            return Err(Full::User);
        }
        if open.total >= total {
            return Err(Full::Service);
        }
        open.total += 1;
        open.per_user.insert(user, mine + 1);
        Ok(StreamSlot {
            user,
            open: Arc::clone(&self.open),
        })
    }

    /// Open streams: (of `user`, in all).
    #[must_use]
    pub fn open_streams(&self, user: UserId) -> (usize, usize) {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        (open.per_user.get(&user).copied().unwrap_or(0), open.total)
    }

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
