//! Blocked windows (issue "blocked windows never captured"): which windows a blocklist
//! matches, and blanking their rectangles in the full-resolution frames.
//!
//! Design:
//! - A [`Blocklist`] is a set of [`BlockRule`]s, each a case-insensitive substring of a
//!   window's application class (`WM_CLASS` instance or class on X11) or of its title. The
//!   engine hands the pipeline one list: the union of the workspace's and the member's own.
//! - A [`WindowInfo`] is one window as the screen source lists it: its desktop rectangle
//!   (decorations included), its class names and title, and whether it is a popup
//!   (override-redirect: menus, tooltips — the window manager does not know them).
//! - [`Blocklist::matches`]: a rule matches, **or the window cannot be classified at all**
//!   (no class and no title): such a window could be anything, so while the list is non-empty
//!   it is blanked (fail closed).
//! - [`select`]: the rectangles to blank from every listing of one capture (before and after
//!   the grab, so a window moved or raised in between is blanked at both places), plus every
//!   popup that overlaps a blanked window in the same listing (a menu of a blocked
//!   application carries its class only sometimes).
//! - [`blank`]: fills each rectangle, grown by [`MARGIN`] on every side, with [`FILL`] in
//!   every frame it touches, in the frame's own byte order and pixel scale (HiDPI frames have
//!   more pixels than desktop units). It runs on the full-resolution frames before the resize
//!   and the blur, so no blocked pixel reaches even the averaging.
//!
//! Invariant: an empty list matches nothing and lists nothing (the capture is as without this
//! feature); a non-empty list with no listing fails the attempt (`redaction_unavailable`, see
//! [`crate::Pipeline::capture`]).

use serde::{Deserialize, Serialize};

use crate::{Frame, PixelLayout, Rect};

/// Desktop units added on every side of a blocked window (shadows, borders, rounding).
pub const MARGIN: u32 = 8;

/// The fill colour of a blocked rectangle (RGB): a flat slate grey.
pub const FILL: [u8; 3] = [0x4a, 0x50, 0x5a];

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RuleField {
    /// The application class (X11 `WM_CLASS`, either of its two names).
    Class,
    /// The window title.
    Title,
}

/// One rule: windows whose `field` contains `pattern`, ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BlockRule {
    /// Class or title.
    pub field: RuleField,
    /// The substring; blank patterns are ignored.
    pub pattern: String,
}

impl BlockRule {
    /// A class rule.
    pub fn class(pattern: impl Into<String>) -> Self {
        BlockRule {
            field: RuleField::Class,
            pattern: pattern.into(),
        }
    }

    /// A title rule.
    pub fn title(pattern: impl Into<String>) -> Self {
        BlockRule {
            field: RuleField::Title,
            pattern: pattern.into(),
        }
    }
}

/// The rules in force at a capture, lower-cased once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocklist {
    rules: Vec<(RuleField, String)>,
}

impl Blocklist {
    /// The list of `rules`; blank patterns are dropped, duplicates kept once.
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a BlockRule>) -> Self {
        let mut out: Vec<(RuleField, String)> = Vec::new();
        for rule in rules {
            let pattern = rule.pattern.trim().to_lowercase();
            if pattern.is_empty() {
                continue;
            }
            let entry = (rule.field, pattern);
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
        Blocklist { rules: out }
    }

    /// True when there is no rule: nothing is listed or blanked.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether `window` is blocked: a rule matches it, or it cannot be classified (no class,
    /// no title) while the list is non-empty.
    pub fn matches(&self, window: &WindowInfo) -> bool {
        if self.is_empty() {
            return false;
        }
        if window.is_unclassified() {
            return true;
        }
        let classes: Vec<String> = window.classes.iter().map(|c| c.to_lowercase()).collect();
        let title = window.title.as_deref().map(str::to_lowercase);
        self.rules.iter().any(|(field, pattern)| match field {
            RuleField::Class => classes.iter().any(|c| c.contains(pattern.as_str())),
            RuleField::Title => title
                .as_deref()
                .is_some_and(|t| t.contains(pattern.as_str())),
        })
    }
}

