//! Live capture through the real xcap source, on an X display (a private Xvfb under
//! `cargo xtask test`). These tests REQUIRE `DISPLAY`: without it they fail and say how to run
//! them. They paint the shared root window, so everything lives in one test function.
//!
//! 1. Solid `#3366cc` root → a 640×360 thumbnail (the display must be 1920×1080) whose mean
//!    colour matches, classified `single_colour`.
//! 2. A text-like glyph pattern (generated XBM, 5×7 glyphs like small UI text) → the blurred
//!    thumbnail's variance of the Laplacian is ≤ 5% of the same grab processed unblurred, and
//!    the unblurred one clearly shows the pattern.
//! 3. No file as large as a frame appears in the temp dir during the live grabs.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-*-in-tests.
#![allow(clippy::unwrap_used)]

mod checks;

use checks::{grey, laplacian_variance};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use shotclock_capture::synthetic::Rng;
use shotclock_capture::{
    CaptureOptions, Health, Pipeline, ScreenSource, XcapSource, decode_thumbnail,
};

fn require_display() -> String {
    match std::env::var("DISPLAY") {
        Ok(d) if !d.is_empty() => d,
        _ => panic!(
            "DISPLAY is not set: the live capture tests need an X server. Run them with \
             `cargo xtask test` (which starts a private Xvfb), or by hand: \
             `Xvfb :99 -screen 0 1920x1080x24 -nolisten tcp -noreset & DISPLAY=:99 cargo test \
             -p shotclock-capture --test live_xvfb`"
        ),
    }
}

fn xsetroot(args: &[&str]) {
    let status = Command::new("xsetroot")
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run xsetroot (x11-xserver-utils): {e}"));
    assert!(status.success(), "xsetroot {args:?} failed: {status}");
    // xsetroot has flushed and closed its connection; give the server a moment to repaint.
    std::thread::sleep(Duration::from_millis(100));
}

/// An XBM tile of text-like rows: 5×7 pseudo-glyphs in 6-px cells, 11-px lines.
fn write_text_xbm(path: &Path) {
    let (w, h) = (240usize, 66usize);
    let mut bits = vec![false; w * h];
    let mut rng = Rng::new(42);
    let glyphs: Vec<[u8; 7]> = (0..26)
        .map(|_| {
            let stem = 1u8 << rng.below(5);
            std::array::from_fn(|_| (rng.next_u64() as u8 & 0x1F) | stem)
        })
        .collect();
    for line in 0..h / 11 {
        let mut x = 2;
        while x + 6 <= w {
            if rng.below(7) == 0 {
                x += 6; // word gap
                continue;
            }
            let g = glyphs[rng.below(26) as usize];
            for (gy, row) in g.iter().enumerate() {
                for gx in 0..5 {
                    if row & (1 << gx) != 0 {
                        bits[(line * 11 + 2 + gy) * w + x + gx] = true;
                    }
                }
            }
            x += 6;
        }
    }
    let mut out =
        format!("#define t_width {w}\n#define t_height {h}\nstatic unsigned char t_bits[] = {{\n");
    for y in 0..h {
        for byte in 0..w.div_ceil(8) {
            let mut v = 0u8;
            for bit in 0..8 {
                let x = byte * 8 + bit;
                if x < w && bits[y * w + x] {
                    v |= 1 << bit;
                }
            }
            write!(out, "0x{v:02x},").unwrap();
        }
        out.push('\n');
    }
    out.push_str("};\n");
    std::fs::write(path, out).unwrap();
}

#[test]
fn live_capture_colour_blur_and_privacy_under_xvfb() {
    let display = require_display();
    let since = SystemTime::now() - Duration::from_secs(1);
    let mut source = XcapSource::new();

    // 1. Known colour.
    xsetroot(&["-solid", "#3366cc"]);
    let thumb = Pipeline::default()
        .capture(&mut source)
        .unwrap_or_else(|e| panic!("live capture on DISPLAY={display} failed: {e}"));
    assert_eq!(
        (thumb.width, thumb.height),
        (640, 360),
        "expected a 1920×1080 screen (Xvfb -screen 0 1920x1080x24)"
    );
    assert_eq!(thumb.health, Health::SingleColour);
    let img = decode_thumbnail(&thumb.webp).unwrap();
    let n = f64::from(img.width() * img.height());
    let mean: Vec<f64> = (0..3)
        .map(|c| img.pixels().map(|p| f64::from(p[c])).sum::<f64>() / n)
        .collect();
    for (got, want) in mean.iter().zip([51.0, 102.0, 204.0]) {
        assert!(
            (got - want).abs() <= 6.0,
            "mean colour {mean:?}, expected #3366cc"
        );
    }

    // 2. Text-like pattern: one grab, processed blurred and unblurred.
    let dir = tempfile::tempdir().unwrap();
    let xbm = dir.path().join("text.xbm");
    write_text_xbm(&xbm);
    let xbm_arg = xbm.to_string_lossy().to_string();
    xsetroot(&["-bitmap", &xbm_arg, "-fg", "black", "-bg", "white"]);
    let frames = source.capture_all().unwrap();
    let frame_bytes = frames
        .iter()
        .map(|f| f.byte_len() as u64)
        .max()
        .unwrap_or(0);
    let sharp = Pipeline::new(CaptureOptions::default().with_blur(false))
        .process(frames.clone())
        .unwrap();
    let blurred = Pipeline::default().process(frames).unwrap();
    assert_eq!(blurred.health, Health::Ok);
    let (w, h) = (sharp.width as usize, sharp.height as usize);
    let v_sharp = laplacian_variance(&grey(&decode_thumbnail(&sharp.webp).unwrap()), w, h);
    let v_blur = laplacian_variance(&grey(&decode_thumbnail(&blurred.webp).unwrap()), w, h);
    println!(
        "Laplacian variance: unblurred {v_sharp:.1}, blurred {v_blur:.2} ({:.2}%); bytes {} vs {}",
        100.0 * v_blur / v_sharp,
        sharp.webp.len(),
        blurred.webp.len()
    );
    assert!(
        v_sharp > 50.0,
        "the pattern should be visible unblurred: {v_sharp}"
    );
    assert!(
        v_blur <= 0.05 * v_sharp,
        "blur too weak: Laplacian variance {v_blur} vs {v_sharp} unblurred"
    );
    xsetroot(&["-def"]);

    // 3. Nothing frame-sized was written to the temp dir by the live grabs.
    let mut stack = vec![std::env::temp_dir()];
    let mut big = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                stack.push(e.path());
            } else if kind.is_file()
                && let Ok(meta) = e.metadata()
                && meta.modified().map(|m| m >= since).unwrap_or(true)
                && meta.len() >= frame_bytes
            {
                big.push(e.path());
            }
        }
    }
    assert!(
        big.is_empty(),
        "frame-sized files appeared in the temp dir: {big:?}"
    );
}
