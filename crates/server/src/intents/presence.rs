//! Presence of the members' recording apps (R38): what the rows mean, and the writes that keep
//! them, shared by every replica on one database.
//!
//! The rows (`store::PresenceRows`): one per app session and replica holding its event
//! stream, with the capture state the app last reported; each replica's heartbeat; and each
//! member's recorded "last seen". They are written only when an app connects, disconnects or
//! reports capture, and by the replicas' heartbeats, never per idle app.
//!
//! The rules, decided here ([`decide`]):
//! * an app is **connected** when a row of its session exists on a replica that is **alive**:
//!   the replica answering (it is, since it answers), or one whose last heartbeat is at most the
//!   liveness time-to-live old. A replica killed without a word stops counting after that
//!   bound;
//! * **capture** is on when any live row of the member says so;
//! * **last seen** is now while connected, else the latest of the recorded time (connects,
//!   disconnects, capture reports) and the last heartbeat of a dead replica that still holds a
//!   row of the member (the app was there at least until then). It survives restarts.
//!
//! A heartbeat ([`Intents::replica_beat`]) also folds the rows of dead replicas into "last
//! seen" and removes them, so they do not pile up.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_api::dto::Presence;
use shotclock_api::{UserId, WorkspaceId};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::Intents;
use crate::store::{AppPresenceRow, JobEnd, ReplicaRow, StoreError, StoreResult, TxRows};

/// Which replicas count as alive, seen from one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    /// The replica asking (alive: it asks).
    pub me: Uuid,
    /// How old a heartbeat may be for its replica to count as alive.
    pub ttl: TimeDelta,
}

impl Liveness {
    fn alive(
        &self,
        replica: Uuid,
        beats: &HashMap<Uuid, DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> bool {
        replica == self.me || beats.get(&replica).is_some_and(|&at| now - at <= self.ttl)
    }
}

/// A session's app held by this replica, as the heartbeat restores it after a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldApp {
    /// The session (the token's SHA-256).
    pub session_hash: [u8; 32],
    /// Whose app.
    pub user: UserId,
    /// Capture as last heard on this replica.
    pub capture: bool,
    /// When this replica took its stream.
    pub connected_at: DateTime<Utc>,
}

/// What admins are shown for each member who has presence rows or a last seen; members absent
/// from the answer were never seen ([`never_seen`]).
#[must_use]
pub fn decide(
    rows: &[AppPresenceRow],
    last_seen: &HashMap<UserId, DateTime<Utc>>,
    replicas: &[ReplicaRow],
    live: Liveness,
    now: DateTime<Utc>,
) -> HashMap<UserId, Presence> {
    let beats: HashMap<Uuid, DateTime<Utc>> =
        replicas.iter().map(|r| (r.id, r.heartbeat_at)).collect();
    let mut out: HashMap<UserId, Presence> = last_seen
        .iter()
        .map(|(&user, &at)| {
            (
                user,
                Presence {
                    connected: false,
                    last_seen: Some(at),
                    capture: false,
                },
            )
        })
        .collect();
    for row in rows {
        let p = out.entry(row.user_id).or_insert_with(never_seen);
        if live.alive(row.replica, &beats, now) {
            p.connected = true;
            p.capture |= row.capture;
        } else {
            // The app was there at least until its replica's last heartbeat.
            let until = beats.get(&row.replica).copied().unwrap_or(row.connected_at);
            p.last_seen = p.last_seen.max(Some(until));
        }
    }
    for p in out.values_mut() {
        if p.connected {
            p.last_seen = Some(now);
        }
    }
    out
}

/// A member whose recording app was never seen.
#[must_use]
pub fn never_seen() -> Presence {
    Presence {
        connected: false,
        last_seen: None,
        capture: false,
    }
}

