//! The system tray icon and its menu (R27): start/stop the timer, whether screenshots are being
//! taken (R7: the icon changes too), open the window, quit.
//!
//! Under Xvfb nothing displays a tray icon; the menu's actions call the same engine methods the
//! window's commands do, so they are tested through those.

use shotclock_agent::{CaptureStatus, OffReason};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

const TRAY_ID: &str = "main";
const TOGGLE: &str = "toggle-timer";
const CAPTURE: &str = "capture-state";
const OPEN: &str = "open";
const QUIT: &str = "quit";

const ICON: &[u8] = include_bytes!("../../icons/tray.png");
const ICON_CAPTURING: &[u8] = include_bytes!("../../icons/tray-capturing.png");

/// The menu items whose text changes.
pub struct TrayItems {
    toggle: MenuItem<Wry>,
    capture: MenuItem<Wry>,
}

/// Installs the tray; its "Start/Stop timer" item calls `on_toggle` (the session's, which
/// drives the engine), so the tray knows nothing of the session.
pub(crate) fn install(app: &AppHandle, on_toggle: fn(AppHandle)) -> tauri::Result<()> {
    let toggle = MenuItem::with_id(app, TOGGLE, "Start timer", false, None::<&str>)?;
    let capture = MenuItem::with_id(app, CAPTURE, "Screenshots: off", false, None::<&str>)?;
    let open = MenuItem::with_id(app, OPEN, "Open Shotclock", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, QUIT, "Quit Shotclock", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let separator2 = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(
        app,
        &[&toggle, &capture, &separator, &open, &separator2, &quit],
    )?;

    TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Shotclock")
        .icon(Image::from_bytes(ICON)?)
        .menu(&menu)
        .on_menu_event(move |app, event| match event.id().as_ref() {
            TOGGLE => on_toggle(app.clone()),
            OPEN => crate::show_main_window(app),
            QUIT => app.exit(0),
            _ => {}
        })
        .build(app)?;
    app.manage(TrayItems { toggle, capture });
    Ok(())
}

fn items(app: &AppHandle) -> Option<tauri::State<'_, TrayItems>> {
    app.try_state::<TrayItems>()
}

/// Enables the timer item when signed in.
pub(crate) fn show_session(app: &AppHandle, signed_in: bool) {
    if let Some(items) = items(app)
        && let Err(err) = items.toggle.set_enabled(signed_in)
    {
        tracing::warn!("tray: {err}");
    }
    if !signed_in {
        show_timer(app, false);
        show_capture(
            app.clone(),
            CaptureStatus::Off {
                reason: OffReason::SignedOut,
                source: None,
                consent: shotclock_capture::Consent::NotNeeded,
            },
        );
    }
}

/// "Start timer" or "Stop timer".
pub(crate) fn show_timer(app: &AppHandle, running: bool) {
    if let Some(items) = items(app) {
        let text = if running { "Stop timer" } else { "Start timer" };
        if let Err(err) = items.toggle.set_text(text) {
            tracing::warn!("tray: {err}");
        }
    }
}

/// The capture line and the icon (R7).
pub(crate) fn show_capture(app: AppHandle, status: CaptureStatus) {
    let active = matches!(status, CaptureStatus::Active { .. });
    if let Some(items) = items(&app) {
        let text = if active {
            "Screenshots: on — capturing".to_owned()
        } else {
            "Screenshots: off".to_owned()
        };
        if let Err(err) = items.capture.set_text(text) {
            tracing::warn!("tray: {err}");
        }
    }
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let bytes = if active { ICON_CAPTURING } else { ICON };
        let icon = Image::from_bytes(bytes).map(Some);
        let tooltip = if active {
            "Shotclock — capturing screenshots"
        } else {
            "Shotclock"
        };
        if let Err(err) = icon.and_then(|i| tray.set_icon(i)) {
            tracing::warn!("tray icon: {err}");
        }
        if let Err(err) = tray.set_tooltip(Some(tooltip)) {
            tracing::warn!("tray tooltip: {err}");
        }
    }
}
