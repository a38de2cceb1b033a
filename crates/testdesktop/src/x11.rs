//! A private X11 desktop for live tests: its own `Xvfb` (display number chosen by the server
//! itself through `-displayfd`, so parallel test processes never collide), optionally the
//! `openbox` window manager, and real `xterm` windows. On any display: closing a window as a
//! window manager's close button does ([`close_window`]), and a window of another client that
//! takes the keyboard focus ([`FocusedWindow`]).
//!
//! Readiness is a condition polled against a deadline: Xvfb writes its display number once it
//! accepts connections; openbox is up when the root's EWMH check window names itself; a window
//! is up when a viewable window with its title is in the tree.

use std::process::{Child, Command, Stdio};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConfigureWindowAux, ConnectionExt, CreateWindowAux, EventMask,
    InputFocus, MapState, PropMode, Screen, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

use crate::{READY, first_line, poll};

/// One Xvfb server, killed on drop with everything started on it.
pub struct XDesktop {
    /// The display name, e.g. `":42"`.
    pub display: String,
    xvfb: Child,
    wm: Option<Child>,
    clients: Vec<Child>,
    conn: RustConnection,
    root: Window,
}

impl std::fmt::Debug for XDesktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XDesktop")
            .field("display", &self.display)
            .field("wm", &self.wm.is_some())
            .finish()
    }
}

/// A window found in the tree: its top-level (the manager's frame, or itself) and the
/// rectangle of that top-level on the desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// The client window (the one with the title).
    pub client: Window,
    /// Its child of the root.
    pub top: Window,
    /// Top-level x, y, width, height (border included).
    pub rect: (i32, i32, u32, u32),
}

fn spawn_display(program: &str, display: &str, args: &[&str], package: &str) -> Child {
    Command::new(program)
        .args(args)
        .env("DISPLAY", display)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start `{program}` (Debian package `{package}`, installed by `cargo xtask test`): {e}")
        })
}

impl XDesktop {
    /// Starts `Xvfb` with one `width`×`height`×24 screen and no window manager.
    pub fn start(width: u32, height: u32) -> XDesktop {
        let screen = format!("{width}x{height}x24");
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                &screen,
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Xvfb (Debian package `xvfb`): {e}"));
        let line = first_line(&mut xvfb);
        let number = line.trim().to_owned();
        if number.is_empty() {
            let _ = xvfb.kill();
            let _ = xvfb.wait();
            panic!("Xvfb did not report its display within {READY:?}");
        }
        let display = format!(":{number}");
        let (conn, screen) = x11rb::connect(Some(&display)).unwrap();
        let root = conn.setup().roots[screen].root;
        XDesktop {
            display,
            xvfb,
            wm: None,
            clients: Vec::new(),
            conn,
            root,
        }
    }

    /// Paints the root window one colour (`xsetroot -solid`).
    pub fn root_colour(&self, colour: &str) {
        let status = Command::new("xsetroot")
            .args(["-solid", colour])
            .env("DISPLAY", &self.display)
            .status()
            .expect("xsetroot (x11-xserver-utils)");
        assert!(status.success(), "xsetroot failed");
    }

    /// Starts `openbox` and waits until it manages the screen.
    pub fn start_wm(&mut self) {
        assert!(self.wm.is_none(), "the window manager already runs");
        self.wm = Some(spawn_display(
            "openbox",
            &self.display,
            &["--sm-disable"],
            "openbox",
        ));
        poll("openbox to manage the screen", READY, || {
            self.wm_running().then_some(())
        });
    }

    /// Stops the window manager and waits until its check window is gone.
    pub fn stop_wm(&mut self) {
        if let Some(mut wm) = self.wm.take() {
            let _ = wm.kill();
            let _ = wm.wait();
        }
        poll("the window manager to be gone", READY, || {
            (!self.wm_running()).then_some(())
        });
    }

    fn atom(&self, name: &str) -> u32 {
        self.conn
            .intern_atom(false, name.as_bytes())
            .unwrap()
            .reply()
            .unwrap()
            .atom
    }

    /// True when an EWMH window manager runs (its check window names itself).
    pub fn wm_running(&self) -> bool {
        let check = self.atom("_NET_SUPPORTING_WM_CHECK");
        let first = |w: Window| {
            self.conn
                .get_property(false, w, check, AtomEnum::WINDOW, 0, 1)
                .ok()?
                .reply()
                .ok()?
                .value32()?
                .next()
        };
        first(self.root).is_some_and(|w| first(w) == Some(w))
    }

