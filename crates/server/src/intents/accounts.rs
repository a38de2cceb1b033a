//! Accounts, members and sessions (R1, R2, R23).
//!
//! Browser sessions slide: a session used in the second half of its lifetime is renewed for a
//! whole lifetime from that use ([`renewal`]), so an open tab stays signed in while an abandoned
//! one expires after one lifetime, and a renewal costs one write per half-lifetime at most.

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_api::{ErrorCode, Role, UserId, WorkspaceId};
use shotclock_domain::visibility::{Actor, Owner, can_view};

use super::{Intents, Removed};
use crate::store::{NewUser, Rows, StoreError, StoreResult, Tombstone, TxRows, UserRow};

/// Inserts a user unless the email is taken in the workspace.
pub(super) fn insert_user(
    rows: &mut dyn TxRows,
    workspace: WorkspaceId,
    user: &NewUser,
    now: DateTime<Utc>,
) -> StoreResult<UserRow> {
    let taken = rows
        .users_by_email(&user.email)?
        .iter()
        .any(|u| u.workspace_id == workspace);
    if taken {
        return Err(StoreError::refused(
            ErrorCode::Conflict,
            "a member with this email already exists in the workspace",
        ));
    }
    let row = UserRow {
        id: user.id,
        workspace_id: workspace,
        email: user.email.clone(),
        name: user.name.clone(),
        password_hash: user.password_hash.clone(),
        role: user.role,
        active: true,
        created_at: now,
    };
    rows.insert_user(&row)?;
    Ok(row)
}

/// Deletes an account and everything of it (R23): screenshots and entries (remembering their
/// ids), then sessions, notifications and the account itself.
pub(super) fn delete_account_rows(
    rows: &mut dyn TxRows,
    user: UserId,
    now: DateTime<Utc>,
) -> StoreResult<Removed> {
    let mut removed = Removed::default();
    for shot in rows.user_screenshots(user)? {
        rows.delete_screenshot(shot.id)?;
        rows.insert_tombstone(Tombstone::Screenshot(shot.id), shot.workspace_id, now)?;
        removed.screenshots.push(shot.id);
        removed.blob_keys.push(shot.blob_key);
    }
    for entry in rows.user_entries(user)? {
        rows.delete_entry(entry.id)?;
        rows.insert_tombstone(Tombstone::Entry(entry.id), entry.workspace_id, now)?;
        removed.entries.push(entry);
    }
    // R35: the account's access log goes with it.
    rows.delete_access_of(user)?;
    rows.delete_user(user)?;
    Ok(removed)
}

/// The member whose data a request names (by default the actor), if the actor may see it
/// (R16): their own, or — for admins — a member of their workspace. Anything else is
/// [`StoreError::NotFound`], exactly like a missing id.
pub(super) fn visible_member(
    rows: &mut dyn Rows,
    actor: &Actor,
    requested: Option<UserId>,
) -> StoreResult<UserId> {
    let user = requested.unwrap_or(actor.user);
    let owner = Owner {
        user,
        workspace: actor.workspace,
    };
    if !can_view(actor, &owner) {
        return Err(StoreError::NotFound);
    }
    if user != actor.user {
        rows.user(user)?
            .filter(|u| u.workspace_id == actor.workspace)
            .ok_or(StoreError::NotFound)?;
    }
    Ok(user)
}

