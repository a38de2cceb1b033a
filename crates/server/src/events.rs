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
//! that may have missed its own ending — it fell behind more than [`CAPACITY`] endings, or
//! another replica's notices were lost ([`Ended::Unsure`]) — reads its session again and
//! closes if it is gone.
//!
//! With several replicas on one database, an event also travels to the others as a small
//! [`Notice`] (ids and a kind, never a description or an image) through the backend's
//! [`crate::store::Cluster`] channel, sent after the change committed; each replica rebuilds the
//! event from its own reads and publishes it to its own streams (see `relay`). When a replica's
//! listener loses its connection, or another replica could not send some notices, notices are
//! gone: once it listens again (or hears of the loss), [`Hub::lag_all`] tells every open stream
//! that it lagged, and clients re-read their state.
//!
//! Open streams are counted ([`Hub::admit`]): at most `per_user` per user and `total` in all;
//! a stream beyond either is refused (429 with `Retry-After`), and its [`StreamSlot`] gives the
//! place back when the stream is dropped, however it ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use shotclock_api::dto::Event;
use shotclock_api::privacy::AccessKind;
use shotclock_api::{EntryId, NotificationId, ScreenshotId, UserId};
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
    /// Endings may have been missed (see [`Hub::lag_all`]): every open stream checks its
    /// session again and closes if it is gone.
    Unsure,
}

impl Ended {
    /// Whether this ending surely concerns the stream of `user` opened with `session`.
    #[must_use]
    pub fn ends(&self, user: UserId, session: &[u8; 32]) -> bool {
        match self {
            Ended::Session(hash) => hash == session,
            Ended::User(id) => *id == user,
            Ended::Unsure => false,
        }
    }
}

/// What an open stream receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// An event of the stream's user.
    Event(Event),
    /// Events may have been missed (a replica's listener reconnected): re-read the state.
    Gap,
}

/// An event or a session ending, as it travels between replicas: ids and a kind only. The
/// receiving replica rebuilds the [`Event`] from its own reads (so an entry's description or a
/// workspace's settings never pass through the database's notification channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Notice {
    /// [`Event::TimerStarted`] of this entry.
    TimerStarted {
        /// The user.
        u: UserId,
        /// The entry.
        e: EntryId,
    },
    /// [`Event::TimerStopped`] of this entry.
    TimerStopped {
        /// The user.
        u: UserId,
        /// The entry.
        e: EntryId,
    },
    /// [`Event::SettingsChanged`] for this member (the settings of their workspace).
    SettingsChanged {
        /// The member.
        u: UserId,
    },
    /// [`Event::Notification`].
    Notification {
        /// The user.
        u: UserId,
        /// The notification.
        n: NotificationId,
    },
    /// [`Event::ScreenshotDeleted`].
    ScreenshotDeleted {
        /// The owner.
        u: UserId,
        /// The screenshot.
        s: ScreenshotId,
        /// Its entry.
        e: EntryId,
    },
    /// [`Event::EntryDeleted`].
    EntryDeleted {
        /// The owner.
        u: UserId,
        /// The entry.
        e: EntryId,
    },
    /// [`Event::EntryChanged`] of this entry.
    EntryChanged {
        /// The owner.
        u: UserId,
        /// The entry.
        e: EntryId,
    },
    /// [`Ended::Session`], by the session's token hash (hex).
    SessionEnded {
        /// SHA-256 of the token, hex.
        h: String,
    },
    /// [`Ended::User`].
    UserEnded {
        /// The user.
        u: UserId,
    },
    /// [`Event::ScreenshotAdded`].
    ScreenshotAdded {
        /// The owner.
        u: UserId,
        /// The screenshot.
        s: ScreenshotId,
        /// Its entry.
        e: EntryId,
    },
    /// [`Event::AccessLogged`].
    AccessLogged {
        /// The owner.
        u: UserId,
        /// The screenshot.
        s: ScreenshotId,
        /// What was logged.
        a: AccessKind,
    },
}

