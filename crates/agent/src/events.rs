//! Mirrors the service's live events (R6, R8, R24): the running timer — wherever it was started
//! — the workspace settings, notifications, and deletes made elsewhere. After every (re)connect
//! it re-reads what it may have missed.

use crate::state::{AgentEvent, Shared};
use shotclock_api::dto::{Entry, Event, WorkspaceSettings};
use shotclock_store::{CachedSettings, ScreenshotState, TimeEntry};
use shotclock_sync::StreamItem;
use std::sync::Arc;

pub(crate) async fn run(shared: Arc<Shared>) {
    let mut stream = shared.service.client.events();
    let mut shutdown_rx = shared.shutdown.subscribe();
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = shutdown_rx.changed() => return,
        };
        match item {
            None => return,
            Some(StreamItem::Connected) => {
                shared.reconnected.notify_one();
                refresh(&shared).await;
            }
            Some(StreamItem::Lagged { .. }) => refresh(&shared).await,
            Some(StreamItem::Event(event)) => apply(&shared, event).await,
            Some(StreamItem::Disconnected { error, retry_in }) => {
                tracing::info!("event stream lost ({error}); reconnecting in {retry_in:?}");
            }
            Some(StreamItem::Unauthorized) => {
                tracing::warn!("the service refused the session; capture stops");
                shared.emit(AgentEvent::SignedOut);
                // Signed out means no capture (R8). Without this the scheduler kept taking
                // screenshots on the cached timer and settings after the session was revoked,
                // queueing uploads that can never be sent. Stop every task, as `sign_out` does;
                // the account and the queue stay for the next sign-in of the same account.
                shared.shutdown.send_replace(true);
                return;
            }
            Some(StreamItem::IncompatibleVersion { service }) => {
                tracing::error!("the service speaks API version {service:?}; update the app");
                return;
            }
            Some(_) => {}
        }
    }
}

/// Re-reads the running timer and the settings (after a connect, or when events were lost).
pub(crate) async fn refresh(shared: &Shared) {
    sync_clock(shared).await;
    match shared.service.client.workspace().await {
        Ok(settings) => adopt_settings(shared, &settings).await,
        Err(err) => tracing::info!("could not read the workspace settings: {err}"),
    }
    match shared.service.client.timer().await {
        Ok(state) => mirror_running(shared, state.running.as_ref()).await,
        Err(err) => tracing::info!("could not read the timer: {err}"),
    }
    reconcile_deletes(shared).await;
    if let Ok(list) = shared.service.client.notifications().await {
        for notification in list.notifications.into_iter().filter(|n| !n.read) {
            shared.emit(AgentEvent::Notification { notification });
        }
    }
}

/// Drops local copies of uploaded screenshots the service no longer has: deleted (or purged)
/// while this device was not listening (R24). Lists the service's days that hold local
/// screenshots; on any error it deletes nothing.
async fn reconcile_deletes(shared: &Shared) {
    let now = shared.time.now();
    let from = shotclock_domain::retention::cutoff(now);
    let to = now + chrono::TimeDelta::days(1);
    let Ok(local) = shared
        .store
        .call(move |s| s.screenshots_between(from, to))
        .await
    else {
        return;
    };
    let uploaded: Vec<_> = local
        .into_iter()
        .filter(|s| s.state == ScreenshotState::Uploaded)
        .collect();
    let mut days: Vec<chrono::NaiveDate> = uploaded
        .iter()
        .map(|s| s.captured_at.date_naive())
        .collect();
    days.sort_unstable();
    days.dedup();
    let mut on_service = std::collections::HashSet::new();
    for day in days {
        match shared
            .service
            .client
            .screenshots_of_day(None, day, "UTC")
            .await
        {
            Ok(list) => on_service.extend(list.screenshots.into_iter().map(|s| s.id)),
            Err(err) => {
                tracing::info!("could not compare screenshots with the service: {err}");
                return;
            }
        }
    }
    let gone: Vec<_> = uploaded
        .into_iter()
        .map(|s| s.id)
        .filter(|id| !on_service.contains(id))
        .collect();
    if gone.is_empty() {
        return;
    }
    let n = gone.len();
    let dropped = shared
        .store
        .call(move |s| {
            for id in gone {
                s.delete_screenshot(id)?;
            }
            Ok(())
        })
        .await;
    match dropped {
        Ok(()) => {
            tracing::info!("dropped {n} screenshots deleted on the service");
            shared.emit(AgentEvent::Deleted);
        }
        Err(err) => tracing::error!("could not drop deleted screenshots: {err}"),
    }
}

