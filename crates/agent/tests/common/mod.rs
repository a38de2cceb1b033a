//! Test harness of the engine's integration tests. The service they run against (with a short
//! capture window and a clock they can shift), its teams and `eventually` are
//! `shotclock-testkit`'s.
//!
//! - [`Screen`]: a synthetic desktop (`shotclock_capture::synthetic`) whose every capture is a
//!   different frame, and which counts the captures it was asked for; [`HeldGrab`] holds its
//!   first grab until the test lets it finish.
//! - [`Events`]: records everything an [`AgentHandle`] emits, for polling.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

pub mod process;
pub mod proxy;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_agent::{
    Agent, AgentConfig, AgentEvent, AgentHandle, CaptureStatus, Clock, OffReason, Session,
    SystemClock,
};
use shotclock_api::EntryId;
use shotclock_api::dto::Screenshot;
use shotclock_capture::{CaptureError, Frame, ScreenSource, synthetic};
use shotclock_store::{CaptureAttempt, ScreenshotInfo};
use shotclock_sync::Client;
use shotclock_testkit::{PASSWORD, Person, eventually, wait_for};

/// Generous: the machine is shared and slow; a deadline only bounds a failure.
pub const DEADLINE: Duration = Duration::from_secs(30);

// ---- the engine -------------------------------------------------------------------------------

/// Signs `who` in the way the app does (R2).
pub async fn session(url: &str, who: &Person) -> Session {
    Session::sign_in(url, &who.email, PASSWORD).await.unwrap()
}

/// `who`'s engine on `dir`, signed in at `url`, on a synthetic desktop ([`Screen`]).
pub async fn agent_of(dir: &Path, url: &str, who: &Person) -> AgentHandle {
    start_agent(dir, session(url, who).await, Screen::new()).await
}

/// Starts the engine on `dir` with the system clock.
pub async fn start_agent<S>(dir: &Path, session: Session, source: S) -> AgentHandle
where
    S: ScreenSource + Send + 'static,
{
    start_agent_with_clock(dir, session, source, Arc::new(SystemClock)).await
}

pub async fn start_agent_with_clock<S>(
    dir: &Path,
    session: Session,
    source: S,
    clock: Arc<dyn Clock>,
) -> AgentHandle
where
    S: ScreenSource + Send + 'static,
{
    let config = AgentConfig {
        data_dir: dir.to_owned(),
        clock,
    };
    Agent::start(config, session, source).await.unwrap()
}

/// A synthetic 1280×720 desktop: every capture is a different, desktop-like frame (so no two
/// thumbnails share bytes), and the number of captures asked for is counted.
#[derive(Debug, Clone)]
pub struct Screen {
    captures: Arc<AtomicUsize>,
    seed: u64,
}

impl Screen {
    pub fn new() -> Self {
        static SEEDS: AtomicU64 = AtomicU64::new(1);
        Self {
            captures: Arc::new(AtomicUsize::new(0)),
            seed: SEEDS.fetch_add(1, Ordering::Relaxed) << 32 ^ u64::from(std::process::id()),
        }
    }

    /// A counter shared with the clone the engine owns.
    pub fn counter(&self) -> Arc<AtomicUsize> {
        self.captures.clone()
    }

    pub fn captures(&self) -> usize {
        self.captures.load(Ordering::SeqCst)
    }
}

impl ScreenSource for Screen {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        let n = self.captures.fetch_add(1, Ordering::SeqCst) as u64;
        let seed = self.seed.wrapping_add(n);
        let mut frame = synthetic::desktop_frame(0, 0, 1280, 720, seed)?;
        // The blur makes desktops of different seeds look alike (that is its job); tint the
        // whole frame so that no two thumbnails share their bytes.
        let tint = [
            (seed % 61) as u8,
            (seed / 61 % 59) as u8,
            (seed / 3599 % 53) as u8,
        ];
        for px in frame.data_mut().chunks_exact_mut(4) {
            for (c, t) in px.iter_mut().zip(tint) {
                *c = c.saturating_add(t);
            }
        }
        Ok(vec![frame])
    }
}

/// Another connection holding the write lock of an engine's buffer (see [`lock_buffer`]).
pub struct HeldLock {
    release: std::sync::mpsc::Sender<()>,
    holder: std::thread::JoinHandle<i64>,
}

