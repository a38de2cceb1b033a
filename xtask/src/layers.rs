//! `cargo xtask test`: every layer of checks and tests, each summarised, in the order a failure
//! is cheapest to find: formatting, lints, Rust tests (per package), the service's OpenAPI
//! document through a real validator, the UI's type check and unit tests, then the system tests
//! (the real app under Xvfb through tauri-driver).
//!
//! A layer that runs zero tests fails: a green run must mean something was tested.

use crate::{display, setup, sh};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// xtask's `demo` feature (the code behind `cargo xtask run`), so lints and tests cover it. It
/// adds no feature to any other package, so nothing else is rebuilt for it.
const XTASK_DEMO: &str = "xtask/demo";

struct Layer {
    name: String,
    ok: bool,
    detail: String,
}

pub fn test_all(root: &Path, args: &[String]) -> Result<()> {
    // `--only a,b` runs just those layers (format, clippy, doc, rust, contract, fuzz, ui,
    // system);
    // the test command runs them all.
    let only: Option<Vec<String>> = match args {
        [] => None,
        [flag, list] if flag == "--only" => Some(list.split(',').map(str::to_owned).collect()),
        _ => bail!("usage: cargo xtask test [--only LAYER[,LAYER…]]"),
    };
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|n| n == name));
    setup::all(root, setup::Need::Test)?;
    // One private display for every layer that needs a screen (live capture tests, the app).
    let display = display::ensure()?;
    let mut layers = Vec::new();

    if wanted("format") {
        layers.push(check("format", root, &["fmt", "--all", "--check"]));
    }
    if wanted("clippy") {
        layers.push(check(
            "clippy",
            root,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--features",
                XTASK_DEMO,
                "--",
                "-D",
                "warnings",
            ],
        ));
    }
    if wanted("doc") {
        layers.push(docs(root));
    }
    if wanted("rust") {
        layers.extend(rust_tests(root, &display.name)?);
    }
    if wanted("contract") {
        layers.push(contract(root));
    }
    if wanted("fuzz") {
        layers.push(fuzz(root));
    }
    if wanted("ui") {
        layers.push(ui_check(root));
        layers.push(ui_tests(root));
    }
    if wanted("system") {
        layers.push(system_tests(root, &display.name));
    }
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

