//! The shell's error type. Command errors reach the UI serialized as `{kind, message}` so the
//! front end can branch on `kind`.

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("desktop runtime: {0}")]
    Tauri(#[from] tauri::Error),
}

impl ShellError {
    /// A stable, machine-readable name for the UI.
    pub fn kind(&self) -> &'static str {
        match self {
            ShellError::Tauri(_) => "runtime",
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

#[cfg(test)]
mod tests {
    use super::ShellError;

    #[test]
    fn serializes_as_kind_and_message() {
        let err = ShellError::Tauri(tauri::Error::WindowNotFound);
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], "runtime");
        assert_eq!(json["message"], err.to_string());
        assert_eq!(json.as_object().map(|o| o.len()), Some(2));
    }
}
