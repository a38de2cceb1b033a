//! Background upkeep: retention purge (R18), forgetting old tombstones and capture-gate
//! history, orphan-file sweep, and the post-delete scrub (R24).
//!
//! * **Purge**: deletes screenshots captured at or before `domain::retention::cutoff(now)` in
//!   batches of [`PURGE_BATCH`] rows — each batch one transaction, then its files, then a WAL
//!   checkpoint — so a large backlog never holds the writer for long. Serving code filters
//!   expired rows itself, so nothing expired is shown even before the purge runs.
//! * **Sweep**: image files that no row references (an upload that crashed between its fsync and
//!   its commit, or whose write failed for a storage reason, the loser of a same-id race, a
//!   delete that crashed between commit and unlink, or whose unlink failed)
//!   are removed once older than a grace period, so in-flight uploads are never touched.
//! * **One replica at a time**: with replicas sharing a database, a scheduled round
//!   ([`scheduled`]) first tries the cluster's [`Duty::Maintenance`] lock without waiting and
//!   skips the round when another replica holds it; that replica purges and sweeps for all.
//!   Rounds run and skipped are counted in the metrics.
//! * **Discard**: after any row deletion, the freed files are unlinked and the database is
//!   checkpointed so no deleted bytes stay readable in the WAL. A file that cannot be unlinked
//!   then fails neither the committed delete nor the other files: the sweep retries it.

use std::time::{Duration, SystemTime};

use crate::App;
use crate::error::Error;
use crate::store::Duty;

/// Rows per purge transaction.
pub const PURGE_BATCH: u32 = 500;
/// Age before an unreferenced file may be swept.
pub const SWEEP_GRACE: Duration = Duration::from_secs(600);

/// What one maintenance run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Expired screenshots deleted.
    pub purged: usize,
    /// Orphan files removed.
    pub swept: usize,
    /// Leftover temp files removed.
    pub temp_removed: usize,
}

/// Removes files whose rows were deleted (after the commit) and scrubs the database. It cannot
/// fail: the delete has committed, so its answer and its live events must go out. A file that
/// cannot be removed now (storage down, a disk error) is logged and left to the sweep, which
/// removes every file no row references; the others are removed all the same.
pub async fn discard(app: &App, keys: &[String]) {
    let left = remove_each(app, keys.iter()).await;
    if left > 0 {
        tracing::warn!(
            left,
            "files of deleted screenshots could not be removed; the sweep retries them"
        );
    }
    scrub(app).await;
}

/// Makes what was just deleted unreadable in the database files (R24). A busy checkpoint is
/// retried by the next delete or maintenance run; the delete itself has committed.
async fn scrub(app: &App) {
    if let Err(e) = app.intents().scrub().await {
        tracing::warn!(error = %e, "checkpoint after a delete did not complete");
    }
}

/// Removes each file of `keys`, going on past one that fails (logged); returns how many failed.
async fn remove_each(app: &App, keys: impl Iterator<Item = &String>) -> usize {
    let mut failed = 0;
    for key in keys {
        if let Err(e) = app.blobs().delete(key).await {
            tracing::warn!(error = %e, "an image file could not be removed");
            failed += 1;
        }
    }
    failed
}

/// Deletes every expired screenshot (rows and files), in batches.
pub async fn purge(app: &App) -> Result<usize, Error> {
    let mut total = 0;
    loop {
        let keys = app.intents().purge_expired(app.now(), PURGE_BATCH).await?;
        if keys.is_empty() {
            break;
        }
        total += keys.len();
        discard(app, &keys).await;
        if keys.len() < PURGE_BATCH as usize {
            break;
        }
    }
    Ok(total)
}

/// Removes unreferenced files older than `grace`; one that cannot be removed is left for the
/// next round and does not stop the others.
pub async fn sweep(app: &App, grace: Duration) -> Result<(usize, usize), Error> {
    let horizon = SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let temp_removed = app.blobs().clean_temp(horizon).await?;
    let candidates: Vec<String> = app
        .blobs()
        .list()
        .await?
        .into_iter()
        .filter(|b| b.modified <= horizon)
        .map(|b| b.key)
        .collect();
    let (mut swept, mut left) = (0, 0);
    for chunk in candidates.chunks(1000) {
        let referenced = app.intents().referenced_blobs(chunk.to_vec()).await?;
        let orphans: Vec<&String> = chunk.iter().filter(|k| !referenced.contains(*k)).collect();
        let failed = remove_each(app, orphans.iter().copied()).await;
        swept += orphans.len() - failed;
        left += failed;
    }
    if left > 0 {
        tracing::warn!(
            left,
            "orphan files could not be removed; the next sweep retries them"
        );
    }
    Ok((swept, temp_removed))
}

/// One full maintenance pass.
pub async fn run(app: &App, grace: Duration) -> Result<Report, Error> {
    let purged = purge(app).await?;
    if app.intents().purge_history(app.now()).await? > 0 {
        // Old access-log lines, tombstones and gate history: gone from the files too.
        scrub(app).await;
    }
    app.limiter().prune().await?;
    let (swept, temp_removed) = sweep(app, grace).await?;
    if purged + swept > 0 {
        tracing::info!(purged, swept, temp_removed, "maintenance");
    }
    Ok(Report {
        purged,
        swept,
        temp_removed,
    })
}

/// One scheduled round: [`run`], unless another replica on the same database is running one
/// (then `None`). Counted in the metrics either way.
pub async fn scheduled(app: &App, grace: Duration) -> Result<Option<Report>, Error> {
    let _lead = match app.cluster() {
        Some(cluster) => match cluster.try_lead(Duty::Maintenance).await? {
            Some(lead) => Some(lead),
            None => {
                app.metrics().maintenance_skipped();
                return Ok(None);
            }
        },
        None => None,
    };
    let report = run(app, grace).await?;
    app.metrics().maintenance_ran(report.purged, report.swept);
    Ok(Some(report))
}