/// Holds the write lock of the buffer in `dir` from another connection (a `sqlite3` shell left
/// in a transaction) until [`HeldLock::release`], which answers `count` (a `SELECT count(*)`)
/// read inside the lock's transaction.
pub async fn lock_buffer(dir: &Path, count: &'static str) -> HeldLock {
    let dir = dir.to_owned();
    let path = tokio::task::spawn_blocking(move || {
        shotclock_store::Store::open(&dir)
            .unwrap()
            .path()
            .to_owned()
    })
    .await
    .unwrap();
    let (held, is_held) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        held.send(()).unwrap();
        let _ = released.recv();
        let counted: i64 = conn.query_row(count, [], |row| row.get(0)).unwrap();
        conn.execute_batch("COMMIT").unwrap();
        counted
    });
    is_held.await.unwrap();
    HeldLock { release, holder }
}

impl HeldLock {
    /// Lets the lock go; answers the count read just before.
    pub fn release(self) -> i64 {
        self.release.send(()).unwrap();
        self.holder.join().unwrap()
    }
}

/// A desktop whose first grab waits, once it has begun, until the test lets it finish (for at
/// most [`DEADLINE`], so a failed test never leaves the engine stuck in it).
pub struct HeldGrab {
    screen: Screen,
    began: std::sync::mpsc::Sender<()>,
    finish: std::sync::mpsc::Receiver<()>,
    held: bool,
}

/// The test's side of a [`HeldGrab`].
pub struct Grab {
    began: Option<std::sync::mpsc::Receiver<()>>,
    finish: std::sync::mpsc::Sender<()>,
}

impl HeldGrab {
    pub fn new(screen: Screen) -> (Self, Grab) {
        let (began_tx, began) = std::sync::mpsc::channel();
        let (finish, finish_rx) = std::sync::mpsc::channel();
        let source = Self {
            screen,
            began: began_tx,
            finish: finish_rx,
            held: false,
        };
        let grab = Grab {
            began: Some(began),
            finish,
        };
        (source, grab)
    }
}

impl ScreenSource for HeldGrab {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        if !self.held {
            self.held = true;
            let _ = self.began.send(());
            let _ = self.finish.recv_timeout(DEADLINE);
        }
        self.screen.capture_all()
    }
}

impl Grab {
    /// Waits until the first grab has begun (it is held from then on).
    pub async fn began(&mut self) {
        let began = self.began.take().expect("waited for once");
        tokio::task::spawn_blocking(move || began.recv_timeout(DEADLINE))
            .await
            .unwrap()
            .expect("a grab began");
    }

    /// Lets the held grab finish.
    pub fn finish(&self) {
        self.finish.send(()).unwrap();
    }
}

/// Everything an engine emitted, with when it arrived.
pub struct Events {
    log: Arc<Mutex<Vec<(Instant, AgentEvent)>>>,
}

impl Events {
    /// Starts recording `handle`'s events (only those emitted from now on).
    pub fn record(handle: &AgentHandle) -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut rx = handle.subscribe();
        let sink = log.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(event) => sink.lock().unwrap().push((Instant::now(), event)),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Self { log }
    }

    pub fn all(&self) -> Vec<(Instant, AgentEvent)> {
        self.log.lock().unwrap().clone()
    }

    /// The events recorded after `since`.
    pub fn since(&self, since: Instant) -> Vec<AgentEvent> {
        self.all()
            .into_iter()
            .filter(|(at, _)| *at >= since)
            .map(|(_, e)| e)
            .collect()
    }

    /// Waits for the first event after `since` that `pick` accepts.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        since: Instant,
        pick: impl Fn(&AgentEvent) -> Option<T>,
    ) -> (Instant, T) {
        eventually(what, DEADLINE, || {
            let found = self
                .all()
                .into_iter()
                .filter(|(at, _)| *at >= since)
                .find_map(|(at, e)| pick(&e).map(|v| (at, v)));
            async move { found }
        })
        .await
    }
}

// ---- looking at both sides --------------------------------------------------------------------

