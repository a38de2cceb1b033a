//! The privacy transform: frames → composite → blur → WebP, in memory (PRODUCT R10, R11).
//!
//! Step 0, in [`Pipeline::grab`], only while a [`Blocklist`] is in force: **redaction**
//! ([`crate::redact`]). The source lists its windows, grabs, lists again; every window the
//! list matches in either listing (and every popup over one) is filled with a solid colour in
//! the full-resolution frames, before anything below reads them. A listing that fails fails
//! the capture with `redaction_unavailable` and no frame leaves [`Pipeline::grab`]. With an
//! empty list nothing is listed.
//!
//! Steps, in order, for [`Pipeline::process`]:
//! 1. **Layout** ([`crate::layout::plan`]): one scale factor for the whole desktop, every
//!    monitor at most [`CaptureOptions::max_monitor_width`] px wide, positions scaled relative
//!    to the bounding box origin.
//! 2. **Resize** each frame. A whole-number ratio (1920 → 640 is 3, 3840 → 640 is 6) goes
//!    through [`crate::reduce`]: an exact `k × k` block average in one pass, written straight
//!    into the RGB composite. Any other ratio goes through `fast_image_resize` (SIMD
//!    convolution, area-averaging box filter) *in the byte order the backend delivered*: no
//!    full-resolution colour conversion or copy. The resize runs in horizontal bands of output rows (a crop box per band; the
//!    filter still reads across band borders, so there are no seams), sized by [`band_rows`]
//!    so the resizer's intermediate buffer stays within [`BAND_BUDGET_BYTES`] (0.5 MiB)
//!    instead of a `source width × output height` plane (≈ 5.3 MiB for 4K). Measured: bands
//!    of 16 rows cost 3× the time of one pass at 1080p, 32+ rows are within ~20–35%. The
//!    band's output (thumbnail width × band rows, tens of KiB) is then copied into the
//!    **RGB** composite, dropping alpha and swapping BGRA→RGB on the way: the only colour
//!    conversion, at thumbnail size. Each frame is **dropped as soon as it is resized**,
//!    before the next one is touched.
//! 3. **Health** ([`crate::health`]) on the unblurred composite, monitor regions only.
//! 4. **Blur** with libblur's SIMD stack blur, *after* downscaling: whatever detail the
//!    downscale kept is spread over ±[`CaptureOptions::blur_radius`] thumbnail pixels
//!    (σ ≈ 3.7 px at the default radius 8; glyphs of ordinary text are 3–5 px tall at
//!    thumbnail scale), so text is gone, while window layout and colours stay recognisable as proof of
//!    work. Irreversible: the downscale discarded the detail before the blur, there is nothing
//!    left to deconvolve. Switched off by `blur: false` (admin setting); the image stays
//!    low-resolution.
//! 5. **Encode** lossy WebP from RGB (see [`crate::encode`]).
//!
//! Buffers: the [`Pipeline`] keeps the resizer (with its band buffer), the band output, one
//! row of column sums for whole ratios (`source width × 8` bytes) and the RGB composite
//! between captures, so a steady-state capture allocates only the frames
//! (the backend's) and the encoded bytes. Retained memory is about
//! `composite × 3 + BAND_BUDGET_BYTES` bytes at most (≈ 1.2 MiB for one monitor);
//! [`Pipeline::release_buffers`] frees it. Peak during a capture: the frames, plus that.
//!
//! Invariants: nothing here writes to disk, logs pixels or keeps a full-resolution buffer past
//! the resize of its own monitor. No `unsafe`, no panics (every size is validated first).
//!
//! Known gaps: with several monitors the backend hands over all frames at once (R10's "same
//! instant" wins over memory), so the peak holds every frame until its turn; the blur is a
//! fixed radius in thumbnail pixels, so a monitor narrower than `max_monitor_width` (not
//! downscaled) relies on the blur alone.

use std::time::{Duration, Instant};

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use libblur::{AnisotropicRadius, BlurImageMut, FastBlurChannels, ThreadingPolicy};

