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

use anyhow::{Result, ensure};
use shotclock_procstat::{ProcessTree, Stat, clock_ticks_per_second, percent};
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
        let web_percent = percent(
            cpu_ticks(&web)?.saturating_sub(before),
            ticks_per_sec,
            elapsed,
        );
        let app_percent = percent(
            cpu_ticks(&[app_pid])?.saturating_sub(app_before),
            ticks_per_sec,
            elapsed,
        );
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

/// utime + stime of `pids`, summed, in clock ticks; every one of them must still run.
fn cpu_ticks(pids: &[u32]) -> Result<u64> {
    pids.iter().try_fold(0, |sum, pid| match Stat::of(*pid) {
        Some(stat) => Ok(sum + stat.cpu_ticks),
        None => anyhow::bail!("process {pid} is gone"),
    })
}
