//! A private X display for headless machines: when `DISPLAY` is unset, start
//! `Xvfb -noreset` (without it the screen is wiped when the last client leaves and captures come
//! back black) at 1920x1080x24, and stop it when the guard drops.

use anyhow::{Result, bail};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Display {
    /// The value for `DISPLAY`, e.g. `:99`.
    pub name: String,
    xvfb: Option<Child>,
}

impl Drop for Display {
    fn drop(&mut self) {
        if let Some(child) = &mut self.xvfb {
            // SIGTERM lets Xvfb remove its lock file.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

/// The current display, or a fresh Xvfb when there is none.
pub fn ensure() -> Result<Display> {
    if let Ok(name) = std::env::var("DISPLAY")
        && !name.is_empty()
    {
        return Ok(Display { name, xvfb: None });
    }
    private()
}

/// A fresh Xvfb of its own, whatever `DISPLAY` says (benchmarks: nothing else draws there).
pub fn private() -> Result<Display> {
    let Some(n) = (99..160).find(|n| !Path::new(&format!("/tmp/.X{n}-lock")).exists()) else {
        bail!("no free X display number between :99 and :159");
    };
    let name = format!(":{n}");
    println!("==> starting Xvfb {name} (1920x1080x24)");
    let child = Command::new("Xvfb")
        .args([
            name.as_str(),
            "-screen",
            "0",
            "1920x1080x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let display = Display {
        name,
        xvfb: Some(child),
    };
    let socket = format!("/tmp/.X11-unix/X{n}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !Path::new(&socket).exists() {
        if Instant::now() > deadline {
            bail!("Xvfb did not open {socket} within 20 s");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok(display)
}
