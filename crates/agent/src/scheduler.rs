//! The capture scheduler (R8, R9, R12).
//!
//! While a timer runs, capture is allowed (R4, R5) and we are signed in, it draws one uniformly
//! random moment in each window of the running entry (`domain::schedule`), sleeps until then —
//! no polling: it wakes only at that moment or when the timer, the settings or the shutdown
//! flag change — captures every monitor, and records the attempt. A useful frame is stored with
//! its outbox row in one transaction; anything else is recorded with its reason.
//!
//! "A timer runs" means a *confirmed* one (`state::Running`): the service said so since the
//! engine started, or it was started here. A timer the buffer remembers from an earlier run
//! waits for the service: it may have been stopped or deleted elsewhere meanwhile (R8), and
//! screenshots of an ended entry would be refused.
//!
//! The source's session (the Wayland portal) is opened when capture turns on and closed when it
//! turns off. A declined dialog is kept by the source (no dialog at every moment) until the
//! user asks again ([`crate::AgentHandle::ask_screen_again`]): the refusal is cleared and the
//! dialog shows again at once if capture is on. The status carries the source's consent.
//!
//! The last attempted window of the running entry is read back from the store at start, so a
//! restart never takes a second screenshot in a window that already has one. A moment missed
//! while the machine slept is recorded as `missed` and not made up.

use crate::state::{AgentEvent, CaptureStatus, OffReason, Running, Shared};
use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use shotclock_api::ScreenshotId;
use shotclock_capture::{CaptureOptions, Capturer, Consent, Health, Pipeline, ScreenSource};
use shotclock_domain::schedule::{CaptureSlot, CaptureWindow, SlotStatus, next_capture_after};
use shotclock_store::{AttemptId, CaptureHealth, NewAttempt, NewScreenshot, TimeEntry};
use std::sync::Arc;
use std::time::Duration;