/// One window on screen, as a source lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WindowInfo {
    /// The windowing system's id (X11 window id), for tests and the "Test" view.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: u64,
    /// Where it stands on the desktop, decorations included.
    pub rect: WindowRect,
    /// Application class names (X11: instance and class of `WM_CLASS`); empty if unknown.
    pub classes: Vec<String>,
    /// The title, if any.
    pub title: Option<String>,
    /// An override-redirect window (menu, tooltip) the window manager does not list.
    pub popup: bool,
}

/// A window's rectangle on the desktop (serialisable twin of [`Rect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WindowRect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl From<WindowRect> for Rect {
    fn from(r: WindowRect) -> Rect {
        Rect::new(r.x, r.y, r.width, r.height)
    }
}

impl From<Rect> for WindowRect {
    fn from(r: Rect) -> WindowRect {
        WindowRect {
            x: r.x,
            y: r.y,
            width: r.width,
            height: r.height,
        }
    }
}

impl WindowInfo {
    /// True when nothing identifies the window: no class name and no title.
    pub fn is_unclassified(&self) -> bool {
        self.classes.iter().all(|c| c.trim().is_empty())
            && self.title.as_deref().is_none_or(|t| t.trim().is_empty())
    }
}

/// The rectangles to blank for one capture, from each of its listings: every window the list
/// matches, and every popup overlapping a matched window of the same listing.
pub fn select(list: &Blocklist, listings: &[&[WindowInfo]]) -> Vec<Rect> {
    let mut out: Vec<Rect> = Vec::new();
    if list.is_empty() {
        return out;
    }
    for windows in listings {
        let matched: Vec<Rect> = windows
            .iter()
            .filter(|w| list.matches(w))
            .map(|w| Rect::from(w.rect))
            .collect();
        let popups = windows
            .iter()
            .filter(|w| w.popup && !list.matches(w))
            .map(|w| Rect::from(w.rect))
            .filter(|p| matched.iter().any(|m| overlaps(m, p)));
        for rect in matched.iter().copied().chain(popups.collect::<Vec<_>>()) {
            if !out.contains(&rect) {
                out.push(rect);
            }
        }
    }
    out
}

/// The windows of this session's desktop, listed the way a capture lists them (the settings'
/// "Test" button). X11 only; elsewhere [`crate::CaptureError::RedactionUnavailable`]. Blocks.
pub fn list_windows_now() -> Result<Vec<WindowInfo>, crate::CaptureError> {
    let choice = crate::SourceChoice::from_env();
    #[cfg(target_os = "linux")]
    if choice.kind == crate::SourceKind::X11 {
        return crate::x11_windows::X11Windows::new().list();
    }
    let _ = choice;
    Err(crate::CaptureError::RedactionUnavailable(
        "windows cannot be listed with their geometry on this desktop".into(),
    ))
}

/// Whether two rectangles share at least one desktop unit.
pub fn overlaps(a: &Rect, b: &Rect) -> bool {
    let (ax1, ay1) = (a.x as i64 + a.width as i64, a.y as i64 + a.height as i64);
    let (bx1, by1) = (b.x as i64 + b.width as i64, b.y as i64 + b.height as i64);
    (a.x as i64) < bx1 && (b.x as i64) < ax1 && (a.y as i64) < by1 && (b.y as i64) < ay1
}

/// The pixel span `[start, end)` of the desktop span `[lo, hi)` in a frame whose `origin`..
/// `origin + units` desktop span holds `pixels` pixels; `None` when they do not meet.
/// Rounds outwards, so a partly covered pixel is filled.
fn pixel_span(lo: i64, hi: i64, origin: i32, units: u32, pixels: u32) -> Option<(usize, usize)> {
    let lo = (lo - origin as i64).max(0);
    let hi = (hi - origin as i64).min(units as i64);
    if lo >= hi || units == 0 {
        return None;
    }
    let (units, pixels) = (units as i64, pixels as i64);
    let start = lo * pixels / units;
    let end = ((hi * pixels) + units - 1) / units;
    Some((start as usize, end.min(pixels) as usize))
}

