//! The cached account and workspace settings: one row each, replaced wholesale whenever the
//! service sends fresh values, so the app can start and decide about capture while offline.

use rusqlite::{OptionalExtension, params};

use crate::convert::{ms, opt_time, parsed, unsigned};
use crate::{BlockField, CachedAccount, CachedSettings, OwnBlockRule, Store, StoreError};

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

    /// The member's own blocked-window rules, in their order.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn own_block_rules(&self) -> Result<Vec<OwnBlockRule>, StoreError> {
        self.block_rules("own_block_rules")
    }

    /// The workspace's blocked-window rules as the service last sent them, in their order.
    ///
    /// # Errors
    /// SQLite failure or an unreadable row.
    pub fn workspace_block_rules(&self) -> Result<Vec<OwnBlockRule>, StoreError> {
        self.block_rules("workspace_block_rules")
    }

    /// Replaces the cached workspace rules (blank patterns are dropped).
    ///
    /// # Errors
    /// SQLite failure (nothing is changed then).
    pub fn set_workspace_block_rules(&mut self, rules: &[OwnBlockRule]) -> Result<(), StoreError> {
        self.set_block_rules("workspace_block_rules", rules)
    }

    fn block_rules(&self, table: &'static str) -> Result<Vec<OwnBlockRule>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT field, pattern FROM {table} ORDER BY position"
        ))?;
        let rows = stmt.query_map([], |row| {
            Ok(OwnBlockRule {
                field: parsed::<BlockField>(row, 0)?,
                pattern: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Replaces the member's own rules (blank patterns are dropped).
    ///
    /// # Errors
    /// SQLite failure (nothing is changed then).
    pub fn set_own_block_rules(&mut self, rules: &[OwnBlockRule]) -> Result<(), StoreError> {
        self.set_block_rules("own_block_rules", rules)
    }

    fn set_block_rules(
        &mut self,
        table: &'static str,
        rules: &[OwnBlockRule],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(&format!("DELETE FROM {table}"), [])?;
        let mut position = 0_i64;
        for rule in rules {
            let pattern = rule.pattern.trim();
            if pattern.is_empty() {
                continue;
            }
            tx.execute(
                &format!("INSERT INTO {table} (position, field, pattern) VALUES (?1, ?2, ?3)"),
                params![position, rule.field.as_str(), pattern],
            )?;
            position += 1;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod own_rule_tests {
    use crate::{BlockField, OwnBlockRule, Store};

    #[test]
    fn own_rules_are_replaced_in_order_and_blank_ones_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        assert!(store.own_block_rules().unwrap().is_empty());
        let rule = |field, p: &str| OwnBlockRule {
            field,
            pattern: p.to_owned(),
        };
        store
            .set_own_block_rules(&[
                rule(BlockField::Title, "Online banking"),
                rule(BlockField::Class, "  "),
                rule(BlockField::Class, " keepassxc "),
            ])
            .unwrap();
        assert_eq!(
            store.own_block_rules().unwrap(),
            [
                rule(BlockField::Title, "Online banking"),
                rule(BlockField::Class, "keepassxc")
            ]
        );
        store.set_own_block_rules(&[]).unwrap();
        assert!(store.own_block_rules().unwrap().is_empty());
    }

    #[test]
    fn workspace_rules_are_kept_apart_from_own_rules() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let rule = |field, p: &str| OwnBlockRule {
            field,
            pattern: p.to_owned(),
        };
        store
            .set_own_block_rules(&[rule(BlockField::Title, "mine")])
            .unwrap();
        store
            .set_workspace_block_rules(&[
                rule(BlockField::Class, "KeePassXC"),
                rule(BlockField::Title, "Online banking"),
            ])
            .unwrap();
        assert_eq!(
            store.workspace_block_rules().unwrap(),
            [
                rule(BlockField::Class, "KeePassXC"),
                rule(BlockField::Title, "Online banking")
            ]
        );
        assert_eq!(
            store.own_block_rules().unwrap(),
            [rule(BlockField::Title, "mine")]
        );
        drop(store);
        // Kept across a restart (a capture while offline still applies them).
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.workspace_block_rules().unwrap().len(), 2);
        store.set_workspace_block_rules(&[]).unwrap();
        assert!(store.workspace_block_rules().unwrap().is_empty());
        assert_eq!(store.own_block_rules().unwrap().len(), 1);
    }
}