/// The service's OpenAPI document, as it serves it, through a real OpenAPI 3.1 validator.
fn contract(root: &Path) -> Layer {
    println!("\n==> contract: the OpenAPI document through openapi-spec-validator");
    let doc = root.join("target/openapi.json");
    let result = (|| -> Result<()> {
        let out = sh::output(
            Command::new(sh::cargo_bin())
                .args(["run", "--quiet", "-p", "shotclock-server", "--", "openapi"])
                .current_dir(root),
        )?;
        if !out.status.success() {
            bail!(
                "shotclock-server openapi failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::fs::write(&doc, &out.stdout).context("writing target/openapi.json")?;
        sh::run(Command::new(setup::openapi_validator_path(root)).arg(&doc))
    })();
    Layer {
        name: "contract".into(),
        ok: result.is_ok(),
        detail: match result {
            Ok(()) => "OpenAPI 3.1 document valid".into(),
            Err(e) => format!("{e:#}"),
        },
    }
}

/// Password of the fuzzed service's people.
const FUZZ_PASSWORD: &str = "a long and unusual passphrase 42";

/// The live service (the real binary on a real port) fuzzed from its own contract by
/// Schemathesis, once as an admin and once as a member: no server error, no undocumented status
/// code, no answer outside its schema. Left out: `positive_data_acceptance`, because some rules
/// span fields (a range's end after its start, at most 92 days) and OpenAPI cannot state them;
/// sign-out, the account and the endless event stream, which would end the fuzzer's session.
fn fuzz(root: &Path) -> Layer {
    println!("\n==> fuzz: Schemathesis against the live service, as an admin and as a member");
    let result = fuzz_service(root);
    Layer {
        name: "fuzz".into(),
        ok: result.is_ok(),
        detail: match result {
            Ok(runs) => format!("{runs} runs, no failure"),
            Err(e) => format!("{e:#}"),
        },
    }
}

fn fuzz_service(root: &Path) -> Result<usize> {
    use std::io::BufRead as _;
    let bin = root.join("target/debug/shotclock-server");
    let data = root.join("target/fuzz-service");
    let _ = std::fs::remove_dir_all(&data);
    let cli = |args: &[&str]| -> Result<String> {
        // The accounts' password travels in the environment, never on the command line.
        let out = sh::output(
            Command::new(&bin)
                .args(args)
                .arg("--data-dir")
                .arg(&data)
                .env("SHOTCLOCK_FUZZ_PASSWORD", FUZZ_PASSWORD),
        )?;
        if !out.status.success() {
            bail!(
                "shotclock-server {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let ws = cli(&[
        "create-workspace",
        "--name",
        "Fuzz",
        "--owner-email",
        "owner@fuzz.test",
        "--owner-password-env",
        "SHOTCLOCK_FUZZ_PASSWORD",
        "--owner-name",
        "Owner",
    ])?;
    cli(&["set-plan", "--workspace", &ws, "enterprise"])?;
    cli(&["enable-screenshots", "--workspace", &ws])?;
    // The member lives in a workspace of its own: the admin's run changes its members at
    // random (roles, deactivation), which must not end the member's run.
    let members_ws = cli(&[
        "create-workspace",
        "--name",
        "Fuzz members",
        "--owner-email",
        "owner2@fuzz.test",
        "--owner-password-env",
        "SHOTCLOCK_FUZZ_PASSWORD",
        "--owner-name",
        "Owner",
    ])?;
    cli(&["set-plan", "--workspace", &members_ws, "enterprise"])?;
    cli(&["enable-screenshots", "--workspace", &members_ws])?;
    cli(&[
        "add-member",
        "--workspace",
        &members_ws,
        "--email",
        "member@fuzz.test",
        "--password-env",
        "SHOTCLOCK_FUZZ_PASSWORD",
        "--name",
        "Member",
    ])?;
    let mut child = Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting the service")?;
    let run = (|| -> Result<usize> {
        // The first stdout line names the bound address (bind first, then connect).
        let stdout = child.stdout.take().context("the service has no stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("unexpected first line {line:?}"))?
            .to_owned();
        let base = format!("http://{addr}");
        // Both sign in before either run: the runs' random sign-ins spend the source's
        // sign-in budget.
        let mut tokens = Vec::new();
        for email in ["owner@fuzz.test", "member@fuzz.test"] {
            let body = serde_json::json!({"email": email, "password": FUZZ_PASSWORD}).to_string();
            let out = sh::output(Command::new("curl").args([
                "-sS",
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
                "-d",
                &body,
                &format!("{base}/api/v1/auth/login"),
            ]))?;
            let session: serde_json::Value = serde_json::from_slice(&out.stdout)
                .with_context(|| format!("signing in as {email}"))?;
            let token = session["token"]
                .as_str()
                .with_context(|| format!("no token for {email}: {session}"))?;
            tokens.push((email, token.to_owned()));
        }
        let mut runs = 0;
        for (email, token) in tokens {
            sh::run(
                Command::new(setup::schemathesis_path(root))
                    .args(["run", &format!("{base}/api/v1/openapi.json")])
                    .args(["--url", &base])
                    .args(["-H", &format!("Authorization: Bearer {token}")])
                    .args(["--checks", "all"])
                    .args(["--exclude-checks", "positive_data_acceptance"])
                    .args(["--max-examples", "25", "--seed", "1", "--no-color"])
                    .args(["--exclude-path", "/api/v1/auth/logout"])
                    .args(["--exclude-path", "/api/v1/me"])
                    .args(["--exclude-path", "/api/v1/events"])
                    .current_dir(root.join("target")),
            )
            .with_context(|| format!("Schemathesis as {email} found failures"))?;
            runs += 1;
        }
        Ok(runs)
    })();
    let _ = child.kill();
    let _ = child.wait();
    run
}

/// The crates' documentation, internals included, builds without a warning (a broken link, an
/// unclosed code block). Links from a public item's docs to private ones are fine here: the
/// documentation is for the people who carry the code on, so it documents private items too.
fn docs(root: &Path) -> Layer {
    println!("\n==> doc: cargo doc --no-deps --workspace --document-private-items");
    let ok = sh::run(
        Command::new(sh::cargo_bin())
            .args([
                "doc",
                "--no-deps",
                "--workspace",
                "--document-private-items",
            ])
            .args(["--features", XTASK_DEMO])
            .env(
                "RUSTDOCFLAGS",
                "-D warnings -A rustdoc::private-intra-doc-links",
            )
            .current_dir(root),
    )
    .is_ok();
    Layer {
        name: "doc".into(),
        ok,
        detail: String::new(),
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

/// Builds and runs every Rust test in ONE `cargo test --workspace` (per-package runs would
/// rebuild dependencies with other feature sets), then attributes each test binary's results to
/// its package so the summary says how many each package ran. The system tests are `#[ignore]`d
/// here and run in their own layer.
fn rust_tests(root: &Path, display: &str) -> Result<Vec<Layer>> {
    println!("\n==> rust tests: building");
    let meta = metadata(root)?;
    let built = Command::new(sh::cargo_bin())
        .args([
            "test",
            "--workspace",
            "--features",
            XTASK_DEMO,
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("building the tests")?;
    if !built.status.success() {
        return Ok(vec![Layer {
            name: "rust build".into(),
            ok: false,
            detail: "the tests did not build".into(),
        }]);
    }
    let owners = executable_owners(&String::from_utf8_lossy(&built.stdout), &meta);

    println!("\n==> rust tests: running");
    let (ok, out) = sh::run_tee(
        Command::new(sh::cargo_bin())
            .args([
                "test",
                "--workspace",
                "--features",
                XTASK_DEMO,
                "--no-fail-fast",
            ])
            .env("DISPLAY", display)
            .env_remove("WAYLAND_DISPLAY")
            // The real S3-compatible server of the service's tests (shotclock-tests3).
            .env("SHOTCLOCK_WEED", setup::weed_path(root))
            .current_dir(root),
    )?;
    let per_package = attribute(&out, &owners, &meta);
    let mut layers: Vec<Layer> = meta
        .packages
        .iter()
        .map(|pkg| {
            let counts = per_package.get(pkg).cloned().unwrap_or_default();
            counts.layer(format!("rust {pkg}"), true)
        })
        .collect();
    if !ok && layers.iter().all(|l| l.ok) {
        layers.push(Layer {
            name: "rust tests".into(),
            ok: false,
            detail: "cargo test failed outside any test binary".into(),
        });
    }
    Ok(layers)
}

/// The workspace's packages, their manifests and their library names (for doc-tests).
struct Metadata {
    packages: Vec<String>,
    /// (manifest path, package)
    manifests: Vec<(String, String)>,
    /// (lib crate name, package)
    libs: Vec<(String, String)>,
}

fn metadata(root: &Path) -> Result<Metadata> {
    let out = sh::output(
        Command::new(sh::cargo_bin())
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(root),
    )?;
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading `cargo metadata`")?;
    let mut m = Metadata {
        packages: Vec::new(),
        manifests: Vec::new(),
        libs: Vec::new(),
    };
    for p in meta["packages"].as_array().into_iter().flatten() {
        let Some(name) = p["name"].as_str() else {
            continue;
        };
        m.packages.push(name.to_owned());
        if let Some(manifest) = p["manifest_path"].as_str() {
            m.manifests.push((manifest.to_owned(), name.to_owned()));
        }
        for t in p["targets"].as_array().into_iter().flatten() {
            let is_lib = t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "lib" || k == "rlib"));
            if let (true, Some(lib)) = (is_lib, t["name"].as_str()) {
                m.libs.push((lib.replace('-', "_"), name.to_owned()));
            }
        }
    }
    m.packages.sort();
    Ok(m)
}

/// Test executable file name → package, from cargo's JSON build messages.
fn executable_owners(json: &str, meta: &Metadata) -> Vec<(String, String)> {
    json.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|msg| {
            let exe = msg["executable"].as_str()?;
            let file = Path::new(exe).file_name()?.to_str()?.to_owned();
            let manifest = msg["manifest_path"].as_str()?;
            let pkg = meta
                .manifests
                .iter()
                .find(|(m, _)| m == manifest)?
                .1
                .clone();
            Some((file, pkg))
        })
        .collect()
}

/// Splits `cargo test` output at each `Running …(path)` / `Doc-tests NAME` header and sums
/// each section's results into its package.
fn attribute(
    out: &str,
    owners: &[(String, String)],
    meta: &Metadata,
) -> std::collections::BTreeMap<String, TestCounts> {
    let mut totals = std::collections::BTreeMap::<String, TestCounts>::new();
    let mut current: Option<String> = None;
    for line in out.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("Running ") {
            let exe = rest
                .rsplit_once('(')
                .map(|(_, p)| p.trim_end_matches(')'))
                .unwrap_or("");
            let file = Path::new(exe)
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or("");
            current = owners
                .iter()
                .find(|(f, _)| f == file)
                .map(|(_, p)| p.clone());
        } else if let Some(lib) = t.strip_prefix("Doc-tests ") {
            current = meta
                .libs
                .iter()
                .find(|(l, _)| l == lib.trim())
                .map(|(_, p)| p.clone());
        } else if t.starts_with("test result:")
            && let Some(pkg) = &current
        {
            let c = TestCounts::from_cargo_output(t);
            let e = totals.entry(pkg.clone()).or_default();
            e.passed += c.passed;
            e.failed += c.failed;
            e.ignored += c.ignored;
        }
    }
    totals
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

/// Starts gnome-keyring's Secret Service unlocked in the D-Bus session, then runs the command.
const WITH_UNLOCKED_KEYRING: &str = r#"
mkdir -p "$XDG_DATA_HOME"
if command -v gnome-keyring-daemon >/dev/null; then
  eval "$(printf '%s' system-tests | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
else
  echo "gnome-keyring-daemon is missing: the session test will fail" >&2
fi
exec "$@"
"#;

/// The real app binary in a real webview, driven over WebDriver, on a private display and
/// D-Bus session.
fn system_tests(root: &Path, display: &str) -> Layer {
    println!("\n==> system tests (tauri-driver + WebKitWebDriver)");
    // A keyring of the tests' own, unlocked, so the app keeps its session in a real Secret
    // Service (R3) and never in the user's keyrings.
    let keyrings = root.join("target/system-tests-keyring");
    let _ = std::fs::remove_dir_all(&keyrings);
    let mut cmd = Command::new("dbus-run-session");
    cmd.args(["--", "sh", "-c", WITH_UNLOCKED_KEYRING, "sh"])
        .args([&sh::cargo_bin(), "test", "--workspace"])
        .args(["--no-fail-fast", "--test", "e2e_*"])
        .args(["--", "--ignored", "--test-threads=1"])
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .env("TAURI_DRIVER", setup::tauri_driver_path(root))
        .env("XDG_DATA_HOME", &keyrings)
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

#[derive(Debug, Default, Clone, PartialEq, Eq)]
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
    fn attributes_each_binary_to_its_package() {
        use super::{Metadata, attribute};
        let meta = Metadata {
            packages: vec!["shotclock-domain".into(), "shotclock-sync".into()],
            manifests: vec![],
            libs: vec![("shotclock_sync".into(), "shotclock-sync".into())],
        };
        let owners = vec![
            (
                "shotclock_domain-1a2b".to_owned(),
                "shotclock-domain".to_owned(),
            ),
            ("uniformity-3c4d".to_owned(), "shotclock-domain".to_owned()),
            ("service-5e6f".to_owned(), "shotclock-sync".to_owned()),
        ];
        let out = "     Running unittests src/lib.rs (target/debug/deps/shotclock_domain-1a2b)\n\
                   test result: ok. 5 passed; 0 failed; 0 ignored\n\
                   \x20    Running tests/uniformity.rs (/abs/target/debug/deps/uniformity-3c4d)\n\
                   test result: ok. 2 passed; 0 failed; 1 ignored\n\
                   \x20    Running tests/service.rs (target/debug/deps/service-5e6f)\n\
                   test result: FAILED. 3 passed; 1 failed; 0 ignored\n\
                   \x20  Doc-tests shotclock_sync\n\
                   test result: ok. 1 passed; 0 failed; 0 ignored\n";
        let t = attribute(out, &owners, &meta);
        assert_eq!(
            t["shotclock-domain"],
            TestCounts {
                passed: 7,
                failed: 0,
                ignored: 1
            }
        );
        assert_eq!(
            t["shotclock-sync"],
            TestCounts {
                passed: 4,
                failed: 1,
                ignored: 0
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
