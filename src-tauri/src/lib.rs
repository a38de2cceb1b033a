//! The Shotclock desktop shell.
//!
//! This crate is deliberately thin: it builds the window, the tray and the plugins, and (as the
//! engine lands) forwards each Tauri command to one method of the engine handle. Product rules
//! live in `shotclock-domain`; nothing here decides policy.
//!
//! Invariants:
//! - one instance per user session (a second launch focuses the first window);
//! - closing the window hides it, the app keeps running in the tray; only "Quit" exits.

mod error;
mod tray;

pub use error::ShellError;

use tauri::{Manager, WindowEvent};

/// Label of the one main window (also named in `src-tauri/capabilities/`).
pub const MAIN_WINDOW: &str = "main";

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`). Nothing personal is logged.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Builds and runs the app until the user quits.
pub fn run() -> Result<(), ShellError> {
    tauri::Builder::default()
        // Must be the first plugin: a second launch hands over to the running instance.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_main_window(app);
        }))
        .setup(|app| {
            tray::install(app.handle())?;
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == MAIN_WINDOW
            {
                // Keep running in the tray (R27).
                api.prevent_close();
                if let Err(err) = window.hide() {
                    tracing::warn!("could not hide the window: {err}");
                }
            }
        })
        .run(tauri::generate_context!())
        .map_err(ShellError::from)
}

/// Shows, un-minimises and focuses the main window.
pub(crate) fn show_main_window(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let shown = window
            .show()
            .and_then(|()| window.unminimize())
            .and_then(|()| window.set_focus());
        if let Err(err) = shown {
            tracing::warn!("could not show the window: {err}");
        }
    }
}
