//! Time entries this device knows of (R13): its own timer changes, and entries mirrored from
//! the service (a timer started elsewhere still gets screenshots here, R8).
//!
//! Deleting an entry deletes its screenshots, their pending uploads and its capture attempts in
//! the same transaction (R15), securely, then checkpoints the WAL (R24).

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde_json::Value;
use shotclock_api::EntryId;

use crate::convert::{ms, opt_time, parsed, time};
use crate::{NewOutboxItem, OutboxKind, Store, StoreError, TimeEntry, outbox};

const COLUMNS: &str = "id, description, start_at, end_at, deducted_ms, synced";

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<TimeEntry> {
    let deducted: i64 = row.get(4)?;
    Ok(TimeEntry {
        id: parsed(row, 0)?,
        description: row.get(1)?,
        start: time(row, 2)?,
        end: opt_time(row, 3)?,
        deducted: TimeDelta::milliseconds(deducted),
        synced: row.get(5)?,
    })
}

/// Inserts or fully replaces an entry inside `tx`.
pub(crate) fn upsert(tx: &Transaction<'_>, entry: &TimeEntry) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO time_entries (id, description, start_at, end_at, deducted_ms, synced)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET description = excluded.description,
             start_at = excluded.start_at, end_at = excluded.end_at,
             deducted_ms = excluded.deducted_ms, synced = excluded.synced",
        params![
            entry.id.to_string(),
            entry.description,
            ms(entry.start),
            entry.end.map(ms),
            entry.deducted.num_milliseconds(),
            entry.synced,
        ],
    )?;
    Ok(())
}

/// Inserts an entry inside `tx` unless one with its id exists (which is left untouched).
pub(crate) fn insert_if_missing(tx: &Transaction<'_>, entry: &TimeEntry) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO time_entries (id, description, start_at, end_at, deducted_ms, synced)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO NOTHING",
        params![
            entry.id.to_string(),
            entry.description,
            ms(entry.start),
            entry.end.map(ms),
            entry.deducted.num_milliseconds(),
            entry.synced,
        ],
    )?;
    Ok(())
}

impl Store {
    /// Inserts or replaces an entry (e.g. mirrored from the service).
    ///
    /// # Errors
    /// SQLite failure, or a `CHECK` violation (end before start, negative deducted time).
    pub fn upsert_entry(&mut self, entry: &TimeEntry) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        upsert(&tx, entry)?;
        tx.commit()?;
        Ok(())
    }

    /// A local timer change (start, stop, edit): writes the entry (marked not `synced`) and
    /// queues `item` in one transaction. `item.entry_id` must be `Some(entry.id)`. Returns the
    /// outbox `seq`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if `item` is not an entry change of this entry; SQLite failure.
    pub fn record_timer_change(
        &mut self,
        entry: &TimeEntry,
        item: &NewOutboxItem,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        if item.entry_id != Some(entry.id) {
            return Err(StoreError::Invalid(format!(
                "outbox item of entry {:?} recorded with entry {}",
                item.entry_id, entry.id
            )));
        }
        if !matches!(
            item.kind,
            OutboxKind::TimerStart | OutboxKind::TimerStop | OutboxKind::EntryUpdate
        ) {
            return Err(StoreError::Invalid(format!(
                "{} is not a timer change",
                item.kind
            )));
        }
        let tx = self.conn.transaction()?;
        upsert(
            &tx,
            &TimeEntry {
                synced: false,
                ..entry.clone()
            },
        )?;
        let seq = outbox::insert(&tx, item, now, now)?;
        tx.commit()?;
        Ok(seq)
    }

    /// One entry by id.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn get_entry(&self, id: EntryId) -> Result<Option<TimeEntry>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM time_entries WHERE id = ?1");
        Ok(self
            .conn
            .query_row(&sql, [id.to_string()], entry_from_row)
            .optional()?)
    }

    /// Entries overlapping `[from, to)` (a running entry extends to infinity), by start time.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn entries_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TimeEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM time_entries
             WHERE start_at < ?2 AND (end_at IS NULL OR end_at > ?1)
             ORDER BY start_at, id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let entries = stmt
            .query_map([ms(from), ms(to)], entry_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(entries)
    }

    /// The running entry (no end), the latest-started one if the cache somehow holds several.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn running_entry(&self) -> Result<Option<TimeEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM time_entries WHERE end_at IS NULL
             ORDER BY start_at DESC, id DESC LIMIT 1"
        );
        Ok(self.conn.query_row(&sql, [], entry_from_row).optional()?)
    }

    /// Deletes an entry locally (e.g. the service reports it deleted): its screenshots (bytes
    /// overwritten), its capture attempts, and its outbox items except tombstones; then
    /// checkpoints. Returns whether anything of it existed.
    ///
    /// # Errors
    /// SQLite failure, or [`StoreError::CheckpointIncomplete`] (the delete has committed).
    pub fn delete_entry(&mut self, id: EntryId) -> Result<bool, StoreError> {
        self.delete_entry_inner(id, None)
    }

    /// The user deletes an entry here: like [`Store::delete_entry`], and queues a
    /// `delete_entry` tombstone with `payload` in the same transaction, so the service (and
    /// through it every device) drops it too. Returns whether anything of it existed locally.
    ///
    /// # Errors
    /// As [`Store::delete_entry`].
    pub fn delete_entry_with_tombstone(
        &mut self,
        id: EntryId,
        payload: Value,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let tombstone = NewOutboxItem {
            kind: OutboxKind::DeleteEntry,
            item_id: *id.as_uuid(),
            entry_id: Some(id),
            payload,
        };
        self.delete_entry_inner(id, Some((&tombstone, now)))
    }

    fn delete_entry_inner(
        &mut self,
        id: EntryId,
        tombstone: Option<(&NewOutboxItem, DateTime<Utc>)>,
    ) -> Result<bool, StoreError> {
        let id_text = id.to_string();
        let tx = self.conn.transaction()?;
        // Uploads of its screenshots, and its timer changes (pending or rejected). Tombstones
        // stay: they only ever remove data from the service.
        tx.execute(
            "DELETE FROM outbox
             WHERE (entry_id = ?1 AND kind NOT IN (?2, ?3))
                OR (kind = ?4 AND item_id IN (SELECT id FROM screenshots WHERE entry_id = ?1))",
            params![
                id_text,
                OutboxKind::DeleteEntry.as_str(),
                OutboxKind::DeleteScreenshot.as_str(),
                OutboxKind::Screenshot.as_str(),
            ],
        )?;
        let shots = tx.execute("DELETE FROM screenshots WHERE entry_id = ?1", [&id_text])?;
        tx.execute(
            "DELETE FROM capture_attempts WHERE entry_id = ?1",
            [&id_text],
        )?;
        let entries = tx.execute("DELETE FROM time_entries WHERE id = ?1", [&id_text])?;
        if let Some((item, now)) = tombstone {
            outbox::insert(&tx, item, now, now)?;
        }
        tx.commit()?;
        self.checkpoint()?;
        Ok(shots + entries > 0)
    }
}
