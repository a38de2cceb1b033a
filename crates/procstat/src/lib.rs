//! What Linux's `/proc` says a process costs, for the idle system test and `cargo xtask bench
//! app`: CPU time (utime + stime, in clock ticks), proportional set size, the resident pages of
//! chosen mappings (a library's, one mapping's) and the process tree (to find an app's WebKit
//! helpers, which a sandbox launcher may sit between). Its reading of `/proc/PID/maps` lines
//! ([`MapsLine`]) also serves the app, which picks the mappings whose pages it hands back.
//!
//! Linux only; elsewhere every read finds nothing.

use std::collections::HashMap;
use std::io;
use std::path::Path;

/// The fields of `/proc/PID/stat` a measurement needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The command name (at most 15 bytes; may hold spaces and parentheses).
    pub comm: String,
    /// The state letter (`R`, `S`, `D`, `Z` for a zombie, …).
    pub state: char,
    /// The parent's pid.
    pub ppid: u32,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Page faults served without reading a disk (`minflt`): every first touch of a page of
    /// fresh memory is one.
    pub minor_faults: u64,
}

impl Stat {
    /// Parses `pid (comm) state ppid … utime(14) stime(15) …`. `comm` may hold spaces and
    /// parentheses, so the fields are counted after its last `)`.
    #[must_use]
    pub fn parse(line: &str) -> Option<Stat> {
        let open = line.find('(')?;
        let close = line.rfind(')')?;
        let comm = line.get(open + 1..close)?.to_owned();
        let rest: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
        let state = rest.first()?.chars().next()?;
        let ppid = rest.get(1)?.parse().ok()?;
        let minor_faults = rest.get(7)?.parse().ok()?;
        let utime: u64 = rest.get(11)?.parse().ok()?;
        let stime: u64 = rest.get(12)?.parse().ok()?;
        Some(Stat {
            comm,
            state,
            ppid,
            cpu_ticks: utime + stime,
            minor_faults,
        })
    }

    /// The stat of `pid`, if it still runs.
    #[must_use]
    pub fn of(pid: u32) -> Option<Stat> {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| Stat::parse(&s))
    }
}

/// utime + stime of `pids`, summed, in clock ticks (a process that is gone counts 0).
#[must_use]
pub fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| Stat::of(*pid))
        .map(|s| s.cpu_ticks)
        .sum()
}

/// `voluntary_ctxt_switches` of one thread's `/proc/PID/task/TID/status`: how many times it went
/// to sleep waiting for something (a timer, a message). A thread that wakes on a timer many
/// times a second shows here whatever the machine's speed, unlike CPU time.
fn voluntary_switches(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))?
        .trim()
        .parse()
        .ok()
}

/// Voluntary context switches of every thread of some processes at one moment, by thread id.
/// Two readings give the wakeups between them ([`Wakeups::since`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wakeups(HashMap<u32, u64>);

impl Wakeups {
    /// Reads every thread of `pids` that runs now (a process that is gone adds nothing).
    #[must_use]
    pub fn read(pids: &[u32]) -> Self {
        let mut threads = HashMap::new();
        for pid in pids {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let Some(tid) = task.file_name().to_str().and_then(|n| n.parse().ok()) else {
                    continue;
                };
                if let Some(n) = std::fs::read_to_string(task.path().join("status"))
                    .ok()
                    .and_then(|status| voluntary_switches(&status))
                {
                    threads.insert(tid, n);
                }
            }
        }
        Self(threads)
    }

    /// The wakeups from `earlier` to this reading: each thread's growth, a thread started in
    /// between counted whole. A thread that ended in between is missing from this reading, so
    /// its last wakeups are not counted (the result is a floor, never less than zero).
    #[must_use]
    pub fn since(&self, earlier: &Wakeups) -> u64 {
        self.0
            .iter()
            .map(|(tid, now)| now.saturating_sub(earlier.0.get(tid).copied().unwrap_or(0)))
            .sum()
    }
}

