//! Test harness of the engine's integration tests.
//!
//! - [`TestServer`]: the real workspace service on a real `127.0.0.1` port, in a runtime of its
//!   own on a thread of its own, so stopping it drops every connection at once (like a killed
//!   process) and it can be started again on the same port and data directory. Adapted from
//!   `crates/sync/tests/common` (test crates may not depend on each other), with a short capture
//!   window and an injectable service clock.
//! - [`Workspace`]: a team whose screenshots are enabled by its owner through the API.
//! - [`Screen`]: a synthetic desktop (`shotclock_capture::synthetic`) whose every capture is a
//!   different frame, and which counts the captures it was asked for.
//! - [`Events`]: records everything an [`AgentHandle`] emits, for polling.
//! - [`eventually`]: polls a condition every 50 ms up to a deadline (never a bare sleep).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

pub mod process;
pub mod proxy;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_agent::{Agent, AgentConfig, AgentEvent, AgentHandle, Clock, Session, SystemClock};
use shotclock_api::dto::{Screenshot, UpdateSettingsRequest};
use shotclock_api::{EntryId, Plan, Role, UserId, WorkspaceId};
use shotclock_capture::{CaptureError, Frame, ScreenSource, synthetic};
use shotclock_server::blobs::LocalBlobs;
use shotclock_server::clock::Clock as ServiceClock;
use shotclock_server::store::NewUser;
use shotclock_server::store::sqlite::{SqliteOptions, SqliteStore};
use shotclock_server::{App, Config};
use shotclock_store::{CaptureAttempt, ScreenshotInfo};
use shotclock_sync::Client;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery";

/// Generous: the machine is shared and slow; a deadline only bounds a failure.
pub const DEADLINE: Duration = Duration::from_secs(30);

// ---- the service ------------------------------------------------------------------------------

/// The system clock shifted by an adjustable offset: the service's "now" (trials, retention).
#[derive(Debug, Clone, Default)]
pub struct ShiftedClock(Arc<Mutex<TimeDelta>>);

impl ShiftedClock {
    pub fn shift(&self, by: TimeDelta) {
        *self.0.lock().unwrap() = by;
    }
}

impl ServiceClock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().unwrap()
    }
}

/// A running service.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub clock: ShiftedClock,
    window_secs: u32,
    app: Option<App>,
    running: Option<Running>,
}

struct Running {
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

/// Starts the service on `addr` (port 0: any) in a runtime of its own; returns the bound address
/// once the listener is bound (bind first, then connect — no sleeping).
fn launch(
    dir: PathBuf,
    addr: SocketAddr,
    window_secs: u32,
    clock: ShiftedClock,
) -> (SocketAddr, App, Running) {
    let mut config = Config::new(&dir);
    config.capture_window_secs = window_secs;
    // No maintenance while a test runs (retention is the service's own business).
    config.maintenance_every = Duration::from_secs(3600);
    let store = SqliteStore::open(&SqliteOptions::new(dir.join("shotclock.db"))).unwrap();
    let blobs = LocalBlobs::open(dir.join("blobs")).unwrap();
    let app = App::from_parts(config, Arc::new(store), Arc::new(blobs), Arc::new(clock));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let served = app.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
            ready_tx.send(listener.local_addr().unwrap()).unwrap();
            tokio::select! {
                r = shotclock_server::serve(listener, served) => r.unwrap(),
                _ = stop_rx => {}
            }
        });
        // Dropping the runtime cancels every connection task: open streams break like they
        // would if the process died.
        rt.shutdown_background();
    });
    let bound = ready_rx.recv().expect("service did not start");
    (
        bound,
        app,
        Running {
            stop: stop_tx,
            thread,
        },
    )
}

impl TestServer {
    /// The service with a capture window of `window_secs` seconds, on any free port.
    pub fn start(window_secs: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = ShiftedClock::default();
        let (addr, app, running) = launch(
            dir.path().to_owned(),
            "127.0.0.1:0".parse().unwrap(),
            window_secs,
            clock.clone(),
        );
        Self {
            dir,
            addr,
            clock,
            window_secs,
            app: Some(app),
            running: Some(running),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn client(&self) -> Client {
        Client::new(self.url()).unwrap()
    }

    pub fn app(&self) -> &App {
        self.app.as_ref().expect("service stopped")
    }

    pub fn window(&self) -> Duration {
        Duration::from_secs(u64::from(self.window_secs))
    }

    pub fn window_secs(&self) -> u32 {
        self.window_secs
    }

    /// Stops the service: listener closed, every connection dropped, state released.
    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = r.stop.send(());
            r.thread.join().unwrap();
        }
        self.app = None;
    }

