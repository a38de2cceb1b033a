//! Cheap structural validation of uploaded WebP files, without decoding pixels.
//!
//! The desktop app uploads small lossy WebP thumbnails (R11). The service checks what it can in
//! O(header) time and constant memory before it stores anything: the RIFF/WEBP magic, that the
//! RIFF length matches the body (catches truncation), that every chunk fits inside the file, that
//! the first chunk is an image chunk (`VP8 `, `VP8L` or `VP8X`, not animated), and that the
//! declared dimensions are within [`MAX_SIDE`] and [`MAX_PIXELS`] (a header claiming 60000×60000
//! is refused before anyone tries to decode it). Pixel data is never decoded here — the service
//! only stores and serves the bytes; viewers decode with their own limits.

/// Largest accepted width or height.
pub const MAX_SIDE: u32 = 8192;
/// Largest accepted pixel count (a few side-by-side monitors at thumbnail size fit easily).
pub const MAX_PIXELS: u64 = 16 * 1024 * 1024;

/// Why a body is not an acceptable WebP image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebpError {
    /// Not a RIFF/WEBP file at all.
    #[error("not a WebP image (expected RIFF....WEBP magic bytes)")]
    NotWebp,
    /// The file ends before its declared length, or a chunk overruns it.
    #[error("truncated or malformed WebP image: {0}")]
    Malformed(&'static str),
    /// Declared dimensions are too large.
    #[error(
        "image dimensions {width}x{height} exceed the limit ({MAX_SIDE}x{MAX_SIDE}, {MAX_PIXELS} pixels)"
    )]
    TooLarge {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
    },
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], 0]))
}

/// Validates `bytes` and returns the image's `(width, height)`.
pub fn validate(bytes: &[u8]) -> Result<(u32, u32), WebpError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err(WebpError::NotWebp);
    }
    let riff_len = le32(bytes, 4).ok_or(WebpError::NotWebp)? as usize;
    let total = riff_len
        .checked_add(8)
        .ok_or(WebpError::Malformed("RIFF length overflows"))?;
    if total > bytes.len() {
        return Err(WebpError::Malformed("file is shorter than its RIFF length"));
    }
    if total < bytes.len() {
        return Err(WebpError::Malformed(
            "trailing bytes after the RIFF container",
        ));
    }
    // Walk all chunks: each must fit.
    let mut pos = 12;
    let mut first: Option<(&[u8], &[u8])> = None;
    while pos < total {
        let fourcc = bytes
            .get(pos..pos + 4)
            .ok_or(WebpError::Malformed("chunk header cut"))?;
        let size = le32(bytes, pos + 4).ok_or(WebpError::Malformed("chunk header cut"))? as usize;
        let start = pos + 8;
        let end = start
            .checked_add(size)
            .ok_or(WebpError::Malformed("chunk length overflows"))?;
        let payload = bytes
            .get(start..end)
            .ok_or(WebpError::Malformed("chunk overruns the file"))?;
        if first.is_none() {
            first = Some((fourcc, payload));
        }
        pos = end + (size & 1);
    }
    let (fourcc, payload) = first.ok_or(WebpError::Malformed("no image chunk"))?;
    let (width, height): (u64, u64) = match fourcc {
        b"VP8 " => {
            // 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height.
            if payload.get(3..6) != Some(&[0x9d, 0x01, 0x2a][..]) {
                return Err(WebpError::Malformed("bad VP8 start code"));
            }
            let w = payload
                .get(6..8)
                .ok_or(WebpError::Malformed("VP8 header cut"))?;
            let h = payload
                .get(8..10)
                .ok_or(WebpError::Malformed("VP8 header cut"))?;
            (
                u64::from(u16::from_le_bytes([w[0], w[1]]) & 0x3fff),
                u64::from(u16::from_le_bytes([h[0], h[1]]) & 0x3fff),
            )
        }
        b"VP8L" => {
            if payload.first() != Some(&0x2f) {
                return Err(WebpError::Malformed("bad VP8L signature"));
            }
            let bits = le32(payload, 1).ok_or(WebpError::Malformed("VP8L header cut"))?;
            (
                u64::from(bits & 0x3fff) + 1,
                u64::from((bits >> 14) & 0x3fff) + 1,
            )
        }
        b"VP8X" => {
            let flags = *payload
                .first()
                .ok_or(WebpError::Malformed("VP8X header cut"))?;
            if flags & 0x02 != 0 {
                return Err(WebpError::Malformed("animated WebP is not accepted"));
            }
            (
                u64::from(le24(payload, 4).ok_or(WebpError::Malformed("VP8X header cut"))?) + 1,
                u64::from(le24(payload, 7).ok_or(WebpError::Malformed("VP8X header cut"))?) + 1,
            )
        }
        _ => return Err(WebpError::Malformed("first chunk is not an image")),
    };
    if width == 0 || height == 0 {
        return Err(WebpError::Malformed("zero-sized image"));
    }
    if width > u64::from(MAX_SIDE) || height > u64::from(MAX_SIDE) || width * height > MAX_PIXELS {
        return Err(WebpError::TooLarge { width, height });
    }
    let w = u32::try_from(width).map_err(|_| WebpError::TooLarge { width, height })?;
    let h = u32::try_from(height).map_err(|_| WebpError::TooLarge { width, height })?;
    Ok((w, h))
}