use crate::health::{HasHealth, classify_rgb};
use crate::layout::{self, DEFAULT_MAX_MONITOR_WIDTH, Placement};
use crate::redact::{self, Blocklist};
use crate::{CaptureError, Frame, Health, PixelLayout, ScreenSource, encode, reduce};

/// Budget for the resizer's intermediate buffer: `source width × band rows × 4` bytes.
pub const BAND_BUDGET_BYTES: usize = 512 * 1024;

/// Fewest output rows per band (each band costs a fixed setup, ~0.1 ms).
pub const MIN_BAND_ROWS: u32 = 16;

/// Most output rows per band.
pub const MAX_BAND_ROWS: u32 = 128;

/// Output rows per band for a source `width` pixels wide: as many as fit the budget
/// (68 for 1920 px, 34 for 3840 px), within [`MIN_BAND_ROWS`]..=[`MAX_BAND_ROWS`].
pub fn band_rows(width: u32) -> u32 {
    let per_row = (width as usize).max(1) * 4;
    let rows = (BAND_BUDGET_BYTES / per_row).min(MAX_BAND_ROWS as usize) as u32;
    rows.max(MIN_BAND_ROWS)
}

/// Default blur radius in thumbnail pixels (stack blur; about a Gaussian of σ ≈ (r+1)/2.45).
pub const DEFAULT_BLUR_RADIUS: u32 = 8;

/// Default WebP quality (0–100): a blurred 640×360 desktop comes out around 5 KB.
pub const DEFAULT_WEBP_QUALITY: f32 = 70.0;

/// Default libwebp effort (0 fastest … 6 smallest). Method 0 encodes a 640×360 thumbnail
/// about twice as fast as method 2 for ~12% more bytes; the encoder is the largest step.
pub const DEFAULT_WEBP_METHOD: u8 = 0;

/// The downscaling filter: `Box` as a convolution is an exact area average over each output
/// pixel's footprint (every source pixel read once per axis): fully antialiased, the cheapest
/// correct choice, and sharper filters would only be blurred away afterwards.
const RESIZE_ALG: ResizeAlg = ResizeAlg::Convolution(FilterType::Box);

/// Tunables of the transform. `Default` is the product setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureOptions {
    /// Blur the thumbnail (default `true`; an admin may switch it off — the image stays
    /// low-resolution).
    pub blur: bool,
    /// Blur radius in thumbnail pixels (default [`DEFAULT_BLUR_RADIUS`]).
    pub blur_radius: u32,
    /// Largest width of one monitor in the thumbnail (default 640).
    pub max_monitor_width: u32,
    /// WebP quality 0–100 (default [`DEFAULT_WEBP_QUALITY`]).
    pub webp_quality: f32,
    /// libwebp method 0–6 (default [`DEFAULT_WEBP_METHOD`]).
    pub webp_method: u8,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            blur: true,
            blur_radius: DEFAULT_BLUR_RADIUS,
            max_monitor_width: DEFAULT_MAX_MONITOR_WIDTH,
            webp_quality: DEFAULT_WEBP_QUALITY,
            webp_method: DEFAULT_WEBP_METHOD,
        }
    }
}

impl CaptureOptions {
    /// The default options with blur switched on or off.
    pub fn with_blur(self, blur: bool) -> Self {
        CaptureOptions { blur, ..self }
    }
}

/// Wall-clock time of each step of one capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepTimings {
    /// The backend's capture (zero for [`Pipeline::process`]).
    pub grab: Duration,
    /// Listing windows before and after the grab and blanking the blocked ones (zero with
    /// an empty blocklist).
    pub redact: Duration,
    /// Layout, banded resize into the RGB composite, health.
    pub resize: Duration,
    /// Blur (zero when switched off).
    pub blur: Duration,
    /// WebP encoding.
    pub encode: Duration,
}

