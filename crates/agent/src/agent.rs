//! Starting the engine and the handle the shell drives it through.

use crate::clock::{Clock, ServiceTime};
use crate::error::AgentError;
use crate::service::Service;
use crate::session::Session;
use crate::state::{AgentEvent, CaptureStatus, OffReason, Running, RunningTimer, Shared};
use crate::{events, retention, scheduler, uploader};
use shotclock_api::dto::{DeleteKind, DeleteReport};
use shotclock_api::{EntryId, ScreenshotId};
use shotclock_capture::ScreenSource;
use shotclock_store::{
    CachedAccount, CaptureAttempt, NewOutboxItem, OutboxItem, OutboxPayload, ScreenshotState,
    StoreHandle, TimeEntry, TimerStart, TimerStop,
};
use shotclock_sync::Client;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinSet;

/// Where the engine keeps its data and what time it is.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The local buffer lives here (0700; files 0600).
    pub data_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
}

/// The engine. [`Agent::start`] returns its handle.
#[derive(Debug)]
pub struct Agent;

/// A cheap, cloneable handle on the running engine.
#[derive(Debug, Clone)]
pub struct AgentHandle {
    shared: Arc<Shared>,
    tasks: Arc<tokio::sync::Mutex<JoinSet<()>>>,
}

impl Agent {
    /// Opens the local buffer and starts the engine's tasks for `session`, capturing with
    /// `source`.
    pub async fn start<S>(
        config: AgentConfig,
        session: Session,
        source: S,
    ) -> Result<AgentHandle, AgentError>
    where
        S: ScreenSource + Send + 'static,
    {
        let store = StoreHandle::open(config.data_dir.clone()).await?;
        let client = Client::new(&session.server_url)?.with_token(&session.token);
        let account = CachedAccount {
            server_url: session.server_url.clone(),
            user_id: session.me.user.id,
            workspace_id: session.me.workspace.id,
            role: session.me.user.role,
            email: session.me.user.email.clone(),
        };
        let acct = account.clone();
        store.call(move |s| s.set_account(&acct)).await?;
        let cached = store.call(|s| s.settings()).await?;
        // An offline start's `me` is older than what the buffer cached since (an admin may have
        // turned capture off meanwhile, R4): then the cached settings stay.
        let keep_cached = session.saved && cached.is_some();
        let settings = cached.unwrap_or_default();
        // The entry the buffer holds as running is captured only once the service confirms it,
        // unless it was started here and its start is still queued (offline, R25): it may have
        // been stopped or deleted elsewhere while the app was closed (R8).
        let running = store
            .call(|s| {
                let Some(entry) = s.running_entry()? else {
                    return Ok(None);
                };
                let confirmed = s.pending_changes_of(entry.id)? > 0;
                Ok(Some(Running { entry, confirmed }))
            })
            .await?;

        let (timer, _) = watch::channel(running);
        let (settings_tx, _) = watch::channel(settings);
        let own = store.call(|s| s.own_block_rules()).await?;
        let (own_rules, _) = watch::channel(own.iter().map(crate::blocklist::to_capture).collect());
        let ws_rules = store.call(|s| s.workspace_block_rules()).await?;
        let (workspace_rules, _) =
            watch::channel(ws_rules.iter().map(crate::blocklist::to_capture).collect());
        let (capture, _) = watch::channel(CaptureStatus::Off {
            reason: OffReason::Starting,
            source: Some(source.choice()),
            consent: source.consent(),
        });
        let (events, _) = broadcast::channel(256);
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            store,
            service: Service { client },
            time: ServiceTime::new(config.clock.clone()),
            account,
            timer,
            timer_lock: tokio::sync::Mutex::new(()),
            timer_settled: Notify::new(),
            settings: settings_tx,
            own_rules,
            workspace_rules,
            capture,
            ask_again: Notify::new(),
            kick: Notify::new(),
            reconnected: Notify::new(),
            events,
            shutdown,
        });
        // Settings from the sign-in answer, before the event stream connects; the timer is the
        // service's to confirm once it does.
        if !keep_cached {
            events::adopt_settings(&shared, &session.me.workspace).await;
        }
        events::sync_clock(&shared).await;

        let mut tasks = JoinSet::new();
        tasks.spawn(events::run(shared.clone()));
        tasks.spawn(uploader::run(shared.clone()));
        tasks.spawn(retention::run(shared.clone()));
        tasks.spawn(scheduler::run(shared.clone(), source));
        Ok(AgentHandle {
            shared,
            tasks: Arc::new(tokio::sync::Mutex::new(tasks)),
        })
    }
}