/// The sum of `Pss:` in `/proc/PID/smaps_rollup` of `pids`, in KiB.
#[must_use]
pub fn pss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .filter_map(|text| {
            let line = text.lines().find(|l| l.starts_with("Pss:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

/// One mapping of `/proc/PID/smaps`: where it starts, the file it maps (empty for anonymous
/// memory; `[heap]`, `[stack]`, … for the kernel's named ones) and its resident KiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping<'a> {
    /// The first address of the mapping.
    pub start: u64,
    /// The mapped file's path, or the kernel's name for the region, or empty.
    pub path: &'a str,
    /// `Rss:` of the mapping, in KiB.
    pub rss_kib: u64,
}

impl Mapping<'_> {
    /// The last component of [`Mapping::path`] (a library's file name).
    #[must_use]
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }
}

/// The mappings of an `smaps` text, in order. A mapping whose header or `Rss:` line cannot be
/// read is left out.
#[must_use]
pub fn mappings(smaps: &str) -> Vec<Mapping<'_>> {
    let mut found = Vec::new();
    let mut current: Option<MapsLine<'_>> = None;
    for line in smaps.lines() {
        if let Some(rss) = line.strip_prefix("Rss:") {
            let kib = rss.trim().trim_end_matches("kB").trim().parse().ok();
            if let (Some(header), Some(rss_kib)) = (current.take(), kib) {
                found.push(Mapping {
                    start: header.start,
                    path: header.path,
                    rss_kib,
                });
            }
        } else if let Some(header) = MapsLine::parse(line) {
            current = Some(header);
        }
    }
    found
}

/// One line of `/proc/PID/maps` (also the first line of each mapping in `smaps`):
/// `start-end perms offset dev inode [path]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapsLine<'a> {
    /// The first address of the mapping.
    pub start: u64,
    /// The address just past its end.
    pub end: u64,
    /// `r`/`-`, `w`/`-`, `x`/`-`, then `p` (private) or `s` (shared).
    pub perms: &'a str,
    /// The mapped file's path (it may hold spaces, and ends in ` (deleted)` for a file gone
    /// since), or the kernel's name for the region (`[heap]`, `[stack]`, …), or empty.
    pub path: &'a str,
}

impl<'a> MapsLine<'a> {
    /// The line's fields; `None` for anything else (the field lines of `smaps`).
    #[must_use]
    pub fn parse(line: &'a str) -> Option<MapsLine<'a>> {
        let mut fields = line.splitn(6, ' ');
        let (start, end) = fields.next()?.split_once('-')?;
        let start = u64::from_str_radix(start, 16).ok()?;
        let end = u64::from_str_radix(end, 16).ok()?;
        let perms = fields.next()?;
        // offset, dev and inode come before the path.
        fields.nth(2)?;
        let path = fields.next().unwrap_or_default().trim_start();
        Some(MapsLine {
            start,
            end,
            perms,
            path,
        })
    }
}

/// KiB resident in the mappings of `pid` that `pick` chooses (from `/proc/PID/smaps`).
pub fn resident_kib(pid: u32, pick: impl Fn(&Mapping<'_>) -> bool) -> io::Result<u64> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))?;
    Ok(mappings(&smaps)
        .iter()
        .filter(|m| pick(m))
        .map(|m| m.rss_kib)
        .sum())
}

/// `getconf CLK_TCK` (100 on Linux unless configured otherwise).
#[must_use]
pub fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU ticks over `secs` seconds as a percentage of one core.
#[must_use]
pub fn percent(ticks: u64, ticks_per_sec: f64, secs: f64) -> f64 {
    ticks as f64 / ticks_per_sec / secs * 100.0
}

/// Every process's stat, by pid, read at one moment.
#[derive(Debug, Clone, Default)]
pub struct ProcessTree(HashMap<u32, Stat>);

impl ProcessTree {
    /// Reads `/proc`; fails when no process can be read at all.
    pub fn read() -> io::Result<Self> {
        let mut all = HashMap::new();
        for entry in std::fs::read_dir("/proc")?.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some(stat) = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|s| Stat::parse(&s))
            {
                all.insert(pid, stat);
            }
        }
        if all.is_empty() {
            return Err(io::Error::other("no process found in /proc"));
        }
        Ok(Self(all))
    }

