//! The app under test, and reading and driving its window through the selector contract
//! (`data-testid` attributes, `/work/contract-selectors.md`) only.
//!
//! [`DesktopApp`] is the real `shotclock` binary launched through tauri-driver with a data
//! directory of its own, in [`service::time_zone`]; signed in through the environment (the
//! app's start-up sign-in) or left at the sign-in form. Every wait polls with a deadline.

use super::service::{self, PASSWORD, Person, Service};
use super::{Driver, save_window_png, wait_for};
use anyhow::{Context, Result, bail, ensure};
use fantoccini::actions::{InputSource, KeyAction, KeyActions, MouseActions, PointerAction};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use std::ffi::OsString;
use std::time::Duration;

/// For the window to show something the app already knows (a section, a dialog).
pub const SHORT: Duration = Duration::from_secs(20);
/// For anything that goes through the service (sign-in, lists after a change).
pub const MEDIUM: Duration = Duration::from_secs(45);
/// For a screenshot to be taken, uploaded and listed (several capture windows on a slow machine).
pub const LONG: Duration = Duration::from_secs(90);

/// `[data-testid='id']`.
pub fn tid(id: &str) -> String {
    format!("[data-testid='{id}']")
}

/// The app, its WebDriver session, its data directory and the driver that launched it.
pub struct DesktopApp {
    pub client: Client,
    // Dropped after the session is closed: stops tauri-driver (and WebKitWebDriver) by SIGTERM,
    // then the data directory goes.
    _driver: Driver,
    data: tempfile::TempDir,
}

impl DesktopApp {
    /// The app with no stored session and no sign-in in its environment: the sign-in form.
    pub async fn signed_out() -> Result<Self> {
        Self::launch(&[]).await
    }

    /// The app that signs `who` in at start (`SHOTCLOCK_SERVER_URL`, `_EMAIL`, `_PASSWORD`),
    /// once the window shows them signed in.
    pub async fn signed_in(service: &Service, who: &Person) -> Result<Self> {
        let app = Self::launch(&[
            ("SHOTCLOCK_SERVER_URL", service.url().into()),
            ("SHOTCLOCK_EMAIL", who.email.clone().into()),
            ("SHOTCLOCK_PASSWORD", PASSWORD.into()),
        ])
        .await?;
        if let Err(e) = app.wait_signed_in(who).await {
            return Err(app.fail("sign-in", e).await);
        }
        Ok(app)
    }

    /// The app at the sign-in form with `extra` in its environment (a test hook).
    pub async fn signed_out_with(extra: &[(&str, OsString)]) -> Result<Self> {
        Self::launch(extra).await
    }

    async fn launch(extra: &[(&str, OsString)]) -> Result<Self> {
        Self::launch_in(tempfile::tempdir()?, extra).await
    }

    /// Quits the app and starts it again on the same data directory, with no sign-in in its
    /// environment: what it shows comes from what it stored (R3).
    pub async fn restart(self) -> Result<Self> {
        let DesktopApp {
            client,
            _driver,
            data,
        } = self;
        client
            .close()
            .await
            .context("closing the WebDriver session")?;
        // Dropping the driver waits for the app to exit (it is single-instance).
        drop(_driver);
        Self::launch_in(data, &[]).await
    }

    async fn launch_in(data: tempfile::TempDir, extra: &[(&str, OsString)]) -> Result<Self> {
        paint_desktop();
        let mut envs: Vec<(&str, OsString)> = vec![
            ("SHOTCLOCK_DATA_DIR", data.path().into()),
            ("TZ", service::time_zone().name.into()),
        ];
        envs.extend(extra.iter().cloned());
        let refs: Vec<(&str, &std::ffi::OsStr)> =
            envs.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
        let (driver, client) = Driver::launch_app(&refs).await?;
        Ok(Self {
            client,
            data,
            _driver: driver,
        })
    }

    /// The app's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }

