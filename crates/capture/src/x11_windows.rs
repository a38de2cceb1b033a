//! The windows on an X11 screen, with their geometry, for blocked-window redaction
//! ([`crate::redact`]).
//!
//! Design (x11rb, pure Rust, one connection kept between listings):
//! 1. A window manager must be running: the root's `_NET_SUPPORTING_WM_CHECK` names a window
//!    whose own property names itself (EWMH). Without one there is no reliable list of
//!    application windows, and the listing fails ([`CaptureError::RedactionUnavailable`]).
//! 2. The manager's list (`_NET_CLIENT_LIST`) is cross-checked with the full window tree
//!    (`QueryTree` of the root): every **viewable** child of the root is one on-screen
//!    window, whether the manager lists it or not. Each listed client is walked up to its
//!    top-level ancestor (the manager's frame), so the frame's rectangle — title bar
//!    included, which shows the title — is what gets blanked, named after its client.
//!    Override-redirect children (menus, tooltips, which no manager lists) are popups.
//! 3. Names: `WM_CLASS` (instance and class), `_NET_WM_NAME` (UTF-8) or else `WM_NAME`, read
//!    from the top-level window itself or else from its client. A viewable window with neither
//!    is *unclassified* and matches any non-empty list.
//! 4. Geometry is the top-level's, which is relative to the root: desktop pixels.
//!
//! Requests are pipelined (all cookies of a step sent, then the replies read), so a listing
//! costs a handful of round trips whatever the number of windows. A window destroyed while it
//! is being read (an X error on it) is not on screen any more and is skipped; a broken
//! connection fails the listing and is dropped, the next listing reconnects. A listing slower
//! than [`LIST_DEADLINE`] fails too.
//!
//! x11rb has no per-request timeout, so each listing runs on a helper thread that is waited for
//! at most [`LIST_DEADLINE`] (a server that stops answering fails the listing on time); the
//! deadline is also checked between steps. Known gap: the grab that follows a listing has no
//! such bound.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::errors::ReplyError;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt, GetPropertyReply, MapState, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;

use crate::CaptureError;
use crate::redact::{WindowInfo, WindowRect};

/// The longest a listing may take before the capture fails closed.
pub const LIST_DEADLINE: Duration = Duration::from_millis(500);

/// Deepest client → frame nesting walked (reparenting managers use two or three levels).
const MAX_DEPTH: usize = 8;

struct Atoms {
    client_list: u32,
    wm_check: u32,
    net_wm_name: u32,
    utf8: u32,
}

struct Conn {
    conn: RustConnection,
    root: Window,
    atoms: Atoms,
}

/// Lists X11 windows on the display named by `DISPLAY` (or the one given).
#[derive(Default)]
pub struct X11Windows {
    display: Option<String>,
    conn: Option<Conn>,
}

impl std::fmt::Debug for X11Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X11Windows")
            .field("display", &self.display)
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

fn unavailable(what: impl std::fmt::Display) -> CaptureError {
    CaptureError::RedactionUnavailable(what.to_string())
}

/// Maps a reply: an X error on the window means it is gone (`Ok(None)`); a connection error
/// fails the listing.
fn gone_or<T>(r: Result<T, ReplyError>) -> Result<Option<T>, CaptureError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ReplyError::X11Error(_)) => Ok(None),
        Err(e) => Err(unavailable(format!("X connection: {e}"))),
    }
}

impl X11Windows {
    /// Lists windows on `DISPLAY`.
    pub fn new() -> Self {
        X11Windows::default()
    }

    /// Lists windows on `display` (e.g. `":99"`).
    pub fn on_display(display: impl Into<String>) -> Self {
        X11Windows {
            display: Some(display.into()),
            conn: None,
        }
    }

    /// Every viewable top-level window, bottom to top. Fails with
    /// [`CaptureError::RedactionUnavailable`] when there is no display, no window manager,
    /// the connection broke, or the listing took longer than [`LIST_DEADLINE`].
    ///
    /// The connection and the listing run on a helper thread that is waited for at most
    /// [`LIST_DEADLINE`]: an X server that stops answering mid-request (x11rb has no
    /// per-request timeout) fails the listing on time. The stuck thread keeps the connection
    /// until the server answers or closes it; the next listing opens a new one.
    pub fn list(&mut self) -> Result<Vec<WindowInfo>, CaptureError> {
        let started = Instant::now();
        let display = self.display.clone();
        let conn = self.conn.take();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let work = move || {
            let conn = match conn {
                Some(c) => c,
                None => match connect(display.as_deref()) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send((None, Err(e)));
                        return;
                    }
                },
            };
            let result = list_on(&conn, started);
            let broken = matches!(&result, Err(CaptureError::RedactionUnavailable(m))
                if m.starts_with("X connection"));
            let _ = tx.send(((!broken).then_some(conn), result));
        };
        std::thread::Builder::new()
            .name("x11-windows".into())
            .spawn(work)
            .map_err(|e| unavailable(format!("cannot start the window listing: {e}")))?;
        match rx.recv_timeout(LIST_DEADLINE.saturating_sub(started.elapsed())) {
            Ok((conn, result)) => {
                self.conn = conn;
                result
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(unavailable(format!(
                "the X server did not answer within {LIST_DEADLINE:?}"
            ))),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(unavailable("the window listing stopped"))
            }
        }
    }
}