    /// Opens `xterm -T title -bg colour -geometry geometry` and waits until it is on screen
    /// (and framed, when a window manager runs).
    pub fn xterm(&mut self, title: &str, colour: &str, geometry: &str) -> Placed {
        let child = spawn_display(
            "xterm",
            &self.display,
            &["-T", title, "-bg", colour, "-geometry", geometry],
            "xterm",
        );
        self.clients.push(child);
        let framed = self.wm.is_some();
        poll(&format!("the xterm `{title}` on screen"), READY, || {
            self.find(title).filter(|p| !framed || p.top != p.client)
        })
    }

    /// The viewable window titled `title` (by `WM_NAME`), if any.
    pub fn find(&self, title: &str) -> Option<Placed> {
        let tree = self.conn.query_tree(self.root).ok()?.reply().ok()?;
        for top in tree.children {
            let attrs = self.conn.get_window_attributes(top).ok()?.reply().ok()?;
            if attrs.map_state != MapState::VIEWABLE {
                continue;
            }
            if let Some(client) = self.titled(top, title, 4) {
                let g = self.conn.get_geometry(top).ok()?.reply().ok()?;
                let b = u32::from(g.border_width) * 2;
                return Some(Placed {
                    client,
                    top,
                    rect: (
                        i32::from(g.x),
                        i32::from(g.y),
                        u32::from(g.width) + b,
                        u32::from(g.height) + b,
                    ),
                });
            }
        }
        None
    }

    fn titled(&self, w: Window, title: &str, depth: u32) -> Option<Window> {
        let name = self
            .conn
            .get_property(false, w, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 256)
            .ok()?
            .reply()
            .ok()?;
        if name.value == title.as_bytes() {
            return Some(w);
        }
        if depth == 0 {
            return None;
        }
        let tree = self.conn.query_tree(w).ok()?.reply().ok()?;
        tree.children
            .into_iter()
            .find_map(|c| self.titled(c, title, depth - 1))
    }

    /// Asks for the client window to move to (`x`, `y`) and waits until its top-level has
    /// moved.
    pub fn move_window(&self, placed: &Placed, x: i32, y: i32) -> Placed {
        self.conn
            .configure_window(placed.client, &ConfigureWindowAux::new().x(x).y(y))
            .unwrap();
        self.conn.flush().unwrap();
        let title = self.title_of(placed.client);
        poll("the window to move", READY, || {
            self.find(&title).filter(|p| p.rect != placed.rect)
        })
    }

    fn title_of(&self, w: Window) -> String {
        let r = self
            .conn
            .get_property(false, w, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 256)
            .unwrap()
            .reply()
            .unwrap();
        String::from_utf8_lossy(&r.value).into_owned()
    }

    /// Maps an override-redirect window (a popup: no title, unknown to the window manager;
    /// `class` is its raw `WM_CLASS`, if any) at `rect`, filled with the RGB `pixel`, on top
    /// of everything; waits until it is viewable. It lives as long as the desktop.
    pub fn popup(&self, rect: (i16, i16, u16, u16), pixel: u32, class: Option<&[u8]>) -> Window {
        let w = self.conn.generate_id().unwrap();
        let screen = &self.conn.setup().roots[0];
        self.conn
            .create_window(
                screen.root_depth,
                w,
                self.root,
                rect.0,
                rect.1,
                rect.2,
                rect.3,
                0,
                WindowClass::INPUT_OUTPUT,
                screen.root_visual,
                &CreateWindowAux::new()
                    .override_redirect(1)
                    .background_pixel(pixel)
                    .event_mask(EventMask::EXPOSURE),
            )
            .unwrap();
        if let Some(class) = class {
            self.conn
                .change_property8(
                    PropMode::REPLACE,
                    w,
                    AtomEnum::WM_CLASS,
                    AtomEnum::STRING,
                    class,
                )
                .unwrap();
        }
        self.conn.map_window(w).unwrap();
        self.conn.flush().unwrap();
        poll("the popup to be viewable", READY, || {
            let a = self.conn.get_window_attributes(w).ok()?.reply().ok()?;
            (a.map_state == MapState::VIEWABLE).then_some(())
        });
        // The server paints the background on map; a round trip makes sure it has.
        self.conn.get_input_focus().unwrap().reply().unwrap();
        w
    }
}

