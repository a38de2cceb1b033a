//! Time entries this device knows of (R13): its own timer changes, and entries mirrored from
//! the service (a timer started elsewhere still gets screenshots here, R8).
//!
//! Deleting an entry deletes its screenshots, their pending uploads and its capture attempts in
//! the same transaction (R15), securely, then checkpoints the WAL (R24).
//!
//! The service's word on an entry (it ended, or it is gone) is taken with
//! [`Store::adopt_entry`] and [`Store::drop_entry_missing_on_service`]: each checks for a local
//! change of that entry still queued and writes in the same transaction, so a change the user
//! makes meanwhile is never overwritten by an older view of the service.

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use shotclock_api::{EntryId, ScreenshotId};

use crate::convert::{ms, opt_time, parsed, time};
use crate::{
    NewOutboxItem, OutboxKind, OutboxPayload, OutboxState, Store, StoreError, TimeEntry, outbox,
};

const COLUMNS: &str = "id, description, start_at, end_at, deducted_ms, synced";

/// Outbox kinds that change an entry (a timer start or stop, an edit, a manual entry).
pub(crate) const CHANGE_KINDS: [OutboxKind; 4] = [
    OutboxKind::TimerStart,
    OutboxKind::TimerStop,
    OutboxKind::EditEntry,
    OutboxKind::ManualEntry,
];

