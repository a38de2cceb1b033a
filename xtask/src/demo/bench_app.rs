//! `cargo xtask bench app`: what the desktop app costs while it sits there — CPU and memory of
//! the release app and its WebKit processes, per view, with a timer running.
//!
//! 1. A private Xvfb (nothing else draws there), a local `shotclock-server` on a free port with
//!    the demo's people (the trial started and capture on); the member Maria has one entry today
//!    with 96 screenshots (a day of 5-minute windows), made by the real capture pipeline.
//! 2. Baseline: the release app with no session (the sign-in form).
//! 3. The app signed in as Maria (its start-up sign-in), a timer started from the Timer view;
//!    then each state in turn — Timer; Timer behind a small window of another client that has
//!    the keyboard focus (the window on screen but not in use: its clock shows whole minutes);
//!    Activity › Screenshots with her 96 thumbnails expanded (scrolled to the end and back
//!    first, as a person browsing them); Settings; the window closed to the tray (a
//!    `WM_DELETE_WINDOW`, what a window manager's close button sends; the app destroys the
//!    window, so its web process is gone and the page column says `?`).
//! 4. Each state settles for a few seconds (the tray [`TRAY_SETTLE`] more), then is measured
//!    for `--secs` (default 60) without touching the window: CPU from utime + stime in
//!    `/proc/PID/stat` of the app process and of each WebKit process it started, how often
//!    their threads woke (voluntary context switches in `/proc/PID/task/*/status`), PSS from
//!    `/proc/PID/smaps_rollup` at the end.
//!
//! The window is driven over WebDriver (tauri-driver + WebKitWebDriver, as the system tests
//! do); WebKitWebDriver is not counted. Prints one table and PASS/MISS against the targets.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{TimeDelta, Timelike, Utc};
use fantoccini::{Client, ClientBuilder, Locator};
use shotclock_capture::Pipeline;
use shotclock_procstat::{ProcessTree, Wakeups, clock_ticks_per_second, cpu_ticks, pss_kib};
use shotclock_sync::api::{EntryId, ScreenshotId};
use shotclock_sync::{Bytes, ScreenshotUpload};
use shotclock_testdesktop::x11::{FocusedWindow, close_window};
use tokio::process::{Child, Command};

use super::launch::{Service, create_people, quick_client, stop_child};
use super::thumbs::{self, Scene};
use super::{PASSWORD, PEOPLE};
use crate::{display, setup};

use super::BENCH_APP_COMMAND as COMMAND;

/// Screenshots in the day that is browsed: one per 5-minute window for 8 hours.
const SHOTS: usize = 96;

/// The member the app signs in as (sees only her own screenshots: one row of 96).
const MEMBER: usize = 1;

/// Time for a state to settle (images decoded, requests answered) before it is measured.
const SETTLE: Duration = Duration::from_secs(5);

/// The app hands the closed window's library pages back 10 s after the window goes
/// (`PAGE_OUT_AFTER` in `src-tauri/src/window.rs`): the tray is measured once that one-off
/// work is done, so it is not counted as the cost of sitting there.
const TRAY_SETTLE: Duration = Duration::from_secs(10);

/// For anything the window should show.
const WAIT: Duration = Duration::from_secs(60);

pub fn main(root: &Path, args: &[String]) -> Result<()> {
    let [service_bin, app_bin, options @ ..] = args else {
        bail!("usage: xtask {COMMAND} SERVICE_BIN APP_BIN [--secs N]");
    };
    let secs = parse_secs(options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let app = std::fs::canonicalize(app_bin).context("the app binary")?;
    runtime.block_on(run(root, Path::new(service_bin), &app, secs))
}

/// `--secs N` (default 60).
fn parse_secs(options: &[String]) -> Result<u64> {
    match options {
        [] => Ok(60),
        [flag, n] if flag == "--secs" => match n.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("--secs wants a positive number of seconds, got `{n}`"),
        },
        _ => bail!("bench app takes only --secs N, got {options:?}"),
    }
}

