//! Statistical check that capture moments are uniform inside their window (R9).
//!
//! Pearson's chi-square over 10 equal buckets, 10,000 draws from a seeded ChaCha RNG, compared
//! with the critical value for 9 degrees of freedom at p = 0.001. Seeds are fixed, so the test
//! is deterministic; the negative controls prove the threshold rejects biased samplers, i.e.
//! that this test can fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use shotclock_domain::schedule::{CaptureSlot, CaptureWindow, next_capture, next_capture_after};

const DRAWS: usize = 10_000;
const BUCKETS: usize = 10;
/// χ²(0.999, df = 9).
const CRITICAL_P001_DF9: f64 = 27.877;

fn entry_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 3, 9, 0, 0).unwrap() + TimeDelta::milliseconds(437)
}

/// Bucket of `at` among `BUCKETS` equal parts of `[lo, hi)`.
fn bucket(at: DateTime<Utc>, lo: DateTime<Utc>, hi: DateTime<Utc>) -> usize {
    let span = (hi - lo).num_nanoseconds().unwrap();
    let off = (at - lo).num_nanoseconds().unwrap();
    assert!((0..span).contains(&off), "draw outside [lo, hi)");
    usize::try_from(i128::from(off) * BUCKETS as i128 / i128::from(span)).unwrap()
}

/// Pearson's chi-square statistic against the uniform distribution.
fn chi_square(counts: &[usize; BUCKETS]) -> f64 {
    let total: usize = counts.iter().sum();
    #[allow(clippy::cast_precision_loss)]
    let expected = total as f64 / BUCKETS as f64;
    counts
        .iter()
        .map(|&c| {
            #[allow(clippy::cast_precision_loss)]
            let d = c as f64 - expected;
            d * d / expected
        })
        .sum()
}

/// Draws `DRAWS` moments with `sample` and returns their chi-square over `[lo, hi)`.
fn chi_square_of(
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
    mut sample: impl FnMut() -> DateTime<Utc>,
) -> f64 {
    let mut counts = [0usize; BUCKETS];
    for _ in 0..DRAWS {
        counts[bucket(sample(), lo, hi)] += 1;
    }
    chi_square(&counts)
}

fn whole_window_slot(rng: &mut ChaCha8Rng) -> CaptureSlot {
    next_capture(entry_start(), CaptureWindow::DEFAULT, entry_start(), rng).unwrap()
}

#[test]
fn whole_window_moments_are_uniform() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5107_c10c);
    let slot = whole_window_slot(&mut rng);
    let chi2 = chi_square_of(slot.window_start, slot.window_end, || {
        whole_window_slot(&mut rng).at
    });
    assert!(
        chi2 < CRITICAL_P001_DF9,
        "chi-square {chi2:.2} ≥ {CRITICAL_P001_DF9}"
    );
}

#[test]
fn mid_window_moments_are_uniform_over_the_rest() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let window = CaptureWindow::DEFAULT;
    let now = entry_start() + TimeDelta::milliseconds(1_000 * 300 * 7 + 123_456);
    let end = next_capture(entry_start(), window, now, &mut rng)
        .unwrap()
        .window_end;
    let chi2 = chi_square_of(now, end, || {
        next_capture(entry_start(), window, now, &mut rng)
            .unwrap()
            .at
    });
    assert!(
        chi2 < CRITICAL_P001_DF9,
        "chi-square {chi2:.2} ≥ {CRITICAL_P001_DF9}"
    );
}

/// The scheduler loop (now = previous moment, window marked done): the position of each moment
/// inside its own window is uniform too, with a short window as tests use.
#[test]
fn scheduler_loop_positions_are_uniform() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let window = CaptureWindow::from_secs(3).unwrap();
    let mut now = entry_start();
    let mut done = None;
    let mut counts = [0usize; BUCKETS];
    for _ in 0..DRAWS {
        let slot = next_capture_after(entry_start(), window, now, done, &mut rng).unwrap();
        counts[bucket(slot.at, slot.window_start, slot.window_end)] += 1;
        now = slot.at;
        done = Some(slot.window_index);
    }
    let chi2 = chi_square(&counts);
    assert!(
        chi2 < CRITICAL_P001_DF9,
        "chi-square {chi2:.2} ≥ {CRITICAL_P001_DF9}"
    );
}

/// Negative control: a sampler that only ever picks the first half of the window must fail.
#[test]
fn negative_control_first_half_sampler_fails() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5107_c10c);
    let slot = whole_window_slot(&mut rng);
    let chi2 = chi_square_of(slot.window_start, slot.window_end, || {
        let s = whole_window_slot(&mut rng);
        s.window_start + (s.at - s.window_start) / 2
    });
    assert!(
        chi2 > CRITICAL_P001_DF9,
        "biased sampler passed: chi-square {chi2:.2}"
    );
}

/// Negative control: a milder bias — one draw in ten snapped to the window start (like a
/// scheduler that fires "immediately" on wake-up) — must fail too.
#[test]
fn negative_control_snap_to_start_sampler_fails() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let slot = whole_window_slot(&mut rng);
    let mut n = 0u32;
    let chi2 = chi_square_of(slot.window_start, slot.window_end, || {
        n += 1;
        let s = whole_window_slot(&mut rng);
        if n.is_multiple_of(10) {
            s.window_start
        } else {
            s.at
        }
    });
    assert!(
        chi2 > CRITICAL_P001_DF9,
        "biased sampler passed: chi-square {chi2:.2}"
    );
}

/// The statistic itself: a perfectly flat histogram scores 0, a single full bucket scores the
/// maximum `N·(k−1)`.
#[test]
fn chi_square_sanity() {
    assert!(chi_square(&[1_000; BUCKETS]).abs() < 1e-9);
    let mut spike = [0; BUCKETS];
    spike[3] = DRAWS;
    assert!((chi_square(&spike) - 90_000.0).abs() < 1e-6);
}
