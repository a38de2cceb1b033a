//! [`Rows`] and [`TxRows`] over one PostgreSQL connection: plain statements, prepared once per
//! connection (deadpool's statement cache).
//!
//! The row interfaces are synchronous, so each statement is driven to completion with the
//! backend runtime's `Handle::block_on` from the blocking thread the job runs on; the
//! connection itself is polled by that runtime's workers.
//!
//! Day counts (R17) read `screenshot_hours`, kept in step by triggers (migration 0001), exactly
//! as on SQLite; only the partial hours of a day in a zone off the hour are counted row by row.

mod presence;

use std::cell::Cell;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use shotclock_api::{EntryId, InvitationId, NotificationId, ScreenshotId, UserId, WorkspaceId};
use shotclock_domain::gate::CaptureGate;
use tokio::runtime::Handle;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::rows::{ACCESS_COLS, access_row, rule_row};
use super::rows::{
    ENTRY_COLS, INVITE_COLS, NOTE_COLS, SHOT_COLS, USER_COLS, WS_COLS, big, count_row, entry_row,
    gate_row, instant, invite_row, ms, note_row, shot_row, spans_json, u, user_row, view_row,
    ws_row,
};
use crate::store::{AccessRow, StoreError, field_str, kind_str};
use crate::store::{
    CountPlan, Counts, EntryCounts, EntryRow, InvitationRow, NotificationRow, Rows, ScreenshotRow,
    ScreenshotView, StoreResult, Tombstone, TxRows, UploadFacts, UserRow, WorkspaceRow,
};
use crate::store::{SsoCodeRow, SsoConfigRow, SsoRequestRow};
use shotclock_api::privacy::{AccessKind, BlockRule};

/// Screenshots per user of a workspace in `[$2, $3)` ms, row by row.
const COUNT_ROWS: &str = "SELECT user_id, count(*) FROM screenshots
     WHERE workspace_id = $1 AND captured_ms >= $2 AND captured_ms < $3 GROUP BY user_id";

/// Screenshots per user of a workspace in the UTC days `[$2, $3)` (migration 0006). Summed
/// here: one row per member instead of one per member and day.
const COUNT_DAYS: &str = "SELECT user_id, sum(n)::bigint FROM screenshot_days
     WHERE workspace_id = $1 AND day >= $2 AND day < $3 GROUP BY user_id";

/// Screenshots per user of a workspace in the UTC hours `[$2, $3)`, summed per member.
const COUNT_HOURS: &str = "SELECT user_id, sum(n)::bigint FROM screenshot_hours
     WHERE workspace_id = $1 AND hour >= $2 AND hour < $3 GROUP BY user_id";

/// How the whole hours of a count are read: the UTC days they cover for more than half from
/// `screenshot_days` (less the hours of those days outside), the rest hour by hour. A day in
/// a viewer's zone then reads at most 12 hourly rows per member and one daily row, instead of
/// 24 hourly rows; a UTC day reads one row per member.
#[derive(Debug, Default, PartialEq, Eq)]
struct HourPlan {
    /// UTC day numbers (hours / 24) read whole.
    days: Option<(i64, i64)>,
    /// Hour ranges added.
    add: Vec<(i64, i64)>,
    /// Hour ranges of the days read whole that lie outside, taken off.
    less: Vec<(i64, i64)>,
}

impl HourPlan {
    const DAY: i64 = 24;

    fn of(first_hour: i64, end_hour: i64) -> Self {
        let mut plan = Self::default();
        if first_hour >= end_hour {
            return plan;
        }
        let last_day = (end_hour - 1).div_euclid(Self::DAY);
        for day in first_hour.div_euclid(Self::DAY)..=last_day {
            let (start, end) = (day * Self::DAY, (day + 1) * Self::DAY);
            let (a, b) = (first_hour.max(start), end_hour.min(end));
            if 2 * (b - a) > Self::DAY {
                plan.days = Some(match plan.days {
                    Some((first, _)) => (first, day + 1),
                    None => (day, day + 1),
                });
                plan.less
                    .extend([(start, a), (b, end)].into_iter().filter(|(x, y)| x < y));
            } else {
                plan.add.push((a, b));
            }
        }
        plan
    }
}

type Param<'p> = &'p (dyn ToSql + Sync);

/// Whether an id of a kind is tombstoned (`$1` id, `$2` kind).
const TOMBSTONED: &str = "SELECT 1 FROM tombstones WHERE id = $1 AND kind = $2";

/// A workspace's capture gate at an instant (`$1` workspace, `$2` ms).
const GATE_AT: &str = "SELECT enabled, plan, trial_started_ms FROM capture_gates
     WHERE workspace_id = $1 AND since_ms <= $2 ORDER BY since_ms DESC LIMIT 1";

