//! Managing members from the desktop app (R38): the member list with each member's presence
//! (admins), invitations and changes, each one call to the service (online only: people are
//! the service's, nothing of them is kept here). The service decides who may do what; these
//! methods only pass its answer on.

use serde::Serialize;
use shotclock_api::dto::{Invitation, InviteRequest, Member, UpdateMemberRequest};
use shotclock_api::{InvitationId, Role, UserId};

use crate::agent::AgentHandle;
use crate::error::AgentError;

/// A new invitation and its sign-up link, to copy and hand to the invitee (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InviteLink {
    pub invitation: Invitation,
    /// The full link on the service (`…/invite/#<secret>`).
    pub link: String,
}

impl AgentHandle {
    /// The workspace's members, deactivated ones included; admins also get presence.
    pub async fn members(&self) -> Result<Vec<Member>, AgentError> {
        Ok(self.shared().service.client.members().await?.members)
    }

    /// Pending invitations (admins).
    pub async fn invitations(&self) -> Result<Vec<Invitation>, AgentError> {
        Ok(self
            .shared()
            .service
            .client
            .invitations()
            .await?
            .invitations)
    }

    /// Invites `email` as `role` (admins); the link is built on the service's address as
    /// this app reaches it.
    pub async fn invite(&self, email: String, role: Role) -> Result<InviteLink, AgentError> {
        let client = &self.shared().service.client;
        let created = client.invite(&InviteRequest { email, role }).await?;
        let link = client
            .base_url()
            .join(created.link_path.trim_start_matches('/'))
            .map_err(|e| AgentError::Invalid(format!("the service's link is not usable: {e}")))?;
        Ok(InviteLink {
            invitation: created.invitation,
            link: link.to_string(),
        })
    }

    /// Revokes a pending invitation (admins): its link stops working.
    pub async fn revoke_invitation(&self, id: InvitationId) -> Result<(), AgentError> {
        Ok(self.shared().service.client.revoke_invitation(id).await?)
    }

    /// Changes a member's role, or deactivates or reactivates them (admins; never the owner).
    pub async fn update_member(
        &self,
        id: UserId,
        change: UpdateMemberRequest,
    ) -> Result<Member, AgentError> {
        Ok(self
            .shared()
            .service
            .client
            .update_member(id, &change)
            .await?)
    }

    /// Removes a member and their data (admins; never the owner).
    pub async fn remove_member(&self, id: UserId) -> Result<(), AgentError> {
        Ok(self.shared().service.client.remove_member(id).await?)
    }
}
