//! Blocked windows on a real X11 desktop: a private Xvfb started by the test, the `openbox`
//! window manager, real `xterm` windows, the real xcap grab and the real pipeline (blur off).
//!
//! 1. `xterm -T "Online banking" -bg red` and an ordinary blue xterm: with the rule
//!    title ~ "online BANKING" the banking window's frame (plus margin) is the fill colour in
//!    the full-resolution frame, every other pixel is as in a grab without the rule, and the
//!    thumbnail shows the fill colour there and no red anywhere.
//! 2. The banking window moved between the listing before and the one after the grab is
//!    blanked at both places.
//! 3. An override-redirect popup (classified, not blocked itself) over the banking window is
//!    blanked, including its part outside the window.
//! 4. Window manager stopped, rule in force: `redaction_unavailable`, no thumbnail.
//! 5. Window manager stopped, no rule: the capture is as without the feature.
//!
//! One test function: xcap reads `DISPLAY` from the environment, so the test sets it once
//! for this process (one test per binary, nothing else reads the environment meanwhile).

#![allow(clippy::unwrap_used, unsafe_code)]

use std::time::{Duration, Instant};

use shotclock_capture::redact::{FILL, MARGIN};
use shotclock_capture::{
    BlockRule, Blocklist, CaptureError, CaptureOptions, Frame, Pipeline, ScreenSource, WindowInfo,
    XcapSource, decode_thumbnail,
};
use shotclock_testdesktop::x11::{Placed, XDesktop};

const W: u32 = 1280;
const H: u32 = 720;

fn px(f: &Frame, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * f.width() + x) * 4) as usize;
    let d = f.data();
    [d[i], d[i + 1], d[i + 2]]
}

/// The placed window's rectangle plus the margin, clipped to the screen.
fn blanked_area(rect: (i32, i32, u32, u32)) -> (u32, u32, u32, u32) {
    let m = MARGIN as i32;
    let x0 = (rect.0 - m).max(0) as u32;
    let y0 = (rect.1 - m).max(0) as u32;
    let x1 = ((rect.0 + rect.2 as i32 + m) as u32).min(W);
    let y1 = ((rect.1 + rect.3 as i32 + m) as u32).min(H);
    (x0, y0, x1, y1)
}

fn inside(area: (u32, u32, u32, u32), x: u32, y: u32) -> bool {
    x >= area.0 && x < area.2 && y >= area.1 && y < area.3
}

fn count(f: &Frame, pred: impl Fn(u32, u32, [u8; 3]) -> bool) -> usize {
    let mut n = 0;
    for y in 0..f.height() {
        for x in 0..f.width() {
            if pred(x, y, px(f, x, y)) {
                n += 1;
            }
        }
    }
    n
}

/// The xterm's `red` background (openbox's window icon has reddish pixels, not this red).
fn is_red(p: [u8; 3]) -> bool {
    p[0] > 200 && p[1] < 30 && p[2] < 30
}

/// Grabs until the screen stays the same for 300 ms (the window manager finished drawing
/// decorations and icons).
fn settled(source: &mut XcapSource) -> Frame {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = source.capture_all().unwrap().remove(0);
    let mut since = Instant::now();
    loop {
        let next = source.capture_all().unwrap().remove(0);
        if next.data() != last.data() {
            since = Instant::now();
        } else if since.elapsed() >= Duration::from_millis(300) {
            return next;
        }
        assert!(Instant::now() < deadline, "the desktop never settled");
        last = next;
    }
}

/// A source that moves a window right after the grab, before the second listing.
struct MovesDuringGrab<'a> {
    inner: XcapSource,
    desk: &'a XDesktop,
    window: Placed,
    to: (i32, i32),
    moved: Option<Placed>,
}

impl ScreenSource for MovesDuringGrab<'_> {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        let frames = self.inner.capture_all()?;
        self.moved = Some(self.desk.move_window(&self.window, self.to.0, self.to.1));
        Ok(frames)
    }
    fn windows(&mut self) -> Result<Vec<WindowInfo>, CaptureError> {
        self.inner.windows()
    }
}

