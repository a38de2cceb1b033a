//! Health of a capture attempt (PRODUCT R12): every attempt gets exactly one [`Health`], so
//! the agent can record why a window has no (useful) screenshot instead of silently skipping.
//!
//! Design:
//! - [`Health`] is a serde enum tagged by its stable [`Health::code`] string
//!   (`{"code":"ok"}`, `{"code":"backend_error","detail":"…"}`); the codes are part of the
//!   wire contract and must never change.
//! - Successful captures are classified on the *thumbnail* (before blur and encoding), never on
//!   the full-resolution frames: at most 640 px per monitor are scanned, with an early exit at
//!   the first pixel that proves the frame is neither black nor uniform, so the cost is a few
//!   microseconds for a real desktop and well under a millisecond for the worst case (a
//!   uniform frame, which must be scanned entirely).
//! - Only monitor regions are scanned; the gaps of a multi-monitor layout (filled black) do
//!   not count.
//!
//! Known gaps: a frame that is "useless" in other ways (macOS without Screen Recording
//! permission returns the wallpaper without windows; a lock screen) is classified `Ok`.

use serde::{Deserialize, Serialize};

use crate::layout::Placement;

/// The largest channel value (0–255) still counted as black. Downscaling a black frame stays
/// exactly 0; a little head room covers dithering panels and "almost black" blank screens.
pub const BLACK_MAX: u8 = 8;

/// The largest per-channel difference (0–255) still counted as "the same colour". Resampling a
/// uniform frame is exact; the head room covers dithering and a nearly-invisible cursor.
pub const UNIFORM_TOLERANCE: u8 = 4;

/// How one capture attempt went. Serialises as `{"code": "...", "detail": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "code", content = "detail")]
pub enum Health {
    /// A thumbnail with real content.
    #[serde(rename = "ok")]
    Ok,
    /// Every monitor is (almost) black: a reset X server, a screen saver, a DRM-protected
    /// player, a Wayland compositor refusing the grab.
    #[serde(rename = "all_black")]
    AllBlack,
    /// Every monitor shows one and the same uniform colour (not black).
    #[serde(rename = "single_colour")]
    SingleColour,
    /// The backend reported no monitor.
    #[serde(rename = "no_monitor")]
    NoMonitor,
    /// The OS refused screen capture.
    #[serde(rename = "permission_denied")]
    PermissionDenied,
    /// The user declined the desktop's screen sharing dialog (Wayland portal).
    #[serde(rename = "consent_refused")]
    ConsentRefused,
    /// No desktop portal on a Wayland session.
    #[serde(rename = "portal_missing")]
    PortalMissing,
    /// The desktop portal has no ScreenCast interface.
    #[serde(rename = "no_screencast")]
    NoScreenCast,
    /// The compositor offers only DMA-BUF frames; capture fails closed.
    #[serde(rename = "dmabuf_only")]
    DmabufOnly,
    /// A blocklist is in force and the windows could not be listed: nothing was kept.
    #[serde(rename = "redaction_unavailable")]
    RedactionUnavailable,
    /// Any other failure, with its text.
    #[serde(rename = "backend_error")]
    Backend(String),
}

impl Health {
    /// Stable machine-readable code, identical to the serde tag.
    pub fn code(&self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::AllBlack => "all_black",
            Health::SingleColour => "single_colour",
            Health::NoMonitor => "no_monitor",
            Health::PermissionDenied => "permission_denied",
            Health::ConsentRefused => "consent_refused",
            Health::PortalMissing => "portal_missing",
            Health::NoScreenCast => "no_screencast",
            Health::DmabufOnly => "dmabuf_only",
            Health::RedactionUnavailable => "redaction_unavailable",
            Health::Backend(_) => "backend_error",
        }
    }

    /// True only for [`Health::Ok`]: a thumbnail worth keeping as proof of work.
    pub fn is_useful(&self) -> bool {
        matches!(self, Health::Ok)
    }

    /// The health of any attempt, successful or not.
    pub fn of<T: HasHealth>(result: &Result<T, crate::CaptureError>) -> Health {
        match result {
            Ok(value) => value.health(),
            Err(error) => error.health(),
        }
    }
}

/// Anything that carries a [`Health`] (a thumbnail, a rendered view).
pub trait HasHealth {
    /// The health of this result.
    fn health(&self) -> Health;
}

