//! Which screen source this desktop session gets, and why (issue: Wayland capture).
//!
//! The rule, decided from the session's environment only (no probing):
//! 1. Not Linux: the platform's own capture ([`SourceKind::Native`], through xcap).
//! 2. `XDG_SESSION_TYPE=wayland`: the ScreenCast portal, even when `DISPLAY` is set — that
//!    `DISPLAY` is Xwayland, which shows only X clients, not the desktop.
//! 3. `XDG_SESSION_TYPE=x11`: X11, even when `WAYLAND_DISPLAY` is set (a nested compositor).
//! 4. Any other or no session type: `WAYLAND_DISPLAY` set → the portal; else X11 (with or
//!    without `DISPLAY`; without it the X11 capture reports no monitor).
//!
//! The choice is typed ([`SourceChoice`]) so the engine can show it in its capture status.

use serde::Serialize;

/// The screen source in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// X11 `GetImage` (xcap), in memory.
    X11,
    /// The xdg-desktop-portal ScreenCast interface, frames read through PipeWire in memory.
    WaylandPortal,
    /// Windows or macOS capture (xcap).
    Native,
    /// A source handed in by the caller (tests, tools).
    Given,
}

/// Where the desktop's permission to share the screen stands (the Wayland portal's first-run
/// consent; other sources need none). The app words it: before the first dialog it says what
/// will be asked and why; after a refusal it offers to ask again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// The source asks nobody (X11, Windows, macOS after the OS's own setting).
    NotNeeded,
    /// No grant is stored: the next session shows the desktop's dialog.
    NotAsked,
    /// A grant is stored or a session is open.
    Granted,
    /// The dialog was declined (or a stored grant was revoked and then declined); nothing is
    /// asked again until the user says so ([`crate::ScreenSource::release`]).
    Refused,
}

/// Why that source was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ChoiceReason {
    /// `XDG_SESSION_TYPE=wayland`.
    WaylandSession,
    /// `XDG_SESSION_TYPE=x11`.
    X11Session,
    /// No session type; `WAYLAND_DISPLAY` is set.
    WaylandDisplay,
    /// No session type and no `WAYLAND_DISPLAY` (an X display, or none).
    NoWaylandDisplay,
    /// Windows or macOS.
    Platform,
    /// The caller chose the source.
    Caller,
}

/// The source chosen for this session and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SourceChoice {
    pub kind: SourceKind,
    pub reason: ChoiceReason,
}

impl SourceChoice {
    /// A source the caller picked (tests, tools).
    pub const GIVEN: SourceChoice = SourceChoice {
        kind: SourceKind::Given,
        reason: ChoiceReason::Caller,
    };

    /// The choice for a Linux session with these variables (empty counts as unset).
    pub fn for_linux(session_type: Option<&str>, wayland_display: Option<&str>) -> SourceChoice {
        let (kind, reason) = match set(session_type).map(str::to_ascii_lowercase).as_deref() {
            Some("wayland") => (SourceKind::WaylandPortal, ChoiceReason::WaylandSession),
            Some("x11") => (SourceKind::X11, ChoiceReason::X11Session),
            _ if set(wayland_display).is_some() => {
                (SourceKind::WaylandPortal, ChoiceReason::WaylandDisplay)
            }
            _ => (SourceKind::X11, ChoiceReason::NoWaylandDisplay),
        };
        SourceChoice { kind, reason }
    }

    /// The choice for this process's session.
    pub fn from_env() -> SourceChoice {
        if !cfg!(target_os = "linux") {
            return SourceChoice {
                kind: SourceKind::Native,
                reason: ChoiceReason::Platform,
            };
        }
        let var = |k: &str| std::env::var(k).ok();
        SourceChoice::for_linux(
            var("XDG_SESSION_TYPE").as_deref(),
            var("WAYLAND_DISPLAY").as_deref(),
        )
    }

    /// How the app names the source, e.g. "Wayland: screen sharing portal".
    pub fn label(&self) -> &'static str {
        match self.kind {
            SourceKind::X11 => "X11",
            SourceKind::WaylandPortal => "Wayland: screen sharing portal",
            SourceKind::Native => "System screen capture",
            SourceKind::Given => "Built-in source",
        }
    }
}

/// `v` trimmed, or `None` when it is empty.
fn set(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        let c = SourceChoice::for_linux;
        assert_eq!(c(Some("wayland"), None).kind, SourceKind::WaylandPortal);
        assert_eq!(
            c(Some("wayland"), None).reason,
            ChoiceReason::WaylandSession
        );
        assert_eq!(c(Some("x11"), Some("wayland-0")).kind, SourceKind::X11);
        assert_eq!(
            c(Some("tty"), Some("wayland-0")).reason,
            ChoiceReason::WaylandDisplay
        );
        assert_eq!(c(None, Some("wayland-1")).kind, SourceKind::WaylandPortal);
        assert_eq!(c(None, Some(" ")).kind, SourceKind::X11);
        assert_eq!(c(Some(""), None).reason, ChoiceReason::NoWaylandDisplay);
        assert_eq!(c(Some("Wayland"), None).kind, SourceKind::WaylandPortal);
        assert_eq!(
            c(Some("wayland"), None).label(),
            "Wayland: screen sharing portal"
        );
        let json = serde_json::to_string(&c(Some("x11"), None)).unwrap();
        assert_eq!(json, r#"{"kind":"x11","reason":"x11_session"}"#);
    }
}
