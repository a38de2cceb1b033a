//! The Wayland [`ScreenSource`]: the xdg-desktop-portal ScreenCast interface, frames read in
//! memory through PipeWire (Linux).
//!
//! Design:
//! - [`PortalSource::open`] asks the portal for a screencast of **monitors only**, several
//!   allowed, cursor hidden, persisted **until revoked**; it passes the restore token of the
//!   previous grant when there is one, so the desktop can restore the grant without a dialog.
//!   Tokens are single-use: [`PortalGrant::restore_token`] is the one to store for next time,
//!   replacing the old one.
//! - The portal's PipeWire remote is handed to [`crate::pipewire_frames`], one stream per
//!   monitor, placed at the position and size the portal reports. Each capture copies one
//!   frame per monitor out of shared memory into the usual pipeline.
//! - The session stays open for the life of the source (the desktop's screencast indicator
//!   shows it); [`PortalSource::close`] ends it, and dropping the source ends it too (the
//!   stream thread stops and the D-Bus connection closes, which makes the portal close the
//!   session).
//!
//! Fail closed (PRODUCT R11, R12): a refused dialog is [`CaptureError::ConsentRefused`]; no
//! portal on the bus is [`CaptureError::PortalMissing`]; a portal without ScreenCast is
//! [`CaptureError::NoScreenCast`]; a compositor offering only DMA-BUF frames is
//! [`CaptureError::DmabufOnly`]. None of them falls back to anything else, and nothing here
//! writes a file.
//!
//! Known gaps: monitors the user adds after the grant are not captured until the session is
//! opened again; HiDPI scale comes from the stream's pixel size against the portal's logical
//! size (as for every other source).

use std::time::Duration;

use ashpd::PortalError;
use ashpd::desktop::screencast::{CursorMode, Screencast, SelectSourcesOptions, SourceType};
use ashpd::desktop::{CreateSessionOptions, PersistMode, ResponseError, Session};

use crate::pipewire_frames::{PipewireFrames, StreamSpec};
use crate::{CaptureError, Frame, Rect, ScreenSource};

/// How long a capture waits for a stream's first frame.
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(3);

/// What to ask the portal with.
#[derive(Debug, Clone, Default)]
pub struct PortalOptions {
    /// The restore token of the previous grant, if any (single use).
    pub restore_token: Option<String>,
    /// A D-Bus address to use instead of the session bus (tests, embedded sessions).
    pub bus_address: Option<String>,
}

/// What the portal granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalGrant {
    /// The token to store for the next session (replaces the one passed in), when the portal
    /// persisted the grant.
    pub restore_token: Option<String>,
    /// The monitors granted, as the portal placed them.
    pub monitors: Vec<Rect>,
}

/// A running ScreenCast session and its PipeWire streams.
pub struct PortalSource {
    frames: PipewireFrames,
    session: Option<(Screencast, Session<Screencast>)>,
}

impl std::fmt::Debug for PortalSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalSource")
            .field("frames", &self.frames)
            .field("open", &self.session.is_some())
            .finish()
    }
}