impl Drop for XDesktop {
    fn drop(&mut self) {
        for mut c in self.clients.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(mut wm) = self.wm.take() {
            let _ = wm.kill();
            let _ = wm.wait();
        }
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

/// An X request that failed, as an I/O error (for callers on any display, not only an
/// [`XDesktop`] of their own).
fn x_error(e: impl std::error::Error + Send + Sync + 'static) -> std::io::Error {
    std::io::Error::other(e)
}

/// A connection to `display` and its default screen.
fn connect(display: &str) -> std::io::Result<(RustConnection, Screen)> {
    let (conn, n) = x11rb::connect(Some(display)).map_err(x_error)?;
    let screen = conn
        .setup()
        .roots
        .get(n)
        .cloned()
        .ok_or_else(|| std::io::Error::other(format!("no screen {n} on {display}")))?;
    Ok((conn, screen))
}

/// Sends `WM_DELETE_WINDOW` to the viewable top-level window titled `title` on `display`: what a
/// window manager's close button does.
pub fn close_window(display: &str, title: &str) -> std::io::Result<()> {
    let (conn, screen) = connect(display)?;
    let root = screen.root;
    let atom = |name: &[u8]| -> std::io::Result<u32> {
        Ok(conn
            .intern_atom(false, name)
            .map_err(x_error)?
            .reply()
            .map_err(x_error)?
            .atom)
    };
    let protocols = atom(b"WM_PROTOCOLS")?;
    let delete = atom(b"WM_DELETE_WINDOW")?;
    let tree = conn
        .query_tree(root)
        .map_err(x_error)?
        .reply()
        .map_err(x_error)?;
    for window in tree.children {
        let attrs = conn
            .get_window_attributes(window)
            .map_err(x_error)?
            .reply()
            .map_err(x_error)?;
        if attrs.map_state != MapState::VIEWABLE {
            continue;
        }
        let name = conn
            .get_property(false, window, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 256)
            .map_err(x_error)?
            .reply()
            .map_err(x_error)?;
        if name.value != title.as_bytes() {
            continue;
        }
        let event = ClientMessageEvent::new(
            32,
            window,
            protocols,
            [delete, x11rb::CURRENT_TIME, 0, 0, 0],
        );
        conn.send_event(false, window, EventMask::NO_EVENT, event)
            .map_err(x_error)?
            .check()
            .map_err(x_error)?;
        conn.sync().map_err(x_error)?;
        return Ok(());
    }
    Err(std::io::Error::other(format!(
        "no viewable window titled {title:?} on {display}"
    )))
}

/// A small window of another client at `x`, `y` on `display`, holding the keyboard focus: the
/// windows under test stay on screen but are not the ones in use. It goes when dropped (its
/// connection closes, and the focus goes back to the window under the pointer).
pub struct FocusedWindow {
    _conn: RustConnection,
}

impl std::fmt::Debug for FocusedWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FocusedWindow").finish_non_exhaustive()
    }
}

impl FocusedWindow {
    /// Maps a 200×100 window at `x`, `y` and gives it the focus once it is viewable.
    pub fn take(display: &str, x: i16, y: i16) -> std::io::Result<FocusedWindow> {
        let (conn, screen) = connect(display)?;
        let window = conn.generate_id().map_err(x_error)?;
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            window,
            screen.root,
            x,
            y,
            200,
            100,
            0,
            WindowClass::INPUT_OUTPUT,
            screen.root_visual,
            &CreateWindowAux::new().background_pixel(screen.white_pixel),
        )
        .map_err(x_error)?
        .check()
        .map_err(x_error)?;
        conn.map_window(window).map_err(x_error)?;
        conn.flush().map_err(x_error)?;
        // Only a viewable window can take the focus.
        let deadline = std::time::Instant::now() + READY;
        loop {
            let attrs = conn
                .get_window_attributes(window)
                .map_err(x_error)?
                .reply()
                .map_err(x_error)?;
            if attrs.map_state == MapState::VIEWABLE {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(std::io::Error::other(format!(
                    "the window to take the focus was not viewable within {READY:?}"
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        conn.set_input_focus(InputFocus::POINTER_ROOT, window, x11rb::CURRENT_TIME)
            .map_err(x_error)?
            .check()
            .map_err(x_error)?;
        Ok(FocusedWindow { _conn: conn })
    }
}
