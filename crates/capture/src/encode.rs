//! WebP encoding of the thumbnail, and a bounded decoder for tests and tools.
//!
//! Design: lossy WebP through the `webp` crate (vendored libwebp, C only). Input is packed RGB
//! at thumbnail size, so libwebp stores no alpha plane. Quality 70 / method 0 (the pipeline's
//! defaults) keeps a blurred 640×360 desktop around 5 KB in a few milliseconds; the blur
//! removes the high frequencies that would otherwise cost bytes (unblurred: ~40 KB). Method 0
//! is libwebp's fastest; it is still the largest step of the pipeline (~3 ms for 640×360).
//! Decoding goes through the `image` crate with explicit [`image::Limits`], so a hostile or
//! corrupt file cannot make a tool allocate without bound.
//!
//! Invariant: sizes are validated here before libwebp (or the `webp` crate, which panics on a
//! short buffer) sees them.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits, RgbImage};

use crate::CaptureError;
use crate::layout::MAX_CANVAS_SIDE;

/// Largest allocation the decoder may make (a 16383² RGBA image would need ~1 GB).
pub const DECODE_MAX_ALLOC: u64 = 64 * 1024 * 1024;

/// Encodes packed RGB (`width * height * 3` bytes) as lossy WebP.
///
/// `quality` is clamped to 0–100, `method` to 0–6 (0 fastest).
pub fn encode_webp_rgb(
    rgb: &[u8],
    width: u32,
    height: u32,
    quality: f32,
    method: u8,
) -> Result<Vec<u8>, CaptureError> {
    if width == 0 || height == 0 || width > MAX_CANVAS_SIDE || height > MAX_CANVAS_SIDE {
        return Err(CaptureError::Processing(format!(
            "cannot encode a {width}x{height} WebP"
        )));
    }
    if rgb.len() != width as usize * height as usize * 3 {
        return Err(CaptureError::Processing(format!(
            "RGB buffer of {} bytes for {width}x{height}",
            rgb.len()
        )));
    }
    let mut config = webp::WebPConfig::new()
        .map_err(|()| CaptureError::Processing("libwebp config init failed".into()))?;
    config.lossless = 0;
    config.quality = if quality.is_nan() {
        0.0
    } else {
        quality.clamp(0.0, 100.0)
    };
    config.method = i32::from(method.min(6));
    let encoded = webp::Encoder::from_rgb(rgb, width, height)
        .encode_advanced(&config)
        .map_err(|e| CaptureError::Processing(format!("webp encode: {e:?}")))?;
    Ok(encoded.to_vec())
}

/// Decodes a WebP thumbnail to RGB with explicit limits (at most [`MAX_CANVAS_SIDE`] per side
/// and [`DECODE_MAX_ALLOC`] bytes). For tests and tools; the capture path never decodes.
pub fn decode_thumbnail(webp: &[u8]) -> Result<RgbImage, CaptureError> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_CANVAS_SIDE);
    limits.max_image_height = Some(MAX_CANVAS_SIDE);
    limits.max_alloc = Some(DECODE_MAX_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(webp), ImageFormat::WebP);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| CaptureError::Decode(e.to_string()))?;
    Ok(image.to_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_solid_colour() {
        let rgb = [51u8, 102, 204].repeat(64 * 48);
        let webp = encode_webp_rgb(&rgb, 64, 48, 60.0, 2).unwrap();
        assert_eq!(&webp[..4], b"RIFF");
        let img = decode_thumbnail(&webp).unwrap();
        assert_eq!(img.dimensions(), (64, 48));
        let px = img.get_pixel(32, 24).0;
        for (got, want) in px.iter().zip([51u8, 102, 204]) {
            assert!(got.abs_diff(want) <= 4, "{px:?}");
        }
    }

    #[test]
    fn rejects_bad_sizes_instead_of_panicking() {
        assert!(encode_webp_rgb(&[0; 5], 1, 2, 60.0, 2).is_err());
        assert!(encode_webp_rgb(&[], 0, 0, 60.0, 2).is_err());
        assert!(decode_thumbnail(b"not a webp").is_err());
    }
}
