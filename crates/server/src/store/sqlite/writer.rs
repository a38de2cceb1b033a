//! The writer actor: one connection on its own thread, fed by a channel, committing in groups.
//!
//! When it wakes up it takes every job queued at that moment (up to [`MAX_GROUP`]) and runs them
//! in *one* transaction, each inside its own `SAVEPOINT`, so a job that refuses (or is a dry run)
//! rolls back only itself; then it commits once: one fsync for many writes. A job's answer is
//! released only after that commit.
//!
//! Invariant: nothing runs outside a transaction. When `BEGIN` fails, or a savepoint cannot be
//! opened or closed, the rest of the group is not run: each remaining job is handed the error
//! (and writes nothing), the transaction is rolled back, and every job of the group is answered
//! with the failure.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::queries::Sql;
use crate::store::{Completion, StoreError, WriteJob, WriterLoad};

/// Most jobs one group commit takes.
pub(super) const MAX_GROUP: usize = 512;

/// What the writer thread is asked to do.
pub(super) enum Job {
    /// Runs inside the group transaction.
    Tx(WriteJob),
    /// Runs outside any transaction, between groups (checkpoints).
    Raw(Box<dyn FnOnce(&Connection) + Send>),
}

/// The writer thread's loop; returns when every sender is gone. Every group is counted in
/// `load`.
pub(super) fn run(conn: &Connection, rx: &mpsc::Receiver<Job>, load: &WriterLoad) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut group = Group::default();
        for job in batch {
            match job {
                Job::Raw(f) => {
                    group.finish(conn, load);
                    f(conn);
                }
                Job::Tx(job) => group.run(conn, job),
            }
        }
        group.finish(conn, load);
    }
}

/// One group transaction in progress.
#[derive(Default)]
struct Group {
    /// While a transaction is open: when the group took its first job, and how long its
    /// `BEGIN` waited.
    open: Option<(Instant, Duration)>,
    failed: Option<String>,
    completions: Vec<Completion>,
}

impl Group {
    fn run(&mut self, conn: &Connection, job: WriteJob) {
        if self.open.is_none() {
            let started = Instant::now();
            if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
                self.failed = Some(format!("could not begin: {e}"));
            }
            self.open = Some((started, started.elapsed()));
        }
        if let Some(reason) = &self.failed {
            let end = job(Err(StoreError::Commit(reason.clone())));
            self.completions.push(end.done);
            return;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            self.failed = Some(format!("could not open a savepoint: {e}"));
            let end = job(Err(StoreError::Commit(format!("{e}"))));
            self.completions.push(end.done);
            return;
        }
        let mut sql = Sql::new(conn);
        let end = job(Ok(&mut sql));
        let closed = if end.keep {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        if let Err(e) = closed {
            self.failed = Some(format!("could not close a savepoint: {e}"));
        }
        self.completions.push(end.done);
    }

    fn finish(&mut self, conn: &Connection, load: &WriterLoad) {
        let Some((started, waiting)) = self.open.take() else {
            return;
        };
        let result = match self.failed.take() {
            Some(reason) => {
                // Nothing to undo when BEGIN itself failed; otherwise drop the whole group.
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                Err(reason)
            }
            None => match conn.execute_batch("COMMIT") {
                Ok(()) => Ok(()),
                Err(e) => {
                    if !conn.is_autocommit() {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    Err(format!("could not commit: {e}"))
                }
            },
        };
        // Counted before anyone hears the answer, so a reader who did sees this group.
        load.group_done(self.completions.len(), started.elapsed(), waiting);
        for done in self.completions.drain(..) {
            done(result.clone().map_err(StoreError::Commit));
        }
    }
}
