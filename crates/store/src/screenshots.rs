//! Screenshots, capture attempts, final deletes and retention.
//!
//! * A successful capture writes the screenshot, its `screenshot` outbox row and its attempt in
//!   one transaction ([`Store::record_capture`]): after a crash there is either all of it or
//!   none (R25, R26).
//! * A failed capture is still recorded, with its health code and detail (R12), so "why is there
//!   no screenshot at 10:05" has an answer ([`Store::attempts_between`]).
//! * A delete is final (R24): row and pending upload removed with `secure_delete` on, then the
//!   WAL is checkpointed and truncated, so neither the database file nor the WAL keeps the bytes.
//! * Retention (R18): [`Store::purge_expired`] removes screenshots captured at or before
//!   `shotclock_domain::retention::cutoff(now)`, uploaded or not, with their outbox rows. It is
//!   cheap when nothing expired; the engine calls it at start and periodically (every few
//!   minutes), and before showing screenshots.

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{OptionalExtension, Row, params};
use sha2::{Digest, Sha256};
use shotclock_api::{EntryId, ScreenshotId};
use shotclock_domain::retention;

use crate::convert::{ms, opt_parsed, parsed, time, to_i64, unsigned};
use crate::{
    CaptureAttempt, CaptureHealth, NewAttempt, NewOutboxItem, NewScreenshot, OutboxKind,
    OutboxPayload, Screenshot, ScreenshotInfo, ScreenshotState, Store, StoreError, TimeEntry,
    UnsentShot, entries, outbox,
};

const INFO_COLUMNS: &str = "id, entry_id, captured_at, width, height, sha256, state";
const ATTEMPT_COLUMNS: &str = "id, entry_id, window_index, at, health, detail, screenshot_id";

fn info_from_row(row: &Row<'_>) -> rusqlite::Result<ScreenshotInfo> {
    Ok(ScreenshotInfo {
        id: parsed(row, 0)?,
        entry_id: parsed(row, 1)?,
        captured_at: time(row, 2)?,
        width: unsigned(row, 3)?,
        height: unsigned(row, 4)?,
        sha256: row.get(5)?,
        state: parsed(row, 6)?,
    })
}

fn attempt_from_row(row: &Row<'_>) -> rusqlite::Result<CaptureAttempt> {
    Ok(CaptureAttempt {
        id: parsed(row, 0)?,
        entry_id: parsed(row, 1)?,
        window_index: unsigned(row, 2)?,
        at: time(row, 3)?,
        health: parsed(row, 4)?,
        detail: row.get(5)?,
        screenshot_id: opt_parsed(row, 6)?,
    })
}

fn insert_attempt(
    tx: &rusqlite::Transaction<'_>,
    attempt: &NewAttempt,
    screenshot: Option<ScreenshotId>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO capture_attempts (id, entry_id, window_index, at, health, detail,
             screenshot_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            attempt.id.to_string(),
            attempt.entry_id.to_string(),
            to_i64(attempt.window_index, "window index")?,
            ms(attempt.at),
            attempt.health.as_str(),
            attempt.detail,
            screenshot.map(|s| s.to_string()),
        ],
    )?;
    Ok(())
}

