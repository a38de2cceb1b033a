//! The outbox: changes waiting for the service's acknowledgement (R25).
//!
//! # Life of an item
//!
//! ```text
//!  enqueue / record_capture / record_timer_change / delete_*_with_tombstone
//!        │
//!        ▼
//!     pending ──retry_later(seq, at, err)──► pending (attempts+1, not before `at`)
//!        │  └──reject(seq, reason)─────────► rejected (kept, listed, never sent, never blocks)
//!        ├──ack(seq)──► row deleted (screenshot → `uploaded`; entry → `synced` when nothing
//!        │              of it is pending any more)
//!        └──settle_deleted(seq)──► row deleted, and what it would create goes too: the service
//!                       answered `deleted` (R29), the thing was deleted for good elsewhere
//! ```
//!
//! Call [`Store::ack`] only after the service answered — it answers after its own commit — so
//! a crash anywhere leaves the item pending and it is simply sent again; the service applies
//! items idempotently by `item_id` (R26: nothing lost, nothing twice).
//!
//! # Which item is next
//!
//! [`Store::next_due`] returns the pending item with the lowest `seq` that is due
//! (`next_attempt_at <= now`) **and** has no earlier pending item of the same time entry.
//! So:
//! * items go out in the order they were created;
//! * a rejected item never blocks anything (it is no longer pending);
//! * an item waiting for a retry lets *other entries'* items pass, but not the later items of
//!   its own entry — a screenshot is never sent before the `timer_start` that creates its entry,
//!   and a `timer_stop` never overtakes its `timer_start`. Items without an entry
//!   (`entry_id = None`) depend on nothing.
//!
//! [`Store::earliest_due`] is the earliest `next_attempt_at` among the items `next_due` could
//! return, so the uploader can sleep exactly until then (or until something new is queued).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use shotclock_api::{EntryId, ScreenshotId};

use crate::convert::{ms, opt_parsed, parsed, time, unsigned};
use crate::{
    NewOutboxItem, OutboxItem, OutboxKind, OutboxPayload, OutboxState, Store, StoreError,
    UnreadablePayload,
};

/// Pending items that are at the head of their entry's chain (the `next_due` rule).
const HEADS: &str = "FROM outbox o
     WHERE o.state = 'pending'
       AND NOT EXISTS (SELECT 1 FROM outbox p
                       WHERE p.state = 'pending' AND p.entry_id = o.entry_id AND p.seq < o.seq)";

const COLUMNS: &str = "o.seq, o.kind, o.item_id, o.entry_id, o.payload, o.created_at, o.attempts,
     o.next_attempt_at, o.last_error, o.state, o.rejected_reason";

/// Kinds that change a time entry (their ack may make the entry `synced`).
const ENTRY_KINDS: [OutboxKind; 4] = crate::entries::CHANGE_KINDS;

fn item_from_row(row: &Row<'_>) -> rusqlite::Result<OutboxItem> {
    let kind: OutboxKind = parsed(row, 1)?;
    let payload: String = row.get(4)?;
    let payload = OutboxPayload::from_json(kind, &payload).map_err(|e| UnreadablePayload {
        kind,
        detail: e.to_string(),
    });
    Ok(OutboxItem {
        seq: row.get(0)?,
        kind,
        item_id: parsed(row, 2)?,
        entry_id: opt_parsed(row, 3)?,
        payload,
        created_at: time(row, 5)?,
        attempts: unsigned(row, 6)?,
        next_attempt_at: time(row, 7)?,
        last_error: row.get(8)?,
        state: parsed(row, 9)?,
        rejected_reason: row.get(10)?,
    })
}