pub(crate) async fn run<S>(shared: Arc<Shared>, source: S)
where
    S: ScreenSource + Send + 'static,
{
    let choice = Some(source.choice());
    let mut capturer = Capturer::new(Pipeline::new(CaptureOptions::default()), source);
    // Whether the source's session is open (prepared): only while a timer runs and capture is
    // on; released as soon as either stops.
    let mut prepared = false;
    let mut rng = StdRng::from_os_rng();
    let mut timer_rx = shared.timer.subscribe();
    let mut settings_rx = shared.settings.subscribe();
    // (entry, last window attempted)
    let mut done: Option<(shotclock_api::EntryId, u64)> = None;
    let mut last_status: Option<CaptureStatus> = None;

    loop {
        if shared.is_shutdown() {
            if prepared {
                capturer.release().await;
            }
            return;
        }
        let running = timer_rx.borrow_and_update().clone();
        let settings = settings_rx.borrow_and_update().clone();
        let now = shared.time.now();

        let plan = match (&running, settings.gate().capture_allowed(now)) {
            (None, _) => Err(OffReason::NoTimer),
            (Some(_), Err(reason)) => Err(OffReason::from(reason)),
            (Some(r), Ok(())) if !r.confirmed => Err(OffReason::Unconfirmed),
            (Some(Running { entry: e, .. }), Ok(())) => {
                if done.is_none_or(|(id, _)| id != e.id) {
                    done = last_window_done(&shared, e).await.map(|w| (e.id, w));
                }
                let last = done.filter(|(id, _)| *id == e.id).map(|(_, w)| w);
                CaptureWindow::from_secs(settings.capture_window_secs)
                    .and_then(|window| next_capture_after(e.start, window, now, last, &mut rng))
                    .map(|slot| (e.clone(), slot))
                    .map_err(|err| {
                        tracing::warn!("cannot schedule a capture: {err}");
                        OffReason::Unschedulable
                    })
            }
        };

        publish(
            &shared,
            &mut last_status,
            status_of(&plan, choice, &capturer),
        );

        // Open the source's session (the Wayland portal: the desktop's dialog on first use,
        // its screencast indicator while open) when capture turns on; close it when it turns
        // off. A failed open is kept by the source and recorded at the capture moment.
        match (&plan, prepared) {
            (Ok(_), false) => {
                prepared = true;
                if let Err(err) = capturer.prepare().await {
                    tracing::warn!("screen source not ready: {err}");
                }
            }
            (Err(_), true) => {
                prepared = false;
                capturer.release().await;
            }
            _ => {}
        }
        // The open may have been declined (or granted): show it.
        publish(
            &shared,
            &mut last_status,
            status_of(&plan, choice, &capturer),
        );

        // Off, nothing is due: only a change wakes the loop.
        let wait = match &plan {
            Ok((_, slot)) => Some((slot.at - now).to_std().unwrap_or(Duration::ZERO)),
            Err(_) => None,
        };
        let moment = async move {
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = moment => {}
            r = timer_rx.changed() => { if r.is_err() { return; } continue; }
            r = settings_rx.changed() => { if r.is_err() { return; } continue; }
            () = shared.ask_again.notified() => {
                if capturer.consent() == Some(Consent::Refused) {
                    // Forget the refusal; the next pass opens the session again if capture is on.
                    capturer.release().await;
                    prepared = false;
                }
                continue;
            }
            () = shared.stopping() => {
                if prepared {
                    capturer.release().await;
                }
                return;
            }
        }
        let Ok((entry, slot)) = plan else { continue };
        // The timer or settings may have changed at the very moment we woke.
        if timer_rx.has_changed().unwrap_or(true) || settings_rx.has_changed().unwrap_or(true) {
            continue;
        }
        let now = shared.time.now();
        // Woke before the moment by the engine's clock (the sleep runs on the monotonic clock;
        // the wall clock may have stepped back, the service-offset estimate may have moved, or
        // an injected clock stands still): the moment has not come. Plan again with `done`
        // unchanged (`domain::schedule`: "Pending => continue") rather than capture early —
        // an early capture is stamped before its moment, possibly in a window that already
        // has its screenshot (R9).
        let status = slot.status(now);
        if status == SlotStatus::Pending {
            continue;
        }
        // The gate also closes by time alone (a trial ends, R5): judged again at the moment, as
        // the service judges the upload. Planned again, capture goes off with the reason.
        if settings.gate().capture_allowed(now).is_err() {
            continue;
        }
        done = Some((entry.id, slot.window_index));
        // Too late for the moment drawn (`schedule::LATE_GRACE`) or past its window.
        if status == SlotStatus::Missed {
            record_failure(
                &shared,
                &entry,
                &slot,
                CaptureHealth::Missed,
                "the moment passed while the app was not running or the machine slept".into(),
            )
            .await;
            continue;
        }
        if let Some(pipeline) = capturer.pipeline_mut() {
            let options = CaptureOptions::default().with_blur(settings.blur);
            pipeline.set_options(options);
            pipeline.set_blocklist(crate::blocklist::in_force(&shared));
        }
        capture_once(&shared, &mut capturer, &entry, &slot).await;
    }
}

/// The status for `plan`, with the source's choice and consent.
fn status_of<S: ScreenSource + Send + 'static>(
    plan: &Result<(TimeEntry, CaptureSlot), OffReason>,
    choice: Option<shotclock_capture::SourceChoice>,
    capturer: &Capturer<S>,
) -> CaptureStatus {
    let consent = capturer.consent().unwrap_or(Consent::NotNeeded);
    match plan {
        Ok((e, slot)) => CaptureStatus::Active {
            entry_id: e.id,
            next_at: Some(slot.at),
            source: choice,
            consent,
        },
        Err(reason) => CaptureStatus::Off {
            reason: *reason,
            source: choice,
            consent,
        },
    }
}

/// Sends `status` to the UI unless it is the one last sent.
fn publish(shared: &Shared, last: &mut Option<CaptureStatus>, status: CaptureStatus) {
    if last.as_ref() != Some(&status) {
        shared.capture.send_replace(status.clone());
        shared.emit(AgentEvent::CaptureChanged {
            status: status.clone(),
        });
        *last = Some(status);
    }
}

async fn last_window_done(shared: &Shared, entry: &TimeEntry) -> Option<u64> {
    let id = entry.id;
    shared
        .store
        .call(move |s| s.last_attempt_of_entry(id))
        .await
        .ok()
        .flatten()
        .map(|a| a.window_index)
}

