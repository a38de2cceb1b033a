//! The screen-source facade: "give me every monitor, now".
//!
//! Design:
//! - [`ScreenSource`] is deliberately **synchronous**. Every real backend (X11 `GetImage`,
//!   Wayland portals over D-Bus, CoreGraphics, GDI/DXGI) is a blocking call, and the pixels are
//!   then processed by CPU-bound code (resize, blur, encode) that also must not run on an async
//!   worker. So the whole "capture + process" unit runs on one blocking thread: async callers
//!   use [`crate::Capturer`], which moves pipeline and source onto
//!   `tokio::task::spawn_blocking`; sync callers (tests, benches, tools) call
//!   [`crate::Pipeline::capture`] directly. Keeping the trait sync keeps fakes trivial and
//!   avoids an async-trait dependency.
//! - A [`Frame`] is one monitor: where it stands on the virtual desktop ([`Rect`], in the
//!   backend's desktop units — pixels on X11/Windows, points on macOS) and its pixels in the
//!   layout the backend delivered ([`PixelLayout::Rgba`] for xcap, `Bgra` for native
//!   backends). The pixel size may differ from the desktop size (HiDPI); the pipeline resizes
//!   the pixels into the monitor's desktop rectangle, so layout and resolution are independent.
//! - Frames own their buffer (`Vec<u8>`, e.g. xcap's `RgbaImage::into_raw`, no copy) so the
//!   pipeline can drop each one the moment it has been resized.
//!
//! Invariants: a `Frame` always holds exactly `width * height * 4` bytes, tightly packed, with
//! non-zero pixel and desktop sizes (checked by [`Frame::new`]). `Debug` never prints pixels.

use std::fmt;

use image::RgbaImage;

use crate::redact::WindowInfo;
use crate::{CaptureError, Consent, SourceChoice};

/// Byte order of a 4-byte pixel as delivered by the backend. Alpha is ignored (screens are
/// opaque).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// R, G, B, A (xcap, every platform).
    Rgba,
    /// B, G, R, A (native Windows/macOS/PipeWire buffers).
    Bgra,
}

/// A rectangle on the virtual desktop. `x`/`y` may be negative (a monitor left of or above the
/// primary one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge in desktop units.
    pub x: i32,
    /// Top edge in desktop units.
    pub y: i32,
    /// Width in desktop units (> 0).
    pub width: u32,
    /// Height in desktop units (> 0).
    pub height: u32,
}

impl Rect {
    /// A rectangle at (`x`, `y`) of `width` × `height`.
    pub const fn new(x: i32, y: i32, width: u32, height: u32) -> Self {
        Rect {
            x,
            y,
            width,
            height,
        }
    }
}

/// One monitor's pixels at the moment of capture, and where that monitor stands.
#[derive(Clone)]
pub struct Frame {
    bounds: Rect,
    width: u32,
    height: u32,
    layout: PixelLayout,
    data: Vec<u8>,
}

impl Frame {
    /// A frame of `width` × `height` pixels in `layout`, for the monitor at `bounds`.
    ///
    /// Fails with [`CaptureError::InvalidFrame`] when a size is zero or `data` is not exactly
    /// `width * height * 4` bytes.
    pub fn new(
        bounds: Rect,
        width: u32,
        height: u32,
        layout: PixelLayout,
        data: Vec<u8>,
    ) -> Result<Self, CaptureError> {
        if width == 0 || height == 0 || bounds.width == 0 || bounds.height == 0 {
            return Err(CaptureError::InvalidFrame(format!(
                "zero size: pixels {width}x{height}, desktop {}x{}",
                bounds.width, bounds.height
            )));
        }
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(4));
        if expected != Some(data.len()) {
            return Err(CaptureError::InvalidFrame(format!(
                "{width}x{height} pixels need {} bytes, got {}",
                expected.map_or_else(|| "too many".to_string(), |n| n.to_string()),
                data.len()
            )));
        }
        Ok(Frame {
            bounds,
            width,
            height,
            layout,
            data,
        })
    }

    /// A frame from an RGBA image (as xcap returns it) whose pixels map 1:1 onto the desktop,
    /// with its top-left corner at (`x`, `y`). Takes the buffer over without copying.
    pub fn from_rgba_image(x: i32, y: i32, image: RgbaImage) -> Result<Self, CaptureError> {
        let (width, height) = image.dimensions();
        Frame::new(
            Rect::new(x, y, width, height),
            width,
            height,
            PixelLayout::Rgba,
            image.into_raw(),
        )
    }

    /// A frame from an RGBA image for a monitor at `bounds` (the image may be larger than
    /// `bounds` on HiDPI screens). Takes the buffer over without copying.
    pub fn from_rgba_image_at(bounds: Rect, image: RgbaImage) -> Result<Self, CaptureError> {
        let (width, height) = image.dimensions();
        Frame::new(bounds, width, height, PixelLayout::Rgba, image.into_raw())
    }

    /// Where the monitor stands on the virtual desktop.
    pub fn bounds(&self) -> Rect {
        self.bounds
    }

    /// Pixel width of the captured image.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Pixel height of the captured image.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Byte order of the pixels.
    pub fn layout(&self) -> PixelLayout {
        self.layout
    }

    /// The packed pixels, `width * height * 4` bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Mutable access to the packed pixels (synthetic frames, tests).
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Size of the pixel buffer in bytes.
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("bounds", &self.bounds)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("layout", &self.layout)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// Captures every monitor at (as close as the backend allows to) one instant.
///
/// Contract for implementors:
/// - return one [`Frame`] per monitor, captured back to back, or an error;
/// - return [`CaptureError::NoMonitor`] rather than an empty list when there is no monitor
///   (the pipeline also treats an empty list as `NoMonitor`);
/// - return [`CaptureError::PermissionDenied`] when the OS refuses the capture;
/// - never write pixels to disk (PRODUCT R11);
/// - it may block: call it from a blocking thread (see the module docs).
pub trait ScreenSource {
    /// Captures all monitors now.
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError>;