impl PortalSource {
    /// Opens a ScreenCast session (showing the desktop's dialog unless the restore token
    /// restores the grant) and starts reading its streams.
    ///
    /// Errors: `ConsentRefused`, `PortalMissing`, `NoScreenCast`, `NoMonitor` (nothing
    /// granted), `Backend` for any other portal or PipeWire failure.
    pub async fn open(options: PortalOptions) -> Result<(Self, PortalGrant), CaptureError> {
        let connection = match &options.bus_address {
            Some(address) => zbus::connection::Builder::address(address.as_str())
                .map_err(|e| CaptureError::PortalMissing(format!("bad bus address: {e}")))?
                .build()
                .await
                .map_err(|e| CaptureError::PortalMissing(format!("no session bus: {e}")))?,
            None => zbus::Connection::session()
                .await
                .map_err(|e| CaptureError::PortalMissing(format!("no session bus: {e}")))?,
        };
        let screencast = Screencast::with_connection(connection)
            .await
            .map_err(map_portal_error)?;
        let session = screencast
            .create_session(CreateSessionOptions::default())
            .await
            .map_err(map_portal_error)?;
        let opened = start(&screencast, &session, &options).await;
        let (streams, token) = match opened {
            Ok(v) => v,
            Err(e) => {
                let _ = session.close().await;
                return Err(e);
            }
        };
        let remote = match screencast
            .open_pipe_wire_remote(&session, Default::default())
            .await
        {
            Ok(fd) => fd,
            Err(e) => {
                let _ = session.close().await;
                return Err(map_portal_error(e));
            }
        };
        let monitors = streams.iter().map(|s| s.bounds).collect();
        let frames =
            match tokio::task::spawn_blocking(move || PipewireFrames::start(remote, streams)).await
            {
                Ok(Ok(frames)) => frames,
                Ok(Err(e)) => {
                    let _ = session.close().await;
                    return Err(e);
                }
                Err(e) => {
                    let _ = session.close().await;
                    return Err(CaptureError::Backend(format!("PipeWire start failed: {e}")));
                }
            };
        Ok((
            PortalSource {
                frames,
                session: Some((screencast, session)),
            },
            PortalGrant {
                restore_token: token,
                monitors,
            },
        ))
    }

    /// Ends the session: the streams stop and the portal closes the screencast.
    pub async fn close(mut self) {
        if let Some((_proxy, session)) = self.session.take() {
            let _ = session.close().await;
        }
    }
}

async fn start(
    screencast: &Screencast,
    session: &Session<Screencast>,
    options: &PortalOptions,
) -> Result<(Vec<StreamSpec>, Option<String>), CaptureError> {
    let select = SelectSourcesOptions::default()
        .set_sources(Some(SourceType::Monitor.into()))
        .set_multiple(true)
        .set_cursor_mode(CursorMode::Hidden)
        .set_persist_mode(PersistMode::ExplicitlyRevoked)
        .set_restore_token(options.restore_token.as_deref());
    screencast
        .select_sources(session, select)
        .await
        .map_err(map_portal_error)?
        .response()
        .map_err(map_portal_error)?;
    let response = screencast
        .start(session, None, Default::default())
        .await
        .map_err(map_portal_error)?
        .response()
        .map_err(map_portal_error)?;
    let specs = place(
        response
            .streams()
            .iter()
            .map(|s| (s.pipe_wire_node_id(), s.position(), s.size())),
    );
    if specs.is_empty() {
        return Err(CaptureError::NoMonitor);
    }
    Ok((specs, response.restore_token().map(str::to_owned)))
}

/// Places the portal's streams on the desktop, one per monitor, in the order given: each at
/// the position and size the portal reports. A stream without a position stands right of
/// everything placed before it, top-aligned; a missing or negative size becomes zero ("the
/// stream's pixel size", see [`crate::pipewire_frames`]). The pipeline then composes the
/// monitors by these rectangles ([`crate::layout`]).
fn place(
    streams: impl IntoIterator<Item = (u32, Option<(i32, i32)>, Option<(i32, i32)>)>,
) -> Vec<StreamSpec> {
    let mut specs = Vec::new();
    let mut next_x = 0i32;
    for (node_id, position, size) in streams {
        let (w, h) = size.unwrap_or((0, 0));
        let (width, height) = (u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0));
        let (x, y) = position.unwrap_or((next_x, 0));
        next_x = next_x.max(x.saturating_add(i32::try_from(width).unwrap_or(i32::MAX)));
        specs.push(StreamSpec {
            node_id,
            bounds: Rect::new(x, y, width, height),
        });
    }
    specs
}

