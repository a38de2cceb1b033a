//! `cargo xtask` — the project's two commands and its benchmarks.
//!
//! - `cargo xtask run`: set up a Debian/Ubuntu machine (system packages, npm packages, UI build),
//!   build the service and the desktop app, start a local service with a demo workspace (see
//!   [`demo`]) and launch the app signed in to it.
//! - `cargo xtask test`: the same set-up, then every check and test layer, with a summary per
//!   layer; fails when any layer fails or runs zero tests.
//!
//! This is a binary for people at a terminal, so it prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod demo;
mod display;
mod layers;
mod setup;
mod sh;

use anyhow::{Context, Result, bail};
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
        Some("run") => run(&root, &args[1..]),
        // The second half of `run`, in this binary built with the `demo` feature.
        #[cfg(feature = "demo")]
        Some(demo::LAUNCH_COMMAND) => demo::launch::main(&root, &args[1..]),
        #[cfg(feature = "demo")]
        Some(demo::BENCH_APP_COMMAND) => demo::bench_app::main(&root, &args[1..]),
        Some("test") => layers::test_all(&root, &args[1..]),
        Some("bench") => bench(&root, &args[1..]),
        Some("setup") => setup::all(&root, setup::Need::Test),
        Some("help" | "-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

const USAGE: &str = "usage: cargo xtask <command>

  run [--reset] [--port N]
          install what is missing, build the service and the app, start a local service
          with a demo workspace under .demo/ (seeded on the first run, reused afterwards;
          --reset starts over), print the sign-in details and launch the app signed in
  test [--only LAYER[,LAYER…]]
          install what is missing, then fmt, clippy, docs, Rust tests, the contract and
          fuzz layers, UI checks and system tests (--only: format, clippy, doc, rust,
          contract, fuzz, ui, system)
  bench [capture|server|app [--secs N]]
          release-build benchmarks: capture and server run our code and a baseline side by
          side; app measures the release app's CPU and memory per view (timer running, on
          its own Xvfb against a local service; N seconds per state, default 60)
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

/// `cargo xtask run`, first half: install what is missing and build the service, the app and
/// this binary with the `demo` feature (whose native libraries the set-up just installed), then
/// hand over to that binary (`demo::launch`).
fn run(root: &std::path::Path, args: &[String]) -> Result<()> {
    // A typo should not wait for a build.
    let options = demo::RunOptions::parse(args).map_err(anyhow::Error::msg)?;
    setup::all(root, setup::Need::Run)?;
    println!("==> building the service, the app and the demo tools");
    let built = build_bins(
        root,
        &[
            "-p",
            "shotclock-server",
            "-p",
            "shotclock",
            "-p",
            "xtask",
            "--features",
            "xtask/demo",
        ],
    )?;
    let bin = |name: &str| match built.iter().find(|(n, _)| n == name) {
        Some((_, path)) => Ok(path.clone()),
        None => bail!("cargo built no `{name}` executable"),
    };
    let mut next = std::process::Command::new(bin("xtask")?);
    next.arg(demo::LAUNCH_COMMAND)
        .arg(bin("shotclock-server")?)
        .arg(bin("shotclock")?)
        .args(options.to_args())
        .current_dir(root);
    hand_over(next)
}

/// `cargo build ARGS`, returning each executable built as (target name, path).
fn build_bins(root: &std::path::Path, args: &[&str]) -> Result<Vec<(String, PathBuf)>> {
    let out = std::process::Command::new(sh::cargo_bin())
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !out.status.success() {
        bail!("cargo build failed ({})", out.status);
    }
    Ok(executables(&String::from_utf8_lossy(&out.stdout)))
}

/// The executables in cargo's JSON messages, as (target name, path).
fn executables(json_lines: &str) -> Vec<(String, PathBuf)> {
    json_lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact")
        .filter_map(|msg| {
            let name = msg["target"]["name"].as_str()?.to_owned();
            let path = msg["executable"].as_str()?;
            Some((name, PathBuf::from(path)))
        })
        .collect()
}

/// Replaces this process with `cmd` (so Ctrl-C and the exit status are the next one's).
#[cfg(unix)]
fn hand_over(mut cmd: std::process::Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let err = cmd.exec();
    Err(anyhow::Error::new(err).context(format!("could not start {cmd:?}")))
}

#[cfg(not(unix))]
fn hand_over(mut cmd: std::process::Command) -> Result<()> {
    sh::run(&mut cmd)
}

/// Each benchmark is a `harness = false` bench target that prints its own comparison table.
const BENCHES: &[(&str, &str)] = &[
    ("capture", "shotclock-capture"),
    ("server", "shotclock-server"),
];

fn bench(root: &std::path::Path, which: &[String]) -> Result<()> {
    if which.first().map(String::as_str) == Some("app") {
        return bench_app(root, &which[1..]);
    }
    setup::all(root, setup::Need::Run)?;
    // The server bench compares SQLite + files with PostgreSQL + an S3-compatible server (the
    // SeaweedFS the tests use).
    if which.first().is_none_or(|w| w == "server") {
        setup::python_tools(root)?;
    }
    let display = display::ensure()?;
    let chosen: Vec<&(&str, &str)> = match which.first() {
        None => BENCHES.iter().collect(),
        Some(name) => match BENCHES.iter().find(|(b, _)| b == name) {
            Some(b) => vec![b],
            None => bail!("unknown benchmark `{name}`; choose one of: capture, server, app"),
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

/// `cargo xtask bench app`: builds the release app and service and this binary with the `demo`
/// feature, then hands over to it (`demo::bench_app`).
fn bench_app(root: &std::path::Path, args: &[String]) -> Result<()> {
    setup::all(root, setup::Need::Test)?;
    println!("==> building the release app and service");
    let release = build_bins(
        root,
        &["--release", "-p", "shotclock-server", "-p", "shotclock"],
    )?;
    let tools = build_bins(root, &["-p", "xtask", "--features", "xtask/demo"])?;
    let bin = |built: &[(String, PathBuf)], name: &str| match built.iter().find(|(n, _)| n == name)
    {
        Some((_, path)) => Ok(path.clone()),
        None => bail!("cargo built no `{name}` executable"),
    };
    let mut next = std::process::Command::new(bin(&tools, "xtask")?);
    next.arg(demo::BENCH_APP_COMMAND)
        .arg(bin(&release, "shotclock-server")?)
        .arg(bin(&release, "shotclock")?)
        .args(args)
        .current_dir(root);
    hand_over(next)
}

#[cfg(test)]
mod tests {
    use super::executables;
    use std::path::PathBuf;

    #[test]
    fn finds_the_built_executables() {
        let json = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"shotclock_lib","kind":["rlib"]},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"shotclock","kind":["bin"]},"executable":"/t/debug/shotclock"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\nnot json\n",
        );
        assert_eq!(
            executables(json),
            vec![("shotclock".to_owned(), PathBuf::from("/t/debug/shotclock"))]
        );
    }
}
