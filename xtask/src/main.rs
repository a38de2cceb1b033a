//! `cargo xtask` — the project's two commands and its benchmarks.
//!
//! - `cargo xtask run`: set up a Debian/Ubuntu machine (system packages, npm packages, UI build),
//!   build the desktop app and launch it.
//! - `cargo xtask test`: the same set-up, then every check and test layer, with a summary per
//!   layer; fails when any layer fails or runs zero tests.
//!
//! This is a binary for people at a terminal, so it prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod display;
mod layers;
mod setup;
mod sh;

use anyhow::{Result, bail};
use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    match real_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root()?;
    match args.first().map(String::as_str) {
        Some("run") => run(&root),
        Some("test") => layers::test_all(&root, &args[1..]),
        Some("bench") => bench(&root, &args[1..]),
        Some("setup") => setup::all(&root, setup::Need::Test),
        Some("help") | Some("-h") | Some("--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

const USAGE: &str = "usage: cargo xtask <command>

  run     install what is missing, build the app and launch it
  test    install what is missing, then fmt, clippy, Rust tests, UI checks and system tests
  bench [capture|server]
          release-build benchmarks that run our code and a baseline side by side
  setup   only the installation steps";

/// The repository root: the parent of this crate's manifest directory.
fn repo_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match manifest.parent() {
        Some(p) => Ok(p.to_path_buf()),
        None => bail!(
            "cannot locate the repository root from {}",
            manifest.display()
        ),
    }
}

fn run(root: &std::path::Path) -> Result<()> {
    setup::all(root, setup::Need::Run)?;
    let display = display::ensure()?;
    println!(
        "==> building and launching the app on DISPLAY={}",
        display.name
    );
    sh::run(
        std::process::Command::new(sh::cargo_bin())
            .args(["run", "--quiet", "-p", "shotclock"])
            .env("DISPLAY", &display.name)
            .current_dir(root),
    )
}

/// Each benchmark is a `harness = false` bench target that prints its own comparison table.
const BENCHES: &[(&str, &str)] = &[
    ("capture", "shotclock-capture"),
    ("server", "shotclock-server"),
];

fn bench(root: &std::path::Path, which: &[String]) -> Result<()> {
    setup::all(root, setup::Need::Run)?;
    let display = display::ensure()?;
    let chosen: Vec<&(&str, &str)> = match which.first() {
        None => BENCHES.iter().collect(),
        Some(name) => match BENCHES.iter().find(|(b, _)| b == name) {
            Some(b) => vec![b],
            None => bail!("unknown benchmark `{name}`; choose one of: capture, server"),
        },
    };
    for (name, pkg) in chosen {
        println!("==> bench {name}");
        sh::run(
            std::process::Command::new(sh::cargo_bin())
                .args(["bench", "-p", pkg, "--bench", name])
                .env("DISPLAY", &display.name)
                .current_dir(root),
        )?;
    }
    Ok(())
}