/// A minimal valid lossless WebP header of the given size (for tests and benchmarks; the pixel
/// payload is filler, which is fine because the service never decodes).
#[must_use]
pub fn synthetic(width: u32, height: u32, payload_len: usize) -> Vec<u8> {
    let mut chunk = vec![0x2f];
    let bits = (width.saturating_sub(1) & 0x3fff) | ((height.saturating_sub(1) & 0x3fff) << 14);
    chunk.extend_from_slice(&bits.to_le_bytes());
    chunk.resize(5 + payload_len, 0);
    let mut out = Vec::with_capacity(chunk.len() + 21);
    out.extend_from_slice(b"RIFF");
    let padded = chunk.len() + (chunk.len() & 1);
    let riff_len = u32::try_from(4 + 8 + padded).unwrap_or(u32::MAX);
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(b"VP8L");
    out.extend_from_slice(&u32::try_from(chunk.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&chunk);
    if chunk.len() & 1 == 1 {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp8x(width: u32, height: u32) -> Vec<u8> {
        let mut payload = vec![0u8; 10];
        payload[4..7].copy_from_slice(&(width - 1).to_le_bytes()[..3]);
        payload[7..10].copy_from_slice(&(height - 1).to_le_bytes()[..3]);
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(4u32 + 8 + 10).to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(b"VP8X");
        out.extend_from_slice(&10u32.to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// A RIFF/WEBP file of one chunk, padded to an even length as the format asks.
    fn one_chunk(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let padded = payload.len() + (payload.len() & 1);
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&u32::try_from(4 + 8 + padded).unwrap().to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(fourcc);
        out.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
        out.extend_from_slice(payload);
        if payload.len() & 1 == 1 {
            out.push(0);
        }
        out
    }

    /// A lossy (`VP8 `) frame header: frame tag, start code, 14-bit sizes with 2 scale bits.
    fn vp8(width: u16, height: u16, scale: u16) -> Vec<u8> {
        let mut payload = vec![0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a];
        payload.extend_from_slice(&(width | (scale << 14)).to_le_bytes());
        payload.extend_from_slice(&(height | (scale << 14)).to_le_bytes());
        payload.extend_from_slice(&[0u8; 8]);
        one_chunk(b"VP8 ", &payload)
    }

    fn malformed(bytes: &[u8]) -> &'static str {
        match validate(bytes) {
            Err(WebpError::Malformed(why)) => why,
            other => panic!("expected a malformed image, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_size_of_a_lossy_image_and_ignores_its_scale_bits() {
        assert_eq!(validate(&vp8(640, 360, 0)), Ok((640, 360)));
        assert_eq!(validate(&vp8(640, 360, 3)), Ok((640, 360)));
        assert_eq!(validate(&vp8(MAX_SIDE as u16, 1, 3)), Ok((MAX_SIDE, 1)));
        assert_eq!(
            validate(&vp8(0x3fff, 1, 3)),
            Err(WebpError::TooLarge {
                width: 0x3fff,
                height: 1
            })
        );
    }

    #[test]
    fn refuses_a_broken_lossy_header() {
        let mut bad_start = vp8(640, 360, 0);
        bad_start[20 + 4] = 0x00;
        assert_eq!(malformed(&bad_start), "bad VP8 start code");
        let start_only = one_chunk(b"VP8 ", &[0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80]);
        assert_eq!(malformed(&start_only), "VP8 header cut");
        let width_only = one_chunk(
            b"VP8 ",
            &[0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68],
        );
        assert_eq!(malformed(&width_only), "VP8 header cut");
        assert_eq!(malformed(&vp8(0, 360, 0)), "zero-sized image");
        assert_eq!(malformed(&vp8(640, 0, 0)), "zero-sized image");
    }

    #[test]
    fn refuses_a_broken_lossless_or_extended_header() {
        let mut lossless = synthetic(10, 10, 4);
        lossless[20] = 0x2e;
        assert_eq!(malformed(&lossless), "bad VP8L signature");
        assert_eq!(
            malformed(&one_chunk(b"VP8L", &[0x2f, 0, 0, 0])),
            "VP8L header cut"
        );
        let mut animated = vp8x(10, 10);
        animated[20] = 0x02;
        assert_eq!(malformed(&animated), "animated WebP is not accepted");
        let mut other_flags = vp8x(10, 10);
        other_flags[20] = 0x3d;
        assert_eq!(validate(&other_flags), Ok((10, 10)));
        assert_eq!(malformed(&one_chunk(b"VP8X", &[])), "VP8X header cut");
        assert_eq!(malformed(&one_chunk(b"VP8X", &[0; 6])), "VP8X header cut");
        assert_eq!(malformed(&one_chunk(b"VP8X", &[0; 9])), "VP8X header cut");
        assert_eq!(
            malformed(&one_chunk(b"ICCP", &[0; 10])),
            "first chunk is not an image"
        );
    }

    #[test]
    fn every_chunk_must_fit_and_nothing_may_follow() {
        let mut good = synthetic(10, 10, 100);
        good.push(0);
        assert_eq!(malformed(&good), "trailing bytes after the RIFF container");
        let good = synthetic(10, 10, 100);
        assert_eq!(
            malformed(&good[..good.len() - 1]),
            "file is shorter than its RIFF length"
        );
        // The RIFF length holds the bytes, but the chunk claims more.
        let mut overrun = synthetic(10, 10, 100);
        overrun[16..20].copy_from_slice(&200u32.to_le_bytes());
        assert_eq!(malformed(&overrun), "chunk overruns the file");
        // A second chunk whose header is cut.
        let mut cut = synthetic(10, 10, 1);
        cut.extend_from_slice(b"EXIF");
        let riff = u32::try_from(cut.len() - 8).unwrap();
        cut[4..8].copy_from_slice(&riff.to_le_bytes());
        assert_eq!(malformed(&cut), "chunk header cut");
        // No chunk at all.
        let mut empty = b"RIFF".to_vec();
        empty.extend_from_slice(&4u32.to_le_bytes());
        empty.extend_from_slice(b"WEBP");
        assert_eq!(malformed(&empty), "no image chunk");
        // The size comes from the first chunk, whatever follows.
        let mut two = vp8(640, 360, 0);
        let second = one_chunk(b"VP8L", &[0x2f, 0xff, 0xff, 0xff, 0x0f]);
        two.extend_from_slice(&second[12..]);
        let riff = u32::try_from(two.len() - 8).unwrap();
        two[4..8].copy_from_slice(&riff.to_le_bytes());
        assert_eq!(validate(&two), Ok((640, 360)));
    }

    #[test]
    fn limits_each_side_and_the_pixel_count_at_their_bounds() {
        let side = MAX_SIDE;
        assert_eq!(validate(&vp8x(side, 1)), Ok((side, 1)));
        assert_eq!(validate(&vp8x(1, side)), Ok((1, side)));
        assert!(matches!(
            validate(&vp8x(side + 1, 1)),
            Err(WebpError::TooLarge { .. })
        ));
        assert!(matches!(
            validate(&vp8x(1, side + 1)),
            Err(WebpError::TooLarge { .. })
        ));
        // All three bytes of an extended header's size count.
        assert_eq!(
            validate(&vp8x(0x01_0001, 1)),
            Err(WebpError::TooLarge {
                width: 0x01_0001,
                height: 1
            })
        );
        // 4096 × 4096 is exactly MAX_PIXELS.
        assert_eq!(validate(&vp8x(4096, 4096)), Ok((4096, 4096)));
        assert_eq!(
            validate(&vp8x(4097, 4096)),
            Err(WebpError::TooLarge {
                width: 4097,
                height: 4096
            })
        );
    }

    #[test]
    fn synthetic_round_trips() {
        for len in [0, 1, 100, 6000] {
            assert_eq!(validate(&synthetic(640, 360, len)), Ok((640, 360)));
        }
    }

    #[test]
    fn refuses_garbage_truncation_and_giants() {
        assert_eq!(
            validate(b"\x89PNG\r\n\x1a\n0000000000"),
            Err(WebpError::NotWebp)
        );
        assert_eq!(validate(b""), Err(WebpError::NotWebp));
        let mut wave = synthetic(10, 10, 4);
        wave[8..12].copy_from_slice(b"WAVE");
        assert_eq!(validate(&wave), Err(WebpError::NotWebp));
        let mut rifx = synthetic(10, 10, 4);
        rifx[0..4].copy_from_slice(b"RIFX");
        assert_eq!(validate(&rifx), Err(WebpError::NotWebp));
        let good = synthetic(10, 10, 100);
        assert!(matches!(
            validate(&good[..good.len() - 1]),
            Err(WebpError::Malformed(_))
        ));
        assert!(matches!(
            validate(&good[..20]),
            Err(WebpError::Malformed(_))
        ));
        assert_eq!(
            validate(&vp8x(60000, 60000)),
            Err(WebpError::TooLarge {
                width: 60000,
                height: 60000
            })
        );
        assert_eq!(validate(&vp8x(4000, 2000)), Ok((4000, 2000)));
    }
}
