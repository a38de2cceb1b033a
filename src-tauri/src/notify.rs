//! OS notifications for the workspace's notifications (R6): "screenshots are now on" reaches
//! the member even when the window is hidden. The in-app banner is the UI's (from the same
//! `agent` event).
//!
//! The engine re-announces unread notifications after every reconnect; each is shown by the OS
//! once per run of the app.

use shotclock_api::NotificationId;
use shotclock_api::dto::Notification;
use std::collections::HashSet;
use std::sync::Mutex;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

/// Notifications already shown by the OS in this run.
#[derive(Debug, Default)]
pub struct Shown(Mutex<HashSet<NotificationId>>);

impl Shown {
    /// Records `id`; true the first time only.
    fn first_time(&self, id: NotificationId) -> bool {
        match self.0.lock() {
            Ok(mut seen) => seen.insert(id),
            Err(poisoned) => poisoned.into_inner().insert(id),
        }
    }
}

/// Shows `notification` as an OS notification, once.
pub fn show(app: &AppHandle, notification: &Notification) {
    if notification.read || !app.state::<Shown>().first_time(notification.id) {
        return;
    }
    let shown = app
        .notification()
        .builder()
        .title("Shotclock")
        .body(&notification.message)
        .show();
    if let Err(err) = shown {
        tracing::warn!("could not show an OS notification: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::Shown;
    use shotclock_api::NotificationId;

    #[test]
    fn each_notification_is_shown_once() {
        let shown = Shown::default();
        let (a, b) = (NotificationId::new(), NotificationId::new());
        assert!(shown.first_time(a));
        assert!(!shown.first_time(a));
        assert!(shown.first_time(b));
    }
}
