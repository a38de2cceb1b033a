//! The recording apps' presence rows (R38) on PostgreSQL: plain statements.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use shotclock_api::{UserId, WorkspaceId};
use tokio_postgres::Row;
use uuid::Uuid;

use super::super::rows::{instant, ms, u};
use super::Pg;
use crate::store::{
    AppPresenceRow, PresenceRows, PresenceTxRows, ReplicaRow, StoreError, StoreResult,
};

const COLS: &str = "p.replica_id, p.session_hash, p.user_id, p.capture, p.connected_ms";

fn presence_row(r: &Row) -> StoreResult<AppPresenceRow> {
    let hash: Vec<u8> = r.try_get(1)?;
    Ok(AppPresenceRow {
        replica: r.try_get(0)?,
        session_hash: hash
            .try_into()
            .map_err(|_| StoreError::Corrupt("a session hash is 32 bytes".into()))?,
        user_id: UserId::from_uuid(r.try_get(2)?),
        capture: r.try_get(3)?,
        connected_at: instant(r, 4)?,
    })
}

impl PresenceRows for Pg<'_> {
    fn app_presence(&mut self, workspace: WorkspaceId) -> StoreResult<Vec<AppPresenceRow>> {
        self.list(
            &format!(
                "SELECT {COLS} FROM app_presence p JOIN users u ON u.id = p.user_id
                 WHERE u.workspace_id = $1"
            ),
            &[&u(workspace)],
            presence_row,
        )
    }

    fn app_presence_of_replica(&mut self, replica: Uuid) -> StoreResult<Vec<AppPresenceRow>> {
        self.list(
            &format!("SELECT {COLS} FROM app_presence p WHERE p.replica_id = $1"),
            &[&replica],
            presence_row,
        )
    }

    fn apps_last_seen(
        &mut self,
        workspace: WorkspaceId,
    ) -> StoreResult<HashMap<UserId, DateTime<Utc>>> {
        let rows = self.list(
            "SELECT s.user_id, s.seen_ms FROM app_last_seen s JOIN users u ON u.id = s.user_id
             WHERE u.workspace_id = $1",
            &[&u(workspace)],
            |r| Ok((UserId::from_uuid(r.try_get(0)?), instant(r, 1)?)),
        )?;
        Ok(rows.into_iter().collect())
    }

    fn replicas(&mut self) -> StoreResult<Vec<ReplicaRow>> {
        self.list("SELECT id, heartbeat_ms FROM replicas", &[], |r| {
            Ok(ReplicaRow {
                id: r.try_get(0)?,
                heartbeat_at: instant(r, 1)?,
            })
        })
    }
}

impl PresenceTxRows for Pg<'_> {
    fn put_app_presence(&mut self, row: &AppPresenceRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO app_presence (replica_id, session_hash, user_id, capture, connected_ms)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (replica_id, session_hash) DO UPDATE SET
               user_id = excluded.user_id, capture = excluded.capture,
               connected_ms = excluded.connected_ms",
            &[
                &row.replica,
                &&row.session_hash[..],
                &u(row.user_id),
                &row.capture,
                &ms(row.connected_at),
            ],
        )?;
        Ok(())
    }

    fn set_app_capture(&mut self, session_hash: &[u8; 32], capture: bool) -> StoreResult<u64> {
        self.exec(
            "UPDATE app_presence SET capture = $2 WHERE session_hash = $1",
            &[&&session_hash[..], &capture],
        )
    }

    fn delete_app_presence(&mut self, replica: Uuid, session_hash: &[u8; 32]) -> StoreResult<()> {
        self.exec(
            "DELETE FROM app_presence WHERE replica_id = $1 AND session_hash = $2",
            &[&replica, &&session_hash[..]],
        )?;
        Ok(())
    }

    fn record_app_seen(&mut self, user: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        self.exec(
            "INSERT INTO app_last_seen (user_id, seen_ms) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE
               SET seen_ms = greatest(app_last_seen.seen_ms, excluded.seen_ms)",
            &[&u(user), &ms(at)],
        )?;
        Ok(())
    }

    fn beat_replica(&mut self, replica: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.exec(
            "INSERT INTO replicas (id, heartbeat_ms) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms",
            &[&replica, &ms(at)],
        )?;
        Ok(())
    }

    fn delete_replica(&mut self, replica: Uuid) -> StoreResult<()> {
        self.exec(
            "DELETE FROM app_presence WHERE replica_id = $1",
            &[&replica],
        )?;
        self.exec("DELETE FROM replicas WHERE id = $1", &[&replica])?;
        Ok(())
    }
}