/// Classifies the monitor regions of a packed RGB canvas `canvas_width` pixels wide.
///
/// Returns `AllBlack` when every scanned pixel has all channels ≤ [`BLACK_MAX`],
/// `SingleColour` when every scanned pixel is within [`UNIFORM_TOLERANCE`] of the first one,
/// `Ok` otherwise.
pub(crate) fn classify_rgb(canvas: &[u8], canvas_width: u32, regions: &[Placement]) -> Health {
    let stride = canvas_width as usize * 3;
    let mut all_black = true;
    let mut uniform = true;
    let mut reference: Option<[u8; 3]> = None;
    for region in regions {
        let x0 = region.x as usize * 3;
        let x1 = x0 + region.width as usize * 3;
        for row in region.y as usize..(region.y + region.height) as usize {
            let start = row * stride;
            let Some(line) = canvas.get(start + x0..start + x1) else {
                continue;
            };
            for px in line.chunks_exact(3) {
                let rgb = [px[0], px[1], px[2]];
                if all_black && rgb.iter().any(|&c| c > BLACK_MAX) {
                    all_black = false;
                }
                if uniform {
                    let r = *reference.get_or_insert(rgb);
                    if rgb
                        .iter()
                        .zip(r)
                        .any(|(&c, rc)| c.abs_diff(rc) > UNIFORM_TOLERANCE)
                    {
                        uniform = false;
                    }
                }
                if !all_black && !uniform {
                    return Health::Ok;
                }
            }
        }
    }
    if all_black {
        Health::AllBlack
    } else if uniform {
        Health::SingleColour
    } else {
        Health::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(w: u32, h: u32) -> Vec<Placement> {
        vec![Placement {
            x: 0,
            y: 0,
            width: w,
            height: h,
        }]
    }

    #[test]
    fn codes_are_stable_and_match_serde_tags() {
        let all = [
            Health::Ok,
            Health::AllBlack,
            Health::SingleColour,
            Health::NoMonitor,
            Health::PermissionDenied,
            Health::ConsentRefused,
            Health::PortalMissing,
            Health::NoScreenCast,
            Health::DmabufOnly,
            Health::Backend("x".into()),
        ];
        let codes: Vec<_> = all.iter().map(Health::code).collect();
        assert_eq!(
            codes,
            [
                "ok",
                "all_black",
                "single_colour",
                "no_monitor",
                "permission_denied",
                "consent_refused",
                "portal_missing",
                "no_screencast",
                "dmabuf_only",
                "backend_error"
            ]
        );
        for h in all {
            let json = serde_json::to_value(&h).unwrap();
            assert_eq!(json["code"], h.code(), "{json}");
            let back: Health = serde_json::from_value(json).unwrap();
            assert_eq!(back, h);
        }
        let json = serde_json::to_string(&Health::Backend("no display".into())).unwrap();
        assert_eq!(json, r#"{"code":"backend_error","detail":"no display"}"#);
    }

    #[test]
    fn classifies_black_uniform_and_content() {
        let black = vec![0u8; 8 * 4 * 3];
        assert_eq!(classify_rgb(&black, 8, &region(8, 4)), Health::AllBlack);
        let mut near_black = black.clone();
        near_black[50] = BLACK_MAX;
        assert_eq!(
            classify_rgb(&near_black, 8, &region(8, 4)),
            Health::AllBlack
        );
        near_black[50] = BLACK_MAX + 1;
        assert_eq!(classify_rgb(&near_black, 8, &region(8, 4)), Health::Ok);

        let blue: Vec<u8> = [10u8, 20, 200].repeat(32);
        assert_eq!(classify_rgb(&blue, 8, &region(8, 4)), Health::SingleColour);
        let mut mixed = blue.clone();
        mixed[40] = 255;
        assert_eq!(classify_rgb(&mixed, 8, &region(8, 4)), Health::Ok);
        // One black monitor and one coloured one are content, not black.
        let mut two = vec![0u8; 8 * 4 * 3];
        two[12..24].copy_from_slice(&[200, 0, 0].repeat(4));
        assert_eq!(classify_rgb(&two, 8, &region(8, 4)), Health::Ok);
        // Gaps outside the regions do not count.
        let mut gap = blue.clone();
        gap[0..3].copy_from_slice(&[255, 255, 255]);
        let right_half = [Placement {
            x: 4,
            y: 0,
            width: 4,
            height: 4,
        }];
        assert_eq!(classify_rgb(&gap, 8, &right_half), Health::SingleColour);
    }
}
