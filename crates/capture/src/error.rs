//! Typed errors of the capture crate.
//!
//! Design: one error enum for the whole pipeline, cheap to clone (every payload is text) so
//! the agent can both log it and record it. Each error maps to exactly one [`Health`] through
//! [`CaptureError::health`], which is what answers "why is there no screenshot at 10:05" (R12).
//!
//! Invariant: error texts never contain pixel data, only sizes and backend messages.

use crate::health::Health;

/// Why a capture (or processing of already captured frames) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// The backend reports no monitor at all (headless session, lid closed without an
    /// external screen, or a fake source configured with zero monitors).
    #[error("no monitor to capture")]
    NoMonitor,
    /// The OS refused screen capture (macOS Screen Recording permission, a Wayland portal
    /// request the user declined). Carries the backend's message.
    #[error("screen capture permission denied: {0}")]
    PermissionDenied(String),
    /// The screen backend failed (no display connection, X error, portal failure, …), or the
    /// backend is refused on purpose because it would break a privacy rule (see
    /// `xcap_source`).
    #[error("screen backend error: {0}")]
    Backend(String),
    /// The user declined the desktop's screen sharing dialog (Wayland portal), or a grant was
    /// withdrawn. Asking again shows the dialog again.
    #[error("screen sharing declined: {0}")]
    ConsentRefused(String),
    /// No xdg-desktop-portal answers on the session bus (Wayland).
    #[error("no desktop portal: {0}")]
    PortalMissing(String),
    /// The desktop portal runs but offers no ScreenCast interface (Wayland).
    #[error("no screencast portal: {0}")]
    NoScreenCast(String),
    /// The compositor offers frames only as GPU (DMA-BUF) buffers, which are not read; the
    /// capture fails closed rather than take another path.
    #[error("compositor offers only DMA-BUF frames: {0}")]
    DmabufOnly(String),
    /// A blocklist is in force but the windows on screen cannot be listed with their
    /// geometry (no window manager, a listing timeout, a Wayland session): the capture fails
    /// closed and nothing is kept.
    #[error("blocked windows cannot be found: {0}")]
    RedactionUnavailable(String),
    /// A frame handed to the pipeline is inconsistent (zero size, buffer length mismatch,
    /// absurd geometry).
    #[error("invalid frame: {0}")]
    InvalidFrame(String),
    /// Resizing, blurring or encoding the thumbnail failed.
    #[error("thumbnail processing failed: {0}")]
    Processing(String),
    /// A thumbnail could not be decoded (tests and tools only; the capture path never decodes).
    #[error("thumbnail decode failed: {0}")]
    Decode(String),
}

impl CaptureError {
    /// The health record for an attempt that failed with this error.
    ///
    /// `NoMonitor`, `PermissionDenied` and the portal failures keep their own codes; everything else is recorded as
    /// `backend_error` with this error's text, so nothing is silently skipped (R12).
    pub fn health(&self) -> Health {
        match self {
            CaptureError::NoMonitor => Health::NoMonitor,
            CaptureError::PermissionDenied(_) => Health::PermissionDenied,
            CaptureError::ConsentRefused(_) => Health::ConsentRefused,
            CaptureError::PortalMissing(_) => Health::PortalMissing,
            CaptureError::NoScreenCast(_) => Health::NoScreenCast,
            CaptureError::DmabufOnly(_) => Health::DmabufOnly,
            CaptureError::RedactionUnavailable(_) => Health::RedactionUnavailable,
            other => Health::Backend(other.to_string()),
        }
    }
}