#[test]
fn blocked_windows_are_blanked_on_a_real_x11_desktop() {
    let mut desk = XDesktop::start(W, H);
    // SAFETY: the only test of this binary sets the variables before any capture; no other
    // thread of the process reads the environment.
    unsafe {
        std::env::set_var("DISPLAY", &desk.display);
        std::env::set_var("XDG_SESSION_TYPE", "x11");
        std::env::remove_var("WAYLAND_DISPLAY");
    }
    desk.root_colour("#204020");
    desk.start_wm();
    let bank = desk.xterm("Online banking", "red", "50x15+100+100");
    let other = desk.xterm("build log", "blue", "50x15+700+100");

    let mut source = XcapSource::new();
    let windows = source.windows().unwrap();
    let listed = windows
        .iter()
        .find(|w| w.title.as_deref() == Some("Online banking"))
        .unwrap_or_else(|| panic!("the banking window is not listed: {windows:?}"));
    assert!(listed.classes.iter().any(|c| c == "xterm"), "{listed:?}");
    assert_eq!(
        (
            listed.rect.x,
            listed.rect.y,
            listed.rect.width,
            listed.rect.height
        ),
        bank.rect,
        "the frame's rectangle, decorations included"
    );
    assert!(!listed.popup);

    // 1. Blocked window is the fill colour; everything else untouched.
    let plain = settled(&mut source);
    let bank_area = blanked_area(bank.rect);
    let red_before = count(&plain, |x, y, p| inside(bank_area, x, y) && is_red(p));
    assert!(
        red_before > 10_000,
        "the banking window shows red: {red_before}"
    );
    let mut pipeline = Pipeline::new(CaptureOptions::default().with_blur(false));
    pipeline.set_blocklist(Blocklist::new(&[BlockRule::title("online BANKING")]));
    let redacted = pipeline.grab(&mut source).unwrap().remove(0);
    let not_fill = count(&redacted, |x, y, p| inside(bank_area, x, y) && p != FILL);
    assert_eq!(
        not_fill, 0,
        "every pixel of the blocked area is the fill colour"
    );
    let mut changed = Vec::new();
    for y in 0..H {
        for x in 0..W {
            let (a, b) = (px(&redacted, x, y), px(&plain, x, y));
            if !inside(bank_area, x, y) && a != b {
                changed.push((x, y, b, a));
            }
        }
    }
    assert!(
        changed.is_empty(),
        "no pixel outside the blocked area changed: {changed:?} (area {bank_area:?}, other {:?})",
        other.rect
    );
    let blue = count(&redacted, |_, _, p| p == [0, 0, 255]);
    assert!(blue > 10_000, "the other window is still there: {blue}");
    let mut reds = Vec::new();
    for y in 0..H {
        for x in 0..W {
            if is_red(px(&redacted, x, y)) {
                reds.push((x, y, px(&redacted, x, y)));
            }
        }
    }
    assert!(reds.is_empty(), "red left: {reds:?} area {bank_area:?}");

    // ... and through the whole pipeline, to the thumbnail (640×360, 2:1).
    let thumb = pipeline.capture(&mut source).unwrap();
    assert!(thumb.timings.redact > Duration::ZERO);
    let image = decode_thumbnail(&thumb.webp).unwrap();
    let (cx, cy) = (
        (bank.rect.0 + bank.rect.2 as i32 / 2) as u32 / 2,
        (bank.rect.1 + bank.rect.3 as i32 / 2) as u32 / 2,
    );
    let centre = image.get_pixel(cx, cy).0;
    for (c, f) in centre.iter().zip(FILL) {
        assert!(
            c.abs_diff(f) <= 6,
            "thumbnail at the banking window: {centre:?}"
        );
    }
    let red_pixels = image.pixels().filter(|p| is_red(p.0)).count();
    assert_eq!(red_pixels, 0, "no red in the thumbnail");
    let (ox, oy) = (
        (other.rect.0 + other.rect.2 as i32 / 2) as u32 / 2,
        (other.rect.1 + other.rect.3 as i32 / 2) as u32 / 2,
    );
    let o = image.get_pixel(ox, oy).0;
    assert!(
        o[2] > 200 && o[0] < 40,
        "the other window stays blue: {o:?}"
    );

    // The cost of the listing and blanking (printed for the README; debug build of the test).
    let median = |pipeline: &mut Pipeline, source: &mut XcapSource| {
        let mut t: Vec<(Duration, Duration)> = (0..15)
            .map(|_| {
                let th = pipeline.capture(source).unwrap();
                (th.timings.redact, th.timings.grab)
            })
            .collect();
        t.sort();
        t[t.len() / 2]
    };
    let (redact, grab) = median(&mut pipeline, &mut source);
    eprintln!(
        "redaction on {W}x{H} with 2 windows: listing twice + blanking {redact:?} (grab {grab:?})"
    );

    // 2. Moved between the two listings: blanked where the grab saw it and where it went.
    let mut moving = MovesDuringGrab {
        inner: XcapSource::new(),
        desk: &desk,
        window: bank,
        to: (150, 420),
        moved: None,
    };
    let frame = pipeline.grab(&mut moving).unwrap().remove(0);
    let moved = moving.moved.unwrap();
    assert_ne!(moved.rect, bank.rect);
    let new_area = blanked_area(moved.rect);
    assert_eq!(count(&frame, |_, _, p| is_red(p)), 0);
    assert_eq!(
        count(&frame, |x, y, p| (inside(bank_area, x, y)
            || inside(new_area, x, y))
            && p != FILL),
        0,
        "both places are the fill colour"
    );
    let bank = moved;
    let bank_area = new_area;

    // 3. A popup over the blocked window (a menu with a class of its own, no title).
    settled(&mut source);
    let (px0, py0) = (bank.rect.0 + 40, bank.rect.1 + bank.rect.3 as i32 - 30);
    let popup_rect = (px0 as i16, py0 as i16, 120u16, 150u16);
    let popup = desk.popup(popup_rect, 0xff00ff, Some(b"menu\0Menu\0"));
    let with_popup = settled(&mut source);
    let magenta = |p: [u8; 3]| p == [255, 0, 255];
    assert!(
        count(&with_popup, |_, _, p| magenta(p)) > 10_000,
        "the popup is drawn"
    );
    let listed = source.windows().unwrap();
    let entry = listed.iter().find(|w| w.id == u64::from(popup)).unwrap();
    assert!(
        entry.popup && entry.classes == ["menu", "Menu"],
        "{entry:?}"
    );
    let frame = pipeline.grab(&mut source).unwrap().remove(0);
    assert_eq!(count(&frame, |_, _, p| magenta(p) || is_red(p)), 0);
    let popup_area = blanked_area((px0, py0, 120, 150));
    assert!(
        popup_area.3 > bank_area.3,
        "part of the popup lies outside the window"
    );
    assert_eq!(
        count(&frame, |x, y, p| inside(popup_area, x, y) && p != FILL),
        0
    );

    // 4. No window manager, rule in force: fails closed.
    desk.stop_wm();
    let err = pipeline.capture(&mut source).unwrap_err();
    assert!(
        matches!(err, CaptureError::RedactionUnavailable(_)),
        "{err:?}"
    );
    assert_eq!(err.health().code(), "redaction_unavailable");
    assert!(pipeline.grab(&mut source).is_err());

    // 5. No window manager, no rule: captured as without the feature.
    pipeline.set_blocklist(Blocklist::default());
    let frame = pipeline.grab(&mut source).unwrap().remove(0);
    assert!(
        count(&frame, |_, _, p| is_red(p)) > 10_000,
        "the window is captured"
    );
    let thumb = pipeline.capture(&mut source).unwrap();
    assert!(thumb.health.is_useful());
    assert_eq!(thumb.timings.redact, Duration::ZERO);
}
