//! Harness for system tests: the real `shotclock` binary in a real webview (WebKitWebDriver)
//! driven over WebDriver through `tauri-driver`.
//!
//! Each test starts its own tauri-driver on free ports with its own app data directory, and stops
//! it with SIGTERM (a SIGKILL would orphan WebKitWebDriver, and the next run would talk to it).
//!
//! - [`service`]: the real workspace service in this process on a real port, seeded with a team.
//! - [`ui`]: the app under test and the selector contract (`data-testid`) it is driven through.
//! - [`notify`]: OS notifications observed through a `dunst` on the test's D-Bus session.
//! - [`browser`]: a real Chromium over chromedriver (the web app, an identity provider's page).
#![allow(dead_code)]

pub mod browser;
pub mod notify;
pub mod service;
pub mod ui;

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Polls a condition until it yields a value; an error once the timeout has passed.
pub use shotclock_testkit::wait_for;

/// Absolute path of the app binary cargo built for this test run.
pub fn app_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_shotclock"))
}

/// Processes of the app binary (from `/proc`, Linux only), exiting ones included: a process
/// on its way out loses its `exe` link before it closes its sockets, and until then it still
/// holds the single-instance name on D-Bus, so it is also known by its name. Zombies hold
/// nothing.
fn app_pids() -> Vec<u32> {
    let app = app_binary();
    // The kernel keeps the first 15 bytes of a process name.
    let name: String = app
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(15).collect())
        .unwrap_or_default();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|p| {
            let pid: u32 = p.file_name().to_str()?.parse().ok()?;
            let exe_is_app = std::fs::read_link(p.path().join("exe")).is_ok_and(|exe| exe == app);
            let exiting_app =
                shotclock_procstat::Stat::of(pid).is_some_and(|s| s.comm == name && s.state != 'Z');
            (exe_is_app || exiting_app).then_some(pid)
        })
        .collect()
}

/// Whether a process of the app binary runs.
fn app_is_running() -> bool {
    !app_pids().is_empty()
}

/// Waits up to `grace` for every app process to exit, then asks the stragglers to stop
/// (SIGTERM) and waits as long again; then, as long again, until the bus has let go of its
/// single-instance name. The app is single-instance: a launch while an earlier one lingers
/// would hand over to it, and the new WebDriver session would never get a window.
pub fn stop_lingering_apps(grace: Duration) -> Result<()> {
    let wait_gone = |limit: Duration| {
        let deadline = Instant::now() + limit;
        while app_is_running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        !app_is_running()
    };
    if !wait_gone(grace) {
        for pid in app_pids() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        if !wait_gone(grace) {
            bail!("an earlier app (pids {:?}) does not exit", app_pids())
        }
    }
    single_instance_released(grace)
}

/// The D-Bus name through which a second launch hands over to a running app: the
/// single-instance plugin's, the app's identifier (`tauri.conf.json`) and `.SingleInstance`.
fn single_instance_name() -> Result<String> {
    let conf: serde_json::Value =
        serde_json::from_str(include_str!("../../tauri.conf.json")).context("tauri.conf.json")?;
    let id = conf["identifier"]
        .as_str()
        .context("tauri.conf.json has no identifier")?;
    Ok(format!("{id}.SingleInstance"))
}

/// Whether a process owns the app's single-instance name on the session bus; `None` without a
/// session bus.
fn single_instance_owned() -> Result<Option<bool>> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return Ok(None);
    }
    let name = single_instance_name()?;
    let out = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &format!("string:{name}"),
        ])
        .output()
        .context("running dbus-send (the `dbus` package)")?;
    if !out.status.success() {
        bail!(
            "dbus-send could not ask the session bus: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(Some(
        String::from_utf8_lossy(&out.stdout).contains("boolean true"),
    ))
}