impl StepTimings {
    /// Everything after the grab: resize + blur + encode.
    pub fn processing(&self) -> Duration {
        self.resize + self.blur + self.encode
    }
}

/// The result of one successful capture: the only thing that may be stored or sent.
#[derive(Clone, PartialEq)]
pub struct Thumbnail {
    /// Lossy WebP bytes.
    pub webp: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `Ok`, `AllBlack` or `SingleColour` (failures are errors, see [`CaptureError::health`]).
    pub health: Health,
    /// Time spent in each step.
    pub timings: StepTimings,
}

impl std::fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thumbnail")
            .field("webp_bytes", &self.webp.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("health", &self.health)
            .field("timings", &self.timings)
            .finish()
    }
}

impl HasHealth for Thumbnail {
    fn health(&self) -> Health {
        self.health.clone()
    }
}

/// The composite before encoding, borrowed from the pipeline's buffer (tests and tools).
#[derive(Debug)]
pub struct Rendered<'a> {
    /// Packed RGB, `width * height * 3` bytes, blurred when the options say so.
    pub rgb: &'a [u8],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Classification of the unblurred composite.
    pub health: Health,
}

impl HasHealth for Rendered<'_> {
    fn health(&self) -> Health {
        self.health.clone()
    }
}

/// Reusable capture pipeline: holds the resizer and scratch buffers between captures.
///
/// One per capturing thread; not shared (`&mut self` everywhere).
#[derive(Debug)]
pub struct Pipeline {
    options: CaptureOptions,
    blocklist: Blocklist,
    resizer: Resizer,
    /// Packed RGB composite.
    canvas: Vec<u8>,
    /// One band of resized output in the frame's 4-byte layout.
    band: Vec<u8>,
    /// One row of column sums for a whole-ratio reduction ([`reduce`]).
    sums: Vec<u16>,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline::new(CaptureOptions::default())
    }
}