impl Notice {
    /// The notice for `event` of `user`.
    #[must_use]
    pub fn of_event(user: UserId, event: &Event) -> Self {
        match event {
            Event::TimerStarted { entry } => Notice::TimerStarted {
                u: user,
                e: entry.id,
            },
            Event::TimerStopped { entry } => Notice::TimerStopped {
                u: user,
                e: entry.id,
            },
            Event::SettingsChanged { .. } => Notice::SettingsChanged { u: user },
            Event::Notification { notification } => Notice::Notification {
                u: user,
                n: notification.id,
            },
            Event::ScreenshotDeleted {
                screenshot_id,
                entry_id,
            } => Notice::ScreenshotDeleted {
                u: user,
                s: *screenshot_id,
                e: *entry_id,
            },
            Event::EntryDeleted { entry_id } => Notice::EntryDeleted {
                u: user,
                e: *entry_id,
            },
            Event::EntryChanged { entry } => Notice::EntryChanged {
                u: user,
                e: entry.id,
            },
            Event::ScreenshotAdded {
                screenshot_id,
                entry_id,
            } => Notice::ScreenshotAdded {
                u: user,
                s: *screenshot_id,
                e: *entry_id,
            },
            Event::AccessLogged {
                screenshot_id,
                kind,
            } => Notice::AccessLogged {
                u: user,
                s: *screenshot_id,
                a: *kind,
            },
        }
    }

    /// The notice for a session ending.
    #[must_use]
    pub fn of_ending(ended: Ended) -> Option<Self> {
        match ended {
            Ended::Session(hash) => Some(Notice::SessionEnded {
                h: hex::encode(hash),
            }),
            Ended::User(u) => Some(Notice::UserEnded { u }),
            // Each replica judges its own doubt.
            Ended::Unsure => None,
        }
    }

    /// The user whose streams this notice concerns (`None`: a session, by its hash).
    #[must_use]
    pub fn user(&self) -> Option<UserId> {
        match self {
            Notice::TimerStarted { u, .. }
            | Notice::TimerStopped { u, .. }
            | Notice::SettingsChanged { u }
            | Notice::Notification { u, .. }
            | Notice::ScreenshotDeleted { u, .. }
            | Notice::EntryDeleted { u, .. }
            | Notice::EntryChanged { u, .. }
            | Notice::UserEnded { u }
            | Notice::ScreenshotAdded { u, .. }
            | Notice::AccessLogged { u, .. } => Some(*u),
            Notice::SessionEnded { .. } => None,
        }
    }
}

/// A [`Notice`] with the replica that sent it (which ignores its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sending replica (random per process).
    pub o: uuid::Uuid,
    /// The notice.
    #[serde(flatten)]
    pub notice: Notice,
}