/// Waits up to `grace` until no process owns the app's single-instance name on the session
/// bus. An app that has exited may still own it for a moment, until the bus has seen its
/// connection close: a launch then hands its arguments over to it, gets no reply, and stops
/// ("failed to forward arguments to the running instance"), and no window ever comes. Without
/// a session bus there is nothing to wait for (the plugin then launches normally).
fn single_instance_released(grace: Duration) -> Result<()> {
    let deadline = Instant::now() + grace;
    while single_instance_owned()? == Some(true) {
        if Instant::now() >= deadline {
            bail!(
                "{} is still owned on the session bus",
                single_instance_name()?
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Where tests leave screenshots of the window (ignored by git).
pub fn artifacts_dir() -> Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/artifacts");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn tauri_driver_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return Ok(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/tauri-driver");
    if local.is_file() {
        return Ok(local);
    }
    bail!("tauri-driver not found: run the system tests through `cargo xtask test`")
}

/// A running tauri-driver; the app it launches inherits `envs`.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub fn start(envs: &[(&str, &std::ffi::OsStr)]) -> Result<Self> {
        if std::env::var_os("DISPLAY").is_none() {
            bail!("DISPLAY is not set: run the system tests through `cargo xtask test`");
        }
        let port = free_port()?;
        let native_port = free_port()?;
        let mut cmd = Command::new(tauri_driver_binary()?);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        // tauri-driver reports a request it could not forward on its stdout: shown with the
        // test's own output.
        .stdout(Stdio::from(std::io::stderr().as_fd().try_clone_to_owned()?))
        .stderr(Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().context("starting tauri-driver")?;
        let driver = Driver { child, port };
        // Ready when both tauri-driver and the WebKitWebDriver it starts accept connections;
        // poll with a deadline (a loaded machine can take many seconds).
        for p in [port, native_port] {
            let deadline = Instant::now() + Duration::from_secs(60);
            while TcpStream::connect(("127.0.0.1", p)).is_err() {
                if Instant::now() > deadline {
                    bail!("the WebDriver chain did not listen on {p} within 60 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(driver)
    }

    /// Starts tauri-driver with `envs` and launches the app through it: the driver and a
    /// WebDriver session on the app's window.
    ///
    /// When the chain drops the new-session request without any answer (tauri-driver closes
    /// the connection because WebKitWebDriver went away during the launch: seen once in CI),
    /// the launch is tried once more on a fresh driver, and the test's output says so. Any
    /// answer, a refusal included, and a second loss are failures.
    #[allow(clippy::print_stderr)] // the retry is reported in the test's own output
    pub async fn launch_app(envs: &[(&str, &std::ffi::OsStr)]) -> Result<(Self, Client)> {
        let driver = Self::start(envs)?;
        let first = match driver.session().await {
            Ok(client) => {
                // The app that came up owns the name the next launch waits on.
                if single_instance_owned()? == Some(false) {
                    bail!(
                        "the app runs but does not own {}: the wait before a launch watches the wrong name",
                        single_instance_name()?
                    );
                }
                return Ok((driver, client));
            }
            Err(e) if request_lost(&e) => e,
            Err(e) => return Err(e),
        };
        eprintln!("the WebDriver chain dropped the new-session request ({first:#}); once more");
        drop(driver);
        let driver = Self::start(envs)?;
        let client = driver
            .session()
            .await
            .with_context(|| format!("a second launch, after the first was lost ({first:#})"))?;
        Ok((driver, client))
    }

    /// Launches the app and returns a WebDriver session on its window.
    async fn session(&self) -> Result<Client> {
        stop_lingering_apps(Duration::from_secs(10))?;
        app_session(&format!("http://127.0.0.1:{}", self.port)).await
    }
}

/// Asks the WebDriver server at `url` (tauri-driver) for a session on the app.
pub async fn app_session(url: &str) -> Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app_binary() }),
    );
    let mut builder = ClientBuilder::rustls()?;
    builder.capabilities(caps);
    // Generous (a loaded machine), but never a hang.
    let client = tokio::time::timeout(Duration::from_secs(120), builder.connect(url))
        .await
        .context("the app's window did not come up within 120 s")?
        .context("opening a WebDriver session on the app")?;
    Ok(client)
}

/// Whether a new-session request got no answer at all (the connection failed or closed).
pub fn request_lost(e: &anyhow::Error) -> bool {
    use fantoccini::error::NewSessionError as E;
    matches!(
        e.downcast_ref::<E>(),
        Some(E::Failed(_) | E::FailedC(_) | E::Lost(_))
    )
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        // The app goes with its driver; one that lingers is stopped here, not by the next test.
        let _ = stop_lingering_apps(Duration::from_secs(10));
    }
}

/// Saves a PNG of the window under `tests/artifacts/NAME.png` and checks it is a real PNG.
///
/// First lets the page settle: the images on screen loaded (at most 10 s) and two frames
/// painted, so the PNG shows what the DOM already says. The PNG is what the X server shows of
/// the app's window (ImageMagick's `import`), not WebDriver's snapshot: WebKitWebDriver's
/// snapshot of the app's non-composited page never answers.
pub async fn save_window_png(client: &Client, name: &str) -> Result<PathBuf> {
    let settle = r#"
        const done = arguments[arguments.length - 1];
        const onScreen = (img) => {
          const r = img.getBoundingClientRect();
          return r.width > 0 && r.bottom > 0 && r.top < innerHeight;
        };
        const loads = [...document.images]
          .filter((img) => !img.complete && onScreen(img))
          .map((img) => new Promise((ok) => {
            img.addEventListener("load", ok, { once: true });
            img.addEventListener("error", ok, { once: true });
          }));
        const capped = Promise.race([
          Promise.all(loads),
          new Promise((ok) => setTimeout(ok, 10000)),
        ]);
        capped.then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));
    "#;
    client
        .execute_async(settle, vec![])
        .await
        .context("letting the page settle")?;
    let png = window_png().await?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") || png.len() < 1000 {
        bail!("the window screenshot is not a PNG ({} bytes)", png.len());
    }
    let path = artifacts_dir()?.join(format!("{name}.png"));
    std::fs::write(&path, png)?;
    Ok(path)
}

/// The app's window as the X server shows it, as PNG bytes (`xdotool` finds the visible window
/// titled "Shotclock", `import` reads it).
async fn window_png() -> Result<Vec<u8>> {
    let found = tokio::process::Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^Shotclock$"])
        .output()
        .await
        .context("running xdotool (installed by `cargo xtask test`)")?;
    let ids = String::from_utf8_lossy(&found.stdout);
    let Some(id) = ids.split_whitespace().next() else {
        bail!("no visible window titled Shotclock on the display");
    };
    let shot = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new("import")
            .args(["-window", id, "png:-"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .context("import did not finish within 30 s")?
    .context("running import (ImageMagick, installed by `cargo xtask test`)")?;
    if !shot.status.success() {
        bail!(
            "import failed: {}",
            String::from_utf8_lossy(&shot.stderr).trim()
        );
    }
    Ok(shot.stdout)
}
