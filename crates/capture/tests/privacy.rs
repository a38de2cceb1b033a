//! PRODUCT R11: the full-resolution frame is never written anywhere; only the thumbnail bytes
//! exist, where the caller put them.
//!
//! The fake frame is random noise (so any encoding of it, PNG included, stays about as large
//! as the raw frame) with a random 64-byte marker row painted in. After a capture, the test's
//! own temp dir must hold exactly the thumbnail the test wrote, and nothing in the test's temp
//! dir or in `std::env::temp_dir()` that was written during the capture may be as large as the
//! frame or contain the marker.
//!
//! Limits of the check: only files that still exist are seen; the system temp dir is filtered
//! to files modified since the test started, so unrelated old files do not count.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-*-in-tests.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use shotclock_capture::synthetic::{Rng, noise_frame};
use shotclock_capture::{FakeSource, Pipeline, Rect};

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;

fn files_under(dir: &Path, depth: u32, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            continue;
        }
        if kind.is_dir() && depth > 0 {
            files_under(&entry.path(), depth - 1, out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Files written since `since` that are as large as the frame or contain the marker.
fn leaks(dir: &Path, since: SystemTime, frame_bytes: u64, marker: &[u8]) -> Vec<String> {
    let mut files = Vec::new();
    files_under(dir, 8, &mut files);
    let mut found = Vec::new();
    for path in files {
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        let fresh = meta.modified().map(|m| m >= since).unwrap_or(true);
        if !fresh {
            continue;
        }
        if meta.len() >= frame_bytes {
            found.push(format!("{} ({} bytes ≥ frame)", path.display(), meta.len()));
            continue;
        }
        if let Ok(bytes) = fs::read(&path)
            && contains(&bytes, marker)
        {
            found.push(format!(
                "{} (contains the frame's marker row)",
                path.display()
            ));
        }
    }
    found
}

#[test]
fn full_resolution_frame_never_reaches_disk() {
    // Filesystem timestamps can be coarser than the clock: allow a second of slack.
    let since = SystemTime::now() - Duration::from_secs(1);
    let dir = tempfile::tempdir().unwrap();

    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut frame = noise_frame(Rect::new(0, 0, WIDTH, HEIGHT), seed).unwrap();
    let mut rng = Rng::new(seed.rotate_left(17));
    let marker: Vec<u8> = (0..8).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
    let row_start = (500 * WIDTH as usize + 100) * 4;
    frame.data_mut()[row_start..row_start + 64].copy_from_slice(&marker);
    let frame_bytes = frame.byte_len() as u64;

    let mut source = FakeSource::new().with_frame(frame);
    let mut pipeline = Pipeline::default();
    let thumb = pipeline.capture(&mut source).unwrap();
    let thumb_path = dir.path().join("thumb.webp");
    fs::write(&thumb_path, &thumb.webp).unwrap();

    // The thumbnail itself is small and holds no raw frame bytes.
    assert!((thumb.webp.len() as u64) < frame_bytes / 100);
    assert!(!contains(&thumb.webp, &marker));

    // The test's own dir: exactly the thumbnail, byte for byte.
    let mut mine = Vec::new();
    files_under(dir.path(), 8, &mut mine);
    assert_eq!(
        mine,
        vec![thumb_path.clone()],
        "unexpected files in the test's temp dir"
    );
    assert_eq!(fs::read(&thumb_path).unwrap(), thumb.webp);

    let mut found = leaks(dir.path(), since, frame_bytes, &marker);
    found.extend(leaks(&std::env::temp_dir(), since, frame_bytes, &marker));
    assert!(found.is_empty(), "full-resolution data on disk: {found:#?}");

    // The check can fail: a frame dump in the temp dir is caught by both criteria.
    let dump = dir.path().join("frame.raw");
    let mut raw = vec![0u8; frame_bytes as usize];
    raw[row_start..row_start + 64].copy_from_slice(&marker);
    fs::write(&dump, &raw).unwrap();
    let caught = leaks(dir.path(), since, frame_bytes, &marker);
    assert_eq!(caught.len(), 1, "{caught:?}");
    fs::write(&dump, &marker).unwrap();
    let caught = leaks(dir.path(), since, frame_bytes, &marker);
    assert!(caught[0].contains("marker"), "{caught:?}");
}
