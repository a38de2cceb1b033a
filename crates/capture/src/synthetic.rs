//! Synthetic, desktop-like frames for tests, benchmarks and the fake source.
//!
//! A frame looks like a working desktop at 1× (1080p) or 2× (4K) UI scale: a gradient
//! wallpaper, a dark top bar, a side bar and an editor window full of text-like glyph rows
//! (5×7 glyphs, the size of small UI text), title bars with gradients, and a noisy "photo"
//! region that defeats compression the way real photos and video do. Deterministic for a
//! given seed, so sizes and timings are comparable between runs.
//!
//! Everything here builds RGBA frames (the layout xcap delivers).

use crate::{CaptureError, Frame, PixelLayout, Rect};

/// A small deterministic PRNG (xorshift64*), good enough for pixels.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Rng((seed ^ 0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n` > 0; 0 gives 0).
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            0
        } else {
            ((self.next_u64() >> 32) % u64::from(n)) as u32
        }
    }
}

/// A packed RGBA canvas with a few drawing helpers.
struct Canvas {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        Canvas {
            width,
            height,
            data: vec![255; width as usize * height as usize * 4],
        }
    }

    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, rgb: [u8; 3]) {
        let x1 = (x + w).min(self.width);
        let y1 = (y + h).min(self.height);
        if x >= x1 {
            return;
        }
        let px = [rgb[0], rgb[1], rgb[2], 255];
        for row in y..y1 {
            let start = (row as usize * self.width as usize + x as usize) * 4;
            let end = start + (x1 - x) as usize * 4;
            for p in self.data[start..end].chunks_exact_mut(4) {
                p.copy_from_slice(&px);
            }
        }
    }

    fn vertical_gradient(&mut self, x: u32, y: u32, w: u32, h: u32, a: [u8; 3], b: [u8; 3]) {
        for row in 0..h.min(self.height.saturating_sub(y)) {
            let t = row as f32 / h.max(1) as f32;
            let c = [0, 1, 2].map(|i| (a[i] as f32 + (b[i] as f32 - a[i] as f32) * t) as u8);
            self.fill(x, y + row, w, 1, c);
        }
    }
}

/// Bitmaps of 26 pseudo-letters, 5 columns × 7 rows, one `u8` per row (low 5 bits).
fn glyphs(rng: &mut Rng) -> Vec<[u8; 7]> {
    (0..26)
        .map(|_| {
            let stem = 1u8 << rng.below(5);
            let mut g = [0u8; 7];
            for row in g.iter_mut() {
                *row = (rng.next_u64() as u8 & 0x1F & (rng.next_u64() as u8 | 0x0A)) | stem;
            }
            g
        })
        .collect()
}

/// Draws rows of text-like glyphs into the box, `scale` pixels per glyph dot.
fn text_block(
    canvas: &mut Canvas,
    rng: &mut Rng,
    glyphs: &[[u8; 7]],
    area: (u32, u32, u32, u32),
    scale: u32,
    ink: [u8; 3],
) {
    let (x0, y0, w, h) = area;
    let cell_w = 6 * scale;
    let line_h = 11 * scale;
    let mut y = y0 + 4 * scale;
    while y + 7 * scale <= y0 + h {
        let indent = rng.below(6) * 2 * cell_w;
        let line_len = w.saturating_sub(indent) * (40 + rng.below(60)) / 100;
        let mut x = x0 + indent + 4 * scale;
        let end = x0 + indent + line_len;
        while x + cell_w <= end {
            let word = 2 + rng.below(8);
            for _ in 0..word {
                if x + cell_w > end {
                    break;
                }
                let g = glyphs[rng.below(glyphs.len() as u32) as usize];
                for (gy, bits) in g.iter().enumerate() {
                    for gx in 0..5 {
                        if bits & (1 << gx) != 0 {
                            canvas.fill(x + gx * scale, y + gy as u32 * scale, scale, scale, ink);
                        }
                    }
                }
                x += cell_w;
            }
            x += cell_w;
        }
        y += line_h;
    }
}

