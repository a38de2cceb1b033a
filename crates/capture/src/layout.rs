//! Where each monitor lands in the composite thumbnail (PRODUCT R10).
//!
//! Definition (the one the tests and the bench check):
//! - one scale factor `s` for the whole desktop:
//!   `s = min(1, max_monitor_width / widest monitor's desktop width)`, further reduced if the
//!   composite would exceed [`MAX_CANVAS_SIDE`] on either axis (WebP's limit). So **every
//!   monitor is at most `max_monitor_width` (640) px wide** in the thumbnail, aspect ratios are
//!   kept, and a single 1920×1080 monitor becomes exactly 640×360. A 1920-wide monitor beside a
//!   3840-wide one becomes 320 px beside 640 px: they keep their relative sizes, exactly as
//!   they stand.
//! - positions are scaled by the same `s` relative to the origin of the bounding box of all
//!   monitors (so negative desktop coordinates are fine), and every edge is rounded
//!   independently: monitors that touch on the desktop touch in the thumbnail, with neither a
//!   gap nor an overlap.
//! - the composite is the bounding box; uncovered areas (an offset monitor's neighbourhood)
//!   stay black. Overlapping monitors (mirrored displays) are drawn in the order given, the
//!   later one on top.
//!
//! Pure arithmetic on rectangles; no pixels here.

use crate::{CaptureError, Rect};

/// Default largest width of one monitor in the thumbnail, in pixels.
pub const DEFAULT_MAX_MONITOR_WIDTH: u32 = 640;

/// Largest composite side: libwebp cannot encode images wider or taller than 16383 px.
pub const MAX_CANVAS_SIDE: u32 = 16383;

/// A monitor's rectangle inside the thumbnail, in thumbnail pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width (≥ 1).
    pub width: u32,
    /// Height (≥ 1).
    pub height: u32,
}

/// The composite's size and every monitor's placement, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Composite width in pixels.
    pub width: u32,
    /// Composite height in pixels.
    pub height: u32,
    /// Desktop-units-to-thumbnail-pixels factor (≤ 1).
    pub scale: f64,
    /// One placement per monitor, in the order of the input rectangles.
    pub placements: Vec<Placement>,
}

/// Plans the composite for monitors at `bounds` (see the module docs for the definition).
///
/// Errors: [`CaptureError::NoMonitor`] for an empty list, [`CaptureError::InvalidFrame`] for a
/// zero-sized monitor or a zero `max_monitor_width`.
pub fn plan(bounds: &[Rect], max_monitor_width: u32) -> Result<Layout, CaptureError> {
    if bounds.is_empty() {
        return Err(CaptureError::NoMonitor);
    }
    if max_monitor_width == 0 {
        return Err(CaptureError::InvalidFrame(
            "max_monitor_width must be > 0".into(),
        ));
    }
    if let Some(r) = bounds.iter().find(|r| r.width == 0 || r.height == 0) {
        return Err(CaptureError::InvalidFrame(format!(
            "monitor at ({}, {}) has zero size",
            r.x, r.y
        )));
    }
    let min_x = bounds.iter().map(|r| i64::from(r.x)).min().unwrap_or(0);
    let min_y = bounds.iter().map(|r| i64::from(r.y)).min().unwrap_or(0);
    let max_x = bounds
        .iter()
        .map(|r| i64::from(r.x) + i64::from(r.width))
        .max()
        .unwrap_or(0);
    let max_y = bounds
        .iter()
        .map(|r| i64::from(r.y) + i64::from(r.height))
        .max()
        .unwrap_or(0);
    let total_w = (max_x - min_x) as f64;
    let total_h = (max_y - min_y) as f64;
    let widest = bounds.iter().map(|r| r.width).max().unwrap_or(1);

    let side = f64::from(MAX_CANVAS_SIDE);
    let scale = (f64::from(max_monitor_width) / f64::from(widest))
        .min(1.0)
        .min(side / total_w)
        .min(side / total_h);

    // Rounded edges, clamped into the canvas; every placement at least 1×1.
    let width = ((total_w * scale).round() as u32).clamp(1, MAX_CANVAS_SIDE);
    let height = ((total_h * scale).round() as u32).clamp(1, MAX_CANVAS_SIDE);
    let edge = |offset: i64| (offset as f64 * scale).round() as u32;
    let placements = bounds
        .iter()
        .map(|r| {
            let left = edge(i64::from(r.x) - min_x).min(width - 1);
            let top = edge(i64::from(r.y) - min_y).min(height - 1);
            let right = edge(i64::from(r.x) + i64::from(r.width) - min_x).min(width);
            let bottom = edge(i64::from(r.y) + i64::from(r.height) - min_y).min(height);
            Placement {
                x: left,
                y: top,
                width: right.saturating_sub(left).max(1),
                height: bottom.saturating_sub(top).max(1),
            }
        })
        .collect();
    Ok(Layout {
        width,
        height,
        scale,
        placements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: u32, y: u32, width: u32, height: u32) -> Placement {
        Placement {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn single_full_hd_is_640x360() {
        let l = plan(&[Rect::new(0, 0, 1920, 1080)], 640).unwrap();
        assert_eq!((l.width, l.height), (640, 360));
        assert_eq!(l.placements, [p(0, 0, 640, 360)]);
        let l = plan(&[Rect::new(0, 0, 3840, 2160)], 640).unwrap();
        assert_eq!((l.width, l.height), (640, 360));
    }

    #[test]
    fn small_monitor_is_not_upscaled() {
        let l = plan(&[Rect::new(5, 5, 320, 200)], 640).unwrap();
        assert_eq!((l.width, l.height, l.scale), (320, 200, 1.0));
    }

    #[test]
    fn side_by_side_with_negative_origin_and_mixed_sizes() {
        // A 4K monitor left of a 1080p primary at the origin, bottoms aligned.
        let l = plan(
            &[
                Rect::new(0, 0, 1920, 1080),
                Rect::new(-3840, -1080, 3840, 2160),
            ],
            640,
        )
        .unwrap();
        assert_eq!((l.width, l.height), (960, 360));
        assert_eq!(l.placements, [p(640, 180, 320, 180), p(0, 0, 640, 360)]);
    }

    #[test]
    fn stacked_and_offset_monitors_touch_without_gaps() {
        let l = plan(
            &[
                Rect::new(0, 0, 1366, 768),
                Rect::new(0, 768, 1366, 768),
                Rect::new(1366, 300, 1000, 1000),
            ],
            640,
        )
        .unwrap();
        let [a, b, c] = [l.placements[0], l.placements[1], l.placements[2]];
        assert_eq!(a.width, 640);
        assert_eq!(a.y + a.height, b.y, "stacked monitors touch");
        assert_eq!(a.x + a.width, c.x, "side-by-side monitors touch");
        assert!(c.x + c.width <= l.width && b.y + b.height <= l.height);
    }

    #[test]
    fn huge_desktops_stay_encodable() {
        let many: Vec<_> = (0..40)
            .map(|i| Rect::new(i * 1920, 0, 1920, 1080))
            .collect();
        let l = plan(&many, 640).unwrap();
        assert!(l.width <= MAX_CANVAS_SIDE);
        assert!(l.placements.iter().all(|p| p.width <= 640));
    }

    #[test]
    fn rejects_empty_and_zero_sizes() {
        assert_eq!(plan(&[], 640), Err(CaptureError::NoMonitor));
        assert!(matches!(
            plan(&[Rect::new(0, 0, 0, 10)], 640),
            Err(CaptureError::InvalidFrame(_))
        ));
    }
}
