//! The Tauri commands: each parses its input, calls one method of the engine's handle and
//! maps the error to `{kind, message, code?}`. No policy lives here — the service and
//! `shotclock-domain` decide; `ui/src/lib/api.ts` is the other side of this file.

use crate::error::CommandError;
use crate::session::{self, AppState, SessionView};
use chrono::{DateTime, NaiveDate, Utc};
use shotclock_agent::{CaptureView, DayShots, EntryDeleteReport, MemberWeek, RunningTimer};
use shotclock_api::dto::{
    ApprovalReport, ApprovePeriod, DayCounts, DeleteReport, EditReport, Entry, EntryPatch,
    Notification, UpdateSettingsRequest, WorkspaceSettings,
};
use shotclock_api::{EntryId, NotificationId, ScreenshotId, UserId};
use tauri::{AppHandle, State};

pub(crate) type Answer<T> = Result<T, CommandError>;

#[tauri::command]
pub async fn session_state(state: State<'_, AppState>) -> Answer<SessionView> {
    Ok(state.view().await)
}

#[tauri::command]
pub async fn sign_in(
    app: AppHandle,
    server_url: String,
    email: String,
    password: String,
) -> Answer<SessionView> {
    session::sign_in(&app, &server_url, &email, &password).await
}

#[tauri::command]
pub async fn sign_out(app: AppHandle) -> Answer<SessionView> {
    session::sign_out(&app).await
}

#[tauri::command]
pub async fn running_timer(state: State<'_, AppState>) -> Answer<Option<RunningTimer>> {
    Ok(state.agent().await?.running())
}

#[tauri::command]
pub async fn start_timer(state: State<'_, AppState>, description: String) -> Answer<RunningTimer> {
    Ok(state.agent().await?.start_timer(description).await?)
}

#[tauri::command]
pub async fn stop_timer(state: State<'_, AppState>) -> Answer<()> {
    Ok(state.agent().await?.stop_timer().await?)
}

#[tauri::command]
pub async fn entries(state: State<'_, AppState>, from: String, to: String) -> Answer<Vec<Entry>> {
    let (from, to) = (instant(&from, "from")?, instant(&to, "to")?);
    if to <= from {
        return Err(CommandError::invalid("`to` must be after `from`"));
    }
    Ok(state.agent().await?.entries(from, to).await?)
}

/// "Ask again" after a declined screen-sharing dialog (Wayland portal).
#[tauri::command]
pub async fn ask_screen_again(state: State<'_, AppState>) -> Answer<()> {
    state.agent().await?.ask_screen_again();
    Ok(())
}

#[tauri::command]
pub async fn capture_state(state: State<'_, AppState>) -> Answer<CaptureView> {
    Ok(state.agent().await?.capture_view().await?)
}

#[tauri::command]
pub async fn notifications(state: State<'_, AppState>) -> Answer<Vec<Notification>> {
    Ok(state.agent().await?.unread_notifications().await?)
}

#[tauri::command]
pub async fn mark_notification_read(state: State<'_, AppState>, id: String) -> Answer<()> {
    let id: NotificationId = parse_id(&id, "notification id")?;
    Ok(state.agent().await?.mark_notification_read(id).await?)
}

#[tauri::command]
pub async fn day_counts(state: State<'_, AppState>, date: String, tz: String) -> Answer<DayCounts> {
    let (date, tz) = (day(&date)?, zone(&tz)?);
    Ok(state.agent().await?.day_counts(date, tz).await?)
}

#[tauri::command]
pub async fn screenshots_of_day(
    state: State<'_, AppState>,
    user_id: String,
    date: String,
    tz: String,
) -> Answer<DayShots> {
    let user: UserId = parse_id(&user_id, "user id")?;
    let (date, tz) = (day(&date)?, zone(&tz)?);
    let agent = state.agent().await?;
    Ok(agent.screenshots_of_day(user, date, tz).await?)
}

#[tauri::command]
pub async fn delete_screenshot(
    state: State<'_, AppState>,
    id: String,
    dry_run: bool,
) -> Answer<DeleteReport> {
    let id: ScreenshotId = parse_id(&id, "screenshot id")?;
    Ok(state.agent().await?.delete_screenshot(id, dry_run).await?)
}

#[tauri::command]
pub async fn workspace_settings(state: State<'_, AppState>) -> Answer<WorkspaceSettings> {
    Ok(state.agent().await?.workspace_settings().await?)
}

#[tauri::command]
pub async fn update_settings(
    state: State<'_, AppState>,
    patch: UpdateSettingsRequest,
) -> Answer<WorkspaceSettings> {
    Ok(state.agent().await?.update_settings(&patch).await?)
}

#[tauri::command]
pub async fn start_trial(state: State<'_, AppState>) -> Answer<WorkspaceSettings> {
    Ok(state.agent().await?.start_trial().await?)
}

// ---- managing entries (R39) -------------------------------------------------------------------

#[tauri::command]
pub async fn entries_for_week(
    state: State<'_, AppState>,
    date: String,
    tz: String,
) -> Answer<Vec<Entry>> {
    let (date, tz) = (day(&date)?, zone(&tz)?);
    Ok(state.agent().await?.entries_for_week(date, tz).await?)
}

