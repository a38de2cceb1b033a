//! A fake [`ScreenSource`] for tests and benchmarks: any number of monitors, any sizes and
//! positions, any pixels (see [`crate::synthetic`]), or a scripted failure.
//!
//! Design: the fake keeps one template [`Frame`] per monitor and hands out fresh copies on
//! every capture, exactly like a real backend hands out fresh buffers, so the pipeline's
//! "consume and free each frame" path and its memory profile are the real ones. With zero
//! monitors it answers [`CaptureError::NoMonitor`], as the real backend does.

use crate::{CaptureError, Frame, ScreenSource, WindowInfo};

/// A scripted screen source.
#[derive(Debug, Clone, Default)]
pub struct FakeSource {
    monitors: Vec<Frame>,
    failure: Option<CaptureError>,
    captures: usize,
    windows: Option<Vec<WindowInfo>>,
    listings: usize,
}

impl FakeSource {
    /// A source with no monitor (captures fail with [`CaptureError::NoMonitor`]).
    pub fn new() -> Self {
        FakeSource::default()
    }

    /// A source with these monitors, in this order.
    pub fn with_frames(frames: Vec<Frame>) -> Self {
        FakeSource {
            monitors: frames,
            ..FakeSource::default()
        }
    }

    /// Adds a monitor showing `frame` (its bounds say where it stands).
    pub fn with_frame(mut self, frame: Frame) -> Self {
        self.monitors.push(frame);
        self
    }

    /// A source whose every capture fails with `error` (e.g. `PermissionDenied`).
    pub fn failing(error: CaptureError) -> Self {
        FakeSource {
            failure: Some(error),
            ..FakeSource::default()
        }
    }

    /// A source that lists these windows (without it, listing fails as with no window
    /// manager).
    pub fn with_windows(mut self, windows: Vec<WindowInfo>) -> Self {
        self.windows = Some(windows);
        self
    }

    /// How many window listings were asked for.
    pub fn listings(&self) -> usize {
        self.listings
    }

    /// How many captures were attempted.
    pub fn captures(&self) -> usize {
        self.captures
    }

    /// The monitors' template frames.
    pub fn monitors(&self) -> &[Frame] {
        &self.monitors
    }
}

impl ScreenSource for FakeSource {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        self.captures += 1;
        if let Some(error) = &self.failure {
            return Err(error.clone());
        }
        if self.monitors.is_empty() {
            return Err(CaptureError::NoMonitor);
        }
        Ok(self.monitors.clone())
    }

    fn windows(&mut self) -> Result<Vec<WindowInfo>, CaptureError> {
        self.listings += 1;
        self.windows.clone().ok_or_else(|| {
            CaptureError::RedactionUnavailable("the fake source lists no windows".into())
        })
    }
}
