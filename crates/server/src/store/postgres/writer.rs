//! The writer task: one per process, committing in groups, like the SQLite writer.
//!
//! When it wakes up it takes every job queued at that moment (up to [`MAX_GROUP`]) and runs them
//! on a blocking thread in *one* transaction that first takes the advisory lock
//! [`super::WRITE_LOCK`] (so groups of all replicas run one after the other), each job inside
//! its own `SAVEPOINT`, so a job that refuses (or is a dry run) rolls back only itself; then it
//! commits once. A job's answer is released only after that commit. Closing one job's savepoint
//! and opening the next one's go in one round trip (as do `BEGIN`, the lock and the first
//! savepoint): per job, the database is asked its statements plus one.
//!
//! Invariant: nothing runs outside a transaction. When no connection can be had, `BEGIN` or the
//! lock fails (it is waited for at most `lock_timeout`), or a savepoint cannot be opened or
//! closed, the rest of the group is not run: each remaining job is handed the error (and writes
//! nothing), the transaction is rolled back, and every job of the group is answered with the
//! failure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{Object, Pool, PoolError};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::queries::Pg;
use super::{Conn, WRITE_LOCK};
use crate::store::{Completion, StoreError, WriteJob, WriterLoad};

/// Most jobs one group commit takes.
pub(super) const MAX_GROUP: usize = 512;

/// The writer task's loop; returns when every sender is gone. Every group is counted in
/// `load`, from taking its jobs (a connection is waited for first) to answering them.
pub(super) async fn run(
    pool: Pool,
    mut jobs: mpsc::UnboundedReceiver<WriteJob>,
    lock_timeout: Duration,
    load: Arc<WriterLoad>,
) {
    // `lock_timeout` bounds the wait for the advisory lock (and any row lock) of the group.
    let begin = format!(
        "BEGIN ISOLATION LEVEL READ COMMITTED;
         SET LOCAL lock_timeout = {};
         SELECT pg_advisory_xact_lock({WRITE_LOCK})",
        lock_timeout.as_millis().max(1)
    );
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let conn = pool.get().await;
        let rt = Handle::current();
        let (begin, load) = (begin.clone(), Arc::clone(&load));
        if let Err(e) =
            tokio::task::spawn_blocking(move || group(&rt, conn, &begin, batch, started, &load))
                .await
        {
            // A job panicked: its connection left the pool (see `Conn`), the jobs not yet
            // answered see their answer channel closed.
            tracing::error!(error = %e, "a write group stopped");
        }
    }
}

/// Runs one group and answers every job in it; counts it in `load` first (the group took its
/// jobs at `started`).
fn group(
    rt: &Handle,
    conn: Result<Object, PoolError>,
    begin: &str,
    batch: Vec<WriteJob>,
    started: Instant,
    load: &WriterLoad,
) {
    let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
    let mut failed: Option<String> = None;
    let mut conn = match conn {
        Ok(obj) => Some(Conn::new(obj)),
        Err(e) => {
            failed = Some(format!("no database connection: {e}"));
            None
        }
    };
    let beginning = Instant::now();
    if let Some(c) = conn.as_mut()
        && let Err(e) = c.begin(rt, &format!("{begin}; SAVEPOINT job"))
    {
        failed = Some(format!("could not begin: {e}"));
    }
    let waiting = beginning.elapsed();
    let last = batch.len().saturating_sub(1);
    for (i, job) in batch.into_iter().enumerate() {
        let open = conn
            .as_ref()
            .filter(|_| failed.is_none())
            .and_then(|c| c.client().map(|client| (c, client)));
        let Some((c, client)) = open else {
            let reason = failed.clone().unwrap_or_else(|| "store closed".into());
            completions.push(job(Err(StoreError::Commit(reason))).done);
            continue;
        };
        // This job's savepoint is open (with `BEGIN`, or with the previous job's close).
        let end = job(Ok(&mut Pg::new(rt, client)));
        let close = if end.keep {
            "RELEASE SAVEPOINT job"
        } else {
            "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job"
        };
        let close = if i == last {
            close.to_owned()
        } else {
            format!("{close}; SAVEPOINT job")
        };
        if let Err(e) = c.run(rt, &close) {
            failed = Some(format!("could not close a savepoint or open the next: {e}"));
        }
        completions.push(end.done);
    }
    let result = match (conn.as_mut(), failed) {
        // Every savepoint was released, so the transaction is not in an aborted state and
        // `COMMIT` really commits.
        (Some(c), None) => c
            .end(rt, "COMMIT")
            .map_err(|e| format!("could not commit: {e}")),
        (Some(c), Some(reason)) => {
            // If this fails too, dropping `c` closes the connection, which rolls back.
            let _ = c.end(rt, "ROLLBACK");
            Err(reason)
        }
        (None, failed) => Err(failed.unwrap_or_else(|| "store closed".into())),
    };
    drop(conn);
    // Counted before anyone hears the answer, so a reader who did sees this group.
    load.group_done(completions.len(), started.elapsed(), waiting);
    for done in completions {
        done(result.clone().map_err(StoreError::Commit));
    }
}