impl Pipeline {
    /// A pipeline with `options`.
    pub fn new(options: CaptureOptions) -> Self {
        Pipeline {
            options,
            blocklist: Blocklist::default(),
            resizer: Resizer::new(),
            canvas: Vec::new(),
            band: Vec::new(),
            sums: Vec::new(),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &CaptureOptions {
        &self.options
    }

    /// Changes the options (e.g. the admin switched blur off); buffers are kept.
    pub fn set_options(&mut self, options: CaptureOptions) {
        self.options = options;
    }

    /// The blocked windows in force.
    pub fn blocklist(&self) -> &Blocklist {
        &self.blocklist
    }

    /// Replaces the blocked windows (the engine's union of workspace and own rules).
    pub fn set_blocklist(&mut self, blocklist: Blocklist) {
        self.blocklist = blocklist;
    }

    /// Captures every monitor from `source` and turns the frames into a [`Thumbnail`].
    ///
    /// Blocks: call it from a blocking thread (or use [`crate::Capturer`]). On failure the
    /// error's [`CaptureError::health`] says why (R12).
    pub fn capture<S: ScreenSource + ?Sized>(
        &mut self,
        source: &mut S,
    ) -> Result<Thumbnail, CaptureError> {
        let (frames, grab, redact) = self.grab_timed(source)?;
        let mut thumbnail = self.process(frames)?;
        thumbnail.timings.grab = grab;
        thumbnail.timings.redact = redact;
        Ok(thumbnail)
    }

    /// Step 0: the full-resolution frames of every monitor, blocked windows already filled
    /// (see the module docs). Fails with [`CaptureError::RedactionUnavailable`] when a
    /// blocklist is in force and the windows cannot be listed; the frames are then dropped
    /// here.
    pub fn grab<S: ScreenSource + ?Sized>(
        &mut self,
        source: &mut S,
    ) -> Result<Vec<Frame>, CaptureError> {
        self.grab_timed(source).map(|(frames, _, _)| frames)
    }

    fn grab_timed<S: ScreenSource + ?Sized>(
        &mut self,
        source: &mut S,
    ) -> Result<(Vec<Frame>, Duration, Duration), CaptureError> {
        if self.blocklist.is_empty() {
            let started = Instant::now();
            let frames = source.capture_all()?;
            return Ok((frames, started.elapsed(), Duration::ZERO));
        }
        let started = Instant::now();
        let before = source.windows()?;
        let grab_started = Instant::now();
        let mut frames = source.capture_all()?;
        let grab = grab_started.elapsed();
        let after_started = Instant::now();
        let after = source.windows()?;
        let rects = redact::select(&self.blocklist, &[&before, &after]);
        redact::blank(&mut frames, &rects, redact::MARGIN);
        let redact = (grab_started - started) + after_started.elapsed();
        Ok((frames, grab, redact))
    }

    /// Turns already-captured frames into a [`Thumbnail`]; consumes (and frees) the frames.
    pub fn process(&mut self, frames: Vec<Frame>) -> Result<Thumbnail, CaptureError> {
        let mut timings = StepTimings::default();
        let (width, height, health) = self.render_into_canvas(frames, &mut timings)?;
        let started = Instant::now();
        let rgb = self
            .canvas
            .get(..rgb_len(width, height))
            .ok_or_else(|| CaptureError::Processing("composite buffer too small".into()))?;
        let webp = encode::encode_webp_rgb(
            rgb,
            width,
            height,
            self.options.webp_quality,
            self.options.webp_method,
        )?;
        timings.encode = started.elapsed();
        Ok(Thumbnail {
            webp,
            width,
            height,
            health,
            timings,
        })
    }

    /// Like [`Pipeline::process`] but stops before encoding and lends the RGB composite.
    pub fn render(&mut self, frames: Vec<Frame>) -> Result<Rendered<'_>, CaptureError> {
        let mut timings = StepTimings::default();
        let (width, height, health) = self.render_into_canvas(frames, &mut timings)?;
        let rgb = self
            .canvas
            .get(..rgb_len(width, height))
            .ok_or_else(|| CaptureError::Processing("composite buffer too small".into()))?;
        Ok(Rendered {
            rgb,
            width,
            height,
            health,
        })
    }

    /// Bytes currently held between captures (composite + resizer scratch).
    pub fn retained_bytes(&self) -> usize {
        self.canvas.capacity()
            + self.band.capacity()
            + self.sums.capacity() * 2
            + self.resizer.size_of_internal_buffers()
    }

    /// Frees the scratch buffers (e.g. when capture is switched off); the next capture
    /// allocates them again.
    pub fn release_buffers(&mut self) {
        self.canvas = Vec::new();
        self.band = Vec::new();
        self.sums = Vec::new();
        self.resizer.reset_internal_buffers();
    }

    /// Steps 1–4; leaves packed RGB in `self.canvas[..w*h*3]`.
    fn render_into_canvas(
        &mut self,
        frames: Vec<Frame>,
        timings: &mut StepTimings,
    ) -> Result<(u32, u32, Health), CaptureError> {
        let started = Instant::now();
        let bounds: Vec<_> = frames.iter().map(Frame::bounds).collect();
        let layout = layout::plan(&bounds, self.options.max_monitor_width)?;
        let (width, height) = (layout.width, layout.height);

        self.canvas.clear();
        self.canvas.resize(rgb_len(width, height), 0);
        for (frame, place) in frames.into_iter().zip(&layout.placements) {
            let whole = reduce::ratio(frame.width(), frame.height(), place.width, place.height);
            let reduced = whole.is_some_and(|k| {
                let stride = width as usize * 3;
                let target = reduce::Target {
                    rgb: &mut self.canvas,
                    first: place.y as usize * stride + place.x as usize * 3,
                    stride,
                    out_w: place.width as usize,
                    out_h: place.height as usize,
                };
                reduce::reduce_into_rgb(frame.data(), frame.layout(), k, target, &mut self.sums)
            });
            if !reduced {
                let target = Composite {
                    rgb: &mut self.canvas,
                    width,
                    place: *place,
                };
                resize_banded(&mut self.resizer, &mut self.band, &frame, target)?;
            }
            // The full-resolution frame is freed here, before the next monitor is touched.
            drop(frame);
        }
        let health = classify_rgb(&self.canvas, width, &layout.placements);
        timings.resize = started.elapsed();

        if self.options.blur {
            let started = Instant::now();
            blur_rgb(&mut self.canvas, width, height, self.options.blur_radius)?;
            timings.blur = started.elapsed();
        }
        Ok((width, height, health))
    }
}

fn rgb_len(width: u32, height: u32) -> usize {
    width as usize * height as usize * 3
}

/// Where one monitor goes: its rectangle in the packed RGB composite.
struct Composite<'a> {
    rgb: &'a mut [u8],
    width: u32,
    place: Placement,
}

