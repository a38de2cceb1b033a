//! Shotclock capture: every monitor at one instant → one small, irreversibly blurred WebP
//! thumbnail, in milliseconds, in memory (PRODUCT R10, R11, R12).
//!
//! ```text
//! ScreenSource::capture_all ──► Vec<Frame> (full resolution, backend byte order)
//!        │ (XcapSource | FakeSource)
//!        ▼
//! Pipeline::process: layout ─► whole-ratio block average or banded SIMD resize, into an RGB composite
//!                    (each frame dropped right after) ─► health ─► SIMD blur ─► WebP
//!                    ──► Thumbnail { webp, width, height, health, timings }
//! ```
//!
//! Modules:
//! - [`source`]: the [`ScreenSource`] facade and [`Frame`]; [`xcap_source`]: the real one
//!   (X11, Windows, macOS); [`portal_source`] + [`pipewire_frames`]: Wayland through the
//!   ScreenCast portal, in memory (Linux); [`fake`]: a scripted one; [`synthetic`]:
//!   desktop-like test frames.
//! - [`choice`]: which source a session gets and why (X11 vs the Wayland portal);
//!   [`system`]: that source behind one type, the portal session opened by `prepare` and
//!   closed by `release`.
//! - [`layout`]: where each monitor lands (≤ 640 px per monitor, one scale for the desktop);
//!   [`reduce`]: the one-pass downscale for whole-number ratios.
//! - [`pipeline`]: the transform and its reusable buffers; [`encode`]: WebP in, bounded
//!   decode out; [`health`]: the per-attempt classification with stable codes;
//!   [`scale`]: a stored thumbnail again at the width a list shows it.
//! - [`capturer`]: the async entry point (runs on tokio's blocking pool).
//!
//! Invariants (privacy): the full-resolution frame only ever lives in memory; it is freed as
//! soon as its monitor is resized; the blur runs after the downscale; only the encoded
//! thumbnail leaves this crate. The crate never writes files, prints or panics.
//!
//! Known gaps: see [`xcap_source`] (its Wayland path is refused because xcap writes a PNG
//! there — use [`portal_source`]; macOS missing permission not detected) and [`pipeline`].

pub mod capturer;
pub mod choice;
pub mod encode;
pub mod error;
pub mod fake;
pub mod health;
pub mod layout;
pub mod pipeline;
#[cfg(target_os = "linux")]
pub mod pipewire_frames;
#[cfg(target_os = "linux")]
pub mod portal_source;
pub mod redact;
pub mod reduce;
pub mod scale;
pub mod source;
pub mod synthetic;
pub mod system;
#[cfg(target_os = "linux")]
pub mod x11_windows;
pub mod xcap_source;

pub use capturer::Capturer;
pub use choice::{ChoiceReason, Consent, SourceChoice, SourceKind};
pub use encode::{decode_thumbnail, encode_webp_rgb};
pub use error::CaptureError;
pub use fake::FakeSource;
pub use health::{HasHealth, Health};
pub use layout::{Layout, Placement};
pub use pipeline::{CaptureOptions, Pipeline, Rendered, StepTimings, Thumbnail};
#[cfg(target_os = "linux")]
pub use portal_source::{PortalGrant, PortalOptions, PortalSource};
pub use redact::{BlockRule, Blocklist, RuleField, WindowInfo, WindowRect};
pub use scale::scaled_webp;
pub use source::{Frame, PixelLayout, Rect, ScreenSource};
pub use system::{SystemSource, TokenSink};
pub use xcap_source::XcapSource;