/// Inserts an outbox row inside `tx`, due at `due`. Returns its `seq`.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    item: &NewOutboxItem,
    created_at: DateTime<Utc>,
    due: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let payload = item.payload.to_json()?;
    tx.execute(
        "INSERT INTO outbox (item_id, kind, entry_id, payload, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            item.item_id.to_string(),
            item.kind().as_str(),
            item.entry_id.map(|e| e.to_string()),
            payload,
            ms(created_at),
            ms(due),
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Undoes a refused entry change made here (see [`Store::reject`]). A later change of the
/// same entry still queued keeps the entry as it is: undoing under it would mix two states.
fn undo_change(tx: &Transaction<'_>, item: &OutboxItem) -> Result<(), StoreError> {
    let Ok(payload) = &item.payload else {
        return Ok(());
    };
    let later: i64 = tx.query_row(
        "SELECT COUNT(*) FROM outbox WHERE entry_id = ?1 AND state = 'pending' AND seq > ?2",
        params![item.entry_id.map(|e| e.to_string()), item.seq],
        |row| row.get(0),
    )?;
    if later > 0 {
        return Ok(());
    }
    match payload {
        OutboxPayload::EditEntry(edit) => {
            tx.execute(
                "UPDATE time_entries SET description = ?2, start_at = ?3, end_at = ?4, synced = 1
                 WHERE id = ?1",
                params![
                    edit.entry_id.to_string(),
                    edit.before.description,
                    ms(edit.before.start),
                    edit.before.end.map(ms),
                ],
            )?;
        }
        OutboxPayload::ManualEntry(manual) => {
            tx.execute(
                "DELETE FROM time_entries WHERE id = ?1",
                [manual.entry_id.to_string()],
            )?;
        }
        _ => {}
    }
    Ok(())
}

impl Store {
    /// Queues a change, due immediately. Returns its `seq`.
    ///
    /// For a timer change prefer [`Store::record_timer_change`], which writes the entry in the
    /// same transaction.
    ///
    /// # Errors
    /// SQLite failure.
    pub fn enqueue(&mut self, item: &NewOutboxItem, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let tx = self.conn.transaction()?;
        let seq = insert(&tx, item, now, now)?;
        tx.commit()?;
        Ok(seq)
    }

    /// The next item to send at `now` (see the [module docs](self) for the rule), or `None`.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn next_due(&self, now: DateTime<Utc>) -> Result<Option<OutboxItem>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} {HEADS} AND o.next_attempt_at <= ?1 ORDER BY o.seq LIMIT 1");
        Ok(self
            .conn
            .query_row(&sql, [ms(now)], item_from_row)
            .optional()?)
    }

    /// When [`Store::next_due`] will next have something: the earliest `next_attempt_at` of
    /// the items it may return (possibly in the past: send now). `None` when nothing is
    /// pending.
    ///
    /// # Errors
    /// SQLite failure.
    pub fn earliest_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let sql = format!("SELECT MIN(o.next_attempt_at) {HEADS}");
        let v: Option<i64> = self.conn.query_row(&sql, [], |row| row.get(0))?;
        v.map(|v| {
            DateTime::from_timestamp_millis(v).ok_or_else(|| StoreError::Corrupt {
                column: "outbox.next_attempt_at",
                detail: format!("{v} ms out of range"),
            })
        })
        .transpose()
    }

    /// One item by `seq`, pending or rejected.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn outbox_item(&self, seq: i64) -> Result<Option<OutboxItem>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox o WHERE o.seq = ?1");
        Ok(self.conn.query_row(&sql, [seq], item_from_row).optional()?)
    }

    /// The service acknowledged item `seq`: delete it. A screenshot becomes `uploaded` (its
    /// thumbnail stays for offline viewing until retention); an entry becomes `synced` once no
    /// change of it is pending. Returns `false` if no pending item has that `seq` (already
    /// acknowledged, or deleted meanwhile by the user) — harmless.
    ///
    /// # Errors
    /// SQLite failure.
    pub fn ack(&mut self, seq: i64) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let found: Option<(String, String, Option<String>)> = tx
            .query_row(
                "DELETE FROM outbox WHERE seq = ?1 AND state = 'pending'
                 RETURNING kind, item_id, entry_id",
                [seq],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((kind, item_id, entry_id)) = found else {
            return Ok(false);
        };
        if kind == OutboxKind::Screenshot.as_str() {
            tx.execute(
                "UPDATE screenshots SET state = 'uploaded' WHERE id = ?1",
                [&item_id],
            )?;
        }
        if let Some(entry_id) = entry_id
            && ENTRY_KINDS.iter().any(|k| k.as_str() == kind)
        {
            tx.execute(
                "UPDATE time_entries SET synced = 1
                 WHERE id = ?1 AND NOT EXISTS (
                     SELECT 1 FROM outbox WHERE entry_id = ?1 AND state = 'pending'
                       AND kind IN (?2, ?3, ?4, ?5))",
                params![
                    entry_id,
                    ENTRY_KINDS[0].as_str(),
                    ENTRY_KINDS[1].as_str(),
                    ENTRY_KINDS[2].as_str(),
                    ENTRY_KINDS[3].as_str(),
                ],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// The service answered item `seq` with `deleted` (R29): what it would create — a
    /// screenshot, or an entry by a timer change — was deleted for good elsewhere and can never
    /// be created again. The item is done, not refused: it goes, and so does the local copy of
    /// what it names (the screenshot; the entry with its screenshots), as a final delete (R24).
    /// A tombstone answered `deleted` simply goes. Returns the item, or `None` if no pending
    /// item has that `seq`.
    ///
    /// Safe to repeat after a crash: until it has run, the item is pending and is sent again,
    /// and the service answers `deleted` again.
    ///
    /// # Errors
    /// SQLite failure, or [`StoreError::CheckpointIncomplete`] (the delete has committed).
    pub fn settle_deleted(&mut self, seq: i64) -> Result<Option<OutboxItem>, StoreError> {
        let Some(item) = self
            .outbox_item(seq)?
            .filter(|i| i.state == OutboxState::Pending)
        else {
            return Ok(None);
        };
        match (item.kind, item.entry_id) {
            (OutboxKind::Screenshot, _) => {
                self.delete_screenshot(ScreenshotId::from_uuid(item.item_id))?;
            }
            (
                OutboxKind::TimerStart
                | OutboxKind::TimerStop
                | OutboxKind::EditEntry
                | OutboxKind::ManualEntry,
                Some(e),
            ) => {
                self.delete_entry(e)?;
            }
            _ => {}
        }
        // Whatever the deletes above left of the item itself (a tombstone, an item without its
        // entry).
        self.conn
            .execute("DELETE FROM outbox WHERE seq = ?1", [seq])?;
        Ok(Some(item))
    }

    /// Sending item `seq` failed in a way that may pass later (network, 5xx, 429): count the
    /// attempt, remember the error, and do not offer it again before `next_attempt_at`.
    /// Returns `false` if no pending item has that `seq`.
    ///
    /// # Errors
    /// SQLite failure.
    pub fn retry_later(
        &mut self,
        seq: i64,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
             WHERE seq = ?1 AND state = 'pending'",
            params![seq, ms(next_attempt_at), error],
        )?;
        Ok(n > 0)
    }

    /// The service refused item `seq` for good: set it aside with `reason` (it is kept and
    /// listed by [`Store::rejected_items`], never sent again, and blocks nothing). A rejected
    /// screenshot is marked `rejected` and keeps its thumbnail until retention or a delete.
    /// A refused change made here is undone in the same transaction: an edit puts back the
    /// entry's description and times from before it (screenshots it excluded stay deleted: the
    /// user confirmed that, and the service still holds those it had); a manual entry the
    /// service never created goes. Returns `false` if no pending item has that `seq`.
    ///
    /// # Errors
    /// SQLite failure.
    pub fn reject(&mut self, seq: i64, reason: &str) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let found: Option<(String, String)> = tx
            .query_row(
                "UPDATE outbox SET state = 'rejected', rejected_reason = ?2,
                     last_error = ?2, attempts = attempts + 1
                 WHERE seq = ?1 AND state = 'pending'
                 RETURNING kind, item_id",
                params![seq, reason],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((kind, item_id)) = found else {
            return Ok(false);
        };
        if kind == OutboxKind::Screenshot.as_str() {
            tx.execute(
                "UPDATE screenshots SET state = 'rejected' WHERE id = ?1",
                [&item_id],
            )?;
        }
        if kind == OutboxKind::EditEntry.as_str() || kind == OutboxKind::ManualEntry.as_str() {
            let item = tx.query_row(
                &format!("SELECT {COLUMNS} FROM outbox o WHERE o.seq = ?1"),
                [seq],
                item_from_row,
            )?;
            undo_change(&tx, &item)?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Items the service refused for good, oldest first, with their reasons (for the UI).
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn rejected_items(&self) -> Result<Vec<OutboxItem>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM outbox o WHERE o.state = 'rejected' ORDER BY o.seq");
        let mut stmt = self.conn.prepare(&sql)?;
        let items = stmt
            .query_map([], item_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(items)
    }

    /// The user has seen a rejected item and dismisses it: delete it. Returns `false` unless
    /// `seq` is a rejected item (a pending item cannot be dismissed — nothing is dropped
    /// because of retries, R25).
    ///
    /// # Errors
    /// SQLite failure.
    pub fn dismiss_rejected(&mut self, seq: i64) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "DELETE FROM outbox WHERE seq = ?1 AND state = ?2",
            params![seq, OutboxState::Rejected.as_str()],
        )?;
        Ok(n > 0)
    }

    /// How many items are waiting to be sent (rejected ones excluded).
    ///
    /// # Errors
    /// SQLite failure.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
            [],
            |row| row.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many timer changes (start, stop, and edits, which may move a running entry's start)
    /// are waiting to be sent: while any is, this device's view of the running timer is newer
    /// than the service's.
    ///
    /// # Errors
    /// SQLite failure.
    pub fn pending_timer_changes(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND kind IN (?1, ?2, ?3)",
            [
                OutboxKind::TimerStart.as_str(),
                OutboxKind::TimerStop.as_str(),
                OutboxKind::EditEntry.as_str(),
            ],
            |row| row.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// When the screenshots of `entry` were captured whose deletes were made here before they
    /// were sent and still wait to be sent themselves (their tombstones carry the instant): the
    /// time those deletes removed is not at the service yet.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn unsent_deletes_of(&self, entry: EntryId) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT payload FROM outbox
             WHERE state = 'pending' AND kind = ?1 AND entry_id = ?2 ORDER BY seq",
        )?;
        let payloads = stmt
            .query_map(
                params![OutboxKind::DeleteScreenshot.as_str(), entry.to_string()],
                |row| row.get::<_, String>(0),
            )?
            .collect::<Result<Vec<_>, _>>()?;
        // An unreadable tombstone is the uploader's to set aside; it carries no instant here.
        Ok(payloads
            .iter()
            .filter_map(|json| OutboxPayload::from_json(OutboxKind::DeleteScreenshot, json).ok())
            .filter_map(|payload| match payload {
                OutboxPayload::DeleteScreenshot { unsent: Some(shot) } => Some(shot.captured_at),
                _ => None,
            })
            .collect())
    }
}
