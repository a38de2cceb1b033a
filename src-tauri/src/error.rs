//! The shell's error types, mapped once at the boundary.
//!
//! - [`ShellError`]: what can stop the app from starting.
//! - [`CommandError`]: what a command answers the UI, serialized as `{kind, message, code?}` so
//!   the front end can branch on `kind` (an [`ErrorKind`]) and on `code`, the service's own
//!   error code, when the service refused. Both are the engine's client views
//!   (`shotclock_agent::view`), so every client maps errors the same way and the UI's types are
//!   generated from them.

use serde::Serialize;
pub use shotclock_agent::{CommandError, ErrorKind};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_error_serializes_as_kind_and_message() {
        let err = ShellError::Tauri(tauri::Error::WindowNotFound);
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], "runtime");
        assert_eq!(json["message"], err.to_string());
        assert_eq!(json.as_object().map(|o| o.len()), Some(2));
    }
}