#[tauri::command]
pub async fn edit_entry(
    state: State<'_, AppState>,
    id: String,
    patch: EntryPatch,
    dry_run: bool,
) -> Answer<EditReport> {
    let id: EntryId = parse_id(&id, "entry id")?;
    Ok(state.agent().await?.edit_entry(id, patch, dry_run).await?)
}

#[tauri::command]
pub async fn add_entry(
    state: State<'_, AppState>,
    description: String,
    start: String,
    end: String,
) -> Answer<Entry> {
    let (start, end) = (instant(&start, "start")?, instant(&end, "end")?);
    Ok(state
        .agent()
        .await?
        .add_entry(description, start, end)
        .await?)
}

#[tauri::command]
pub async fn delete_entry(
    state: State<'_, AppState>,
    id: String,
    dry_run: bool,
) -> Answer<EntryDeleteReport> {
    let id: EntryId = parse_id(&id, "entry id")?;
    Ok(state.agent().await?.delete_entry(id, dry_run).await?)
}

#[tauri::command]
pub async fn approvals(
    state: State<'_, AppState>,
    date: String,
    tz: String,
) -> Answer<Vec<MemberWeek>> {
    let (date, tz) = (day(&date)?, zone(&tz)?);
    Ok(state.agent().await?.approvals(date, tz).await?)
}

#[tauri::command]
pub async fn approve_period(
    state: State<'_, AppState>,
    request: ApprovePeriod,
) -> Answer<ApprovalReport> {
    zone(&request.time_zone)?;
    Ok(state.agent().await?.approve_period(request).await?)
}

// ---- privacy: block lists (R34) and who looked (R35) ------------------------------------------

#[tauri::command]
pub async fn workspace_blocklist(
    state: State<'_, AppState>,
) -> Answer<Vec<shotclock_capture::BlockRule>> {
    Ok(state.agent().await?.workspace_block_rules())
}

#[tauri::command]
pub async fn set_workspace_blocklist(
    state: State<'_, AppState>,
    rules: Vec<shotclock_capture::BlockRule>,
) -> Answer<Vec<shotclock_capture::BlockRule>> {
    Ok(state
        .agent()
        .await?
        .set_workspace_block_rules(rules)
        .await?)
}

#[tauri::command]
pub async fn own_blocklist(
    state: State<'_, AppState>,
) -> Answer<Vec<shotclock_capture::BlockRule>> {
    Ok(state.agent().await?.own_block_rules())
}

#[tauri::command]
pub async fn set_own_blocklist(
    state: State<'_, AppState>,
    rules: Vec<shotclock_capture::BlockRule>,
) -> Answer<Vec<shotclock_capture::BlockRule>> {
    Ok(state.agent().await?.set_own_block_rules(rules).await?)
}

#[tauri::command]
pub async fn windows_now(state: State<'_, AppState>) -> Answer<shotclock_agent::WindowsNow> {
    Ok(state.agent().await?.windows_now().await)
}

#[tauri::command]
pub async fn access_log(
    state: State<'_, AppState>,
) -> Answer<Vec<shotclock_api::privacy::AccessEntry>> {
    Ok(state.agent().await?.access_log().await?.entries)
}

// ---- input parsing ----------------------------------------------------------------------------

pub(crate) fn parse_id<T: std::str::FromStr>(s: &str, what: &str) -> Answer<T> {
    s.trim()
        .parse()
        .map_err(|_| CommandError::invalid(format!("not a valid {what}: {s:?}")))
}

fn instant(s: &str, what: &str) -> Answer<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| CommandError::invalid(format!("`{what}` must be an RFC 3339 instant")))
}

fn day(s: &str) -> Answer<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| CommandError::invalid(format!("the date must be YYYY-MM-DD, got {s:?}")))
}

/// An IANA zone name; the service checks that it exists.
fn zone(s: &str) -> Answer<&str> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    if ok {
        Ok(s)
    } else {
        Err(CommandError::invalid(format!(
            "not a time zone name: {s:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn inputs_are_checked_before_they_leave_the_app() {
        assert!(day("2026-11-25").is_ok());
        for bad in ["", "25/11/2026", "2026-13-01", "2026-11-25T00:00:00Z"] {
            assert_eq!(day(bad).unwrap_err().kind, ErrorKind::Invalid, "{bad:?}");
        }
        assert!(zone("Europe/Paris").is_ok());
        assert!(zone("America/Argentina/Buenos_Aires").is_ok());
        assert!(zone("Etc/GMT+5").is_ok());
        for bad in ["", "Europe/Paris&x=1", "../../etc", &"A".repeat(65)] {
            assert_eq!(zone(bad).unwrap_err().kind, ErrorKind::Invalid, "{bad:?}");
        }
        assert!(instant("2026-11-25T10:00:00+01:00", "from").is_ok());
        assert_eq!(
            instant("yesterday", "from").unwrap_err().kind,
            ErrorKind::Invalid
        );
        let id = ScreenshotId::new();
        assert_eq!(parse_id::<ScreenshotId>(&id.to_string(), "id").unwrap(), id);
        assert_eq!(
            parse_id::<ScreenshotId>("42", "id").unwrap_err().kind,
            ErrorKind::Invalid
        );
    }
}