/// The caller's screenshots at the service between `from` and `to` (every UTC day in between),
/// oldest first.
pub async fn service_shots(
    client: &Client,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Screenshot> {
    let mut day = from.date_naive();
    let mut out = Vec::new();
    while day <= to.date_naive() {
        let list = client.screenshots_of_day(None, day, "UTC").await.unwrap();
        out.extend(list.screenshots);
        day = day.succ_opt().unwrap();
    }
    out.sort_by_key(|s| (s.captured_at, s.id));
    out
}

/// The service's screenshots of `entry` (last two days), oldest first.
pub async fn service_shots_of(client: &Client, entry: EntryId) -> Vec<Screenshot> {
    let now = Utc::now();
    service_shots(client, now - TimeDelta::days(1), now + TimeDelta::days(1))
        .await
        .into_iter()
        .filter(|s| s.entry_id == entry)
        .collect()
}

/// The local store's screenshots of `entry`, oldest first.
pub async fn local_shots(handle: &AgentHandle, entry: EntryId) -> Vec<ScreenshotInfo> {
    handle
        .local_store()
        .call(move |s| s.screenshots_of_entry(entry))
        .await
        .unwrap()
}

/// The local store's capture attempts of `entry`, oldest first.
pub async fn local_attempts(handle: &AgentHandle, entry: EntryId) -> Vec<CaptureAttempt> {
    let now = Utc::now();
    let mut all = handle
        .local_store()
        .call(move |s| s.attempts_between(now - TimeDelta::days(30), now + TimeDelta::days(1)))
        .await
        .unwrap();
    all.retain(|a| a.entry_id == entry);
    all
}

pub async fn pending(handle: &AgentHandle) -> u64 {
    handle.pending_count().await.unwrap()
}

/// Waits until the outbox is empty (every item sent, or refused and set aside); a failure says
/// how many were still pending at the deadline.
pub async fn drained(handle: &AgentHandle, within: Duration) {
    let left = AtomicU64::new(u64::MAX);
    let result = wait_for(within, "the outbox to drain", || async {
        let n = pending(handle).await;
        left.store(n, Ordering::SeqCst);
        (n == 0).then_some(())
    })
    .await;
    if let Err(e) = result {
        panic!("{e}: {} still pending", left.load(Ordering::SeqCst));
    }
}

/// Stops the timer and waits until capture has gone off with it: a screenshot whose moment came
/// just before the stop is stored by then (it belongs to the entry, R9), so it cannot land
/// after the test has read what the entry holds.
pub async fn stop_settled(handle: &AgentHandle) {
    handle.stop_timer().await.unwrap();
    eventually("capture to go off after the stop", DEADLINE, || async {
        matches!(
            handle.capture_status(),
            CaptureStatus::Off {
                reason: OffReason::NoTimer,
                ..
            }
        )
        .then_some(())
    })
    .await;
}

/// Waits until the local store holds at least `at_least` screenshots of `entry`, and returns
/// them (oldest first); a failure says how many there were at the deadline.
pub async fn captured(
    handle: &AgentHandle,
    entry: EntryId,
    at_least: usize,
    within: Duration,
) -> Vec<ScreenshotInfo> {
    let seen = AtomicUsize::new(0);
    let what = format!("{at_least} local screenshots of the entry");
    let result = wait_for(within, &what, || async {
        let shots = local_shots(handle, entry).await;
        seen.store(shots.len(), Ordering::SeqCst);
        (shots.len() >= at_least).then_some(shots)
    })
    .await;
    result.unwrap_or_else(|e| panic!("{e}: {} so far", seen.load(Ordering::SeqCst)))
}

/// The index of the capture window of an entry started at `start` that holds `t` (R9).
pub fn window_of(start: DateTime<Utc>, window_secs: u32, t: DateTime<Utc>) -> i64 {
    let w = i64::from(window_secs) * 1000;
    (t - start).num_milliseconds().div_euclid(w)
}

/// Asserts that no two of `times` fall in one capture window of the entry started at `start`,
/// and that none lies before the start; returns the windows (sorted).
#[track_caller]
pub fn assert_one_per_window(
    start: DateTime<Utc>,
    window_secs: u32,
    times: &[DateTime<Utc>],
) -> Vec<i64> {
    let mut by_window: BTreeMap<i64, Vec<DateTime<Utc>>> = BTreeMap::new();
    for t in times {
        by_window
            .entry(window_of(start, window_secs, *t))
            .or_default()
            .push(*t);
    }
    for (w, ts) in &by_window {
        assert!(
            *w >= 0,
            "a capture at {ts:?} precedes the entry start {start}"
        );
        assert_eq!(
            ts.len(),
            1,
            "window {w} of the entry started at {start} holds {} screenshots: {ts:?}",
            ts.len()
        );
    }
    by_window.into_keys().collect()
}

/// Asserts the ids are unique and returns them as a set.
#[track_caller]
pub fn unique<T: std::hash::Hash + Eq + Copy + std::fmt::Debug>(ids: &[T]) -> HashSet<T> {
    let set: HashSet<T> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "duplicate ids in {ids:?}");
    set
}
