//! Small helpers for running commands and reporting what runs.

use anyhow::{Context, Result, bail};
use std::process::{Command, Output};

/// Runs a command with inherited stdio; fails unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Runs a command, echoing its output live, and returns everything it printed (stdout+stderr)
/// together with whether it succeeded. Both streams share one pipe, so the text keeps the
/// order the command wrote it in (cargo's `Running …` headers on stderr stay in front of their
/// test results on stdout).
pub fn run_tee(cmd: &mut Command) -> Result<(bool, String)> {
    use std::io::{BufRead, BufReader};

    let shown = format!("{cmd:?}");
    let (reader, writer) = std::io::pipe().context("creating a pipe")?;
    let mut child = cmd
        .stdout(writer.try_clone().context("sharing the pipe")?)
        .stderr(writer)
        .spawn()
        .with_context(|| format!("could not start {shown}"))?;
    // `cmd` still holds the pipe's write ends; replacing them leaves the child (and its own
    // children) as the only writers, so reading ends when they exit.
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut text = Vec::new();
    for line in BufReader::new(reader).lines().map_while(Result::ok) {
        println!("{line}");
        text.push(line);
    }
    let status = child.wait()?;
    Ok((status.success(), text.join("\n")))
}

/// Captures a command's output without echoing it.
pub fn output(cmd: &mut Command) -> Result<Output> {
    let shown = format!("{cmd:?}");
    cmd.output()
        .with_context(|| format!("could not start {shown}"))
}

pub fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Whether `name` is an executable on PATH.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}