/// Fills each rectangle grown by `margin` with [`FILL`] in every frame it touches.
pub fn blank(frames: &mut [Frame], rects: &[Rect], margin: u32) {
    for frame in frames.iter_mut() {
        let bounds = frame.bounds();
        let (width, height) = (frame.width(), frame.height());
        let pixel = match frame.layout() {
            PixelLayout::Rgba => [FILL[0], FILL[1], FILL[2], 0xff],
            PixelLayout::Bgra => [FILL[2], FILL[1], FILL[0], 0xff],
        };
        let stride = width as usize * 4;
        for rect in rects {
            let m = margin as i64;
            let x0 = rect.x as i64 - m;
            let x1 = rect.x as i64 + rect.width as i64 + m;
            let y0 = rect.y as i64 - m;
            let y1 = rect.y as i64 + rect.height as i64 + m;
            let Some((px0, px1)) = pixel_span(x0, x1, bounds.x, bounds.width, width) else {
                continue;
            };
            let Some((py0, py1)) = pixel_span(y0, y1, bounds.y, bounds.height, height) else {
                continue;
            };
            let data = frame.data_mut();
            for row in py0..py1 {
                let start = row * stride + px0 * 4;
                let end = row * stride + px1 * 4;
                if let Some(line) = data.get_mut(start..end) {
                    for px in line.chunks_exact_mut(4) {
                        px.copy_from_slice(&pixel);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(classes: &[&str], title: Option<&str>, rect: Rect) -> WindowInfo {
        WindowInfo {
            id: 1,
            rect: rect.into(),
            classes: classes.iter().map(|c| c.to_string()).collect(),
            title: title.map(str::to_string),
            popup: false,
        }
    }

    #[test]
    fn rules_match_class_or_title_substrings_ignoring_case() {
        let list = Blocklist::new(&[
            BlockRule::title("online BANKING"),
            BlockRule::class("keepass"),
        ]);
        let r = Rect::new(0, 0, 10, 10);
        assert!(list.matches(&window(
            &["xterm", "XTerm"],
            Some("My Online Banking — Firefox"),
            r
        )));
        assert!(list.matches(&window(&["keepassxc", "KeePassXC"], Some("Passwords"), r)));
        assert!(!list.matches(&window(&["xterm", "XTerm"], Some("build log"), r)));
        // A title rule does not look at the class, nor a class rule at the title.
        let by_class = Blocklist::new(&[BlockRule::class("banking")]);
        assert!(!by_class.matches(&window(&["firefox"], Some("Online banking"), r)));
        let by_title = Blocklist::new(&[BlockRule::title("firefox")]);
        assert!(!by_title.matches(&window(&["firefox"], Some("Online banking"), r)));
    }

    #[test]
    fn unclassified_windows_match_only_while_the_list_is_non_empty() {
        let r = Rect::new(0, 0, 10, 10);
        let anonymous = window(&[], None, r);
        let blank_names = window(&["", " "], Some("  "), r);
        let list = Blocklist::new(&[BlockRule::title("bank")]);
        assert!(list.matches(&anonymous));
        assert!(list.matches(&blank_names));
        assert!(!Blocklist::default().matches(&anonymous));
        // Blank patterns are no rules at all.
        let blank = Blocklist::new(&[BlockRule::title("  "), BlockRule::class("")]);
        assert!(blank.is_empty());
        assert!(!blank.matches(&anonymous));
        assert_eq!(
            Blocklist::new(&[BlockRule::title("A"), BlockRule::title("a ")]).len(),
            1
        );
    }

    #[test]
    fn select_takes_both_listings_and_popups_over_blocked_windows() {
        let list = Blocklist::new(&[BlockRule::title("bank")]);
        let before = [
            window(&["x"], Some("Bank"), Rect::new(10, 10, 100, 100)),
            window(&["x"], Some("editor"), Rect::new(300, 10, 100, 100)),
        ];
        let mut moved = before.clone();
        moved[0].rect = Rect::new(500, 500, 100, 100).into();
        let mut popup_over = window(&["menu"], Some("File"), Rect::new(520, 520, 30, 60));
        popup_over.popup = true;
        let mut popup_elsewhere = popup_over.clone();
        popup_elsewhere.rect = Rect::new(0, 700, 30, 30).into();
        // The same popup shape that is a managed window is not pulled in by overlap.
        let mut managed = popup_over.clone();
        managed.popup = false;
        managed.rect = Rect::new(530, 530, 10, 10).into();
        let after = [
            moved[0].clone(),
            moved[1].clone(),
            popup_over,
            popup_elsewhere,
            managed,
        ];
        let rects = select(&list, &[&before, &after]);
        assert_eq!(
            rects,
            vec![
                Rect::new(10, 10, 100, 100),
                Rect::new(500, 500, 100, 100),
                Rect::new(520, 520, 30, 60)
            ]
        );
        assert!(select(&Blocklist::default(), &[&before, &after]).is_empty());
    }

    #[test]
    fn overlap_is_strict_on_touching_edges() {
        let a = Rect::new(0, 0, 10, 10);
        assert!(overlaps(&a, &Rect::new(9, 9, 5, 5)));
        assert!(!overlaps(&a, &Rect::new(10, 0, 5, 5)));
        assert!(!overlaps(&a, &Rect::new(0, 10, 5, 5)));
        assert!(overlaps(&a, &Rect::new(-5, -5, 6, 6)));
    }

    fn frame(bounds: Rect, w: u32, h: u32, layout: PixelLayout) -> Frame {
        Frame::new(bounds, w, h, layout, vec![0x11; (w * h * 4) as usize]).unwrap()
    }

    fn filled(f: &Frame) -> Vec<(u32, u32)> {
        let fill = match f.layout() {
            PixelLayout::Rgba => [FILL[0], FILL[1], FILL[2]],
            PixelLayout::Bgra => [FILL[2], FILL[1], FILL[0]],
        };
        let mut out = Vec::new();
        for y in 0..f.height() {
            for x in 0..f.width() {
                let i = ((y * f.width() + x) * 4) as usize;
                if f.data()[i..i + 3] == fill {
                    out.push((x, y));
                }
            }
        }
        out
    }

    fn bbox(points: &[(u32, u32)]) -> (u32, u32, u32, u32) {
        let x0 = points.iter().map(|p| p.0).min().unwrap();
        let y0 = points.iter().map(|p| p.1).min().unwrap();
        let x1 = points.iter().map(|p| p.0).max().unwrap();
        let y1 = points.iter().map(|p| p.1).max().unwrap();
        (x0, y0, x1, y1)
    }

    #[test]
    fn blank_fills_the_rectangle_plus_margin_in_desktop_units() {
        let mut frames = vec![frame(Rect::new(0, 0, 64, 48), 64, 48, PixelLayout::Rgba)];
        blank(&mut frames, &[Rect::new(10, 20, 5, 4)], 2);
        let points = filled(&frames[0]);
        assert_eq!(points.len(), 9 * 8);
        assert_eq!(bbox(&points), (8, 18, 16, 25));
        // Alpha opaque, untouched pixels untouched.
        assert_eq!(frames[0].data()[..4], [0x11; 4]);
    }

    #[test]
    fn blank_clips_to_the_frame_and_crosses_monitors() {
        // Two monitors side by side; the window straddles the border and the top edge.
        let mut frames = vec![
            frame(Rect::new(0, 0, 32, 32), 32, 32, PixelLayout::Rgba),
            frame(Rect::new(32, 0, 32, 32), 32, 32, PixelLayout::Bgra),
        ];
        blank(&mut frames, &[Rect::new(28, -5, 8, 10)], 0);
        assert_eq!(bbox(&filled(&frames[0])), (28, 0, 31, 4));
        assert_eq!(bbox(&filled(&frames[1])), (0, 0, 3, 4));
        // A window on no monitor touches nothing.
        let mut alone = vec![frame(Rect::new(0, 0, 8, 8), 8, 8, PixelLayout::Rgba)];
        blank(&mut alone, &[Rect::new(100, 100, 5, 5)], 8);
        assert!(filled(&alone[0]).is_empty());
    }

    #[test]
    fn blank_scales_to_hidpi_pixels_and_rounds_outwards() {
        // 2× pixels: desktop (5,5)-(10,10) is pixels (10,10)-(20,20).
        let mut frames = vec![frame(Rect::new(0, 0, 20, 20), 40, 40, PixelLayout::Rgba)];
        blank(&mut frames, &[Rect::new(5, 5, 5, 5)], 0);
        assert_eq!(bbox(&filled(&frames[0])), (10, 10, 19, 19));
        // 1.5×: desktop 3..4 is pixels 4.5..6 → 4..6 (the half pixel is filled).
        let mut frames = vec![frame(Rect::new(0, 0, 20, 20), 30, 30, PixelLayout::Rgba)];
        blank(&mut frames, &[Rect::new(3, 3, 1, 1)], 0);
        assert_eq!(bbox(&filled(&frames[0])), (4, 4, 5, 5));
    }
}
