//! Live events per user (the SSE stream at `GET /api/v1/events`).
//!
//! A [`Hub`] keeps one `tokio::sync::broadcast` channel per user that has at least one open
//! stream; publishing to a user without listeners is a no-op. Events are hints to refresh, not
//! the source of truth: anything important (e.g. R6 notifications) is persisted first and only
//! then published, so a client that was offline catches up by listing.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use shotclock_api::UserId;
use shotclock_api::dto::Event;
use tokio::sync::broadcast;

/// Buffered events per user before a slow listener starts losing them (it then gets a
/// `lagged` notice and should re-list).
const CAPACITY: usize = 64;

/// Fan-out of events to the users' open streams.
#[derive(Debug, Default)]
pub struct Hub {
    users: Mutex<HashMap<UserId, broadcast::Sender<Event>>>,
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

    /// Sends `event` to every open stream of `user`.
    pub fn publish(&self, user: UserId, event: Event) {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = users.get(&user) {
            let _ = tx.send(event);
        }
    }
}