/// Resizes `frame` into its place of the composite, [`band_rows`] output rows at a time,
/// converting each band to RGB as it is copied in.
fn resize_banded(
    resizer: &mut Resizer,
    band: &mut Vec<u8>,
    frame: &Frame,
    target: Composite<'_>,
) -> Result<(), CaptureError> {
    let processing = |what: &str, e: &dyn std::fmt::Display| {
        CaptureError::Processing(format!("resize {what}: {e}"))
    };
    let Composite { rgb, width, place } = target;
    let src = ImageRef::new(frame.width(), frame.height(), frame.data(), PixelType::U8x4)
        .map_err(|e| processing("source", &e))?;
    let src_w = f64::from(frame.width());
    let src_h = f64::from(frame.height());
    let rows_per_out_row = src_h / f64::from(place.height);
    // Screens are opaque: skip alpha premultiplication (it would cost a full-frame pass).
    let base = ResizeOptions::new().resize_alg(RESIZE_ALG).use_alpha(false);
    let out_w = place.width as usize;
    let stride = width as usize * 3;
    let rows = band_rows(frame.width());

    let mut row = 0;
    while row < place.height {
        let end = (row + rows).min(place.height);
        let top = f64::from(row) * rows_per_out_row;
        let bottom = if end == place.height {
            src_h
        } else {
            (f64::from(end) * rows_per_out_row).min(src_h)
        };
        let options = base.crop(0.0, top, src_w, bottom - top);
        band.clear();
        band.resize(out_w * (end - row) as usize * 4, 0);
        let mut dst = Image::from_slice_u8(place.width, end - row, band, PixelType::U8x4)
            .map_err(|e| processing("band", &e))?;
        resizer
            .resize(&src, &mut dst, &options)
            .map_err(|e| processing("band", &e))?;

        for (i, line) in band.chunks_exact(out_w * 4).enumerate() {
            let start = (place.y + row) as usize * stride + i * stride + place.x as usize * 3;
            let out = rgb
                .get_mut(start..start + out_w * 3)
                .ok_or_else(|| CaptureError::Processing("placement outside composite".into()))?;
            copy_to_rgb(line, out, frame.layout());
        }
        row = end;
    }
    Ok(())
}

/// Copies one row of 4-byte pixels into packed RGB, dropping alpha (and swapping BGRA).
fn copy_to_rgb(src: &[u8], dst: &mut [u8], layout: PixelLayout) {
    let pairs = dst.chunks_exact_mut(3).zip(src.chunks_exact(4));
    match layout {
        PixelLayout::Rgba => {
            for (d, s) in pairs {
                d.copy_from_slice(&s[..3]);
            }
        }
        PixelLayout::Bgra => {
            for (d, s) in pairs {
                d[0] = s[2];
                d[1] = s[1];
                d[2] = s[0];
            }
        }
    }
}

