//! The main window's life: closing it to the tray **destroys** it, showing it builds it again.
//!
//! Design: a hidden web view still costs what it holds — its WebKit web process (~100–190 MB
//! PSS once thumbnails were shown) and the GTK window — for as long as the app sits in the tray,
//! which is most of the day. Nothing in the window holds state of its own: the engine runs in
//! this process and the UI reads everything through the door when it mounts. So the close
//! button lets the window go (the web process exits with it) and keeps only the app running
//! (R27: only "Quit" exits); "Open Shotclock" in the tray, a second launch and the tray's
//! timer item while signed out build it again from the same entry of `tauri.conf.json`, tuned the same way
//! ([`crate::webview::tune`]), and the UI comes back from the engine (session, running timer,
//! capture state).
//!
//! What the window leaves behind in this process is given back once it is gone: the heap's free
//! pages at once, and the GTK and WebKit library pages it read (most of the tray's memory) a few
//! seconds later, when its web process has exited (`shotclock_heap`).
//!
//! Invariant: the app exits only when asked to ([`AppHandle::exit`], code `Some`): a request
//! because the last window went away (code `None`) is refused in [`keep_running`].

use tauri::{AppHandle, Manager, RunEvent, WebviewWindow, WebviewWindowBuilder, WindowEvent};

use crate::{MAIN_WINDOW, webview};

/// Shows, un-minimises and focuses the main window, building it first if it was closed.
pub(crate) fn show(app: &AppHandle) {
    let window = match app.get_webview_window(MAIN_WINDOW) {
        Some(window) => window,
        None => match build(app) {
            Ok(window) => window,
            Err(err) => {
                tracing::warn!("could not open the window: {err}");
                return;
            }
        },
    };
    let shown = window
        .show()
        .and_then(|()| window.unminimize())
        .and_then(|()| window.set_focus());
    if let Err(err) = shown {
        tracing::warn!("could not show the window: {err}");
    }
}

/// The main window as `tauri.conf.json` describes it, tuned ([`webview::tune`]).
fn build(app: &AppHandle) -> tauri::Result<WebviewWindow> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN_WINDOW)
        .cloned()
        .ok_or(tauri::Error::WindowNotFound)?;
    let window = WebviewWindowBuilder::from_config(app, &config)?.build()?;
    webview::tune(&window);
    Ok(window)
}

/// How long after the window is destroyed its library pages are handed back: by then its web
/// process has exited, so the pages it shared with this process are this process's alone.
const PAGE_OUT_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// The run loop's handler: the app keeps running in the tray when its window is closed.
pub(crate) fn keep_running(app: &AppHandle, event: RunEvent) {
    match event {
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        // The window's GTK and WebKit objects were just freed: give their pages back.
        RunEvent::WindowEvent {
            event: WindowEvent::Destroyed,
            ..
        } => {
            shotclock_heap::give_back();
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(PAGE_OUT_AFTER).await;
                if app.get_webview_window(MAIN_WINDOW).is_none() {
                    let paged =
                        tauri::async_runtime::spawn_blocking(shotclock_heap::page_out_files);
                    if let Ok(bytes) = paged.await {
                        tracing::debug!(
                            "the closed window's library pages handed back ({bytes} bytes mapped)"
                        );
                    }
                }
            });
        }
        _ => {}
    }
}
