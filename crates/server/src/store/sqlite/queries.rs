//! [`Rows`] and [`TxRows`] over one SQLite connection: plain statements, cached.
//!
//! Day counts (R17) read `screenshot_hours`, per-(workspace, UTC hour, user) counts that
//! triggers keep in step with every insert and delete of a screenshot; only the partial hours
//! of a day in a zone off the hour are counted row by row.

mod presence;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use shotclock_api::{
    EntryId, InvitationId, NotificationId, Plan, ScreenshotId, UserId, WorkspaceId,
};
use shotclock_domain::gate::CaptureGate;
use uuid::Uuid;

use super::rows::{
    ENTRY_COLS, INVITE_COLS, NOTE_COLS, SHOT_COLS, USER_COLS, WS_COLS, at, conv_err, entry_row,
    invite_row, ms, note_row, shot_row, spans_json, u, user_row, ws_row,
};
use crate::store::{AccessRow, field_of, field_str, kind_of, kind_str};
use crate::store::{
    CountPlan, Counts, EntryCounts, EntryRow, InvitationRow, NotificationRow, Rows, ScreenshotRow,
    ScreenshotView, StoreResult, Tombstone, TxRows, UserRow, WorkspaceRow,
};
use crate::store::{SsoCodeRow, SsoConfigRow, SsoRequestRow};
use shotclock_api::privacy::{AccessKind, BlockRule};

/// Screenshots per user of a workspace in `[?2, ?3)` ms, row by row.
const COUNT_ROWS: &str = "SELECT user_id, count(*) FROM screenshots
     WHERE workspace_id = ?1 AND captured_ms >= ?2 AND captured_ms < ?3 GROUP BY user_id";

/// One connection seen as rows (a reader, or the writer inside its transaction).
pub(crate) struct Sql<'c> {
    c: &'c Connection,
}

impl<'c> Sql<'c> {
    pub(crate) fn new(c: &'c Connection) -> Self {
        Self { c }
    }

    fn list<T>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        let mut st = self.c.prepare_cached(sql)?;
        let rows = st.query_map(args, map)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn one<T>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        Ok(self
            .c
            .prepare_cached(sql)?
            .query_row(args, map)
            .optional()?)
    }

    fn exec(&self, sql: &str, args: impl rusqlite::Params) -> StoreResult<usize> {
        Ok(self.c.prepare_cached(sql)?.execute(args)?)
    }

    /// Adds the `(user_id, count)` rows of `sql` to `counts`.
    fn add_counts(
        &self,
        counts: &mut Counts,
        sql: &str,
        args: (Uuid, i64, i64),
    ) -> StoreResult<()> {
        let rows = self.list(sql, params![args.0, args.1, args.2], |r| {
            Ok((r.get::<_, Uuid>(0)?, r.get::<_, i64>(1)?))
        })?;
        for (user, n) in rows {
            *counts.entry(UserId::from_uuid(user)).or_default() += u64::try_from(n).unwrap_or(0);
        }
        Ok(())
    }
}

fn tomb(id: Tombstone) -> (Uuid, &'static str) {
    match id {
        Tombstone::Screenshot(id) => (u(id), "screenshot"),
        Tombstone::Entry(id) => (u(id), "entry"),
    }
}

