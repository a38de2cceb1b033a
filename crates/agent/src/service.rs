//! The engine's side of the service: how each outbox item is sent, and how the answer is
//! classified. The HTTP details live in `shotclock-sync`.

use shotclock_api::dto::{EntryPatch, NewEntry};
use shotclock_api::{EntryId, ErrorCode, ScreenshotId};
use shotclock_store::{OutboxItem, OutboxPayload, StoreHandle};
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

impl Service {
    /// Sends one outbox item; a screenshot's bytes are read from `store`.
    pub(crate) async fn send(&self, store: &StoreHandle, item: &OutboxItem) -> SendOutcome {
        let payload = match &item.payload {
            Ok(payload) => payload,
            Err(unreadable) => {
                return SendOutcome::Reject {
                    reason: unreadable.to_string(),
                };
            }
        };
        let result = match payload {
            OutboxPayload::TimerStart(p) => self
                .client
                .start_timer(p.entry_id, &p.description, Some(p.start))
                .await
                .map(|_| ()),
            OutboxPayload::TimerStop(p) => self
                .client
                .stop_timer(Some(p.entry_id), Some(p.end))
                .await
                .map(|_| ()),
            OutboxPayload::Screenshot => {
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
            OutboxPayload::DeleteScreenshot { unsent } => {
                let id = ScreenshotId::from_uuid(item.item_id);
                // A screenshot deleted before it was sent carries what the service needs to
                // apply the delete without it; a retry after the service applied it answers
                // not found.
                let sent = match unsent {
                    Some(u) => {
                        self.client
                            .delete_unsent_screenshot(id, u.entry_id, u.captured_at)
                            .await
                    }
                    None => self.client.delete_screenshot(id, false).await,
                };
                match sent {
                    Err(e) if e.code() == Some(ErrorCode::NotFound) => Ok(()),
                    other => other.map(|_| ()),
                }
            }
            OutboxPayload::EditEntry(p) => {
                let patch = EntryPatch {
                    description: p.description.clone(),
                    start: p.start,
                    end: p.end,
                    confirm: p.confirm,
                };
                self.client
                    .edit_entry(p.entry_id, &patch, false)
                    .await
                    .map(|_| ())
            }
            OutboxPayload::ManualEntry(p) => {
                let entry = NewEntry {
                    id: p.entry_id,
                    user_id: None,
                    description: p.description.clone(),
                    start: p.start,
                    end: p.end,
                };
                self.client.add_entry(&entry).await.map(|_| ())
            }
            OutboxPayload::DeleteEntry => {
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
