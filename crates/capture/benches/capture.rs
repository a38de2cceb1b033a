//! `cargo bench -p shotclock-capture --bench capture`: our privacy pipeline against what
//! others do, on the same frames, in one run, with PASS/MISS per target.
//!
//! Rows: synthetic desktop-like frames at 1920×1080 and 3840×2160 (text-like glyph rows,
//! gradients, a noisy photo region) and, when `DISPLAY` is set, the live screen grabbed once
//! through xcap. Pixels are already in memory for every timed step (the grab is timed
//! separately for the live row). Columns are medians of N runs.
//!
//! Capture moment → thumbnail, X11 against the Wayland portal, in the same run: the live X11
//! screen (`DISPLAY`, Xvfb under `cargo xtask bench`) through xcap, and a headless Wayland
//! desktop (`shotclock-testdesktop`: mutter, PipeWire, the real portal frontend and its test
//! backend) through `PortalSource`, both 1920×1080, each timed from the call to the finished
//! thumbnail (grab or PipeWire copy, resize, blur, WebP).
//!
//! Memory: a counting global allocator (precise for everything Rust allocates, including the
//! frame) plus /proc VmRSS/VmHWM (which also sees libwebp's C allocations).

// Bench binary: printing the table is its job; `unsafe` only for the allocator below.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::{self, FilterType};
use image::{ImageEncoder, RgbaImage};
use shotclock_capture::synthetic::desktop_frame;
use shotclock_capture::{
    CaptureOptions, FakeSource, Frame, Pipeline, ScreenSource, XcapSource, decode_thumbnail,
};

// ---------------------------------------------------------------------------------------------
// Counting allocator. SAFETY: every method forwards to `System` unchanged and only updates two
// atomics; layouts and pointers are passed through untouched.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn add(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            add(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn reset_peak() -> usize {
    let now = CURRENT.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0); false where unsupported.
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

// ---------------------------------------------------------------------------------------------

const MIB: f64 = 1024.0 * 1024.0;

/// σ of a Gaussian with the variance of our default stack blur (radius 8): √(8·10/6) ≈ 3.65.
const NAIVE_SIGMA: f32 = 3.65;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[derive(Clone, Copy, Default)]
struct Row {
    resize: Duration,
    blur: Duration,
    encode: Duration,
    total: Duration,
    best: Duration,
    bytes: usize,
}

fn print_row(name: &str, r: &Row) {
    println!(
        "  {name:<34} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>9.2} {:>10}",
        ms(r.resize),
        ms(r.blur),
        ms(r.encode),
        ms(r.total),
        ms(r.best),
        r.bytes
    );
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

fn ours(frames: &[Frame], runs: usize, blur: bool) -> Row {
    let mut pipeline = Pipeline::new(CaptureOptions::default().with_blur(blur));
    // Warm-up: allocates the reusable buffers once, as the app does at its first capture.
    let _ = pipeline.process(frames.to_vec()).unwrap();
    let (mut rs, mut bs, mut es, mut ts) = (vec![], vec![], vec![], vec![]);
    let mut bytes = 0;
    for _ in 0..runs {
        let input = frames.to_vec(); // the copy is the "capture"; not timed
        let t = Instant::now();
        let thumb = pipeline.process(input).unwrap();
        ts.push(t.elapsed());
        rs.push(thumb.timings.resize);
        bs.push(thumb.timings.blur);
        es.push(thumb.timings.encode);
        bytes = thumb.webp.len();
    }
    Row {
        resize: median(rs),
        blur: median(bs),
        encode: median(es),
        best: ts.iter().copied().min().unwrap_or_default(),
        total: median(ts),
        bytes,
    }
}

fn to_rgba_image(frame: &Frame) -> RgbaImage {
    RgbaImage::from_raw(frame.width(), frame.height(), frame.data().to_vec()).unwrap()
}

/// `image` Lanczos3 resize + `imageops::blur` + `image` JPEG (q75), single monitor. The blur
/// has the same strength as ours (stack blur radius r ≈ Gaussian σ = √(r(r+2)/6)).
fn naive(frame: &Frame, runs: usize, out_w: u32, out_h: u32) -> Row {
    let img = to_rgba_image(frame);
    let (mut rs, mut bs, mut es, mut ts) = (vec![], vec![], vec![], vec![]);
    let mut bytes = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let small = imageops::resize(&img, out_w, out_h, FilterType::Lanczos3);
        let t1 = Instant::now();
        let blurred = imageops::blur(&small, NAIVE_SIGMA);
        let t2 = Instant::now();
        let rgb = image::DynamicImage::ImageRgba8(blurred).to_rgb8();
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(Cursor::new(&mut out), 75)
            .write_image(&rgb, out_w, out_h, image::ExtendedColorType::Rgb8)
            .unwrap();
        let t3 = Instant::now();
        rs.push(t1 - t0);
        bs.push(t2 - t1);
        es.push(t3 - t2);
        ts.push(t3 - t0);
        bytes = out.len();
    }
    Row {
        resize: median(rs),
        blur: median(bs),
        encode: median(es),
        best: ts.iter().copied().min().unwrap_or_default(),
        total: median(ts),
        bytes,
    }
}

