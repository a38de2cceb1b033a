//! The shell's error types, mapped once at the boundary.
//!
//! - [`ShellError`]: what can stop the app from starting.
//! - [`CommandError`]: what a command answers the UI, serialized as `{kind, message, code?}` so
//!   the front end can branch on `kind` (an [`ErrorKind`]) and on `code`, the service's own
//!   error code, when the service refused.

use serde::Serialize;
use shotclock_agent::AgentError;
use shotclock_sync::SyncError;

/// What kind of failure the UI is told about: it branches on this, so every value is named here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The workspace URL is not usable (https only, http for loopback).
    InvalidUrl,
    /// The email or password is wrong.
    WrongPassword,
    /// The service cannot be reached (network, DNS, 5xx): try again.
    Unreachable,
    /// The service speaks another API version: update the app.
    Incompatible,
    /// No session (or it was revoked): show sign-in.
    SignedOut,
    /// The service (or the same rule applied here) refused; `code` says why.
    Refused,
    /// Stop without a running timer.
    NoTimer,
    /// Bad input caught before it left the app.
    Invalid,
    /// The local buffer or data folder failed.
    Storage,
    /// The desktop runtime failed.
    Runtime,
    /// Anything else.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("desktop runtime: {0}")]
    Tauri(#[from] tauri::Error),
    #[error("data folder: {0}")]
    DataDir(#[from] std::io::Error),
}

impl ShellError {
    /// A stable, machine-readable name for the UI.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ShellError::Tauri(_) => ErrorKind::Runtime,
            ShellError::DataDir(_) => ErrorKind::Storage,
        }
    }
}

impl Serialize for ShellError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("ShellError", 2)?;
        s.serialize_field("kind", &self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

/// A command's error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl CommandError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
            code: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub fn signed_out() -> Self {
        Self::new(
            ErrorKind::SignedOut,
            "You are signed out. Sign in to continue.",
        )
    }

    /// Errors of the sign-in call, where "unauthorized" means the password was wrong.
    pub fn from_sign_in(err: AgentError) -> Self {
        match err {
            AgentError::Sync(SyncError::Unauthorized) => {
                Self::new(ErrorKind::WrongPassword, "The email or password is wrong.")
            }
            other => other.into(),
        }
    }
}

impl From<SyncError> for CommandError {
    fn from(err: SyncError) -> Self {
        let message = err.to_string();
        match &err {
            SyncError::InvalidUrl { .. } => Self::new(ErrorKind::InvalidUrl, message),
            SyncError::Unauthorized => Self::signed_out(),
            SyncError::IncompatibleVersion { .. } => Self::new(ErrorKind::Incompatible, message),
            e if e.is_retryable() => Self::new(ErrorKind::Unreachable, message),
            SyncError::Rejected { error, .. } | SyncError::Server { error, .. } => CommandError {
                kind: ErrorKind::Refused,
                message: error.message.clone(),
                code: Some(error.code.as_str()),
            },
            _ => Self::new(ErrorKind::Internal, message),
        }
    }
}

impl From<AgentError> for CommandError {
    fn from(err: AgentError) -> Self {
        match err {
            AgentError::Sync(e) => e.into(),
            AgentError::SignedOut | AgentError::Stopped => Self::signed_out(),
            AgentError::NoTimer => Self::new(ErrorKind::NoTimer, err.to_string()),
            AgentError::Invalid(m) => Self::invalid(m),
            AgentError::Store(e) => Self::new(ErrorKind::Storage, e.to_string()),
            AgentError::Refused(error) => CommandError {
                kind: ErrorKind::Refused,
                message: error.message,
                code: Some(error.code.as_str()),
            },
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
        assert_eq!(at_sign_in.kind, ErrorKind::WrongPassword);
        let later = CommandError::from(AgentError::Sync(SyncError::Unauthorized));
        assert_eq!(later.kind, ErrorKind::SignedOut);
        let json = serde_json::to_value(later).unwrap();
        assert!(json.get("code").is_none());
    }

    #[test]
    fn kinds_travel_as_snake_case_names() {
        let err = CommandError::new(ErrorKind::WrongPassword, "no");
        assert_eq!(serde_json::to_value(err).unwrap()["kind"], "wrong_password");
        assert_eq!(
            serde_json::to_value(ErrorKind::InvalidUrl).unwrap(),
            "invalid_url"
        );
    }

    #[test]
    fn a_bad_url_is_its_own_kind() {
        let err = shotclock_sync::Client::new("ftp://example.com").unwrap_err();
        assert_eq!(CommandError::from(err).kind, ErrorKind::InvalidUrl);
    }
}
