//! The capture stays fast in a debug build: the hot image crates and this crate are built
//! with `opt-level = 3` even in the dev profile (root Cargo.toml `[profile.dev.package.*]`).
//! Unoptimised, processing one 1080p frame takes ~600 ms; optimised, ~5–30 ms. The 250 ms
//! bound is generous so a busy machine does not fail it, yet a missing override does.

use std::time::{Duration, Instant};

use shotclock_capture::Pipeline;
use shotclock_capture::synthetic::desktop_frame;

#[test]
fn debug_build_processes_a_1080p_frame_quickly() {
    let frame = desktop_frame(0, 0, 1920, 1080, 11).unwrap();
    let mut pipeline = Pipeline::default();
    let _ = pipeline.process(vec![frame.clone()]).unwrap(); // warm-up
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let input = vec![frame.clone()];
            let started = Instant::now();
            let thumb = pipeline.process(input).unwrap();
            let elapsed = started.elapsed();
            assert_eq!((thumb.width, thumb.height), (640, 360));
            elapsed
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    println!("debug-build 1080p process: median {median:?} of {times:?}");
    assert!(
        median < Duration::from_millis(250),
        "1080p processing took {median:?} (median of 5) in this build; are the \
         [profile.dev.package.*] opt-level = 3 entries in the root Cargo.toml in effect?"
    );
}