/// What Electron trackers upload: the full-resolution frame as PNG.
fn full_png(frame: &Frame, runs: usize) -> Row {
    let mut ts = vec![];
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let mut out = Vec::new();
        PngEncoder::new(Cursor::new(&mut out))
            .write_image(
                frame.data(),
                frame.width(),
                frame.height(),
                image::ExtendedColorType::Rgba8,
            )
            .unwrap();
        ts.push(t.elapsed());
        bytes = out.len();
    }
    let best = ts.iter().copied().min().unwrap_or_default();
    let total = median(ts);
    Row {
        encode: total,
        total,
        best,
        bytes,
        ..Row::default()
    }
}

/// Full-resolution JPEG q50 (RGBA → RGB conversion included: the encoder takes RGB).
fn full_jpeg(frame: &Frame, runs: usize) -> Row {
    let img = to_rgba_image(frame);
    let mut ts = vec![];
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let rgb = image::DynamicImage::ImageRgba8(img.clone()).to_rgb8();
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(Cursor::new(&mut out), 50)
            .write_image(
                &rgb,
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        ts.push(t.elapsed());
        bytes = out.len();
    }
    let best = ts.iter().copied().min().unwrap_or_default();
    let total = median(ts);
    Row {
        encode: total,
        total,
        best,
        bytes,
        ..Row::default()
    }
}

struct Measured {
    label: String,
    ours: Row,
    naive: Row,
}

fn compare(label: &str, frames: Vec<Frame>, runs: usize, slow_runs: usize) -> Measured {
    let (w, h) = (frames[0].width(), frames[0].height());
    let mut p = Pipeline::default();
    let thumb = p.process(frames.clone()).unwrap();
    println!(
        "\n{label}: {}×{} px, {} monitor(s) → {}×{} WebP, health {}",
        w,
        h,
        frames.len(),
        thumb.width,
        thumb.height,
        thumb.health.code()
    );
    println!(
        "  {:<34} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10}",
        "pipeline (median ms; min total)", "resize", "blur", "encode", "total", "min", "bytes"
    );
    let ours_row = ours(&frames, runs, true);
    print_row("ours: fir + libblur + WebP", &ours_row);
    let unblurred = ours(&frames, runs, false);
    print_row("ours, blur off (admin setting)", &unblurred);
    let naive_row = naive(&frames[0], slow_runs, thumb.width, thumb.height);
    print_row("naive: image Lanczos3+blur+JPEG", &naive_row);
    let png = full_png(&frames[0], slow_runs);
    print_row("Electron-style: full-res PNG", &png);
    let jpeg = full_jpeg(&frames[0], slow_runs);
    print_row("full-res JPEG q50", &jpeg);
    let speed = |r: &Row| r.total.as_secs_f64() / ours_row.total.as_secs_f64();
    let size = |r: &Row| r.bytes as f64 / ours_row.bytes as f64;
    println!(
        "  ratios vs ours: naive {:.1}× slower, {:.1}× bytes | full PNG {:.1}× slower, {:.0}× bytes | full JPEG q50 {:.1}× slower, {:.0}× bytes",
        speed(&naive_row),
        size(&naive_row),
        speed(&png),
        size(&png),
        speed(&jpeg),
        size(&jpeg)
    );
    // The thumbnail must decode back to its advertised size.
    let decoded = decode_thumbnail(&thumb.webp).unwrap();
    assert_eq!(decoded.dimensions(), (thumb.width, thumb.height));
    Measured {
        label: label.to_string(),
        ours: ours_row,
        naive: naive_row,
    }
}