/// Lowercase hex SHA-256.
fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Store {
    /// Stores a successful capture: the screenshot, its upload in the outbox (due at once) and
    /// the attempt that produced it, in one transaction. `entry` is inserted if this device did
    /// not know it yet (a timer started elsewhere, R8) and left untouched otherwise.
    ///
    /// The outbox payload is `{"screenshot_id", "entry_id", "captured_at" (RFC 3339, ms),
    /// "width", "height", "sha256"}`; the bytes stay in the `screenshots` row
    /// ([`Store::screenshot`]).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if the three arguments name different entries, the attempt is
    /// not `ok`, or the thumbnail is empty; SQLite failure (e.g. a duplicate id) — then
    /// nothing at all was written.
    pub fn record_capture(
        &mut self,
        entry: &TimeEntry,
        shot: &NewScreenshot,
        attempt: &NewAttempt,
    ) -> Result<ScreenshotInfo, StoreError> {
        if shot.entry_id != entry.id || attempt.entry_id != entry.id {
            return Err(StoreError::Invalid(format!(
                "capture of entry {} with screenshot of {} and attempt of {}",
                entry.id, shot.entry_id, attempt.entry_id
            )));
        }
        if attempt.health != CaptureHealth::Ok {
            return Err(StoreError::Invalid(format!(
                "a capture's attempt must be ok, not {}",
                attempt.health
            )));
        }
        if shot.thumbnail.is_empty() {
            return Err(StoreError::Invalid("empty thumbnail".to_owned()));
        }
        let info = ScreenshotInfo {
            id: shot.id,
            entry_id: shot.entry_id,
            captured_at: shot.captured_at,
            width: shot.width,
            height: shot.height,
            sha256: sha256_hex(&shot.thumbnail),
            state: ScreenshotState::Pending,
        };
        let upload = NewOutboxItem {
            item_id: *shot.id.as_uuid(),
            entry_id: Some(shot.entry_id),
            payload: OutboxPayload::Screenshot,
        };

        let tx = self.conn.transaction()?;
        entries::insert_if_missing(&tx, entry)?;
        tx.execute(
            "INSERT INTO screenshots (id, entry_id, captured_at, thumbnail, width, height, sha256,
                 state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                shot.id.to_string(),
                shot.entry_id.to_string(),
                ms(shot.captured_at),
                shot.thumbnail,
                shot.width,
                shot.height,
                info.sha256,
                info.state.as_str(),
            ],
        )?;
        outbox::insert(&tx, &upload, shot.captured_at, shot.captured_at)?;
        insert_attempt(&tx, attempt, Some(shot.id))?;
        tx.commit()?;
        Ok(info)
    }

    /// Records a capture attempt that produced no screenshot (R12). Its health must not be
    /// `ok`. The entry need not be known locally.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an `ok` attempt; SQLite failure (e.g. a duplicate id).
    pub fn record_failed_attempt(&mut self, attempt: &NewAttempt) -> Result<(), StoreError> {
        if attempt.health == CaptureHealth::Ok {
            return Err(StoreError::Invalid(
                "an ok attempt is recorded with its screenshot (record_capture)".to_owned(),
            ));
        }
        let tx = self.conn.transaction()?;
        insert_attempt(&tx, attempt, None)?;
        tx.commit()?;
        Ok(())
    }

    /// The most recent capture attempt, by time.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn last_attempt(&self) -> Result<Option<CaptureAttempt>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM capture_attempts ORDER BY at DESC, id DESC LIMIT 1"
        );
        Ok(self.conn.query_row(&sql, [], attempt_from_row).optional()?)
    }

    /// The latest attempt for one entry: the scheduler resumes after its window, so a restart
    /// never takes a second screenshot in a window that already has one (R9).
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn last_attempt_of_entry(
        &self,
        entry: EntryId,
    ) -> Result<Option<CaptureAttempt>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM capture_attempts WHERE entry_id = ?1
             ORDER BY window_index DESC, at DESC LIMIT 1"
        );
        Ok(self
            .conn
            .query_row(&sql, [entry.to_string()], attempt_from_row)
            .optional()?)
    }

    /// Capture attempts made in `[from, to)`, oldest first.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn attempts_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CaptureAttempt>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM capture_attempts WHERE at >= ?1 AND at < ?2
             ORDER BY at, id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let attempts = stmt
            .query_map([ms(from), ms(to)], attempt_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(attempts)
    }

    /// One screenshot with its thumbnail bytes.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn screenshot(&self, id: ScreenshotId) -> Result<Option<Screenshot>, StoreError> {
        let sql = format!("SELECT {INFO_COLUMNS}, thumbnail FROM screenshots WHERE id = ?1");
        Ok(self
            .conn
            .query_row(&sql, [id.to_string()], |row| {
                Ok(Screenshot {
                    info: info_from_row(row)?,
                    thumbnail: row.get(7)?,
                })
            })
            .optional()?)
    }

    /// Screenshots captured in `[from, to)`, oldest first, without bytes.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn screenshots_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ScreenshotInfo>, StoreError> {
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM screenshots WHERE captured_at >= ?1 AND captured_at < ?2
             ORDER BY captured_at, id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let shots = stmt
            .query_map([ms(from), ms(to)], info_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(shots)
    }

    /// An entry's screenshots, oldest first, without bytes.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn screenshots_of_entry(&self, entry: EntryId) -> Result<Vec<ScreenshotInfo>, StoreError> {
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM screenshots WHERE entry_id = ?1 ORDER BY captured_at, id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let shots = stmt
            .query_map([entry.to_string()], info_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(shots)
    }

    /// Deletes a screenshot locally for good (e.g. the service reports it deleted): the row and
    /// its upload (pending or rejected) go, its attempt forgets it, the bytes are overwritten
    /// (`secure_delete`) and the WAL is checkpointed and truncated (R24). Returns whether it
    /// existed.
    ///
    /// # Errors
    /// SQLite failure, or [`StoreError::CheckpointIncomplete`] (the delete has committed).
    pub fn delete_screenshot(&mut self, id: ScreenshotId) -> Result<bool, StoreError> {
        self.delete_screenshot_inner(id, None, None)
    }

    /// A member's delete that removed time from the screenshot's entry (R21): like
    /// [`Store::delete_screenshot`] (with `tombstone`, like
    /// [`Store::delete_screenshot_with_tombstone`]: the unsent screenshot and the instant the
    /// tombstone is queued), and in the same transaction the entry's deducted time becomes
    /// `deducted.1`, the entry's whole removed time after the delete. Returns whether the
    /// screenshot existed locally.
    ///
    /// # Errors
    /// As [`Store::delete_screenshot`]; a `CHECK` violation for a negative deducted time.
    pub fn delete_screenshot_deducting(
        &mut self,
        id: ScreenshotId,
        deducted: (EntryId, TimeDelta),
        tombstone: Option<(Option<UnsentShot>, DateTime<Utc>)>,
    ) -> Result<bool, StoreError> {
        self.delete_screenshot_inner(id, tombstone, Some(deducted))
    }

    /// The user deletes a screenshot here: like [`Store::delete_screenshot`], and queues a
    /// `delete_screenshot` tombstone in the same transaction (with `unsent`, what the service
    /// needs to apply the delete of a screenshot it never received), so the service
    /// drops it even if its upload was already in flight. The tombstone is queued even when the
    /// screenshot is not stored locally. Returns whether it existed locally.
    ///
    /// # Errors
    /// As [`Store::delete_screenshot`].
    pub fn delete_screenshot_with_tombstone(
        &mut self,
        id: ScreenshotId,
        unsent: Option<UnsentShot>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.delete_screenshot_inner(id, Some((unsent, now)), None)
    }

    fn delete_screenshot_inner(
        &mut self,
        id: ScreenshotId,
        tombstone: Option<(Option<UnsentShot>, DateTime<Utc>)>,
        deducted: Option<(EntryId, TimeDelta)>,
    ) -> Result<bool, StoreError> {
        let id_text = id.to_string();
        let tx = self.conn.transaction()?;
        let entry_id: Option<EntryId> = tx
            .query_row(
                "DELETE FROM screenshots WHERE id = ?1 RETURNING entry_id",
                [&id_text],
                |row| parsed(row, 0),
            )
            .optional()?;
        tx.execute(
            "DELETE FROM outbox WHERE kind = ?1 AND item_id = ?2",
            params![OutboxKind::Screenshot.as_str(), id_text],
        )?;
        if let Some((unsent, now)) = tombstone {
            let item = NewOutboxItem {
                item_id: *id.as_uuid(),
                entry_id,
                payload: OutboxPayload::DeleteScreenshot { unsent },
            };
            outbox::insert(&tx, &item, now, now)?;
        }
        if let Some((entry, total)) = deducted {
            tx.execute(
                "UPDATE time_entries SET deducted_ms = ?2 WHERE id = ?1",
                params![entry.to_string(), total.num_milliseconds()],
            )?;
        }
        tx.commit()?;
        self.checkpoint()?;
        Ok(entry_id.is_some())
    }

    /// Retention (R18): deletes every screenshot captured at or before
    /// `retention::cutoff(now)` — uploaded, pending or rejected — with its outbox row; also
    /// capture attempts that old, and `delete_screenshot` tombstones queued that long ago (the
    /// screenshot they name has expired everywhere). Checkpoints if anything went. Returns the
    /// number of screenshots deleted.
    ///
    /// # Errors
    /// SQLite failure, or [`StoreError::CheckpointIncomplete`] (the purge has committed).
    pub fn purge_expired(&mut self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let cutoff = ms(retention::cutoff(now));
        let tx = self.conn.transaction()?;
        let uploads = tx.execute(
            "DELETE FROM outbox WHERE kind = ?1
                 AND item_id IN (SELECT id FROM screenshots WHERE captured_at <= ?2)",
            params![OutboxKind::Screenshot.as_str(), cutoff],
        )?;
        let shots = tx.execute("DELETE FROM screenshots WHERE captured_at <= ?1", [cutoff])?;
        let attempts = tx.execute("DELETE FROM capture_attempts WHERE at <= ?1", [cutoff])?;
        let tombstones = tx.execute(
            "DELETE FROM outbox WHERE kind = ?1 AND created_at <= ?2",
            params![OutboxKind::DeleteScreenshot.as_str(), cutoff],
        )?;
        tx.commit()?;
        if uploads + shots + attempts + tombstones > 0 {
            self.checkpoint()?;
        }
        Ok(shots)
    }
}
