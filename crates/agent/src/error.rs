//! The engine's error type: one enum, mapped once at each boundary.

use shotclock_store::StoreError;
use shotclock_sync::SyncError;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("local storage: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Sync(#[from] SyncError),
    #[error("not signed in")]
    SignedOut,
    #[error("no timer is running")]
    NoTimer,
    #[error("{0}")]
    Invalid(String),
    #[error("the engine has stopped")]
    Stopped,
    /// Refused by the same rule the service applies, decided here (a screenshot not sent yet).
    #[error("{}", .0.message)]
    Refused(shotclock_api::ApiError),
    /// A single sign-on in the browser did not end with a session.
    #[error("{0}")]
    Sso(#[from] crate::sso::SsoError),
}

impl AgentError {
    /// Whether trying again later may succeed (the service was unreachable or overloaded).
    pub fn is_retryable(&self) -> bool {
        matches!(self, AgentError::Sync(e) if e.is_retryable())
    }

    /// A stable, machine-readable name for the UI.
    pub fn kind(&self) -> &'static str {
        match self {
            AgentError::Store(_) => "storage",
            AgentError::Sync(e) if e.is_retryable() => "offline",
            AgentError::Sync(_) => "service",
            AgentError::SignedOut => "signed_out",
            AgentError::NoTimer => "no_timer",
            AgentError::Invalid(_) => "invalid",
            AgentError::Stopped => "stopped",
            AgentError::Refused(_) => "refused",
            AgentError::Sso(_) => "sso",
        }
    }
}