    /// Starts the service again on the same port and data directory.
    pub fn restart(&mut self) {
        self.stop();
        let (addr, app, running) = launch(
            self.dir.path().to_owned(),
            self.addr,
            self.window_secs,
            self.clock.clone(),
        );
        assert_eq!(addr, self.addr);
        self.app = Some(app);
        self.running = Some(running);
    }

    /// Creates a workspace with an owner and the given members (all with [`PASSWORD`]).
    pub async fn team(&self, name: &str, members: &[(&str, Role)]) -> Team {
        let hash = shared_hash().await;
        let ws = WorkspaceId::new();
        let now = self.app().now();
        let owner = NewUser {
            id: UserId::new(),
            email: format!("owner@{name}.test"),
            name: format!("Owner of {name}"),
            password_hash: hash.clone(),
            role: Role::Owner,
        };
        self.app()
            .store()
            .create_workspace(ws, name.into(), owner.clone(), now)
            .await
            .unwrap();
        let mut people = vec![Person {
            id: owner.id,
            email: owner.email,
        }];
        for (who, role) in members {
            let user = NewUser {
                id: UserId::new(),
                email: format!("{who}@{name}.test"),
                name: (*who).into(),
                password_hash: hash.clone(),
                role: *role,
            };
            self.app()
                .store()
                .add_user(ws, user.clone(), now)
                .await
                .unwrap();
            people.push(Person {
                id: user.id,
                email: user.email,
            });
        }
        Team { ws, people }
    }

    /// Signs `who` in with a plain client; returns the signed-in client.
    pub async fn sign_in(&self, who: &Person) -> Client {
        let anon = self.client();
        let session = anon.login(&who.email, PASSWORD, None).await.unwrap();
        anon.with_token(&session.token)
    }

    /// A workspace on plan `enterprise` whose owner turned screenshots on (R4, R5) or left them
    /// off, with the given members.
    pub async fn workspace(&self, name: &str, members: &[&str], screenshots: bool) -> Workspace {
        let list: Vec<(&str, Role)> = members.iter().map(|m| (*m, Role::Member)).collect();
        let team = self.team(name, &list).await;
        self.app()
            .store()
            .set_plan(team.ws, Plan::Enterprise)
            .await
            .unwrap();
        let owner = self.sign_in(team.owner()).await;
        if screenshots {
            set_screenshots(&owner, true).await;
        }
        Workspace { team, owner }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The owner turns "Activate screenshot capturing" on or off through the API.
pub async fn set_screenshots(owner: &Client, on: bool) {
    let settings = owner
        .update_workspace(&UpdateSettingsRequest {
            screenshots_enabled: Some(on),
            ..UpdateSettingsRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(settings.screenshots_enabled, on);
}

/// One argon2 hash of [`PASSWORD`] for all users (hashing is slow in debug builds).
pub async fn shared_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    if let Some(h) = HASH.get() {
        return h.clone();
    }
    let h = shotclock_server::auth::hash_password(PASSWORD.into())
        .await
        .unwrap();
    HASH.get_or_init(|| h).clone()
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: UserId,
    pub email: String,
}

pub struct Team {
    pub ws: WorkspaceId,
    /// The owner first, then the members in the order given.
    pub people: Vec<Person>,
}

impl Team {
    pub fn owner(&self) -> &Person {
        &self.people[0]
    }
}

pub struct Workspace {
    pub team: Team,
    /// The owner, signed in (an admin).
    pub owner: Client,
}

impl Workspace {
    /// The `i`-th member (0-based, owner excluded).
    pub fn member(&self, i: usize) -> &Person {
        &self.team.people[i + 1]
    }
}

// ---- the engine -------------------------------------------------------------------------------

/// Signs `who` in the way the app does (R2).
pub async fn session(url: &str, who: &Person) -> Session {
    Session::sign_in(url, &who.email, PASSWORD).await.unwrap()
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

/// Polls `check` every 50 ms until it yields a value; fails the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
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
        .store()
        .call(move |s| s.screenshots_of_entry(entry))
        .await
        .unwrap()
}

/// The local store's capture attempts of `entry`, oldest first.
pub async fn local_attempts(handle: &AgentHandle, entry: EntryId) -> Vec<CaptureAttempt> {
    let now = Utc::now();
    let mut all = handle
        .store()
        .call(move |s| s.attempts_between(now - TimeDelta::days(30), now + TimeDelta::days(1)))
        .await
        .unwrap();
    all.retain(|a| a.entry_id == entry);
    all
}

pub async fn pending(handle: &AgentHandle) -> u64 {
    handle.pending_count().await.unwrap()
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
