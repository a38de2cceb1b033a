//! Layout, byte order and health through the public API, with the fake screen source.
//!
//! Each fake monitor is painted one distinct solid colour; the expected thumbnail rectangles
//! below are worked out by hand from the layout definition (one scale factor for the desktop,
//! every monitor ≤ 640 px wide, edges rounded, bounding-box origin), not by calling the
//! layout code, so a layout bug fails here.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-*-in-tests.
#![allow(clippy::unwrap_used)]

use shotclock_capture::synthetic::{desktop_frame, solid_frame};
use shotclock_capture::{
    CaptureError, CaptureOptions, Capturer, FakeSource, Frame, Health, Pipeline, PixelLayout, Rect,
    decode_thumbnail,
};

const RED: [u8; 3] = [220, 30, 30];
const GREEN: [u8; 3] = [30, 200, 60];
const BLUE: [u8; 3] = [40, 60, 230];
const BLACK: [u8; 3] = [0, 0, 0];

fn close(got: [u8; 3], want: [u8; 3], tol: u8) -> bool {
    got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= tol)
}

/// Checks `(x, y, colour)` probes on packed RGB.
fn check_rgb(rgb: &[u8], width: u32, probes: &[(u32, u32, [u8; 3])], tol: u8, what: &str) {
    for &(x, y, want) in probes {
        let i = (y as usize * width as usize + x as usize) * 3;
        let got = [rgb[i], rgb[i + 1], rgb[i + 2]];
        assert!(
            close(got, want, tol),
            "{what}: pixel ({x},{y}) is {got:?}, expected {want:?} ±{tol}"
        );
    }
}

/// Renders raw (exact, `probes` may sit on region edges) and through WebP (lossy), blur off
/// and on. `interior` probes must sit well away from region edges: the blur radius is 6 px and
/// WebP's 4:2:0 chroma and block transform smear edges.
fn check_all_ways(
    frames: Vec<Frame>,
    size: (u32, u32),
    probes: &[(u32, u32, [u8; 3])],
    interior: &[(u32, u32, [u8; 3])],
) {
    let mut sharp = Pipeline::new(CaptureOptions::default().with_blur(false));
    let r = sharp.render(frames.clone()).unwrap();
    assert_eq!((r.width, r.height), size);
    check_rgb(r.rgb, r.width, probes, 0, "raw, blur off");

    let t = sharp.process(frames.clone()).unwrap();
    assert_eq!((t.width, t.height), size);
    let img = decode_thumbnail(&t.webp).unwrap();
    assert_eq!(img.dimensions(), size);
    check_rgb(img.as_raw(), size.0, interior, 12, "webp, blur off");

    let mut blurred = Pipeline::default();
    let r = blurred.render(frames.clone()).unwrap();
    check_rgb(r.rgb, r.width, interior, 2, "raw, blur on");
    let t = blurred.process(frames).unwrap();
    let img = decode_thumbnail(&t.webp).unwrap();
    check_rgb(img.as_raw(), size.0, interior, 12, "webp, blur on");
    assert_eq!(t.health, Health::Ok);
}

#[test]
fn two_monitors_side_by_side_land_in_their_regions() {
    // 1920×1080 at the origin, a 1280×1024 to its right, tops aligned. Scale 1/3:
    // canvas 3200/3 → 1067 × 360; A = (0,0,640,360); B = (640,0,427,341); below B is black.
    let frames = vec![
        solid_frame(Rect::new(0, 0, 1920, 1080), RED).unwrap(),
        solid_frame(Rect::new(1920, 0, 1280, 1024), GREEN).unwrap(),
    ];
    let probes = [
        (320, 180, RED),
        (0, 0, RED),
        (639, 359, RED),
        (853, 170, GREEN),
        (640, 0, GREEN),
        (1066, 340, GREEN),
        (853, 341, BLACK),
        (1066, 359, BLACK),
    ];
    let blurred = [
        (320, 180, RED),
        (200, 100, RED),
        (853, 170, GREEN),
        (900, 60, GREEN),
    ];
    check_all_ways(frames, (1067, 360), &probes, &blurred);
}

#[test]
fn three_monitors_stacked_and_offset_with_negative_origin() {
    // A 1920×1080 at (0,0); B 1920×1080 stacked below A; C 1280×1024 left of A at
    // (-1280, 400). Bounding box x −1280…1920, y 0…2160; scale 1/3 → 1067 × 720.
    // A = (427,0,640,360), B = (427,360,640,360), C = (0,133,427,342) (rows 133…474).
    let frames = vec![
        solid_frame(Rect::new(0, 0, 1920, 1080), RED).unwrap(),
        solid_frame(Rect::new(0, 1080, 1920, 1080), GREEN).unwrap(),
        solid_frame(Rect::new(-1280, 400, 1280, 1024), BLUE).unwrap(),
    ];
    let probes = [
        (747, 180, RED),
        (427, 0, RED),
        (747, 540, GREEN),
        (1066, 719, GREEN),
        (747, 359, RED),
        (747, 360, GREEN),
        (213, 304, BLUE),
        (0, 133, BLUE),
        (426, 474, BLUE),
        (213, 60, BLACK),
        (213, 132, BLACK),
        (213, 475, BLACK),
        (213, 650, BLACK),
    ];
    let blurred = [
        (747, 180, RED),
        (747, 540, GREEN),
        (213, 304, BLUE),
        (213, 40, BLACK),
        (213, 650, BLACK),
    ];
    check_all_ways(frames, (1067, 720), &probes, &blurred);
}

