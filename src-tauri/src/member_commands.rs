//! The Tauri commands of the Members view (R38), as thin as `commands.rs`: parse, call one
//! method of the engine's handle, map the error. The service decides who may do what.

use crate::commands::{Answer, parse_id};
use crate::session::AppState;
use shotclock_agent::InviteLink;
use shotclock_api::dto::{Invitation, Member, UpdateMemberRequest};
use shotclock_api::{InvitationId, Role, UserId};
use tauri::State;

#[tauri::command]
pub async fn members(state: State<'_, AppState>) -> Answer<Vec<Member>> {
    Ok(state.agent().await?.members().await?)
}

#[tauri::command]
pub async fn invitations(state: State<'_, AppState>) -> Answer<Vec<Invitation>> {
    Ok(state.agent().await?.invitations().await?)
}

#[tauri::command]
pub async fn invite(state: State<'_, AppState>, email: String, role: Role) -> Answer<InviteLink> {
    Ok(state.agent().await?.invite(email, role).await?)
}

#[tauri::command]
pub async fn revoke_invitation(state: State<'_, AppState>, id: String) -> Answer<()> {
    let id: InvitationId = parse_id(&id, "invitation id")?;
    Ok(state.agent().await?.revoke_invitation(id).await?)
}

#[tauri::command]
pub async fn update_member(
    state: State<'_, AppState>,
    id: String,
    change: UpdateMemberRequest,
) -> Answer<Member> {
    let id: UserId = parse_id(&id, "member id")?;
    Ok(state.agent().await?.update_member(id, change).await?)
}

#[tauri::command]
pub async fn remove_member(state: State<'_, AppState>, id: String) -> Answer<()> {
    let id: UserId = parse_id(&id, "member id")?;
    Ok(state.agent().await?.remove_member(id).await?)
}
