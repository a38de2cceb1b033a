//! A stored thumbnail at the size a list shows it.
//!
//! A web view decodes an image at its own size whatever size it is shown at: a 640×360
//! thumbnail in a 200 px wide grid cell holds 900 KB of decoded pixels, ten times what the cell
//! needs, and a day of 96 keeps the web process's memory high long after they scroll away. The
//! desktop app's image scheme asks for a width ([`scaled_webp`]): the thumbnail is decoded (with
//! the limits of [`crate::decode_thumbnail`]), reduced with an area-averaging box filter and
//! encoded again as lossy WebP, in memory. Nothing of it reaches a disk. A thumbnail already
//! that narrow is answered as it is.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::pipeline::{DEFAULT_WEBP_METHOD, DEFAULT_WEBP_QUALITY};
use crate::{CaptureError, decode_thumbnail, encode_webp_rgb};

/// Narrowest width a caller may ask for.
pub const MIN_SCALED_WIDTH: u32 = 16;

/// `webp` at most `max_width` pixels wide, the aspect ratio kept (at least 1 px high).
pub fn scaled_webp(webp: &[u8], max_width: u32) -> Result<Vec<u8>, CaptureError> {
    if max_width < MIN_SCALED_WIDTH {
        return Err(CaptureError::Processing(format!(
            "cannot scale a thumbnail to {max_width} px"
        )));
    }
    let image = decode_thumbnail(webp)?;
    let (width, height) = image.dimensions();
    if width <= max_width {
        return Ok(webp.to_vec());
    }
    let out_w = max_width;
    let out_h = ((u64::from(height) * u64::from(out_w) + u64::from(width) / 2) / u64::from(width))
        .clamp(1, u64::from(height)) as u32;
    let processing =
        |e: &dyn std::fmt::Display| CaptureError::Processing(format!("scale thumbnail: {e}"));
    let src = Image::from_vec_u8(width, height, image.into_raw(), PixelType::U8x3)
        .map_err(|e| processing(&e))?;
    let mut dst = Image::new(out_w, out_h, PixelType::U8x3);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Box))
        .use_alpha(false);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| processing(&e))?;
    encode_webp_rgb(
        dst.buffer(),
        out_w,
        out_h,
        DEFAULT_WEBP_QUALITY,
        DEFAULT_WEBP_METHOD,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Left half red, right half blue.
    fn halves(width: u32, height: u32) -> Vec<u8> {
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for _ in 0..height {
            for x in 0..width {
                rgb.extend_from_slice(if x < width / 2 {
                    &[220, 30, 30]
                } else {
                    &[30, 30, 220]
                });
            }
        }
        rgb
    }

    #[test]
    fn scales_to_the_width_asked_for_and_keeps_the_picture() {
        let webp = encode_webp_rgb(&halves(640, 360), 640, 360, 70.0, 0).unwrap();
        let small = scaled_webp(&webp, 320).unwrap();
        let image = decode_thumbnail(&small).unwrap();
        assert_eq!(image.dimensions(), (320, 180));
        assert!(
            small.len() < webp.len(),
            "{} vs {}",
            small.len(),
            webp.len()
        );
        let left = image.get_pixel(40, 90).0;
        let right = image.get_pixel(280, 90).0;
        assert!(left[0] > 180 && left[2] < 80, "left {left:?}");
        assert!(right[2] > 180 && right[0] < 80, "right {right:?}");
    }

    #[test]
    fn a_narrow_thumbnail_is_answered_as_it_is() {
        let webp = encode_webp_rgb(&halves(200, 100), 200, 100, 70.0, 0).unwrap();
        assert_eq!(scaled_webp(&webp, 320).unwrap(), webp);
        assert_eq!(scaled_webp(&webp, 200).unwrap(), webp);
    }

    #[test]
    fn refuses_what_it_cannot_do_without_panicking() {
        let webp = encode_webp_rgb(&halves(64, 2), 64, 2, 70.0, 0).unwrap();
        assert!(scaled_webp(&webp, 0).is_err());
        assert!(scaled_webp(b"not a webp", 320).is_err());
        // A very flat picture stays at least one pixel high.
        let flat = decode_thumbnail(&scaled_webp(&webp, 16).unwrap()).unwrap();
        assert_eq!(flat.dimensions(), (16, 1));
    }
}