impl Rows for Sql<'_> {
    fn workspace(&mut self, id: WorkspaceId) -> StoreResult<Option<WorkspaceRow>> {
        self.one(
            &format!("SELECT {WS_COLS} FROM workspaces WHERE id = ?1"),
            [u(id)],
            ws_row,
        )
    }

    fn gate_at(&mut self, id: WorkspaceId, t: DateTime<Utc>) -> StoreResult<Option<CaptureGate>> {
        self.one(
            "SELECT enabled, plan, trial_started_ms FROM capture_gates
             WHERE workspace_id = ?1 AND since_ms <= ?2 ORDER BY since_ms DESC LIMIT 1",
            params![u(id), ms(t)],
            |r| {
                Ok(CaptureGate {
                    enabled: r.get(0)?,
                    plan: r.get::<_, String>(1)?.parse::<Plan>().map_err(conv_err)?,
                    trial_started_at: r.get::<_, Option<i64>>(2)?.map(at).transpose()?,
                })
            },
        )
    }

    fn user(&mut self, id: UserId) -> StoreResult<Option<UserRow>> {
        self.one(
            &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
            [u(id)],
            user_row,
        )
    }

    fn users_by_email(&mut self, email: &str) -> StoreResult<Vec<UserRow>> {
        self.list(
            &format!("SELECT {USER_COLS} FROM users WHERE email = ?1"),
            [email],
            user_row,
        )
    }

    fn members(&mut self, id: WorkspaceId, include_inactive: bool) -> StoreResult<Vec<UserRow>> {
        self.list(
            &format!(
                "SELECT {USER_COLS} FROM users WHERE workspace_id = ?1 AND (active = 1 OR ?2)
                 ORDER BY email"
            ),
            params![u(id), include_inactive],
            user_row,
        )
    }

    fn session_user(
        &mut self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>> {
        self.one(
            "SELECT u.id, u.workspace_id, u.email, u.name, u.password_hash, u.role, u.active,
                    u.created_ms
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_ms > ?2 AND u.active = 1",
            params![&token_hash[..], ms(now)],
            user_row,
        )
    }

    fn session_expires(&mut self, token_hash: &[u8; 32]) -> StoreResult<Option<DateTime<Utc>>> {
        self.one(
            "SELECT expires_ms FROM sessions WHERE token_hash = ?1",
            [&token_hash[..]],
            |r| at(r.get(0)?),
        )
    }

    fn notifications(&mut self, user: UserId) -> StoreResult<Vec<NotificationRow>> {
        self.list(
            &format!(
                "SELECT {NOTE_COLS} FROM notifications WHERE user_id = ?1
                 ORDER BY created_ms DESC, id DESC LIMIT 500"
            ),
            [u(user)],
            note_row,
        )
    }

    fn notification(
        &mut self,
        user: UserId,
        id: NotificationId,
    ) -> StoreResult<Option<NotificationRow>> {
        self.one(
            &format!("SELECT {NOTE_COLS} FROM notifications WHERE id = ?1 AND user_id = ?2"),
            params![u(id), u(user)],
            note_row,
        )
    }

    fn entry(&mut self, id: EntryId) -> StoreResult<Option<EntryRow>> {
        self.one(
            &format!("SELECT {ENTRY_COLS} FROM entries WHERE id = ?1"),
            [u(id)],
            entry_row,
        )
    }

    fn running_entry(&mut self, user: UserId) -> StoreResult<Option<EntryRow>> {
        self.one(
            &format!("SELECT {ENTRY_COLS} FROM entries WHERE user_id = ?1 AND end_ms IS NULL"),
            [u(user)],
            entry_row,
        )
    }

    fn entries(
        &mut self,
        workspace: WorkspaceId,
        user: Option<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<EntryRow>> {
        match user {
            Some(user) => self.list(
                &format!(
                    "SELECT {ENTRY_COLS} FROM entries
                     WHERE user_id = ?1 AND workspace_id = ?2 AND start_ms >= ?3 AND start_ms < ?4
                     ORDER BY start_ms"
                ),
                params![u(user), u(workspace), ms(from), ms(to)],
                entry_row,
            ),
            None => self.list(
                &format!(
                    "SELECT {ENTRY_COLS} FROM entries
                     WHERE workspace_id = ?1 AND start_ms >= ?2 AND start_ms < ?3
                     ORDER BY start_ms"
                ),
                params![u(workspace), ms(from), ms(to)],
                entry_row,
            ),
        }
    }

    fn entries_around(
        &mut self,
        user: UserId,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<EntryRow>> {
        self.list(
            &format!(
                "SELECT {ENTRY_COLS} FROM entries
                 WHERE user_id = ?1 AND (?3 IS NULL OR start_ms < ?3)
                   AND (end_ms IS NULL OR end_ms > ?2)
                 ORDER BY start_ms"
            ),
            params![u(user), ms(from), to.map(ms)],
            entry_row,
        )
    }

    fn user_entries(&mut self, user: UserId) -> StoreResult<Vec<EntryRow>> {
        self.list(
            &format!("SELECT {ENTRY_COLS} FROM entries WHERE user_id = ?1 ORDER BY start_ms"),
            [u(user)],
            entry_row,
        )
    }

    fn screenshot(&mut self, id: ScreenshotId) -> StoreResult<Option<ScreenshotRow>> {
        self.one(
            &format!("SELECT {SHOT_COLS} FROM screenshots WHERE id = ?1"),
            [u(id)],
            shot_row,
        )
    }

    fn entry_screenshots(&mut self, entry: EntryId) -> StoreResult<Vec<ScreenshotRow>> {
        self.list(
            &format!(
                "SELECT {SHOT_COLS} FROM screenshots WHERE entry_id = ?1 ORDER BY captured_ms, id"
            ),
            [u(entry)],
            shot_row,
        )
    }

    fn user_screenshots(&mut self, user: UserId) -> StoreResult<Vec<ScreenshotRow>> {
        self.list(
            &format!("SELECT {SHOT_COLS} FROM screenshots WHERE user_id = ?1"),
            [u(user)],
            shot_row,
        )
    }

    fn screenshots_of_user(
        &mut self,
        user: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ScreenshotView>> {
        self.list(
            "SELECT s.id, s.workspace_id, s.user_id, s.entry_id, s.captured_ms, s.sha256,
                    s.size, s.width, s.height, s.blob_key, s.uploaded_ms, e.description,
                    e.approved, e.start_ms
             FROM screenshots s JOIN entries e ON e.id = s.entry_id
             WHERE s.user_id = ?1 AND s.captured_ms >= ?2 AND s.captured_ms < ?3
             ORDER BY s.captured_ms, s.id",
            params![u(user), ms(from), ms(to)],
            |r| {
                Ok(ScreenshotView {
                    row: shot_row(r)?,
                    entry_description: r.get(11)?,
                    entry_approved: r.get(12)?,
                    entry_start: at(r.get(13)?)?,
                })
            },
        )
    }

    fn screenshot_counts(
        &mut self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Counts> {
        let mut counts = Counts::new();
        let (ws, from, to) = (u(workspace), ms(from), ms(to));
        let plan = CountPlan::of(from, to);
        if let Some((first_hour, end_hour)) = plan.hours {
            // Summed here rather than by GROUP BY: the rows come in (hour, user) order, and
            // sorting them by user costs more than the sum.
            self.add_counts(
                &mut counts,
                "SELECT user_id, n FROM screenshot_hours
                 WHERE workspace_id = ?1 AND hour >= ?2 AND hour < ?3",
                (ws, first_hour, end_hour),
            )?;
        }
        for (a, b) in plan.rows {
            self.add_counts(&mut counts, COUNT_ROWS, (ws, a, b))?;
        }
        Ok(counts)
    }

    fn screenshots_until(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ScreenshotRow>> {
        self.list(
            &format!(
                "SELECT {SHOT_COLS} FROM screenshots WHERE captured_ms <= ?1
                 ORDER BY captured_ms LIMIT ?2"
            ),
            params![ms(cutoff), limit],
            shot_row,
        )
    }

    fn referenced_blobs(&mut self, keys: &[String]) -> StoreResult<HashSet<String>> {
        let mut st = self
            .c
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM screenshots WHERE blob_key = ?1)")?;
        let mut out = HashSet::new();
        for key in keys {
            let exists: bool = st.query_row([key], |r| r.get(0))?;
            if exists {
                out.insert(key.clone());
            }
        }
        Ok(out)
    }

    fn is_tombstoned(&mut self, id: Tombstone) -> StoreResult<bool> {
        let (id, kind) = tomb(id);
        Ok(self
            .one(
                "SELECT 1 FROM tombstones WHERE id = ?1 AND kind = ?2",
                params![id, kind],
                |_| Ok(()),
            )?
            .is_some())
    }

    fn invitation(&mut self, id: InvitationId) -> StoreResult<Option<InvitationRow>> {
        self.one(
            &format!("SELECT {INVITE_COLS} FROM invitations WHERE id = ?1"),
            [u(id)],
            invite_row,
        )
    }

    fn invitation_by_token(&mut self, token_hash: &[u8; 32]) -> StoreResult<Option<InvitationRow>> {
        self.one(
            &format!("SELECT {INVITE_COLS} FROM invitations WHERE token_hash = ?1"),
            [&token_hash[..]],
            invite_row,
        )
    }

    fn open_invitations(&mut self, workspace: WorkspaceId) -> StoreResult<Vec<InvitationRow>> {
        self.list(
            &format!(
                "SELECT {INVITE_COLS} FROM invitations
                 WHERE workspace_id = ?1 AND accepted_ms IS NULL AND revoked_ms IS NULL
                 ORDER BY created_ms DESC, id DESC"
            ),
            [u(workspace)],
            invite_row,
        )
    }

    fn workspace_block_rules(&mut self, id: WorkspaceId) -> StoreResult<Vec<BlockRule>> {
        let raw = self.list(
            "SELECT field, pattern FROM workspace_block_rules WHERE workspace_id = ?1
             ORDER BY position",
            [u(id)],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )?;
        raw.into_iter()
            .map(|(field, pattern)| {
                Ok(BlockRule {
                    field: field_of(&field)?,
                    pattern,
                })
            })
            .collect()
    }

    fn last_access(
        &mut self,
        screenshot: ScreenshotId,
        viewer: UserId,
        kind: AccessKind,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        self.one(
            "SELECT max(at_ms) FROM screenshot_access
             WHERE screenshot_id = ?1 AND viewer_id = ?2 AND kind = ?3",
            params![u(screenshot), u(viewer), kind_str(kind)],
            |r| r.get::<_, Option<i64>>(0)?.map(at).transpose(),
        )
        .map(Option::flatten)
    }

    fn access_log(&mut self, owner: UserId, since: DateTime<Utc>) -> StoreResult<Vec<AccessRow>> {
        let raw = self.list(
            "SELECT workspace_id, owner_id, screenshot_id, captured_ms, viewer_id, viewer_name,
                    kind, at_ms
             FROM screenshot_access WHERE owner_id = ?1 AND at_ms >= ?2
             ORDER BY at_ms DESC, seq DESC LIMIT 1000",
            params![u(owner), ms(since)],
            |r| {
                Ok((
                    AccessRow {
                        workspace_id: WorkspaceId::from_uuid(r.get(0)?),
                        owner_id: UserId::from_uuid(r.get(1)?),
                        screenshot_id: ScreenshotId::from_uuid(r.get(2)?),
                        captured_at: at(r.get(3)?)?,
                        viewer_id: UserId::from_uuid(r.get(4)?),
                        viewer_name: r.get(5)?,
                        kind: AccessKind::Viewed,
                        at: at(r.get(7)?)?,
                    },
                    r.get::<_, String>(6)?,
                ))
            },
        )?;
        raw.into_iter()
            .map(|(row, kind)| {
                Ok(AccessRow {
                    kind: kind_of(&kind)?,
                    ..row
                })
            })
            .collect()
    }

    fn entry_screenshot_counts(
        &mut self,
        workspace: WorkspaceId,
        user: Option<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        captured_from: DateTime<Utc>,
    ) -> StoreResult<EntryCounts> {
        let rows = self.list(
            "SELECT s.entry_id, count(*) FROM entries e
             JOIN screenshots s ON s.entry_id = e.id
             WHERE e.workspace_id = ?1 AND (?2 IS NULL OR e.user_id = ?2)
               AND e.start_ms >= ?3 AND e.start_ms < ?4 AND s.captured_ms >= ?5
             GROUP BY s.entry_id",
            params![
                u(workspace),
                user.map(u),
                ms(from),
                ms(to),
                ms(captured_from)
            ],
            |r| Ok((r.get::<_, Uuid>(0)?, r.get::<_, i64>(1)?)),
        )?;
        Ok(rows
            .into_iter()
            .map(|(id, n)| (EntryId::from_uuid(id), u64::try_from(n).unwrap_or(0)))
            .collect())
    }
    fn sso_config(&mut self, id: WorkspaceId) -> StoreResult<Option<SsoConfigRow>> {
        let Some(mut row) = self.one(
            "SELECT issuer, client_id, client_secret, auto_join, password_sign_in, updated_ms
             FROM sso_configs WHERE workspace_id = ?1",
            [u(id)],
            |r| {
                Ok(SsoConfigRow {
                    workspace_id: id,
                    issuer: r.get(0)?,
                    client_id: r.get(1)?,
                    client_secret: r.get(2)?,
                    allowed_domains: Vec::new(),
                    auto_join: r.get(3)?,
                    password_sign_in: r.get(4)?,
                    updated_at: at(r.get(5)?)?,
                })
            },
        )?
        else {
            return Ok(None);
        };
        row.allowed_domains = self.list(
            "SELECT domain FROM sso_domains WHERE workspace_id = ?1 ORDER BY domain",
            [u(id)],
            |r| r.get(0),
        )?;
        Ok(Some(row))
    }

    fn sso_domain_workspace(&mut self, domain: &str) -> StoreResult<Option<WorkspaceId>> {
        self.one(
            "SELECT workspace_id FROM sso_domains WHERE domain = ?1",
            [domain],
            |r| Ok(WorkspaceId::from_uuid(r.get(0)?)),
        )
    }

    fn sso_identity(
        &mut self,
        workspace: WorkspaceId,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<UserId>> {
        self.one(
            "SELECT user_id FROM sso_identities
             WHERE workspace_id = ?1 AND issuer = ?2 AND subject = ?3",
            params![u(workspace), issuer, subject],
            |r| Ok(UserId::from_uuid(r.get(0)?)),
        )
    }
}

impl TxRows for Sql<'_> {
    fn insert_workspace(&mut self, w: &WorkspaceRow) -> StoreResult<()> {
        self.exec(
            &format!("INSERT INTO workspaces ({WS_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                u(w.id),
                w.name,
                w.plan.as_str(),
                w.screenshots_enabled,
                w.blur_enabled,
                w.lock_date.map(ms),
                w.trial_started_at.map(ms),
                ms(w.created_at)
            ],
        )?;
        Ok(())
    }

    fn update_workspace(&mut self, w: &WorkspaceRow) -> StoreResult<()> {
        self.exec(
            "UPDATE workspaces SET name = ?2, plan = ?3, screenshots_enabled = ?4,
                    blur_enabled = ?5, lock_date_ms = ?6, trial_started_ms = ?7
             WHERE id = ?1",
            params![
                u(w.id),
                w.name,
                w.plan.as_str(),
                w.screenshots_enabled,
                w.blur_enabled,
                w.lock_date.map(ms),
                w.trial_started_at.map(ms)
            ],
        )?;
        Ok(())
    }

    fn record_gate(
        &mut self,
        id: WorkspaceId,
        since: DateTime<Utc>,
        gate: &CaptureGate,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO capture_gates (workspace_id, since_ms, enabled, plan, trial_started_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (workspace_id, since_ms) DO UPDATE
             SET enabled = excluded.enabled, plan = excluded.plan,
                 trial_started_ms = excluded.trial_started_ms",
            params![
                u(id),
                ms(since),
                gate.enabled,
                gate.plan.as_str(),
                gate.trial_started_at.map(ms)
            ],
        )?;
        Ok(())
    }

    fn purge_gates(&mut self, before: DateTime<Utc>) -> StoreResult<u64> {
        let n = self.exec(
            "DELETE FROM capture_gates AS g WHERE g.since_ms < (
                 SELECT max(k.since_ms) FROM capture_gates k
                 WHERE k.workspace_id = g.workspace_id AND k.since_ms <= ?1)",
            [ms(before)],
        )?;
        Ok(n as u64)
    }

    fn insert_user(&mut self, user: &UserRow) -> StoreResult<()> {
        self.exec(
            &format!("INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                u(user.id),
                u(user.workspace_id),
                user.email,
                user.name,
                user.password_hash,
                user.role.as_str(),
                user.active,
                ms(user.created_at)
            ],
        )?;
        Ok(())
    }

    fn update_user(&mut self, user: &UserRow) -> StoreResult<()> {
        self.exec(
            "UPDATE users SET role = ?2, active = ?3 WHERE id = ?1",
            params![u(user.id), user.role.as_str(), user.active],
        )?;
        Ok(())
    }

    fn delete_user(&mut self, id: UserId) -> StoreResult<()> {
        for table in ["sessions", "notifications"] {
            self.exec(&format!("DELETE FROM {table} WHERE user_id = ?1"), [u(id)])?;
        }
        self.exec("DELETE FROM users WHERE id = ?1", [u(id)])?;
        Ok(())
    }

    fn insert_session(
        &mut self,
        token_hash: &[u8; 32],
        user: UserId,
        workspace: WorkspaceId,
        created: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sessions (token_hash, user_id, workspace_id, created_ms, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                &token_hash[..],
                u(user),
                u(workspace),
                ms(created),
                ms(expires)
            ],
        )?;
        Ok(())
    }

    fn extend_session(&mut self, token_hash: &[u8; 32], expires: DateTime<Utc>) -> StoreResult<()> {
        self.exec(
            "UPDATE sessions SET expires_ms = ?2 WHERE token_hash = ?1",
            params![&token_hash[..], ms(expires)],
        )?;
        Ok(())
    }

    fn delete_session(&mut self, token_hash: &[u8; 32]) -> StoreResult<()> {
        self.exec(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [&token_hash[..]],
        )?;
        Ok(())
    }

    fn delete_sessions(
        &mut self,
        user: UserId,
        expired_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        match expired_at {
            Some(t) => self.exec(
                "DELETE FROM sessions WHERE user_id = ?1 AND expires_ms <= ?2",
                params![u(user), ms(t)],
            )?,
            None => self.exec("DELETE FROM sessions WHERE user_id = ?1", [u(user)])?,
        };
        Ok(())
    }

    fn insert_notification(&mut self, n: &NotificationRow) -> StoreResult<()> {
        self.exec(
            &format!("INSERT INTO notifications ({NOTE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![
                u(n.id),
                u(n.workspace_id),
                u(n.user_id),
                n.kind,
                n.message,
                ms(n.created_at),
                n.read_at.map(ms)
            ],
        )?;
        Ok(())
    }

    fn set_notification_read(
        &mut self,
        id: NotificationId,
        read_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE notifications SET read_ms = ?2 WHERE id = ?1",
            params![u(id), ms(read_at)],
        )?;
        Ok(())
    }

    fn insert_entry(&mut self, e: &EntryRow) -> StoreResult<()> {
        self.exec(
            &format!(
                "INSERT INTO entries ({ENTRY_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                u(e.id),
                u(e.workspace_id),
                u(e.user_id),
                e.description,
                ms(e.times.start),
                e.times.end.map(ms),
                spans_json(&e.times.removed)?,
                e.approved,
                ms(e.created_at),
                e.manual
            ],
        )?;
        Ok(())
    }

    fn update_entry(&mut self, e: &EntryRow) -> StoreResult<()> {
        self.exec(
            "UPDATE entries SET description = ?2, start_ms = ?3, end_ms = ?4, removed_spans = ?5,
                    approved = ?6
             WHERE id = ?1",
            params![
                u(e.id),
                e.description,
                ms(e.times.start),
                e.times.end.map(ms),
                spans_json(&e.times.removed)?,
                e.approved
            ],
        )?;
        Ok(())
    }

    fn delete_entry(&mut self, id: EntryId) -> StoreResult<()> {
        self.exec("DELETE FROM entries WHERE id = ?1", [u(id)])?;
        Ok(())
    }

    fn insert_screenshot(&mut self, s: &ScreenshotRow) -> StoreResult<()> {
        self.exec(
            &format!(
                "INSERT INTO screenshots ({SHOT_COLS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ),
            params![
                u(s.id),
                u(s.workspace_id),
                u(s.user_id),
                u(s.entry_id),
                ms(s.captured_at),
                &s.sha256[..],
                s.size,
                s.width,
                s.height,
                s.blob_key,
                ms(s.uploaded_at)
            ],
        )?;
        Ok(())
    }

    fn delete_screenshot(&mut self, id: ScreenshotId) -> StoreResult<()> {
        self.exec("DELETE FROM screenshots WHERE id = ?1", [u(id)])?;
        Ok(())
    }

    fn insert_tombstone(
        &mut self,
        id: Tombstone,
        workspace: WorkspaceId,
        deleted_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (id, kind) = tomb(id);
        self.exec(
            "INSERT INTO tombstones (id, kind, workspace_id, deleted_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO NOTHING",
            params![id, kind, u(workspace), ms(deleted_at)],
        )?;
        Ok(())
    }

    fn purge_tombstones(&mut self, before: DateTime<Utc>) -> StoreResult<u64> {
        let n = self.exec(
            "DELETE FROM tombstones WHERE deleted_ms <= ?1",
            [ms(before)],
        )?;
        Ok(n as u64)
    }

    fn insert_invitation(&mut self, i: &InvitationRow) -> StoreResult<()> {
        self.exec(
            &format!(
                "INSERT INTO invitations ({INVITE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ),
            params![
                u(i.id),
                u(i.workspace_id),
                i.email,
                i.role.as_str(),
                &i.token_hash[..],
                ms(i.created_at),
                ms(i.expires_at),
                i.accepted_at.map(ms),
                i.revoked_at.map(ms)
            ],
        )?;
        Ok(())
    }

    fn set_workspace_block_rules(
        &mut self,
        id: WorkspaceId,
        rules: &[BlockRule],
    ) -> StoreResult<()> {
        self.exec(
            "DELETE FROM workspace_block_rules WHERE workspace_id = ?1",
            [u(id)],
        )?;
        for (position, rule) in (0_i64..).zip(rules) {
            self.exec(
                "INSERT INTO workspace_block_rules (workspace_id, position, field, pattern)
                 VALUES (?1, ?2, ?3, ?4)",
                params![u(id), position, field_str(rule.field), rule.pattern],
            )?;
        }
        Ok(())
    }

    fn insert_access(&mut self, a: &AccessRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO screenshot_access (workspace_id, owner_id, screenshot_id, captured_ms,
                 viewer_id, viewer_name, kind, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                u(a.workspace_id),
                u(a.owner_id),
                u(a.screenshot_id),
                ms(a.captured_at),
                u(a.viewer_id),
                a.viewer_name,
                kind_str(a.kind),
                ms(a.at)
            ],
        )?;
        Ok(())
    }

    fn update_invitation(&mut self, i: &InvitationRow) -> StoreResult<()> {
        self.exec(
            "UPDATE invitations SET accepted_ms = ?2, revoked_ms = ?3 WHERE id = ?1",
            params![u(i.id), i.accepted_at.map(ms), i.revoked_at.map(ms)],
        )?;
        Ok(())
    }

    fn purge_access(&mut self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let n = self.exec(
            "DELETE FROM screenshot_access WHERE captured_ms <= ?1",
            [ms(cutoff)],
        )?;
        Ok(n as u64)
    }

    fn delete_access_of(&mut self, owner: UserId) -> StoreResult<()> {
        self.exec(
            "DELETE FROM screenshot_access WHERE owner_id = ?1",
            [u(owner)],
        )?;
        Ok(())
    }
    fn set_sso_config(&mut self, c: &SsoConfigRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sso_configs (workspace_id, issuer, client_id, client_secret, auto_join,
                 password_sign_in, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (workspace_id) DO UPDATE SET issuer = excluded.issuer,
                 client_id = excluded.client_id, client_secret = excluded.client_secret,
                 auto_join = excluded.auto_join, password_sign_in = excluded.password_sign_in,
                 updated_ms = excluded.updated_ms",
            params![
                u(c.workspace_id),
                c.issuer,
                c.client_id,
                c.client_secret,
                c.auto_join,
                c.password_sign_in,
                ms(c.updated_at)
            ],
        )?;
        self.exec(
            "DELETE FROM sso_domains WHERE workspace_id = ?1",
            [u(c.workspace_id)],
        )?;
        for domain in &c.allowed_domains {
            self.exec(
                "INSERT INTO sso_domains (domain, workspace_id) VALUES (?1, ?2)",
                params![domain, u(c.workspace_id)],
            )?;
        }
        Ok(())
    }

    fn insert_sso_identity(
        &mut self,
        workspace: WorkspaceId,
        issuer: &str,
        subject: &str,
        user: UserId,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sso_identities (workspace_id, issuer, subject, user_id)
             VALUES (?1, ?2, ?3, ?4)",
            params![u(workspace), issuer, subject, u(user)],
        )?;
        Ok(())
    }

    fn insert_sso_request(&mut self, r: &SsoRequestRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sso_requests (state_hash, workspace_id, nonce, pkce_verifier,
                 redirect_uri, app_challenge, app_redirect, app_state, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                &r.state_hash[..],
                u(r.workspace_id),
                r.nonce,
                r.pkce_verifier,
                r.redirect_uri,
                r.app_challenge,
                r.app_redirect,
                r.app_state,
                ms(r.expires_at)
            ],
        )?;
        Ok(())
    }

    fn take_sso_request(&mut self, state_hash: &[u8; 32]) -> StoreResult<Option<SsoRequestRow>> {
        let hash = *state_hash;
        let row = self.one(
            "DELETE FROM sso_requests WHERE state_hash = ?1
             RETURNING workspace_id, nonce, pkce_verifier, redirect_uri, app_challenge,
                 app_redirect, app_state, expires_ms",
            [&hash[..]],
            |r| {
                Ok(SsoRequestRow {
                    state_hash: hash,
                    workspace_id: WorkspaceId::from_uuid(r.get(0)?),
                    nonce: r.get(1)?,
                    pkce_verifier: r.get(2)?,
                    redirect_uri: r.get(3)?,
                    app_challenge: r.get(4)?,
                    app_redirect: r.get(5)?,
                    app_state: r.get(6)?,
                    expires_at: at(r.get(7)?)?,
                })
            },
        )?;
        Ok(row)
    }

    fn insert_sso_code(&mut self, c: &SsoCodeRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sso_codes (code_hash, user_id, challenge, expires_ms)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                &c.code_hash[..],
                u(c.user_id),
                c.challenge,
                ms(c.expires_at)
            ],
        )?;
        Ok(())
    }

    fn take_sso_code(&mut self, code_hash: &[u8; 32]) -> StoreResult<Option<SsoCodeRow>> {
        let hash = *code_hash;
        self.one(
            "DELETE FROM sso_codes WHERE code_hash = ?1
             RETURNING user_id, challenge, expires_ms",
            [&hash[..]],
            |r| {
                Ok(SsoCodeRow {
                    code_hash: hash,
                    user_id: UserId::from_uuid(r.get(0)?),
                    challenge: r.get(1)?,
                    expires_at: at(r.get(2)?)?,
                })
            },
        )
    }

    fn purge_sso(&mut self, now: DateTime<Utc>) -> StoreResult<u64> {
        let a = self.exec("DELETE FROM sso_requests WHERE expires_ms <= ?1", [ms(now)])?;
        let b = self.exec("DELETE FROM sso_codes WHERE expires_ms <= ?1", [ms(now)])?;
        Ok((a + b) as u64)
    }

    fn delete_sso_config(&mut self, workspace: WorkspaceId) -> StoreResult<()> {
        for sql in [
            "DELETE FROM sso_requests WHERE workspace_id = ?1",
            "DELETE FROM sso_domains WHERE workspace_id = ?1",
            "DELETE FROM sso_configs WHERE workspace_id = ?1",
        ] {
            self.exec(sql, [u(workspace)])?;
        }
        Ok(())
    }
}
