//! Presence of the members' recording apps (R38): whether a member's desktop app or headless
//! agent (both the engine, `crates/agent`) is connected now, when it was last seen, and whether
//! it reports capture on.
//!
//! Design: the engine marks its event stream as a recording app's by opening it with
//! `?capture=on|off` (a browser's stream never counts), and reports a change of capture with
//! one `PUT /api/v1/presence`; an app that runs all day sends nothing else, so idle costs
//! nothing. The service keeps what it learns in memory, per replica: an open marked stream
//! holds an [`AppSlot`] whose drop records the disconnect; an upload counts as being seen.
//!
//! Known gaps, chosen for cost: nothing is stored, so after a restart "last seen" is unknown
//! until the app reconnects (it reconnects at once, by itself); with several replicas a replica
//! knows only the streams it holds and the uploads it took, so an admin's list shows an app
//! connected to another replica as not connected. A `PUT` that lands on a replica without the
//! app's stream changes nothing there; the next connect carries the state again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use shotclock_api::UserId;
use shotclock_api::dto::Presence as PresenceDto;

use crate::clock::Clock;

/// Recording apps per user, on this replica.
pub struct Presence {
    users: Arc<Mutex<HashMap<UserId, UserApps>>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence").finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct UserApps {
    /// Per session (token hash): open marked streams and the capture state last reported.
    sessions: HashMap<[u8; 32], Session>,
    last_seen: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Session {
    streams: usize,
    capture: bool,
}

/// A recording app's open stream; dropping it records the disconnect.
pub struct AppSlot {
    user: UserId,
    session: [u8; 32],
    users: Arc<Mutex<HashMap<UserId, UserApps>>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AppSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSlot")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Drop for AppSlot {
    fn drop(&mut self) {
        let now = self.clock.now();
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(apps) = users.get_mut(&self.user) {
            apps.last_seen = Some(now);
            if let Some(s) = apps.sessions.get_mut(&self.session) {
                s.streams = s.streams.saturating_sub(1);
                if s.streams == 0 {
                    apps.sessions.remove(&self.session);
                }
            }
        }
    }
}

impl Presence {
    /// Empty, reading "now" from `clock`.
    #[must_use]
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            users: Arc::default(),
            clock,
        }
    }

    /// A recording app of `user` opened its stream with `session`, capture as given; held as
    /// long as the stream.
    #[must_use]
    pub fn connect(&self, user: UserId, session: [u8; 32], capture: bool) -> AppSlot {
        let now = self.clock.now();
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let apps = users.entry(user).or_default();
        apps.last_seen = Some(now);
        let s = apps.sessions.entry(session).or_default();
        s.streams += 1;
        s.capture = capture;
        AppSlot {
            user,
            session,
            users: Arc::clone(&self.users),
            clock: Arc::clone(&self.clock),
        }
    }

    /// The app of `session` reports capture on or off. Whether a stream of it is open here.
    pub fn set_capture(&self, user: UserId, session: [u8; 32], capture: bool) -> bool {
        let now = self.clock.now();
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(apps) = users.get_mut(&user) else {
            return false;
        };
        match apps.sessions.get_mut(&session) {
            Some(s) => {
                s.capture = capture;
                apps.last_seen = Some(now);
                true
            }
            None => false,
        }
    }

    /// `user`'s app was seen (an upload).
    pub fn seen(&self, user: UserId) {
        let now = self.clock.now();
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users.entry(user).or_default().last_seen = Some(now);
    }

    /// What an admin is shown for `user`.
    #[must_use]
    pub fn of(&self, user: UserId) -> PresenceDto {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(apps) = users.get(&user) else {
            return PresenceDto {
                connected: false,
                last_seen: None,
                capture: false,
            };
        };
        let connected = !apps.sessions.is_empty();
        PresenceDto {
            connected,
            last_seen: if connected {
                Some(self.clock.now())
            } else {
                apps.last_seen
            },
            capture: apps.sessions.values().any(|s| s.capture),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use shotclock_domain::clock::ManualClock;

    #[test]
    fn connected_capture_and_last_seen() {
        let t0 = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let clock = Arc::new(ManualClock::new(t0));
        let p = Presence::new(clock.clone());
        let (u, v) = (UserId::new(), UserId::new());
        assert!(!p.of(u).connected && p.of(u).last_seen.is_none());
        let a = p.connect(u, [1; 32], false);
        let b = p.connect(u, [2; 32], false);
        assert!(p.of(u).connected && !p.of(u).capture);
        assert!(p.set_capture(u, [2; 32], true));
        assert!(
            !p.set_capture(u, [3; 32], true),
            "no stream of that session"
        );
        assert!(!p.set_capture(v, [1; 32], true));
        assert!(p.of(u).capture);
        clock.advance(TimeDelta::minutes(5));
        drop(b);
        assert!(
            p.of(u).connected && !p.of(u).capture,
            "the other app is off"
        );
        clock.advance(TimeDelta::minutes(5));
        drop(a);
        let gone = p.of(u);
        assert!(!gone.connected && !gone.capture);
        assert_eq!(gone.last_seen, Some(t0 + TimeDelta::minutes(10)));
        p.seen(v);
        assert_eq!(p.of(v).last_seen, Some(t0 + TimeDelta::minutes(10)));
        assert!(!p.of(v).connected);
    }
}