/// A screenshot by id (`$1`).
fn shot_by_id() -> String {
    format!("SELECT {SHOT_COLS} FROM screenshots WHERE id = $1")
}

/// An entry by id (`$1`).
fn entry_by_id() -> String {
    format!("SELECT {ENTRY_COLS} FROM entries WHERE id = $1")
}

/// One connection seen as rows (a reader in its snapshot, or the writer inside its
/// transaction).
pub(crate) struct Pg<'c> {
    rt: &'c Handle,
    c: &'c ClientWrapper,
    /// A `BEGIN …` not sent yet: it goes with the first statement, in the same round trip.
    begin: Cell<Option<&'static str>>,
}

impl<'c> Pg<'c> {
    pub(crate) fn new(rt: &'c Handle, c: &'c ClientWrapper) -> Self {
        Self {
            rt,
            c,
            begin: Cell::new(None),
        }
    }

    /// Rows inside a transaction that `begin` opens. `begin` is sent right before the first
    /// statement, without waiting for its answer in between (tokio-postgres sends requests in
    /// the order they are first polled, and the server runs them in that order), so the
    /// transaction costs no round trip of its own; a failed `begin` fails that statement.
    pub(crate) fn beginning(rt: &'c Handle, c: &'c ClientWrapper, begin: &'static str) -> Self {
        Self {
            begin: Cell::new(Some(begin)),
            ..Self::new(rt, c)
        }
    }

    /// Whether the transaction of [`Self::beginning`] was opened (its `BEGIN` sent).
    pub(crate) fn began(&self) -> bool {
        self.begin.get().is_none()
    }