impl Intents {
    /// Queues `f` in a write transaction now (so writes queued one after the other commit in
    /// that order); the receiver answers after the commit. A failure is logged as `what`.
    fn queue_presence<R: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&mut dyn TxRows) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<oneshot::Receiver<StoreResult<R>>> {
        let (tx, rx) = oneshot::channel();
        self.backend.write(Box::new(move |rows| {
            let result = rows.and_then(f);
            JobEnd {
                keep: result.is_ok(),
                done: Box::new(move |commit| {
                    let answer = commit.and(result);
                    if let Err(e) = &answer {
                        tracing::warn!(error = %e, "presence: {what} not recorded");
                    }
                    let _ = tx.send(answer);
                }),
            }
        }))?;
        Ok(rx)
    }

    /// A recording app of `user` opened its stream on `replica` with capture as given: queued
    /// now, committed when the receiver answers.
    pub fn app_connected(
        &self,
        replica: Uuid,
        app: HeldApp,
    ) -> StoreResult<oneshot::Receiver<StoreResult<()>>> {
        self.queue_presence("a connect", move |rows| {
            rows.beat_replica(replica, app.connected_at)?;
            rows.put_app_presence(&AppPresenceRow {
                replica,
                session_hash: app.session_hash,
                user_id: app.user,
                capture: app.capture,
                connected_at: app.connected_at,
            })?;
            rows.record_app_seen(app.user, app.connected_at)
        })
    }

    /// The last stream of `session` on `replica` closed at `now`: queued now, not waited for
    /// (called while a stream is dropped).
    pub fn app_disconnected(
        &self,
        replica: Uuid,
        session: [u8; 32],
        user: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.queue_presence("a disconnect", move |rows| {
            rows.delete_app_presence(replica, &session)?;
            // A removed member's stream closes after their account went.
            if rows.user(user)?.is_some() {
                rows.record_app_seen(user, now)?;
            }
            Ok(())
        })
        .map(drop)
    }

    /// The app of `session` reports capture on or off: applies to its rows on every replica.
    /// Whether it has any (else the next connect carries the state).
    pub async fn app_capture(
        &self,
        session: [u8; 32],
        user: UserId,
        capture: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let rx = self.queue_presence("a capture report", move |rows| {
            let held = rows.set_app_capture(&session, capture)? > 0;
            rows.record_app_seen(user, now)?;
            Ok(held)
        })?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// `live.me`'s heartbeat at `now`. Replicas whose heartbeat is older than `live.ttl` (all
    /// others when `only_replica`: a backend only one process opens) are dead: their rows
    /// become "last seen" at their last heartbeat, and they are removed. When this replica had
    /// been taken for dead and swept, the apps it holds (`held`) are written back. Answers how
    /// many replicas were removed.
    pub async fn replica_beat(
        &self,
        live: Liveness,
        now: DateTime<Utc>,
        only_replica: bool,
        held: Vec<HeldApp>,
    ) -> StoreResult<usize> {
        let rx = self.queue_presence("a heartbeat", move |rows| {
            let replicas = rows.replicas()?;
            let mut removed = 0;
            for r in &replicas {
                let dead = only_replica || now - r.heartbeat_at > live.ttl;
                if r.id == live.me || !dead {
                    continue;
                }
                for row in rows.app_presence_of_replica(r.id)? {
                    rows.record_app_seen(row.user_id, r.heartbeat_at)?;
                }
                rows.delete_replica(r.id)?;
                removed += 1;
            }
            let known = replicas.iter().any(|r| r.id == live.me);
            rows.beat_replica(live.me, now)?;
            if !known {
                for app in held {
                    rows.put_app_presence(&AppPresenceRow {
                        replica: live.me,
                        session_hash: app.session_hash,
                        user_id: app.user,
                        capture: app.capture,
                        connected_at: app.connected_at,
                    })?;
                }
            }
            Ok(removed)
        })?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// What admins are shown for each member of `workspace` seen by `live.me` at `now`
    /// (members never seen are absent: [`never_seen`]).
    pub async fn workspace_presence(
        &self,
        workspace: WorkspaceId,
        live: Liveness,
        now: DateTime<Utc>,
    ) -> StoreResult<HashMap<UserId, Presence>> {
        self.read(move |rows| {
            let connections = rows.app_presence(workspace)?;
            let last_seen = rows.apps_last_seen(workspace)?;
            let replicas = rows.replicas()?;
            Ok(decide(&connections, &last_seen, &replicas, live, now))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap_or_default()
    }

    fn row(replica: Uuid, user: UserId, capture: bool, at: DateTime<Utc>) -> AppPresenceRow {
        AppPresenceRow {
            replica,
            session_hash: [7; 32],
            user_id: user,
            capture,
            connected_at: at,
        }
    }

    #[test]
    fn connected_while_a_live_replica_holds_a_row() {
        let (me, other, dead) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let live = Liveness {
            me,
            ttl: TimeDelta::seconds(90),
        };
        let now = t(1000);
        let replicas = [
            // Mine is stale in the table, but I answer, so I am alive.
            ReplicaRow {
                id: me,
                heartbeat_at: t(0),
            },
            ReplicaRow {
                id: other,
                heartbeat_at: t(1000 - 90),
            },
            ReplicaRow {
                id: dead,
                heartbeat_at: t(1000 - 91),
            },
        ];
        let (a, b, c, d, e) = (
            UserId::new(),
            UserId::new(),
            UserId::new(),
            UserId::new(),
            UserId::new(),
        );
        let rows = [
            row(me, a, false, t(10)),
            row(other, b, false, t(20)),
            row(other, b, true, t(30)),
            row(dead, c, true, t(40)),
            // A row of a replica that never beat (removed meanwhile): dead too.
            row(Uuid::now_v7(), e, true, t(50)),
        ];
        let seen = HashMap::from([(c, t(100)), (d, t(200)), (a, t(5))]);
        let p = decide(&rows, &seen, &replicas, live, now);
        assert_eq!(
            p[&a],
            Presence {
                connected: true,
                last_seen: Some(now),
                capture: false
            }
        );
        assert_eq!(
            p[&b],
            Presence {
                connected: true,
                last_seen: Some(now),
                capture: true
            },
            "any live row with capture on"
        );
        assert_eq!(
            p[&c],
            Presence {
                connected: false,
                last_seen: Some(t(1000 - 91)),
                capture: false
            },
            "a dead replica's row: not connected, seen until its last heartbeat"
        );
        assert_eq!(
            p[&d],
            Presence {
                connected: false,
                last_seen: Some(t(200)),
                capture: false
            }
        );
        assert_eq!(
            p[&e],
            Presence {
                connected: false,
                last_seen: Some(t(50)),
                capture: false
            }
        );
        assert_eq!(p.len(), 5);
        assert!(!p.contains_key(&UserId::new()));
    }

    #[test]
    fn a_later_recorded_time_wins_over_a_dead_replicas_heartbeat() {
        let (me, dead) = (Uuid::now_v7(), Uuid::now_v7());
        let live = Liveness {
            me,
            ttl: TimeDelta::seconds(3),
        };
        let user = UserId::new();
        let replicas = [ReplicaRow {
            id: dead,
            heartbeat_at: t(10),
        }];
        let p = decide(
            &[row(dead, user, true, t(1))],
            &HashMap::from([(user, t(20))]),
            &replicas,
            live,
            t(100),
        );
        assert_eq!(p[&user].last_seen, Some(t(20)));
        assert!(!p[&user].connected && !p[&user].capture);
    }
}
