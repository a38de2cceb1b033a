//! R26: after `kill -9` of the app mid-write, nothing committed is lost, nothing appears twice,
//! and a screenshot never exists without its upload (or the other way round).
//!
//! The test re-runs its own test binary as the writer process (selected by an environment
//! variable), reads the ids it reports *after* each commit, SIGKILLs it mid-stream, and reopens
//! the file.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{DateTime, TimeDelta, Utc};
use common::{capture, entry, t0};
use shotclock_api::ScreenshotId;
use shotclock_store::Store;

const CHILD_ENV: &str = "SHOTCLOCK_STORE_CRASH_CHILD_DIR";
const COMMITS_BEFORE_KILL: usize = 120;

/// The writer. Does nothing unless started by the test below.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut store = Store::open(Path::new(&dir)).unwrap();
    let e = entry(t0());
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let s = capture(&mut store, &e, t0() + TimeDelta::milliseconds(i));
        writeln!(out, "committed {}", s.id).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_mid_write_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut committed: Vec<ScreenshotId> = Vec::new();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        if let Some(id) = line.unwrap().strip_prefix("committed ") {
            committed.push(id.parse().unwrap());
            if committed.len() == COMMITS_BEFORE_KILL {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructors, no clean close, WAL left behind
    child.wait().unwrap();
    assert_eq!(
        committed.len(),
        COMMITS_BEFORE_KILL,
        "the writer died early"
    );

    let mut store = Store::open(dir.path()).unwrap();
    assert!(store.integrity_check().unwrap());
    for id in &committed {
        assert!(store.screenshot(*id).unwrap().is_some(), "lost {id}");
    }
    let stored: HashSet<_> = store
        .screenshots_between(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .unwrap()
        .into_iter()
        .map(|s| *s.id.as_uuid())
        .collect();
    assert!(stored.len() >= committed.len());

    // Drain the outbox: exactly one upload per stored screenshot, none without one.
    let mut uploads = Vec::new();
    let later = t0() + TimeDelta::days(1);
    while let Some(item) = store.next_due(later).unwrap() {
        // More uploads than screenshots means duplicates, or an ack that does not remove its
        // item: fail here rather than loop forever.
        assert!(
            uploads.len() < stored.len(),
            "the outbox does not drain: {item:?}"
        );
        uploads.push(item.item_id);
        assert!(store.ack(item.seq).unwrap());
    }
    let unique: HashSet<_> = uploads.iter().copied().collect();
    assert_eq!(unique.len(), uploads.len(), "an upload appears twice");
    assert_eq!(unique, stored);
}
