//! The direct RGB → YUV encoder makes the same thumbnail as the `webp` crate's path (RGB → ARGB
//! → YUV) it replaced: same dimensions, about the same bytes, the same colours and the same
//! amount of blur, on the same blurred composites.
//!
//! Measures, on each image decoded back to RGB:
//! - the mean colour (per channel, 0–255);
//! - the variance of the Laplacian of the luma (4-neighbour kernel), which falls as an image gets
//!   blurrier: a thumbnail that lost or gained sharpness moves it far more than the tolerance,
//!   as the negative control (the same composite unblurred) shows.

#![allow(clippy::unwrap_used)]

use shotclock_capture::synthetic::desktop_frame;
use shotclock_capture::{CaptureOptions, Frame, Pipeline, decode_thumbnail, encode_webp_rgb};

/// The pipeline's defaults.
const QUALITY: f32 = 70.0;
const METHOD: u8 = 0;

/// The encoder the pipeline used before: the `webp` crate (it imports into an ARGB picture).
fn old_encode(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut config = webp::WebPConfig::new().unwrap();
    config.lossless = 0;
    config.quality = QUALITY;
    config.method = i32::from(METHOD);
    webp::Encoder::from_rgb(rgb, width, height)
        .encode_advanced(&config)
        .unwrap()
        .to_vec()
}

struct Measures {
    mean: [f64; 3],
    laplacian_variance: f64,
}

fn measure(webp: &[u8]) -> (u32, u32, Measures) {
    let img = decode_thumbnail(webp).unwrap();
    let (w, h) = img.dimensions();
    let px = img.as_raw();
    let mut sum = [0f64; 3];
    for p in px.chunks_exact(3) {
        for c in 0..3 {
            sum[c] += f64::from(p[c]);
        }
    }
    let n = f64::from(w * h);
    let luma: Vec<f64> = px
        .chunks_exact(3)
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect();
    let at = |x: u32, y: u32| luma[(y * w + x) as usize];
    let mut lap = Vec::new();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            lap.push(at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y));
        }
    }
    let mean_lap = lap.iter().sum::<f64>() / lap.len() as f64;
    let var = lap.iter().map(|v| (v - mean_lap).powi(2)).sum::<f64>() / lap.len() as f64;
    (
        w,
        h,
        Measures {
            mean: sum.map(|s| s / n),
            laplacian_variance: var,
        },
    )
}

fn composites() -> Vec<(&'static str, Vec<Frame>)> {
    vec![
        ("1080p", vec![desktop_frame(0, 0, 1920, 1080, 1).unwrap()]),
        ("4K", vec![desktop_frame(0, 0, 3840, 2160, 2).unwrap()]),
        (
            "two monitors",
            vec![
                desktop_frame(0, 0, 2560, 1440, 3).unwrap(),
                desktop_frame(2560, 200, 1920, 1080, 4).unwrap(),
            ],
        ),
        ("1366x768", vec![desktop_frame(0, 0, 1366, 768, 5).unwrap()]),
    ]
}

#[test]
fn the_direct_encoder_matches_the_old_path() {
    let mut sizes = Vec::new();
    for (name, frames) in composites() {
        let mut pipeline = Pipeline::new(CaptureOptions::default());
        let rendered = pipeline.render(frames.clone()).unwrap();
        let (w, h) = (rendered.width, rendered.height);
        let new = encode_webp_rgb(rendered.rgb, w, h, QUALITY, METHOD).unwrap();
        let old = old_encode(rendered.rgb, w, h);

        let (nw, nh, n) = measure(&new);
        let (ow, oh, o) = measure(&old);
        assert_eq!((nw, nh), (w, h), "{name}: new thumbnail size");
        assert_eq!((ow, oh), (w, h), "{name}: old thumbnail size");
        for c in 0..3 {
            let d = (n.mean[c] - o.mean[c]).abs();
            assert!(d <= 1.0, "{name}: mean of channel {c} moved by {d:.2}");
        }
        let ratio = n.laplacian_variance / o.laplacian_variance;
        assert!(
            (0.9..=1.1).contains(&ratio),
            "{name}: Laplacian variance {:.2} vs {:.2} (ratio {ratio:.3})",
            n.laplacian_variance,
            o.laplacian_variance
        );
        let bytes = new.len() as f64 / old.len() as f64;
        assert!(
            (0.9..=1.1).contains(&bytes),
            "{name}: {} bytes vs {} before",
            new.len(),
            old.len()
        );
        // The process() path uses the same encoder.
        let thumb = Pipeline::default().process(frames).unwrap();
        assert_eq!(thumb.webp, new, "{name}: process() encodes differently");
        sizes.push(new.len());

        // Negative control: the same composite unblurred is far sharper, so the tolerance
        // above would catch a change in blur.
        let mut sharp = Pipeline::new(CaptureOptions::default().with_blur(false));
        let unblurred = sharp.render(composites_of(name)).unwrap();
        let sharp_webp = encode_webp_rgb(unblurred.rgb, w, h, QUALITY, METHOD).unwrap();
        let (_, _, s) = measure(&sharp_webp);
        assert!(
            s.laplacian_variance > 2.0 * o.laplacian_variance,
            "{name}: unblurred {:.2} vs blurred {:.2}: the measure does not see blur",
            s.laplacian_variance,
            o.laplacian_variance
        );
    }
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2];
    assert!(
        median <= 8192,
        "median thumbnail {median} bytes ({sizes:?})"
    );
}

fn composites_of(name: &str) -> Vec<Frame> {
    composites()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| f)
        .unwrap()
}