struct MemReport {
    frame_bytes: usize,
    peak_with_frame: usize,
    peak_without_frame: usize,
    after: isize,
    rss_peak_kib: Option<i64>,
    rss_after_kib: Option<i64>,
}

/// One cold 4K capture through the fake source (which hands over a fresh 4K frame, as a real
/// backend does), measured from before the capture.
fn memory_4k() -> MemReport {
    let template = desktop_frame(0, 0, 3840, 2160, 7).unwrap();
    let frame_bytes = template.byte_len();
    let mut source = FakeSource::new().with_frame(template);

    // (a) whole capture: the frame the source produces counts.
    let rss_before = proc_status_kib("VmRSS:");
    let hwm_ok = reset_hwm();
    let base = reset_peak();
    let mut pipeline = Pipeline::default();
    let thumb = pipeline.capture(&mut source).unwrap();
    let peak_with_frame = PEAK.load(Ordering::Relaxed) - base;
    let rss_peak = proc_status_kib("VmHWM:");
    let after = CURRENT.load(Ordering::Relaxed) as isize - base as isize;
    let rss_after = proc_status_kib("VmRSS:");
    drop(thumb);

    // (b) pipeline working memory only: frame already in memory (excluded from the baseline).
    let frames = source.capture_all().unwrap();
    let mut cold = Pipeline::default();
    let base = reset_peak();
    let _thumb = cold.process(frames).unwrap();
    // The frame is freed inside `process`; measure the peak above the baseline that held it.
    let peak_without_frame = PEAK.load(Ordering::Relaxed).saturating_sub(base);

    let diff = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => Some(a as i64 - b as i64),
        _ => None,
    };
    MemReport {
        frame_bytes,
        peak_with_frame,
        peak_without_frame,
        after,
        rss_peak_kib: if hwm_ok {
            diff(rss_peak, rss_before)
        } else {
            None
        },
        rss_after_kib: diff(rss_after, rss_before),
    }
}

/// Median and slowest of `runs` captures through `source`, from the call to the thumbnail.
fn moments(source: &mut dyn ScreenSource, runs: usize) -> Result<(Duration, Duration), String> {
    let mut pipeline = Pipeline::new(CaptureOptions::default());
    // One capture first: the pipeline's buffers and the stream's first frame.
    pipeline.capture(&mut *source).map_err(|e| e.to_string())?;
    let mut took = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let thumb = pipeline.capture(&mut *source).map_err(|e| e.to_string())?;
        took.push(t.elapsed());
        std::hint::black_box(thumb);
    }
    let max = took.iter().copied().max().unwrap_or_default();
    Ok((median(took), max))
}

/// The portal path (a headless Wayland desktop) against the X11 path, same run, same size.
fn moment_to_thumbnail(runs: usize) {
    println!(
        "\ncapture moment → thumbnail, 1920×1080, median / max of {runs} (grab + resize + blur + WebP):"
    );
    match std::env::var_os("DISPLAY") {
        Some(display) => match moments(&mut XcapSource::new(), runs) {
            Ok((med, max)) => println!(
                "  X11 (xcap, DISPLAY={}):{:>14.2} ms / {:.2} ms",
                display.to_string_lossy(),
                ms(med),
                ms(max)
            ),
            Err(e) => println!("  X11: capture failed ({e}); row skipped"),
        },
        None => println!("  X11: DISPLAY is not set; row skipped (run under Xvfb)"),
    }
    #[cfg(target_os = "linux")]
    portal_moments(runs);
}

