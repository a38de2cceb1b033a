//! Mirrors the service's live events (R6, R8, R24): the running timer — wherever it was started
//! — the workspace settings, notifications, and deletes made elsewhere. After every (re)connect
//! it re-reads what it may have missed.
//!
//! # The service's timer state wins
//!
//! Whatever the engine learns of the service's timer — the running entry read after a connect
//! or a refresh, a live `timer_started` or `timer_stopped`, and, for each entry the buffer still
//! holds open, whether the service ended it or no longer has it — goes through one function,
//! [`adopt_timer`], which writes it into the buffer and the running-timer mirror:
//!
//! - an entry the service ended gets the service's end; one it no longer has (deleted there)
//!   goes, with its screenshots — each unless a change of that entry made here is still queued
//!   (the service has not seen it yet), and a deleted one also not while a refused change of it
//!   is kept aside for the user (R25);
//! - the mirror takes the service's running entry, as *confirmed*, unless a timer change made
//!   here is still queued: then the local view is the newer one, and the last acknowledgement
//!   of such a change makes the engine read the service's timer again;
//! - when the buffer cannot take it (another process holds its write lock for longer than the
//!   store waits), an entry the service ended or no longer has leaves the mirror all the same,
//!   so capture stops at once, and the timer is read and written again a few seconds later;
//! - when the timer cannot be read while the event stream is connected (a connection dropped
//!   on the way, a service answering 503), it is read again a few seconds later, and then at
//!   growing intervals until it is read; a timer started elsewhere while this device was
//!   offline is otherwise learnt only at the next reconnect. Offline, the reconnect reads it.
//!
//! A delete made elsewhere (a screenshot, an entry) that the buffer cannot take for the same
//! reason is made again in the same way until it takes: final here too (R24).
//!
//! The scheduler captures only for a confirmed timer (see `state::Running`): a timer stopped or
//! deleted elsewhere while the app was closed is not captured after a restart, whether the
//! service answers at once or the app starts offline. One confirmed before the event stream
//! dropped still is, until the service says otherwise (known gap: a stop made elsewhere during
//! that outage is learnt only at the reconnect).

use crate::state::{AgentEvent, CaptureStatus, Running, Shared};
use chrono::{DateTime, Utc};
use shotclock_api::dto::{Entry, Event, WorkspaceSettings};
use shotclock_api::{EntryId, ScreenshotId};
use shotclock_store::{CachedSettings, ScreenshotState, TimeEntry};
use shotclock_sync::{EventsOptions, StreamItem, SyncError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How long after the buffer could not take the service's timer (see [`adopt_timer`]), or the
/// timer could not be read, it is read (and written) again; the store itself has already waited
/// its busy timeout by then. Each retry that fails again doubles the wait, up to
/// [`RETRY_CAP`].
const FIRST_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// The longest wait between two reads of a timer that keeps failing.
const RETRY_CAP: std::time::Duration = std::time::Duration::from_secs(300);

/// How far what the service says of the timer got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "an unsaved or unread timer is retried by the caller"]
pub(crate) enum Adopted {
    /// Nothing to do again: the buffer and the mirror hold it, or the service refused the read
    /// for good (a revoked session, a newer API: the event stream meets that too).
    Saved,
    /// Read, but the buffer could not take all of it.
    Unsaved,
    /// The service could not be asked (a transient failure: unreachable, or it answered 5xx).
    Unread,
}

impl Adopted {
    fn saved(saved: bool) -> Self {
        if saved { Self::Saved } else { Self::Unsaved }
    }
}

/// A delete made elsewhere that the buffer could not take yet (another process held its write
/// lock): made again until it takes, so that it is final here too (R15, R24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forget {
    Screenshot(ScreenshotId),
    Entry(EntryId),
}

/// What became of a live event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    /// Taken, or nothing to keep.
    Done,
    /// What it said of the timer, and how far that got.
    Timer(Adopted),
    /// A delete the buffer could not take.
    Unforgotten(Forget),
}

/// What is done again, and when: the service's timer read again after an adoption the buffer
/// could not take, or after a read that failed while the event stream is connected (offline,
/// the reconnect reads it); deletes made elsewhere that the buffer could not take.
#[derive(Debug, Default)]
struct Retry {
    at: Option<tokio::time::Instant>,
    /// The wait of the next retry; `None`: [`FIRST_RETRY`].
    next: Option<std::time::Duration>,
    /// The timer is read again when the retry fires.
    timer: bool,
    /// Deletes made again when the retry fires.
    forget: Vec<Forget>,
}

