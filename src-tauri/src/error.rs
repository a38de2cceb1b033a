//! The shell's error types, mapped once at the boundary.
//!
//! - [`ShellError`]: what can stop the app from starting.
//! - [`CommandError`]: what a command answers the UI, serialized as `{kind, message, code?}` so
//!   the front end can branch on `kind` (see `ui/src/lib/api.ts` for the list) and on `code`,
//!   the service's own error code, when the service refused.

use serde::Serialize;
use shotclock_agent::AgentError;
use shotclock_sync::SyncError;

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("desktop runtime: {0}")]
    Tauri(#[from] tauri::Error),
    #[error("data folder: {0}")]
    DataDir(#[from] std::io::Error),
}

impl ShellError {
    /// A stable, machine-readable name for the UI.
    pub fn kind(&self) -> &'static str {
        match self {
            ShellError::Tauri(_) => "runtime",
            ShellError::DataDir(_) => "storage",
        }
    }
}

impl Serialize for ShellError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("ShellError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

/// A command's error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl CommandError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
            code: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid", message)
    }

    pub fn signed_out() -> Self {
        Self::new("signed_out", "You are signed out. Sign in to continue.")
    }

    /// Errors of the sign-in call, where "unauthorized" means the password was wrong.
    pub fn from_sign_in(err: AgentError) -> Self {
        match err {
            AgentError::Sync(SyncError::Unauthorized) => {
                Self::new("wrong_password", "The email or password is wrong.")
            }
            other => other.into(),
        }
    }
}

impl From<SyncError> for CommandError {
    fn from(err: SyncError) -> Self {
        let message = err.to_string();
        match &err {
            SyncError::InvalidUrl { .. } => Self::new("invalid_url", message),
            SyncError::Unauthorized => Self::signed_out(),
            SyncError::IncompatibleVersion { .. } => Self::new("incompatible", message),
            e if e.is_retryable() => Self::new("unreachable", message),
            SyncError::Rejected { error, .. } | SyncError::Server { error, .. } => CommandError {
                kind: "refused",
                message: error.message.clone(),
                code: Some(error.code.as_str()),
            },
            _ => Self::new("internal", message),
        }
    }
}

impl From<AgentError> for CommandError {
    fn from(err: AgentError) -> Self {
        match err {
            AgentError::Sync(e) => e.into(),
            AgentError::SignedOut | AgentError::Stopped => Self::signed_out(),
            AgentError::NoTimer => Self::new("no_timer", err.to_string()),
            AgentError::Invalid(m) => Self::invalid(m),
            AgentError::Store(e) => Self::new("storage", e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shotclock_api::{ApiError, ErrorCode};

    #[test]
    fn shell_error_serializes_as_kind_and_message() {
        let err = ShellError::Tauri(tauri::Error::WindowNotFound);
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], "runtime");
        assert_eq!(json["message"], err.to_string());
        assert_eq!(json.as_object().map(|o| o.len()), Some(2));
    }

    #[test]
    fn a_refusal_carries_the_service_code_and_message() {
        let err = SyncError::Rejected {
            status: 409,
            error: ApiError::new(ErrorCode::StopTimerFirst, "stop the timer first"),
        };
        let json = serde_json::to_value(CommandError::from(err)).unwrap();
        assert_eq!(json["kind"], "refused");
        assert_eq!(json["code"], "stop_timer_first");
        assert_eq!(json["message"], "stop the timer first");
    }

    #[test]
    fn unauthorized_means_a_wrong_password_only_at_sign_in() {
        let at_sign_in = CommandError::from_sign_in(AgentError::Sync(SyncError::Unauthorized));
        assert_eq!(at_sign_in.kind, "wrong_password");
        let later = CommandError::from(AgentError::Sync(SyncError::Unauthorized));
        assert_eq!(later.kind, "signed_out");
        let json = serde_json::to_value(later).unwrap();
        assert!(json.get("code").is_none());
    }

    #[test]
    fn a_bad_url_is_its_own_kind() {
        let err = shotclock_sync::Client::new("ftp://example.com").unwrap_err();
        assert_eq!(CommandError::from(err).kind, "invalid_url");
    }
}
