//! The app's heap, for a process that sits in the tray for hours (glibc on Linux; elsewhere
//! every function here does nothing).
//!
//! Design: glibc's `malloc` keeps what a process freed for reuse rather than returning it,
//! which is right for a busy server and wrong for an app that is idle most of the day:
//! - **Arenas.** Every thread that allocates while another holds the main arena gets an
//!   arena of its own (up to 8 per core), and each keeps its freed pages. The app's threads
//!   (GTK's, WebKit's, tokio's workers and blocking pool) are mostly idle, so
//!   [`tune_for_idle`] caps them at [`ARENAS`].
//! - **Large blocks.** A block above the mmap threshold is mapped on its own and unmapped when
//!   freed — but glibc raises the threshold to the size of every such block freed (up to
//!   32 MiB), after which a screen frame (8 MiB at 1080p, 32 MiB at 4K) comes from an arena
//!   and stays there once freed. [`tune_for_idle`] fixes the threshold at
//!   [`MMAP_THRESHOLD`], which also stops that adjustment.
//! - **Trim.** [`give_back`] returns every arena's free pages (`malloc_trim(0)`), for the
//!   moments when much was just freed: the window destroyed, a capture done.
//!
//! Measured with `cargo xtask bench app` (figures in the README's performance section).

/// Most malloc arenas (glibc's default is 8 per core).
pub const ARENAS: i32 = 2;

/// Blocks of at least this many bytes are mapped on their own and unmapped when freed.
pub const MMAP_THRESHOLD: i32 = 256 * 1024;

/// Sets the allocator up for an idle app: [`ARENAS`] arenas, a fixed [`MMAP_THRESHOLD`].
/// Call first thing in `main`, before other threads start. Returns whether both took effect.
pub fn tune_for_idle() -> bool {
    imp::tune_for_idle()
}

/// Returns freed heap pages of every arena to the system. Returns whether any memory was
/// released (`false` also where this does nothing).
pub fn give_back() -> bool {
    imp::give_back()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod imp {
    use super::{ARENAS, MMAP_THRESHOLD};

    pub(super) fn tune_for_idle() -> bool {
        // SAFETY: `mallopt` only changes allocator parameters; both are valid options with
        // in-range values, and it is safe to call at any time (glibc locks its arenas).
        let arenas = unsafe { libc::mallopt(libc::M_ARENA_MAX, ARENAS) };
        // SAFETY: as above.
        let mmap = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        arenas == 1 && mmap == 1
    }

    pub(super) fn give_back() -> bool {
        // SAFETY: `malloc_trim` walks glibc's own arenas under their locks; it takes no
        // pointer and may be called from any thread.
        unsafe { libc::malloc_trim(0) == 1 }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub(super) fn tune_for_idle() -> bool {
        false
    }

    pub(super) fn give_back() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_takes_the_settings() {
        assert!(tune_for_idle());
    }

    /// Memory freed below a block still in use stays resident until [`give_back`].
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_memory_leaves_the_resident_set() {
        fn rss_kib() -> u64 {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        }
        // 32 MiB of small blocks (below any mmap threshold), touched, then freed while one
        // block above them stays: `free` alone cannot shrink the heap past it.
        let blocks: Vec<Vec<u8>> = (0..2048).map(|i| vec![i as u8 | 1; 16 * 1024]).collect();
        let kept = vec![1u8; 1024];
        let full = rss_kib();
        drop(blocks);
        let freed = rss_kib();
        give_back();
        let trimmed = rss_kib();
        assert!(
            full.saturating_sub(trimmed) > 24 * 1024,
            "32 MiB freed: resident {full} KiB, {freed} after free, {trimmed} after the trim"
        );
        assert_eq!(kept.len(), 1024);
    }
}