    /// Waits until the sidebar shows `who` signed in.
    pub async fn wait_signed_in(&self, who: &Person) -> Result<()> {
        let shown = wait_for(MEDIUM, "the signed-in account in the sidebar", || async {
            let text = self.text(&tid("account")).await?;
            text.contains(&who.email).then_some(text)
        })
        .await;
        match shown {
            Ok(shown) => {
                ensure!(shown.contains(&who.email), "the sidebar shows {shown:?}");
                Ok(())
            }
            // For the diagnosis: what the shell itself says about the session.
            Err(e) => Err(e.context(format!(
                "the window shows {}; the shell's session_state answers {}",
                self.showing().await,
                self.shell_session().await
            ))),
        }
    }

    /// Which top-level view the window shows (for diagnoses).
    async fn showing(&self) -> &'static str {
        for (id, what) in [
            ("sign-in", "the sign-in form"),
            ("connecting", "\"connecting\""),
            ("account", "the signed-in app"),
        ] {
            if self.find(&tid(id)).await.is_some() {
                return what;
            }
        }
        "none of sign-in, connecting, the app"
    }

    /// The shell's own answer to `session_state` (for diagnoses; tests assert on the window).
    async fn shell_session(&self) -> String {
        let script = r#"
            const done = arguments[arguments.length - 1];
            window.__TAURI_INTERNALS__.invoke("session_state")
              .then((s) => done(s.state), (e) => done("error: " + JSON.stringify(e)));
        "#;
        match self.client.execute_async(script, vec![]).await {
            Ok(v) => v.to_string(),
            Err(e) => format!("(not asked: {e})"),
        }
    }

    /// Ends the session (the app exits) and stops the driver; with `outcome` an error, first
    /// saves the window as `failed-NAME.png` for the diagnosis.
    pub async fn finish(self, name: &str, outcome: Result<()>) -> Result<()> {
        if let Err(e) = &outcome {
            match save_window_png(&self.client, &format!("failed-{name}")).await {
                Ok(path) => note(&format!("{name} failed ({e:#}); window saved as {path:?}")),
                Err(png) => note(&format!("{name} failed ({e:#}); no window PNG: {png:#}")),
            }
        }
        let closed = self.client.clone().close().await;
        outcome?;
        closed.context("closing the WebDriver session")?;
        Ok(())
    }

    async fn fail(self, name: &str, e: anyhow::Error) -> anyhow::Error {
        match self.finish(name, Err(e)).await {
            Err(e) => e,
            Ok(()) => anyhow::anyhow!("{name} failed"),
        }
    }

    // ---- reading ------------------------------------------------------------------------------

    /// The first element matching `css`, if any.
    pub async fn find(&self, css: &str) -> Option<Element> {
        self.client.find(Locator::Css(css)).await.ok()
    }

    /// Every element matching `css` (none when the query fails).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> Option<String> {
        self.find(css).await?.text().await.ok()
    }

    /// Attribute `name` of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await?.attr(name).await.ok()?
    }

    /// Waits for an element matching `css`.
    pub async fn wait_element(&self, css: &str, timeout: Duration) -> Result<Element> {
        wait_for(timeout, &format!("an element {css}"), || self.find(css)).await
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone(&self, css: &str, timeout: Duration) -> Result<()> {
        wait_for(timeout, &format!("no element {css}"), || async {
            self.client
                .find_all(Locator::Css(css))
                .await
                .ok()
                .filter(|all| all.is_empty())
                .map(drop)
        })
        .await
    }

    /// Waits until attribute `name` of the first element matching `css` equals `want`.
    pub async fn wait_attr(
        &self,
        css: &str,
        name: &str,
        want: &str,
        timeout: Duration,
    ) -> Result<()> {
        let what = format!("{css} with {name}={want:?}");
        let last = std::sync::Mutex::new(None);
        let found = wait_for(timeout, &what, || async {
            let v = self.attr(css, name).await;
            let ok = v.as_deref() == Some(want);
            if let Ok(mut seen) = last.lock() {
                *seen = v;
            }
            ok.then_some(())
        })
        .await;
        let last = last.into_inner().ok().flatten();
        found.with_context(|| format!("last seen: {last:?}"))
    }

    /// Attribute `name` of the element matching `css`, parsed as an integer.
    pub async fn int_attr(&self, css: &str, name: &str) -> Result<i64> {
        let v = self
            .attr(css, name)
            .await
            .with_context(|| format!("no {name} on {css}"))?;
        v.trim()
            .parse()
            .with_context(|| format!("{css} has {name}={v:?}, not an integer"))
    }

    // ---- acting -------------------------------------------------------------------------------

    /// Clicks the first element matching `css` (waiting for it).
    pub async fn click(&self, css: &str) -> Result<()> {
        let el = self.wait_element(css, SHORT).await?;
        el.click()
            .await
            .with_context(|| format!("clicking {css}"))?;
        Ok(())
    }

    /// Types `text` into the input matching `css` (replacing what it held).
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let el = self.wait_element(css, SHORT).await?;
        el.clear()
            .await
            .with_context(|| format!("clearing {css}"))?;
        el.send_keys(text)
            .await
            .with_context(|| format!("typing into {css}"))?;
        Ok(())
    }

    /// Opens a section from the sidebar and waits until the page shows it.
    pub async fn open_section(&self, id: &str) -> Result<()> {
        self.click(&format!("nav button[data-section='{id}']"))
            .await?;
        self.wait_element(&format!("main[data-section='{id}'] .section-title"), SHORT)
            .await?;
        Ok(())
    }

    /// Moves the mouse onto `hover` (so hover-only controls show), then clicks `target` with
    /// the same mouse — a real pointer, as a person would.
    pub async fn hover_then_click(&self, hover: &Element, target: &Element) -> Result<()> {
        let onto = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
            element: hover.clone(),
            duration: Some(Duration::from_millis(100)),
            x: 0.0,
            y: 0.0,
        });
        self.client
            .perform_actions(onto)
            .await
            .context("moving the mouse onto the element")?;
        // The control fades in on hover (CSS opacity): clickable once it is displayed.
        wait_for(SHORT, "the hover-only control to show", || async {
            target.is_displayed().await.ok()?.then_some(())
        })
        .await?;
        target
            .click()
            .await
            .context("clicking the hover-only control")?;
        Ok(())
    }

    /// Presses and releases `key` on the keyboard (it goes to whatever has focus and bubbles to
    /// the document).
    pub async fn press(&self, key: Key) -> Result<()> {
        let value: char = key.into();
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client
            .perform_actions(keys)
            .await
            .context("pressing a key")?;
        self.client.release_actions().await?;
        Ok(())
    }

    /// The HTTP status the page gets when it `fetch()`es `url` (e.g. a `shotclock:` image).
    pub async fn fetch_status(&self, url: &str) -> Result<u16> {
        let script = r#"
            const [url, done] = arguments;
            fetch(url, { cache: "no-store" })
              .then((r) => done({ status: r.status, type: r.headers.get("content-type") }))
              .catch((e) => done({ error: String(e) }));
        "#;
        let answer = self
            .client
            .execute_async(script, vec![url.into()])
            .await
            .context("running fetch() in the page")?;
        if let Some(err) = answer.get("error") {
            bail!("fetch({url}) failed in the page: {err}");
        }
        let status = answer
            .get("status")
            .and_then(serde_json::Value::as_u64)
            .with_context(|| format!("fetch({url}) answered {answer}"))?;
        if status == 200 {
            let ty = answer.get("type").and_then(|t| t.as_str()).unwrap_or("");
            ensure!(ty == "image/webp", "{url} answered 200 with type {ty:?}");
        }
        Ok(u16::try_from(status)?)
    }
}

/// Paints the X root window a plain blue where `xsetroot` exists, so the app's screenshots show
/// its window on a desktop rather than on black (cosmetic: the window alone is enough content).
fn paint_desktop() {
    let _ = std::process::Command::new("xsetroot")
        .args(["-solid", "#3a6ea5"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// A line in the test output (for what a test could not check, and why).
#[allow(clippy::print_stderr)]
pub fn note(line: &str) {
    eprintln!("[system test] {line}");
}