impl AgentHandle {
    /// Events for the UI (timer, capture state, notifications, refused items).
    pub fn subscribe(&self) -> broadcast::Receiver<AgentEvent> {
        self.shared.events.subscribe()
    }

    /// The signed-in account.
    pub fn account(&self) -> &CachedAccount {
        &self.shared.account
    }

    /// Whether `other` is a handle on this same engine (not another session's).
    pub fn same_engine(&self, other: &AgentHandle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Whether screenshots are being taken now, and if not, why (R7).
    pub fn capture_status(&self) -> CaptureStatus {
        self.shared.capture.borrow().clone()
    }

    /// Clears a declined screen-sharing dialog (the Wayland portal's): the desktop asks again
    /// at once when a timer runs with capture on, else when capture next turns on. Does nothing
    /// unless the last dialog was declined.
    pub fn ask_screen_again(&self) {
        self.shared.ask_again.notify_one();
    }

    /// The running timer, as this device knows it.
    pub fn running(&self) -> Option<RunningTimer> {
        self.shared
            .timer
            .borrow()
            .as_ref()
            .map(|r| RunningTimer::from(&r.entry))
    }

    /// Starts a timer (R13): works offline; the change is queued and sent in order. A timer
    /// already running stops at the new start.
    pub async fn start_timer(&self, description: String) -> Result<RunningTimer, AgentError> {
        let description = description.trim().to_owned();
        crate::manage::check_description(Some(&description))?;
        let _changing = self.shared.timer_lock.lock().await;
        let now = self.shared.time.now();
        let previous = self.shared.running_entry();
        if let Some(prev) = previous {
            self.record_stop(prev, now).await?;
        }
        let entry = TimeEntry {
            id: EntryId::new(),
            description: description.clone(),
            start: now,
            end: None,
            deducted: chrono::TimeDelta::zero(),
            synced: false,
        };
        let item = NewOutboxItem {
            item_id: *entry.id.as_uuid(),
            entry_id: Some(entry.id),
            payload: OutboxPayload::TimerStart(TimerStart {
                entry_id: entry.id,
                description,
                start: now,
            }),
        };
        let to_store = entry.clone();
        let local_now = self.shared.time.local_now();
        self.shared
            .store
            .call(move |s| s.record_timer_change(&to_store, &item, local_now))
            .await?;
        self.shared.kick.notify_one();
        let running = RunningTimer::from(&entry);
        self.shared.set_timer(Some(Running::confirmed(entry)));
        Ok(running)
    }

    /// Stops the running timer.
    pub async fn stop_timer(&self) -> Result<(), AgentError> {
        let _changing = self.shared.timer_lock.lock().await;
        let Some(entry) = self.shared.running_entry() else {
            return Err(AgentError::NoTimer);
        };
        self.record_stop(entry, self.shared.time.now()).await?;
        self.shared.set_timer(None);
        Ok(())
    }

    async fn record_stop(
        &self,
        entry: TimeEntry,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), AgentError> {
        let end = end.max(entry.start);
        let stopped = TimeEntry {
            end: Some(end),
            ..entry
        };
        let item = NewOutboxItem {
            item_id: uuid::Uuid::now_v7(),
            entry_id: Some(stopped.id),
            payload: OutboxPayload::TimerStop(TimerStop {
                entry_id: stopped.id,
                end,
            }),
        };
        let local_now = self.shared.time.local_now();
        self.shared
            .store
            .call(move |s| s.record_timer_change(&stopped, &item, local_now))
            .await?;
        self.shared.kick.notify_one();
        Ok(())
    }

    /// Deletes a screenshot on the service (R19–R22) — or, with `dry_run`, only answers what the
    /// delete would do. After a real delete the local copy goes at once — with its entry, when
    /// it was the member's last screenshot of it (R21) — without waiting for the service's
    /// event (R24), and the UI hears [`AgentEvent::Deleted`].
    ///
    /// A screenshot still waiting here to be sent is deleted here: the answer comes from the
    /// same `domain` policy, computed locally, and the delete is queued as a tombstone that
    /// the service applies once — the screenshot itself never reaches it.
    pub async fn delete_screenshot(
        &self,
        id: ScreenshotId,
        dry_run: bool,
    ) -> Result<DeleteReport, AgentError> {
        let held = self.shared.store.call(move |s| s.screenshot(id)).await?;
        if let Some(shot) = held
            && shot.info.state == ScreenshotState::Pending
        {
            return self.delete_unsent(shot.info, dry_run).await;
        }
        let report = self
            .shared
            .service
            .client
            .delete_screenshot(id, dry_run)
            .await?;
        if dry_run {
            return Ok(report);
        }
        if report.decision == DeleteKind::DeleteEntry {
            // The member's last screenshot took its entry with it (R21): so here, at once.
            self.shared.drop_deleted_entry(report.entry_id).await?;
        } else {
            let deducted = self.deducted_after(&report).await?;
            self.shared
                .store
                .call(move |s| match deducted {
                    Some(d) => s.delete_screenshot_deducting(id, d, None),
                    None => s.delete_screenshot(id),
                })
                .await?;
        }
        self.shared.emit(AgentEvent::Deleted);
        Ok(report)
    }

    /// After the service deleted a screenshot of an entry held here and removed time from it
    /// (a member's delete that left the entry, R21): the entry's whole removed time, for the
    /// local buffer to keep counting it as the service does. Read back from the service to the
    /// millisecond; if it cannot answer, the report's whole seconds are added to what is held.
    async fn deducted_after(
        &self,
        report: &DeleteReport,
    ) -> Result<Option<(EntryId, chrono::TimeDelta)>, AgentError> {
        if self.shared.account.role.is_admin() {
            // An admin's delete removes no time (R22).
            return Ok(None);
        }
        let entry_id = report.entry_id;
        let Some(held) = self
            .shared
            .store
            .call(move |s| s.get_entry(entry_id))
            .await?
        else {
            return Ok(None);
        };
        let total = match self.served_entry(&held).await? {
            Some(served) => crate::door::served_deducted(&served),
            None => held.deducted + chrono::TimeDelta::seconds(report.removed_secs),
        };
        Ok(Some((entry_id, total)))
    }

    /// Items the service refused for good, with their reasons (R25).
    pub async fn rejected_items(&self) -> Result<Vec<OutboxItem>, AgentError> {
        Ok(self.shared.store.call(|s| s.rejected_items()).await?)
    }

    /// How many changes wait to be sent.
    pub async fn pending_count(&self) -> Result<u64, AgentError> {
        Ok(self.shared.store.call(|s| s.pending_count()).await?)
    }

    /// The most recent capture attempt: "why is there no screenshot at 10:05" (R12).
    pub async fn last_attempt(&self) -> Result<Option<CaptureAttempt>, AgentError> {
        Ok(self.shared.store.call(|s| s.last_attempt()).await?)
    }

    /// The local buffer, for the engine's own integration tests only: no client reads or
    /// writes it past the engine.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn local_store(&self) -> &StoreHandle {
        &self.shared.store
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Runs one retention pass now; returns how many local screenshots went.
    pub async fn purge_expired(&self) -> usize {
        retention::purge(&self.shared).await
    }

    /// Re-reads the timer and settings from the service now. A timer the buffer could not take
    /// is read again by the event loop, which retries until the buffer takes it. (One that could
    /// not be read is left to the event stream: its live events, and the read at each connect.)
    pub async fn refresh(&self) {
        if events::refresh(&self.shared).await == events::Adopted::Unsaved {
            self.shared.timer_settled.notify_one();
        }
    }

    /// Stops every task and waits for them.
    pub async fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        let mut tasks = self.tasks.lock().await;
        while tasks.join_next().await.is_some() {}
    }

    /// Signs out: ends the session on the service, stops the engine and forgets the account.
    /// Unsent items stay queued for the next sign-in of the same account.
    pub async fn sign_out(&self) -> Result<(), AgentError> {
        let logout = self.shared.service.client.logout().await;
        self.shutdown().await;
        self.shared.store.call(|s| s.clear_account()).await?;
        self.shared.emit(AgentEvent::SignedOut);
        logout.map_err(AgentError::from)
    }
}
