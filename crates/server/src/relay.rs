//! Live events across replicas: what [`crate::App::publish`] and [`crate::App::end`] send to
//! the other replicas as [`Notice`]s, and the task that turns the notices other replicas sent
//! back into events for this replica's streams.
//!
//! A notice carries ids only. The receiving replica skips a notice whose user has no stream
//! open here (no read at all), else rebuilds the event from its own reads: a relayed
//! `timer_started` shows the entry as it is when it is read, which may already be stopped —
//! events are hints to refresh, the listing is the truth. A notice about rows that are gone
//! (the entry deleted meanwhile) is dropped. After the listener reconnected, and when some
//! replica lost notices it could not send, every stream is told it lagged
//! ([`crate::events::Hub::lag_all`]).

use shotclock_api::dto::Event;
use tokio::sync::{mpsc, oneshot};

use crate::App;
use crate::api::{entry_dto, notification_dto, settings_dto};
use crate::events::{Ended, Envelope, Notice};
use crate::store::Heard;

/// Serialises `notice` from this replica.
pub(crate) fn envelope(app: &App, notice: Notice) -> Option<String> {
    serde_json::to_string(&Envelope {
        o: app.origin(),
        notice,
    })
    .ok()
}

/// Delivers what the listener hears until it stops; `ready` fires once it first listens.
pub(crate) async fn run(
    app: App,
    mut heard: mpsc::UnboundedReceiver<Heard>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    while let Some(item) = heard.recv().await {
        match item {
            Heard::Listening => match ready.take() {
                Some(ready) => {
                    let _ = ready.send(());
                }
                None => {
                    tracing::info!("live-event listener reconnected; streams told they lagged");
                    app.hub().lag_all();
                }
            },
            Heard::Missed => {
                tracing::info!("a replica lost live events; streams told they lagged");
                app.hub().lag_all();
            }
            Heard::Notice(payload) => match serde_json::from_str::<Envelope>(&payload) {
                Ok(envelope) if envelope.o == app.origin() => {}
                Ok(envelope) => deliver(&app, envelope.notice).await,
                Err(e) => {
                    tracing::debug!(error = %e, "skipping a notice this replica does not know")
                }
            },
        }
    }
}

/// Publishes `notice` (from another replica) to this replica's streams.
async fn deliver(app: &App, notice: Notice) {
    let hub = app.hub();
    match notice {
        Notice::SessionEnded { h } => {
            let mut hash = [0u8; 32];
            if hex::decode_to_slice(&h, &mut hash).is_ok() {
                hub.end(Ended::Session(hash));
            }
            return;
        }
        Notice::UserEnded { u } => {
            hub.end(Ended::User(u));
            return;
        }
        _ => {}
    }
    let Some(user) = notice.user() else { return };
    if !hub.listening(user) {
        return;
    }
    let event = match notice {
        Notice::ScreenshotDeleted { s, e, .. } => Event::ScreenshotDeleted {
            screenshot_id: s,
            entry_id: e,
        },
        Notice::EntryDeleted { e, .. } => Event::EntryDeleted { entry_id: e },
        Notice::TimerStarted { e, .. }
        | Notice::TimerStopped { e, .. }
        | Notice::EntryChanged { e, .. } => {
            let started = matches!(notice, Notice::TimerStarted { .. });
            let changed = matches!(notice, Notice::EntryChanged { .. });
            let Some(rows) = rows(app, user, Some(e), None).await else {
                return;
            };
            let Some(entry) = rows.entry else { return };
            let entry = entry_dto(&entry, rows.workspace.lock_date, app.now());
            if changed {
                Event::EntryChanged { entry }
            } else if started {
                Event::TimerStarted { entry }
            } else {
                Event::TimerStopped { entry }
            }
        }
        Notice::SettingsChanged { .. } => {
            let Some(rows) = rows(app, user, None, None).await else {
                return;
            };
            Event::SettingsChanged {
                settings: settings_dto(app, &rows.workspace),
            }
        }
        Notice::Notification { n, .. } => {
            let Some(rows) = rows(app, user, None, Some(n)).await else {
                return;
            };
            let Some(note) = rows.notification else {
                return;
            };
            Event::Notification {
                notification: notification_dto(&note),
            }
        }
        // Ids only: nothing to read.
        Notice::ScreenshotAdded { s, e, .. } => Event::ScreenshotAdded {
            screenshot_id: s,
            entry_id: e,
        },
        Notice::AccessLogged { s, a, .. } => Event::AccessLogged {
            screenshot_id: s,
            kind: a,
        },
        Notice::SessionEnded { .. } | Notice::UserEnded { .. } => return,
    };
    hub.publish(user, event);
}

