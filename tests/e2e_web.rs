//! System tests of the web app: the UI's web build, served by the real workspace service on a
//! real `127.0.0.1` port, in a real browser — Debian's `chromium`, headless, driven over
//! WebDriver (`chromedriver`) with fantoccini. Each test has its own service, team and browser.
//!
//! What they prove, end to end:
//! * a member signs in through the page; the session cookie is `HttpOnly`, `SameSite=Strict`,
//!   `Path=/` (and not `Secure` on loopback) and page scripts cannot read it; a cross-site form
//!   post and a fetch without the custom header are refused; the CSP header is present and an
//!   injected inline script does not run (issue scenario 5);
//! * a member cannot reach another member's screenshot by URL: 404, while their own loads
//!   (scenario 4, R16);
//! * sign-out in the browser ends that session and its event stream, and the desktop session of
//!   the same member stays (scenario 6).
//!
//! Every wait polls with a deadline. Run by `cargo xtask test` (which installs `chromium` and
//! `chromium-driver` and builds the web app the service embeds).

mod support;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use support::browser::{ChromeDriver, sign_in_at_provider};
use support::service::{self, Service, record_entry};
use support::wait_for;

const SHORT: Duration = Duration::from_secs(20);

fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

async fn wait_element(b: &Client, css: &str) -> Result<fantoccini::elements::Element> {
    wait_for(SHORT, css, || async {
        b.find(Locator::Css(css)).await.ok()
    })
    .await
}

/// Runs `body` (the body of an async function ending in a value) in the page; its value.
async fn in_page(b: &Client, body: &str) -> Result<Value> {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         (async () => {{ {body} }})().then(done, (e) => done({{ error: String(e) }}));"
    );
    Ok(b.execute_async(&script, vec![]).await?)
}

/// Signs in through the page's form (no workspace address: the page is on it).
async fn sign_in(b: &Client, base: &str, who: &service::Person) -> Result<()> {
    b.goto(base).await?;
    let form = wait_element(b, &tid("sign-in")).await?;
    ensure!(
        form.find(Locator::Css("input[name=server_url]"))
            .await
            .is_err(),
        "the web sign-in asks for no workspace address"
    );
    form.find(Locator::Css("input[name=email]"))
        .await?
        .send_keys(&who.email)
        .await?;
    form.find(Locator::Css("input[name=password]"))
        .await?
        .send_keys(service::PASSWORD)
        .await?;
    form.find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    wait_element(b, &tid("sign-out")).await?;
    Ok(())
}

/// Saves a PNG of the page under `tests/artifacts/NAME.png` (the README's picture).
async fn save_page_png(b: &Client, name: &str) -> Result<PathBuf> {
    let png = b.screenshot().await?;
    ensure!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
        "not a PNG"
    );
    let path = support::artifacts_dir()?.join(format!("{name}.png"));
    std::fs::write(&path, png)?;
    Ok(path)
}

async fn finish(b: Client, outcome: Result<()>) -> Result<()> {
    let _ = b.close().await;
    outcome
}