    /// A tree of the given processes (for tests).
    #[must_use]
    pub fn from_stats(stats: impl IntoIterator<Item = (u32, Stat)>) -> Self {
        Self(stats.into_iter().collect())
    }

    /// A running process whose executable is `exe`.
    #[must_use]
    pub fn pid_of_exe(&self, exe: &Path) -> Option<u32> {
        self.0
            .keys()
            .copied()
            .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe))
    }

    /// Descendants of `root` (children, grandchildren through a launcher, …) named `comm`.
    #[must_use]
    pub fn descendants_named(&self, root: u32, comm: &str) -> Vec<u32> {
        let mut found = Vec::new();
        let mut frontier = vec![root];
        while let Some(parent) = frontier.pop() {
            for (pid, stat) in &self.0 {
                if stat.ppid == parent {
                    frontier.push(*pid);
                    if stat.comm == comm {
                        found.push(*pid);
                    }
                }
            }
        }
        found.sort_unstable();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_threads_voluntary_switches() {
        let status = "Name:\tVBlankMonitor\nState:\tS (sleeping)\n\
                      voluntary_ctxt_switches:\t396\nnonvoluntary_ctxt_switches:\t7\n";
        assert_eq!(voluntary_switches(status), Some(396));
        assert_eq!(
            voluntary_switches("Name:\tx\nnonvoluntary_ctxt_switches:\t7\n"),
            None
        );
        assert_eq!(voluntary_switches("voluntary_ctxt_switches:\tmany\n"), None);
    }

    #[test]
    fn wakeups_since_an_earlier_reading() {
        let earlier = Wakeups(HashMap::from([(1, 100), (2, 50), (3, 7)]));
        // Thread 1 woke 10 times, thread 2 not at all, thread 3 ended, thread 4 started.
        let later = Wakeups(HashMap::from([(1, 110), (2, 50), (4, 5)]));
        assert_eq!(later.since(&earlier), 15);
        assert_eq!(earlier.since(&later), 7);
        assert_eq!(later.since(&Wakeups::default()), 165);
    }

    #[test]
    fn counts_the_wakeups_of_every_thread() {
        let pid = std::process::id();
        let before = Wakeups::read(&[pid]);
        assert_ne!(before, Wakeups::default(), "this thread is read");
        // A second thread sleeps 20 times (each sleep is a voluntary switch), says so, and
        // stays alive to be counted; this thread only waits once for the word.
        let (done, word) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..20 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let _ = done.send(());
            std::thread::park_timeout(std::time::Duration::from_secs(10));
        });
        word.recv().expect("the sleeper reports");
        let after = Wakeups::read(&[pid]);
        assert!(after.since(&before) >= 20, "{after:?} after {before:?}");
        assert_eq!(Wakeups::read(&[u32::MAX]), Wakeups::default());
    }

    #[test]
    fn reads_the_fields_after_a_name_with_parentheses() {
        let line =
            "4242 (Web (Kit) x) S 17 4242 4242 0 -1 4194560 918 0 2 0 250 75 0 0 20 0 9 0 100 0 0";
        assert_eq!(
            Stat::parse(line),
            Some(Stat {
                comm: "Web (Kit) x".into(),
                state: 'S',
                ppid: 17,
                cpu_ticks: 325,
                minor_faults: 918,
            })
        );
        assert_eq!(Stat::parse("garbage"), None);
        assert_eq!(Stat::parse("1 (x) S 0 1"), None);
    }

    #[test]
    fn mappings_of_an_smaps_text() {
        let smaps = "\
55d0c0a00000-55d0c0a21000 r--p 00000000 fd:01 1311 /usr/lib/x86_64-linux-gnu/libgtk-3.so.0.2409.32
Size:                132 kB
Rss:                 128 kB
Pss:                  64 kB
VmFlags: rd mr mw me sd
7f00aa000000-7f00aa100000 rw-p 00000000 00:00 0 
Rss:                  12 kB
7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
Rss:                   8 kB
7f00bb000000-7f00bb001000 r-xp 00000000 fd:01 99 /opt/a dir/lib x.so
Rss:                   4 kB
";
        let found = mappings(smaps);
        let seen: Vec<(u64, &str, &str, u64)> = found
            .iter()
            .map(|m| (m.start, m.path, m.file_name(), m.rss_kib))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    0x55d0_c0a0_0000,
                    "/usr/lib/x86_64-linux-gnu/libgtk-3.so.0.2409.32",
                    "libgtk-3.so.0.2409.32",
                    128
                ),
                (0x7f00_aa00_0000, "", "", 12),
                (0x7ffd_1c00_0000, "[stack]", "[stack]", 8),
                (0x7f00_bb00_0000, "/opt/a dir/lib x.so", "lib x.so", 4),
            ]
        );
        assert_eq!(mappings("Rss: 4 kB\nnot a header\n"), vec![]);
        assert_eq!(
            MapsLine::parse("7f00bb000000-7f00bb001000 r-xp 00000000 fd:01 99 /opt/a dir/lib x.so"),
            Some(MapsLine {
                start: 0x7f00_bb00_0000,
                end: 0x7f00_bb00_1000,
                perms: "r-xp",
                path: "/opt/a dir/lib x.so"
            })
        );
        assert_eq!(MapsLine::parse("7f00bb000000-zz r-xp 0 fd:01 99 /x"), None);
    }

    #[test]
    fn this_process_has_its_executable_resident() {
        let me = std::process::id();
        let exe = std::env::current_exe().unwrap_or_default();
        let exe = exe.to_str().unwrap_or_default();
        let own = resident_kib(me, |m| m.path == exe).unwrap_or(0);
        let all = resident_kib(me, |_| true).unwrap_or(0);
        assert!(own > 0, "none of {exe} resident");
        assert!(all > own, "{all} KiB in all, {own} KiB in the executable");
        assert!(resident_kib(u32::MAX, |_| true).is_err());
    }

    #[test]
    fn percent_of_one_core() {
        assert!((percent(200, 100.0, 20.0) - 10.0).abs() < 1e-9);
        assert!((percent(0, 100.0, 20.0)).abs() < 1e-9);
    }

    #[test]
    fn descendants_through_a_launcher() {
        let stat = |comm: &str, ppid| Stat {
            comm: comm.into(),
            state: 'S',
            ppid,
            cpu_ticks: 0,
            minor_faults: 0,
        };
        let tree = ProcessTree::from_stats([
            (10, stat("app", 1)),
            (11, stat("launcher", 10)),
            (12, stat("WebKitWebProces", 11)),
            (13, stat("WebKitWebProces", 10)),
            (14, stat("WebKitWebProces", 1)),
        ]);
        assert_eq!(tree.descendants_named(10, "WebKitWebProces"), vec![12, 13]);
        assert_eq!(
            tree.descendants_named(12, "WebKitWebProces"),
            Vec::<u32>::new()
        );
    }

    #[test]
    fn this_process_is_seen() {
        let me = std::process::id();
        assert!(Stat::of(me).is_some());
        let tree = ProcessTree::read().map_err(|e| e.to_string());
        assert!(tree.is_ok_and(|t| t.0.contains_key(&me)));
        assert!(pss_kib(&[me]) > 0);
    }
}
