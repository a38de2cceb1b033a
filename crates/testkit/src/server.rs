//! The service on a real port, stoppable and restartable on the same port and data directory,
//! on SQLite + a folder or on PostgreSQL + an S3-compatible bucket ([`Storage`]); on the
//! latter, [`TestServer::replica`] starts another replica on the same database and bucket.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_server::blobs::{Blobs, BlobsLocation, LocalBlobs};
use shotclock_server::clock::Clock;
use shotclock_server::store::Backend;
use shotclock_server::store::postgres::{PgOptions, PgStore};
use shotclock_server::store::sqlite::{SqliteOptions, SqliteStore};
use shotclock_server::{App, Config};
use shotclock_sync::Client;
use tokio::sync::oneshot;

/// The system clock shifted by an adjustable offset (none at first): the service's "now"
/// (trials, retention). Clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct ShiftedClock(Arc<Mutex<TimeDelta>>);

impl ShiftedClock {
    /// From now on the service's "now" is the system clock's plus `by` (may be negative).
    pub fn shift(&self, by: TimeDelta) {
        *self.0.lock().unwrap() = by;
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().unwrap()
    }
}

/// Where a [`TestServer`] keeps its rows and images.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Storage {
    /// SQLite and a folder in the server's data directory (the embedded default).
    #[default]
    Sqlite,
    /// A fresh database of the test process's PostgreSQL cluster (`shotclock-testpg`) and a
    /// fresh bucket of its S3-compatible server (`shotclock-tests3`).
    PostgresS3,
}

/// How a [`TestServer`] runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The capture window (R9) the service publishes, in seconds; `None`: the product default.
    pub window_secs: Option<u32>,
    /// The service's clock; the server keeps it as [`TestServer::clock`].
    pub clock: ShiftedClock,
    /// Where the rows and images live.
    pub storage: Storage,
}

/// A resolved [`Storage`]: which database and bucket (kept across restarts and shared with
/// replicas).
#[derive(Clone)]
enum Place {
    Sqlite,
    Shared {
        database: String,
        bucket: Arc<shotclock_tests3::Bucket>,
    },
}

impl Place {
    fn of(storage: Storage) -> Self {
        match storage {
            Storage::Sqlite => Place::Sqlite,
            Storage::PostgresS3 => Place::Shared {
                database: shotclock_testpg::database(),
                bucket: Arc::new(shotclock_tests3::bucket()),
            },
        }
    }

    /// The backend and blobs for a server in `dir` (inside a runtime: the bucket is checked).
    async fn open(&self, dir: &std::path::Path) -> (Arc<dyn Backend>, Arc<dyn Blobs>) {
        match self {
            Place::Sqlite => {
                let store = SqliteStore::open(&SqliteOptions::new(dir.join("shotclock.db")))
                    .expect("open the service's database");
                let blobs =
                    LocalBlobs::open(dir.join("blobs")).expect("open the service's image store");
                (Arc::new(store), Arc::new(blobs))
            }
            Place::Shared { database, bucket } => {
                let options = PgOptions::from_url(database).expect("a PostgreSQL URL");
                let store = PgStore::open(&options).expect("open the PostgreSQL database");
                let blobs = BlobsLocation::parse(&bucket.url(), |name| match name {
                    "AWS_ACCESS_KEY_ID" => Some(shotclock_tests3::ACCESS_KEY.to_owned()),
                    "AWS_SECRET_ACCESS_KEY" => Some(shotclock_tests3::SECRET_KEY.to_owned()),
                    _ => None,
                })
                .expect("a bucket URL")
                .open()
                .await
                .expect("open the bucket");
                (Arc::new(store), blobs)
            }
        }
    }
}

/// A running service.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    place: Place,
    pub addr: SocketAddr,
    /// The service's clock: shift it to move the service's "now".
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
    place: Place,
    addr: SocketAddr,
    window_secs: u32,
    clock: ShiftedClock,
) -> (SocketAddr, App, Running) {
    let mut config = Config::new(&dir);
    config.capture_window_secs = window_secs;
    // No maintenance while a test runs (retention is the service's own business).
    config.maintenance_every = Duration::from_secs(3600);
    // Single sign-on can be set up against a test identity provider on loopback (R31).
    config.sso_key = Some(shotclock_server::sso::SsoKey::from_bytes([7; 32]));
    config.allow_loopback_idp = true;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (store, blobs) = place.open(&dir).await;
            let app = App::from_parts(config, store, blobs, Arc::new(clock));
            let served = app.clone();
            let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
            ready_tx
                .send((listener.local_addr().unwrap(), app))
                .unwrap();
            tokio::select! {
                r = shotclock_server::serve(listener, served) => r.unwrap(),
                _ = stop_rx => {}
            }
        });
        // Dropping the runtime cancels every connection task: open streams break like they
        // would if the process died.
        rt.shutdown_background();
    });
    let (bound, app) = ready_rx.recv().expect("service did not start");
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
    /// The service with the product's capture window, on any free port.
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    /// The service with a capture window of `window_secs` seconds, on any free port.
    pub fn with_window(window_secs: u32) -> Self {
        Self::start_with(Options {
            window_secs: Some(window_secs),
            ..Options::default()
        })
    }

    /// The service as `options` say, on any free port.
    pub fn start_with(options: Options) -> Self {
        Self::start_at(Place::of(options.storage), options)
    }

    /// The service with a capture window of `window_secs` seconds on `storage`.
    pub fn on(storage: Storage, window_secs: u32) -> Self {
        Self::start_with(Options {
            window_secs: Some(window_secs),
            storage,
            ..Options::default()
        })
    }

    /// Another replica of this service on the same database and bucket (and clock), on a port
    /// and data directory of its own. Only on [`Storage::PostgresS3`].
    pub fn replica(&self) -> Self {
        assert!(
            matches!(self.place, Place::Shared { .. }),
            "replicas need Storage::PostgresS3"
        );
        Self::start_at(
            self.place.clone(),
            Options {
                window_secs: Some(self.window_secs),
                clock: self.clock.clone(),
                storage: Storage::PostgresS3,
            },
        )
    }

    fn start_at(place: Place, options: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let window_secs = options
            .window_secs
            .unwrap_or_else(|| Config::new(dir.path()).capture_window_secs);
        let (addr, app, running) = launch(
            dir.path().to_owned(),
            place.clone(),
            "127.0.0.1:0".parse().unwrap(),
            window_secs,
            options.clock.clone(),
        );
        Self {
            dir,
            place,
            addr,
            clock: options.clock,
            window_secs,
            app: Some(app),
            running: Some(running),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An anonymous client.
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
            self.place.clone(),
            self.addr,
            self.window_secs,
            self.clock.clone(),
        );
        assert_eq!(addr, self.addr);
        self.app = Some(app);
        self.running = Some(running);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}
