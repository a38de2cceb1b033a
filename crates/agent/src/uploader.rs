//! The uploader (R25, R26): sends the outbox to the service in order, one item at a time.
//!
//! - success → the outbox row is cleared (only now: the service answered after its commit);
//! - a retryable failure (network, 5xx, 429) → the item is retried later with exponential
//!   backoff and full jitter, without limit, and the whole queue pauses for that delay;
//! - a final refusal (4xx) → the item is set aside with its reason, shown in the UI, and the
//!   queue goes on with the next item; a refused edit or manual entry is undone here in the
//!   same transaction (`Store::reject`);
//! - `410 deleted` (R29): what the item would create was deleted elsewhere and can never be
//!   created again → the item is done, and its local copy (the screenshot; the entry with its
//!   screenshots) goes as a final delete (R24). Not set aside: nothing failed.
//!
//! After the last queued timer change is acknowledged, the event task re-reads the service's
//! timer (`events::adopt_timer`): the service's view is the newest again.
//!
//! It sleeps until the earliest retry is due or something new is queued: no polling.

use crate::service::SendOutcome;
use crate::state::{AgentEvent, Shared};
use chrono::TimeDelta;
use shotclock_store::{OutboxItem, OutboxKind};
use shotclock_sync::{Backoff, BackoffPolicy};
use std::sync::Arc;
use std::time::Duration;

pub(crate) async fn run(shared: Arc<Shared>) {
    let mut backoff = Backoff::new(BackoffPolicy::default());
    loop {
        if shared.is_shutdown() {
            return;
        }
        let now = shared.time.local_now();
        let next = shared.store.call(move |s| s.next_due(now)).await;
        let item = match next {
            Ok(Some(item)) => item,
            Ok(None) => {
                let until = shared.store.call(|s| s.earliest_due()).await.ok().flatten();
                let wait = until
                    .and_then(|t| (t - shared.time.local_now()).to_std().ok())
                    .unwrap_or(Duration::from_secs(3600));
                tokio::select! {
                    _ = shared.kick.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                    () = shared.stopping() => return,
                }
                continue;
            }
            Err(err) => {
                tracing::error!("outbox unreadable: {err}");
                let _ = pause(&shared, backoff.next_delay()).await;
                continue;
            }
        };
        match shared.service.send(&shared.store, &item).await {
            SendOutcome::Done => {
                backoff.reset();
                let seq = item.seq;
                let timer_change = matches!(
                    item.kind,
                    OutboxKind::TimerStart | OutboxKind::TimerStop | OutboxKind::EditEntry
                );
                let acked = shared
                    .store
                    .call(move |s| {
                        s.ack(seq)?;
                        s.pending_timer_changes()
                    })
                    .await;
                match acked {
                    Ok(still_queued) => {
                        if timer_change && still_queued == 0 {
                            shared.timer_settled.notify_one();
                        }
                        shared.emit(AgentEvent::Synced { kind: item.kind });
                    }
                    Err(err) => tracing::error!("could not clear an acknowledged item: {err}"),
                }
            }
            SendOutcome::Retry { error, after } => {
                let delay = backoff.next_delay_after(after);
                tracing::info!(
                    kind = item.kind.as_str(),
                    "will retry in {delay:?}: {error}"
                );
                retry_later(&shared, &item, delay, error).await;
                if pause(&shared, delay).await == Woken::Reconnected {
                    // The service is back: resend now instead of waiting out the backoff.
                    backoff.reset();
                    let seq = item.seq;
                    let now = shared.time.local_now();
                    let _ = shared
                        .store
                        .call(move |s| {
                            s.retry_later(seq, now, "resent: the service is reachable again")
                        })
                        .await;
                }
            }
            SendOutcome::Reject { reason } => {
                backoff.reset();
                tracing::warn!(kind = item.kind.as_str(), "refused for good: {reason}");
                let seq = item.seq;
                let why = reason.clone();
                if let Err(err) = shared.store.call(move |s| s.reject(seq, &why)).await {
                    tracing::error!("could not set a refused item aside: {err}");
                }
                shared.emit(AgentEvent::Rejected {
                    kind: item.kind,
                    reason,
                });
            }
            SendOutcome::Deleted => {
                backoff.reset();
                let seq = item.seq;
                // Under the timer lock, like every drop of an entry (see the scheduler).
                let changing = shared.timer_lock.lock().await;
                match shared.store.call(move |s| s.settle_deleted(seq)).await {
                    Ok(settled) => {
                        tracing::info!(
                            kind = item.kind.as_str(),
                            "deleted on the service: dropped here too"
                        );
                        // A timer change answered `deleted`: its entry went.
                        if let Some(entry) = settled.and_then(|i| i.entry_id)
                            && matches!(
                                item.kind,
                                OutboxKind::TimerStart
                                    | OutboxKind::TimerStop
                                    | OutboxKind::EditEntry
                            )
                        {
                            shared.forget_timer(entry);
                        }
                        shared.emit(AgentEvent::Deleted);
                    }
                    Err(err) => {
                        drop(changing);
                        // Still pending: sent again later, answered `deleted` again.
                        tracing::error!("could not drop an item deleted on the service: {err}");
                        let _ = pause(&shared, backoff.next_delay()).await;
                    }
                }
            }
            SendOutcome::Gone => {
                // The thing was deleted meanwhile (locally or on the service): nothing to send.
                let seq = item.seq;
                let _ = shared.store.call(move |s| s.ack(seq)).await;
            }
        }
    }
}

async fn retry_later(shared: &Shared, item: &OutboxItem, delay: Duration, error: String) {
    let seq = item.seq;
    let at = shared.time.local_now() + TimeDelta::from_std(delay).unwrap_or(TimeDelta::seconds(60));
    if let Err(err) = shared
        .store
        .call(move |s| s.retry_later(seq, at, &error))
        .await
    {
        tracing::error!("could not reschedule an item: {err}");
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Woken {
    Elapsed,
    Reconnected,
    Shutdown,
}

/// Waits `delay`, until the event stream reconnects, or until shutdown.
async fn pause(shared: &Shared, delay: Duration) -> Woken {
    if shared.is_shutdown() {
        return Woken::Shutdown;
    }
    tokio::select! {
        _ = tokio::time::sleep(delay) => Woken::Elapsed,
        _ = shared.reconnected.notified() => Woken::Reconnected,
        () = shared.stopping() => Woken::Shutdown,
    }
}
