//! "Sign in with SSO" (R31, RFC 8252): the engine's loopback flow (`SsoSignIn`) with the system
//! browser, ending like a password sign-in (`session::adopt`: token into the vault, engine
//! started). As thin as `commands.rs`.
//!
//! One sign-in waits at a time: a new one, or `cancel_sso_sign_in`, drops the previous one's
//! cancel sender, which ends its wait and closes its loopback listener.
//!
//! Test hook: with `SHOTCLOCK_TEST_SSO_URL_FILE` set, the start URL is written to that file
//! instead of opening a browser (the system test drives a browser of its own there). Nothing
//! else reads it.

use std::sync::Mutex;

use crate::commands::Answer;
use crate::error::{CommandError, ErrorKind};
use crate::session::{self, SessionView};
use shotclock_agent::SsoSignIn;
use shotclock_agent::sso::SIGN_IN_DEADLINE;
use tauri::{AppHandle, State};
use tokio::sync::oneshot;

/// The environment variable of the test hook (see the module doc).
pub const TEST_URL_FILE: &str = "SHOTCLOCK_TEST_SSO_URL_FILE";

/// The cancel switch of the sign-in under way, if any.
#[derive(Default)]
pub struct PendingSso(Mutex<Option<oneshot::Sender<()>>>);

impl PendingSso {
    /// Makes the switch of a new sign-in; the previous one's is dropped (it stops waiting).
    fn replace(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(tx);
        }
        rx
    }

    fn cancel(&self) {
        if let Ok(mut slot) = self.0.lock() {
            slot.take();
        }
    }
}

/// Signs `email` in through the workspace's identity provider in the system browser.
#[tauri::command]
pub async fn sign_in_with_sso(
    app: AppHandle,
    pending: State<'_, PendingSso>,
    server_url: String,
    email: String,
) -> Answer<SessionView> {
    let cancelled = pending.replace();
    let sso = SsoSignIn::begin(server_url.trim(), &email)
        .await
        .map_err(CommandError::from_sign_in)?;
    hand_over(sso.url().as_str())?;
    let session = tokio::select! {
        r = sso.finish(SIGN_IN_DEADLINE) => r.map_err(CommandError::from_sign_in)?,
        _ = cancelled => {
            return Err(CommandError::new(ErrorKind::Sso, "Signing in was cancelled."));
        }
    };
    session::adopt(&app, session).await
}

/// Stops waiting for the browser.
#[tauri::command]
pub fn cancel_sso_sign_in(pending: State<'_, PendingSso>) {
    pending.cancel();
}

/// Opens the start URL in the system browser, or hands it to the test hook's file.
fn hand_over(url: &str) -> Answer<()> {
    if let Some(file) = std::env::var_os(TEST_URL_FILE).filter(|f| !f.is_empty()) {
        return std::fs::write(&file, url).map_err(|e| {
            CommandError::new(ErrorKind::Storage, format!("could not write the URL: {e}"))
        });
    }
    open_browser(url).map_err(|e| {
        CommandError::new(
            ErrorKind::Sso,
            format!("Could not open the browser ({e}). Open this address yourself: {url}"),
        )
    })
}

#[cfg(target_os = "linux")]
fn open_browser(url: &str) -> std::io::Result<()> {
    spawn_detached(std::process::Command::new("xdg-open").arg(url))
}

#[cfg(target_os = "macos")]
fn open_browser(url: &str) -> std::io::Result<()> {
    spawn_detached(std::process::Command::new("open").arg(url))
}

#[cfg(target_os = "windows")]
fn open_browser(url: &str) -> std::io::Result<()> {
    // `start` treats its first quoted argument as a title.
    spawn_detached(std::process::Command::new("cmd").args(["/C", "start", "", url]))
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn open_browser(_url: &str) -> std::io::Result<()> {
    Err(std::io::Error::other("no browser opener on this system"))
}

/// Starts the opener and reaps it on a thread of its own (it exits once the browser has the
/// URL).
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
fn spawn_detached(command: &mut std::process::Command) -> std::io::Result<()> {
    let mut child = crate::webview::for_other_programs(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}
