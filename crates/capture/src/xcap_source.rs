//! The real [`ScreenSource`]: xcap 0.9 (X11, Windows, macOS, Wayland through portals).
//!
//! Design: enumerate monitors and read every geometry first (cheap), then grab the monitors
//! back to back so the frames are as close to one instant as xcap allows; each `RgbaImage` is
//! taken over without a copy. Blocking: call from a blocking thread (see [`crate::source`]).
//!
//! Error mapping: an empty monitor list is [`CaptureError::NoMonitor`]; backend messages that
//! mean "the OS or the user refused" (permission / denied / not authorized / cancelled, as the
//! Wayland portal and macOS report them) are [`CaptureError::PermissionDenied`]; anything else
//! is [`CaptureError::Backend`] with xcap's text.
//!
//! Privacy gate (PRODUCT R11): on a **Wayland** session xcap grabs through GNOME Shell's
//! `Screenshot` D-Bus call or the xdg-desktop-portal, both of which **write a full-resolution
//! PNG to disk** (xcap deletes it afterwards, but it was written). That breaks "the
//! full-resolution frame is never written anywhere", so [`XcapSource`] refuses Wayland
//! sessions with a `Backend` error unless [`XcapSource::allow_file_backed_capture`] was set.
//! X11 (`GetImage`), Windows and macOS capture in memory.
//!
//! Known gaps: xcap itself holds two full-resolution copies per monitor during an X11 grab
//! (the X reply and its RGBA conversion) and converts BGRA→RGBA per pixel on macOS; macOS
//! without the Screen Recording permission returns a wallpaper-only image rather than an
//! error, which is classified `Ok` (see [`crate::health`]); monitors are grabbed one after the
//! other, not atomically (X11: ~13 ms per 1080p monitor).

use xcap::Monitor;

use crate::{CaptureError, Frame, Rect, ScreenSource};

/// Captures through xcap.
#[derive(Debug, Default)]
pub struct XcapSource {
    allow_file_backed: bool,
    #[cfg(target_os = "linux")]
    windows: Box<crate::x11_windows::X11Windows>,
}

impl XcapSource {
    /// A source that refuses backends writing frames to disk (Wayland).
    pub fn new() -> Self {
        XcapSource::default()
    }

    /// Allows xcap's Wayland path, which writes each full-resolution frame to a temporary PNG
    /// file before reading it back. Breaks PRODUCT R11; only for a deliberate product decision.
    pub fn allow_file_backed_capture(mut self, allow: bool) -> Self {
        self.allow_file_backed = allow;
        self
    }
}

/// True when xcap would take its Wayland (file-writing) path: it checks the same variables.
pub fn is_wayland_session() -> bool {
    let session = std::env::var_os("XDG_SESSION_TYPE").unwrap_or_default();
    let display = std::env::var_os("WAYLAND_DISPLAY").unwrap_or_default();
    cfg!(all(target_os = "linux", not(target_env = "ohos")))
        && (session == "wayland" || display.to_string_lossy().to_lowercase().contains("wayland"))
}

impl ScreenSource for XcapSource {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        if !self.allow_file_backed && is_wayland_session() {
            return Err(CaptureError::Backend(
                "Wayland capture writes full-resolution frames to disk (xcap portal path); \
                 refused by the privacy rule"
                    .into(),
            ));
        }
        let monitors = Monitor::all().map_err(map_xcap_error)?;
        if monitors.is_empty() {
            return Err(CaptureError::NoMonitor);
        }
        let bounds = monitors
            .iter()
            .map(|m| {
                Ok(Rect::new(
                    m.x().map_err(map_xcap_error)?,
                    m.y().map_err(map_xcap_error)?,
                    m.width().map_err(map_xcap_error)?,
                    m.height().map_err(map_xcap_error)?,
                ))
            })
            .collect::<Result<Vec<_>, CaptureError>>()?;
        let mut frames = Vec::with_capacity(monitors.len());
        for (monitor, bounds) in monitors.iter().zip(bounds) {
            let image = monitor.capture_image().map_err(map_xcap_error)?;
            frames.push(Frame::from_rgba_image_at(bounds, image)?);
        }
        Ok(frames)
    }

    /// On X11: the window manager's list cross-checked with the window tree
    /// ([`crate::x11_windows`]). Elsewhere (Wayland, Windows, macOS) windows are not listed
    /// yet, so a blocklist fails the capture closed.
    fn windows(&mut self) -> Result<Vec<crate::WindowInfo>, CaptureError> {
        #[cfg(target_os = "linux")]
        if !is_wayland_session() {
            return self.windows.list();
        }
        Err(CaptureError::RedactionUnavailable(
            "windows cannot be listed with their geometry on this desktop".into(),
        ))
    }
}

fn map_xcap_error(error: xcap::XCapError) -> CaptureError {
    classify_backend_message(error.to_string())
}

/// Maps a backend message to `PermissionDenied` or `Backend` (see the module docs).
pub fn classify_backend_message(message: String) -> CaptureError {
    let lower = message.to_lowercase();
    let refused = [
        "permission",
        "denied",
        "not authorized",
        "not authorised",
        "not permitted",
        "canceled",
        "cancelled",
    ]
    .iter()
    .any(|needle| lower.contains(needle));
    if refused {
        CaptureError::PermissionDenied(message)
    } else {
        CaptureError::Backend(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_permission_denied() {
        for msg in [
            "Z-Bus canceled",
            "Screen Recording permission not granted",
            "org.freedesktop.DBus.Error.AccessDenied: Access denied",
        ] {
            assert!(
                matches!(
                    classify_backend_message(msg.into()),
                    CaptureError::PermissionDenied(_)
                ),
                "{msg}"
            );
        }
        assert!(matches!(
            classify_backend_message("Connection refused: cannot open display".into()),
            CaptureError::Backend(_)
        ));
    }
}