/// Estimates the offset to the service's clock from one `/healthz` round trip.
pub(crate) async fn sync_clock(shared: &Shared) {
    let sent = shared.time.local_now();
    match shared.service.client.health().await {
        Ok(health) => {
            if let Some(server) = health.server_time {
                shared.time.observe(sent, server, shared.time.local_now());
                tracing::debug!(
                    "service clock offset {} ms",
                    shared.time.offset().num_milliseconds()
                );
            }
        }
        Err(err) => tracing::info!("could not read the service clock: {err}"),
    }
}

async fn apply(shared: &Shared, event: Event) {
    match event {
        Event::TimerStarted { entry } => mirror_running(shared, Some(&entry)).await,
        Event::TimerStopped { entry } => {
            save_entry(shared, &entry).await;
            let running_is_it = shared
                .timer
                .borrow()
                .as_ref()
                .is_some_and(|e| e.id == entry.id);
            if running_is_it {
                shared.set_timer(None);
            }
        }
        Event::SettingsChanged { settings } => adopt_settings(shared, &settings).await,
        Event::Notification { notification } => {
            shared.emit(AgentEvent::Notification { notification });
        }
        Event::ScreenshotDeleted { screenshot_id, .. } => {
            let _ = shared
                .store
                .call(move |s| s.delete_screenshot(screenshot_id))
                .await;
            shared.emit(AgentEvent::Deleted);
        }
        Event::EntryDeleted { entry_id } => {
            let _ = shared.store.call(move |s| s.delete_entry(entry_id)).await;
            let running_is_it = shared
                .timer
                .borrow()
                .as_ref()
                .is_some_and(|e| e.id == entry_id);
            if running_is_it {
                shared.set_timer(None);
            }
            shared.emit(AgentEvent::Deleted);
        }
        #[allow(unreachable_patterns)]
        _ => {}
    }
}

/// Adopts the service's view of the running timer — unless this device has a timer change
/// still queued for the service, in which case the local view is newer.
async fn mirror_running(shared: &Shared, running: Option<&Entry>) {
    let local_pending = shared
        .store
        .call(|s| s.pending_timer_changes())
        .await
        .unwrap_or(0);
    if local_pending > 0 {
        return;
    }
    match running {
        Some(entry) => {
            save_entry(shared, entry).await;
            shared.set_timer(Some(to_local(entry)));
        }
        None => shared.set_timer(None),
    }
}

async fn save_entry(shared: &Shared, entry: &Entry) {
    let local = to_local(entry);
    if let Err(err) = shared.store.call(move |s| s.upsert_entry(&local)).await {
        tracing::error!("could not cache an entry: {err}");
    }
}

fn to_local(entry: &Entry) -> TimeEntry {
    TimeEntry {
        id: entry.id,
        description: entry.description.clone(),
        start: entry.start,
        end: entry.end,
        deducted: chrono::TimeDelta::seconds(entry.deducted_secs),
        synced: true,
    }
}

/// Takes the service's workspace settings as the capture gate's inputs.
pub(crate) async fn adopt_settings(shared: &Shared, s: &WorkspaceSettings) {
    let cached = CachedSettings {
        screenshots_enabled: s.screenshots_enabled,
        blur: s.blur_enabled,
        plan: s.plan,
        trial_started_at: s.trial_started_at,
        capture_window_secs: s.capture_window_secs,
        lock_date: s.lock_date,
    };
    let to_store = cached.clone();
    if let Err(err) = shared
        .store
        .call(move |st| st.set_settings(&to_store))
        .await
    {
        tracing::error!("could not cache the settings: {err}");
    }
    shared.settings.send_if_modified(|current| {
        let changed = *current != cached;
        *current = cached;
        changed
    });
    shared.emit(AgentEvent::SettingsChanged {
        settings: s.clone(),
    });
}
