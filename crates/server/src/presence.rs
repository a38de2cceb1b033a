//! Presence of the members' recording apps (R38): whether a member's desktop app or headless
//! agent (both the engine, `crates/agent`) is connected now, when it was last seen, and whether
//! it reports capture on, the same answer from every replica.
//!
//! Design: the engine marks its event stream as a recording app's by opening it with
//! `?capture=on|off` (a browser's stream never counts), and reports a change of capture with
//! one `PUT /api/v1/presence`; an app that runs all day sends nothing else, so idle costs
//! nothing. The replica holding the stream writes one row for it (first stream of a session
//! here) and removes it when the last one closes ([`AppSlot`]'s drop); a capture report updates
//! the session's rows on whichever replica holds them. Each replica writes a heartbeat every
//! third of `Config::presence_ttl` ([`Presence::beat`], run by `serve`), so the rows of a
//! replica that died without a word stop counting after at most that time-to-live, and the
//! next heartbeat of a live replica folds them into "last seen" and removes them. What the
//! rows mean is decided in `intents::presence`; the rows outlive restarts, so "last seen"
//! does too.
//!
//! Kept in memory here: only how many streams of each session this replica holds (so the row
//! goes with the last one) and, per session, the capture state heard here, which a heartbeat
//! writes back if this replica was ever taken for dead and swept (a pause longer than the
//! time-to-live). Replicas' clocks are compared: keep them in sync well within that time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::TimeDelta;
use shotclock_api::dto::Presence as PresenceDto;
use shotclock_api::{UserId, WorkspaceId};
use uuid::Uuid;

use crate::clock::Clock;
use crate::intents::{HeldApp, Intents, Liveness};
use crate::store::StoreResult;

/// The recording apps' streams this replica holds, and the way to the shared rows.
pub struct Presence {
    held: Arc<Mutex<HashMap<[u8; 32], Held>>>,
    intents: Intents,
    clock: Arc<dyn Clock>,
    live: Liveness,
    /// Only this process opens the database (SQLite): every other replica row is a past run.
    only_replica: bool,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
struct Held {
    app: HeldApp,
    streams: usize,
}

/// A recording app's open stream; dropping it records the disconnect when it was the session's
/// last stream on this replica.
pub struct AppSlot {
    session: [u8; 32],
    held: Arc<Mutex<HashMap<[u8; 32], Held>>>,
    intents: Intents,
    clock: Arc<dyn Clock>,
    replica: Uuid,
}

impl std::fmt::Debug for AppSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSlot").finish_non_exhaustive()
    }
}

impl Drop for AppSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(h) = held.get_mut(&self.session) else {
            return;
        };
        h.streams = h.streams.saturating_sub(1);
        if h.streams > 0 {
            return;
        }
        let user = h.app.user;
        held.remove(&self.session);
        // Queued under the lock: a connect of the same session after this one is queued after
        // it, so the rows end in the right state.
        let queued =
            self.intents
                .app_disconnected(self.replica, self.session, user, self.clock.now());
        if let Err(e) = queued {
            tracing::warn!(error = %e, "presence: a disconnect was not queued");
        }
    }
}

impl Presence {
    /// Presence as replica `replica` sees it, its rows through `intents`, "now" from `clock`;
    /// replicas silent for longer than `ttl` count as dead. `only_replica`: no other process
    /// opens this database.
    #[must_use]
    pub fn new(
        intents: Intents,
        clock: Arc<dyn Clock>,
        replica: Uuid,
        ttl: TimeDelta,
        only_replica: bool,
    ) -> Self {
        Self {
            held: Arc::default(),
            intents,
            clock,
            live: Liveness { me: replica, ttl },
            only_replica,
        }
    }

    /// A recording app of `user` opened its stream with `session`, capture as given; held as
    /// long as the stream. Answers once the row is committed (so an admin's next read sees
    /// it); a failure to record it is logged and the stream goes on.
    pub async fn connect(&self, user: UserId, session: [u8; 32], capture: bool) -> AppSlot {
        let app = HeldApp {
            session_hash: session,
            user,
            capture,
            connected_at: self.clock.now(),
        };
        let queued = {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            let h = held.entry(session).or_insert(Held { app, streams: 0 });
            h.streams += 1;
            h.app.capture = capture;
            self.intents.app_connected(self.live.me, app)
        };
        // Built before waiting: a stream dropped meanwhile still gives its count back.
        let slot = AppSlot {
            session,
            held: Arc::clone(&self.held),
            intents: self.intents.clone(),
            clock: Arc::clone(&self.clock),
            replica: self.live.me,
        };
        match queued {
            Ok(rx) => {
                // The job logs its own failure.
                let _ = rx.await;
            }
            Err(e) => tracing::warn!(error = %e, "presence: a connect was not queued"),
        }
        slot
    }

