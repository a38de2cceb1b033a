//! The app's memory, for a process that sits in the tray for hours (glibc on Linux; elsewhere
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
//! - **Library pages.** Most of what the tray process holds is not heap but the pages of the
//!   libraries the window used (GTK, WebKit, JavaScriptCore) that it read while the window was
//!   open: file pages, counted in the process's resident set for as long as they stay mapped.
//!   [`page_out_files`] hands the file pages that only this process maps back to the kernel
//!   (`MADV_PAGEOUT`, Linux 5.4 and later), as mobile systems do with a backgrounded app; the
//!   few the tray still runs come back on first use, from the page cache or the disk.
//!
//! Measured with `cargo xtask bench app` (figures in the README's performance section).

use shotclock_procstat::MapsLine;

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

/// Hands back the pages of files mapped by this process alone — its libraries' code and
/// read-only data, once the window that used them is gone. Only read-only mappings are advised,
/// so every page given back is a clean copy of its file; pages that another process maps too
/// (while the window's web process still runs, say) stay.
/// Returns the bytes of the mappings advised (0 where this does nothing or the kernel refuses).
pub fn page_out_files() -> u64 {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return 0;
    };
    file_mappings(&maps)
        .filter(|&(start, end)| imp::page_out(start, end))
        .map(|(start, end)| (end - start) as u64)
        .sum()
}

/// The address ranges of `/proc/self/maps` lines that map a file read-only and privately: a
/// path (not a device, not a deleted file), no `w` and a `p` flag — never shared (`s`)
/// mappings, which other processes write and read.
fn file_mappings(maps: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    maps.lines().filter_map(|line| {
        let MapsLine {
            start,
            end,
            perms,
            path,
        } = MapsLine::parse(line)?;
        let private_file = perms.ends_with('p')
            && !perms.contains('w')
            && path.starts_with('/')
            && !path.starts_with("/dev/")
            && !path.ends_with("(deleted)");
        let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
        (private_file && end > start).then_some((start, end))
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod imp {
    use super::{ARENAS, MMAP_THRESHOLD};

    pub(super) fn page_out(start: usize, end: usize) -> bool {
        // SAFETY: `MADV_PAGEOUT` only asks the kernel to reclaim the range's pages and never
        // changes what the process reads there (a reclaimed page is read back from its file or
        // swap on the next access), whatever is mapped in the range — even if the mapping read
        // from `/proc/self/maps` was replaced since. An unmapped range fails with `ENOMEM`.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) == 0 }
    }

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

    pub(super) fn page_out(_start: usize, _end: usize) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Held by every test that reads this process's resident set: the tests of one binary run
    /// on parallel threads of one process, and another test's 16 MiB read or written in the
    /// middle of a measurement is indistinguishable from memory not given back.
    static RESIDENT_SET: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn measuring_alone() -> std::sync::MutexGuard<'static, ()> {
        RESIDENT_SET
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[test]
    fn only_private_read_only_file_mappings_are_chosen() {
        let maps = "\
5581c0a00000-5581c0a20000 r--p 00000000 fe:00 1234 /usr/bin/shotclock
5581c0a20000-5581c0b00000 r-xp 00020000 fe:00 1234 /usr/bin/shotclock
5581c0b00000-5581c0b10000 rw-p 00100000 fe:00 1234 /usr/bin/shotclock
7f0000000000-7f0000001000 r--s 00000000 00:05 77 /dev/shm/something
7f0000001000-7f0000002000 r--s 00000000 fe:00 99 /var/cache/fontconfig/x.cache
7f0000002000-7f0000003000 r--p 00000000 00:01 5 /memfd:wayland (deleted)
7f0000003000-7f0000004000 r--p 00000000 00:06 6 /dev/dri/card0
7f0000004000-7f0000005000 rw-p 00000000 00:00 0
7f0000005000-7f0000006000 r--p 00000000 00:00 0 [vvar]
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
7f0000006000-7f0000008000 r-xp 00000000 fe:00 42 /usr/lib/libgtk-3.so.0
";
        assert_eq!(
            file_mappings(maps).collect::<Vec<_>>(),
            vec![
                (0x5581_c0a0_0000, 0x5581_c0a2_0000),
                (0x5581_c0a2_0000, 0x5581_c0b0_0000),
                (0x7f00_0000_6000, 0x7f00_0000_8000),
            ]
        );
    }

    /// The pages of a file mapped read-only by this process alone leave its resident set; the
    /// file reads the same afterwards.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    #[test]
    fn file_pages_mapped_here_alone_leave_the_resident_set() {
        use std::os::fd::AsRawFd;
        const LEN: usize = 16 << 20;
        const PAGE: usize = 4096;
        /// KiB resident in the mapping that starts at `start`.
        fn rss_kib(start: usize) -> u64 {
            shotclock_procstat::resident_kib(std::process::id(), |m| m.start == start as u64)
                .unwrap()
        }
        let _alone = measuring_alone();
        // Beside the test executable, on the build's disk: a file on tmpfs is memory of its own
        // that only swap could take.
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap();
        let path = dir.join(format!("shotclock-heap-{}", std::process::id()));
        std::fs::write(&path, vec![7u8; LEN]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        file.sync_all().unwrap();
        // SAFETY: a new read-only private mapping of a file that nothing writes while it is
        // mapped; it is unmapped below and no reference to it outlives that.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let read = || {
            // SAFETY: the mapping above is `LEN` readable bytes and stays mapped while read.
            let bytes = unsafe { std::slice::from_raw_parts(base.cast::<u8>(), LEN) };
            bytes
                .iter()
                .step_by(PAGE)
                .map(|&b| u64::from(b))
                .sum::<u64>()
        };
        let sum = read();
        let before = rss_kib(base as usize);
        let advised = page_out_files();
        let after = rss_kib(base as usize);
        let again = read();
        // SAFETY: `base` is the mapping made above, `LEN` long; `read` is not called again.
        unsafe { libc::munmap(base, LEN) };
        std::fs::remove_file(&path).unwrap();
        assert!(advised >= LEN as u64, "only {advised} bytes advised");
        assert!(
            before >= 15 * 1024,
            "{before} KiB resident after reading 16 MiB"
        );
        assert!(
            after < 1024,
            "{after} KiB of 16 MiB still resident after the hand-back"
        );
        assert_eq!((sum, again), (7 * (LEN / PAGE) as u64, sum));
    }

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
        let _alone = measuring_alone();
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
