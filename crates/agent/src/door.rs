//! The engine's door: every query and command a client (the desktop shell, the headless agent,
//! the tray) needs, so none reaches past the engine into its HTTP client or its local buffer.
//!
//! Queries merge what this device holds with what the service answers:
//! - [`AgentHandle::entries`]: the service's entries with the changes still queued here applied
//!   (a start or stop made offline shows at once); with the service unreachable, the local ones;
//! - [`AgentHandle::screenshots_of_day`] and [`AgentHandle::day_counts`]: the caller's own
//!   include the screenshots still waiting here to be sent ([`DayShot::waiting_to_sync`]);
//! - [`AgentHandle::image`]: the local thumbnail first, else the service's.
//!
//! Commands that only the service can answer (settings, trial, notifications) go through as
//! they are; their errors stay typed ([`AgentError`]).

use crate::agent::AgentHandle;
use crate::error::AgentError;
use crate::state::AgentEvent;
use crate::view::{AttemptView, CaptureView, RejectedItem};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::Serialize;
use shotclock_api::dto::{
    DayCount, DayCounts, DeleteKind, DeleteReport, Entry, Notification, Screenshot,
    UpdateSettingsRequest, WorkspaceSettings,
};
use shotclock_api::{ApiError, EntryId, ErrorCode, NotificationId, ScreenshotId, UserId};
use shotclock_domain::delete::{DeleteDecision, DeleteRequest, decide, removed_by_deletes};
use shotclock_domain::entry::{EntryTimes, counted};
use shotclock_domain::lock::is_locked;
use shotclock_domain::span::{Span, SpanSet};
use shotclock_domain::visibility::{Actor, Owner};
use shotclock_store::{OutboxKind, ScreenshotInfo, ScreenshotState, TimeEntry, UnsentShot};
use std::collections::HashMap;

