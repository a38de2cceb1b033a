//! System test: a running timer costs the web view (almost) nothing.
//!
//! The real app, signed in to the real service with capture on, a timer running and the capture
//! indicator showing, its window on screen (Timer view). Over 20 s the WebKit web process must
//! use less than 10% of one core, read from `/proc/PID/stat` (utime + stime) at both ends.
//!
//! The bound is loose on purpose: CPU time is what the process itself spent, so a loaded machine
//! does not inflate it much, and the work left (a 1 s tick repainting one line) is far below it.
//! An animation that repaints every frame (the indicator's former `box-shadow` pulse) costs 60–70%
//! under Xvfb's software rendering and fails it.

mod support;

use anyhow::{Context, Result, bail, ensure};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::service::Service;
use support::ui::{DesktopApp, MEDIUM, SHORT, note, tid};
use support::{app_binary, wait_for};

/// How long the CPU is measured.
const WINDOW: Duration = Duration::from_secs(20);
/// Most of one core the web process may use meanwhile, in percent.
const WEB_LIMIT_PERCENT: f64 = 10.0;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs a display and tauri-driver; run by `cargo xtask test`"]
async fn a_running_timer_costs_the_web_view_almost_nothing() -> Result<()> {
    let service = Service::start()?;
    let team = service.team("idle", true).await?;
    let app = DesktopApp::signed_in(&service, &team.ana).await?;

    let outcome = async {
        app.open_section("timer").await?;
        app.type_into(&tid("timer-description"), "Writing the quarterly report")
            .await?;
        app.click(&tid("timer-toggle")).await?;
        app.wait_attr(&tid("timer-toggle"), "data-running", "true", MEDIUM)
            .await?;
        app.wait_attr(&tid("capture-indicator"), "data-state", "active", MEDIUM)
            .await?;
        // The measurement means something only with the window on screen.
        let visibility = app
            .client
            .execute("return document.visibilityState", vec![])
            .await?;
        ensure!(
            visibility == "visible",
            "the page is {visibility}, not visible"
        );

        let processes = wait_for(SHORT, "the app's WebKit web process", || async {
            let tree = ProcessTree::read().ok()?;
            let app_pid = tree.pid_of_exe(&app_binary())?;
            let web = tree.descendants_named(app_pid, WEB_PROCESS);
            (!web.is_empty()).then_some((app_pid, web))
        })
        .await?;
        let (app_pid, web) = processes;

        let ticks_per_sec = clock_ticks_per_second();
        let before = cpu_ticks(&web)?;
        let app_before = cpu_ticks(&[app_pid])?;
        let started = Instant::now();
        // Measuring, not waiting for readiness: the window is left alone for the whole span.
        tokio::time::sleep(WINDOW).await;
        let elapsed = started.elapsed().as_secs_f64();
        let web_percent = percent(cpu_ticks(&web)? - before, ticks_per_sec, elapsed);
        let app_percent = percent(cpu_ticks(&[app_pid])? - app_before, ticks_per_sec, elapsed);
        note(&format!(
            "timer running, Timer view, {elapsed:.1} s: WebKit web process {web_percent:.2}% \
             of a core, app process {app_percent:.2}%"
        ));

        // Still the state that was measured.
        app.wait_attr(&tid("timer-toggle"), "data-running", "true", SHORT)
            .await?;
        app.wait_attr(&tid("capture-indicator"), "data-state", "active", SHORT)
            .await?;
        let ticking = app.text(&tid("timer-elapsed")).await.unwrap_or_default();
        ensure!(
            ticking != "0:00:00",
            "the running time does not tick ({ticking:?})"
        );
        ensure!(
            web_percent < WEB_LIMIT_PERCENT,
            "the WebKit web process used {web_percent:.1}% of a core over {elapsed:.0} s with a \
             timer running (limit {WEB_LIMIT_PERCENT}%)"
        );
        Ok(())
    }
    .await;

    app.finish("idle", outcome).await
}

/// `comm` of WebKitGTK's web process (the kernel keeps 15 bytes of a name).
const WEB_PROCESS: &str = "WebKitWebProces";

fn percent(ticks: u64, per_sec: f64, secs: f64) -> f64 {
    ticks as f64 / per_sec / secs * 100.0
}

/// `getconf CLK_TCK` (100 on Linux unless configured otherwise).
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of `pids`, summed, in clock ticks.
fn cpu_ticks(pids: &[u32]) -> Result<u64> {
    let mut sum = 0;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("process {pid} is gone"))?;
        sum += Stat::parse(&stat)
            .with_context(|| format!("unreadable /proc/{pid}/stat"))?
            .cpu_ticks;
    }
    Ok(sum)
}

/// The fields of `/proc/PID/stat` this test needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stat {
    comm: String,
    ppid: u32,
    cpu_ticks: u64,
}

impl Stat {
    /// `pid (comm) state ppid … utime(14) stime(15) …`; `comm` may hold spaces and parentheses,
    /// so the fields are counted after its last `)`.
    fn parse(line: &str) -> Option<Stat> {
        let open = line.find('(')?;
        let close = line.rfind(')')?;
        let comm = line.get(open + 1..close)?.to_owned();
        let rest: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
        // rest[0] is field 3 (state).
        let ppid = rest.get(1)?.parse().ok()?;
        let utime: u64 = rest.get(11)?.parse().ok()?;
        let stime: u64 = rest.get(12)?.parse().ok()?;
        Some(Stat {
            comm,
            ppid,
            cpu_ticks: utime + stime,
        })
    }
}

/// Every process's `stat`, by pid.
struct ProcessTree(HashMap<u32, Stat>);

impl ProcessTree {
    fn read() -> Result<Self> {
        let mut all = HashMap::new();
        for entry in std::fs::read_dir("/proc")?.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some(stat) = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|s| Stat::parse(&s))
            {
                all.insert(pid, stat);
            }
        }
        if all.is_empty() {
            bail!("no process found in /proc");
        }
        Ok(Self(all))
    }

    fn pid_of_exe(&self, exe: &std::path::Path) -> Option<u32> {
        self.0
            .keys()
            .copied()
            .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe))
    }

    /// Descendants of `root` (children, grandchildren through a sandbox launcher, …) named `comm`.
    fn descendants_named(&self, root: u32, comm: &str) -> Vec<u32> {
        let mut found = Vec::new();
        let mut frontier = vec![root];
        while let Some(parent) = frontier.pop() {
            for (pid, stat) in &self.0 {
                if stat.ppid == parent {
                    frontier.push(*pid);
                    if stat.comm == comm {
                        found.push(*pid);
                    }
                }
            }
        }
        found
    }
}

#[test]
fn reads_proc_stat_fields_after_a_tricky_name() {
    let line = "4242 (Web (Kit) x) S 17 4242 4242 0 -1 4194560 9 0 0 0 250 75 0 0 20 0 9 0 100 0 0";
    assert_eq!(
        Stat::parse(line),
        Some(Stat {
            comm: "Web (Kit) x".into(),
            ppid: 17,
            cpu_ticks: 325
        })
    );
    assert_eq!(Stat::parse("garbage"), None);
    assert!((percent(200, 100.0, 20.0) - 10.0).abs() < 1e-9);
}