    /// The app of `session` reports capture on or off, wherever its stream is. Whether a
    /// stream of it is open on some replica (else the next connect carries the state).
    pub async fn set_capture(
        &self,
        user: UserId,
        session: [u8; 32],
        capture: bool,
    ) -> StoreResult<bool> {
        if let Some(h) = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(&session)
        {
            h.app.capture = capture;
        }
        self.intents
            .app_capture(session, user, capture, self.clock.now())
            .await
    }

    /// What admins are shown for each member of `workspace`; members absent were never seen
    /// ([`crate::intents::never_seen`]).
    pub async fn of_workspace(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<HashMap<UserId, PresenceDto>> {
        self.intents
            .workspace_presence(workspace, self.live, self.clock.now())
            .await
    }

    /// This replica's heartbeat: says it is alive and removes dead replicas' rows (on a
    /// database only this process opens, every earlier run's at once). Answers how many
    /// replicas were removed.
    pub async fn beat(&self) -> StoreResult<usize> {
        let held: Vec<HeldApp> = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|h| h.app)
            .collect();
        self.intents
            .replica_beat(self.live, self.clock.now(), self.only_replica, held)
            .await
    }

    /// Whether other processes serve the same database: only then do heartbeats after the
    /// first matter (alone, this replica's own rows are the only ones and it is alive).
    #[must_use]
    pub fn shared(&self) -> bool {
        !self.only_replica
    }

    /// Time between heartbeats: a third of the time-to-live, so one late beat is not death.
    #[must_use]
    pub fn beat_every(&self) -> std::time::Duration {
        (self.live.ttl / 3)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use crate::{App, Config};
    use shotclock_api::dto::Presence as PresenceDto;
    use shotclock_api::{UserId, WorkspaceId};
    use std::time::{Duration, Instant};

    /// An embedded service with one workspace and its owner.
    async fn service() -> (tempfile::TempDir, App, WorkspaceId, UserId) {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(Config::new(dir.path())).await.unwrap();
        let (ws, user) = crate::test_owner(&app).await;
        (dir, app, ws, user.id)
    }

    async fn seen(app: &App, ws: WorkspaceId, user: UserId) -> Option<PresenceDto> {
        app.presence()
            .of_workspace(ws)
            .await
            .unwrap()
            .get(&user)
            .cloned()
    }

    #[tokio::test]
    async fn an_app_is_connected_until_its_sessions_last_stream_here_closes() {
        let (_dir, app, ws, user) = service().await;
        let presence = app.presence();
        let session = [3u8; 32];
        assert_eq!(seen(&app, ws, user).await, None, "never seen yet");

        let first = presence.connect(user, session, true).await;
        let second = presence.connect(user, session, false).await;
        let now = seen(&app, ws, user).await.unwrap();
        assert!(now.connected && !now.capture, "{now:?}");

        // One of the session's two streams closes: still connected. (The capture report is
        // queued after anything the close queued, so the read sees both.)
        drop(first);
        assert!(presence.set_capture(user, session, true).await.unwrap());
        let now = seen(&app, ws, user).await.unwrap();
        assert!(now.connected && now.capture, "{now:?}");

        // The last one closes: seen, no longer connected, no capture.
        drop(second);
        let deadline = Instant::now() + Duration::from_secs(30);
        let gone = loop {
            let now = seen(&app, ws, user).await.unwrap();
            if !now.connected {
                break now;
            }
            assert!(Instant::now() < deadline, "still connected: {now:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(!gone.capture && gone.last_seen.is_some(), "{gone:?}");
        assert!(
            !presence.set_capture(user, session, true).await.unwrap(),
            "a report with no stream open anywhere says so"
        );
    }

    #[tokio::test]
    async fn debug_output_names_no_session() {
        let (_dir, app, _, user) = service().await;
        let slot = app.presence().connect(user, [0xcd; 32], true).await;
        assert_eq!(format!("{slot:?}"), "AppSlot { .. }");
        let presence = format!("{:?}", app.presence());
        assert!(
            presence.starts_with("Presence { live: Liveness {") && presence.ends_with(".. }"),
            "{presence}"
        );
        assert!(
            !presence.contains("cdcd") && !presence.contains("205"),
            "{presence}"
        );
    }

    #[tokio::test]
    async fn an_embedded_service_beats_alone_a_third_of_the_time_to_live_apart() {
        let (_dir, app, _, _) = service().await;
        let presence = app.presence();
        assert!(!presence.shared(), "only this process opens the file");
        assert_eq!(
            app.config().presence_ttl,
            chrono::TimeDelta::seconds(90),
            "the default this test assumes"
        );
        assert_eq!(presence.beat_every(), Duration::from_secs(30));
        presence.beat().await.unwrap();
    }
}
