//! Test support: a headless Wayland desktop for the portal capture tests, the engine's portal
//! test and the capture bench, started by the test itself:
//! a private D-Bus daemon, PipeWire + WirePlumber, `mutter --wayland --headless` with a
//! 1280×720 virtual monitor, the permission store, the real `xdg-desktop-portal` frontend and
//! a small ScreenCast backend (`scripts/portal_backend.py`) that hands out mutter's own streams.
//!
//! Every directory the components use (runtime, home, temp) lives under one private temporary
//! directory, and the bus has no activatable services, so a component that is not started here
//! does not exist. A missing program is a test failure that names the Debian package.
//!
//! [`x11`]: a private Xvfb, optionally with `openbox`, and real `xterm` windows (the
//! blocked-window redaction tests).
//!
//! Readiness is a condition polled against a deadline (a bus name owned, a socket present),
//! never a fixed sleep.

// Only tests and benches use this crate, and whatever fails in it must fail them loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod x11;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one component may take to come up.
pub const READY: Duration = Duration::from_secs(30);

/// The first line `child` writes on its piped standard output, or an empty string if none comes
/// within [`READY`] (the reader thread ends with the child's output).
pub(crate) fn first_line(child: &mut Child) -> String {
    let Some(stdout) = child.stdout.take() else {
        return String::new();
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(READY).unwrap_or_default()
}

/// Which portal the desktop offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Portal {
    /// The frontend with the test backend in this mode (`grant`, `refuse`, `dmabuf`).
    Backend(&'static str),
    /// The frontend without any ScreenCast backend.
    WithoutScreenCast,
    /// No portal on the bus at all.
    None,
}

pub struct Desktop {
    dir: tempfile::TempDir,
    children: Vec<(&'static str, Child)>,
    painter: Option<Child>,
    pub bus: String,
}

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// Polls `check` until it returns `Some`, or panics after `timeout` saying what was awaited.
pub fn poll<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn program(name: &str, package: &str) -> PathBuf {
    for dir in [
        "/usr/bin",
        "/usr/libexec",
        "/usr/lib/x86_64-linux-gnu/libexec",
        "/bin",
    ] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "`{name}` is not installed: the Wayland capture tests need the Debian package \
         `{package}` (installed by `cargo xtask test`'s set-up)"
    );
}

impl Desktop {
    pub fn start(portal: Portal) -> Desktop {
        Desktop::start_with(portal, &[])
    }

    /// Starts the desktop; `backend_env` goes to the portal backend only.
    pub fn start_with(portal: Portal, backend_env: &[(&str, String)]) -> Desktop {
        let mut desktop = Desktop::start_base();
        desktop.start_portal(portal, backend_env);
        desktop
    }

    /// Starts the desktop with one virtual monitor per size (`"1280x720"`), side by side in
    /// the order given.
    pub fn start_with_monitors(portal: Portal, monitors: &[&str]) -> Desktop {
        let mut desktop = Desktop::start_base_with(monitors);
        desktop.start_portal(portal, &[]);
        desktop
    }

    /// Everything but the portal: bus, PipeWire, WirePlumber, mutter, permission store.
    pub fn start_base() -> Desktop {
        Desktop::start_base_with(&["1280x720"])
    }

    /// [`Desktop::start_base`] with one virtual monitor per size.
    pub fn start_base_with(monitors: &[&str]) -> Desktop {
        let dir = tempfile::Builder::new()
            .prefix("shotclock-wayland-")
            .tempdir()
            .unwrap();
        for sub in ["run", "home", "tmp", "portals", "logs"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        let socket = dir.path().join("run/bus");
        let bus = format!("unix:path={}", socket.display());
        std::fs::write(
            dir.path().join("bus.conf"),
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{bus}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#
            ),
        )
        .unwrap();
        let mut desktop = Desktop {
            dir,
            children: Vec::new(),
            painter: None,
            bus,
        };
        let dbus = program("dbus-daemon", "dbus");
        let conf = desktop.path("bus.conf");
        desktop.spawn(
            "dbus-daemon",
            desktop.command(dbus).args([
                "--nofork".into(),
                "--nopidfile".into(),
                format!("--config-file={}", conf.display()),
            ]),
        );
        poll("the private D-Bus daemon", READY, || {
            std::os::unix::net::UnixStream::connect(&socket).ok()
        });

        let mut cmd = desktop.command(program("pipewire", "pipewire-bin"));
        desktop.spawn("pipewire", &mut cmd);
        let pw_socket = desktop.path("run/pipewire-0");
        poll("PipeWire's socket", READY, || {
            pw_socket.exists().then_some(())
        });
        let mut cmd = desktop.command(program("wireplumber", "wireplumber"));
        desktop.spawn("wireplumber", &mut cmd);
        let mut cmd = desktop.command(program("mutter", "mutter"));
        cmd.args(["--wayland", "--headless", "--no-x11"]);
        for size in monitors {
            cmd.args(["--virtual-monitor", size]);
        }
        desktop.spawn("mutter", &mut cmd);
        desktop.wait_name("org.gnome.Mutter.ScreenCast");
        let mut cmd = desktop.command(program("xdg-permission-store", "xdg-desktop-portal"));
        desktop.spawn("permission-store", &mut cmd);
        desktop.wait_name("org.freedesktop.impl.portal.PermissionStore");
        desktop
    }

    /// Starts the portal side.
    pub fn start_portal(&mut self, portal: Portal, backend_env: &[(&str, String)]) {
        let desktop = self;
        match portal {
            Portal::None => {}
            Portal::WithoutScreenCast => desktop.start_frontend(),
            Portal::Backend(mode) => {
                std::fs::write(
                    desktop.path("portals/shotclocktest.portal"),
                    "[portal]\nDBusName=org.freedesktop.impl.portal.desktop.shotclocktest\n\
                     Interfaces=org.freedesktop.impl.portal.ScreenCast\nUseIn=shotclocktest\n",
                )
                .unwrap();
                let log = std::fs::File::create(desktop.path("logs/backend.jsonl")).unwrap();
                let mut cmd = desktop.command(program("python3", "python3"));
                cmd.arg(here().join("portal_backend.py"))
                    .env("SC_BACKEND_MODE", mode)
                    .stdout(log);
                for (k, v) in backend_env {
                    cmd.env(k, v);
                }
                desktop.spawn("portal-backend", &mut cmd);
                desktop.wait_name("org.freedesktop.impl.portal.desktop.shotclocktest");
                desktop.start_frontend();
            }
        }
    }

    fn start_frontend(&mut self) {
        let portals = self.path("portals");
        let mut cmd = self.command(program("xdg-desktop-portal", "xdg-desktop-portal"));
        self.spawn(
            "xdg-desktop-portal",
            cmd.args(["--replace", "--verbose"])
                .env("XDG_DESKTOP_PORTAL_DIR", portals)
                .env("XDG_CURRENT_DESKTOP", "shotclocktest"),
        );
        self.wait_name("org.freedesktop.portal.Desktop");
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The runtime directory (PipeWire and Wayland sockets, the bus).
    pub fn runtime_dir(&self) -> PathBuf {
        self.path("run")
    }

    /// The components' home (their data and config directories).
    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// The components' temporary directory.
    pub fn tmp(&self) -> PathBuf {
        self.path("tmp")
    }

    /// A command with the desktop's environment and nothing else.
    fn command(&self, program: PathBuf) -> Command {
        let home = self.home();
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("TMPDIR", self.tmp())
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("GSETTINGS_BACKEND", "memory")
            .env("NO_AT_BRIDGE", "1");
        cmd
    }

    fn spawn(&mut self, name: &'static str, cmd: &mut Command) {
        let err = std::fs::File::create(self.path(&format!("logs/{name}.log"))).unwrap();
        cmd.stdin(Stdio::null()).stderr(err);
        if !matches!(name, "portal-backend" | "painter") {
            cmd.stdout(Stdio::null());
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.children.push((name, child));
    }

    fn wait_name(&mut self, name: &str) {
        let bus = self.bus.clone();
        let deadline = Instant::now() + READY;
        loop {
            let out = Command::new("dbus-send")
                .args([
                    &format!("--bus={bus}"),
                    "--print-reply=literal",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    &format!("string:{name}"),
                ])
                .output()
                .expect("dbus-send (package dbus) is needed");
            if String::from_utf8_lossy(&out.stdout).contains("true") {
                return;
            }
            for (child_name, child) in &mut self.children {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "{child_name} exited ({status}) while waiting for {name}; log: {}",
                        std::fs::read_to_string(
                            self.dir.path().join(format!("logs/{child_name}.log"))
                        )
                        .unwrap_or_default()
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {name} on the bus"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Shows a fullscreen window on mutter's monitor: `solid R G B` or `text`. Returns once the
    /// painter has drawn its first frame.
    pub fn paint(&mut self, args: &[&str]) {
        if let Some(mut old) = self.painter.take() {
            let _ = old.kill();
            let _ = old.wait();
        }
        let err = std::fs::File::create(self.path("logs/painter.log")).unwrap();
        let mut child = self
            .command(program("python3", "python3"))
            .arg(here().join("painter.py"))
            .args(args)
            .env("WAYLAND_DISPLAY", "wayland-0")
            .env("GDK_BACKEND", "wayland")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the painter (python3-gi, GTK 3): {e}"));
        let line = first_line(&mut child);
        if line.trim() != "drawn" {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert_eq!(
            line.trim(),
            "drawn",
            "the painter did not draw: {}",
            std::fs::read_to_string(self.path("logs/painter.log")).unwrap_or_default()
        );
        self.painter = Some(child);
    }

    /// The backend's events so far (one JSON object per step).
    pub fn backend_events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path("logs/backend.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits for a backend event named `name` after the first `skip` events.
    pub fn backend_event(&self, name: &str, skip: usize) -> serde_json::Value {
        poll(&format!("the backend's `{name}` event"), READY, || {
            self.backend_events()
                .into_iter()
                .skip(skip)
                .find(|e| e["event"] == name)
        })
    }

    /// The log of one component (for failure messages).
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("logs/{name}.log"))).unwrap_or_default()
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        if let Some(mut p) = self.painter.take() {
            let _ = p.kill();
            let _ = p.wait();
        }
        while let Some((_, mut child)) = self.children.pop() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_answers_the_first_value_the_check_yields() {
        let mut calls = 0;
        let got = poll("the third call", Duration::from_secs(5), || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        assert_eq!(got, 3);
    }

    #[test]
    #[should_panic(expected = "timed out after 50ms waiting for a condition that never holds")]
    fn poll_fails_the_test_once_the_deadline_passes() {
        poll(
            "a condition that never holds",
            Duration::from_millis(50),
            || None::<()>,
        );
    }

    #[test]
    fn the_helper_scripts_ship_with_the_crate() {
        for script in ["portal_backend.py", "painter.py"] {
            assert!(here().join(script).is_file(), "{script} is missing");
        }
    }
}