/// How many changes of entry `id` the outbox holds in `state` (`None`: pending or rejected).
fn queued_changes(
    tx: &rusqlite::Connection,
    id: EntryId,
    state: Option<OutboxState>,
) -> Result<u64, StoreError> {
    let n: i64 = tx.query_row(
        "SELECT COUNT(*) FROM outbox
         WHERE entry_id = ?1 AND kind IN (?2, ?3, ?4, ?5) AND (?6 IS NULL OR state = ?6)",
        params![
            id.to_string(),
            CHANGE_KINDS[0].as_str(),
            CHANGE_KINDS[1].as_str(),
            CHANGE_KINDS[2].as_str(),
            CHANGE_KINDS[3].as_str(),
            state.map(|s| s.as_str()),
        ],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

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

    /// A local change of an entry (timer start or stop, a manual entry): writes the entry
    /// (marked not `synced`) and queues `item` in one transaction. `item.entry_id` must be
    /// `Some(entry.id)`. Returns the outbox `seq`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if `item` is not an entry change of this entry; SQLite failure.
    pub fn record_timer_change(
        &mut self,
        entry: &TimeEntry,
        item: &NewOutboxItem,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.record_entry_edit(entry, &[], item, now)
    }

    /// A change of an entry made here (see [`Store::record_timer_change`]) that also deletes
    /// `excluded`, screenshots of the entry its new times leave outside (R39): they go with
    /// their pending uploads in the same transaction, securely (R24). Returns the outbox `seq`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if `item` is not an entry change of this entry; SQLite failure,
    /// or [`StoreError::CheckpointIncomplete`] (everything has committed).
    pub fn record_entry_edit(
        &mut self,
        entry: &TimeEntry,
        excluded: &[ScreenshotId],
        item: &NewOutboxItem,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        if item.entry_id != Some(entry.id) {
            return Err(StoreError::Invalid(format!(
                "outbox item of entry {:?} recorded with entry {}",
                item.entry_id, entry.id
            )));
        }
        let Some(of_entry) = item.payload.changed_entry() else {
            return Err(StoreError::Invalid(format!(
                "{} is not a change of an entry",
                item.kind()
            )));
        };
        if of_entry != entry.id {
            return Err(StoreError::Invalid(format!(
                "a change of entry {of_entry} recorded with entry {}",
                entry.id
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
        for shot in excluded {
            let id = shot.to_string();
            tx.execute(
                "DELETE FROM outbox WHERE kind = ?1 AND item_id = ?2",
                params![OutboxKind::Screenshot.as_str(), id],
            )?;
            tx.execute(
                "DELETE FROM screenshots WHERE id = ?1 AND entry_id = ?2",
                params![id, entry.id.to_string()],
            )?;
        }
        if item.kind() == OutboxKind::ManualEntry {
            tx.execute(
                "UPDATE time_entries SET manual = 1 WHERE id = ?1",
                [entry.id.to_string()],
            )?;
        }
        let seq = outbox::insert(&tx, item, now, now)?;
        tx.commit()?;
        if !excluded.is_empty() {
            self.checkpoint()?;
        }
        Ok(seq)
    }

    /// Entries with an item of `kind` still waiting to be sent (e.g. the tombstones of entries
    /// deleted here, or time added here by hand), oldest first.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn entries_queued(&self, kind: OutboxKind) -> Result<Vec<EntryId>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT entry_id FROM outbox
             WHERE kind = ?1 AND state = 'pending' AND entry_id IS NOT NULL ORDER BY seq",
        )?;
        let ids = stmt
            .query_map([kind.as_str()], |row| parsed(row, 0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }

    /// Entries held here that were added here by hand (R39), whether or not their creation
    /// was sent since, oldest first.
    ///
    /// # Errors
    /// SQLite failure.
    pub fn manual_entries(&self) -> Result<Vec<EntryId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM time_entries WHERE manual = 1 ORDER BY start_at")?;
        let ids = stmt
            .query_map([], |row| parsed(row, 0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }

    /// Whether entry `id` was added by hand here: it is held here marked manual, or its
    /// `manual_entry` item is still queued (pending or set aside).
    ///
    /// # Errors
    /// SQLite failure.
    pub fn is_queued_manual(&self, id: EntryId) -> Result<bool, StoreError> {
        let held: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM time_entries WHERE id = ?1 AND manual = 1",
            [id.to_string()],
            |row| row.get(0),
        )?;
        if held > 0 {
            return Ok(true);
        }
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE entry_id = ?1 AND kind = ?2",
            params![id.to_string(), OutboxKind::ManualEntry.as_str()],
            |row| row.get(0),
        )?;
        Ok(n > 0)
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

    /// Entries without an end (running, as far as this device knows), latest start first.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn open_entries(&self) -> Result<Vec<TimeEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM time_entries WHERE end_at IS NULL
             ORDER BY start_at DESC, id DESC"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let entries = stmt
            .query_map([], entry_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(entries)
    }

    /// How many changes of entry `id` (start, stop) wait to be sent: while any does,
    /// this device's view of the entry is newer than the service's.
    ///
    /// # Errors
    /// SQLite failure.
    pub fn pending_changes_of(&self, id: EntryId) -> Result<u64, StoreError> {
        queued_changes(&self.conn, id, Some(OutboxState::Pending))
    }

    /// The service's state of an entry (it runs, or it ended): written as `synced`, unless a
    /// change of it made here is still waiting to be sent — then the local state is the newer
    /// one and stays. Returns whether it was written.
    ///
    /// # Errors
    /// SQLite failure, or a `CHECK` violation (end before start, negative deducted time).
    pub fn adopt_entry(&mut self, entry: &TimeEntry) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        if queued_changes(&tx, entry.id, Some(OutboxState::Pending))? > 0 {
            return Ok(false);
        }
        upsert(
            &tx,
            &TimeEntry {
                synced: true,
                ..entry.clone()
            },
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The service does not have entry `id` (it was deleted there): deletes it here as
    /// [`Store::delete_entry`] does — unless a change of it made here is still queued (the
    /// service may simply not have it yet) or was refused and is kept aside for the user
    /// (R25). Returns whether it went.
    ///
    /// # Errors
    /// As [`Store::delete_entry`].
    pub fn drop_entry_missing_on_service(&mut self, id: EntryId) -> Result<bool, StoreError> {
        self.delete_entry_inner(id, None, true)
    }

    /// Deletes an entry locally (e.g. the service reports it deleted): its screenshots (bytes
    /// overwritten), its capture attempts, and its outbox items except tombstones; then
    /// checkpoints. Returns whether anything of it existed.
    ///
    /// # Errors
    /// SQLite failure, or [`StoreError::CheckpointIncomplete`] (the delete has committed).
    pub fn delete_entry(&mut self, id: EntryId) -> Result<bool, StoreError> {
        self.delete_entry_inner(id, None, false)
    }

    /// The user deletes an entry here: like [`Store::delete_entry`], and queues a
    /// `delete_entry` tombstone in the same transaction, so the service (and
    /// through it every device) drops it too. Returns whether anything of it existed locally.
    ///
    /// # Errors
    /// As [`Store::delete_entry`].
    pub fn delete_entry_with_tombstone(
        &mut self,
        id: EntryId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let tombstone = NewOutboxItem {
            item_id: *id.as_uuid(),
            entry_id: Some(id),
            payload: OutboxPayload::DeleteEntry,
        };
        self.delete_entry_inner(id, Some((&tombstone, now)), false)
    }

    /// Deletes entry `id` with everything of it. With `unless_changed`, nothing happens if a
    /// change of it (pending or rejected) is queued — checked in the delete's transaction.
    fn delete_entry_inner(
        &mut self,
        id: EntryId,
        tombstone: Option<(&NewOutboxItem, DateTime<Utc>)>,
        unless_changed: bool,
    ) -> Result<bool, StoreError> {
        let id_text = id.to_string();
        let tx = self.conn.transaction()?;
        if unless_changed && queued_changes(&tx, id, None)? > 0 {
            return Ok(false);
        }
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