impl Intents {
    /// Adds a user to a workspace; `Refused(conflict)` if the email is taken there.
    pub async fn add_user(
        &self,
        workspace: WorkspaceId,
        user: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<UserRow> {
        self.write(move |rows| {
            rows.workspace(workspace)?.ok_or(StoreError::NotFound)?;
            insert_user(rows, workspace, &user, now)
        })
        .await
    }

    /// A user by id.
    pub async fn user(&self, id: UserId) -> StoreResult<Option<UserRow>> {
        self.read(move |rows| rows.user(id)).await
    }

    /// Users with this (lowercased) email, across workspaces.
    pub async fn users_by_email(&self, email: String) -> StoreResult<Vec<UserRow>> {
        self.read(move |rows| rows.users_by_email(&email)).await
    }

    /// A workspace's members (active only unless `include_inactive`), by email.
    pub async fn members(
        &self,
        workspace: WorkspaceId,
        include_inactive: bool,
    ) -> StoreResult<Vec<UserRow>> {
        self.read(move |rows| rows.members(workspace, include_inactive))
            .await
    }

    /// The member a request names, if the actor may see them (R16).
    pub async fn visible_member(
        &self,
        actor: Actor,
        requested: Option<UserId>,
    ) -> StoreResult<UserId> {
        self.read(move |rows| visible_member(rows, &actor, requested))
            .await
    }

    /// Deletes an account and everything of it (R23); the owner cannot.
    pub async fn delete_user(&self, user: UserId, now: DateTime<Utc>) -> StoreResult<Removed> {
        self.write(move |rows| {
            let row = rows.user(user)?.ok_or(StoreError::NotFound)?;
            if row.role == Role::Owner {
                return Err(StoreError::refused(
                    ErrorCode::Conflict,
                    "the workspace owner cannot delete their account",
                ));
            }
            delete_account_rows(rows, user, now)
        })
        .await
    }

    /// Stores a session token hash (and forgets the user's expired ones).
    pub async fn create_session(
        &self,
        token_hash: [u8; 32],
        user: UserId,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write(move |rows| {
            rows.insert_session(&token_hash, user, workspace, now, expires)?;
            rows.delete_sessions(user, Some(now))
        })
        .await
    }

    /// The active user of an unexpired session.
    pub async fn session_user(
        &self,
        token_hash: [u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>> {
        self.read(move |rows| rows.session_user(&token_hash, now))
            .await
    }

    /// The active user of an unexpired browser session, renewing it when [`renewal`] says so:
    /// the user, and the new expiry when it was renewed.
    pub async fn use_web_session(
        &self,
        token_hash: [u8; 32],
        now: DateTime<Utc>,
        ttl: TimeDelta,
    ) -> StoreResult<Option<(UserRow, Option<DateTime<Utc>>)>> {
        let found = self
            .read(move |rows| {
                let user = rows.session_user(&token_hash, now)?;
                let expires = rows.session_expires(&token_hash)?;
                Ok(user.zip(expires))
            })
            .await?;
        let Some((user, expires)) = found else {
            return Ok(None);
        };
        let Some(renewed) = renewal(expires, now, ttl) else {
            return Ok(Some((user, None)));
        };
        self.write(move |rows| rows.extend_session(&token_hash, renewed))
            .await?;
        Ok(Some((user, Some(renewed))))
    }

    /// Revokes one session.
    pub async fn delete_session(&self, token_hash: [u8; 32]) -> StoreResult<()> {
        self.write(move |rows| rows.delete_session(&token_hash))
            .await
    }
}

/// The new expiry of a sliding session used at `now`, if it is due: once less than half of
/// `ttl` is left, the session runs a whole `ttl` from `now`.
#[must_use]
pub fn renewal(
    expires: DateTime<Utc>,
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> Option<DateTime<Utc>> {
    (expires > now && expires - now < ttl / 2).then(|| now + ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_renew_in_their_second_half_only() {
        let ttl = TimeDelta::hours(12);
        let now = DateTime::<Utc>::from_timestamp(1_750_000_000, 0).unwrap_or_default();
        // Fresh: nothing to do.
        assert_eq!(renewal(now + ttl, now, ttl), None);
        assert_eq!(renewal(now + TimeDelta::hours(6), now, ttl), None);
        // Second half: a whole lifetime from now.
        assert_eq!(
            renewal(now + TimeDelta::hours(6) - TimeDelta::seconds(1), now, ttl),
            Some(now + ttl)
        );
        assert_eq!(
            renewal(now + TimeDelta::seconds(1), now, ttl),
            Some(now + ttl)
        );
        // Expired: never revived.
        assert_eq!(renewal(now, now, ttl), None);
        assert_eq!(renewal(now - TimeDelta::seconds(1), now, ttl), None);
    }
}