#[test]
fn mixed_resolutions_share_one_scale() {
    // A 4K monitor beside a 1080p one: the 4K one is 640 px wide, the 1080p one 320 px.
    let frames = vec![
        solid_frame(Rect::new(0, 0, 3840, 2160), BLUE).unwrap(),
        solid_frame(Rect::new(3840, 0, 1920, 1080), RED).unwrap(),
    ];
    let probes = [(320, 180, BLUE), (800, 90, RED), (800, 270, BLACK)];
    check_all_ways(
        frames,
        (960, 360),
        &probes,
        &[(320, 180, BLUE), (800, 90, RED)],
    );
}

#[test]
fn bgra_and_hidpi_frames_come_out_right() {
    // A HiDPI monitor: 3840×2160 pixels for a 1920×1080 desktop rectangle, delivered as BGRA.
    let bgra = [BLUE[2], BLUE[1], BLUE[0], 255].repeat(3840 * 2160);
    let frame = Frame::new(
        Rect::new(0, 0, 1920, 1080),
        3840,
        2160,
        PixelLayout::Bgra,
        bgra,
    )
    .unwrap();
    let left = solid_frame(Rect::new(-1920, 0, 1920, 1080), GREEN).unwrap();
    let mut p = Pipeline::new(CaptureOptions::default().with_blur(false));
    let r = p.render(vec![left, frame]).unwrap();
    assert_eq!((r.width, r.height), (1280, 360));
    check_rgb(
        r.rgb,
        r.width,
        &[(320, 180, GREEN), (960, 180, BLUE)],
        0,
        "bgra",
    );
}

#[test]
fn single_full_hd_desktop_is_640x360_and_small() {
    let mut source = FakeSource::new().with_frame(desktop_frame(0, 0, 1920, 1080, 3).unwrap());
    let t = Pipeline::default().capture(&mut source).unwrap();
    assert_eq!((t.width, t.height), (640, 360));
    assert_eq!(t.health, Health::Ok);
    assert!(
        t.webp.len() <= 8 * 1024,
        "thumbnail is {} bytes",
        t.webp.len()
    );
    assert_eq!(source.captures(), 1);
}

// --- health -------------------------------------------------------------------------------

#[test]
fn all_black_frame_is_all_black() {
    let mut source =
        FakeSource::new().with_frame(solid_frame(Rect::new(0, 0, 1920, 1080), BLACK).unwrap());
    let t = Pipeline::default().capture(&mut source).unwrap();
    assert_eq!(t.health, Health::AllBlack);
    assert_eq!(t.health.code(), "all_black");
    assert!(!t.health.is_useful());
}

#[test]
fn uniform_frame_is_single_colour_and_content_is_ok() {
    let mut p = Pipeline::default();
    let uniform = solid_frame(Rect::new(0, 0, 1280, 800), [51, 102, 204]).unwrap();
    assert_eq!(
        p.process(vec![uniform]).unwrap().health,
        Health::SingleColour
    );

    // Two monitors of two different solid colours are not "single colour".
    let two = vec![
        solid_frame(Rect::new(0, 0, 1280, 800), [51, 102, 204]).unwrap(),
        solid_frame(Rect::new(1280, 0, 1280, 800), [200, 200, 200]).unwrap(),
    ];
    assert_eq!(p.process(two).unwrap().health, Health::Ok);

    // A black monitor beside a real desktop is a real desktop.
    let mixed = vec![
        solid_frame(Rect::new(0, 0, 1920, 1080), BLACK).unwrap(),
        desktop_frame(1920, 0, 1920, 1080, 9).unwrap(),
    ];
    assert_eq!(p.process(mixed).unwrap().health, Health::Ok);
}

#[test]
fn no_monitor_is_an_error_with_its_own_health() {
    let mut source = FakeSource::new();
    let result = Pipeline::default().capture(&mut source);
    assert_eq!(result.as_ref().err(), Some(&CaptureError::NoMonitor));
    assert_eq!(Health::of(&result), Health::NoMonitor);
    assert_eq!(Health::of(&result).code(), "no_monitor");

    let processed = Pipeline::default().process(Vec::new());
    assert_eq!(Health::of(&processed), Health::NoMonitor);
}

#[test]
fn failures_are_recorded_not_skipped() {
    let mut denied = FakeSource::failing(CaptureError::PermissionDenied("TCC".into()));
    let result = Pipeline::default().capture(&mut denied);
    assert_eq!(Health::of(&result), Health::PermissionDenied);

    let mut broken = FakeSource::failing(CaptureError::Backend("cannot open display".into()));
    let health = Health::of(&Pipeline::default().capture(&mut broken));
    assert_eq!(health.code(), "backend_error");
    assert!(matches!(&health, Health::Backend(text) if text.contains("cannot open display")));
    let json = serde_json::to_string(&health).unwrap();
    assert!(json.contains(r#""code":"backend_error""#), "{json}");
}

// --- async entry point ----------------------------------------------------------------------

#[tokio::test]
async fn capturer_runs_on_the_blocking_pool_and_reuses_its_parts() {
    let source = FakeSource::new().with_frame(desktop_frame(0, 0, 1920, 1080, 4).unwrap());
    let mut capturer = Capturer::new(Pipeline::default(), source);
    let first = capturer.capture().await.unwrap();
    let second = capturer.capture().await.unwrap();
    assert_eq!((first.width, first.height), (640, 360));
    assert_eq!(first.webp, second.webp, "same screen, same thumbnail");
    let (_, source) = capturer.into_parts().unwrap();
    assert_eq!(source.captures(), 2);
}
