//! The cached account and workspace settings: one row each, replaced wholesale whenever the
//! service sends fresh values, so the app can start and decide about capture while offline.

use rusqlite::{OptionalExtension, params};

use crate::convert::{ms, opt_time, parsed, unsigned};
use crate::{CachedAccount, CachedSettings, Store, StoreError};

impl Store {
    /// The cached account, if signed in.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn account(&self) -> Result<Option<CachedAccount>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT server_url, user_id, workspace_id, role, email FROM account WHERE id = 1",
                [],
                |row| {
                    Ok(CachedAccount {
                        server_url: row.get(0)?,
                        user_id: parsed(row, 1)?,
                        workspace_id: parsed(row, 2)?,
                        role: parsed(row, 3)?,
                        email: row.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Replaces the cached account.
    ///
    /// # Errors
    /// SQLite failure.
    pub fn set_account(&mut self, account: &CachedAccount) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO account (id, server_url, user_id, workspace_id, role, email)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET server_url = excluded.server_url,
                 user_id = excluded.user_id, workspace_id = excluded.workspace_id,
                 role = excluded.role, email = excluded.email",
            params![
                account.server_url,
                account.user_id.to_string(),
                account.workspace_id.to_string(),
                account.role.as_str(),
                account.email,
            ],
        )?;
        Ok(())
    }

    /// Forgets the cached account (sign-out). Returns whether there was one.
    ///
    /// # Errors
    /// SQLite failure.
    pub fn clear_account(&mut self) -> Result<bool, StoreError> {
        Ok(self.conn.execute("DELETE FROM account", [])? > 0)
    }

    /// The cached workspace settings, if ever received.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn settings(&self) -> Result<Option<CachedSettings>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT screenshots_enabled, blur, plan, trial_started_at, capture_window_secs,
                        lock_date
                 FROM workspace_settings WHERE id = 1",
                [],
                |row| {
                    Ok(CachedSettings {
                        screenshots_enabled: row.get(0)?,
                        blur: row.get(1)?,
                        plan: parsed(row, 2)?,
                        trial_started_at: opt_time(row, 3)?,
                        capture_window_secs: unsigned(row, 4)?,
                        lock_date: opt_time(row, 5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Replaces the cached workspace settings.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] (a zero capture window violates a `CHECK`).
    pub fn set_settings(&mut self, settings: &CachedSettings) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO workspace_settings (id, screenshots_enabled, blur, plan,
                 trial_started_at, capture_window_secs, lock_date)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET screenshots_enabled = excluded.screenshots_enabled,
                 blur = excluded.blur, plan = excluded.plan,
                 trial_started_at = excluded.trial_started_at,
                 capture_window_secs = excluded.capture_window_secs,
                 lock_date = excluded.lock_date",
            params![
                settings.screenshots_enabled,
                settings.blur,
                settings.plan.as_str(),
                settings.trial_started_at.map(ms),
                settings.capture_window_secs,
                settings.lock_date.map(ms),
            ],
        )?;
        Ok(())
    }
}
