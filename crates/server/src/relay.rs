//! Live events across replicas: what [`crate::App::publish`] and [`crate::App::end`] send to
//! the other replicas as [`Notice`]s, and the task that turns the notices other replicas sent
//! back into events for this replica's streams.
//!
//! A notice carries ids only. The receiving replica skips a notice whose user has no stream
//! open here (no read at all), else rebuilds the event from its own reads: a relayed
//! `timer_started` shows the entry as it is when it is read, which may already be stopped —
//! events are hints to refresh, the listing is the truth. A notice about rows that are gone
//! (the entry deleted meanwhile) is dropped. After the listener reconnected, every stream is
//! told it lagged ([`crate::events::Hub::lag_all`]).

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
