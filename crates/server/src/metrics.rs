//! Request counters an operator can read at `GET /metrics` (Prometheus text format), and the
//! one log line per request.
//!
//! Maintenance is counted too: rounds run and skipped (another replica held the duty), screenshots
//! purged and orphan files swept by this process. So is the store's writer, the one path every
//! write takes: its group transactions, the jobs in them, the time it was busy and the part of
//! that spent waiting for the database's write lock (`crate::store::WriterReport`). Busy seconds
//! growing as fast as the clock means writes are the bound.
//!
//! Counted per route template (never the raw path, which carries ids), method and status:
//! requests and their total latency. No user, token or body ever reaches a label.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::store::WriterReport;

/// Key of one series: (route template, method, status).
type Series = (String, String, u16);

/// Request counters. Cheap to share (behind the `App`).
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<Series, (u64, Duration)>>,
    rounds_ran: AtomicU64,
    rounds_skipped: AtomicU64,
    purged: AtomicU64,
    swept: AtomicU64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn record(&self, route: &str, method: &str, status: u16, took: Duration) {
        let mut series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = series
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default();
        entry.0 += 1;
        entry.1 += took;
    }

    /// Counts a maintenance round this process ran, with what it removed.
    pub fn maintenance_ran(&self, purged: usize, swept: usize) {
        self.rounds_ran.fetch_add(1, Ordering::Relaxed);
        self.purged.fetch_add(purged as u64, Ordering::Relaxed);
        self.swept.fetch_add(swept as u64, Ordering::Relaxed);
    }

    /// Counts a maintenance round skipped because another replica was running one.
    pub fn maintenance_skipped(&self) {
        self.rounds_skipped.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters in Prometheus' text exposition format, with the store writer's `writer`.
    #[must_use]
    pub fn render(&self, writer: &WriterReport) -> String {
        let series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP shotclock_http_requests_total Requests answered.\n");
        out.push_str("# TYPE shotclock_http_requests_total counter\n");
        for ((route, method, status), (n, _)) in series.iter() {
            let _ = writeln!(
                out,
                "shotclock_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP shotclock_http_request_seconds_sum Time spent answering requests.\n");
        out.push_str("# TYPE shotclock_http_request_seconds_sum counter\n");
        for ((route, method, status), (_, took)) in series.iter() {
            let _ = writeln!(
                out,
                "shotclock_http_request_seconds_sum{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {:.6}",
                took.as_secs_f64()
            );
        }
        let ran = self.rounds_ran.load(Ordering::Relaxed);
        let skipped = self.rounds_skipped.load(Ordering::Relaxed);
        let _ = write!(
            out,
            "# HELP shotclock_maintenance_rounds_total Maintenance rounds, run by this process or \
             skipped while another replica ran one.\n\
             # TYPE shotclock_maintenance_rounds_total counter\n\
             shotclock_maintenance_rounds_total{{outcome=\"ran\"}} {ran}\n\
             shotclock_maintenance_rounds_total{{outcome=\"skipped\"}} {skipped}\n\
             # HELP shotclock_purged_screenshots_total Expired screenshots this process purged.\n\
             # TYPE shotclock_purged_screenshots_total counter\n\
             shotclock_purged_screenshots_total {}\n\
             # HELP shotclock_swept_files_total Unreferenced image files this process removed.\n\
             # TYPE shotclock_swept_files_total counter\n\
             shotclock_swept_files_total {}\n",
            self.purged.load(Ordering::Relaxed),
            self.swept.load(Ordering::Relaxed),
        );
        let _ = write!(
            out,
            "# HELP shotclock_write_groups_total Group transactions the store's writer ran.\n\
             # TYPE shotclock_write_groups_total counter\n\
             shotclock_write_groups_total {}\n\
             # HELP shotclock_write_jobs_total Write jobs run in those groups.\n\
             # TYPE shotclock_write_jobs_total counter\n\
             shotclock_write_jobs_total {}\n\
             # HELP shotclock_write_busy_seconds_total Time the store's writer spent running groups.\n\
             # TYPE shotclock_write_busy_seconds_total counter\n\
             shotclock_write_busy_seconds_total {:.6}\n\
             # HELP shotclock_write_lock_wait_seconds_total Part of it spent starting transactions \
             (waiting for the database's write lock).\n\
             # TYPE shotclock_write_lock_wait_seconds_total counter\n\
             shotclock_write_lock_wait_seconds_total {:.6}\n",
            writer.groups,
            writer.jobs,
            writer.busy.as_secs_f64(),
            writer.waiting.as_secs_f64(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_route_method_and_status() {
        let m = Metrics::default();
        m.record("/api/v1/timer", "GET", 200, Duration::from_millis(2));
        m.record("/api/v1/timer", "GET", 200, Duration::from_millis(3));
        m.record("/api/v1/timer", "GET", 401, Duration::from_millis(1));
        let text = m.render(&WriterReport::default());
        assert!(text.contains(
            "shotclock_http_requests_total{route=\"/api/v1/timer\",method=\"GET\",status=\"200\"} 2\n"
        ));
        assert!(text.contains(
            "shotclock_http_requests_total{route=\"/api/v1/timer\",method=\"GET\",status=\"401\"} 1\n"
        ));
        assert!(text.contains(
            "shotclock_http_request_seconds_sum{route=\"/api/v1/timer\",method=\"GET\",status=\"200\"} 0.005000\n"
        ));
    }

    #[test]
    fn counts_maintenance_rounds_and_what_they_removed() {
        let m = Metrics::default();
        m.maintenance_ran(3, 4);
        m.maintenance_ran(2, 0);
        m.maintenance_skipped();
        has_lines(
            &m.render(&WriterReport::default()),
            &[
                "shotclock_maintenance_rounds_total{outcome=\"ran\"} 2",
                "shotclock_maintenance_rounds_total{outcome=\"skipped\"} 1",
                "shotclock_purged_screenshots_total 5",
                "shotclock_swept_files_total 4",
            ],
        );
    }

    #[test]
    fn shows_the_writers_load() {
        let text = Metrics::default().render(&WriterReport {
            groups: 3,
            jobs: 17,
            busy: Duration::from_micros(2_500_250),
            waiting: Duration::from_micros(1_500),
        });
        has_lines(
            &text,
            &[
                "shotclock_write_groups_total 3",
                "shotclock_write_jobs_total 17",
                "shotclock_write_busy_seconds_total 2.500250",
                "shotclock_write_lock_wait_seconds_total 0.001500",
            ],
        );
    }

    /// Every one of `lines` is a whole line of `text`.
    fn has_lines(text: &str, lines: &[&str]) {
        for line in lines {
            assert!(
                text.lines().any(|l| l == *line),
                "{line} missing from {text}"
            );
        }
    }
}
