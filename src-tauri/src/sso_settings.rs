//! The Tauri commands of the single sign-on section of Settings (R31), as thin as
//! `commands.rs`: call one method of the engine's handle, map the error. The service decides
//! who may read or change the link and checks the provider.

use crate::commands::Answer;
use crate::session::AppState;
use shotclock_api::sso::{SsoSettings, SsoSettingsUpdate};
use tauri::State;

#[tauri::command]
pub async fn sso_settings(state: State<'_, AppState>) -> Answer<SsoSettings> {
    Ok(state.agent().await?.sso_settings().await?)
}

#[tauri::command]
pub async fn set_sso_settings(
    state: State<'_, AppState>,
    update: SsoSettingsUpdate,
) -> Answer<SsoSettings> {
    Ok(state.agent().await?.set_sso_settings(update).await?)
}

#[tauri::command]
pub async fn unlink_sso(state: State<'_, AppState>) -> Answer<()> {
    Ok(state.agent().await?.unlink_sso().await?)
}
