//! Test harness: the real workspace service on a real `127.0.0.1` port, in its own runtime on its
//! own thread, so that stopping it drops every connection at once (like a killed process) and it
//! can be started again on the same port and data directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::Utc;
use shotclock_api::{Role, UserId, WorkspaceId};
use shotclock_server::store::NewUser;
use shotclock_server::{App, Config};
use shotclock_sync::Client;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery";

/// A running service.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    app: Option<App>,
    running: Option<Running>,
}

struct Running {
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn config(dir: &Path) -> Config {
    let mut config = Config::new(dir);
    // Keep the test's runtime quiet: no maintenance while a test runs.
    config.maintenance_every = std::time::Duration::from_secs(3600);
    config
}

/// Starts the service on `addr` (port 0: any) in a runtime of its own; returns the bound address
/// once the listener is bound (bind first, then connect — no sleeping).
fn launch(dir: PathBuf, addr: SocketAddr) -> (SocketAddr, App, Running) {
    let app = App::open(config(&dir)).expect("open the service state");
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
        // Dropping the runtime cancels every connection task: open streams break like they would
        // if the process died.
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
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (addr, app, running) = launch(dir.path().to_owned(), "127.0.0.1:0".parse().unwrap());
        Self {
            dir,
            addr,
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
        let (addr, app, running) = launch(self.dir.path().to_owned(), self.addr);
        assert_eq!(addr, self.addr);
        self.app = Some(app);
        self.running = Some(running);
    }

    /// Creates a workspace with an owner and the given members (all with [`PASSWORD`]).
    pub async fn team(&self, name: &str, members: &[(&str, Role)]) -> Team {
        let hash = shared_hash().await;
        let ws = WorkspaceId::new();
        let now = Utc::now();
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

    /// Signs `who` in through the client; returns the signed-in handle.
    pub async fn sign_in(&self, who: &Person) -> Client {
        let anon = self.client();
        let session = anon.login(&who.email, PASSWORD, None).await.unwrap();
        anon.with_token(&session.token)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
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

/// A small valid WebP (structurally; the service does not decode pixels) with a marker in it.
pub fn webp(marker: u64) -> Vec<u8> {
    let mut bytes = shotclock_server::webp::synthetic(64, 36, 200);
    let at = bytes.len() - 16;
    bytes[at..at + 8].copy_from_slice(&marker.to_le_bytes());
    bytes
}