impl Retry {
    /// Takes what became of a read (and adoption) of the timer: has it read again if it failed.
    /// A saved one starts the waits over.
    fn after(&mut self, adopted: Adopted, connected: bool) {
        let again = match adopted {
            Adopted::Saved => {
                self.next = None;
                false
            }
            Adopted::Unsaved => true,
            Adopted::Unread => connected,
        };
        if again {
            self.timer = true;
            self.arm();
        }
    }

    /// Has `what` made again.
    fn forget(&mut self, what: Forget) {
        if !self.forget.contains(&what) {
            self.forget.push(what);
        }
        self.arm();
    }

    /// Arms the retry unless it is armed: each retry armed after another waits twice as long as
    /// the one before (up to [`RETRY_CAP`]).
    fn arm(&mut self) {
        if self.at.is_some() {
            return;
        }
        let wait = self.next.unwrap_or(FIRST_RETRY);
        self.at = Some(tokio::time::Instant::now() + wait);
        self.next = Some((wait * 2).min(RETRY_CAP));
    }

    /// The retry fires: what is due (the timer to read, deletes to make).
    fn due(&mut self) -> (bool, Vec<Forget>) {
        self.at = None;
        (
            std::mem::take(&mut self.timer),
            std::mem::take(&mut self.forget),
        )
    }

    /// Once what was due is done: if nothing was armed again, the waits start over.
    fn settled(&mut self) {
        if self.at.is_none() {
            self.next = None;
        }
    }
}

