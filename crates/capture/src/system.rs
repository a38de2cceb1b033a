//! The source the engine captures with: the one [`SourceChoice::from_env`] picks for this
//! session, behind one type.
//!
//! Design: on X11, Windows and macOS it is [`XcapSource`]. On Wayland it is the ScreenCast
//! portal, opened lazily: [`ScreenSource::prepare`] opens the session (the desktop may show
//! its dialog), [`ScreenSource::release`] closes it, so the engine holds a session — and the
//! desktop shows its screencast indicator — only while a timer runs and capture is on. A
//! capture with no session opens one first.
//!
//! A failed open (a refused dialog, no portal) is kept and returned by every capture until the
//! next `release`: the dialog is not shown again at every capture moment; turning capture off
//! and on (or stopping and starting the timer), or the user's "Ask again", asks again.
//!
//! Each grant's restore token is handed to the [`TokenSink`] given at construction, which
//! stores it in place of the previous one (tokens are single-use); the next open passes it.
//! A declined open that passed a token means the grant was revoked on the desktop (the portal
//! showed its dialog again): the token is forgotten (the sink gets `None`), so after "Ask
//! again" the app is back to first-run consent ([`Consent::NotAsked`]).

use std::sync::Arc;

#[cfg(target_os = "linux")]
use crate::SourceKind;
use crate::{CaptureError, Consent, Frame, ScreenSource, SourceChoice, XcapSource};

/// Where a new restore token goes (the keyring or a private file), replacing the old one;
/// `None`: forget the stored one (the grant was revoked).
pub type TokenSink = Arc<dyn Fn(Option<&str>) + Send + Sync>;

/// The engine's screen source for this session.
pub struct SystemSource {
    choice: SourceChoice,
    inner: Inner,
}

enum Inner {
    Xcap(XcapSource),
    #[cfg(target_os = "linux")]
    Portal(LazyPortal),
}

impl std::fmt::Debug for SystemSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemSource")
            .field("choice", &self.choice)
            .finish_non_exhaustive()
    }
}

impl SystemSource {
    /// The source [`SourceChoice::from_env`] picks. `restore_token` is the stored token of the
    /// previous portal grant, if any; `sink` receives each new one. Call inside a tokio
    /// runtime (the portal's D-Bus calls run on it).
    pub fn from_env(restore_token: Option<String>, sink: TokenSink) -> SystemSource {
        SystemSource::with_choice(SourceChoice::from_env(), restore_token, sink, None)
    }

    /// The source for `choice`; `bus_address` replaces the session bus (tests).
    pub fn with_choice(
        choice: SourceChoice,
        restore_token: Option<String>,
        sink: TokenSink,
        bus_address: Option<String>,
    ) -> SystemSource {
        let inner = match choice.kind {
            #[cfg(target_os = "linux")]
            SourceKind::WaylandPortal => Inner::Portal(LazyPortal {
                options: crate::PortalOptions {
                    restore_token,
                    bus_address,
                },
                sink,
                state: PortalState::Closed,
                runtime: tokio::runtime::Handle::try_current().ok(),
            }),
            _ => {
                let _ = (restore_token, sink, bus_address);
                Inner::Xcap(XcapSource::new())
            }
        };
        SystemSource { choice, inner }
    }

    /// Whether a portal session is open now (always false for other sources).
    pub fn session_open(&self) -> bool {
        match &self.inner {
            #[cfg(target_os = "linux")]
            Inner::Portal(p) => matches!(p.state, PortalState::Open(_)),
            Inner::Xcap(_) => false,
        }
    }
}

impl ScreenSource for SystemSource {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        match &mut self.inner {
            Inner::Xcap(x) => x.capture_all(),
            #[cfg(target_os = "linux")]
            Inner::Portal(p) => {
                p.prepare()?;
                match &mut p.state {
                    PortalState::Open(source) => source.capture_all(),
                    _ => Err(CaptureError::Backend(
                        "the screencast session is not open".into(),
                    )),
                }
            }
        }
    }

    fn windows(&mut self) -> Result<Vec<crate::WindowInfo>, CaptureError> {
        match &mut self.inner {
            Inner::Xcap(x) => x.windows(),
            #[cfg(target_os = "linux")]
            Inner::Portal(_) => Err(CaptureError::RedactionUnavailable(
                "a Wayland session gives no window geometry".into(),
            )),
        }
    }

    fn prepare(&mut self) -> Result<(), CaptureError> {
        match &mut self.inner {
            Inner::Xcap(_) => Ok(()),
            #[cfg(target_os = "linux")]
            Inner::Portal(p) => p.prepare(),
        }
    }

    fn release(&mut self) {
        match &mut self.inner {
            Inner::Xcap(_) => {}
            #[cfg(target_os = "linux")]
            Inner::Portal(p) => p.release(),
        }
    }

    fn choice(&self) -> SourceChoice {
        self.choice
    }

    fn consent(&self) -> Consent {
        match &self.inner {
            Inner::Xcap(_) => Consent::NotNeeded,
            #[cfg(target_os = "linux")]
            Inner::Portal(p) => p.consent(),
        }
    }
}

#[cfg(target_os = "linux")]
struct LazyPortal {
    options: crate::PortalOptions,
    sink: TokenSink,
    state: PortalState,
    runtime: Option<tokio::runtime::Handle>,
}

#[cfg(target_os = "linux")]
enum PortalState {
    Closed,
    Open(crate::PortalSource),
    Failed(CaptureError),
}

#[cfg(target_os = "linux")]
impl LazyPortal {
    /// Opens the session unless it is open or the last open failed. Runs on a blocking
    /// thread (the scheduler's), waiting on the runtime for the portal's answers.
    fn prepare(&mut self) -> Result<(), CaptureError> {
        match &self.state {
            PortalState::Open(_) => return Ok(()),
            PortalState::Failed(e) => return Err(e.clone()),
            PortalState::Closed => {}
        }
        let runtime = self.runtime.clone().ok_or_else(|| {
            CaptureError::Backend("the portal source was made outside a tokio runtime".into())
        })?;
        let options = self.options.clone();
        match runtime.block_on(crate::PortalSource::open(options)) {
            Ok((source, grant)) => {
                if let Some(token) = grant.restore_token {
                    (self.sink)(Some(&token));
                    self.options.restore_token = Some(token);
                }
                self.state = PortalState::Open(source);
                Ok(())
            }
            Err(e) => {
                if matches!(e, CaptureError::ConsentRefused(_))
                    && self.options.restore_token.take().is_some()
                {
                    // The portal asked although a grant was stored: it was revoked.
                    (self.sink)(None);
                }
                self.state = PortalState::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Closes an open session, or forgets a failed open (so the next one asks again).
    fn release(&mut self) {
        if let PortalState::Open(source) = std::mem::replace(&mut self.state, PortalState::Closed)
            && let Some(runtime) = &self.runtime
        {
            runtime.block_on(source.close());
        }
    }

    fn consent(&self) -> Consent {
        match &self.state {
            PortalState::Open(_) => Consent::Granted,
            PortalState::Failed(CaptureError::ConsentRefused(_)) => Consent::Refused,
            PortalState::Closed | PortalState::Failed(_) => {
                if self.options.restore_token.is_some() {
                    Consent::Granted
                } else {
                    Consent::NotAsked
                }
            }
        }
    }
}