#[cfg(target_os = "linux")]
fn portal_moments(runs: usize) {
    use shotclock_capture::{PortalOptions, PortalSource};
    use shotclock_testdesktop::{Desktop, Portal};
    // The desktop panics with the missing package's name; the bench reports it and goes on.
    let started = std::panic::catch_unwind(|| {
        let mut desktop = Desktop::start_with_monitors(Portal::Backend("grant"), &["1920x1080"]);
        desktop.paint(&["text"]);
        desktop
    });
    let desktop = match started {
        Ok(d) => d,
        Err(_) => {
            println!("  Wayland portal: the headless desktop did not start; row skipped");
            return;
        }
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let options = PortalOptions {
        restore_token: None,
        bus_address: Some(desktop.bus.clone()),
    };
    let opened = runtime.block_on(PortalSource::open(options));
    let (mut source, _grant) = match opened {
        Ok(v) => v,
        Err(e) => {
            println!("  Wayland portal: open failed ({e}); row skipped");
            return;
        }
    };
    match moments(&mut source, runs) {
        Ok((med, max)) => println!(
            "  Wayland portal (PipeWire, memory):{:>10.2} ms / {:.2} ms",
            ms(med),
            ms(max)
        ),
        Err(e) => println!("  Wayland portal: capture failed ({e}); row skipped"),
    }
    runtime.block_on(source.close());
    drop(desktop);
}

/// Blocked windows (R34): the capture moment to the thumbnail on a private 1920×1080 Xvfb with
/// openbox and two xterms, with a one-rule blocklist (two listings and one blanked window)
/// against none (no listing at all). `DISPLAY` points at that desktop meanwhile, then back.
#[cfg(target_os = "linux")]
fn blocklist_moments(runs: usize) {
    use shotclock_capture::{BlockRule, Blocklist};
    use shotclock_testdesktop::x11::XDesktop;
    println!(
        "\nblocked windows, capture moment → thumbnail, 1920×1080 Xvfb + openbox, median of {runs}:"
    );
    let started = std::panic::catch_unwind(|| {
        let mut desk = XDesktop::start(1920, 1080);
        desk.start_wm();
        desk.xterm("Online banking", "red", "80x24+100+100");
        desk.xterm("build log", "blue", "80x24+900+300");
        desk
    });
    let desk = match started {
        Ok(d) => d,
        Err(_) => {
            println!("  row skipped: Xvfb, openbox or xterm did not start");
            return;
        }
    };
    let before = std::env::var_os("DISPLAY");
    // SAFETY: the bench's other rows are done; no other thread reads the environment now.
    unsafe { std::env::set_var("DISPLAY", &desk.display) };
    let measure = |rules: &[BlockRule]| -> Result<Duration, String> {
        let mut source = XcapSource::new();
        let mut pipeline = Pipeline::new(CaptureOptions::default());
        pipeline.set_blocklist(Blocklist::new(rules));
        pipeline.capture(&mut source).map_err(|e| e.to_string())?;
        let mut took = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            std::hint::black_box(pipeline.capture(&mut source).map_err(|e| e.to_string())?);
            took.push(t.elapsed());
        }
        Ok(median(took))
    };
    // Interleaved halves would be fairer on a busy machine; the two medians are taken back to
    // back, none first.
    match (measure(&[]), measure(&[BlockRule::title("online banking")])) {
        (Ok(none), Ok(with)) => println!(
            "  no blocklist: {:.2} ms | one rule (list twice + blank): {:.2} ms | +{:.2} ms, {:.2}×",
            ms(none),
            ms(with),
            ms(with.saturating_sub(none)),
            with.as_secs_f64() / none.as_secs_f64()
        ),
        (a, b) => println!("  row skipped: {:?} / {:?}", a.err(), b.err()),
    }
    // SAFETY: as above.
    unsafe {
        match before {
            Some(d) => std::env::set_var("DISPLAY", d),
            None => std::env::remove_var("DISPLAY"),
        }
    }
    drop(desk);
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let runs = 31;
    let slow_runs = 5;
    println!("shotclock-capture bench: median of {runs} runs (ours), {slow_runs} runs (others)");
    println!(
        "cores available: {}; load average at start: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    println!(
        "(the machine is shared: under load every column inflates; compare rows within a run)"
    );

    // Memory first, in a quiet heap.
    let mem = memory_4k();

    let mut all = Vec::new();
    all.push(compare(
        "synthetic 1080p",
        vec![desktop_frame(0, 0, 1920, 1080, 1).unwrap()],
        runs,
        slow_runs,
    ));
    all.push(compare(
        "synthetic 4K",
        vec![desktop_frame(0, 0, 3840, 2160, 2).unwrap()],
        runs,
        slow_runs,
    ));
    match std::env::var_os("DISPLAY") {
        Some(display) => {
            let mut source = XcapSource::new();
            let mut grabs = vec![];
            let mut frames = None;
            for _ in 0..5 {
                let t = Instant::now();
                match source.capture_all() {
                    Ok(f) => {
                        grabs.push(t.elapsed());
                        frames = Some(f);
                    }
                    Err(e) => {
                        println!("\nlive screen: capture failed ({e}); row skipped");
                        break;
                    }
                }
            }
            if let Some(frames) = frames {
                let label = format!("live screen (DISPLAY={})", display.to_string_lossy());
                let m = compare(&label, frames, runs, slow_runs);
                println!(
                    "  xcap grab (not included above): median {:.2} ms",
                    ms(median(grabs))
                );
                all.push(m);
            }
        }
        None => println!("\nlive screen: DISPLAY is not set; row skipped (run under Xvfb)"),
    }

    moment_to_thumbnail(runs);
    #[cfg(target_os = "linux")]
    blocklist_moments(runs);

    println!("\nmemory, one cold 4K capture (1 MiB = 1,048,576 bytes):");
    println!(
        "  4K RGBA frame handed over by the source: {:.2} MiB",
        mem.frame_bytes as f64 / MIB
    );
    println!(
        "  peak extra during capture, incl. that frame (Rust heap): {:.2} MiB",
        mem.peak_with_frame as f64 / MIB
    );
    println!(
        "  peak extra of the pipeline alone, frame already in memory: {:.2} MiB",
        mem.peak_without_frame as f64 / MIB
    );
    println!(
        "  after the capture, vs before (Rust heap; pipeline keeps its scratch): {:+.2} MiB",
        mem.after as f64 / MIB
    );
    match mem.rss_peak_kib {
        Some(k) => println!(
            "  RSS peak extra (VmHWM, includes libwebp's C heap): {:.2} MiB",
            k as f64 / 1024.0
        ),
        None => println!("  RSS peak extra: unavailable (/proc/self/clear_refs not writable)"),
    }
    if let Some(k) = mem.rss_after_kib {
        println!("  RSS after vs before: {:+.2} MiB", k as f64 / 1024.0);
    }

    println!("\nload average at end: {}", loadavg());
    println!("\ntargets (medians; pixels already in memory; 2-core machine):");
    let find = |label: &str| all.iter().find(|m| m.label == label);
    if let Some(m) = find("synthetic 1080p") {
        let t = ms(m.ours.total);
        println!(
            "  {} resize+blur+encode at 1080p ≤ 4 ms: {t:.2} ms",
            verdict(t <= 4.0)
        );
    }
    if let Some(m) = find("synthetic 4K") {
        let t = ms(m.ours.total);
        println!(
            "  {} resize+blur+encode at 4K ≤ 10 ms: {t:.2} ms",
            verdict(t <= 10.0)
        );
    }
    for m in &all {
        let x = m.naive.total.as_secs_f64() / m.ours.total.as_secs_f64();
        println!(
            "  {} ≥ 10× faster than naive ({}): {x:.1}×",
            verdict(x >= 10.0),
            m.label
        );
    }
    let mut sizes: Vec<usize> = all.iter().map(|m| m.ours.bytes).collect();
    sizes.sort_unstable();
    let med = sizes[sizes.len() / 2];
    println!(
        "  {} median thumbnail ≤ 8 KB (8192 bytes): {med} bytes (all: {sizes:?})",
        verdict(med <= 8192)
    );
    let peak = mem.peak_with_frame as f64 / MIB;
    println!(
        "  {} peak extra memory during a 4K capture ≤ 33 MiB: {peak:.2} MiB (incl. the {:.2} MiB frame)",
        verdict(peak <= 33.0),
        mem.frame_bytes as f64 / MIB
    );
    let after = mem.after as f64 / MIB;
    println!(
        "  {} back within 2 MiB of baseline after: {after:+.2} MiB",
        verdict(after.abs() <= 2.0)
    );
}
