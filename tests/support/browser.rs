//! A real browser for the system tests: Debian's `chromium`, headless, driven over WebDriver
//! (`chromedriver`) with fantoccini — the web app's tests, and the identity provider's login
//! page in the desktop app's single sign-on test.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

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

/// How long the identity provider's login page may take to show after the browser was sent
/// there (through the service's start URL and the provider's authorization endpoint).
const PROVIDER_PAGE: Duration = Duration::from_secs(20);

/// `name` on `PATH`, if it is there.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A running chromedriver, stopped with SIGTERM when dropped (it takes its browsers along).
/// Its browsers run in the tests' time zone (`TZ`, which they inherit), so the web app's
/// "today" is the day the tests ask the service about, also in the hour around UTC midnight.
pub struct ChromeDriver {
    child: Child,
    /// chromedriver's port on 127.0.0.1.
    pub port: u16,
}

impl ChromeDriver {
    pub fn start() -> Result<Self> {
        let binary = on_path("chromedriver")
            .context("chromedriver is missing: run the system tests through `cargo xtask test`")?;
        let port = super::free_port()?;
        let child = Command::new(binary)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .env("TZ", super::service::time_zone().name)
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
    pub async fn browser(&self) -> Result<Client> {
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

/// Signs in at the identity provider's login page (`shotclock_testoidc`'s provider: any
/// password, the login names the account) once the browser `b` shows it: waits for the login
/// field, fills it with `login`, and submits. Answers the login page's address, read before
/// submitting, so that a test can check the browser really went to the provider.
pub async fn sign_in_at_provider(b: &Client, login: &str) -> Result<String> {
    let field = super::wait_for(PROVIDER_PAGE, "the provider's login page", || async {
        b.find(Locator::Css("input[name=login]")).await.ok()
    })
    .await?;
    let at = b.current_url().await?.to_string();
    field.clear().await?;
    field.send_keys(login).await?;
    b.find(Locator::Css("input[name=password]"))
        .await?
        .send_keys("any password")
        .await?;
    b.find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    Ok(at)
}