fn connect(display: Option<&str>) -> Result<Conn, CaptureError> {
    let (conn, screen) =
        x11rb::connect(display).map_err(|e| unavailable(format!("X connection: {e}")))?;
    let root = conn
        .setup()
        .roots
        .get(screen)
        .map(|s| s.root)
        .ok_or_else(|| unavailable("X server has no such screen"))?;
    let names: [&[u8]; 4] = [
        b"_NET_CLIENT_LIST",
        b"_NET_SUPPORTING_WM_CHECK",
        b"_NET_WM_NAME",
        b"UTF8_STRING",
    ];
    let cookies = names
        .iter()
        .map(|n| conn.intern_atom(false, n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unavailable(format!("X connection: {e}")))?;
    let mut atoms = Vec::with_capacity(4);
    for c in cookies {
        atoms.push(
            c.reply()
                .map_err(|e| unavailable(format!("X connection: {e}")))?
                .atom,
        );
    }
    Ok(Conn {
        conn,
        root,
        atoms: Atoms {
            client_list: atoms[0],
            wm_check: atoms[1],
            net_wm_name: atoms[2],
            utf8: atoms[3],
        },
    })
}

fn sent<T>(r: Result<T, x11rb::errors::ConnectionError>) -> Result<T, CaptureError> {
    r.map_err(|e| unavailable(format!("X connection: {e}")))
}

fn check_deadline(started: Instant) -> Result<(), CaptureError> {
    if started.elapsed() > LIST_DEADLINE {
        Err(unavailable(format!(
            "listing windows took longer than {LIST_DEADLINE:?}"
        )))
    } else {
        Ok(())
    }
}

fn first_window(reply: Option<GetPropertyReply>) -> Option<Window> {
    reply.and_then(|r| r.value32().and_then(|mut v| v.next()))
}

fn list_on(c: &Conn, started: Instant) -> Result<Vec<WindowInfo>, CaptureError> {
    let conn = &c.conn;
    let get = |w: Window, prop: u32, ty: u32| conn.get_property(false, w, prop, ty, 0, 4096);

    // 1. A window manager is running (EWMH check window pointing at itself).
    let check = first_window(gone_or(
        sent(get(c.root, c.atoms.wm_check, AtomEnum::WINDOW.into()))?.reply(),
    )?);
    let alive = match check {
        Some(w) => {
            first_window(gone_or(
                sent(get(w, c.atoms.wm_check, AtomEnum::WINDOW.into()))?.reply(),
            )?) == Some(w)
        }
        None => false,
    };
    if !alive {
        return Err(unavailable(
            "no window manager is running (no EWMH check window)",
        ));
    }

    // 2. The manager's list and the full tree, side by side.
    let list_cookie = sent(get(c.root, c.atoms.client_list, AtomEnum::WINDOW.into()))?;
    let tree_cookie = sent(conn.query_tree(c.root))?;
    let clients: Vec<Window> = gone_or(list_cookie.reply())?
        .and_then(|r| r.value32().map(|v| v.collect()))
        .unwrap_or_default();
    let top: Vec<Window> = gone_or(tree_cookie.reply())?
        .map(|t| t.children)
        .ok_or_else(|| unavailable("the root window tree cannot be read"))?;
    check_deadline(started)?;

    // 3. Which top-levels are on screen.
    let attr_cookies = top
        .iter()
        .map(|&w| sent(conn.get_window_attributes(w)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut viewable: Vec<(Window, bool)> = Vec::new();
    for (&w, cookie) in top.iter().zip(attr_cookies) {
        if let Some(a) = gone_or(cookie.reply())?
            && a.map_state == MapState::VIEWABLE
            && a.class != WindowClass::INPUT_ONLY
        {
            viewable.push((w, a.override_redirect));
        }
    }
    check_deadline(started)?;

    // 4. Each listed client's top-level ancestor (its frame), level by level.
    let mut owner: HashMap<Window, Window> = HashMap::new();
    let mut walking: Vec<(Window, Window)> = clients.iter().map(|&w| (w, w)).collect();
    for _ in 0..MAX_DEPTH {
        if walking.is_empty() {
            break;
        }
        let cookies = walking
            .iter()
            .map(|&(_, at)| sent(conn.query_tree(at)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut next = Vec::new();
        for (&(client, at), cookie) in walking.iter().zip(cookies) {
            let Some(tree) = gone_or(cookie.reply())? else {
                continue;
            };
            if tree.parent == c.root || tree.parent == x11rb::NONE {
                // `at` is a child of the root: the client's top-level.
                owner.entry(at).or_insert(client);
            } else {
                next.push((client, tree.parent));
            }
        }
        walking = next;
    }
    check_deadline(started)?;

    // 5. Geometry and names of every viewable top-level (and of its client).
    let mut rows = Vec::with_capacity(viewable.len());
    for &(w, popup) in &viewable {
        let client = owner.get(&w).copied();
        rows.push((
            w,
            popup,
            client,
            sent(conn.get_geometry(w))?,
            names_cookies(c, w)?,
            client.map(|cw| names_cookies(c, cw)).transpose()?,
        ));
    }
    let mut out = Vec::with_capacity(rows.len());
    for (w, popup, _client, geometry, own, of_client) in rows {
        let Some(g) = gone_or(geometry.reply())? else {
            continue;
        };
        let Some((mut classes, mut title)) = names_reply(own)? else {
            continue;
        };
        if let Some(cookies) = of_client
            && let Some((client_classes, client_title)) = names_reply(cookies)?
        {
            if classes.is_empty() {
                classes = client_classes;
            }
            if title.is_none() {
                title = client_title;
            }
        }
        let border = u32::from(g.border_width) * 2;
        out.push(WindowInfo {
            id: u64::from(w),
            rect: WindowRect {
                x: i32::from(g.x),
                y: i32::from(g.y),
                width: u32::from(g.width) + border,
                height: u32::from(g.height) + border,
            },
            classes,
            title,
            popup,
        });
    }
    check_deadline(started)?;
    Ok(out)
}

type PropCookie<'a> = x11rb::cookie::Cookie<'a, RustConnection, GetPropertyReply>;

fn names_cookies(c: &Conn, w: Window) -> Result<[PropCookie<'_>; 3], CaptureError> {
    let conn = &c.conn;
    Ok([
        sent(conn.get_property(false, w, AtomEnum::WM_CLASS, AtomEnum::STRING, 0, 1024))?,
        sent(conn.get_property(false, w, c.atoms.net_wm_name, c.atoms.utf8, 0, 1024))?,
        sent(conn.get_property(false, w, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 1024))?,
    ])
}

/// `(classes, title)`, or `None` when the window is gone.
#[allow(clippy::type_complexity)]
fn names_reply(
    [class, net_name, name]: [PropCookie<'_>; 3],
) -> Result<Option<(Vec<String>, Option<String>)>, CaptureError> {
    let (Some(class), Some(net_name), Some(name)) = (
        gone_or(class.reply())?,
        gone_or(net_name.reply())?,
        gone_or(name.reply())?,
    ) else {
        return Ok(None);
    };
    let classes: Vec<String> = class
        .value
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    let text = |r: &GetPropertyReply| {
        (!r.value.is_empty()).then(|| String::from_utf8_lossy(&r.value).into_owned())
    };
    let title = text(&net_name).or_else(|| text(&name));
    Ok(Some((classes, title)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An X server that accepts the connection and then never answers: the listing fails
    /// closed within the deadline instead of blocking the capture.
    #[test]
    fn a_server_that_never_answers_fails_the_listing_on_time() {
        // DISPLAY 127.0.0.1:N is TCP port 6000 + N: take a free one.
        let (listener, n) = (40..200)
            .find_map(|n| {
                std::net::TcpListener::bind(("127.0.0.1", 6000 + n))
                    .ok()
                    .map(|l| (l, n))
            })
            .expect("a free X port");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut windows = X11Windows::on_display(format!("127.0.0.1:{n}"));
            let started = Instant::now();
            let result = windows.list();
            let _ = tx.send((result, started.elapsed()));
        });
        // The kernel completes the connection from the listen backlog; nobody ever answers.
        let (result, took) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the listing never returned");
        assert!(
            matches!(&result, Err(CaptureError::RedactionUnavailable(m)) if m.contains("did not answer")),
            "{result:?}"
        );
        assert!(
            took < LIST_DEADLINE + Duration::from_millis(300),
            "{took:?}"
        );
        drop(listener);
    }
}