fn the_web_app_is_built_in() -> Result<()> {
    ensure!(
        shotclock_server::web::embedded(),
        "the service was built without the web app: build ui/dist-web first \
         (`npm --prefix ui run build:web`; `cargo xtask test` does)"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs chromium and chromedriver; run by `cargo xtask test`"]
async fn the_browser_session_is_an_httponly_cookie_and_cross_site_requests_fail() -> Result<()> {
    the_web_app_is_built_in()?;
    let service = Service::start()?;
    let team = service.team("acme", true).await?;
    let desktop = service.sign_in(&team.ana).await?;
    let driver = ChromeDriver::start()?;
    let b = driver.browser().await?;
    let base = service.url();
    let outcome = async {
        sign_in(&b, &base, &team.ana).await?;
        save_page_png(&b, "web-timer").await?;

        // The cookie: exact flags, and out of the page's reach.
        let cookies = b.get_all_cookies().await?;
        let session = cookies
            .iter()
            .find(|c| c.name() == "shotclock_session")
            .context("the session cookie is set")?;
        ensure!(session.http_only() == Some(true), "HttpOnly");
        ensure!(
            format!("{:?}", session.same_site()) == "Some(Strict)",
            "SameSite=Strict, not {:?}",
            session.same_site()
        );
        ensure!(session.path() == Some("/"), "Path=/");
        ensure!(session.secure() != Some(true), "not Secure on loopback");
        let visible = in_page(&b, "return document.cookie;").await?;
        ensure!(visible == json!(""), "page scripts read {visible}");

        // The CSP header, and an injected inline script that does not run.
        let csp = in_page(
            &b,
            "const r = await fetch('/'); return r.headers.get('content-security-policy');",
        )
        .await?;
        ensure!(
            csp.as_str() == Some(shotclock_server::web::CSP),
            "CSP header: {csp}"
        );
        let injected = in_page(
            &b,
            "const s = document.createElement('script');
             s.textContent = 'window.__injected = true;';
             document.body.appendChild(s);
             await new Promise((ok) => setTimeout(ok, 100));
             return window.__injected === true;",
        )
        .await?;
        ensure!(injected == json!(false), "the injected inline script ran");

        // A fetch from the page itself without the custom header: refused.
        let status = in_page(
            &b,
            "const r = await fetch('/api/v1/timer/start', { method: 'POST',
               headers: { 'content-type': 'application/json' },
               body: JSON.stringify({ entry_id: '0190a000-0000-7000-8000-000000000123',
                                      description: 'forged' }) });
             return r.status;",
        )
        .await?;
        ensure!(status == json!(403), "a fetch without the header: {status}");

        // A form on another site posting to the service: no session goes with it.
        let form = format!(
            "data:text/html,<form method=post action='{base}/api/v1/timer/start' \
             enctype='text/plain'><input name='{{\"entry_id\":\"0190a000-0000-7000-8000-000000000124\",\"x\":\"' value='\"}}'></form>\
             <script>document.forms[0].submit()</script>"
        );
        b.goto(&form).await?;
        let answer = wait_for(SHORT, "the service's answer to the form", || async {
            let text = b.find(Locator::Css("body")).await.ok()?.text().await.ok()?;
            text.contains("\"code\"").then_some(text)
        })
        .await?;
        ensure!(
            !answer.contains("\"running\""),
            "the cross-site form got {answer}"
        );
        let timer = desktop.timer().await?;
        ensure!(timer.running.is_none(), "nothing started: {timer:?}");
        Ok(())
    }
    .await;
    finish(b, outcome).await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs chromium and chromedriver; run by `cargo xtask test`"]
async fn a_member_cannot_reach_another_members_screenshot_by_url() -> Result<()> {
    the_web_app_is_built_in()?;
    let service = Service::start()?;
    let team = service.team("acme", true).await?;
    let ana = service.sign_in(&team.ana).await?;
    let ben = service.sign_in(&team.ben).await?;
    let own = record_entry(&ana, "ana's work", 120, &[30]).await?;
    let other = record_entry(&ben, "ben's work", 120, &[30]).await?;
    let driver = ChromeDriver::start()?;
    let b = driver.browser().await?;
    let outcome = async {
        sign_in(&b, &service.url(), &team.ana).await?;
        let status = |id: String| {
            let b = &b;
            async move {
                in_page(
                    b,
                    &format!("return (await fetch('/api/v1/screenshots/{id}/image')).status;"),
                )
                .await
            }
        };
        let mine = status(own.shots[0].0.to_string()).await?;
        ensure!(mine == json!(200), "own screenshot: {mine}");
        let theirs = status(other.shots[0].0.to_string()).await?;
        ensure!(
            theirs == json!(404),
            "another member's screenshot: {theirs}"
        );
        let missing = status(shotclock_api::ScreenshotId::new().to_string()).await?;
        ensure!(missing == theirs, "exactly like a missing one");
        Ok(())
    }
    .await;
    finish(b, outcome).await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs chromium and chromedriver; run by `cargo xtask test`"]
async fn sign_out_in_the_browser_ends_its_stream_and_the_desktop_session_stays() -> Result<()> {
    the_web_app_is_built_in()?;
    let service = Service::start()?;
    let team = service.team("acme", true).await?;
    let desktop = service.sign_in(&team.ana).await?;
    let driver = ChromeDriver::start()?;
    let b = driver.browser().await?;
    let outcome = async {
        sign_in(&b, &service.url(), &team.ana).await?;
        // A stream of this session, watched from the page.
        in_page(
            &b,
            "window.__es = new EventSource('/api/v1/events');
             await new Promise((ok) => window.__es.addEventListener('ready', ok, { once: true }));
             return true;",
        )
        .await?;
        wait_element(&b, &tid("sign-out")).await?.click().await?;
        wait_element(&b, &tid("sign-in")).await?;
        // The stream ended, and reconnecting is refused: the browser gives up (CLOSED).
        wait_for(SHORT, "the event stream to close", || async {
            let state = in_page(&b, "return window.__es.readyState;").await.ok()?;
            (state == json!(2)).then_some(())
        })
        .await?;
        let cookies = b.get_all_cookies().await?;
        ensure!(
            cookies.iter().all(|c| c.name() != "shotclock_session"),
            "the cookie is cleared"
        );
        // The desktop session of the same member stays.
        let me = desktop.me().await.context("the desktop session stays")?;
        ensure!(me.user.email == team.ana.email);
        Ok(())
    }
    .await;
    finish(b, outcome).await
}

// ---- the desktop's engine beside the browser (scenarios 1 and 3) --------------------------------

/// How long a capture may take to reach the page: the 4 s window's moment, the upload, the
/// event and the page's reload.
const LONG: Duration = Duration::from_secs(60);

/// The same member's desktop engine — what the headless `shotclock-agent` runs — in this
/// process, with its own session and local buffer, capturing the real X display in `DISPLAY`
/// (`cargo xtask test` starts a private Xvfb).
struct Engine {
    handle: shotclock_agent::AgentHandle,
    _dir: tempfile::TempDir,
}

impl Engine {
    async fn start(service: &Service, who: &service::Person) -> Result<Self> {
        let display = std::env::var("DISPLAY").context(
            "DISPLAY is not set: the desktop engine captures the X display \
             (`cargo xtask test` starts one; by hand: `Xvfb :75 -screen 0 1280x800x24 &`)",
        )?;
        // A two-colour pattern: a blank or single-colour screen is (rightly) not kept (R12).
        let painted = Command::new("xsetroot")
            .args(["-mod", "16", "16", "-fg", "red", "-bg", "blue"])
            .env("DISPLAY", &display)
            .status()
            .context("running xsetroot (x11-xserver-utils)")?;
        ensure!(painted.success(), "xsetroot could not paint {display}");
        let dir = tempfile::tempdir()?;
        let session =
            shotclock_agent::Session::sign_in(&service.url(), &who.email, service::PASSWORD)
                .await?;
        let config = shotclock_agent::AgentConfig {
            data_dir: dir.path().to_owned(),
            clock: std::sync::Arc::new(shotclock_agent::SystemClock),
        };
        let handle =
            shotclock_agent::Agent::start(config, session, shotclock_capture::XcapSource::new())
                .await?;
        Ok(Self { handle, _dir: dir })
    }

    /// Whether the engine's local buffer holds screenshot `id`.
    async fn holds(&self, id: shotclock_api::ScreenshotId) -> Result<bool> {
        Ok(self
            .handle
            .local_store()
            .call(move |s| s.screenshot(id).map(|found| found.is_some()))
            .await?)
    }
}

/// Opens a section of the page through its navigation (no reload: the page changes its hash).
async fn open_section(b: &Client, id: &str) -> Result<()> {
    b.find(Locator::Css(&format!("nav button[data-section='{id}']")))
        .await?
        .click()
        .await?;
    wait_element(b, &format!("main[data-section='{id}'] .section-title")).await?;
    Ok(())
}

/// Waits until attribute `name` of the first element matching `css` is `want`.
async fn wait_attr(b: &Client, css: &str, name: &str, want: &str, timeout: Duration) -> Result<()> {
    wait_for(timeout, &format!("{css} with {name}={want:?}"), || async {
        let el = b.find(Locator::Css(css)).await.ok()?;
        (el.attr(name).await.ok()?.as_deref() == Some(want)).then_some(())
    })
    .await
}

/// Starts the timer from the page's Timer view; the running entry, as the service has it.
async fn start_timer_on_page(
    b: &Client,
    member: &shotclock_sync::Client,
    description: &str,
) -> Result<shotclock_api::dto::Entry> {
    open_section(b, "timer").await?;
    wait_element(b, &tid("timer-description"))
        .await?
        .send_keys(description)
        .await?;
    wait_element(b, &tid("timer-toggle")).await?.click().await?;
    wait_attr(b, &tid("timer-toggle"), "data-running", "true", SHORT).await?;
    let running = member.timer().await?.running;
    running
        .filter(|e| e.description == description)
        .context("the service runs the timer started on the page")
}

/// Opens Activity › Screenshots and expands `who`'s row.
async fn show_screenshots_of(b: &Client, who: &service::Person) -> Result<()> {
    open_section(b, "screenshots").await?;
    let row = format!("{}[data-user-id='{}']", tid("member-row"), who.id);
    wait_element(b, &format!("{row} {}", tid("member-toggle")))
        .await?
        .click()
        .await?;
    Ok(())
}

/// The screenshot ids the page shows, in order.
async fn thumb_ids(b: &Client) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for el in b.find_all(Locator::Css(&tid("thumb"))).await? {
        if let Some(id) = el.attr("data-screenshot-id").await? {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Marks the document, so that a reload (a new document) shows.
async fn mark_document(b: &Client) -> Result<()> {
    in_page(b, "window.__sameDocument = true; return true;").await?;
    Ok(())
}

async fn still_same_document(b: &Client) -> Result<()> {
    let same = in_page(b, "return window.__sameDocument === true;").await?;
    ensure!(same == json!(true), "the page was reloaded");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs chromium, chromedriver and an X display; run by `cargo xtask test`"]
async fn a_timer_started_on_the_web_is_captured_by_the_desktop_and_the_screenshot_appears_live()
-> Result<()> {
    the_web_app_is_built_in()?;
    let service = Service::start()?;
    let team = service.team("live", true).await?;
    let ana = service.sign_in(&team.ana).await?;
    let engine = Engine::start(&service, &team.ana).await?;
    let driver = ChromeDriver::start()?;
    let b = driver.browser().await?;
    let outcome = async {
        sign_in(&b, &service.url(), &team.ana).await?;
        let entry = start_timer_on_page(&b, &ana, "Started in the browser").await?;
        show_screenshots_of(&b, &team.ana).await?;
        wait_attr(
            &b,
            &tid("day-label"),
            "data-date",
            &service::today().to_string(),
            SHORT,
        )
        .await?;
        mark_document(&b).await?;
        // Whatever the page already shows (a capture may have landed meanwhile) is not proof.
        let before = thumb_ids(&b).await?;
        let id = wait_for(LONG, "a new screenshot on the open page", || async {
            thumb_ids(&b)
                .await
                .ok()?
                .into_iter()
                .find(|id| !before.contains(id))
        })
        .await;
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                let at_service = service::screenshots_today(&ana, &team.ana).await?;
                let capture = engine.handle.capture_view().await?;
                bail!(
                    "{e:#}; the service has {} screenshots; the engine: {capture:?}",
                    at_service.len()
                )
            }
        };
        still_same_document(&b).await?;
        // The desktop engine's: in its local buffer, of the entry the browser started.
        let shot: shotclock_api::ScreenshotId = id.parse()?;
        ensure!(engine.holds(shot).await?, "the engine did not take {id}");
        let thumb = format!("{}[data-screenshot-id='{id}']", tid("thumb"));
        let el = wait_element(&b, &thumb).await?;
        ensure!(
            el.attr("data-entry-id").await?.as_deref() == Some(entry.id.to_string().as_str()),
            "the screenshot belongs to another entry"
        );
        save_page_png(&b, "web-live-screenshot").await?;
        wait_element(&b, &tid("sign-out")).await?;
        ana.stop_timer(Some(entry.id), None).await?;
        Ok(())
    }
    .await;
    let result = finish(b, outcome).await;
    engine.handle.shutdown().await;
    result
}

/// Hovers the thumbnail of `id`, clicks its trash button, and waits for the confirmation.
async fn ask_to_delete(b: &Client, id: &str) -> Result<()> {
    let thumb = wait_element(b, &format!("{}[data-screenshot-id='{id}']", tid("thumb"))).await?;
    let trash = thumb.find(Locator::Css(&tid("thumb-delete"))).await?;
    // The trash button fades in on hover: move a real pointer onto the thumbnail first.
    use fantoccini::actions::InputSource as _;
    let onto = fantoccini::actions::MouseActions::new("mouse".into()).then(
        fantoccini::actions::PointerAction::MoveToElement {
            element: thumb.clone(),
            duration: Some(Duration::from_millis(100)),
            x: 0.0,
            y: 0.0,
        },
    );
    b.perform_actions(onto).await?;
    wait_for(SHORT, "the trash button to show", || async {
        trash.is_displayed().await.ok()?.then_some(())
    })
    .await?;
    trash.click().await?;
    wait_element(b, &tid("confirm-delete")).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs chromium, chromedriver and an X display; run by `cargo xtask test`"]
async fn a_screenshot_deleted_on_the_web_shows_its_time_shrinks_the_entry_and_leaves_the_desktop()
-> Result<()> {
    the_web_app_is_built_in()?;
    let service = Service::start()?;
    let team = service.team("deletes", true).await?;
    let ana = service.sign_in(&team.ana).await?;
    let engine = Engine::start(&service, &team.ana).await?;
    let driver = ChromeDriver::start()?;
    let b = driver.browser().await?;
    let outcome = async {
        sign_in(&b, &service.url(), &team.ana).await?;
        let entry = start_timer_on_page(&b, &ana, "Design review").await?;
        // The engine captures until one of its screenshots follows another by a second or
        // more (so deleting it removes time, R21); then the timer stops on the page.
        let (shot, _) = wait_for(
            LONG,
            "two screenshots of the entry a second apart",
            || async {
                let shots: Vec<_> = service::screenshots_today(&ana, &team.ana)
                    .await
                    .ok()?
                    .into_iter()
                    .filter(|s| s.entry_id == entry.id)
                    .collect();
                shots
                    .windows(2)
                    .find(|w| (w[1].captured_at - w[0].captured_at).num_seconds() >= 1)
                    .map(|w| (w[1].id, w[0].id))
            },
        )
        .await?;
        wait_element(&b, &tid("timer-toggle"))
            .await?
            .click()
            .await?;
        wait_attr(&b, &tid("timer-toggle"), "data-running", "false", SHORT).await?;
        ensure!(
            engine.holds(shot).await?,
            "the engine holds its screenshot {shot}"
        );
        let before = service::entry(&ana, entry.id, None)
            .await?
            .context("the stopped entry")?;
        ensure!(before.end.is_some(), "the entry stopped: {before:?}");
        // What R21 removes, as the service's own dry run says.
        let dry = ana.delete_screenshot(shot, true).await?;
        let removed = dry.removed_secs;
        ensure!(removed >= 1, "the delete removes {removed} s");

        show_screenshots_of(&b, &team.ana).await?;
        mark_document(&b).await?;
        ask_to_delete(&b, &shot.to_string()).await?;
        let dialog = tid("confirm-delete");
        wait_attr(&b, &dialog, "data-allowed", "true", SHORT).await?;
        wait_attr(
            &b,
            &dialog,
            "data-removed-secs",
            &removed.to_string(),
            SHORT,
        )
        .await?;
        let effect = wait_element(&b, &tid("confirm-effect"))
            .await?
            .text()
            .await?;
        ensure!(
            effect.contains(&format!("removes {removed} s from"))
                && effect.contains("Design review"),
            "the confirmation says {effect:?}; the service removes {removed} s"
        );
        save_page_png(&b, "web-delete-confirmation").await?;
        wait_element(&b, &tid("confirm-ok")).await?.click().await?;
        wait_for(SHORT, "the screenshot to leave the page", || async {
            (!thumb_ids(&b).await.ok()?.contains(&shot.to_string())).then_some(())
        })
        .await?;
        still_same_document(&b).await?;

        // The entry shrank by exactly that, at the service and on the page.
        let after = service::entry(&ana, entry.id, None)
            .await?
            .context("the entry stays (it has another screenshot)")?;
        ensure!(
            after.deducted_secs == before.deducted_secs + removed,
            "{removed} s more removed: before {before:?}, after {after:?}"
        );
        let shrank = before.duration_secs - after.duration_secs;
        // Whole seconds of millisecond spans: the difference may round by one.
        ensure!(
            shrank == removed || shrank == removed + 1,
            "the entry shrank by {shrank} s, not {removed} s"
        );
        open_section(&b, "timer").await?;
        let row = format!("{}[data-entry-id='{}']", tid("entry"), entry.id);
        wait_attr(
            &b,
            &format!("{row} {}", tid("entry-removed")),
            "data-seconds",
            &after.deducted_secs.to_string(),
            SHORT,
        )
        .await?;
        // The desktop's local copy goes too (R24).
        wait_for(SHORT, "the engine to drop its local copy", || async {
            (!engine.holds(shot).await.ok()?).then_some(())
        })
        .await?;
        Ok(())
    }
    .await;
    let result = finish(b, outcome).await;
    engine.handle.shutdown().await;
    result
}

impl ChromeDriver {
    /// Sets the browser's notification permission for the page's site, as the user's answer to
    /// the browser's prompt would (headless Chromium shows no prompt to click): chromedriver's
    /// "set permission" command of the W3C Permissions extension.
    fn answer_notification_prompt(&self, session: &str, state: &str) -> Result<()> {
        use std::io::{Read as _, Write as _};
        let body = json!({"descriptor": {"name": "notifications"}, "state": state}).to_string();
        let mut conn = TcpStream::connect(("127.0.0.1", self.port))?;
        conn.set_read_timeout(Some(SHORT))?;
        write!(
            conn,
            "POST /session/{session}/permissions HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )?;
        // The status line is enough (the driver may keep the connection open).
        let mut answer = Vec::new();
        let mut buf = [0u8; 512];
        while !answer.windows(2).any(|w| w == b"\r\n") {
            let n = conn.read(&mut buf)?;
            ensure!(
                n > 0,
                "chromedriver closed the connection without an answer"
            );
            answer.extend_from_slice(&buf[..n]);
        }
        let answer = String::from_utf8_lossy(&answer);
        ensure!(
            answer.starts_with("HTTP/1.1 200"),
            "chromedriver refused to set the permission: {answer}"
        );
        Ok(())
    }
}

/// Records every browser notification the page constructs (after the browser accepted it) in
/// `window.__notices`; the real constructor still runs.
const RECORD_NOTICES: &str = "
    const Real = window.Notification;
    window.__notices = [];
    window.Notification = class extends Real {
        constructor(title, options) {
            super(title, options);
            window.__notices.push({ title, body: options && options.body, tag: options && options.tag });
        }
    };
    return Real.permission;";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs chromium and chromedriver; run by `cargo xtask test`"]
async fn capture_turned_on_in_the_browser_reaches_an_open_tab_live_and_an_offline_member_later()
-> Result<()> {
    the_web_app_is_built_in()?;
    let service = Service::start()?;
    let team = service.team("notice", false).await?;
    let driver = ChromeDriver::start()?;
    let member = driver.browser().await?;
    let admin = driver.browser().await?;
    let base = service.url();
    let outcome = async {
        // Ana's tab is open; Ben is not signed in anywhere.
        sign_in(&member, &base, &team.ana).await?;
        // She is offered browser notifications, and allows them: the button asks the browser,
        // and the browser's answer (set through the driver: no prompt in headless Chromium)
        // turns the page's state to allowed.
        wait_attr(
            &member,
            &tid("browser-notices"),
            "data-permission",
            "default",
            SHORT,
        )
        .await?;
        let session = member
            .session_id()
            .await?
            .context("the browser has no WebDriver session")?;
        driver.answer_notification_prompt(&session, "granted")?;
        ensure!(
            member
                .find(Locator::Css(&tid("browser-notices")))
                .await?
                .attr("data-permission")
                .await?
                .as_deref()
                == Some("default"),
            "the page changed its state before the click"
        );
        wait_element(&member, &tid("browser-notices-allow"))
            .await?
            .click()
            .await?;
        wait_attr(
            &member,
            &tid("browser-notices"),
            "data-permission",
            "granted",
            SHORT,
        )
        .await?;
        let offer = wait_element(&member, &tid("browser-notices"))
            .await?
            .text()
            .await?;
        ensure!(
            offer.contains("Browser notifications are on"),
            "the page says {offer:?}"
        );
        ensure!(
            member
                .find(Locator::Css(&tid("browser-notices-allow")))
                .await
                .is_err(),
            "the Allow button is still offered"
        );
        ensure!(
            member.find(Locator::Css(&tid("banner"))).await.is_err(),
            "a banner shows before capture was turned on"
        );
        mark_document(&member).await?;
        let permission = in_page(&member, RECORD_NOTICES).await?;
        ensure!(
            permission == json!("granted"),
            "the browser's permission: {permission}"
        );

        // The owner turns capture on in another browser.
        sign_in(&admin, &base, &team.owner).await?;
        open_section(&admin, "settings").await?;
        let switch = wait_element(&admin, &tid("setting-screenshots")).await?;
        ensure!(
            switch.prop("checked").await?.as_deref() == Some("false"),
            "capture was off"
        );
        switch.click().await?;
        wait_for(SHORT, "the switch to be on", || async {
            let on = admin
                .find(Locator::Css(&tid("setting-screenshots")))
                .await
                .ok()?
                .prop("checked")
                .await
                .ok()?;
            (on.as_deref() == Some("true")).then_some(())
        })
        .await?;

        // Ana's open tab: the banner, live, and one browser notification with the same words.
        let ana = service.sign_in(&team.ana).await?;
        let notes = ana.notifications().await?.notifications;
        let note = notes.first().context("ana was notified (R6)")?;
        let banner = wait_for(SHORT, "the banner on the open tab", || async {
            let text = member
                .find(Locator::Css(&tid("banner")))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.contains(&note.message).then_some(text)
        })
        .await?;
        still_same_document(&member).await?;
        let raised = wait_for(SHORT, "a browser notification", || async {
            let all = in_page(&member, "return window.__notices;").await.ok()?;
            all.as_array().filter(|a| !a.is_empty()).cloned()
        })
        .await?;
        ensure!(
            raised
                == vec![json!({
                    "title": "Shotclock",
                    "body": note.message,
                    "tag": note.id.to_string(),
                })],
            "the browser notifications: {raised:?}"
        );
        save_page_png(&member, "web-banner").await?;
        ensure!(banner.contains(&note.message));

        // Ben signs in later, in a browser of his own: the banner waits for him.
        admin.clone().close().await?;
        let ben_browser = driver.browser().await?;
        let ben_outcome = async {
            sign_in(&ben_browser, &base, &team.ben).await?;
            let ben = service.sign_in(&team.ben).await?;
            let his = ben.notifications().await?.notifications;
            let his = his.first().context("ben was notified while offline (R6)")?;
            ensure!(!his.read, "ben's notification is unread");
            wait_for(SHORT, "the banner at ben's sign-in", || async {
                let text = ben_browser
                    .find(Locator::Css(&tid("banner")))
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()?;
                text.contains(&his.message).then_some(())
            })
            .await
        }
        .await;
        finish(ben_browser, ben_outcome).await
    }
    .await;
    let _ = admin.close().await;
    finish(member, outcome).await
}

// ---- members (R38): scenarios 7 and 8 --------------------------------------------------------

/// Opens Members from the sidebar (again, to read the list afresh) and waits for the list.
async fn open_members(b: &Client) -> Result<()> {
    wait_element(b, "[data-section=\"timer\"]")
        .await?
        .click()
        .await?;
    wait_element(b, "[data-section=\"members\"]")
        .await?
        .click()
        .await?;
    wait_element(b, &tid("members-list")).await?;
    Ok(())
}

/// The member row of `email` with attribute `attr` equal to `value`, waited for.
async fn wait_member(b: &Client, email: &str, attr: &str, value: &str) -> Result<()> {
    let css = format!("[data-testid=\"member\"][data-email=\"{email}\"][{attr}=\"{value}\"]");
    wait_for(SHORT, &css, || async {
        if b.find(Locator::Css(&css)).await.is_ok() {
            return Some(());
        }
        // The list is read when the view opens: open it again.
        open_members(b).await.ok()?;
        None
    })
    .await
}

/// Fills the sign-up page of `link` in `b` and submits it.
async fn accept_link(b: &Client, link: &str, name: &str) -> Result<()> {
    // A fresh document each time (only the fragment differs between links).
    b.goto("about:blank").await?;
    b.goto(link).await?;
    wait_element(b, &tid("accept-name"))
        .await?
        .send_keys(name)
        .await?;
    wait_element(b, &tid("accept-password"))
        .await?
        .send_keys(service::PASSWORD)
        .await?;
    wait_element(b, &tid("accept-submit"))
        .await?
        .click()
        .await?;
    Ok(())
}

async fn refused_with(b: &Client, code: &str) -> Result<String> {
    let el = wait_element(
        b,
        &format!("[data-testid=\"accept-error\"][data-code=\"{code}\"]"),
    )
    .await?;
    Ok(el.text().await?)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs chromium and chromedriver; run by `cargo xtask test`"]
async fn an_admin_invites_in_the_browser_and_the_invitee_joins_through_the_link() -> Result<()> {
    the_web_app_is_built_in()?;
    let service = Service::start()?;
    let team = service.team("acme", true).await?;
    let base = service.url();
    let driver = ChromeDriver::start()?;
    let admin = driver.browser().await?;
    let invitee = driver.browser().await?;
    let outcome = async {
        sign_in(&admin, &base, &team.owner).await?;
        open_members(&admin).await?;

        // Invite by email and role: the link is shown to copy.
        let invite = |email: &'static str| {
            let admin = &admin;
            async move {
                let field = wait_element(admin, &tid("invite-email")).await?;
                field.clear().await?;
                field.send_keys(email).await?;
                wait_element(admin, &tid("invite-submit"))
                    .await?
                    .click()
                    .await?;
                let link = wait_for(SHORT, "the invitation link", || async {
                    let el = admin.find(Locator::Css(&tid("invite-link"))).await.ok()?;
                    let value = el.prop("value").await.ok()??;
                    let box_ = admin
                        .find(Locator::Css(&tid("invite-link-box")))
                        .await
                        .ok()?;
                    box_.text().await.ok()?.contains(email).then_some(value)
                })
                .await?;
                anyhow::Ok(link)
            }
        };
        let link = invite("cara@acme.test").await?;
        ensure!(
            link.starts_with(&format!("{base}/invite/#")) && link.len() > base.len() + 60,
            "the link: {link}"
        );
        let withdrawn = invite("dan@acme.test").await?;
        ensure!(withdrawn != link, "each link is its own");
        let pending = "[data-testid=\"invitation\"][data-email=\"dan@acme.test\"]";
        wait_element(&admin, &format!("{pending}[data-status=\"invited\"]")).await?;
        wait_element(&admin, &format!("{pending} {}", tid("revoke")))
            .await?
            .click()
            .await?;
        wait_for(SHORT, "the invitation to go", || async {
            admin
                .find(Locator::Css(pending))
                .await
                .is_err()
                .then_some(())
        })
        .await?;

        // A fresh browser opens the link, sets a password and lands in the workspace.
        accept_link(&invitee, &link, "Cara").await?;
        wait_element(&invitee, &tid("sign-out")).await?;
        let url = invitee.current_url().await?;
        ensure!(
            !url.as_str().contains(&link[link.len() - 64..]),
            "the secret left the address bar: {url}"
        );
        let account = wait_element(&invitee, &tid("account"))
            .await?
            .text()
            .await?;
        ensure!(account.contains("cara@acme.test"), "signed in as {account}");

        // The admin sees her in the member list and in Activity › Screenshots.
        wait_member(&admin, "cara@acme.test", "data-status", "active").await?;
        wait_element(&admin, "[data-section=\"screenshots\"]")
            .await?
            .click()
            .await?;
        wait_element(
            &admin,
            "[data-testid=\"member-row\"][data-email=\"cara@acme.test\"]",
        )
        .await?;

        // A used, a withdrawn and an expired link are refused in plain words.
        let refused = driver.browser().await?;
        let checks = async {
            accept_link(&refused, &link, "Someone").await?;
            let used = refused_with(&refused, "invitation_used").await?;
            ensure!(used.contains("already been used"), "{used}");
            accept_link(&refused, &withdrawn, "Someone").await?;
            let gone = refused_with(&refused, "not_found").await?;
            ensure!(gone.contains("does not work"), "{gone}");
            let owner = service.sign_in(&team.owner).await?;
            let late = owner
                .invite(&shotclock_api::dto::InviteRequest {
                    email: "eve@acme.test".into(),
                    role: shotclock_api::Role::Member,
                })
                .await?;
            service.shift_clock(chrono::TimeDelta::days(8));
            accept_link(&refused, &format!("{base}{}", late.link_path), "Eve").await?;
            let expired = refused_with(&refused, "invitation_expired").await?;
            ensure!(expired.contains("expired"), "{expired}");
            Ok(())
        }
        .await;
        let _ = refused.close().await;
        checks
    }
    .await;
    let _ = invitee.close().await;
    finish(admin, outcome).await
}

/// A stand-in screen for the member's engine (the web test has no display to capture).
struct Screen;

impl shotclock_capture::ScreenSource for Screen {
    fn capture_all(
        &mut self,
    ) -> std::result::Result<Vec<shotclock_capture::Frame>, shotclock_capture::CaptureError> {
        Ok(vec![shotclock_capture::synthetic::desktop_frame(
            0, 0, 1280, 720, 7919,
        )?])
    }
}

/// The presence line of `email`'s row.
async fn presence_text(b: &Client, email: &str) -> Result<String> {
    let css = format!(
        "[data-testid=\"member\"][data-email=\"{email}\"] {}",
        tid("presence")
    );
    Ok(wait_element(b, &css).await?.text().await?)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs chromium and chromedriver; run by `cargo xtask test`"]
async fn the_member_list_shows_whose_recording_app_is_connected() -> Result<()> {
    the_web_app_is_built_in()?;
    let service = Service::start()?;
    let team = service.team("acme", true).await?;
    let base = service.url();
    // Ana's recording app: the engine the desktop app and the headless agent run, signed in.
    let data = tempfile::tempdir()?;
    let session =
        shotclock_agent::Session::sign_in(&base, &team.ana.email, service::PASSWORD).await?;
    let config = shotclock_agent::AgentConfig {
        data_dir: data.path().to_owned(),
        clock: std::sync::Arc::new(shotclock_agent::SystemClock),
    };
    let agent = shotclock_agent::Agent::start(config, session, Screen).await?;
    let driver = ChromeDriver::start()?;
    let b = driver.browser().await?;
    let outcome = async {
        sign_in(&b, &base, &team.owner).await?;
        open_members(&b).await?;
        wait_member(&b, &team.ana.email, "data-connected", "true").await?;
        wait_member(&b, &team.ben.email, "data-connected", "false").await?;
        // Her timer turns capture on in her app, and the list says so.
        agent.start_timer("Design review".into()).await?;
        wait_member(&b, &team.ana.email, "data-capture", "true").await?;
        let row = presence_text(&b, &team.ana.email).await?;
        ensure!(
            row.contains("connected") && row.contains("capture on"),
            "{row}"
        );
        save_page_png(&b, "web-members").await?;
        // The app quits: not connected, last seen.
        agent.shutdown().await;
        wait_member(&b, &team.ana.email, "data-connected", "false").await?;
        let row = presence_text(&b, &team.ana.email).await?;
        ensure!(row.contains("last seen"), "{row}");
        Ok(())
    }
    .await;
    finish(b, outcome).await
}

// ---- single sign-on (R31) -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs chromium, chromedriver and node; run by `cargo xtask test`"]
async fn a_member_signs_in_to_the_web_app_through_the_workspaces_identity_provider() -> Result<()> {
    the_web_app_is_built_in()?;
    let service = Service::start()?;
    let team = service.team("acme", false).await?;
    let base = service.url();
    let idp = service.identity_provider(&team);
    // The owner links the workspace to the provider.
    service::link_provider(&service.sign_in(&team.owner).await?, &team, &idp).await?;

    let driver = ChromeDriver::start()?;
    let b = driver.browser().await?;
    let outcome = async {
        b.goto(&base).await?;
        let form = wait_element(&b, &tid("sign-in")).await?;
        form.find(Locator::Css("input[name=email]"))
            .await?
            .send_keys(&team.ana.email)
            .await?;
        save_page_png(&b, "web-sign-in-sso").await?;
        wait_element(&b, &tid("sso-sign-in")).await?.click().await?;
        // The provider's own login page.
        let login_page = sign_in_at_provider(&b, "ana-at-idp").await?;
        ensure!(
            login_page.starts_with(&idp.issuer()),
            "the browser went to the identity provider"
        );
        // Back in the workspace, signed in as Ana, with the session in its HttpOnly cookie.
        wait_element(&b, &tid("sign-out")).await?;
        let url = b.current_url().await?;
        ensure!(
            url.as_str().starts_with(&base),
            "back at the service: {url}"
        );
        let me = in_page(
            &b,
            "const r = await fetch('/api/v1/me'); return await r.json();",
        )
        .await?;
        ensure!(
            me["user"]["email"] == json!(team.ana.email),
            "signed in as {me}"
        );
        ensure!(
            in_page(&b, "return document.cookie;").await? == json!(""),
            "page scripts cannot read the session"
        );
        Ok(())
    }
    .await;
    finish(b, outcome).await
}

/// Types `text` into the field `id` (data-testid), replacing what it held.
async fn fill(b: &Client, id: &str, text: &str) -> Result<()> {
    let field = wait_element(b, &tid(id)).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

/// Clicks Save in the single sign-on section and waits for the service's answer (the section
/// says "Checking the provider…" until then); its kind and words.
async fn save_sso(b: &Client) -> Result<(String, String)> {
    wait_element(b, &tid("sso-save")).await?.click().await?;
    let outcome = wait_for(SHORT, "the provider checked", || async {
        let el = b.find(Locator::Css(&tid("sso-outcome"))).await.ok()?;
        let kind = el.attr("data-kind").await.ok()??;
        (kind != "checking").then_some((kind, el.text().await.ok()?))
    })
    .await?;
    Ok(outcome)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "system test: needs chromium, chromedriver and node; run by `cargo xtask test`"]
async fn an_admin_links_the_identity_provider_in_settings() -> Result<()> {
    const SECRET: &str = service::SSO_SECRET;
    the_web_app_is_built_in()?;
    let service = Service::start()?;
    let team = service.team("acme", false).await?;
    let base = service.url();
    let callback = service.sso_callback();
    let idp = service.identity_provider(&team);
    let owner = service.sign_in(&team.owner).await?;
    let domain = team.domain()?;
    // A provider nobody answers for: a port that was free a moment ago.
    let nobody = format!(
        "http://{}",
        std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?
    );

    let driver = ChromeDriver::start()?;
    let b = driver.browser().await?;
    let outcome = async {
        sign_in(&b, &base, &team.owner).await?;
        open_section(&b, "settings").await?;
        wait_attr(&b, &tid("sso-summary"), "data-enabled", "false", SHORT).await?;
        let shown = wait_element(&b, &tid("sso-callback"))
            .await?
            .prop("value")
            .await?;
        ensure!(
            shown.as_deref() == Some(callback.as_str()),
            "callback shown: {shown:?}"
        );

        // Linked through the form; the service checks the provider first.
        fill(&b, "sso-issuer", &idp.issuer()).await?;
        fill(&b, "sso-client-id", "shotclock").await?;
        fill(&b, "sso-client-secret", SECRET).await?;
        fill(&b, "sso-domains", &domain.to_uppercase()).await?;
        wait_element(&b, &tid("sso-password-sign-in"))
            .await?
            .click()
            .await?;
        let (kind, words) = save_sso(&b).await?;
        ensure!(kind == "saved", "{kind}: {words}");
        wait_attr(&b, &tid("sso-summary"), "data-enabled", "true", SHORT).await?;
        let stored = owner.sso_settings().await?;
        ensure!(
            stored.enabled
                && stored.issuer == idp.issuer()
                && stored.client_id == "shotclock"
                && stored.client_secret_set
                && stored.allowed_domains == vec![domain.clone()]
                && !stored.password_sign_in
                && !stored.auto_join,
            "stored: {stored:?}"
        );

        // After a reload the page shows what is stored, the secret only as "stored".
        b.refresh().await?;
        wait_element(&b, "nav button[data-section='settings']").await?;
        open_section(&b, "settings").await?;
        wait_attr(&b, &tid("sso-summary"), "data-enabled", "true", SHORT).await?;
        let issuer = wait_element(&b, &tid("sso-issuer"))
            .await?
            .prop("value")
            .await?;
        ensure!(issuer == Some(idp.issuer()), "issuer shown: {issuer:?}");
        let secret = wait_element(&b, &tid("sso-client-secret")).await?;
        ensure!(secret.attr("type").await?.as_deref() == Some("password"));
        ensure!(
            secret.prop("value").await?.as_deref() == Some(""),
            "the secret is never shown"
        );
        ensure!(secret.attr("data-stored").await?.as_deref() == Some("true"));
        let note = wait_element(&b, &tid("sso-secret-note"))
            .await?
            .text()
            .await?;
        ensure!(note.contains("Stored"), "{note}");
        ensure!(
            !b.source().await?.contains(SECRET),
            "the secret is not in the page"
        );
        b.execute(
            "document.querySelector('[data-testid=sso-settings]').scrollIntoView();",
            vec![],
        )
        .await?;
        save_page_png(&b, "sso-settings").await?;

        // Another provider needs the secret again: the stored one goes only to its own.
        fill(&b, "sso-issuer", &nobody).await?;
        let (kind, words) = save_sso(&b).await?;
        ensure!(
            kind == "problem" && words.contains("secret again"),
            "{kind}: {words}"
        );
        // A provider that cannot be read: the service says so in plain words, nothing changes.
        fill(&b, "sso-client-secret", SECRET).await?;
        let (kind, words) = save_sso(&b).await?;
        ensure!(
            kind == "problem" && words.contains("could not be read"),
            "{kind}: {words}"
        );
        ensure!(owner.sso_settings().await? == stored, "nothing changed");
        ensure!(
            b.find(Locator::Css(&tid("sso-outcome")))
                .await?
                .attr("role")
                .await?
                .as_deref()
                == Some("alert")
        );

        // Unlinked: everyone signs in with a password again.
        b.refresh().await?;
        wait_element(&b, "nav button[data-section='settings']").await?;
        open_section(&b, "settings").await?;
        wait_attr(&b, &tid("sso-summary"), "data-enabled", "true", SHORT).await?;
        wait_element(&b, &tid("sso-unlink")).await?.click().await?;
        wait_element(&b, &tid("sso-unlink-confirm"))
            .await?
            .click()
            .await?;
        wait_attr(&b, &tid("sso-summary"), "data-enabled", "false", SHORT).await?;
        ensure!(
            !owner.sso_settings().await?.enabled,
            "unlinked at the service"
        );
        Ok(())
    }
    .await;
    finish(b, outcome).await
}
