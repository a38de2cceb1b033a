//! The engine's side of the service: how each outbox item is sent, and how the answer is
//! classified. The HTTP details live in `shotclock-sync`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shotclock_api::{EntryId, ErrorCode, ScreenshotId};
use shotclock_store::{OutboxItem, OutboxKind, StoreHandle};
use shotclock_sync::{Client, ScreenshotUpload, SyncError};
use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub client: Client,
}

/// What became of one send.
#[derive(Debug)]
pub(crate) enum SendOutcome {
    Done,
    /// Try again later (network, 5xx, 429); `after` is the service's Retry-After.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Refused for good: set aside with this reason.
    Reject {
        reason: String,
    },
    /// The thing no longer exists here or there: nothing to send.
    Gone,
    /// The service answered `deleted` (R29): what the item would create was deleted for good
    /// elsewhere. The item is done — not refused — and the local copy goes too.
    Deleted,
}

/// Payload of a `timer_start` outbox item.
#[derive(Debug, serde::Serialize, Deserialize)]
pub(crate) struct StartPayload {
    pub entry_id: EntryId,
    pub description: String,
    pub start: DateTime<Utc>,
}

/// Payload of a `timer_stop` outbox item.
#[derive(Debug, serde::Serialize, Deserialize)]
pub(crate) struct StopPayload {
    pub entry_id: EntryId,
    pub end: DateTime<Utc>,
}

/// Payload of a `delete_screenshot` tombstone of a screenshot that was never sent: what the
/// service needs to apply the delete policy without holding the screenshot.
#[derive(Debug, serde::Serialize, Deserialize)]
pub(crate) struct UnsentDelete {
    pub entry_id: EntryId,
    pub captured_at: DateTime<Utc>,
}

impl Service {
    /// Sends one outbox item; a screenshot's bytes are read from `store`.
    pub(crate) async fn send(&self, store: &StoreHandle, item: &OutboxItem) -> SendOutcome {
        let result = match item.kind {
            OutboxKind::TimerStart => match parse::<StartPayload>(item) {
                Ok(p) => self
                    .client
                    .start_timer(p.entry_id, &p.description, Some(p.start))
                    .await
                    .map(|_| ()),
                Err(reason) => return SendOutcome::Reject { reason },
            },
            OutboxKind::TimerStop => match parse::<StopPayload>(item) {
                Ok(p) => self
                    .client
                    .stop_timer(Some(p.entry_id), Some(p.end))
                    .await
                    .map(|_| ()),
                Err(reason) => return SendOutcome::Reject { reason },
            },
            OutboxKind::Screenshot => {
                let id = ScreenshotId::from_uuid(item.item_id);
                let shot = match store.call(move |s| s.screenshot(id)).await {
                    Ok(Some(shot)) => shot,
                    Ok(None) => return SendOutcome::Gone,
                    Err(err) => {
                        return SendOutcome::Retry {
                            error: err.to_string(),
                            after: None,
                        };
                    }
                };
                let upload = ScreenshotUpload {
                    id,
                    entry_id: shot.info.entry_id,
                    captured_at: shot.info.captured_at,
                    bytes: shot.thumbnail.into(),
                };
                self.client.upload_screenshot(&upload).await.map(|_| ())
            }
            OutboxKind::DeleteScreenshot => {
                let id = ScreenshotId::from_uuid(item.item_id);
                // A screenshot deleted before it was sent carries what the service needs to
                // apply the delete without it; a retry after the service applied it answers
                // not found.
                let sent = match serde_json::from_value::<UnsentDelete>(item.payload.clone()) {
                    Ok(u) => {
                        self.client
                            .delete_unsent_screenshot(id, u.entry_id, u.captured_at)
                            .await
                    }
                    Err(_) => self.client.delete_screenshot(id, false).await,
                };
                match sent {
                    Err(e) if e.code() == Some(ErrorCode::NotFound) => Ok(()),
                    other => other.map(|_| ()),
                }
            }
            OutboxKind::DeleteEntry => {
                let id = EntryId::from_uuid(item.item_id);
                match self.client.delete_entry(id).await {
                    Err(e) if e.code() == Some(ErrorCode::NotFound) => Ok(()),
                    other => other,
                }
            }
        };
        classify(result)
    }
}

fn parse<T: for<'de> Deserialize<'de>>(item: &OutboxItem) -> Result<T, String> {
    serde_json::from_value(item.payload.clone())
        .map_err(|e| format!("unreadable {} item: {e}", item.kind.as_str()))
}

fn classify(result: Result<(), SyncError>) -> SendOutcome {
    match result {
        Ok(()) => SendOutcome::Done,
        Err(e) if e.is_deleted() => SendOutcome::Deleted,
        Err(e) if e.is_retryable() => SendOutcome::Retry {
            error: e.to_string(),
            after: e.retry_after(),
        },
        // Signed out or revoked: keep the item; it goes once the user signs in again.
        Err(e @ (SyncError::Unauthorized | SyncError::IncompatibleVersion { .. })) => {
            SendOutcome::Retry {
                error: e.to_string(),
                after: Some(Duration::from_secs(300)),
            }
        }
        Err(e) => SendOutcome::Reject {
            reason: e.to_string(),
        },
    }
}