async fn rows(
    app: &App,
    user: shotclock_api::UserId,
    entry: Option<shotclock_api::EntryId>,
    notification: Option<shotclock_api::NotificationId>,
) -> Option<crate::intents::EventRows> {
    match app.intents().event_rows(user, entry, notification).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "a live event from another replica could not be read");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::Config;
    use crate::events::Frame;
    use shotclock_api::privacy::AccessKind;
    use shotclock_api::{EntryId, ScreenshotId, UserId};
    use std::time::Duration;
    use tokio::sync::broadcast;

    /// Long enough for a loaded machine; a frame that never comes fails the test.
    const WAIT: Duration = Duration::from_secs(30);

    async fn next<T: Clone>(rx: &mut broadcast::Receiver<T>) -> T {
        tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("nothing arrived")
            .unwrap()
    }

    /// A replica on a fresh embedded database, its relay task fed through the returned
    /// sender (already listening once).
    async fn replica() -> (tempfile::TempDir, App, mpsc::UnboundedSender<Heard>) {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(Config::new(dir.path())).await.unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready, is_ready) = oneshot::channel();
        tokio::spawn(run(app.clone(), rx, ready));
        tx.send(Heard::Listening).unwrap();
        tokio::time::timeout(WAIT, is_ready)
            .await
            .expect("the relay never said it listens")
            .unwrap();
        (dir, app, tx)
    }

    fn from(origin: uuid::Uuid, notice: Notice) -> Heard {
        Heard::Notice(serde_json::to_string(&Envelope { o: origin, notice }).unwrap())
    }

    #[tokio::test]
    async fn other_replicas_notices_reach_this_replicas_streams_and_its_own_do_not() {
        let (_dir, app, tx) = replica().await;
        let alice = UserId::new();
        let mut stream = app.hub().subscribe(alice);
        let other = uuid::Uuid::now_v7();
        let (s, e) = (ScreenshotId::new(), EntryId::new());

        // Its own notice (it already published the event locally), one this replica cannot
        // read, and one about an entry that is gone: none reaches the stream.
        tx.send(from(
            app.origin(),
            Notice::ScreenshotAdded { u: alice, s, e },
        ))
        .unwrap();
        tx.send(Heard::Notice("{\"k\":\"from_a_newer_replica\"}".into()))
            .unwrap();
        tx.send(from(other, Notice::TimerStarted { u: alice, e }))
            .unwrap();
        // Ids-only notices from another replica do, in order.
        tx.send(from(other, Notice::ScreenshotAdded { u: alice, s, e }))
            .unwrap();
        tx.send(from(
            other,
            Notice::AccessLogged {
                u: alice,
                s,
                a: AccessKind::Viewed,
            },
        ))
        .unwrap();
        tx.send(from(other, Notice::ScreenshotDeleted { u: alice, s, e }))
            .unwrap();
        tx.send(from(other, Notice::EntryDeleted { u: alice, e }))
            .unwrap();
        assert_eq!(
            next(&mut stream).await,
            Frame::Event(Event::ScreenshotAdded {
                screenshot_id: s,
                entry_id: e
            })
        );
        assert_eq!(
            next(&mut stream).await,
            Frame::Event(Event::AccessLogged {
                screenshot_id: s,
                kind: AccessKind::Viewed
            })
        );
        assert_eq!(
            next(&mut stream).await,
            Frame::Event(Event::ScreenshotDeleted {
                screenshot_id: s,
                entry_id: e
            })
        );
        assert_eq!(
            next(&mut stream).await,
            Frame::Event(Event::EntryDeleted { entry_id: e })
        );

        // The listener reconnected: every stream may have missed notices.
        tx.send(Heard::Listening).unwrap();
        assert_eq!(next(&mut stream).await, Frame::Gap);
        // So it may when a replica lost some it could not send.
        tx.send(Heard::Missed).unwrap();
        assert_eq!(next(&mut stream).await, Frame::Gap);
    }

    #[tokio::test]
    async fn an_entrys_notice_is_rebuilt_from_this_replicas_read() {
        let (_dir, app, tx) = replica().await;
        let now = app.now();
        let (_, user) = crate::test_owner(&app).await;
        let e = EntryId::new();
        app.intents()
            .start_timer(&user, e, "relayed".into(), now, now)
            .await
            .unwrap();
        let mut stream = app.hub().subscribe(user.id);
        let other = uuid::Uuid::now_v7();
        for notice in [
            Notice::TimerStarted { u: user.id, e },
            Notice::TimerStopped { u: user.id, e },
            Notice::EntryChanged { u: user.id, e },
        ] {
            tx.send(from(other, notice)).unwrap();
        }
        let read = |frame: Frame| match frame {
            Frame::Event(
                Event::TimerStarted { entry }
                | Event::TimerStopped { entry }
                | Event::EntryChanged { entry },
            ) => entry,
            other => panic!("not an entry's event: {other:?}"),
        };
        let started = next(&mut stream).await;
        assert!(matches!(started, Frame::Event(Event::TimerStarted { .. })));
        let entry = read(started);
        assert_eq!((entry.id, entry.description.as_str()), (e, "relayed"));
        let stopped = next(&mut stream).await;
        assert!(matches!(stopped, Frame::Event(Event::TimerStopped { .. })));
        assert_eq!(read(stopped).id, e);
        let changed = next(&mut stream).await;
        assert!(matches!(changed, Frame::Event(Event::EntryChanged { .. })));
        assert_eq!(read(changed).id, e);
    }

    #[tokio::test]
    async fn a_notice_leaves_with_this_replicas_origin() {
        let (_dir, app, _tx) = replica().await;
        let notice = Notice::UserEnded { u: UserId::new() };
        let sent = envelope(&app, notice.clone()).expect("a notice serialises");
        let read: Envelope = serde_json::from_str(&sent).unwrap();
        assert_eq!(
            read,
            Envelope {
                o: app.origin(),
                notice
            }
        );
    }

    #[tokio::test]
    async fn endings_from_other_replicas_close_this_replicas_streams() {
        let (_dir, app, tx) = replica().await;
        let mut endings = app.hub().endings();
        let other = uuid::Uuid::now_v7();
        let alice = UserId::new();
        // A hash that is not 64 hex digits ends nothing.
        tx.send(from(other, Notice::SessionEnded { h: "zz".into() }))
            .unwrap();
        tx.send(from(other, Notice::SessionEnded { h: "0f".repeat(32) }))
            .unwrap();
        tx.send(from(other, Notice::UserEnded { u: alice }))
            .unwrap();
        assert_eq!(next(&mut endings).await, Ended::Session([0x0f; 32]));
        assert_eq!(next(&mut endings).await, Ended::User(alice));
    }
}