/// Stack blur (libblur, SIMD; a close Gaussian approximation, cost independent of the radius)
/// over packed RGB, single-threaded so a capture never takes both cores of a small machine.
///
/// Not libblur's `fast_gaussian`: in libblur 0.24 its vertical pass on 3-channel u8 images
/// scrambles rows (a point spreads symmetrically along x but not along y), which leaves text
/// far more legible vertically. `blur_is_isotropic` below guards the choice.
fn blur_rgb(rgb: &mut [u8], width: u32, height: u32, radius: u32) -> Result<(), CaptureError> {
    let mut image = BlurImageMut::borrow(rgb, width, height, FastBlurChannels::Channels3);
    libblur::stack_blur(
        &mut image,
        AnisotropicRadius::new(radius.max(1)),
        ThreadingPolicy::Single,
    )
    .map_err(|e| CaptureError::Processing(format!("blur: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white square blurred spreads identically along rows and columns, monotonically.
    #[test]
    fn blur_is_isotropic() {
        let (w, h) = (101u32, 101u32);
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        for y in 45..56 {
            for x in 45..56 {
                let i = ((y * w + x) * 3) as usize;
                rgb[i..i + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
        blur_rgb(&mut rgb, w, h, DEFAULT_BLUR_RADIUS).unwrap();
        let at = |x: u32, y: u32| i32::from(rgb[((y * w + x) * 3) as usize]);
        for d in 0..40 {
            let (row, col) = (at(10 + d, 50), at(50, 10 + d));
            assert!(
                (row - col).abs() <= 2,
                "offset {d}: row {row} vs column {col}"
            );
            if d > 0 {
                assert!(
                    at(50, 10 + d) >= at(50, 9 + d),
                    "column not monotonic at {d}"
                );
            }
        }
        assert!(
            at(50, 50 - DEFAULT_BLUR_RADIUS) > 0 && at(50, 50) < 255,
            "no blur"
        );
    }

    /// Neither banding nor the whole-ratio reduction (1920 and 3840 wide) changes the picture:
    /// compare with one whole-frame `fast_image_resize` pass.
    #[test]
    fn banded_resize_matches_a_single_pass() {
        for (w, h) in [(1920, 1080), (3840, 2160), (1366, 768)] {
            let frame = crate::synthetic::desktop_frame(0, 0, w, h, 5).unwrap();
            let src = ImageRef::new(w, h, frame.data(), PixelType::U8x4).unwrap();
            let options = ResizeOptions::new().resize_alg(RESIZE_ALG).use_alpha(false);
            let place = layout::plan(&[frame.bounds()], 640).unwrap().placements[0];
            let mut whole = Image::new(place.width, place.height, PixelType::U8x4);
            Resizer::new().resize(&src, &mut whole, &options).unwrap();

            let mut pipeline = Pipeline::new(CaptureOptions::default().with_blur(false));
            let rendered = pipeline.render(vec![frame]).unwrap();
            let mut worst = 0;
            for (rgb, rgba) in rendered
                .rgb
                .chunks_exact(3)
                .zip(whole.buffer().chunks_exact(4))
            {
                for c in 0..3 {
                    worst = worst.max(rgb[c].abs_diff(rgba[c]));
                }
            }
            assert!(
                worst <= 1,
                "{w}x{h}: banded differs from one pass by {worst}"
            );
        }
    }

    #[test]
    fn band_rows_fit_the_budget() {
        assert_eq!(band_rows(1920), 68);
        assert_eq!(band_rows(3840), 34);
        assert_eq!(band_rows(100_000), MIN_BAND_ROWS);
        assert_eq!(band_rows(10), MAX_BAND_ROWS);
    }

    #[test]
    fn rows_are_copied_as_rgb_from_either_layout() {
        let src = [1u8, 2, 3, 255, 4, 5, 6, 255];
        let mut dst = [0u8; 6];
        copy_to_rgb(&src, &mut dst, PixelLayout::Rgba);
        assert_eq!(dst, [1, 2, 3, 4, 5, 6]);
        copy_to_rgb(&src, &mut dst, PixelLayout::Bgra);
        assert_eq!(dst, [3, 2, 1, 6, 5, 4]);
    }
}
