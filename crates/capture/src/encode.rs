//! WebP encoding of the thumbnail, and a bounded decoder for tests and tools.
//!
//! Design: lossy WebP through libwebp (vendored by `libwebp-sys`, C only). The blurred packed
//! RGB composite is imported **straight into libwebp's YUV 4:2:0 picture** (`use_argb = 0`, then
//! `WebPPictureImportRGB`: one fused RGB → YUV pass) and encoded from there. The `webp` crate
//! sets `use_argb = 1` instead, so libwebp first copies the RGB into an ARGB plane and then
//! converts that to YUV inside `WebPEncode`: an extra full-size copy and pass for the same
//! picture (same conversion routine, no dithering), about a third of the encode time at 640×360.
//! There is no alpha plane. Quality 70 / method 0 (the pipeline's defaults) keeps a blurred
//! 640×360 desktop around 5 KB; the blur removes the high frequencies that would otherwise
//! cost bytes (unblurred: ~40 KB). Method 0 is libwebp's fastest.
//! Decoding goes through the `image` crate with explicit [`image::Limits`], so a hostile or
//! corrupt file cannot make a tool allocate without bound.
//!
//! Invariant: sizes are validated here before libwebp sees them; the only `unsafe` of the crate
//! is the FFI in [`ffi`], which owns and frees every libwebp allocation on every path.

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
    let quality = if quality.is_nan() {
        0.0
    } else {
        quality.clamp(0.0, 100.0)
    };
    ffi::encode_rgb_via_yuv(rgb, width, height, quality, i32::from(method.min(6)))
}

/// The libwebp calls. Callers have checked `0 < width, height ≤ MAX_CANVAS_SIDE` (so every
/// product fits an `i32`) and `rgb.len() == width * height * 3`.
#[allow(unsafe_code)]
mod ffi {
    use libwebp_sys as sys;

    use crate::CaptureError;

    fn failed(what: &str) -> CaptureError {
        CaptureError::Processing(format!("libwebp: {what}"))
    }

    /// Frees the picture's YUV planes however the function returns.
    struct Picture(sys::WebPPicture);

    impl Drop for Picture {
        fn drop(&mut self) {
            // SAFETY: the picture was initialised by `WebPPicture::new` (all-null planes are
            // fine) and its planes, if any, were allocated by libwebp; freeing twice is not
            // possible because this is the only owner.
            unsafe { sys::WebPPictureFree(&mut self.0) };
        }
    }

    /// Frees the output buffer libwebp grew, after it has been copied out.
    struct Writer(sys::WebPMemoryWriter);

    impl Drop for Writer {
        fn drop(&mut self) {
            // SAFETY: initialised by `WebPMemoryWriterInit`; `mem` is libwebp's own allocation
            // (or null) and is freed only here.
            unsafe { sys::WebPMemoryWriterClear(&mut self.0) };
        }
    }

    pub(super) fn encode_rgb_via_yuv(
        rgb: &[u8],
        width: u32,
        height: u32,
        quality: f32,
        method: i32,
    ) -> Result<Vec<u8>, CaptureError> {
        let mut config = sys::WebPConfig::new().map_err(|()| failed("config init"))?;
        config.lossless = 0;
        config.quality = quality;
        config.method = method;
        // SAFETY: `config` is an initialised config owned by this frame.
        if unsafe { sys::WebPValidateConfig(&config) } == 0 {
            return Err(failed("invalid config"));
        }

        let mut picture = Picture(sys::WebPPicture::new().map_err(|()| failed("picture init"))?);
        // YUV 4:2:0 planes, filled straight from RGB below (no intermediate ARGB plane).
        picture.0.use_argb = 0;
        picture.0.width = width as i32;
        picture.0.height = height as i32;
        let stride = width as i32 * 3;
        // SAFETY: `rgb` holds exactly `height` rows of `stride` bytes (checked by the caller)
        // and outlives the call; libwebp reads it and allocates the picture's own planes.
        if unsafe { sys::WebPPictureImportRGB(&mut picture.0, rgb.as_ptr(), stride) } == 0 {
            return Err(failed("RGB import (out of memory?)"));
        }

        // SAFETY: a zeroed writer is what `WebPMemoryWriterInit` overwrites; all-zero is a
        // valid bit pattern for this plain C struct (a null pointer and two sizes).
        let mut writer = Writer(unsafe { std::mem::zeroed() });
        // SAFETY: `writer.0` is a valid, exclusively borrowed struct.
        unsafe { sys::WebPMemoryWriterInit(&mut writer.0) };
        picture.0.writer = Some(sys::WebPMemoryWrite);
        picture.0.custom_ptr = (&mut writer.0 as *mut sys::WebPMemoryWriter).cast();
        // SAFETY: config validated, picture imported, its writer appends to `writer`, which
        // lives (at a fixed address: it is not moved before the call returns) past the call.
        let ok = unsafe { sys::WebPEncode(&config, &mut picture.0) };
        if ok == 0 {
            return Err(failed(&format!("encode ({:?})", picture.0.error_code)));
        }
        if writer.0.mem.is_null() || writer.0.size == 0 {
            return Err(failed("empty output"));
        }
        // SAFETY: libwebp wrote `size` initialised bytes at `mem`; copied out before `writer`
        // frees them.
        let bytes = unsafe { std::slice::from_raw_parts(writer.0.mem, writer.0.size) };
        Ok(bytes.to_vec())
    }
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
