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
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::service::{self, Service, record_entry};
use support::wait_for;

const SHORT: Duration = Duration::from_secs(20);

/// The flags PLATFORM.md names: without the networking ones Chromium floods the closed network.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,800",
];

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A running chromedriver, stopped with SIGTERM when dropped (it takes its browsers along).
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    fn start() -> Result<Self> {
        let binary = on_path("chromedriver")
            .context("chromedriver is missing: run the system tests through `cargo xtask test`")?;
        let port = free_port()?;
        let child = Command::new(binary)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        let driver = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not listen on {port} within 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(driver)
    }

    /// A fresh browser (its own profile: no cookies).
    async fn browser(&self) -> Result<Client> {
        let binary = on_path("chromium").context("chromium is missing")?;
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": binary, "args": CHROMIUM_ARGS }),
        );
        let mut builder = ClientBuilder::rustls()?;
        builder.capabilities(caps);
        let url = format!("http://127.0.0.1:{}", self.port);
        tokio::time::timeout(Duration::from_secs(60), builder.connect(&url))
            .await
            .context("the browser did not start within 60 s")?
            .context("opening a WebDriver session on chromium")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

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
