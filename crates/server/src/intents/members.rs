//! Managing members and invitations (R1, R38).
//!
//! Who may change whom is `shotclock_domain::members::may_change`, and whether a link works is
//! `shotclock_domain::members::link_works`; both are asked here, inside the transaction that
//! acts on the answer. A target outside the actor's workspace is [`StoreError::NotFound`],
//! exactly like a missing one (R16).
//!
//! An invitation's secret is made by the caller and reaches this layer only as its hash. A new
//! invitation for an email revokes that email's earlier open ones, so one person holds at most
//! one working link. Accepting creates the account with the invitation's email and role and
//! marks the invitation used in the same transaction: a link can never make two accounts.

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_api::{ErrorCode, InvitationId, Role, UserId};
use shotclock_domain::members::{LinkState, MemberChange, link_works, may_change};

use super::accounts::{delete_account_rows, insert_user};
use super::{Intents, Removed};
use crate::store::{InvitationRow, NewUser, StoreError, StoreResult, TxRows, UserRow};

/// A new invitation (the secret itself stays with the caller).
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The invitee's email (lowercased by the caller).
    pub email: String,
    /// The role they get.
    pub role: Role,
    /// SHA-256 of the link's secret.
    pub token_hash: [u8; 32],
    /// How long the link works.
    pub lifetime: TimeDelta,
}

/// What the invitee sets when accepting.
#[derive(Debug, Clone)]
pub struct Acceptance {
    /// The new account's id.
    pub user: UserId,
    /// Display name.
    pub name: String,
    /// Argon2id PHC string of their password.
    pub password_hash: String,
}

/// A member after an admin's change.
#[derive(Debug, Clone)]
pub struct ChangedMember {
    /// The member as they are now.
    pub member: UserRow,
    /// Whether anything changed, and so their sessions were revoked.
    pub revoked: bool,
}

fn link_state(row: &InvitationRow) -> LinkState {
    LinkState {
        expires_at: row.expires_at,
        accepted_at: row.accepted_at,
        revoked_at: row.revoked_at,
    }
}

/// A member of the actor's workspace, or `NotFound`.
fn workspace_member(rows: &mut dyn TxRows, actor: &UserRow, id: UserId) -> StoreResult<UserRow> {
    rows.user(id)?
        .filter(|u| u.workspace_id == actor.workspace_id)
        .ok_or(StoreError::NotFound)
}

fn allowed(actor: &UserRow, target: &UserRow, change: MemberChange) -> StoreResult<()> {
    may_change(actor.role, target.role, actor.id == target.id, change)
        .map_err(|r| StoreError::refused(r.error_code(), r.to_string()))
}

impl Intents {
    /// Invites `invite.email` into `actor`'s workspace (admins); earlier open invitations of that
    /// email are revoked. `Refused(conflict)` when the email is a member already.
    pub async fn invite(
        &self,
        actor: UserRow,
        invite: NewInvitation,
        now: DateTime<Utc>,
    ) -> StoreResult<InvitationRow> {
        self.write(move |rows| {
            if !actor.role.is_admin() {
                return Err(StoreError::refused(
                    ErrorCode::Forbidden,
                    "only admins invite people",
                ));
            }
            if invite.role == Role::Owner {
                return Err(StoreError::refused(
                    ErrorCode::Validation,
                    "an invitation gives the role admin or member",
                ));
            }
            let ws = actor.workspace_id;
            if rows
                .users_by_email(&invite.email)?
                .iter()
                .any(|u| u.workspace_id == ws)
            {
                return Err(StoreError::refused(
                    ErrorCode::Conflict,
                    "a member with this email already exists in the workspace",
                ));
            }
            for mut earlier in rows.open_invitations(ws)? {
                if earlier.email == invite.email {
                    earlier.revoked_at = Some(now);
                    rows.update_invitation(&earlier)?;
                }
            }
            let row = InvitationRow {
                id: InvitationId::new(),
                workspace_id: ws,
                email: invite.email,
                role: invite.role,
                token_hash: invite.token_hash,
                created_at: now,
                expires_at: now + invite.lifetime,
                accepted_at: None,
                revoked_at: None,
            };
            rows.insert_invitation(&row)?;
            Ok(row)
        })
        .await
    }

