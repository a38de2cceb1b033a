//! Running a capture from async code: [`Capturer`] moves the pipeline and the source onto
//! tokio's blocking pool for the duration of one capture.
//!
//! Why: screen grabs block (X11 round trips, D-Bus portals, CoreGraphics) and the transform is
//! a few milliseconds of CPU; neither may run on an async worker thread. Moving both owned
//! values into `spawn_blocking` and back avoids locks (`&mut` is enough) and keeps the
//! pipeline's buffers reused across captures.
//!
//! Invariant / known gap: if the capturing future is dropped mid-capture or the blocking task
//! panics, the pipeline and source are lost with it; every later call returns a
//! `backend_error` saying so, and the owner must build a new `Capturer`.

use crate::{CaptureError, Pipeline, ScreenSource, Thumbnail};

/// Owns a [`Pipeline`] and a [`ScreenSource`] and captures on a blocking thread.
#[derive(Debug)]
pub struct Capturer<S> {
    inner: Option<(Pipeline, S)>,
}

impl<S: ScreenSource + Send + 'static> Capturer<S> {
    /// A capturer from its parts.
    pub fn new(pipeline: Pipeline, source: S) -> Self {
        Capturer {
            inner: Some((pipeline, source)),
        }
    }

    /// Captures all monitors on tokio's blocking pool and returns the thumbnail.
    ///
    /// Errors: everything [`Pipeline::capture`] returns, plus `Backend` when called outside a
    /// tokio runtime, when the blocking task failed, or when an earlier capture was lost.
    pub async fn capture(&mut self) -> Result<Thumbnail, CaptureError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| CaptureError::Backend(format!("no tokio runtime: {e}")))?;
        let (mut pipeline, mut source) = self.inner.take().ok_or_else(|| {
            CaptureError::Backend("capturer lost its source in an earlier capture".into())
        })?;
        let joined = runtime
            .spawn_blocking(move || {
                let result = pipeline.capture(&mut source);
                (pipeline, source, result)
            })
            .await;
        match joined {
            Ok((pipeline, source, result)) => {
                self.inner = Some((pipeline, source));
                result
            }
            Err(e) => Err(CaptureError::Backend(format!("capture task failed: {e}"))),
        }
    }

    /// Mutable access to the pipeline (e.g. to change options); `None` if it was lost.
    pub fn pipeline_mut(&mut self) -> Option<&mut Pipeline> {
        self.inner.as_mut().map(|(p, _)| p)
    }

    /// Gives the parts back; `None` if they were lost.
    pub fn into_parts(self) -> Option<(Pipeline, S)> {
        self.inner
    }
}