impl AgentHandle {
    /// Entries overlapping `[from, to)`: the service's, with the changes queued on this device
    /// applied (queued starts appear, queued stops end them). While the service is unreachable,
    /// the entries this device knows.
    pub async fn entries(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Entry>, AgentError> {
        let shared = self.shared();
        let service = match shared
            .service
            .client
            .entries(Some(from), Some(to), None)
            .await
        {
            Ok(list) => Some(list.entries),
            Err(e) if e.is_retryable() => None,
            Err(e) => return Err(e.into()),
        };
        let held = shared
            .store
            .call(move |s| {
                Ok(Held {
                    entries: s.entries_between(from, to)?,
                    manual: {
                        let mut ids = s.entries_queued(OutboxKind::ManualEntry)?;
                        ids.extend(s.manual_entries()?);
                        ids
                    },
                    deleted: s.entries_queued(OutboxKind::DeleteEntry)?,
                })
            })
            .await?;
        Ok(merge_entries(
            service,
            held,
            shared.account.user_id,
            shared.time.now(),
        ))
    }

    /// The day's screenshot counts of the members the caller may see (R17), the caller's own
    /// including the screenshots still waiting on this device to be sent. While the service is
    /// unreachable, the caller's own line alone, counting what waits here.
    pub async fn day_counts(&self, date: NaiveDate, tz: &str) -> Result<DayCounts, AgentError> {
        let shared = self.shared();
        let mut counts = match shared.service.client.screenshot_counts(date, tz).await {
            Ok(counts) => counts,
            Err(e) if e.is_retryable() => DayCounts {
                date: date.format("%Y-%m-%d").to_string(),
                time_zone: tz.to_owned(),
                members: vec![DayCount {
                    user_id: shared.account.user_id,
                    name: String::new(),
                    email: shared.account.email.clone(),
                    count: 0,
                }],
            },
            Err(e) => return Err(e.into()),
        };
        let waiting = self.unsent_of_day(date, tz).await?.len() as u64;
        if let Some(own) = counts
            .members
            .iter_mut()
            .find(|m| m.user_id == shared.account.user_id)
        {
            own.count += waiting;
        }
        Ok(counts)
    }

    /// One member's screenshots of a day, oldest first. The caller's own include the ones
    /// still waiting on this device to be sent, marked so; while the service is unreachable,
    /// those are all the caller's list holds.
    pub async fn screenshots_of_day(
        &self,
        user: UserId,
        date: NaiveDate,
        tz: &str,
    ) -> Result<DayShots, AgentError> {
        let shared = self.shared();
        let own = user == shared.account.user_id;
        let served = match shared
            .service
            .client
            .screenshots_of_day(Some(user), date, tz)
            .await
        {
            Ok(list) => list.screenshots,
            Err(e) if own && e.is_retryable() => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let unsent = if own {
            self.unsent_of_day(date, tz).await?
        } else {
            Vec::new()
        };
        // Changes made here and not sent yet: an entry deleted here goes with its screenshots,
        // an edit here leaves those outside its new times out.
        let served = if own {
            let (deleted, edited) = shared
                .store
                .call(|s| {
                    let mut edited = HashMap::new();
                    for id in s.entries_queued(OutboxKind::EditEntry)? {
                        if let Some(e) = s.get_entry(id)? {
                            edited.insert(id, (e.start, e.end));
                        }
                    }
                    Ok((s.entries_queued(OutboxKind::DeleteEntry)?, edited))
                })
                .await?;
            served
                .into_iter()
                .filter(|shot| {
                    !deleted.contains(&shot.entry_id)
                        && edited.get(&shot.entry_id).is_none_or(|&(start, end)| {
                            shotclock_domain::manage::holds(start, end, shot.captured_at)
                        })
                })
                .collect()
        } else {
            served
        };
        Ok(DayShots {
            user_id: user,
            date: date.format("%Y-%m-%d").to_string(),
            time_zone: tz.to_owned(),
            screenshots: merge_shots(served, unsent),
        })
    }

    /// This device's screenshots of a day the service has not acknowledged yet.
    async fn unsent_of_day(
        &self,
        date: NaiveDate,
        tz: &str,
    ) -> Result<Vec<Screenshot>, AgentError> {
        let (from, to) = shotclock_domain::days::bounds(date, tz)
            .map_err(|e| AgentError::Invalid(e.to_string()))?;
        let shared = self.shared();
        let user = shared.account.user_id;
        let now = shared.time.now();
        Ok(shared
            .store
            .call(move |s| {
                let mut out = Vec::new();
                for info in s.screenshots_between(from, to)? {
                    if info.state != ScreenshotState::Pending
                        || shotclock_domain::retention::is_expired(info.captured_at, now)
                    {
                        continue;
                    }
                    let size = s
                        .screenshot(info.id)?
                        .map_or(0, |shot| shot.thumbnail.len());
                    let description = s
                        .get_entry(info.entry_id)?
                        .map(|e| e.description)
                        .unwrap_or_default();
                    out.push(Screenshot {
                        id: info.id,
                        entry_id: info.entry_id,
                        user_id: user,
                        captured_at: info.captured_at,
                        entry_description: description,
                        // The service's to know; its list says so once the screenshot is there.
                        entry_approved: false,
                        entry_locked: false,
                        size: u32::try_from(size).unwrap_or(u32::MAX),
                        width: info.width,
                        height: info.height,
                        sha256: info.sha256,
                        expires_at: shotclock_domain::retention::expires_at(info.captured_at),
                    });
                }
                Ok(out)
            })
            .await?)
    }

    /// A screenshot's thumbnail (WebP): the local copy when this device holds it and it has not
    /// expired (R18), else the service's — which answers only what the caller may see (R16).
    /// `None`: no such screenshot (or not one the caller may see).
    pub async fn image(&self, id: ScreenshotId) -> Result<Option<Vec<u8>>, AgentError> {
        let shared = self.shared();
        let now = shared.time.now();
        match shared.store.call(move |s| s.screenshot(id)).await {
            Ok(Some(shot))
                if !shotclock_domain::retention::is_expired(shot.info.captured_at, now) =>
            {
                return Ok(Some(shot.thumbnail));
            }
            Ok(_) => {}
            Err(err) => tracing::warn!("local buffer: {err}"),
        }
        match shared.service.client.screenshot_image(id).await {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(e) if matches!(e.code(), Some(ErrorCode::NotFound | ErrorCode::Gone)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes (or with `dry_run` previews deleting) a screenshot that waits here to be sent:
    /// the decision is `domain::delete::decide` on what this device knows of the entry — its
    /// times, its other screenshots here, the lock date, and the removed spans and approval
    /// from the service when it answers (while it does not: none removed, not approved). The
    /// delete itself drops the local copy and its upload and queues a tombstone carrying the
    /// entry and capture instant; the service applies the same policy to it once.
    pub(crate) async fn delete_unsent(
        &self,
        shot: ScreenshotInfo,
        dry_run: bool,
    ) -> Result<DeleteReport, AgentError> {
        let shared = self.shared();
        let now = shared.time.now();
        let entry_id = shot.entry_id;
        let (entry, others, deleted_here) = shared
            .store
            .call(move |s| {
                let entry = s.get_entry(entry_id)?;
                let deleted_here = s.unsent_deletes_of(entry_id)?;
                let others: Vec<DateTime<Utc>> = s
                    .screenshots_of_entry(entry_id)?
                    .into_iter()
                    .filter(|o| {
                        o.id != shot.id
                            && !shotclock_domain::retention::is_expired(o.captured_at, now)
                    })
                    .map(|o| o.captured_at)
                    .collect();
                Ok((entry, others, deleted_here))
            })
            .await?;
        let entry = entry.ok_or_else(|| refused(ErrorCode::NotFound, "no such screenshot"))?;
        let served = self.served_entry(&entry).await?;
        let approved = served.as_ref().is_some_and(|e| e.approved);
        let mut times = EntryTimes {
            start: entry.start,
            end: entry.end,
            removed: served.as_ref().map(removed_spans).unwrap_or_default(),
        };
        let account = &shared.account;
        // What a member's deletes made here and not sent yet removed is not at the service yet:
        // it is removed already, and this delete must not take it again (R21). An admin's
        // deletes remove nothing (R22).
        if !account.role.is_admin() {
            let remain: Vec<DateTime<Utc>> = others
                .iter()
                .copied()
                .chain(std::iter::once(shot.captured_at))
                .collect();
            times.removed =
                times
                    .removed
                    .union(&removed_by_deletes(&times, &remain, &deleted_here));
        }
        let lock_date = shared.settings.borrow().lock_date;
        let decision = decide(&DeleteRequest {
            actor: Actor {
                user: account.user_id,
                workspace: account.workspace_id,
                role: account.role,
            },
            owner: Owner {
                user: account.user_id,
                workspace: account.workspace_id,
            },
            entry: &times,
            locked: is_locked(times.start, lock_date),
            approved,
            captured_at: shot.captured_at,
            others: &others,
        });
        let (kind, removed_secs) = match &decision {
            DeleteDecision::DeleteScreenshot { removes } => {
                (DeleteKind::DeleteScreenshot, removes.total().num_seconds())
            }
            DeleteDecision::DeleteEntry => {
                (DeleteKind::DeleteEntry, times.duration(now).num_seconds())
            }
            DeleteDecision::Forbidden(reason) => {
                return Err(refused(reason.error_code(), &reason.to_string()));
            }
            DeleteDecision::StopTimerFirst => {
                return Err(refused(
                    ErrorCode::StopTimerFirst,
                    "the entry is still running; stop the timer first",
                ));
            }
        };
        if !dry_run {
            let unsent = Some(UnsentShot {
                entry_id,
                captured_at: shot.captured_at,
            });
            let local_now = shared.time.local_now();
            let id = shot.id;
            // The entry keeps counting what this delete removed (R21): exactly, over the
            // service's removed spans when it answered (which also brings a count here that
            // was behind up to date); else added to what is held here.
            let deducted = match (&decision, &served) {
                (DeleteDecision::DeleteScreenshot { removes }, Some(_)) => Some(
                    EntryTimes {
                        removed: times.removed.union(removes),
                        ..times.clone()
                    }
                    .deducted(now),
                ),
                (DeleteDecision::DeleteScreenshot { removes }, None) => {
                    Some(entry.deducted + removes.total())
                }
                _ => None,
            };
            shared
                .store
                .call(move |s| match deducted {
                    Some(total) => s.delete_screenshot_deducting(
                        id,
                        (entry_id, total),
                        Some((unsent, local_now)),
                    ),
                    None => s.delete_screenshot_with_tombstone(id, unsent, local_now),
                })
                .await?;
            shared.kick.notify_one();
            shared.emit(AgentEvent::Deleted);
        }
        Ok(DeleteReport {
            screenshot_id: shot.id,
            entry_id,
            entry_description: entry.description,
            decision: kind,
            removed_secs,
            dry_run,
        })
    }

    /// The service's state of an entry held here: what only it knows (its removed spans,
    /// whether it is approved). `None` when it cannot be reached or does not have the entry
    /// yet.
    pub(crate) async fn served_entry(
        &self,
        entry: &TimeEntry,
    ) -> Result<Option<Entry>, AgentError> {
        let from = entry.start;
        let to = from + chrono::TimeDelta::milliseconds(1);
        match self
            .shared()
            .service
            .client
            .entries(Some(from), Some(to), None)
            .await
        {
            Ok(list) => Ok(list.entries.into_iter().find(|e| e.id == entry.id)),
            Err(e) if e.is_retryable() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The capture indicator's data (R7, R12, R25): the status, the last attempt, the items
    /// the service refused for good, and how many changes wait to be sent.
    pub async fn capture_view(&self) -> Result<CaptureView, AgentError> {
        let last_attempt = self.last_attempt().await?.map(|a| AttemptView {
            at: a.at,
            health: a.health,
            detail: a.detail,
        });
        let rejected = self
            .rejected_items()
            .await?
            .into_iter()
            .map(|item| RejectedItem {
                kind: item.kind,
                reason: item.rejected_reason.unwrap_or_default(),
                created_at: item.created_at,
            })
            .collect();
        Ok(CaptureView {
            status: self.capture_status(),
            last_attempt,
            rejected,
            pending: self.pending_count().await?,
        })
    }

    /// The workspace's settings as the service holds them now.
    pub async fn workspace_settings(&self) -> Result<WorkspaceSettings, AgentError> {
        Ok(self.shared().service.client.workspace().await?)
    }

    /// Changes the workspace's settings (admins, R4, R5).
    pub async fn update_settings(
        &self,
        patch: &UpdateSettingsRequest,
    ) -> Result<WorkspaceSettings, AgentError> {
        Ok(self.shared().service.client.update_workspace(patch).await?)
    }

    /// Starts the workspace's trial (R5).
    pub async fn start_trial(&self) -> Result<WorkspaceSettings, AgentError> {
        Ok(self.shared().service.client.start_trial().await?)
    }

    /// The caller's unread notifications (R6).
    pub async fn unread_notifications(&self) -> Result<Vec<Notification>, AgentError> {
        let list = self.shared().service.client.notifications().await?;
        Ok(list.notifications.into_iter().filter(|n| !n.read).collect())
    }

    /// Marks a notification read.
    pub async fn mark_notification_read(&self, id: NotificationId) -> Result<(), AgentError> {
        self.shared()
            .service
            .client
            .mark_notification_read(id)
            .await?;
        Ok(())
    }
}

/// An entry's removed time as the service lists it.
pub(crate) fn removed_spans(entry: &Entry) -> SpanSet {
    entry
        .removed
        .iter()
        .map(|t| Span::new(t.start, t.end))
        .collect()
}

/// An entry's removed time inside it as the service holds it, to the millisecond (its
/// `deducted_secs` is rounded down to the second): what the local buffer keeps as deducted.
pub(crate) fn served_deducted(entry: &Entry) -> TimeDelta {
    EntryTimes {
        start: entry.start,
        end: entry.end,
        removed: removed_spans(entry),
    }
    // A running entry's removed time all lies before now.
    .deducted(DateTime::<Utc>::MAX_UTC)
}

fn refused(code: ErrorCode, message: &str) -> AgentError {
    AgentError::Refused(ApiError::new(code, message))
}

/// One member's screenshots of a day as a client lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayShots {
    pub user_id: UserId,
    /// `YYYY-MM-DD` in `time_zone`.
    pub date: String,
    pub time_zone: String,
    /// Oldest first.
    pub screenshots: Vec<DayShot>,
}

/// One screenshot of a day, and whether it is still waiting on this device to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayShot {
    #[serde(flatten)]
    pub screenshot: Screenshot,
    /// Still in this device's outbox: the service does not hold it yet.
    pub waiting_to_sync: bool,
}

/// The service's list with this device's unsent screenshots added (an id the service already
/// holds is the service's), oldest first.
fn merge_shots(served: Vec<Screenshot>, unsent: Vec<Screenshot>) -> Vec<DayShot> {
    let known: std::collections::HashSet<_> = served.iter().map(|s| s.id).collect();
    let mut out: Vec<DayShot> = served
        .into_iter()
        .map(|screenshot| DayShot {
            screenshot,
            waiting_to_sync: false,
        })
        .chain(
            unsent
                .into_iter()
                .filter(|s| !known.contains(&s.id))
                .map(|screenshot| DayShot {
                    screenshot,
                    waiting_to_sync: true,
                }),
        )
        .collect();
    out.sort_by_key(|s| (s.screenshot.captured_at, s.screenshot.id));
    out
}

/// What this device holds of a range of entries, and its changes still queued.
#[derive(Debug, Default)]
struct Held {
    entries: Vec<TimeEntry>,
    /// Entries added here by hand (their creation sent or not).
    manual: Vec<EntryId>,
    /// Entries deleted here whose tombstone waits to be sent.
    deleted: Vec<EntryId>,
}

/// The service's entries (`None`: unreachable) with this device's unsent changes applied.
fn merge_entries(
    service: Option<Vec<Entry>>,
    held: Held,
    user: UserId,
    now: DateTime<Utc>,
) -> Vec<Entry> {
    let online = service.is_some();
    let mut by_id: HashMap<_, Entry> = service
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !held.deleted.contains(&e.id))
        .map(|e| (e.id, e))
        .collect();
    for entry in held.entries {
        // Online, a local entry the service already has in its latest state adds nothing.
        if online && entry.synced {
            continue;
        }
        let (merged, deducted) = match by_id.remove(&entry.id) {
            // The service's removed time, inside the times queued here.
            Some(known) => {
                let times = EntryTimes {
                    start: entry.start,
                    end: entry.end,
                    removed: removed_spans(&known),
                };
                let merged = Entry {
                    description: entry.description,
                    start: entry.start,
                    end: entry.end,
                    ..known
                };
                (merged, times.deducted(now))
            }
            // Offline, or not at the service yet: what this device holds.
            None => {
                let merged = Entry {
                    id: entry.id,
                    user_id: user,
                    description: entry.description,
                    start: entry.start,
                    end: entry.end,
                    removed: Vec::new(),
                    deducted_secs: 0,
                    duration_secs: 0,
                    approved: false,
                    locked: false,
                    manual: held.manual.contains(&entry.id),
                };
                (merged, entry.deducted)
            }
        };
        by_id.insert(
            merged.id,
            Entry {
                deducted_secs: deducted.num_seconds(),
                duration_secs: counted(merged.start, merged.end, deducted, now).num_seconds(),
                ..merged
            },
        );
    }
    let mut out: Vec<Entry> = by_id.into_values().collect();
    out.sort_by_key(|e| (e.start, e.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + min * 60, 0).unwrap_or_default()
    }

    fn served(id: EntryId, user: UserId, start: i64, end: Option<i64>) -> Entry {
        Entry {
            id,
            user_id: user,
            description: "served".into(),
            start: at(start),
            end: end.map(at),
            removed: vec![shotclock_api::dto::TimeSpan {
                start: at(start),
                end: at(start + 1),
            }],
            deducted_secs: 60,
            duration_secs: 0,
            approved: true,
            locked: false,
            manual: false,
        }
    }

    fn held(id: EntryId, start: i64, end: Option<i64>, synced: bool) -> TimeEntry {
        TimeEntry {
            id,
            description: "held".into(),
            start: at(start),
            end: end.map(at),
            deducted: TimeDelta::zero(),
            synced,
        }
    }

    #[test]
    fn queued_changes_win_over_the_service_and_synced_ones_add_nothing() {
        let user = UserId::new();
        let (stopped_here, untouched, started_here) =
            (EntryId::new(), EntryId::new(), EntryId::new());
        let service = vec![
            served(stopped_here, user, 0, None),
            served(untouched, user, 100, Some(110)),
        ];
        let local = vec![
            held(stopped_here, 0, Some(30), false),
            held(untouched, 100, Some(200), true),
            held(started_here, 300, None, false),
        ];
        let held = Held {
            entries: local,
            ..Held::default()
        };
        let merged = merge_entries(Some(service), held, user, at(310));
        let ids: Vec<_> = merged.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![stopped_here, untouched, started_here]);
        // The stop queued here ends it; what the service knows besides (approval, deducted
        // time) stays.
        assert_eq!(merged[0].end, Some(at(30)));
        assert_eq!(
            merged[0].description, "held",
            "the description queued here shows"
        );
        assert_eq!(merged[1].description, "served");
        assert!(merged[0].approved);
        assert_eq!(merged[0].duration_secs, 30 * 60 - 60);
        assert_eq!(merged[1].end, Some(at(110)), "the service's state stays");
        assert_eq!(merged[2].user_id, user);
        assert_eq!(merged[2].duration_secs, 10 * 60, "running: up to now");
        assert!(!merged[2].approved);
    }

    #[test]
    fn an_edit_queued_here_shows_its_times_with_the_services_removed_time_inside_them() {
        let user = UserId::new();
        let id = EntryId::new();
        // The service's entry [0, 50) has its first minute removed.
        let merged = |start, end| {
            let local = Held {
                entries: vec![held(id, start, Some(end), false)],
                ..Held::default()
            };
            merge_entries(
                Some(vec![served(id, user, 0, Some(50))]),
                local,
                user,
                at(60),
            )
        };
        let earlier = merged(-5, 40);
        assert_eq!((earlier[0].start, earlier[0].end), (at(-5), Some(at(40))));
        assert_eq!(earlier[0].description, "held");
        assert_eq!(earlier[0].deducted_secs, 60);
        assert_eq!(earlier[0].duration_secs, 45 * 60 - 60);
        // A start moved past the removed minute leaves it outside.
        let later = merged(2, 40);
        assert_eq!(later[0].start, at(2));
        assert_eq!(later[0].deducted_secs, 0);
        assert_eq!(later[0].duration_secs, 38 * 60);
    }

    #[test]
    fn unreachable_service_answers_what_this_device_knows() {
        let user = UserId::new();
        let id = EntryId::new();
        let local = Held {
            entries: vec![held(id, 0, Some(5), true)],
            ..Held::default()
        };
        let merged = merge_entries(None, local, user, at(10));
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].duration_secs, 5 * 60);
    }

    #[test]
    fn entries_deleted_here_go_and_time_added_here_is_manual() {
        let user = UserId::new();
        let (deleted, added) = (EntryId::new(), EntryId::new());
        let local = Held {
            entries: vec![held(added, 20, Some(30), false)],
            manual: vec![added],
            deleted: vec![deleted],
        };
        let merged = merge_entries(
            Some(vec![served(deleted, user, 0, Some(10))]),
            local,
            user,
            at(40),
        );
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].id, added);
        assert!(merged[0].manual);
    }
}