/// Maps ashpd's failures onto the capture taxonomy.
fn map_portal_error(error: ashpd::Error) -> CaptureError {
    let bus_error = match &error {
        ashpd::Error::Zbus(e) | ashpd::Error::Portal(PortalError::ZBus(e)) => dbus_error_name(e),
        _ => None,
    };
    match (error, bus_error.as_deref()) {
        (ashpd::Error::Response(ResponseError::Cancelled), _) => CaptureError::ConsentRefused(
            "the screen sharing request was declined on the desktop".into(),
        ),
        (ashpd::Error::PortalNotFound(interface), _) => {
            CaptureError::NoScreenCast(format!("the desktop portal has no {interface}"))
        }
        (
            other,
            Some(
                "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner",
            ),
        ) => CaptureError::PortalMissing(format!(
            "no xdg-desktop-portal on the session bus ({other})"
        )),
        (
            other,
            Some(
                "org.freedesktop.DBus.Error.UnknownMethod"
                | "org.freedesktop.DBus.Error.UnknownInterface"
                | "org.freedesktop.DBus.Error.UnknownObject",
            ),
        ) => CaptureError::NoScreenCast(format!("the desktop portal has no ScreenCast ({other})")),
        (other, _) => CaptureError::Backend(format!("screencast portal: {other}")),
    }
}

/// The D-Bus error name inside a zbus error, if it carries one.
fn dbus_error_name(error: &zbus::Error) -> Option<String> {
    use zbus::DBusError;
    match error {
        zbus::Error::MethodError(name, _, _) => Some(name.as_str().to_owned()),
        zbus::Error::FDO(fdo) => Some(fdo.name().as_str().to_owned()),
        _ => None,
    }
}

impl ScreenSource for PortalSource {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        if self.session.is_none() {
            return Err(CaptureError::Backend(
                "the screencast session is closed".into(),
            ));
        }
        self.frames.grab(FIRST_FRAME_WAIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout;

    #[test]
    fn streams_stand_where_the_portal_places_them() {
        // A 1280x720 monitor with an 800x600 one right of it, bottom-aligned, and one left of
        // the origin above them.
        let specs = place([
            (40, Some((0, 120)), Some((1280, 720))),
            (41, Some((1280, 240)), Some((800, 600))),
            (42, Some((-1024, 0)), Some((1024, 768))),
        ]);
        let bounds: Vec<Rect> = specs.iter().map(|s| s.bounds).collect();
        assert_eq!(
            bounds,
            [
                Rect::new(0, 120, 1280, 720),
                Rect::new(1280, 240, 800, 600),
                Rect::new(-1024, 0, 1024, 768)
            ]
        );
        assert_eq!(
            specs.iter().map(|s| s.node_id).collect::<Vec<_>>(),
            [40, 41, 42]
        );
        // Composed by those positions: one scale, relative to the bounding box's corner.
        let plan = layout::plan(&bounds, 640).unwrap();
        assert_eq!(plan.scale, 0.5);
        assert_eq!((plan.width, plan.height), (1552, 420));
        let at: Vec<(u32, u32, u32, u32)> = plan
            .placements
            .iter()
            .map(|p| (p.x, p.y, p.width, p.height))
            .collect();
        assert_eq!(
            at,
            [(512, 60, 640, 360), (1152, 120, 400, 300), (0, 0, 512, 384)]
        );
    }

    #[test]
    fn streams_without_a_position_go_side_by_side() {
        let specs = place([
            (1, None, Some((1920, 1080))),
            (2, None, Some((1280, 1024))),
            (3, None, None),
        ]);
        let bounds: Vec<Rect> = specs.iter().map(|s| s.bounds).collect();
        assert_eq!(
            bounds,
            [
                Rect::new(0, 0, 1920, 1080),
                Rect::new(1920, 0, 1280, 1024),
                Rect::new(3200, 0, 0, 0)
            ]
        );
        assert_eq!(
            place([(1, Some((5, 5)), Some((-1, 10)))])[0].bounds,
            Rect::new(5, 5, 0, 10)
        );
    }
}
