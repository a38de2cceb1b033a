//! OS notifications made observable: a `dunst` notification daemon on the test's D-Bus session
//! (`dbus-run-session`), read back with `dunstctl history`.
//!
//! A notification that was only "shown" proves nothing (the plugin answers Ok even when nobody
//! listens); one that dunst recorded was delivered.

use super::ui::note;
use super::wait_for;
use anyhow::{Context, Result, bail};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The session's `dunst`: started by the test (and stopped by SIGTERM when dropped), or the one
/// D-Bus activation already started in this session.
pub struct Dunst {
    child: Option<Child>,
}

impl Dunst {
    /// Starts dunst on the session bus and waits until it owns `org.freedesktop.Notifications`.
    ///
    /// `Ok(None)` when there is no D-Bus session (`DBUS_SESSION_BUS_ADDRESS` unset: the test was
    /// not started under `dbus-run-session`), said in the output. Missing `dunst` or `dunstctl`
    /// is an error: `cargo xtask setup` installs them.
    pub async fn start() -> Result<Option<Self>> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            note(
                "DBUS_SESSION_BUS_ADDRESS is unset (not under dbus-run-session): \
                 the OS notification is not checked",
            );
            return Ok(None);
        }
        for tool in ["dunst", "dunstctl", "dbus-send"] {
            if !on_path(tool) {
                bail!(
                    "`{tool}` is not installed: the OS notification cannot be observed \
                     (`cargo xtask setup` installs dunst and dbus)"
                );
            }
        }
        if owns_notifications().await? {
            // dunst is D-Bus activatable: an earlier app in this session may have woken it.
            if dunstctl(&["is-paused"]).await.is_ok() {
                note("dunst already serves this D-Bus session (activated earlier); using it");
                return Ok(Some(Dunst { child: None }));
            }
            bail!("a notification daemon other than dunst serves this D-Bus session");
        }
        let child = Command::new("dunst")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting dunst")?;
        let mut dunst = Dunst { child: Some(child) };
        let ready = wait_for(
            Duration::from_secs(30),
            "dunst to own org.freedesktop.Notifications",
            || async { owns_notifications().await.ok()?.then_some(()) },
        )
        .await;
        if let Some(child) = dunst.child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            bail!("dunst exited at start ({status})");
        }
        ready?;
        Ok(Some(dunst))
    }

    /// Waits until dunst has received a notification whose body contains `text`.
    pub async fn wait_for_body(&self, text: &str, timeout: Duration) -> Result<String> {
        let seen = std::sync::Mutex::new(Vec::new());
        let found = wait_for(
            timeout,
            "the OS notification in dunst's history",
            || async {
                // History holds closed notifications: close what is on screen first.
                dunstctl(&["close-all"]).await.ok()?;
                let bodies = bodies(&dunstctl(&["history"]).await.ok()?);
                let hit = bodies.iter().find(|b| b.contains(text)).cloned();
                if let Ok(mut s) = seen.lock() {
                    *s = bodies;
                }
                hit
            },
        )
        .await;
        let seen = seen.into_inner().unwrap_or_default();
        found.with_context(|| format!("notifications dunst recorded: {seen:?}"))
    }
}

impl Drop for Dunst {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

/// The `body` of every notification in `dunstctl history` JSON.
fn bodies(history: &str) -> Vec<String> {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(history) else {
        return Vec::new();
    };
    json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|group| group.as_array())
        .flatten()
        .filter_map(|n| n["body"]["data"].as_str().map(str::to_owned))
        .collect()
}

async fn dunstctl(args: &[&str]) -> Result<String> {
    let out = tokio::process::Command::new("dunstctl")
        .args(args)
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "dunstctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether someone owns `org.freedesktop.Notifications` (asked without activating anyone).
async fn owns_notifications() -> Result<bool> {
    let out = tokio::process::Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.Notifications",
        ])
        .output()
        .await
        .context("asking the session bus")?;
    if !out.status.success() {
        bail!("dbus-send: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).contains("boolean true"))
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_bodies_from_dunstctl_history() {
        let history = r#"{"type":"aa{sv}","data":[[{"body":{"type":"s","data":"hello"}},
            {"body":{"type":"s","data":"world"}}]]}"#;
        assert_eq!(super::bodies(history), vec!["hello", "world"]);
        assert!(super::bodies("not json").is_empty());
    }
}
