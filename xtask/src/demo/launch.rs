//! The second half of `cargo xtask run`: the demo service, first-run seeding, the app.
//!
//! 1. `.demo/` (mode 0700, locked by one run at a time through `.demo/lock`): `service/` is the
//!    service's data directory (database, images, its log `service.log`, and `demo.json` —
//!    written last, once the workspace is complete), `app/` is the app's data directory.
//!    `--reset` removes both first; a `service/` without `demo.json` is an interrupted first run
//!    and is started over.
//! 2. First run only: the workspace and its people through the service's own CLI
//!    (`create-workspace`, `add-member`), before the service runs.
//! 3. `shotclock-server serve` on `127.0.0.1:PORT` as a child process (the port of the last run,
//!    8478 at first, or `--port`), ready once `GET /healthz` answers (polled, with a deadline).
//! 4. First run only: [`super::seed`] fills the workspace through the HTTP API.
//! 5. The sign-in details, then the app with `SHOTCLOCK_DATA_DIR`, `SHOTCLOCK_SERVER_URL`,
//!    `SHOTCLOCK_EMAIL` and `SHOTCLOCK_PASSWORD` (it signs in with these when it has no stored
//!    session), on the current display or a private Xvfb.
//! 6. When the app exits — or on Ctrl-C, SIGTERM or SIGHUP — the app and then the service get
//!    SIGTERM (SIGKILL after 10 s), so nothing is left holding the port.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Local, Utc};
use serde::{Deserialize, Serialize};
use shotclock_domain::CaptureGate;
use shotclock_sync::{Client, ClientOptions};
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};

use super::{DEFAULT_PORT, PASSWORD, PEOPLE, RunOptions, WORKSPACE_NAME, seed};
use crate::{display, sh};

/// How long the service may take to answer its first `/healthz`.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// How long a child may take to exit after SIGTERM before it gets SIGKILL.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// `xtask demo-launch SERVICE_BIN APP_BIN [options]`.
pub fn main(root: &Path, args: &[String]) -> Result<()> {
    let [service_bin, app_bin, options @ ..] = args else {
        bail!(
            "usage: xtask {} SERVICE_BIN APP_BIN [--reset] [--port N]",
            super::LAUNCH_COMMAND
        );
    };
    let options = RunOptions::parse(options).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let bins = Bins {
        service: PathBuf::from(service_bin),
        app: PathBuf::from(app_bin),
    };
    runtime.block_on(run(root, &bins, &options))
}

struct Bins {
    service: PathBuf,
    app: PathBuf,
}

/// The folders under `.demo/`.
struct Dirs {
    demo: PathBuf,
    service: PathBuf,
    app: PathBuf,
}

impl Dirs {
    fn new(root: &Path) -> Self {
        let demo = root.join(".demo");
        Self {
            service: demo.join("service"),
            app: demo.join("app"),
            demo,
        }
    }

    fn marker(&self) -> PathBuf {
        self.service.join("demo.json")
    }

    fn log(&self) -> PathBuf {
        self.service.join("service.log")
    }

