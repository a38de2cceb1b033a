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

use crate::{CaptureError, Consent, Pipeline, ScreenSource, SourceChoice, Thumbnail};

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
        self.on_blocking(|pipeline, source| pipeline.capture(source))
            .await
            .and_then(|r| r)
    }

    /// [`ScreenSource::prepare`] on the blocking pool (it may wait for a desktop dialog).
    pub async fn prepare(&mut self) -> Result<(), CaptureError> {
        self.on_blocking(|_, source| source.prepare())
            .await
            .and_then(|r| r)
    }

    /// [`ScreenSource::release`] on the blocking pool.
    pub async fn release(&mut self) {
        let _ = self.on_blocking(|_, source| source.release()).await;
    }

    /// Which source this capturer uses and why; `None` if it was lost.
    pub fn choice(&self) -> Option<SourceChoice> {
        self.inner.as_ref().map(|(_, s)| s.choice())
    }

    /// Where the desktop's permission stands; `None` if the source was lost.
    pub fn consent(&self) -> Option<Consent> {
        self.inner.as_ref().map(|(_, s)| s.consent())
    }

    async fn on_blocking<T, F>(&mut self, f: F) -> Result<T, CaptureError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Pipeline, &mut S) -> T + Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| CaptureError::Backend(format!("no tokio runtime: {e}")))?;
        let (mut pipeline, mut source) = self.inner.take().ok_or_else(|| {
            CaptureError::Backend("capturer lost its source in an earlier capture".into())
        })?;
        let joined = runtime
            .spawn_blocking(move || {
                let result = f(&mut pipeline, &mut source);
                (pipeline, source, result)
            })
            .await;
        match joined {
            Ok((pipeline, source, result)) => {
                self.inner = Some((pipeline, source));
                Ok(result)
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
