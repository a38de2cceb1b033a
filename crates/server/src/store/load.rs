//! How busy a backend's writer is: the one place every write of a process goes through (and on
//! PostgreSQL, of every replica in turn), so the first thing to saturate when writes are the
//! bound. Read at `GET /metrics` and by `cargo xtask bench server`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters a writer adds to after every group (lock-free; shared with whoever reads them).
#[derive(Debug, Default)]
pub struct WriterLoad {
    groups: AtomicU64,
    jobs: AtomicU64,
    busy_ns: AtomicU64,
    waiting_ns: AtomicU64,
}

impl WriterLoad {
    /// Counts one finished group of `jobs` write jobs that held the writer for `busy`, of which
    /// `waiting` went to starting its transaction (taking the database's write lock).
    pub fn group_done(&self, jobs: usize, busy: Duration, waiting: Duration) {
        self.groups.fetch_add(1, Ordering::Relaxed);
        self.jobs
            .fetch_add(u64::try_from(jobs).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.busy_ns.fetch_add(nanos(busy), Ordering::Relaxed);
        self.waiting_ns.fetch_add(nanos(waiting), Ordering::Relaxed);
    }

    /// The counters now.
    #[must_use]
    pub fn report(&self) -> WriterReport {
        WriterReport {
            groups: self.groups.load(Ordering::Relaxed),
            jobs: self.jobs.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.busy_ns.load(Ordering::Relaxed)),
            waiting: Duration::from_nanos(self.waiting_ns.load(Ordering::Relaxed)),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A writer's counters since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterReport {
    /// Group transactions run (committed or not).
    pub groups: u64,
    /// Write jobs run in them.
    pub jobs: u64,
    /// Time the writer spent running groups, from taking the first job to answering the last.
    pub busy: Duration,
    /// The part of `busy` spent starting the groups' transactions: waiting for the database's
    /// write lock (held by another replica, or another process on the SQLite file).
    pub waiting: Duration,
}

impl WriterReport {
    /// What happened between `earlier` and this report.
    #[must_use]
    pub fn since(&self, earlier: &WriterReport) -> WriterReport {
        WriterReport {
            groups: self.groups.saturating_sub(earlier.groups),
            jobs: self.jobs.saturating_sub(earlier.jobs),
            busy: self.busy.saturating_sub(earlier.busy),
            waiting: self.waiting.saturating_sub(earlier.waiting),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_up_groups_and_reports_a_difference() {
        let load = WriterLoad::default();
        assert_eq!(load.report(), WriterReport::default());
        load.group_done(3, Duration::from_millis(5), Duration::from_millis(1));
        let first = load.report();
        assert_eq!(
            first,
            WriterReport {
                groups: 1,
                jobs: 3,
                busy: Duration::from_millis(5),
                waiting: Duration::from_millis(1),
            }
        );
        load.group_done(2, Duration::from_millis(7), Duration::from_millis(2));
        let second = load.report();
        assert_eq!(
            second,
            WriterReport {
                groups: 2,
                jobs: 5,
                busy: Duration::from_millis(12),
                waiting: Duration::from_millis(3),
            }
        );
        assert_eq!(
            second.since(&first),
            WriterReport {
                groups: 1,
                jobs: 2,
                busy: Duration::from_millis(7),
                waiting: Duration::from_millis(2),
            }
        );
        assert_eq!(first.since(&second), WriterReport::default());
    }
}