    /// Creates the folders, readable by this user only.
    fn create(&self) -> Result<()> {
        for dir in [&self.demo, &self.service, &self.app] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("restricting {}", dir.display()))?;
        }
        Ok(())
    }

    /// Locks `.demo/lock` for this run, or says another run holds it.
    fn lock(&self) -> Result<fs::File> {
        let path = self.demo.join("lock");
        let file =
            fs::File::create(&path).with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => bail!(
                "another `cargo xtask run` is using .demo/: quit its app (or press Ctrl-C in \
                 its terminal) first"
            ),
            Err(fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
    }

    /// Removes the service's and the app's data (not the lock).
    fn remove(&self) -> Result<()> {
        for dir in [&self.service, &self.app] {
            match fs::remove_dir_all(dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("removing {}", dir.display()));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `.demo/service/demo.json`: written once the workspace is complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    workspace_id: String,
    workspace: String,
    port: u16,
    password: String,
    emails: Vec<String>,
    seeded_at: DateTime<Utc>,
    entries: usize,
    screenshots: usize,
}

impl Marker {
    fn read(path: &Path) -> Result<Option<Self>> {
        match fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("reading {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes through a temporary file and a rename, so a crash leaves the old or the new one.
    fn write(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("json.tmp");
        let mut file =
            fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
    }
}

async fn run(root: &Path, bins: &Bins, options: &RunOptions) -> Result<()> {
    let dirs = Dirs::new(root);
    dirs.create()?;
    // Held until this run ends: two runs must not share one `.demo/`.
    let _lock = dirs.lock()?;
    if options.reset {
        println!("==> --reset: removing the demo's data (.demo/service and .demo/app)");
        dirs.remove()?;
        dirs.create()?;
    }
    let mut marker = Marker::read(&dirs.marker())?;
    if marker.is_none() && has_entries(&dirs.service)? {
        println!("==> .demo/ holds a set-up that did not finish: starting it over");
        dirs.remove()?;
        dirs.create()?;
    }
    let port = options
        .port
        .or(marker.as_ref().map(|m| m.port))
        .unwrap_or(DEFAULT_PORT);
    let url = format!("http://127.0.0.1:{port}");
    check_port_free(port, &url).await?;

    let workspace_id = match &marker {
        Some(m) => m.workspace_id.clone(),
        None => {
            println!("==> creating the workspace \"{WORKSPACE_NAME}\" and its three people");
            create_people(&bins.service, &dirs.service)?
        }
    };

    println!("==> starting the service on {url} (log: .demo/service/service.log)");
    let mut service = Service::start(&bins.service, &dirs, port)?;
    let outcome = async {
        service.wait_ready(&url).await?;
        let marker = match marker.take() {
            Some(mut m) => {
                println!(
                    "==> reusing the demo workspace seeded {} (.demo/)",
                    m.seeded_at.with_timezone(&Local).format("%Y-%m-%d %H:%M")
                );
                if m.port != port {
                    m.port = port;
                    m.write(&dirs.marker())?;
                }
                m
            }
            None => {
                println!(
                    "==> seeding {} past days of entries and screenshots",
                    super::PAST_DAYS
                );
                let seeded = seed::seed(&url).await?;
                println!(
                    "    {} entries, {} screenshots ({} KB) in {:.1} s",
                    seeded.entries,
                    seeded.screenshots,
                    seeded.bytes / 1024,
                    seeded.took.as_secs_f64()
                );
                let m = Marker {
                    workspace_id,
                    workspace: WORKSPACE_NAME.to_owned(),
                    port,
                    password: PASSWORD.to_owned(),
                    emails: PEOPLE.iter().map(|p| p.email.to_owned()).collect(),
                    seeded_at: Utc::now(),
                    entries: seeded.entries,
                    screenshots: seeded.screenshots,
                };
                m.write(&dirs.marker())?;
                m
            }
        };
        let trial = trial_status(&url, &marker).await;
        print_details(&url, &marker, &trial);
        launch_app(bins, &dirs, &url, &marker, &mut service).await
    }
    .await;
    service.stop().await;
    outcome
}

fn has_entries(dir: &Path) -> Result<bool> {
    Ok(fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .next()
        .is_some())
}

/// Fails with a clear message when something already listens on `port`.
async fn check_port_free(port: u16, url: &str) -> Result<()> {
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let answers = match quick_client(url) {
                Ok(client) => client.health().await.is_ok(),
                Err(_) => false,
            };
            if answers {
                bail!(
                    "port {port} is busy: another Shotclock service answers there. Stop it, or \
                     run the demo on another port: `cargo xtask run --port {}` (kept for later runs)",
                    port.saturating_add(1)
                )
            }
            bail!(
                "port {port} is busy: another program listens there. Stop it, or run the demo \
                 on another port: `cargo xtask run --port {}` (kept for later runs)",
                port.saturating_add(1)
            )
        }
        Err(e) => Err(e).with_context(|| format!("checking that port {port} is free")),
    }
}

pub(super) fn quick_client(url: &str) -> Result<Client, shotclock_sync::SyncError> {
    Client::with_options(
        url,
        ClientOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(2),
            ..ClientOptions::default()
        },
    )
}

/// The environment variable that hands the demo accounts' password to the service's CLI.
const PASSWORD_VAR: &str = "SHOTCLOCK_DEMO_PASSWORD";

/// The workspace with its owner, then the members, then screenshots on (the trial started),
/// through the service's CLI; returns the workspace id. The workspace's history begins a day
/// before the oldest seeded day, since the service accepts a screenshot only when capture was
/// on at its capture moment.
pub(super) fn create_people(service_bin: &Path, data_dir: &Path) -> Result<String> {
    let cli = |args: &[&str]| -> Result<String> {
        let mut cmd = std::process::Command::new(service_bin);
        // The accounts' password travels in the environment, never on the command line.
        cmd.args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .env(PASSWORD_VAR, PASSWORD);
        let out = sh::output(&mut cmd)?;
        if !out.status.success() {
            bail!(
                "shotclock-server {} failed ({}):\n{}",
                args.first().copied().unwrap_or_default(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let Some(owner) = PEOPLE.iter().find(|p| p.owner) else {
        bail!("the demo has no owner");
    };
    let since =
        (Utc::now() - chrono::TimeDelta::days(i64::from(super::PAST_DAYS) + 1)).to_rfc3339();
    let workspace = cli(&[
        "create-workspace",
        "--since",
        &since,
        "--name",
        WORKSPACE_NAME,
        "--owner-email",
        owner.email,
        "--owner-password-env",
        PASSWORD_VAR,
        "--owner-name",
        owner.name,
    ])?;
    for member in PEOPLE.iter().filter(|p| !p.owner) {
        cli(&[
            "add-member",
            "--workspace",
            &workspace,
            "--email",
            member.email,
            "--password-env",
            PASSWORD_VAR,
            "--name",
            member.name,
            "--role",
            "member",
        ])?;
    }
    cli(&[
        "enable-screenshots",
        "--workspace",
        &workspace,
        "--since",
        &since,
    ])?;
    Ok(workspace)
}

/// The service as a child process, stopped with SIGTERM.
pub(super) struct Service {
    child: Child,
    log: PathBuf,
    running: bool,
}

impl Service {
    fn start(bin: &Path, dirs: &Dirs, port: u16) -> Result<Self> {
        Self::start_at(bin, &dirs.service, &dirs.log(), port)
    }

    /// The service on `127.0.0.1:PORT` with its data in `data_dir`, appending to `log_path`.
    pub(super) fn start_at(
        bin: &Path,
        data_dir: &Path,
        log_path: &Path,
        port: u16,
    ) -> Result<Self> {
        let log_path = log_path.to_path_buf();
        let mut log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        writeln!(log, "---- cargo xtask run, {}", Local::now().to_rfc3339())?;
        let child = Command::new(bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Self {
            child,
            log: log_path,
            running: true,
        })
    }

    /// Polls `GET /healthz` until it answers, the service exits, or [`READY_WITHIN`] passes.
    pub(super) async fn wait_ready(&mut self, url: &str) -> Result<()> {
        let client = quick_client(url)?;
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.running = false;
                bail!(
                    "the service exited ({status}) before answering; the end of its log:\n{}",
                    tail(&self.log, 15)
                );
            }
            match client.health().await {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => bail!(
                    "the service did not answer {url}/healthz within {} s ({e}); its log: {}",
                    READY_WITHIN.as_secs(),
                    self.log.display()
                ),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub(super) async fn stop(&mut self) {
        if self.running {
            self.running = false;
            match stop_child(&mut self.child).await {
                Ok(_) => {}
                Err(e) => eprintln!("xtask: stopping the service: {e:#}"),
            }
        }
    }
}

impl Drop for Service {
    /// Last resort (a panic): never leave the service holding the port.
    fn drop(&mut self) {
        if self.running
            && let Some(pid) = self.child.id()
        {
            terminate(pid);
        }
    }
}

/// SIGTERM, then up to [`STOP_WITHIN`] to exit, then SIGKILL.
pub(super) async fn stop_child(child: &mut Child) -> Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    if let Some(pid) = child.id() {
        terminate(pid);
    }
    match tokio::time::timeout(STOP_WITHIN, child.wait()).await {
        Ok(status) => Ok(status?),
        Err(_) => {
            child.start_kill()?;
            Ok(child.wait().await?)
        }
    }
}

/// Sends SIGTERM (the `kill` command: this crate has no unsafe code for `libc::kill`).
pub(super) fn terminate(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// The last `n` lines of a file.
fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One line about the trial, asked of the service as the admin (this also proves the stored
/// data and password still work).
async fn trial_status(url: &str, marker: &Marker) -> String {
    let status = async {
        let client = Client::new(url)?;
        let session = client
            .login(PEOPLE[0].email, &marker.password, None)
            .await?;
        let admin = client.with_token(&session.token);
        let ws = admin.workspace().await?;
        admin.logout().await?;
        Ok::<_, shotclock_sync::SyncError>(ws)
    }
    .await;
    match status {
        Ok(ws) => match (ws.trial_ends_at, ws.capture_allowed) {
            (Some(end), true) => {
                let gate = CaptureGate {
                    enabled: ws.screenshots_enabled,
                    plan: ws.plan,
                    trial_started_at: ws.trial_started_at,
                };
                let left = gate.trial_days_left(Utc::now()).unwrap_or(0);
                format!(
                    "screenshots on, free trial until {} ({left} day{} left)",
                    end.with_timezone(&Local).format("%Y-%m-%d %H:%M"),
                    if left == 1 { "" } else { "s" }
                )
            }
            (Some(end), false) => format!(
                "the trial ended {}: capture is off (`cargo xtask run --reset` starts a new one)",
                end.with_timezone(&Local).format("%Y-%m-%d")
            ),
            (None, _) => "no trial started".to_owned(),
        },
        Err(e) => format!("could not sign in to check the workspace: {e}"),
    }
}

fn print_details(url: &str, marker: &Marker, trial: &str) {
    println!();
    println!("  Shotclock demo — {}", marker.workspace);
    println!("    service    {url}");
    println!("    web app    {url}/  (the same UI in any browser; sign in with the people below)");
    println!("    workspace  {trial}");
    for (i, p) in PEOPLE.iter().enumerate() {
        println!(
            "    {:<10} {:<22} {} ({})",
            if i == 0 { "sign in" } else { "" },
            p.email,
            p.name,
            if p.owner { "owner, admin" } else { "member" }
        );
    }
    println!("    password   {} (all three)", marker.password);
    println!(
        "    seeded     {} entries and {} screenshots over the days before {}; kept 7 days",
        marker.entries,
        marker.screenshots,
        marker.seeded_at.with_timezone(&Local).format("%Y-%m-%d")
    );
    println!("    data       .demo/ (service/ and app/): reused by the next `cargo xtask run`;");
    println!("               `cargo xtask run --reset` wipes it and seeds a fresh workspace");
    println!();
}

/// Launches the app signed in as the owner and waits until it exits or a stop signal arrives.
async fn launch_app(
    bins: &Bins,
    dirs: &Dirs,
    url: &str,
    marker: &Marker,
    service: &mut Service,
) -> Result<()> {
    let display = display::ensure()?;
    println!(
        "==> launching the app as {} on DISPLAY={} (quitting it, or Ctrl-C here, stops the service)",
        PEOPLE[0].email, display.name
    );
    let mut app = Command::new(&bins.app)
        .env("DISPLAY", &display.name)
        .env("SHOTCLOCK_DATA_DIR", &dirs.app)
        .env("SHOTCLOCK_SERVER_URL", url)
        .env("SHOTCLOCK_EMAIL", PEOPLE[0].email)
        .env("SHOTCLOCK_PASSWORD", &marker.password)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bins.app.display()))?;

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let result = loop {
        tokio::select! {
            status = app.wait() => {
                let status = status?;
                break match status.signal() {
                    None if status.success() => Ok(()),
                    // Ctrl-C reaches the app too (same terminal): that is a normal stop.
                    Some(2 | 15 | 1) => Ok(()),
                    _ => Err(anyhow::anyhow!("the app exited with {status}")),
                };
            }
            _ = &mut ctrl_c => break stop_app(&mut app, "Ctrl-C").await,
            _ = sigterm.recv() => break stop_app(&mut app, "SIGTERM").await,
            _ = sighup.recv() => break stop_app(&mut app, "SIGHUP").await,
            status = service.child.wait(), if service.running => {
                service.running = false;
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                eprintln!(
                    "xtask: the service stopped unexpectedly ({status}); the end of its log:\n{}",
                    tail(&service.log, 15)
                );
            }
        }
    };
    println!("==> stopping the service");
    drop(display);
    result
}

async fn stop_app(app: &mut Child, why: &str) -> Result<()> {
    println!("\n==> {why}: stopping the app");
    stop_child(app).await.map(drop)
}