    /// Readies the source for captures to come (opens a screencast session, which may show
    /// the desktop's permission dialog). Called when capture turns on; sources without a
    /// session have nothing to do.
    fn prepare(&mut self) -> Result<(), CaptureError> {
        Ok(())
    }

    /// Ends any session [`ScreenSource::prepare`] opened, and forgets a failed open (a declined
    /// dialog): the next `prepare` or capture asks again. Called when capture turns off, and
    /// when the user asks for the dialog again.
    fn release(&mut self) {}

    /// The windows on screen with their desktop rectangles, for blocked-window redaction
    /// ([`crate::redact`]). Called only while a blocklist is in force, just before and just
    /// after [`ScreenSource::capture_all`]. A source that cannot list windows answers
    /// [`CaptureError::RedactionUnavailable`] (the default), and the capture fails closed.
    fn windows(&mut self) -> Result<Vec<WindowInfo>, CaptureError> {
        Err(CaptureError::RedactionUnavailable(
            "this screen source cannot list windows".into(),
        ))
    }

    /// Which source this is and why it was chosen.
    fn choice(&self) -> SourceChoice {
        SourceChoice::GIVEN
    }

    /// Where the desktop's permission to capture stands.
    fn consent(&self) -> Consent {
        Consent::NotNeeded
    }
}

impl<S: ScreenSource + ?Sized> ScreenSource for &mut S {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        (**self).capture_all()
    }
    fn prepare(&mut self) -> Result<(), CaptureError> {
        (**self).prepare()
    }
    fn release(&mut self) {
        (**self).release()
    }
    fn windows(&mut self) -> Result<Vec<WindowInfo>, CaptureError> {
        (**self).windows()
    }
    fn choice(&self) -> SourceChoice {
        (**self).choice()
    }
    fn consent(&self) -> Consent {
        (**self).consent()
    }
}

impl<S: ScreenSource + ?Sized> ScreenSource for Box<S> {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        (**self).capture_all()
    }
    fn prepare(&mut self) -> Result<(), CaptureError> {
        (**self).prepare()
    }
    fn release(&mut self) {
        (**self).release()
    }
    fn windows(&mut self) -> Result<Vec<WindowInfo>, CaptureError> {
        (**self).windows()
    }
    fn choice(&self) -> SourceChoice {
        (**self).choice()
    }
    fn consent(&self) -> Consent {
        (**self).consent()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_validates_sizes() {
        let ok = Frame::new(Rect::new(0, 0, 2, 2), 2, 2, PixelLayout::Rgba, vec![0; 16]);
        assert!(ok.is_ok());
        let short = Frame::new(Rect::new(0, 0, 2, 2), 2, 2, PixelLayout::Rgba, vec![0; 15]);
        assert!(matches!(short, Err(CaptureError::InvalidFrame(_))));
        let zero = Frame::new(Rect::new(0, 0, 0, 2), 2, 2, PixelLayout::Rgba, vec![0; 16]);
        assert!(matches!(zero, Err(CaptureError::InvalidFrame(_))));
        let debug = format!("{:?}", ok.unwrap());
        assert!(debug.contains("bytes: 16"), "{debug}");
    }
}
