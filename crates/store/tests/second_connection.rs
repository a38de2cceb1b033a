//! Another connection to the buffer (a second process, a `sqlite3` shell) that holds the write
//! lock for a moment makes a write wait for it; the write never fails with "database is
//! locked". A transaction that reads before it writes must take the write lock when it begins:
//! SQLite does not wait (no busy handler) for a reader that tries to become a writer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{capture, entry, free_item, mins, t0};
use shotclock_store::{Store, StoreError, TimeEntry};

/// How long the other connection keeps the write lock: well under the store's busy timeout.
const HOLD: Duration = Duration::from_millis(300);

/// Runs `write` on `store` while another connection holds the write lock for [`HOLD`].
fn while_another_connection_writes<T>(
    store: &mut Store,
    write: impl FnOnce(&mut Store) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let path = store.path().to_owned();
    let (held, is_held) = mpsc::channel();
    let other = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        held.send(()).unwrap();
        // The lock is held for a while on purpose: the write below starts inside it.
        std::thread::sleep(HOLD);
        conn.execute_batch("COMMIT").unwrap();
    });
    is_held.recv().unwrap();
    let result = write(store);
    other.join().unwrap();
    result
}

#[test]
fn writes_wait_for_another_connections_write_lock() {
    let (_dir, mut store) = common::store();
    let running = entry(t0());
    store.upsert_entry(&running).unwrap();

    // The service's word on an entry (the agent adopts a stop this way).
    let stopped = TimeEntry {
        end: Some(t0() + mins(30)),
        synced: true,
        ..running.clone()
    };
    let adopted = while_another_connection_writes(&mut store, |s| s.adopt_entry(&stopped));
    assert!(adopted.expect("adopting an entry waited for the lock"));

    // A capture, a queued change, and an acknowledgement.
    let later = entry(t0() + mins(40));
    store.upsert_entry(&later).unwrap();
    while_another_connection_writes(&mut store, |s| {
        capture(s, &later, t0() + mins(41));
        Ok(())
    })
    .unwrap();
    let seq = while_another_connection_writes(&mut store, |s| s.enqueue(&free_item(), t0()))
        .expect("queueing a change waited for the lock");
    let acked = while_another_connection_writes(&mut store, |s| s.ack(seq))
        .expect("an acknowledgement waited for the lock");
    assert!(acked);

    let kept = store.get_entry(running.id).unwrap().unwrap();
    assert_eq!(kept.end, stopped.end);
    assert_eq!(store.screenshots_of_entry(later.id).unwrap().len(), 1);
}

/// A reader on another connection keeps a checkpoint from copying what was written after its
/// read began: the checkpoint fails and says how many frames it left in the log — exactly
/// those written since — and, once the reader is done, the next checkpoint empties the log.
#[test]
fn a_checkpoint_blocked_by_a_reader_counts_the_frames_it_left() {
    let (_dir, mut store) = common::store();
    let e = entry(t0());
    capture(&mut store, &e, t0() + mins(1));
    let wal = {
        let mut name = store.path().as_os_str().to_owned();
        name.push("-wal");
        std::path::PathBuf::from(name)
    };
    let wal_len = || std::fs::metadata(&wal).unwrap().len();
    let before = wal_len();
    // A WAL file is a 32-byte header and frames of a 24-byte header and one page each.
    assert!(
        before > 32,
        "the first capture is in the log ({before} bytes)"
    );

    let reader = rusqlite::Connection::open(store.path()).unwrap();
    let page: i64 = reader
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    let frame = 24 + u64::try_from(page).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let n: i64 = reader
        .query_row("SELECT COUNT(*) FROM screenshots", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    capture(&mut store, &e, t0() + mins(2));
    let written = (wal_len() - before) / frame;
    assert!(written > 0, "the second capture is in the log");

    match store.checkpoint() {
        Err(StoreError::CheckpointIncomplete { frames_left }) => {
            assert_eq!(u64::try_from(frames_left).unwrap(), written);
        }
        other => panic!("the reader did not block the checkpoint: {other:?}"),
    }
    reader.execute_batch("COMMIT").unwrap();
    store.checkpoint().unwrap();
    assert_eq!(wal_len(), 0);
}