/// A desktop-like RGBA image of `width` × `height` (packed, `width * height * 4` bytes).
pub fn desktop_rgba(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let glyphs = glyphs(&mut rng);
    let s = (height / 1080).max(1);
    let mut c = Canvas::new(width, height);
    let (w, h) = (width, height);

    // Wallpaper and top bar.
    c.vertical_gradient(0, 0, w, h, [28, 64, 120], [180, 90, 60]);
    c.fill(0, 0, w, 28 * s, [36, 36, 40]);
    text_block(
        &mut c,
        &mut rng,
        &glyphs,
        (0, 0, w / 3, 28 * s),
        s,
        [230, 230, 230],
    );

    // Editor window: title bar, side bar, text.
    let (wx, wy, ww, wh) = (w / 24, 60 * s, w * 15 / 24, h.saturating_sub(120 * s));
    let body = wh.saturating_sub(30 * s);
    c.vertical_gradient(wx, wy, ww, 30 * s, [235, 235, 240], [200, 200, 210]);
    let side = ww / 5;
    c.fill(wx, wy + 30 * s, side, body, [243, 243, 243]);
    text_block(
        &mut c,
        &mut rng,
        &glyphs,
        (wx, wy + 30 * s, side, body),
        s,
        [60, 60, 60],
    );
    c.fill(wx + side, wy + 30 * s, ww - side, body, [255, 255, 255]);
    text_block(
        &mut c,
        &mut rng,
        &glyphs,
        (wx + side, wy + 30 * s, ww - side, body),
        s,
        [20, 20, 30],
    );

    // Photo viewer: title bar and a noisy, smooth-ish picture.
    let (px, py, pw, ph) = (w * 17 / 24, h / 5, w * 6 / 24, h / 2);
    c.vertical_gradient(px, py, pw, 30 * s, [60, 60, 64], [40, 40, 44]);
    let top = py + 30 * s;
    for y in top..(py + ph).min(h) {
        for x in px..(px + pw).min(w) {
            let n = rng.next_u64();
            let fx = (x - px) as f32 / pw as f32;
            let fy = (y - top) as f32 / ph as f32;
            let base = [
                90.0 + 120.0 * fx,
                140.0 - 60.0 * fy + 40.0 * (fx * 9.0).sin(),
                80.0 + 90.0 * fy * fx,
            ];
            let i = (y as usize * w as usize + x as usize) * 4;
            for (ch, b) in base.iter().enumerate() {
                let noise = ((n >> (ch * 8)) & 0x3F) as f32 - 32.0;
                c.data[i + ch] = (b + noise).clamp(0.0, 255.0) as u8;
            }
        }
    }
    c.data
}

/// A desktop-like RGBA frame for a monitor at (`x`, `y`), pixels 1:1 with the desktop.
pub fn desktop_frame(
    x: i32,
    y: i32,
    width: u32,
    height: u32,
    seed: u64,
) -> Result<Frame, CaptureError> {
    Frame::new(
        Rect::new(x, y, width, height),
        width,
        height,
        PixelLayout::Rgba,
        desktop_rgba(width, height, seed),
    )
}

/// A uniformly coloured RGBA frame for a monitor at `bounds`, pixels 1:1 with the desktop.
pub fn solid_frame(bounds: Rect, rgb: [u8; 3]) -> Result<Frame, CaptureError> {
    let len = (bounds.width as usize)
        .checked_mul(bounds.height as usize)
        .ok_or_else(|| CaptureError::InvalidFrame("frame too large".into()))?;
    let data = [rgb[0], rgb[1], rgb[2], 255].repeat(len);
    Frame::new(bounds, bounds.width, bounds.height, PixelLayout::Rgba, data)
}

/// A frame of random noise (incompressible) for a monitor at `bounds`.
pub fn noise_frame(bounds: Rect, seed: u64) -> Result<Frame, CaptureError> {
    let len = (bounds.width as usize)
        .checked_mul(bounds.height as usize)
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| CaptureError::InvalidFrame("frame too large".into()))?;
    let mut rng = Rng::new(seed);
    let mut data = Vec::with_capacity(len);
    while data.len() + 8 <= len {
        data.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    data.resize(len, 0);
    Frame::new(bounds, bounds.width, bounds.height, PixelLayout::Rgba, data)
}
