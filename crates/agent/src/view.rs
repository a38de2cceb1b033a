//! What a client is told, whatever carries it: the session, the capture indicator's data and
//! errors, as the UI receives them. Plain data (serde), no behaviour beyond the one mapping of
//! engine and service errors to an [`ErrorKind`]; with the `ts` feature each type also renders
//! to TypeScript (`ui/src/lib/bindings/agent.ts`), so the UI declares none of them by hand.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shotclock_api::ErrorCode;
use shotclock_api::dto::{Member, WorkspaceSettings};
use shotclock_sync::SyncError;

use crate::error::AgentError;
use crate::state::CaptureStatus;
use shotclock_store::{CaptureHealth, OutboxKind};

/// Where the session token is kept (R3): the OS keyring, or a user-only file when none exists;
/// in the web app, a cookie the page's scripts cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TokenStorage {
    /// The OS keyring (Keychain, Credential Manager, Secret Service).
    Keyring,
    /// A file only the user can read, in the app's data folder.
    File,
    /// The browser's `HttpOnly` session cookie (the web app; never the desktop engine).
    Browser,
}

/// The session as a client shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SessionView {
    /// No session: the sign-in form, prefilled with the last account.
    SignedOut {
        /// Prefill for the sign-in form.
        last_server_url: Option<String>,
        /// Prefill for the sign-in form.
        last_email: Option<String>,
    },
    /// A stored session exists but the service could not be reached yet; retrying.
    Connecting {
        /// The service being reached.
        server_url: String,
        /// Why the last attempt failed (empty while the first one runs).
        error: String,
    },
    /// Signed in (online, or offline with a known account).
    SignedIn {
        /// The service.
        server_url: String,
        /// The signed-in user.
        user: Member,
        /// Their workspace, as last known.
        workspace: WorkspaceSettings,
        /// Where the session token is kept.
        token_storage: TokenStorage,
    },
}

/// One capture attempt (R12): the last one, failed or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "CaptureAttempt"))]
pub struct AttemptView {
    /// When it was made.
    pub at: DateTime<Utc>,
    /// How it went.
    pub health: CaptureHealth,
    /// What went wrong, or which screens were taken; may be empty.
    pub detail: String,
}

/// An item the service refused for good (R25): kept aside, never blocks the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RejectedItem {
    /// What the item was.
    pub kind: OutboxKind,
    /// The service's reason.
    pub reason: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// The capture indicator's data (R7, R12, R25).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CaptureView {
    /// Capturing or not, and why not.
    pub status: CaptureStatus,
    /// The most recent capture attempt.
    pub last_attempt: Option<AttemptView>,
    /// Items the service refused for good.
    pub rejected: Vec<RejectedItem>,
    /// Changes waiting to be sent.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub pending: u64,
}

/// What kind of failure a call answers; a client branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// A single sign-on in the browser did not finish (timed out, refused, no code); the
    /// message says why in plain words.
    Sso,
}

/// A call's error as a client receives it: `{kind, message, code?}`, `code` being the
/// service's error code when the service (or the same rule applied here) refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[error("{message}")]
pub struct CommandError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// For people.
    pub message: String,
    /// Why the service refused, with [`ErrorKind::Refused`].
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub code: Option<ErrorCode>,
}

impl CommandError {
    /// An error of `kind` without a service code.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
            code: None,
        }
    }

    /// Bad input caught here.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    /// No session.
    #[must_use]
    pub fn signed_out() -> Self {
        Self::new(
            ErrorKind::SignedOut,
            "You are signed out. Sign in to continue.",
        )
    }

    /// Errors of the sign-in call, where "unauthorized" means the password was wrong.
    #[must_use]
    pub fn from_sign_in(err: AgentError) -> Self {
        match err {
            AgentError::Sync(SyncError::Unauthorized) => {
                Self::new(ErrorKind::WrongPassword, "The email or password is wrong.")
            }
            other => other.into(),
        }
    }

    fn refused(code: ErrorCode, message: String) -> Self {
        CommandError {
            kind: ErrorKind::Refused,
            message,
            code: Some(code),
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
            SyncError::Rejected { error, .. } | SyncError::Server { error, .. } => {
                Self::refused(error.code, error.message.clone())
            }
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
            AgentError::Refused(error) => Self::refused(error.code, error.message),
            AgentError::Sso(e) => Self::new(ErrorKind::Sso, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shotclock_api::ApiError;

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

    #[test]
    fn the_session_travels_tagged_by_state() {
        let view = SessionView::Connecting {
            server_url: "https://example.com".into(),
            error: String::new(),
        };
        let json = serde_json::to_value(view).unwrap();
        assert_eq!(json["state"], "connecting");
        assert_eq!(json["server_url"], "https://example.com");
        assert_eq!(
            serde_json::to_value(TokenStorage::Keyring).unwrap(),
            "keyring"
        );
    }
}