    /// Drives one statement's future, after the pending `BEGIN` if there is one.
    fn drive<T>(
        &self,
        statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> StoreResult<T> {
        let Some(begin) = self.begin.take() else {
            return Ok(self.rt.block_on(statement)?);
        };
        self.rt.block_on(async {
            // `join` polls `begin` first: its request is queued before the statement's.
            let (begun, result) =
                futures_util::future::join(self.c.batch_execute(begin), statement).await;
            begun?;
            Ok(result?)
        })
    }

    fn rows(&self, sql: &str, args: &[Param<'_>]) -> StoreResult<Vec<Row>> {
        self.drive(async {
            let st = self.c.prepare_cached(sql).await?;
            self.c.query(&st, args).await
        })
    }

    fn list<T>(
        &self,
        sql: &str,
        args: &[Param<'_>],
        map: impl Fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.rows(sql, args)?.iter().map(map).collect()
    }

    fn one<T>(
        &self,
        sql: &str,
        args: &[Param<'_>],
        map: impl FnOnce(&Row) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let row = self.drive(self.opt(sql, args))?;
        row.as_ref().map(map).transpose()
    }

    /// The row `sql` answers, if any. Statements whose futures are polled together go out
    /// together (tokio-postgres pipelines them): one round trip for all.
    async fn opt(
        &self,
        sql: &str,
        args: &[Param<'_>],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let st = self.c.prepare_cached(sql).await?;
        self.c.query_opt(&st, args).await
    }

    fn exec(&self, sql: &str, args: &[Param<'_>]) -> StoreResult<u64> {
        self.drive(async {
            let st = self.c.prepare_cached(sql).await?;
            self.c.execute(&st, args).await
        })
    }

    /// Adds the `(user_id, count)` rows of `sql` to `counts`.
    fn add_counts(
        &self,
        counts: &mut Counts,
        sql: &str,
        (ws, from, to): (Uuid, i64, i64),
    ) -> StoreResult<()> {
        for (user, n) in self.list(sql, &[&ws, &from, &to], count_row)? {
            *counts.entry(user).or_default() += n;
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

impl Rows for Pg<'_> {
    fn workspace(&mut self, id: WorkspaceId) -> StoreResult<Option<WorkspaceRow>> {
        self.one(
            &format!("SELECT {WS_COLS} FROM workspaces WHERE id = $1"),
            &[&u(id)],
            ws_row,
        )
    }

    fn gate_at(&mut self, id: WorkspaceId, t: DateTime<Utc>) -> StoreResult<Option<CaptureGate>> {
        self.one(GATE_AT, &[&u(id), &ms(t)], gate_row)
    }

    fn user(&mut self, id: UserId) -> StoreResult<Option<UserRow>> {
        self.one(
            &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
            &[&u(id)],
            user_row,
        )
    }

    fn users_by_email(&mut self, email: &str) -> StoreResult<Vec<UserRow>> {
        self.list(
            &format!("SELECT {USER_COLS} FROM users WHERE email = $1"),
            &[&email],
            user_row,
        )
    }

    fn members(&mut self, id: WorkspaceId, include_inactive: bool) -> StoreResult<Vec<UserRow>> {
        // `COLLATE "C"`: byte order, as SQLite sorts text.
        self.list(
            &format!(
                "SELECT {USER_COLS} FROM users WHERE workspace_id = $1 AND (active OR $2)
                 ORDER BY email COLLATE \"C\""
            ),
            &[&u(id), &include_inactive],
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
             WHERE s.token_hash = $1 AND s.expires_ms > $2 AND u.active",
            &[&&token_hash[..], &ms(now)],
            user_row,
        )
    }

    fn session_expires(&mut self, token_hash: &[u8; 32]) -> StoreResult<Option<DateTime<Utc>>> {
        self.one(
            "SELECT expires_ms FROM sessions WHERE token_hash = $1",
            &[&&token_hash[..]],
            |r| instant(r, 0),
        )
    }

    fn notifications(&mut self, user: UserId) -> StoreResult<Vec<NotificationRow>> {
        self.list(
            &format!(
                "SELECT {NOTE_COLS} FROM notifications WHERE user_id = $1
                 ORDER BY created_ms DESC, id DESC LIMIT 500"
            ),
            &[&u(user)],
            note_row,
        )
    }

    fn notification(
        &mut self,
        user: UserId,
        id: NotificationId,
    ) -> StoreResult<Option<NotificationRow>> {
        self.one(
            &format!("SELECT {NOTE_COLS} FROM notifications WHERE id = $1 AND user_id = $2"),
            &[&u(id), &u(user)],
            note_row,
        )
    }

    fn entry(&mut self, id: EntryId) -> StoreResult<Option<EntryRow>> {
        self.one(&entry_by_id(), &[&u(id)], entry_row)
    }

    fn running_entry(&mut self, user: UserId) -> StoreResult<Option<EntryRow>> {
        self.one(
            &format!("SELECT {ENTRY_COLS} FROM entries WHERE user_id = $1 AND end_ms IS NULL"),
            &[&u(user)],
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
                     WHERE user_id = $1 AND workspace_id = $2 AND start_ms >= $3 AND start_ms < $4
                     ORDER BY start_ms"
                ),
                &[&u(user), &u(workspace), &ms(from), &ms(to)],
                entry_row,
            ),
            None => self.list(
                &format!(
                    "SELECT {ENTRY_COLS} FROM entries
                     WHERE workspace_id = $1 AND start_ms >= $2 AND start_ms < $3
                     ORDER BY start_ms"
                ),
                &[&u(workspace), &ms(from), &ms(to)],
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
                 WHERE user_id = $1 AND ($3::bigint IS NULL OR start_ms < $3)
                   AND (end_ms IS NULL OR end_ms > $2)
                 ORDER BY start_ms"
            ),
            &[&u(user), &ms(from), &to.map(ms)],
            entry_row,
        )
    }

    fn user_entries(&mut self, user: UserId) -> StoreResult<Vec<EntryRow>> {
        self.list(
            &format!("SELECT {ENTRY_COLS} FROM entries WHERE user_id = $1 ORDER BY start_ms"),
            &[&u(user)],
            entry_row,
        )
    }

    fn screenshot(&mut self, id: ScreenshotId) -> StoreResult<Option<ScreenshotRow>> {
        self.one(&shot_by_id(), &[&u(id)], shot_row)
    }

    fn entry_screenshots(&mut self, entry: EntryId) -> StoreResult<Vec<ScreenshotRow>> {
        self.list(
            &format!(
                "SELECT {SHOT_COLS} FROM screenshots WHERE entry_id = $1 ORDER BY captured_ms, id"
            ),
            &[&u(entry)],
            shot_row,
        )
    }

    fn user_screenshots(&mut self, user: UserId) -> StoreResult<Vec<ScreenshotRow>> {
        self.list(
            &format!("SELECT {SHOT_COLS} FROM screenshots WHERE user_id = $1"),
            &[&u(user)],
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
             WHERE s.user_id = $1 AND s.captured_ms >= $2 AND s.captured_ms < $3
             ORDER BY s.captured_ms, s.id",
            &[&u(user), &ms(from), &ms(to)],
            view_row,
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
        let mut less = Vec::new();
        if let Some((first_hour, end_hour)) = plan.hours {
            let hours = HourPlan::of(first_hour, end_hour);
            if let Some((first_day, end_day)) = hours.days {
                self.add_counts(&mut counts, COUNT_DAYS, (ws, first_day, end_day))?;
            }
            for (a, b) in hours.add {
                self.add_counts(&mut counts, COUNT_HOURS, (ws, a, b))?;
            }
            less = hours.less;
        }
        for (a, b) in plan.rows {
            self.add_counts(&mut counts, COUNT_ROWS, (ws, a, b))?;
        }
        // Taken off after every addition: the hours of a day read whole that lie outside.
        for (a, b) in less {
            for (user, n) in self.list(COUNT_HOURS, &[&ws, &a, &b], count_row)? {
                if let Some(c) = counts.get_mut(&user) {
                    *c = c.saturating_sub(n);
                }
            }
        }
        counts.retain(|_, n| *n > 0);
        Ok(counts)
    }

    fn screenshots_until(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ScreenshotRow>> {
        self.list(
            &format!(
                "SELECT {SHOT_COLS} FROM screenshots WHERE captured_ms <= $1
                 ORDER BY captured_ms LIMIT $2"
            ),
            &[&ms(cutoff), &i64::from(limit)],
            shot_row,
        )
    }

    fn referenced_blobs(&mut self, keys: &[String]) -> StoreResult<HashSet<String>> {
        let keys = keys.to_vec();
        let found = self.list(
            "SELECT DISTINCT blob_key FROM screenshots WHERE blob_key = ANY($1)",
            &[&keys],
            |r| Ok(r.try_get::<_, String>(0)?),
        )?;
        Ok(found.into_iter().collect())
    }

    fn is_tombstoned(&mut self, id: Tombstone) -> StoreResult<bool> {
        let (id, kind) = tomb(id);
        Ok(self.one(TOMBSTONED, &[&id, &kind], |_| Ok(()))?.is_some())
    }

    /// The five reads in one round trip.
    fn upload_facts(&mut self, row: &ScreenshotRow) -> StoreResult<UploadFacts> {
        let ((shot, shot_kind), (entry, entry_kind)) = (
            tomb(Tombstone::Screenshot(row.id)),
            tomb(Tombstone::Entry(row.entry_id)),
        );
        let (workspace, at) = (u(row.workspace_id), ms(row.captured_at));
        let (shot_sql, entry_sql) = (shot_by_id(), entry_by_id());
        let (shot_tombstoned, existing, entry_tombstoned, entry, gate) =
            self.drive(futures_util::future::try_join5(
                self.opt(TOMBSTONED, &[&shot, &shot_kind]),
                self.opt(&shot_sql, &[&shot]),
                self.opt(TOMBSTONED, &[&entry, &entry_kind]),
                self.opt(&entry_sql, &[&entry]),
                self.opt(GATE_AT, &[&workspace, &at]),
            ))?;
        Ok(UploadFacts {
            shot_tombstoned: shot_tombstoned.is_some(),
            existing: existing.as_ref().map(shot_row).transpose()?,
            entry_tombstoned: entry_tombstoned.is_some(),
            entry: entry.as_ref().map(entry_row).transpose()?,
            gate: gate.as_ref().map(gate_row).transpose()?,
        })
    }

    fn invitation(&mut self, id: InvitationId) -> StoreResult<Option<InvitationRow>> {
        self.one(
            &format!("SELECT {INVITE_COLS} FROM invitations WHERE id = $1"),
            &[&u(id)],
            invite_row,
        )
    }

    fn invitation_by_token(&mut self, token_hash: &[u8; 32]) -> StoreResult<Option<InvitationRow>> {
        self.one(
            &format!("SELECT {INVITE_COLS} FROM invitations WHERE token_hash = $1"),
            &[&&token_hash[..]],
            invite_row,
        )
    }

    fn open_invitations(&mut self, workspace: WorkspaceId) -> StoreResult<Vec<InvitationRow>> {
        self.list(
            &format!(
                "SELECT {INVITE_COLS} FROM invitations
                 WHERE workspace_id = $1 AND accepted_ms IS NULL AND revoked_ms IS NULL
                 ORDER BY created_ms DESC, id DESC"
            ),
            &[&u(workspace)],
            invite_row,
        )
    }

    fn workspace_block_rules(&mut self, id: WorkspaceId) -> StoreResult<Vec<BlockRule>> {
        self.list(
            "SELECT field, pattern FROM workspace_block_rules WHERE workspace_id = $1
             ORDER BY position",
            &[&u(id)],
            rule_row,
        )
    }

    fn last_access(
        &mut self,
        screenshot: ScreenshotId,
        viewer: UserId,
        kind: AccessKind,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let last = self.one(
            "SELECT max(at_ms) FROM screenshot_access
             WHERE screenshot_id = $1 AND viewer_id = $2 AND kind = $3",
            &[&u(screenshot), &u(viewer), &kind_str(kind)],
            |r| Ok(r.try_get::<_, Option<i64>>(0)?),
        )?;
        last.flatten()
            .map(|t| {
                DateTime::from_timestamp_millis(t)
                    .ok_or_else(|| StoreError::Corrupt(format!("timestamp out of range: {t}")))
            })
            .transpose()
    }

    fn access_log(&mut self, owner: UserId, since: DateTime<Utc>) -> StoreResult<Vec<AccessRow>> {
        self.list(
            &format!(
                "SELECT {ACCESS_COLS} FROM screenshot_access WHERE owner_id = $1 AND at_ms >= $2
                 ORDER BY at_ms DESC, seq DESC LIMIT 1000"
            ),
            &[&u(owner), &ms(since)],
            access_row,
        )
    }

    fn entry_screenshot_counts(
        &mut self,
        workspace: WorkspaceId,
        user: Option<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        captured_from: DateTime<Utc>,
    ) -> StoreResult<EntryCounts> {
        let user = user.map(u);
        let rows = self.list(
            "SELECT s.entry_id, count(*) FROM entries e
             JOIN screenshots s ON s.entry_id = e.id
             WHERE e.workspace_id = $1 AND ($2::uuid IS NULL OR e.user_id = $2)
               AND e.start_ms >= $3 AND e.start_ms < $4 AND s.captured_ms >= $5
             GROUP BY s.entry_id",
            &[&u(workspace), &user, &ms(from), &ms(to), &ms(captured_from)],
            |r| {
                let n: i64 = r.try_get(1)?;
                Ok((
                    EntryId::from_uuid(r.try_get(0)?),
                    u64::try_from(n)
                        .map_err(|_| StoreError::Corrupt(format!("negative count {n}")))?,
                ))
            },
        )?;
        Ok(rows.into_iter().collect())
    }
    fn sso_config(&mut self, id: WorkspaceId) -> StoreResult<Option<SsoConfigRow>> {
        let Some(mut row) = self.one(
            "SELECT issuer, client_id, client_secret, auto_join, password_sign_in, updated_ms
             FROM sso_configs WHERE workspace_id = $1",
            &[&u(id)],
            |r| {
                Ok(SsoConfigRow {
                    workspace_id: id,
                    issuer: r.try_get(0)?,
                    client_id: r.try_get(1)?,
                    client_secret: r.try_get(2)?,
                    allowed_domains: Vec::new(),
                    auto_join: r.try_get(3)?,
                    password_sign_in: r.try_get(4)?,
                    updated_at: instant(r, 5)?,
                })
            },
        )?
        else {
            return Ok(None);
        };
        row.allowed_domains = self.list(
            "SELECT domain FROM sso_domains WHERE workspace_id = $1 ORDER BY domain",
            &[&u(id)],
            |r| Ok(r.try_get(0)?),
        )?;
        Ok(Some(row))
    }

    fn sso_domain_workspace(&mut self, domain: &str) -> StoreResult<Option<WorkspaceId>> {
        self.one(
            "SELECT workspace_id FROM sso_domains WHERE domain = $1",
            &[&domain],
            |r| Ok(WorkspaceId::from_uuid(r.try_get(0)?)),
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
             WHERE workspace_id = $1 AND issuer = $2 AND subject = $3",
            &[&u(workspace), &issuer, &subject],
            |r| Ok(UserId::from_uuid(r.try_get(0)?)),
        )
    }
}

impl TxRows for Pg<'_> {
    fn insert_workspace(&mut self, w: &WorkspaceRow) -> StoreResult<()> {
        self.exec(
            &format!("INSERT INTO workspaces ({WS_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            &[
                &u(w.id),
                &w.name,
                &w.plan.as_str(),
                &w.screenshots_enabled,
                &w.blur_enabled,
                &w.lock_date.map(ms),
                &w.trial_started_at.map(ms),
                &ms(w.created_at),
            ],
        )?;
        Ok(())
    }

    fn update_workspace(&mut self, w: &WorkspaceRow) -> StoreResult<()> {
        self.exec(
            "UPDATE workspaces SET name = $2, plan = $3, screenshots_enabled = $4,
                    blur_enabled = $5, lock_date_ms = $6, trial_started_ms = $7
             WHERE id = $1",
            &[
                &u(w.id),
                &w.name,
                &w.plan.as_str(),
                &w.screenshots_enabled,
                &w.blur_enabled,
                &w.lock_date.map(ms),
                &w.trial_started_at.map(ms),
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
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (workspace_id, since_ms) DO UPDATE
             SET enabled = excluded.enabled, plan = excluded.plan,
                 trial_started_ms = excluded.trial_started_ms",
            &[
                &u(id),
                &ms(since),
                &gate.enabled,
                &gate.plan.as_str(),
                &gate.trial_started_at.map(ms),
            ],
        )?;
        Ok(())
    }

    fn purge_gates(&mut self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.exec(
            "DELETE FROM capture_gates AS g WHERE g.since_ms < (
                 SELECT max(k.since_ms) FROM capture_gates k
                 WHERE k.workspace_id = g.workspace_id AND k.since_ms <= $1)",
            &[&ms(before)],
        )
    }

    fn insert_user(&mut self, user: &UserRow) -> StoreResult<()> {
        self.exec(
            &format!("INSERT INTO users ({USER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            &[
                &u(user.id),
                &u(user.workspace_id),
                &user.email,
                &user.name,
                &user.password_hash,
                &user.role.as_str(),
                &user.active,
                &ms(user.created_at),
            ],
        )?;
        Ok(())
    }

    fn update_user(&mut self, user: &UserRow) -> StoreResult<()> {
        self.exec(
            "UPDATE users SET role = $2, active = $3 WHERE id = $1",
            &[&u(user.id), &user.role.as_str(), &user.active],
        )?;
        Ok(())
    }

    fn delete_user(&mut self, id: UserId) -> StoreResult<()> {
        let id = u(id);
        self.exec("DELETE FROM sessions WHERE user_id = $1", &[&id])?;
        self.exec("DELETE FROM notifications WHERE user_id = $1", &[&id])?;
        self.exec("DELETE FROM users WHERE id = $1", &[&id])?;
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
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &&token_hash[..],
                &u(user),
                &u(workspace),
                &ms(created),
                &ms(expires),
            ],
        )?;
        Ok(())
    }

    fn extend_session(&mut self, token_hash: &[u8; 32], expires: DateTime<Utc>) -> StoreResult<()> {
        self.exec(
            "UPDATE sessions SET expires_ms = $2 WHERE token_hash = $1",
            &[&&token_hash[..], &ms(expires)],
        )?;
        Ok(())
    }

    fn delete_session(&mut self, token_hash: &[u8; 32]) -> StoreResult<()> {
        self.exec(
            "DELETE FROM sessions WHERE token_hash = $1",
            &[&&token_hash[..]],
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
                "DELETE FROM sessions WHERE user_id = $1 AND expires_ms <= $2",
                &[&u(user), &ms(t)],
            )?,
            None => self.exec("DELETE FROM sessions WHERE user_id = $1", &[&u(user)])?,
        };
        Ok(())
    }

    fn insert_notification(&mut self, n: &NotificationRow) -> StoreResult<()> {
        self.exec(
            &format!("INSERT INTO notifications ({NOTE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                &u(n.id),
                &u(n.workspace_id),
                &u(n.user_id),
                &n.kind,
                &n.message,
                &ms(n.created_at),
                &n.read_at.map(ms),
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
            "UPDATE notifications SET read_ms = $2 WHERE id = $1",
            &[&u(id), &ms(read_at)],
        )?;
        Ok(())
    }

    fn insert_entry(&mut self, e: &EntryRow) -> StoreResult<()> {
        self.exec(
            &format!(
                "INSERT INTO entries ({ENTRY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &u(e.id),
                &u(e.workspace_id),
                &u(e.user_id),
                &e.description,
                &ms(e.times.start),
                &e.times.end.map(ms),
                &spans_json(&e.times.removed)?,
                &e.approved,
                &ms(e.created_at),
                &e.manual,
            ],
        )?;
        Ok(())
    }

    fn update_entry(&mut self, e: &EntryRow) -> StoreResult<()> {
        self.exec(
            "UPDATE entries SET description = $2, start_ms = $3, end_ms = $4, removed_spans = $5,
                    approved = $6
             WHERE id = $1",
            &[
                &u(e.id),
                &e.description,
                &ms(e.times.start),
                &e.times.end.map(ms),
                &spans_json(&e.times.removed)?,
                &e.approved,
            ],
        )?;
        Ok(())
    }

    fn delete_entry(&mut self, id: EntryId) -> StoreResult<()> {
        self.exec("DELETE FROM entries WHERE id = $1", &[&u(id)])?;
        Ok(())
    }

    fn insert_screenshot(&mut self, s: &ScreenshotRow) -> StoreResult<()> {
        self.exec(
            &format!(
                "INSERT INTO screenshots ({SHOT_COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            &[
                &u(s.id),
                &u(s.workspace_id),
                &u(s.user_id),
                &u(s.entry_id),
                &ms(s.captured_at),
                &&s.sha256[..],
                &big(s.size),
                &big(s.width),
                &big(s.height),
                &s.blob_key,
                &ms(s.uploaded_at),
            ],
        )?;
        Ok(())
    }

    fn delete_screenshot(&mut self, id: ScreenshotId) -> StoreResult<()> {
        self.exec("DELETE FROM screenshots WHERE id = $1", &[&u(id)])?;
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
            "INSERT INTO tombstones (id, kind, workspace_id, deleted_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
            &[&id, &kind, &u(workspace), &ms(deleted_at)],
        )?;
        Ok(())
    }

    fn purge_tombstones(&mut self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.exec(
            "DELETE FROM tombstones WHERE deleted_ms <= $1",
            &[&ms(before)],
        )
    }

    fn insert_invitation(&mut self, i: &InvitationRow) -> StoreResult<()> {
        self.exec(
            &format!(
                "INSERT INTO invitations ({INVITE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &[
                &u(i.id),
                &u(i.workspace_id),
                &i.email,
                &i.role.as_str(),
                &&i.token_hash[..],
                &ms(i.created_at),
                &ms(i.expires_at),
                &i.accepted_at.map(ms),
                &i.revoked_at.map(ms),
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
            "DELETE FROM workspace_block_rules WHERE workspace_id = $1",
            &[&u(id)],
        )?;
        for (position, rule) in (0_i64..).zip(rules) {
            self.exec(
                "INSERT INTO workspace_block_rules (workspace_id, position, field, pattern)
                 VALUES ($1, $2, $3, $4)",
                &[&u(id), &position, &field_str(rule.field), &rule.pattern],
            )?;
        }
        Ok(())
    }

    fn insert_access(&mut self, a: &AccessRow) -> StoreResult<()> {
        self.exec(
            &format!(
                "INSERT INTO screenshot_access ({ACCESS_COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            &[
                &u(a.workspace_id),
                &u(a.owner_id),
                &u(a.screenshot_id),
                &ms(a.captured_at),
                &u(a.viewer_id),
                &a.viewer_name,
                &kind_str(a.kind),
                &ms(a.at),
            ],
        )?;
        Ok(())
    }

    fn update_invitation(&mut self, i: &InvitationRow) -> StoreResult<()> {
        self.exec(
            "UPDATE invitations SET accepted_ms = $2, revoked_ms = $3 WHERE id = $1",
            &[&u(i.id), &i.accepted_at.map(ms), &i.revoked_at.map(ms)],
        )?;
        Ok(())
    }

    fn purge_access(&mut self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        self.exec(
            "DELETE FROM screenshot_access WHERE captured_ms <= $1",
            &[&ms(cutoff)],
        )
    }

    fn delete_access_of(&mut self, owner: UserId) -> StoreResult<()> {
        self.exec(
            "DELETE FROM screenshot_access WHERE owner_id = $1",
            &[&u(owner)],
        )?;
        Ok(())
    }
    fn set_sso_config(&mut self, c: &SsoConfigRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sso_configs (workspace_id, issuer, client_id, client_secret, auto_join,
                 password_sign_in, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (workspace_id) DO UPDATE SET issuer = excluded.issuer,
                 client_id = excluded.client_id, client_secret = excluded.client_secret,
                 auto_join = excluded.auto_join, password_sign_in = excluded.password_sign_in,
                 updated_ms = excluded.updated_ms",
            &[
                &u(c.workspace_id),
                &c.issuer,
                &c.client_id,
                &c.client_secret,
                &c.auto_join,
                &c.password_sign_in,
                &ms(c.updated_at),
            ],
        )?;
        self.exec(
            "DELETE FROM sso_domains WHERE workspace_id = $1",
            &[&u(c.workspace_id)],
        )?;
        for domain in &c.allowed_domains {
            self.exec(
                "INSERT INTO sso_domains (domain, workspace_id) VALUES ($1, $2)",
                &[domain, &u(c.workspace_id)],
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
             VALUES ($1, $2, $3, $4)",
            &[&u(workspace), &issuer, &subject, &u(user)],
        )?;
        Ok(())
    }

    fn insert_sso_request(&mut self, r: &SsoRequestRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sso_requests (state_hash, workspace_id, nonce, pkce_verifier,
                 redirect_uri, app_challenge, app_redirect, app_state, expires_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &&r.state_hash[..],
                &u(r.workspace_id),
                &r.nonce,
                &r.pkce_verifier,
                &r.redirect_uri,
                &r.app_challenge,
                &r.app_redirect,
                &r.app_state,
                &ms(r.expires_at),
            ],
        )?;
        Ok(())
    }

    fn take_sso_request(&mut self, state_hash: &[u8; 32]) -> StoreResult<Option<SsoRequestRow>> {
        let hash = *state_hash;
        self.one(
            "DELETE FROM sso_requests WHERE state_hash = $1
             RETURNING workspace_id, nonce, pkce_verifier, redirect_uri, app_challenge,
                 app_redirect, app_state, expires_ms",
            &[&&hash[..]],
            |r| {
                Ok(SsoRequestRow {
                    state_hash: hash,
                    workspace_id: WorkspaceId::from_uuid(r.try_get(0)?),
                    nonce: r.try_get(1)?,
                    pkce_verifier: r.try_get(2)?,
                    redirect_uri: r.try_get(3)?,
                    app_challenge: r.try_get(4)?,
                    app_redirect: r.try_get(5)?,
                    app_state: r.try_get(6)?,
                    expires_at: instant(r, 7)?,
                })
            },
        )
    }

    fn insert_sso_code(&mut self, c: &SsoCodeRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sso_codes (code_hash, user_id, challenge, expires_ms)
             VALUES ($1, $2, $3, $4)",
            &[
                &&c.code_hash[..],
                &u(c.user_id),
                &c.challenge,
                &ms(c.expires_at),
            ],
        )?;
        Ok(())
    }

    fn take_sso_code(&mut self, code_hash: &[u8; 32]) -> StoreResult<Option<SsoCodeRow>> {
        let hash = *code_hash;
        self.one(
            "DELETE FROM sso_codes WHERE code_hash = $1
             RETURNING user_id, challenge, expires_ms",
            &[&&hash[..]],
            |r| {
                Ok(SsoCodeRow {
                    code_hash: hash,
                    user_id: UserId::from_uuid(r.try_get(0)?),
                    challenge: r.try_get(1)?,
                    expires_at: instant(r, 2)?,
                })
            },
        )
    }

    fn purge_sso(&mut self, now: DateTime<Utc>) -> StoreResult<u64> {
        let a = self.exec(
            "DELETE FROM sso_requests WHERE expires_ms <= $1",
            &[&ms(now)],
        )?;
        let b = self.exec("DELETE FROM sso_codes WHERE expires_ms <= $1", &[&ms(now)])?;
        Ok(a + b)
    }

    fn delete_sso_config(&mut self, workspace: WorkspaceId) -> StoreResult<()> {
        for sql in [
            "DELETE FROM sso_requests WHERE workspace_id = $1",
            "DELETE FROM sso_domains WHERE workspace_id = $1",
            "DELETE FROM sso_configs WHERE workspace_id = $1",
        ] {
            self.exec(sql, &[&u(workspace)])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::HourPlan;

    fn plan(days: Option<(i64, i64)>, add: &[(i64, i64)], less: &[(i64, i64)]) -> HourPlan {
        HourPlan {
            days,
            add: add.to_vec(),
            less: less.to_vec(),
        }
    }

    #[test]
    fn hours_read_whole_days_where_they_cover_more_than_half() {
        // A UTC day: one daily row per member.
        assert_eq!(HourPlan::of(48, 72), plan(Some((2, 3)), &[], &[]));
        // A day two hours east of UTC: the day less its last two hours, plus the previous
        // day's last two.
        assert_eq!(
            HourPlan::of(46, 70),
            plan(Some((2, 3)), &[(46, 48)], &[(70, 72)])
        );
        // Half a day is read hour by hour; a little more, whole less the rest.
        assert_eq!(HourPlan::of(48, 60), plan(None, &[(48, 60)], &[]));
        assert_eq!(HourPlan::of(48, 61), plan(Some((2, 3)), &[], &[(61, 72)]));
        // A few hours inside one day.
        assert_eq!(HourPlan::of(50, 53), plan(None, &[(50, 53)], &[]));
        // A week of whole days and a part of a day at each end.
        assert_eq!(
            HourPlan::of(47, 24 * 9 + 20),
            plan(Some((2, 10)), &[(47, 48)], &[(24 * 9 + 20, 240)])
        );
        assert_eq!(HourPlan::of(5, 5), plan(None, &[], &[]));
    }

    #[test]
    fn every_hour_counts_once() {
        for first in 0..80 {
            for end in first..130 {
                let p = HourPlan::of(first, end);
                let mut n = vec![0i64; 24 * 6];
                if let Some((a, b)) = p.days {
                    for h in a * 24..b * 24 {
                        n[h as usize] += 1;
                    }
                }
                for &(a, b) in &p.add {
                    (a..b).for_each(|h| n[h as usize] += 1);
                }
                for &(a, b) in &p.less {
                    (a..b).for_each(|h| n[h as usize] -= 1);
                }
                for (h, c) in n.iter().enumerate() {
                    let inside = (first..end).contains(&(h as i64));
                    assert_eq!(*c, i64::from(inside), "hour {h} of [{first}, {end})");
                }
                let hourly: i64 = p.add.iter().chain(&p.less).map(|(a, b)| b - a).sum();
                assert!(hourly <= 2 * 12, "[{first}, {end}) reads {hourly} hours");
            }
        }
    }
}