    /// The open (neither used nor revoked) invitations of `actor`'s workspace (admins).
    pub async fn invitations(&self, actor: UserRow) -> StoreResult<Vec<InvitationRow>> {
        self.read(move |rows| {
            if !actor.role.is_admin() {
                return Err(StoreError::refused(
                    ErrorCode::Forbidden,
                    "only admins see invitations",
                ));
            }
            rows.open_invitations(actor.workspace_id)
        })
        .await
    }

    /// Revokes an open invitation of `actor`'s workspace (admins); anything else is
    /// `NotFound`.
    pub async fn revoke_invitation(
        &self,
        actor: UserRow,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write(move |rows| {
            if !actor.role.is_admin() {
                return Err(StoreError::refused(
                    ErrorCode::Forbidden,
                    "only admins revoke invitations",
                ));
            }
            let mut row = rows
                .invitation(id)?
                .filter(|i| i.workspace_id == actor.workspace_id)
                .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none())
                .ok_or(StoreError::NotFound)?;
            row.revoked_at = Some(now);
            rows.update_invitation(&row)
        })
        .await
    }

    /// The invitation whose secret hashes to `token_hash` if its link works at `now`, read
    /// without changing anything (so the caller hashes a password only for a working link).
    pub async fn working_invitation(
        &self,
        token_hash: [u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<InvitationRow> {
        self.read(move |rows| {
            let row = rows.invitation_by_token(&token_hash)?;
            link_works(row.as_ref().map(link_state).as_ref(), now)
                .map_err(|r| StoreError::refused(r.error_code(), r.to_string()))?;
            row.ok_or(StoreError::NotFound)
        })
        .await
    }

    /// Accepts the invitation: creates the account with its email and role, and marks it used
    /// in the same transaction.
    pub async fn accept_invitation(
        &self,
        token_hash: [u8; 32],
        who: Acceptance,
        now: DateTime<Utc>,
    ) -> StoreResult<UserRow> {
        self.write(move |rows| {
            let row = rows.invitation_by_token(&token_hash)?;
            link_works(row.as_ref().map(link_state).as_ref(), now)
                .map_err(|r| StoreError::refused(r.error_code(), r.to_string()))?;
            let Some(mut row) = row else {
                return Err(StoreError::NotFound);
            };
            let user = NewUser {
                id: who.user,
                email: row.email.clone(),
                name: who.name,
                password_hash: who.password_hash,
                role: row.role,
            };
            let created = insert_user(rows, row.workspace_id, &user, now)?;
            row.accepted_at = Some(now);
            rows.update_invitation(&row)?;
            Ok(created)
        })
        .await
    }

    /// Changes a member's role and/or active flag (admins; the owner protected, R38). Any
    /// change revokes all of the member's sessions at once; a change to what they already are
    /// revokes nothing.
    pub async fn change_member(
        &self,
        actor: UserRow,
        user: UserId,
        role: Option<Role>,
        active: Option<bool>,
    ) -> StoreResult<ChangedMember> {
        self.write(move |rows| {
            let before = workspace_member(rows, &actor, user)?;
            // Keeping the member as they are is checked first, so even an empty change is an
            // admin's to make; then each change asked.
            let asked = [
                Some(MemberChange::Active(before.active)),
                role.map(MemberChange::Role),
                active.map(MemberChange::Active),
            ];
            for change in asked.into_iter().flatten() {
                allowed(&actor, &before, change)?;
            }
            let after = UserRow {
                role: role.unwrap_or(before.role),
                active: active.unwrap_or(before.active),
                ..before.clone()
            };
            let revoked = after != before;
            if revoked {
                rows.update_user(&after)?;
                // Any change of what a token may do revokes it at once.
                rows.delete_sessions(user, None)?;
            }
            Ok(ChangedMember {
                member: after,
                revoked,
            })
        })
        .await
    }

    /// Removes a member from the workspace (admins; never the owner): their account and all
    /// its data go, as when they delete their account themselves (R23).
    pub async fn remove_member(
        &self,
        actor: UserRow,
        user: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<Removed> {
        self.write(move |rows| {
            let target = workspace_member(rows, &actor, user)?;
            allowed(&actor, &target, MemberChange::Remove)?;
            delete_account_rows(rows, user, now)
        })
        .await
    }
}