async fn capture_once<S>(
    shared: &Shared,
    capturer: &mut Capturer<S>,
    entry: &TimeEntry,
    slot: &CaptureSlot,
) where
    S: ScreenSource + Send + 'static,
{
    let at = shared.time.now();
    let result = capturer.capture().await;
    let health = Health::of(&result);
    let thumb = match result {
        Ok(t) if health.is_useful() => t,
        Ok(_) | Err(_) => {
            let detail = match &health {
                Health::Backend(text) => text.clone(),
                other => other.code().replace('_', " "),
            };
            let code = health_code(&health);
            record_failure(shared, entry, slot, code, detail).await;
            return;
        }
    };
    let shot = NewScreenshot {
        id: ScreenshotId::new(),
        entry_id: entry.id,
        captured_at: at,
        thumbnail: thumb.webp,
        width: thumb.width,
        height: thumb.height,
    };
    let attempt = NewAttempt {
        id: AttemptId::new(),
        entry_id: entry.id,
        window_index: slot.window_index,
        at,
        health: CaptureHealth::Ok,
        detail: String::new(),
    };
    let e = entry.clone();
    // The entry may have been deleted (here, or elsewhere and heard of) while the screen was
    // grabbed: every delete leaves the running-timer mirror under the timer lock, so, holding
    // it, an entry that neither runs nor is in the buffer any more is gone, and its screenshot
    // goes with it rather than bringing the entry back (R15, R29). One that still runs is
    // stored even if the buffer could not take it yet (an unsaved adoption).
    let _changing = shared.timer_lock.lock().await;
    let running = shared.running_entry().is_some_and(|r| r.id == entry.id);
    let recorded = shared
        .store
        .call(move |s| {
            if !running && s.get_entry(e.id)?.is_none() {
                return Ok(None);
            }
            s.record_capture(&e, &shot, &attempt).map(Some)
        })
        .await;
    match recorded {
        Ok(None) => {
            tracing::info!(
                window = slot.window_index,
                "the entry was deleted while its screenshot was taken: discarded"
            );
        }
        Ok(Some(info)) => {
            tracing::info!(window = slot.window_index, "screenshot captured");
            shared.kick.notify_one();
            shared.emit(AgentEvent::Captured {
                screenshot_id: info.id,
                captured_at: info.captured_at,
            });
        }
        Err(err) => tracing::error!("could not store a screenshot: {err}"),
    }
}

fn health_code(health: &Health) -> CaptureHealth {
    match health {
        Health::Ok => CaptureHealth::Ok,
        Health::AllBlack => CaptureHealth::AllBlack,
        Health::SingleColour => CaptureHealth::SingleColour,
        Health::NoMonitor => CaptureHealth::NoMonitor,
        Health::PermissionDenied => CaptureHealth::PermissionDenied,
        Health::ConsentRefused => CaptureHealth::ConsentRefused,
        Health::PortalMissing => CaptureHealth::PortalMissing,
        Health::NoScreenCast => CaptureHealth::NoScreenCast,
        Health::DmabufOnly => CaptureHealth::DmabufOnly,
        Health::RedactionUnavailable => CaptureHealth::RedactionUnavailable,
        Health::Backend(_) => CaptureHealth::BackendError,
    }
}

async fn record_failure(
    shared: &Shared,
    entry: &TimeEntry,
    slot: &CaptureSlot,
    health: CaptureHealth,
    detail: String,
) {
    let at: DateTime<Utc> = shared.time.now();
    let attempt = NewAttempt {
        id: AttemptId::new(),
        entry_id: entry.id,
        window_index: slot.window_index,
        at,
        health,
        detail: detail.clone(),
    };
    tracing::warn!(
        window = slot.window_index,
        health = health.as_str(),
        "no screenshot this window"
    );
    if let Err(err) = shared
        .store
        .call(move |s| s.record_failed_attempt(&attempt))
        .await
    {
        tracing::error!("could not record a capture attempt: {err}");
    }
    shared.emit(AgentEvent::CaptureFailed { health, detail, at });
}
