//! The Shotclock desktop shell.
//!
//! Deliberately thin: it builds the window, the tray, the plugins and the `shotclock:` image
//! scheme, keeps the session ([`session`]) and forwards each Tauri command ([`commands`]) to one
//! method of the engine (`shotclock-agent`). Product rules live in `shotclock-domain` and the
//! service; nothing here decides policy.
//!
//! Invariants:
//! - one instance per user session (a second launch focuses the first window);
//! - closing the window destroys it (its web process goes too), the app keeps running in the
//!   tray and builds it again when asked to show it ([`window`]); only "Quit" exits;
//! - the session token lives in the OS keyring or a user-only file ([`vault`]), never in the
//!   webview, SQLite or logs; images reach the webview by URI scheme, never over IPC.
//!
//! Environment: `SHOTCLOCK_DATA_DIR` overrides the data folder (tests, the demo);
//! `SHOTCLOCK_SERVER_URL`, `SHOTCLOCK_EMAIL`, `SHOTCLOCK_PASSWORD` sign in at start when no
//! session is stored (the demo); `SHOTCLOCK_TEST_SSO_URL_FILE` (tests only) makes "Sign in with
//! SSO" write its start URL to that file instead of opening the browser ([`sso_commands`]).

mod commands;
mod error;
mod member_commands;
mod notify;
mod protocol;
mod session;
mod sso_commands;
mod sso_settings;
mod tray;
mod vault;
mod webview;
mod window;

pub use error::{CommandError, ErrorKind, ShellError};
pub use webview::prepare_engine;

use std::path::PathBuf;
use tauri::Manager;

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
        .plugin(tauri_plugin_notification::init())
        .register_asynchronous_uri_scheme_protocol(protocol::SCHEME, |ctx, request, responder| {
            protocol::handle(ctx.app_handle(), request, responder);
        })
        .setup(|app| {
            let data_dir = data_dir(app.handle())?;
            vault::create_private_dir(&data_dir)?;
            app.manage(session::AppState::new(data_dir));
            app.manage(notify::Shown::default());
            app.manage(sso_commands::PendingSso::default());
            if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
                webview::tune(&window);
            }
            tray::install(app.handle(), session::toggle_timer)?;
            tauri::async_runtime::spawn(session::bootstrap(app.handle().clone()));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::session_state,
            commands::sign_in,
            commands::sign_out,
            commands::running_timer,
            commands::start_timer,
            commands::stop_timer,
            commands::entries,
            commands::capture_state,
            commands::ask_screen_again,
            commands::notifications,
            commands::mark_notification_read,
            commands::day_counts,
            commands::screenshots_of_day,
            commands::delete_screenshot,
            commands::workspace_settings,
            commands::update_settings,
            commands::start_trial,
            commands::workspace_blocklist,
            commands::set_workspace_blocklist,
            commands::own_blocklist,
            commands::set_own_blocklist,
            commands::windows_now,
            commands::access_log,
            commands::entries_for_week,
            commands::edit_entry,
            commands::add_entry,
            commands::delete_entry,
            commands::approvals,
            commands::approve_period,
            member_commands::members,
            member_commands::invitations,
            member_commands::invite,
            member_commands::revoke_invitation,
            member_commands::update_member,
            member_commands::remove_member,
            sso_settings::sso_settings,
            sso_settings::set_sso_settings,
            sso_settings::unlink_sso,
            sso_commands::sign_in_with_sso,
            sso_commands::cancel_sso_sign_in,
        ])
        .build(tauri::generate_context!())
        .map_err(ShellError::from)?
        // Closing the window lets it go; the app keeps running in the tray (R27).
        .run(window::keep_running);
    Ok(())
}

/// `SHOTCLOCK_DATA_DIR`, else the platform's app data folder.
fn data_dir(app: &tauri::AppHandle) -> Result<PathBuf, ShellError> {
    match std::env::var_os("SHOTCLOCK_DATA_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(app.path().app_data_dir()?),
    }
}

/// Shows, un-minimises and focuses the main window, building it again if it was closed.
pub(crate) fn show_main_window(app: &tauri::AppHandle) {
    window::show(app);
}