async fn run(root: &Path, service_bin: &Path, app: &Path, secs: u64) -> Result<()> {
    let work = root.join("target/bench-app");
    match std::fs::remove_dir_all(&work) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", work.display()));
        }
        _ => {}
    }
    let service_dir = work.join("service");
    std::fs::create_dir_all(&service_dir)?;
    let display = display::private()?;

    println!("==> a local service with the demo's people; {SHOTS} screenshots today for Maria");
    create_people(service_bin, &service_dir)?;
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let mut service =
        Service::start_at(service_bin, &service_dir, &work.join("service.log"), port)?;
    let outcome = async {
        service.wait_ready(&url).await?;
        let zone = afternoon_zone();
        seed_today(&url).await?;
        let bench = Bench {
            app: app.to_path_buf(),
            driver: setup::tauri_driver_path(root),
            display: display.name.clone(),
            zone,
            work: work.clone(),
            window: Duration::from_secs(secs),
        };
        bench.measure_all(&url).await
    }
    .await;
    service.stop().await;
    drop(display);
    let rows = outcome?;
    print_table(&rows, secs);
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A fixed-offset zone (`Etc/GMT-N` is N hours ahead of UTC) where it is about 14:00 now, so
/// "today" holds the seeded entry whatever the time of day in UTC.
fn afternoon_zone() -> (String, i64) {
    let hour = i64::from(Utc::now().hour());
    let mut ahead = (14 - hour).rem_euclid(24);
    if ahead > 14 {
        ahead -= 24;
    }
    let name = match ahead {
        0 => "UTC".to_owned(),
        a if a > 0 => format!("Etc/GMT-{a}"),
        a => format!("Etc/GMT+{}", -a),
    };
    (name, ahead)
}

