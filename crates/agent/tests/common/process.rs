//! The real `shotclock-agent` binary as a child process, capturing the real screen
//! (`XcapSource`) of the X display in `DISPLAY`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shotclock_testkit::{PASSWORD, eventually};

use super::DEADLINE;

/// The X display the tests capture. Fails with instructions when there is none: these tests
/// must not pass by silently skipping.
pub fn require_display() -> String {
    match std::env::var("DISPLAY") {
        Ok(d) if !d.trim().is_empty() => d,
        _ => panic!(
            "this test captures the real screen and needs an X display in DISPLAY. \
             `cargo xtask test` starts a private Xvfb; by hand: \
             `Xvfb :77 -screen 0 1920x1080x24 -nolisten tcp -noreset & export DISPLAY=:77`"
        ),
    }
}

/// Paints the root window with a two-colour pattern: a black or single-colour screen is
/// (rightly) classified as useless and not stored (R12).
pub fn paint_root(display: &str) {
    let status = Command::new("xsetroot")
        .args(["-mod", "16", "16", "-fg", "red", "-bg", "blue"])
        .env("DISPLAY", display)
        .status()
        .expect("could not run xsetroot (Debian package x11-xserver-utils)");
    assert!(
        status.success(),
        "xsetroot could not paint DISPLAY={display}: {status}"
    );
}

/// A running `shotclock-agent`. Its stderr (the tracing log) is collected line by line.
pub struct AgentProcess {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl AgentProcess {
    /// Starts the agent against `server_url` with its buffer in `data_dir`, signing in as
    /// `email` (or with the token it saved in `data_dir` on an earlier run).
    pub fn spawn(server_url: &str, data_dir: &Path, email: &str, display: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shotclock-agent"))
            .arg("--server")
            .arg(server_url)
            .arg("--data-dir")
            .arg(data_dir)
            .env("SHOTCLOCK_EMAIL", email)
            .env("SHOTCLOCK_PASSWORD", PASSWORD)
            .env("DISPLAY", display)
            .env("RUST_LOG", "info")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start shotclock-agent");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                sink.lock().unwrap().push(line);
            }
        });
        Self { child, lines }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits until the engine runs (it logs "agent running"); fails if the process exits.
    pub async fn wait_ready(&mut self) {
        let lines = self.lines.clone();
        let child = &mut self.child;
        let outcome = eventually("the agent to start", DEADLINE, || {
            let ready = lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("agent running"));
            let exited = child.try_wait().ok().flatten();
            let r = match (ready, exited) {
                (true, _) => Some(Ok(())),
                (false, Some(status)) => Some(Err(status)),
                (false, None) => None,
            };
            async move { r }
        })
        .await;
        if let Err(status) = outcome {
            panic!(
                "the agent exited ({status}) before running:\n{}",
                self.log()
            );
        }
    }

    /// `kill -9`: no chance to clean up.
    pub fn kill9(&mut self) {
        // std's Child::kill sends SIGKILL on Unix.
        self.child.kill().expect("SIGKILL the agent");
        self.child.wait().expect("reap the agent");
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let child = &mut self.child;
        eventually("the agent to exit after SIGTERM", DEADLINE, || {
            let r = child.try_wait().ok().flatten();
            async move { r }
        })
        .await
    }

    /// CPU time (user + system) the process has used so far, from `/proc/PID/stat`.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("read /proc/PID/stat");
        // Fields after the parenthesised command name (which may contain spaces).
        let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second() as f64)
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}