pub(crate) async fn run(shared: Arc<Shared>) {
    // Presence (R38): each connect says whether capture is on; a change while connected is one
    // small report. Nothing else is sent, so an idle app costs nothing.
    let sent = Arc::new(AtomicBool::new(false));
    let capture_at_connect = shared.capture.subscribe();
    let sent_at_connect = Arc::clone(&sent);
    let mut stream = shared
        .service
        .client
        .app_events(EventsOptions::default(), move || {
            let on = capturing(&capture_at_connect.borrow());
            sent_at_connect.store(on, Ordering::SeqCst);
            on
        });
    let mut capture_rx = shared.capture.subscribe();
    let mut connected = false;
    let mut reported = false;
    // What the buffer could not take (the service's timer, deletes made elsewhere) and reads of
    // the timer that failed, done again when it fires.
    let mut retry = Retry::default();
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = shared.timer_settled.notified() => {
                retry.after(learn_timer(&shared).await, connected);
                continue;
            }
            () = tokio::time::sleep_until(retry.at.unwrap_or_else(tokio::time::Instant::now)),
                if retry.at.is_some() =>
            {
                let (timer, forget) = retry.due();
                for what in forget {
                    if !forget_here(&shared, what).await {
                        retry.forget(what);
                    }
                }
                if timer {
                    retry.after(learn_timer(&shared).await, connected);
                }
                retry.settled();
                continue;
            }
            Ok(()) = capture_rx.changed() => {
                if connected {
                    report_capture(&shared, &capture_rx, &mut reported).await;
                }
                continue;
            }
            () = shared.stopping() => return,
        };
        match item {
            None => return,
            Some(StreamItem::Connected) => {
                connected = true;
                reported = sent.load(Ordering::SeqCst);
                report_capture(&shared, &capture_rx, &mut reported).await;
                shared.reconnected.notify_one();
                retry.after(refresh(&shared).await, connected);
            }
            Some(StreamItem::Lagged { .. }) => {
                retry.after(refresh(&shared).await, connected);
            }
            Some(StreamItem::Event(event)) => match apply(&shared, event).await {
                Applied::Done => {}
                Applied::Timer(adopted) => retry.after(adopted, connected),
                Applied::Unforgotten(what) => retry.forget(what),
            },
            Some(StreamItem::Disconnected { error, retry_in }) => {
                connected = false;
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

fn capturing(status: &CaptureStatus) -> bool {
    matches!(status, CaptureStatus::Active { .. })
}

/// Tells the service that capture turned on or off, if it differs from what it was last told.
/// A failure is left to the next connect, which carries the state again.
async fn report_capture(
    shared: &Shared,
    capture: &tokio::sync::watch::Receiver<CaptureStatus>,
    reported: &mut bool,
) {
    let on = capturing(&capture.borrow());
    if on == *reported {
        return;
    }
    match shared.service.client.report_capture(on).await {
        Ok(()) => *reported = on,
        Err(err) => tracing::info!("could not report capture {on} to the service: {err}"),
    }
}

/// Re-reads the running timer and the settings (after a connect, or when events were lost).
/// Answers what became of the timer (see [`learn_timer`]).
pub(crate) async fn refresh(shared: &Shared) -> Adopted {
    sync_clock(shared).await;
    match shared.service.client.workspace().await {
        Ok(settings) => adopt_settings(shared, &settings).await,
        Err(err) => tracing::info!("could not read the workspace settings: {err}"),
    }
    let adopted = learn_timer(shared).await;
    // The days the service still keeps (R18), compared with what this device holds.
    let now = shared.time.now();
    let kept = (
        shotclock_domain::retention::cutoff(now),
        now + chrono::TimeDelta::days(1),
    );
    reconcile_deletes(shared, kept).await;
    reconcile_entries(shared, kept).await;
    if let Ok(list) = shared.service.client.notifications().await {
        for notification in list.notifications.into_iter().filter(|n| !n.read) {
            shared.emit(AgentEvent::Notification { notification });
        }
    }
    adopted
}

/// Drops local copies of uploaded screenshots the service no longer has: deleted (or purged)
/// while this device was not listening (R24). Lists the service's days that hold local
/// screenshots; on any error it deletes nothing.
async fn reconcile_deletes(shared: &Shared, (from, to): (DateTime<Utc>, DateTime<Utc>)) {
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

/// Drops entries this device holds stopped that the service no longer has: deleted while this
/// device was not listening, or heard of while the buffer could not take it and the app quit
/// before it could (R15, R24). The buffer is read before the service's list, so an entry
/// adopted in between is not taken for a deleted one; one missing from the list is asked for
/// by id before it goes (one starting before the range listed, or moved out of it by an edit
/// elsewhere, is not in it).
/// Each goes as one the service no longer has ([`shotclock_store::Store::drop_entry_missing_on_service`]):
/// not while a change of it made here is queued or kept aside. On any error it deletes
/// nothing; the next connect compares again.
async fn reconcile_entries(shared: &Shared, (from, to): (DateTime<Utc>, DateTime<Utc>)) {
    let Ok(held) = shared
        .store
        .call(move |s| s.entries_between(from, to))
        .await
    else {
        return;
    };
    let stopped: Vec<EntryId> = held
        .into_iter()
        .filter(|e| e.end.is_some())
        .map(|e| e.id)
        .collect();
    if stopped.is_empty() {
        return;
    }
    let listed: std::collections::HashSet<EntryId> = match shared
        .service
        .client
        .entries(Some(from), Some(to), None)
        .await
    {
        Ok(list) => list.entries.into_iter().map(|e| e.id).collect(),
        Err(err) => {
            tracing::info!("could not compare entries with the service: {err}");
            return;
        }
    };
    let mut gone = Vec::new();
    for id in stopped.into_iter().filter(|id| !listed.contains(id)) {
        match shared.service.client.entry(id).await {
            Ok(None) => gone.push(id),
            Ok(Some(_)) => {}
            Err(err) => {
                tracing::info!("could not compare entries with the service: {err}");
                return;
            }
        }
    }
    if gone.is_empty() {
        return;
    }
    let dropped = shared
        .store
        .call(move |s| {
            let mut n = 0usize;
            for id in gone {
                n += usize::from(s.drop_entry_missing_on_service(id)?);
            }
            Ok(n)
        })
        .await;
    match dropped {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!("dropped {n} entries deleted on the service");
            shared.emit(AgentEvent::Deleted);
        }
        Err(err) => tracing::error!("could not drop entries deleted on the service: {err}"),
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

/// Takes one live event; answers what the buffer could not take, to be retried.
async fn apply(shared: &Shared, event: Event) -> Applied {
    // No catch-all: a new event of the service is a compile error here until it is handled.
    // (Event types a newer service sends that this build does not know are skipped by the
    // event stream reader, before they get here.)
    match event {
        Event::TimerStarted { entry } => {
            let mut said = ServiceTimer {
                running: Some(Some(entry)),
                ..ServiceTimer::default()
            };
            let resolved = resolve_open(shared, &mut said).await;
            Applied::Timer(Adopted::saved(adopt_timer(shared, said).await && resolved))
        }
        Event::TimerStopped { entry } => {
            let said = ServiceTimer {
                ended: vec![entry],
                ..ServiceTimer::default()
            };
            Applied::Timer(Adopted::saved(adopt_timer(shared, said).await))
        }
        Event::SettingsChanged { settings } => {
            adopt_settings(shared, &settings).await;
            Applied::Done
        }
        Event::Notification { notification } => {
            shared.emit(AgentEvent::Notification { notification });
            Applied::Done
        }
        Event::ScreenshotDeleted { screenshot_id, .. } => {
            let what = Forget::Screenshot(screenshot_id);
            forgotten(forget_here(shared, what).await, what)
        }
        Event::EntryChanged { entry } => {
            // An edit, a manual entry or an approval: the service's times win, as for the timer.
            let said = if entry.end.is_none() {
                ServiceTimer {
                    running: Some(Some(entry)),
                    ..ServiceTimer::default()
                }
            } else {
                ServiceTimer {
                    ended: vec![entry],
                    ..ServiceTimer::default()
                }
            };
            let adopted = adopt_timer(shared, said).await;
            shared.emit(AgentEvent::EntryChanged);
            Applied::Timer(Adopted::saved(adopted))
        }
        Event::EntryDeleted { entry_id } => {
            let what = Forget::Entry(entry_id);
            forgotten(forget_here(shared, what).await, what)
        }
        Event::ScreenshotAdded { .. } => {
            shared.emit(AgentEvent::ScreenshotAdded);
            Applied::Done
        }
        Event::AccessLogged { .. } => {
            shared.emit(AgentEvent::AccessLogged);
            Applied::Done
        }
    }
}

fn forgotten(done: bool, what: Forget) -> Applied {
    if done {
        Applied::Done
    } else {
        Applied::Unforgotten(what)
    }
}

/// Makes here a delete made elsewhere; false when the buffer could not take it. A deleted entry
/// leaves the running-timer mirror either way, so capture stops at once. The UI hears of each
/// attempt.
async fn forget_here(shared: &Shared, what: Forget) -> bool {
    let done = match what {
        Forget::Screenshot(id) => shared.store.call(move |s| s.delete_screenshot(id)).await,
        Forget::Entry(id) => shared.drop_deleted_entry(id).await,
    };
    shared.emit(AgentEvent::Deleted);
    match done {
        Ok(_) => true,
        Err(err) => {
            tracing::warn!(?what, error = %err, "could not make here a delete made elsewhere; trying again");
            false
        }
    }
}

/// What the service said about the timer, to be adopted by [`adopt_timer`].
#[derive(Debug, Default)]
pub(crate) struct ServiceTimer {
    /// `Some(running)`: the service said what runs (`running`, possibly nothing).
    /// `None`: it did not say (a live `timer_stopped` tells only about one entry).
    running: Option<Option<Entry>>,
    /// Entries the service reports ended.
    ended: Vec<Entry>,
    /// Entries the buffer holds open that the service does not have: deleted there.
    missing: Vec<EntryId>,
}

/// Reads the service's running timer and the state of every other entry the buffer holds open,
/// and adopts them. If the timer cannot be read, nothing changes (an unconfirmed timer stays
/// uncaptured; a confirmed one stays captured), and the answer says whether reading it again
/// may help: [`Adopted::Unread`] for a transient failure; a refusal (the session revoked, the
/// service too new) is left to the event stream, which meets it too.
///
/// Answers [`Adopted::Unsaved`] when the buffer could not take what the service said (see
/// [`adopt_timer`]).
pub(crate) async fn learn_timer(shared: &Shared) -> Adopted {
    let running = match shared.service.client.timer().await {
        Ok(state) => state.running,
        Err(err) => {
            tracing::info!("could not read the timer: {err}");
            return if err.is_retryable() {
                Adopted::Unread
            } else {
                Adopted::Saved
            };
        }
    };
    let mut said = ServiceTimer {
        running: Some(running),
        ..ServiceTimer::default()
    };
    let resolved = resolve_open(shared, &mut said).await;
    Adopted::saved(adopt_timer(shared, said).await && resolved)
}

/// Asks the service about each entry the buffer holds open (no end) other than the one `said`
/// reports running: ended there, or gone. An entry it cannot ask about is left out. Returns
/// false when the buffer could not be read.
async fn resolve_open(shared: &Shared, said: &mut ServiceTimer) -> bool {
    let running = said.running.as_ref().and_then(|r| r.as_ref().map(|e| e.id));
    let open = match shared.store.call(|s| s.open_entries()).await {
        Ok(open) => open,
        Err(err) => {
            tracing::error!("could not read the open entries: {err}");
            return false;
        }
    };
    for local in open.into_iter().filter(|e| Some(e.id) != running) {
        match service_entry(shared, &local).await {
            Ok(Some(entry)) if entry.end.is_some() => said.ended.push(entry),
            // Open at the service although it says something else runs: a race with a change
            // there; the next refresh tells.
            Ok(Some(_)) => {}
            Ok(None) => said.missing.push(local.id),
            Err(err) => {
                tracing::info!("could not ask the service about entry {}: {err}", local.id);
            }
        }
    }
    true
}

/// The service's copy of `local`, by its id (its start may have been corrected elsewhere, R39);
/// `None` only when the service has it neither by id nor, as a service without the by-id
/// answer lists it, by its start.
async fn service_entry(shared: &Shared, local: &TimeEntry) -> Result<Option<Entry>, SyncError> {
    if let Some(entry) = shared.service.client.entry(local.id).await? {
        return Ok(Some(entry));
    }
    // `GET /entries` lists by start; the entry's start is known to the millisecond.
    let around = chrono::TimeDelta::seconds(1);
    let list = shared
        .service
        .client
        .entries(Some(local.start - around), Some(local.start + around), None)
        .await?;
    Ok(list.entries.into_iter().find(|e| e.id == local.id))
}

/// Writes what the service said about the timer into the buffer and the running-timer mirror
/// (see the module docs). The one place the service's timer state is adopted.
///
/// Returns whether the buffer took all of it. When it could not (another process held its
/// write lock for longer than the store waits), an entry the service ended or no longer has
/// leaves the mirror all the same, so capture stops at once, and the caller asks again later
/// ([`FIRST_RETRY`]).
#[must_use = "an unsaved adoption is retried by the caller"]
pub(crate) async fn adopt_timer(shared: &Shared, said: ServiceTimer) -> bool {
    let _changing = shared.timer_lock.lock().await;
    let ServiceTimer {
        running,
        ended,
        missing,
    } = said;
    let over: Vec<EntryId> = ended
        .iter()
        .map(|e| e.id)
        .chain(missing.iter().copied())
        .collect();
    let mut written: Vec<TimeEntry> = running
        .iter()
        .flatten()
        .chain(ended.iter())
        .map(to_local)
        .collect();
    let outcome = shared
        .store
        .call(move |s| {
            let mut unsaved = Vec::new();
            written.retain(|e| {
                s.adopt_entry(e).unwrap_or_else(|err| {
                    tracing::error!("could not cache entry {}: {err}", e.id);
                    unsaved.push(e.id);
                    false
                })
            });
            let mut dropped = Vec::new();
            for id in missing {
                match s.drop_entry_missing_on_service(id) {
                    Ok(true) => dropped.push(id),
                    Ok(false) => {}
                    Err(err) => {
                        tracing::error!("could not drop entry {id}: {err}");
                        unsaved.push(id);
                    }
                }
            }
            let local_newer = s.pending_timer_changes()? > 0;
            Ok((written, dropped, unsaved, local_newer))
        })
        .await;
    let (written, dropped, unsaved, local_newer) = match outcome {
        Ok(outcome) => outcome,
        Err(err) => {
            tracing::error!("could not adopt the service's timer: {err}");
            for id in over {
                shared.forget_timer(id);
            }
            return false;
        }
    };
    // An entry the buffer took as ended or deleted leaves the mirror, whatever else is queued;
    // so does one the service ended or no longer has that the buffer could not take.
    for id in written
        .iter()
        .filter(|e| e.end.is_some())
        .map(|e| e.id)
        .chain(dropped.iter().copied())
        .chain(unsaved.iter().copied().filter(|id| over.contains(id)))
    {
        shared.forget_timer(id);
    }
    if !dropped.is_empty() {
        tracing::info!("dropped {} entries deleted on the service", dropped.len());
        shared.emit(AgentEvent::Deleted);
    }
    if !local_newer && let Some(running) = running {
        shared.set_timer(running.as_ref().map(|e| Running::confirmed(to_local(e))));
    }
    unsaved.is_empty()
}

fn to_local(entry: &Entry) -> TimeEntry {
    TimeEntry {
        id: entry.id,
        description: entry.description.clone(),
        start: entry.start,
        end: entry.end,
        deducted: crate::door::served_deducted(entry),
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
    // The workspace's blocklist changes are announced as settings changes (R34).
    crate::blocklist::refresh_workspace_rules(shared).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::Instant;

    /// Arms `retry` as the event loop does (it fires by setting `at` back to `None`) and
    /// answers the wait it armed, if any, in whole seconds.
    fn armed(retry: &mut Retry, adopted: Adopted, connected: bool) -> Option<u64> {
        let before = Instant::now();
        retry.after(adopted, connected);
        let wait: Duration = retry.at? - before;
        Some(wait.as_secs_f64().round() as u64)
    }

    #[test]
    fn an_unsaved_adoption_arms_the_retry_and_a_saved_one_does_not() {
        let mut retry = Retry::default();
        assert_eq!(armed(&mut retry, Adopted::Saved, true), None);
        assert_eq!(armed(&mut retry, Adopted::Saved, false), None);
        let wait = armed(&mut retry, Adopted::Unsaved, false);
        assert_eq!(wait, Some(FIRST_RETRY.as_secs()));
    }

    #[test]
    fn an_unread_timer_is_read_again_only_while_connected() {
        let mut retry = Retry::default();
        assert_eq!(armed(&mut retry, Adopted::Unread, false), None);
        let wait = armed(&mut retry, Adopted::Unread, true);
        assert_eq!(wait, Some(FIRST_RETRY.as_secs()));
    }

    #[test]
    fn an_armed_retry_is_kept_whatever_comes_before_it() {
        let mut retry = Retry::default();
        retry.after(Adopted::Unsaved, true);
        let at = retry.at;
        for adopted in [Adopted::Unsaved, Adopted::Unread, Adopted::Saved] {
            retry.after(adopted, true);
            assert_eq!(retry.at, at, "{adopted:?} moved the armed retry");
        }
    }

    #[test]
    fn failures_in_a_row_wait_twice_as_long_up_to_the_cap_and_a_saved_one_starts_over() {
        let mut retry = Retry::default();
        let mut waits = Vec::new();
        for _ in 0..8 {
            waits.push(armed(&mut retry, Adopted::Unread, true).expect("no retry armed"));
            assert_eq!(retry.due(), (true, vec![]));
        }
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        // Offline, a failed read leaves the retry to the reconnect, and keeps the pace.
        assert_eq!(armed(&mut retry, Adopted::Unread, false), None);
        assert_eq!(armed(&mut retry, Adopted::Unsaved, false), Some(300));
        assert_eq!(retry.due(), (true, vec![]));
        assert_eq!(armed(&mut retry, Adopted::Saved, true), None);
        assert_eq!(armed(&mut retry, Adopted::Unsaved, true), Some(5));
    }

    #[test]
    fn a_delete_not_taken_is_made_again_once_with_the_timer_only_when_due() {
        let shot = Forget::Screenshot(ScreenshotId::new());
        let entry = Forget::Entry(EntryId::new());
        let mut retry = Retry::default();
        retry.forget(shot);
        let at = retry.at.expect("no retry armed");
        retry.forget(entry);
        retry.forget(shot);
        assert_eq!(retry.at, Some(at), "a second delete moved the armed retry");
        assert_eq!(retry.due(), (false, vec![shot, entry]));
        assert_eq!(retry.at, None);
        // The screenshot's delete fails again: it alone is due next time, after twice the wait.
        let before = Instant::now();
        retry.forget(shot);
        retry.settled();
        let wait = retry.at.expect("no retry armed") - before;
        assert_eq!(wait.as_secs_f64().round() as u64, 10);
        retry.after(Adopted::Unsaved, true);
        assert_eq!(retry.due(), (true, vec![shot]));
    }

    #[test]
    fn once_everything_due_is_done_the_waits_start_over() {
        let mut retry = Retry::default();
        retry.forget(Forget::Entry(EntryId::new()));
        let _ = retry.due();
        retry.settled();
        assert_eq!(retry.at, None);
        assert_eq!(armed(&mut retry, Adopted::Unread, true), Some(5));
    }
}
