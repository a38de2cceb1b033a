//! Blocked windows in the engine: the member's own rules (kept in the local buffer only, never
//! sent to the service) joined with the workspace's into the list the pipeline applies at each
//! capture, and the "Test" view of which open windows that list matches now.
//!
//! Privacy: nothing here touches the service client. The own rules live in the buffer's
//! `own_block_rules` table, which no outbox item refers to.

use serde::Serialize;
use shotclock_capture::{BlockRule, Blocklist, RuleField, WindowInfo};
use shotclock_store::{BlockField, OwnBlockRule};

use crate::state::Shared;
use crate::{AgentError, AgentHandle};

pub(crate) fn to_capture(rule: &OwnBlockRule) -> BlockRule {
    BlockRule {
        field: match rule.field {
            BlockField::Class => RuleField::Class,
            BlockField::Title => RuleField::Title,
        },
        pattern: rule.pattern.clone(),
    }
}

fn to_store(rule: &BlockRule) -> OwnBlockRule {
    OwnBlockRule {
        field: match rule.field {
            RuleField::Class => BlockField::Class,
            RuleField::Title => BlockField::Title,
        },
        pattern: rule.pattern.trim().to_owned(),
    }
}

/// The list in force now: the union of the workspace's rules (as the service last sent them)
/// and the member's own.
pub(crate) fn in_force(shared: &Shared) -> Blocklist {
    let own = shared.own_rules.borrow();
    let workspace = shared.workspace_rules.borrow();
    Blocklist::new(workspace.iter().chain(own.iter()))
}

fn from_wire(rule: &shotclock_api::privacy::BlockRule) -> BlockRule {
    BlockRule {
        field: match rule.field {
            shotclock_api::privacy::BlockField::Class => RuleField::Class,
            shotclock_api::privacy::BlockField::Title => RuleField::Title,
        },
        pattern: rule.pattern.clone(),
    }
}

fn to_wire(rule: &BlockRule) -> shotclock_api::privacy::BlockRule {
    shotclock_api::privacy::BlockRule {
        field: match rule.field {
            RuleField::Class => shotclock_api::privacy::BlockField::Class,
            RuleField::Title => shotclock_api::privacy::BlockField::Title,
        },
        pattern: rule.pattern.clone(),
    }
}

/// Reads the workspace's rules from the service and puts them in force (and in the buffer).
/// On failure the cached rules stay in force.
pub(crate) async fn refresh_workspace_rules(shared: &Shared) {
    match shared.service.client.workspace_blocklist().await {
        Ok(list) => adopt_workspace_rules(shared, list.rules.iter().map(from_wire).collect()).await,
        Err(err) => tracing::info!("could not read the workspace blocklist: {err}"),
    }
}

async fn adopt_workspace_rules(shared: &Shared, rules: Vec<BlockRule>) {
    let rows: Vec<OwnBlockRule> = rules.iter().map(to_store).collect();
    if let Err(err) = shared
        .store
        .call(move |s| s.set_workspace_block_rules(&rows))
        .await
    {
        tracing::error!("could not cache the workspace blocklist: {err}");
    }
    shared.workspace_rules.send_if_modified(|current| {
        let changed = *current != rules;
        *current = rules;
        changed
    });
}

/// One open window and whether the list in force blanks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WindowMatch {
    /// The window as listed.
    pub window: WindowInfo,
    /// Whether it would be blanked at a capture now.
    pub blocked: bool,
}

/// The answer of the "Test" button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WindowsNow {
    /// The open windows, bottom to top; empty when they cannot be listed.
    pub windows: Vec<WindowMatch>,
    /// Why windows cannot be listed on this desktop (then, with a non-empty list, every
    /// capture is `redaction_unavailable`).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

impl AgentHandle {
    /// The member's own blocked-window rules.
    pub fn own_block_rules(&self) -> Vec<BlockRule> {
        self.shared().own_rules.borrow().clone()
    }

    /// Replaces the member's own rules: stored in the local buffer only, in force from the
    /// next capture. Blank patterns are dropped. Returns the rules as stored.
    pub async fn set_own_block_rules(
        &self,
        rules: Vec<BlockRule>,
    ) -> Result<Vec<BlockRule>, AgentError> {
        let rows: Vec<OwnBlockRule> = rules.iter().map(to_store).collect();
        let stored = self
            .shared()
            .store
            .call(move |s| {
                s.set_own_block_rules(&rows)?;
                s.own_block_rules()
            })
            .await?;
        let rules: Vec<BlockRule> = stored.iter().map(to_capture).collect();
        self.shared().own_rules.send_replace(rules.clone());
        Ok(rules)
    }

    /// The workspace's rules as last received from the service (read-only for members).
    pub fn workspace_block_rules(&self) -> Vec<BlockRule> {
        self.shared().workspace_rules.borrow().clone()
    }

    /// Replaces the workspace's rules at the service (admins); in force here at once, and on
    /// every member's app when the service's `settings_changed` reaches it.
    pub async fn set_workspace_block_rules(
        &self,
        rules: Vec<BlockRule>,
    ) -> Result<Vec<BlockRule>, AgentError> {
        let list = shotclock_api::privacy::WorkspaceBlocklist {
            rules: rules.iter().map(to_wire).collect(),
        };
        let stored = self
            .shared()
            .service
            .client
            .set_workspace_blocklist(&list)
            .await?;
        let rules: Vec<BlockRule> = stored.rules.iter().map(from_wire).collect();
        adopt_workspace_rules(self.shared(), rules.clone()).await;
        Ok(rules)
    }

    /// Who else viewed or deleted this member's screenshots in the last 7 days (R35).
    pub async fn access_log(&self) -> Result<shotclock_api::privacy::AccessLog, AgentError> {
        Ok(self.shared().service.client.access_log().await?)
    }

    /// Which open windows the list in force blanks now (the settings' "Test" button). Lists
    /// the windows of this session's desktop on a blocking thread.
    pub async fn windows_now(&self) -> WindowsNow {
        let list = in_force(self.shared());
        let listed = tokio::task::spawn_blocking(shotclock_capture::redact::list_windows_now)
            .await
            .unwrap_or_else(|e| {
                Err(shotclock_capture::CaptureError::RedactionUnavailable(
                    e.to_string(),
                ))
            });
        match listed {
            Ok(windows) => WindowsNow {
                windows: windows
                    .into_iter()
                    .map(|window| WindowMatch {
                        blocked: list.matches(&window),
                        window,
                    })
                    .collect(),
                unavailable: None,
            },
            Err(e) => WindowsNow {
                windows: Vec::new(),
                unavailable: Some(e.to_string()),
            },
        }
    }
}