/// Fan-out of events to the users' open streams.
#[derive(Debug)]
pub struct Hub {
    users: Mutex<HashMap<UserId, broadcast::Sender<Frame>>>,
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
    pub fn subscribe(&self, user: UserId) -> broadcast::Receiver<Frame> {
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

    /// Sends `event` to every open stream of `user` on this replica (see [`crate::App::publish`]
    /// for every replica).
    pub fn publish(&self, user: UserId, event: Event) {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = users.get(&user) {
            let _ = tx.send(Frame::Event(event));
        }
    }

    /// Whether `user` has a stream open on this replica.
    #[must_use]
    pub fn listening(&self, user: UserId) -> bool {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users.get(&user).is_some_and(|tx| tx.receiver_count() > 0)
    }

    /// Tells every open stream that it may have missed events, and that it may have missed
    /// the end of its session ([`Ended::Unsure`]).
    pub fn lag_all(&self) {
        {
            let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
            for tx in users.values() {
                let _ = tx.send(Frame::Gap);
            }
        }
        self.end(Ended::Unsure);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    #[test]
    fn an_ending_concerns_its_session_or_every_session_of_its_user() {
        let (alice, bob) = (UserId::new(), UserId::new());
        let (mine, other) = ([1u8; 32], [2u8; 32]);
        assert!(Ended::Session(mine).ends(alice, &mine));
        assert!(Ended::Session(mine).ends(bob, &mine));
        assert!(!Ended::Session(mine).ends(alice, &other));
        assert!(Ended::User(alice).ends(alice, &mine));
        assert!(Ended::User(alice).ends(alice, &other));
        assert!(!Ended::User(alice).ends(bob, &mine));
    }

    #[test]
    fn a_notice_names_its_user_and_a_session_ending_none() {
        let alice = UserId::new();
        let entry = EntryId::new();
        let deleted = Notice::of_event(alice, &Event::EntryDeleted { entry_id: entry });
        assert_eq!(deleted, Notice::EntryDeleted { u: alice, e: entry });
        assert_eq!(deleted.user(), Some(alice));
        let user = Notice::of_ending(Ended::User(alice)).unwrap();
        assert_eq!(user.user(), Some(alice));
        let session = Notice::of_ending(Ended::Session([0xab; 32])).unwrap();
        assert_eq!(session, Notice::SessionEnded { h: "ab".repeat(32) });
        assert_eq!(session.user(), None);
        // A doubt is this replica's own: it does not travel.
        assert_eq!(Notice::of_ending(Ended::Unsure), None);
    }

    #[test]
    fn streams_are_admitted_up_to_the_users_and_the_services_caps() {
        let hub = Hub::default();
        let (alice, bob, carol) = (UserId::new(), UserId::new(), UserId::new());
        let a1 = hub.admit(alice, 2, 3).unwrap();
        let a2 = hub.admit(alice, 2, 3).unwrap();
        assert_eq!(hub.open_streams(alice), (2, 2));
        assert_eq!(hub.admit(alice, 2, 3).unwrap_err(), Full::User);
        assert_eq!(hub.open_streams(alice), (2, 2), "a refusal takes no place");
        let b1 = hub.admit(bob, 2, 3).unwrap();
        assert_eq!(hub.open_streams(bob), (1, 3));
        assert_eq!(hub.admit(carol, 2, 3).unwrap_err(), Full::Service);
        assert_eq!(hub.open_streams(carol), (0, 3));

        // A closed stream gives its place back, to its user and to the service.
        drop(a1);
        assert_eq!(hub.open_streams(alice), (1, 2));
        let c1 = hub.admit(carol, 2, 3).unwrap();
        assert_eq!(hub.open_streams(carol), (1, 3));
        drop((a2, b1, c1));
        for user in [alice, bob, carol] {
            assert_eq!(hub.open_streams(user), (0, 0));
        }
        assert!(
            hub.open.lock().unwrap().per_user.is_empty(),
            "a user with no stream open leaves the table"
        );
        assert!(hub.admit(alice, 1, 1).is_ok());
    }

    #[test]
    fn events_reach_only_their_users_open_streams() {
        let hub = Hub::default();
        let (alice, bob) = (UserId::new(), UserId::new());
        assert!(!hub.listening(alice));
        let mut alices = hub.subscribe(alice);
        let mut bobs = hub.subscribe(bob);
        assert!(hub.listening(alice));
        let event = Event::EntryDeleted {
            entry_id: EntryId::new(),
        };
        hub.publish(alice, event.clone());
        assert_eq!(alices.try_recv().unwrap(), Frame::Event(event));
        assert_eq!(bobs.try_recv().unwrap_err(), TryRecvError::Empty);

        hub.lag_all();
        assert_eq!(alices.try_recv().unwrap(), Frame::Gap);
        assert_eq!(bobs.try_recv().unwrap(), Frame::Gap);

        // A user whose streams all closed is no longer listening, and a new stream starts
        // with nothing published before it.
        drop(alices);
        assert!(!hub.listening(alice));
        hub.publish(
            alice,
            Event::EntryDeleted {
                entry_id: EntryId::new(),
            },
        );
        let carol = UserId::new();
        drop(hub.subscribe(carol));
        let mut again = hub.subscribe(alice);
        assert_eq!(again.try_recv().unwrap_err(), TryRecvError::Empty);
        let mut kept: Vec<UserId> = hub.users.lock().unwrap().keys().copied().collect();
        kept.sort();
        let mut open = vec![alice, bob];
        open.sort();
        assert_eq!(
            kept, open,
            "a user's channel with no stream left goes when a stream subscribes"
        );
    }

    #[test]
    fn an_ending_reaches_every_stream_that_listens_for_endings() {
        let hub = Hub::default();
        let mut first = hub.endings();
        let mut second = hub.endings();
        let ended = Ended::User(UserId::new());
        hub.end(ended);
        assert_eq!(first.try_recv().unwrap(), ended);
        assert_eq!(second.try_recv().unwrap(), ended);
    }
}
