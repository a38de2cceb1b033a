//! The recording apps' presence rows (R38) on SQLite: plain statements.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;
use shotclock_api::{UserId, WorkspaceId};
use uuid::Uuid;

use super::super::rows::{at, conv_err, ms, u};
use super::Sql;
use crate::store::{AppPresenceRow, PresenceRows, PresenceTxRows, ReplicaRow, StoreResult};

const COLS: &str = "p.replica_id, p.session_hash, p.user_id, p.capture, p.connected_ms";

fn presence_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AppPresenceRow> {
    let hash: Vec<u8> = r.get(1)?;
    Ok(AppPresenceRow {
        replica: r.get(0)?,
        session_hash: hash
            .try_into()
            .map_err(|_| conv_err(std::io::Error::other("a session hash is 32 bytes")))?,
        user_id: UserId::from_uuid(r.get(2)?),
        capture: r.get(3)?,
        connected_at: at(r.get(4)?)?,
    })
}

impl PresenceRows for Sql<'_> {
    fn app_presence(&mut self, workspace: WorkspaceId) -> StoreResult<Vec<AppPresenceRow>> {
        self.list(
            &format!(
                "SELECT {COLS} FROM app_presence p JOIN users u ON u.id = p.user_id
                 WHERE u.workspace_id = ?1"
            ),
            [u(workspace)],
            presence_row,
        )
    }

    fn app_presence_of_replica(&mut self, replica: Uuid) -> StoreResult<Vec<AppPresenceRow>> {
        self.list(
            &format!("SELECT {COLS} FROM app_presence p WHERE p.replica_id = ?1"),
            [replica],
            presence_row,
        )
    }

    fn apps_last_seen(
        &mut self,
        workspace: WorkspaceId,
    ) -> StoreResult<HashMap<UserId, DateTime<Utc>>> {
        let rows = self.list(
            "SELECT s.user_id, s.seen_ms FROM app_last_seen s JOIN users u ON u.id = s.user_id
             WHERE u.workspace_id = ?1",
            [u(workspace)],
            |r| Ok((UserId::from_uuid(r.get(0)?), at(r.get(1)?)?)),
        )?;
        Ok(rows.into_iter().collect())
    }

    fn replicas(&mut self) -> StoreResult<Vec<ReplicaRow>> {
        self.list("SELECT id, heartbeat_ms FROM replicas", [], |r| {
            Ok(ReplicaRow {
                id: r.get(0)?,
                heartbeat_at: at(r.get(1)?)?,
            })
        })
    }
}

impl PresenceTxRows for Sql<'_> {
    fn put_app_presence(&mut self, row: &AppPresenceRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO app_presence (replica_id, session_hash, user_id, capture, connected_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (replica_id, session_hash) DO UPDATE SET
               user_id = excluded.user_id, capture = excluded.capture,
               connected_ms = excluded.connected_ms",
            params![
                row.replica,
                &row.session_hash[..],
                u(row.user_id),
                row.capture,
                ms(row.connected_at)
            ],
        )?;
        Ok(())
    }

    fn set_app_capture(&mut self, session_hash: &[u8; 32], capture: bool) -> StoreResult<u64> {
        let n = self.exec(
            "UPDATE app_presence SET capture = ?2 WHERE session_hash = ?1",
            params![&session_hash[..], capture],
        )?;
        Ok(n as u64)
    }

    fn delete_app_presence(&mut self, replica: Uuid, session_hash: &[u8; 32]) -> StoreResult<()> {
        self.exec(
            "DELETE FROM app_presence WHERE replica_id = ?1 AND session_hash = ?2",
            params![replica, &session_hash[..]],
        )?;
        Ok(())
    }

    fn record_app_seen(&mut self, user: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        self.exec(
            "INSERT INTO app_last_seen (user_id, seen_ms) VALUES (?1, ?2)
             ON CONFLICT (user_id) DO UPDATE SET seen_ms = max(app_last_seen.seen_ms, excluded.seen_ms)",
            params![u(user), ms(at)],
        )?;
        Ok(())
    }

    fn beat_replica(&mut self, replica: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.exec(
            "INSERT INTO replicas (id, heartbeat_ms) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms",
            params![replica, ms(at)],
        )?;
        Ok(())
    }

    fn delete_replica(&mut self, replica: Uuid) -> StoreResult<()> {
        self.exec("DELETE FROM app_presence WHERE replica_id = ?1", [replica])?;
        self.exec("DELETE FROM replicas WHERE id = ?1", [replica])?;
        Ok(())
    }
}