/// Maria's entry of today: started 100 minutes ago, [`SHOTS`] screenshots uploaded, stopped a
/// minute ago (the demo's people have the trial started and capture on since before the
/// oldest seeded day).
async fn seed_today(url: &str) -> Result<()> {
    let client = quick_client(url)?;
    let member = &PEOPLE[MEMBER];
    let session = client.login(member.email, PASSWORD, None).await?;
    if !session.me.workspace.capture_allowed {
        bail!("capture is not allowed in the demo workspace");
    }
    let maria = client.with_token(&session.token);

    let webps = tokio::task::spawn_blocking(|| {
        let mut pipeline = Pipeline::default();
        (0..SHOTS)
            .map(|i| {
                let scene = Scene::of(MEMBER, i / 12);
                thumbs::render(&mut pipeline, 1, scene, 0xBE7C4, i as u32)
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await??;
    let now = client.health().await?.server_time.unwrap_or_else(Utc::now);
    let start = now - TimeDelta::minutes(100);
    let entry = EntryId::new();
    maria
        .start_timer(entry, "Bluebird rebrand: style guide", Some(start))
        .await?;
    for (i, webp) in webps.into_iter().enumerate() {
        maria
            .upload_screenshot(&ScreenshotUpload {
                id: ScreenshotId::new(),
                entry_id: entry,
                captured_at: start + TimeDelta::seconds(30 + 60 * i as i64),
                bytes: Bytes::from(webp),
            })
            .await
            .context("uploading a screenshot")?;
    }
    maria
        .stop_timer(Some(entry), Some(now - TimeDelta::minutes(1)))
        .await?;
    Ok(())
}

struct Bench {
    app: PathBuf,
    driver: PathBuf,
    display: String,
    zone: (String, i64),
    work: PathBuf,
    window: Duration,
}

/// One measured state.
struct Row {
    state: &'static str,
    /// Percent of one core.
    app_cpu: f64,
    web_cpu: f64,
    net_cpu: f64,
    /// Voluntary context switches a second of every thread of the three, together: how often
    /// they wake, which a slower machine does not change.
    wakeups: f64,
    /// KiB.
    app_pss: u64,
    web_pss: u64,
    net_pss: u64,
    /// The page's `document.visibilityState` at the end, and `focused` when it has the focus.
    page: String,
}

impl Row {
    fn cpu(&self) -> f64 {
        self.app_cpu + self.web_cpu + self.net_cpu
    }
    fn pss(&self) -> u64 {
        self.app_pss + self.web_pss + self.net_pss
    }
}

impl Bench {
    async fn measure_all(&self, url: &str) -> Result<Vec<Row>> {
        let mut rows = Vec::new();

        println!("==> baseline: the app before any sign-in");
        let app = self.launch("baseline", &[]).await?;
        let outcome = async {
            app.wait(&tid("sign-in")).await?;
            rows.push(self.measure(&app, "before sign-in (baseline)").await?);
            Ok::<_, anyhow::Error>(())
        }
        .await;
        app.stop().await;
        outcome?;
        // The next app is found by its executable: wait until this one is gone.
        let deadline = Instant::now() + WAIT;
        while ProcessTree::read()?.pid_of_exe(&self.app).is_some() {
            if Instant::now() > deadline {
                bail!("the baseline app did not exit");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let member = &PEOPLE[MEMBER];
        let app = self
            .launch(
                "signed-in",
                &[
                    ("SHOTCLOCK_SERVER_URL", url),
                    ("SHOTCLOCK_EMAIL", member.email),
                    ("SHOTCLOCK_PASSWORD", PASSWORD),
                ],
            )
            .await?;
        let outcome = self.signed_in(&app, &mut rows).await;
        app.stop().await;
        outcome?;
        Ok(rows)
    }

    async fn signed_in(&self, app: &App, rows: &mut Vec<Row>) -> Result<()> {
        app.wait(&tid("account")).await?;
        app.open_section("timer").await?;
        let input = app.wait(&tid("timer-description")).await?;
        input.send_keys("Bluebird rebrand: icons").await?;
        app.wait(&tid("timer-toggle")).await?.click().await?;
        app.wait(&format!("{}[data-running='true']", tid("timer-toggle")))
            .await?;
        app.wait(&format!(
            "{}[data-state='active']",
            tid("capture-indicator")
        ))
        .await?;
        println!("==> timer running: Timer view");
        rows.push(self.measure(app, "timer running: Timer").await?);

        println!("==> timer running: Timer view, behind another window that has the focus");
        // Bottom right of the 1920×1080 screen, clear of the app's window.
        let other = FocusedWindow::take(&self.display, 1600, 900)?;
        rows.push(
            self.measure(app, "timer running: Timer, another window focused")
                .await?,
        );
        drop(other);

        println!("==> timer running: Activity › Screenshots, {SHOTS} thumbnails");
        app.open_section("screenshots").await?;
        app.wait(&tid("member-toggle")).await?.click().await?;
        let thumbs = tid("thumb");
        let deadline = Instant::now() + WAIT;
        loop {
            let n = app.client().find_all(Locator::Css(&thumbs)).await?.len();
            if n >= SHOTS {
                break;
            }
            if Instant::now() > deadline {
                bail!("the Screenshots view shows {n} thumbnails, not {SHOTS}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        app.browse_to_the_end_and_back().await?;
        rows.push(
            self.measure(app, "timer running: Screenshots (96 thumbnails)")
                .await?,
        );

        println!("==> timer running: Settings");
        app.open_section("settings").await?;
        rows.push(self.measure(app, "timer running: Settings").await?);

        println!("==> timer running: window closed to the tray");
        close_window(&self.display, "Shotclock")?;
        // Closed to the tray, the window is destroyed and its web process exits with it (an
        // app that only hides it keeps a page whose state turns `hidden`).
        let deadline = Instant::now() + WAIT;
        while !(app.processes()?.web.is_empty() || app.visibility().await == "hidden") {
            if Instant::now() > deadline {
                bail!("the window's page stayed on after the window was closed");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(TRAY_SETTLE).await;
        rows.push(
            self.measure(app, "timer running: hidden in the tray")
                .await?,
        );
        Ok(())
    }

    /// Lets the state settle, then measures it for `self.window`.
    async fn measure(&self, app: &App, state: &'static str) -> Result<Row> {
        tokio::time::sleep(SETTLE).await;
        let procs = app.processes()?;
        let ticks = clock_ticks_per_second();
        let before = procs.cpu_ticks();
        let woken = procs.wakeups();
        let started = Instant::now();
        // Measuring: the window is left alone for the whole span.
        tokio::time::sleep(self.window).await;
        let after = procs.cpu_ticks();
        let woken = procs.wakeups().since(&woken);
        let secs = started.elapsed().as_secs_f64();
        let cpu = |a: u64, b: u64| (a.saturating_sub(b)) as f64 / ticks / secs * 100.0;
        let page = match (app.visibility().await, app.focused().await) {
            (visibility, true) => format!("{visibility}, focused"),
            (visibility, false) => visibility,
        };
        let row = Row {
            state,
            app_cpu: cpu(after.0, before.0),
            web_cpu: cpu(after.1, before.1),
            net_cpu: cpu(after.2, before.2),
            wakeups: woken as f64 / secs,
            app_pss: pss_kib(&[procs.app]),
            web_pss: pss_kib(&procs.web),
            net_pss: pss_kib(&procs.net),
            page,
        };
        println!(
            "    {:.2}% of a core, {:.0} MB PSS",
            row.cpu(),
            row.pss() as f64 / 1024.0
        );
        Ok(row)
    }

    /// The release app through a fresh tauri-driver, with a data directory of its own.
    async fn launch(&self, name: &str, env: &[(&str, &str)]) -> Result<App> {
        let data = self.work.join(format!("app-{name}"));
        std::fs::create_dir_all(&data)?;
        let port = free_port()?;
        let native = free_port()?;
        let mut cmd = Command::new(&self.driver);
        cmd.args(["--port", &port.to_string()])
            .args(["--native-port", &native.to_string()])
            .env("DISPLAY", &self.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("SHOTCLOCK_DATA_DIR", &data)
            .env("TZ", &self.zone.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let driver = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.driver.display()))?;
        let mut driver = driver;
        for p in [port, native] {
            let deadline = Instant::now() + WAIT;
            while TcpStream::connect(("127.0.0.1", p)).is_err() {
                if Instant::now() > deadline {
                    stop_driver(&mut driver, &self.app).await;
                    bail!("tauri-driver did not listen on {p}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": self.app }),
        );
        let mut builder = ClientBuilder::rustls()?;
        builder.capabilities(caps);
        let connected = tokio::time::timeout(
            Duration::from_secs(120),
            builder.connect(&format!("http://127.0.0.1:{port}")),
        )
        .await;
        match connected {
            Ok(Ok(client)) => Ok(App {
                driver,
                client,
                exe: self.app.clone(),
            }),
            Ok(Err(e)) => {
                stop_driver(&mut driver, &self.app).await;
                Err(e).context("opening a WebDriver session on the app")
            }
            Err(_) => {
                stop_driver(&mut driver, &self.app).await;
                bail!("the app's window did not come up within 120 s")
            }
        }
    }
}

/// `[data-testid='id']`.
fn tid(id: &str) -> String {
    format!("[data-testid='{id}']")
}

/// The app under its driver.
struct App {
    driver: Child,
    client: Client,
    exe: PathBuf,
}

impl App {
    fn client(&self) -> &Client {
        &self.client
    }

    async fn wait(&self, css: &str) -> Result<fantoccini::elements::Element> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(el) = self.client().find(Locator::Css(css)).await {
                return Ok(el);
            }
            if Instant::now() > deadline {
                bail!("the window shows no {css}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn open_section(&self, id: &str) -> Result<()> {
        self.wait(&format!("nav button[data-section='{id}']"))
            .await?
            .click()
            .await?;
        self.wait(&format!("main[data-section='{id}'] .section-title"))
            .await?;
        Ok(())
    }

    /// Scrolls the page to the end in screenfuls, letting the images on screen load, then back
    /// to the top.
    async fn browse_to_the_end_and_back(&self) -> Result<()> {
        let step = r#"
            const done = arguments[arguments.length - 1];
            const el = document.scrollingElement;
            el.scrollBy(0, innerHeight * 0.8);
            const atEnd = el.scrollTop + innerHeight >= el.scrollHeight - 2;
            const settle = () => {
              const pending = [...document.images].filter((img) => {
                const r = img.getBoundingClientRect();
                return !img.complete && r.bottom > 0 && r.top < innerHeight;
              });
              if (pending.length === 0) requestAnimationFrame(() => done(atEnd));
              else setTimeout(settle, 50);
            };
            setTimeout(settle, 100);
        "#;
        let deadline = Instant::now() + WAIT;
        while self.client().execute_async(step, vec![]).await? != true {
            if Instant::now() > deadline {
                bail!("scrolling through the thumbnails took over {WAIT:?}");
            }
        }
        self.client()
            .execute("document.scrollingElement.scrollTo(0, 0)", vec![])
            .await?;
        Ok(())
    }

    /// `?` when there is no page to ask (the window was closed and destroyed).
    async fn visibility(&self) -> String {
        let asked = tokio::time::timeout(
            Duration::from_secs(5),
            self.client()
                .execute("return document.visibilityState", vec![]),
        )
        .await;
        match asked {
            Ok(Ok(v)) => v.as_str().unwrap_or("?").to_owned(),
            _ => "?".to_owned(),
        }
    }

    /// Whether the page has the keyboard focus (`document.hasFocus()`); false without a page.
    async fn focused(&self) -> bool {
        let asked = tokio::time::timeout(
            Duration::from_secs(5),
            self.client().execute("return document.hasFocus()", vec![]),
        )
        .await;
        matches!(asked, Ok(Ok(serde_json::Value::Bool(true))))
    }

    fn processes(&self) -> Result<Processes> {
        let tree = ProcessTree::read()?;
        let Some(app) = tree.pid_of_exe(&self.exe) else {
            bail!("the app process is gone");
        };
        Ok(Processes {
            app,
            web: tree.descendants_named(app, "WebKitWebProces"),
            net: tree.descendants_named(app, "WebKitNetworkPr"),
        })
    }

    /// Ends the session (the app exits) and stops tauri-driver.
    async fn stop(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
        stop_driver(&mut self.driver, &self.exe).await;
    }
}

/// Stops tauri-driver with SIGTERM (SIGKILL would orphan WebKitWebDriver) and waits for the app
/// to exit.
async fn stop_driver(driver: &mut Child, exe: &Path) {
    let _ = stop_child(driver).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while ProcessTree::read().is_ok_and(|t| t.pid_of_exe(exe).is_some())
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The app's processes: itself, its WebKit web and network processes.
struct Processes {
    app: u32,
    web: Vec<u32>,
    net: Vec<u32>,
}

impl Processes {
    /// (app, web, network) CPU ticks so far.
    fn cpu_ticks(&self) -> (u64, u64, u64) {
        (
            cpu_ticks(&[self.app]),
            cpu_ticks(&self.web),
            cpu_ticks(&self.net),
        )
    }

    /// Voluntary context switches of every thread of every process, now.
    fn wakeups(&self) -> Wakeups {
        let mut pids = vec![self.app];
        pids.extend(&self.web);
        pids.extend(&self.net);
        Wakeups::read(&pids)
    }
}

fn print_table(rows: &[Row], secs: u64) {
    let mb = |kib: u64| kib as f64 / 1024.0;
    println!(
        "\nshotclock app bench: release build, private Xvfb 1920x1080, {secs} s per state after \
         {} s to settle; CPU in % of one core (utime+stime), wakeups a second of all their \
         threads (voluntary context switches), PSS in MB (smaps_rollup)",
        SETTLE.as_secs()
    );
    println!(
        "  {:<44} {:>7} {:>7} {:>7} {:>7} {:>7} | {:>6} {:>6} {:>6} {:>6}  page",
        "state", "app", "web", "network", "total", "wakeups", "app", "web", "network", "total"
    );
    for r in rows {
        println!(
            "  {:<44} {:>6.2}% {:>6.2}% {:>6.2}% {:>6.2}% {:>7.1} | {:>6.0} {:>6.0} {:>6.0} {:>6.0}  {}",
            r.state,
            r.app_cpu,
            r.web_cpu,
            r.net_cpu,
            r.cpu(),
            r.wakeups,
            mb(r.app_pss),
            mb(r.web_pss),
            mb(r.net_pss),
            mb(r.pss()),
            r.page
        );
    }
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let running: Vec<&Row> = rows
        .iter()
        .filter(|r| r.state.starts_with("timer running") && !r.state.contains("hidden"))
        .collect();
    let worst = running.iter().map(|r| r.cpu()).fold(0.0, f64::max);
    println!("\ntargets:");
    println!(
        "  {} timer running, window visible, every view: ≤ 1% of a core together: worst {worst:.2}%",
        verdict(!running.is_empty() && worst <= 1.0)
    );
    if let Some(behind) = rows.iter().find(|r| r.state.contains("another window")) {
        println!(
            "  {} of which on screen behind another window (not in use): ≤ 1%: {:.2}%",
            verdict(behind.cpu() <= 1.0),
            behind.cpu()
        );
    }
    if let Some(hidden) = rows.iter().find(|r| r.state.contains("hidden")) {
        println!(
            "  {} window hidden: ≤ 0.1%: {:.2}%",
            verdict(hidden.cpu() <= 0.1),
            hidden.cpu()
        );
        println!(
            "  {} PSS hidden in the tray ≤ 120 MB: {:.0} MB",
            verdict(mb(hidden.pss()) <= 120.0),
            mb(hidden.pss())
        );
    }
    let browsed = rows
        .iter()
        .skip_while(|r| !r.state.contains("Screenshots"))
        .filter(|r| !r.state.contains("hidden"))
        .map(|r| r.pss())
        .max();
    if let Some(kib) = browsed {
        println!(
            "  {} PSS after browsing {SHOTS} thumbnails ≤ 200 MB: {:.0} MB",
            verdict(mb(kib) <= 200.0),
            mb(kib)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_puts_now_in_the_afternoon() {
        let (name, ahead) = afternoon_zone();
        let local = (i64::from(Utc::now().hour()) + ahead).rem_euclid(24);
        // The hour may turn between the two reads.
        assert!((13..=15).contains(&local), "{name}: {local}:00");
        assert!((-12..=14).contains(&ahead), "{name}");
    }

    #[test]
    fn parses_the_duration() {
        assert_eq!(parse_secs(&[]).ok(), Some(60));
        assert_eq!(parse_secs(&["--secs".into(), "5".into()]).ok(), Some(5));
        assert!(parse_secs(&["--secs".into(), "0".into()]).is_err());
        assert!(parse_secs(&["--fast".into()]).is_err());
    }
}
