//! `cargo xtask test`: every layer of checks and tests, each summarised, in the order a failure
//! is cheapest to find: formatting, lints, Rust tests (per package), the UI's type check and unit
//! tests, then the system tests (the real app under Xvfb through tauri-driver).
//!
//! A layer that runs zero tests fails: a green run must mean something was tested.

use crate::{display, setup, sh};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

struct Layer {
    name: String,
    ok: bool,
    detail: String,
}

pub fn test_all(root: &Path, _args: &[String]) -> Result<()> {
    setup::all(root, setup::Need::Test)?;
    // One private display for every layer that needs a screen (live capture tests, the app).
    let display = display::ensure()?;
    let mut layers = Vec::new();

    layers.push(check("format", root, &["fmt", "--all", "--check"]));
    layers.push(check(
        "clippy",
        root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ));
    layers.extend(rust_tests(root, &display.name)?);
    layers.push(ui_check(root));
    layers.push(ui_tests(root));
    layers.push(system_tests(root, &display.name));
    drop(display);

    println!("\n==> summary");
    for l in &layers {
        println!(
            "  {:<4} {:<22} {}",
            if l.ok { "ok" } else { "FAIL" },
            l.name,
            l.detail
        );
    }
    let failed: Vec<&str> = layers
        .iter()
        .filter(|l| !l.ok)
        .map(|l| l.name.as_str())
        .collect();
    if failed.is_empty() {
        println!("all {} layers passed", layers.len());
        Ok(())
    } else {
        bail!("failed layers: {}", failed.join(", "))
    }
}

fn check(name: &str, root: &Path, args: &[&str]) -> Layer {
    println!("\n==> {name}: cargo {}", args.join(" "));
    let ok = sh::run(Command::new(sh::cargo_bin()).args(args).current_dir(root)).is_ok();
    Layer {
        name: name.to_owned(),
        ok,
        detail: String::new(),
    }
}

/// Builds every test once, then runs each package's tests so the summary can say how many each
/// package ran. The system tests are `#[ignore]`d here and run in their own layer.
fn rust_tests(root: &Path, display: &str) -> Result<Vec<Layer>> {
    println!("\n==> rust tests: building");
    let built = sh::run(
        Command::new(sh::cargo_bin())
            .args(["test", "--workspace", "--no-run"])
            .current_dir(root),
    );
    if let Err(err) = built {
        return Ok(vec![Layer {
            name: "rust build".into(),
            ok: false,
            detail: format!("{err:#}"),
        }]);
    }
    let mut layers = Vec::new();
    for pkg in workspace_packages(root)? {
        println!("\n==> rust tests: {pkg}");
        let (ok, out) = sh::run_tee(
            Command::new(sh::cargo_bin())
                .args(["test", "-p", &pkg, "--no-fail-fast"])
                .env("DISPLAY", display)
                .env_remove("WAYLAND_DISPLAY")
                .current_dir(root),
        )?;
        let counts = TestCounts::from_cargo_output(&out);
        layers.push(counts.layer(format!("rust {pkg}"), ok));
    }
    Ok(layers)
}

fn workspace_packages(root: &Path) -> Result<Vec<String>> {
    let out = sh::output(
        Command::new(sh::cargo_bin())
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(root),
    )?;
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading `cargo metadata`")?;
    let mut names: Vec<String> = meta["packages"]
        .as_array()
        .map(|pkgs| {
            pkgs.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    Ok(names)
}

fn ui_check(root: &Path) -> Layer {
    println!("\n==> ui: type check (svelte-check)");
    let ok = sh::run(
        Command::new("npm")
            .args(["run", "--silent", "check"])
            .current_dir(root.join("ui")),
    )
    .is_ok();
    Layer {
        name: "ui typecheck".into(),
        ok,
        detail: String::new(),
    }
}

fn ui_tests(root: &Path) -> Layer {
    println!("\n==> ui: unit tests (vitest)");
    let report = root.join("target/vitest-report.json");
    let _ = std::fs::create_dir_all(root.join("target"));
    let _ = std::fs::remove_file(&report);
    let ok = sh::run(
        Command::new("npx")
            .args([
                "vitest",
                "run",
                "--reporter=default",
                "--reporter=json",
                "--outputFile",
            ])
            .arg(&report)
            .current_dir(root.join("ui")),
    )
    .is_ok();
    let counts = std::fs::read(&report)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .map(|v| TestCounts {
            passed: v["numPassedTests"].as_u64().unwrap_or(0),
            failed: v["numFailedTests"].as_u64().unwrap_or(0),
            ignored: v["numPendingTests"].as_u64().unwrap_or(0),
        })
        .unwrap_or_default();
    counts.layer("ui unit".into(), ok)
}

/// The real app binary in a real webview, driven over WebDriver, on a private display and
/// D-Bus session.
fn system_tests(root: &Path, display: &str) -> Layer {
    println!("\n==> system tests (tauri-driver + WebKitWebDriver)");
    let mut cmd = Command::new("dbus-run-session");
    cmd.args(["--", &sh::cargo_bin(), "test", "-p", "shotclock"])
        .args(["--test", "e2e_*", "--", "--ignored", "--test-threads=1"])
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .env("TAURI_DRIVER", setup::tauri_driver_path(root))
        .current_dir(root);
    let result = sh::run_tee(&mut cmd);
    match result {
        Ok((ok, out)) => TestCounts::from_cargo_output(&out).layer("system".into(), ok),
        Err(err) => Layer {
            name: "system".into(),
            ok: false,
            detail: format!("{err:#}"),
        },
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct TestCounts {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl TestCounts {
    /// Sums every `test result: ok. 3 passed; 0 failed; 1 ignored; …` line.
    fn from_cargo_output(out: &str) -> Self {
        let mut c = TestCounts::default();
        for line in out
            .lines()
            .filter(|l| l.trim_start().starts_with("test result:"))
        {
            for part in line.split(';') {
                let words: Vec<&str> = part.split_whitespace().collect();
                for pair in words.windows(2) {
                    let n = pair[0].parse::<u64>().ok();
                    match (n, pair[1]) {
                        (Some(n), "passed") => c.passed += n,
                        (Some(n), "failed") => c.failed += n,
                        (Some(n), "ignored") => c.ignored += n,
                        _ => {}
                    }
                }
            }
        }
        c
    }

    fn layer(&self, name: String, ran_ok: bool) -> Layer {
        let ok = ran_ok && self.failed == 0 && self.passed > 0;
        let mut detail = format!("{} passed, {} failed", self.passed, self.failed);
        if self.ignored > 0 {
            detail.push_str(&format!(", {} ignored", self.ignored));
        }
        if self.passed == 0 {
            detail.push_str(" — no test ran");
        }
        Layer { name, ok, detail }
    }
}

#[cfg(test)]
mod tests {
    use super::TestCounts;

    #[test]
    fn sums_cargo_result_lines() {
        let out = "running 3 tests\n\
                   test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
                   test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n";
        assert_eq!(
            TestCounts::from_cargo_output(out),
            TestCounts {
                passed: 5,
                failed: 1,
                ignored: 1
            }
        );
    }

    #[test]
    fn zero_tests_fail_the_layer() {
        let none = TestCounts::from_cargo_output("test result: ok. 0 passed; 0 failed; 2 ignored");
        assert!(!none.layer("x".into(), true).ok);
        let some = TestCounts {
            passed: 1,
            failed: 0,
            ignored: 0,
        };
        assert!(some.layer("x".into(), true).ok);
        assert!(!some.layer("x".into(), false).ok);
    }
}
