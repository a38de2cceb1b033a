//! What each outbox item carries: one shape per [`OutboxKind`], typed here and stored as JSON
//! in `outbox.payload` (the `kind` column says which shape). The JSON is the same as the first
//! builds wrote, so a row queued by an older build reads back unchanged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shotclock_api::EntryId;

use crate::OutboxKind;

/// An outbox item's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxPayload {
    /// A timer was started: creates the entry.
    TimerStart(TimerStart),
    /// A timer was stopped: sets the entry's end.
    TimerStop(TimerStop),
    /// A time entry was deleted (tombstone); the item's id is the entry's.
    DeleteEntry,
    /// Upload a screenshot: everything it needs (bytes, entry, instant, size, hash) is in the
    /// `screenshots` row with the item's id, so the payload carries nothing. (Early builds
    /// wrote a copy of the row's fields here; it is ignored.)
    Screenshot,
    /// A screenshot was deleted (tombstone); the item's id is the screenshot's.
    DeleteScreenshot {
        /// For a screenshot never sent: what the service needs to apply the delete without it.
        unsent: Option<UnsentShot>,
    },
    /// An entry was edited by hand (R39).
    EditEntry(EditEntry),
    /// Time was added by hand: creates a manual entry; the item's id is the entry's (R39).
    ManualEntry(ManualEntry),
}

/// Payload of an `edit_entry` item: the fields changed, and what they were before, so a
/// refusal can be undone here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditEntry {
    /// The entry it edits.
    pub entry_id: EntryId,
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A new start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    /// A new end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    /// The user confirmed that screenshots the new times exclude go with the edit.
    #[serde(default)]
    pub confirm: bool,
    /// The entry's times and description before the edit (restored if the service refuses).
    pub before: EntryBefore,
}

/// An entry's description and times before an edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryBefore {
    /// Its description.
    pub description: String,
    /// Its start.
    pub start: DateTime<Utc>,
    /// Its end (`None` while running).
    pub end: Option<DateTime<Utc>>,
}

/// Payload of a `manual_entry` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualEntry {
    /// The entry it creates (the item's id too).
    pub entry_id: EntryId,
    /// What the time was spent on.
    pub description: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
}

/// Payload of a `timer_start` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerStart {
    /// The entry it creates.
    pub entry_id: EntryId,
    /// What the user is working on.
    pub description: String,
    /// When it started.
    pub start: DateTime<Utc>,
}

/// Payload of a `timer_stop` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerStop {
    /// The entry it ends.
    pub entry_id: EntryId,
    /// When it ended.
    pub end: DateTime<Utc>,
}

/// A screenshot deleted before it was sent: its entry and capture instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsentShot {
    /// Its entry.
    pub entry_id: EntryId,
    /// When it was taken.
    pub captured_at: DateTime<Utc>,
}

/// The stored JSON of a `delete_screenshot` item: `{}` for a screenshot the service has, or
/// the entry and capture instant of one it never received.
#[derive(Debug, Default, Serialize, Deserialize)]
struct DeleteScreenshotJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entry_id: Option<EntryId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    captured_at: Option<DateTime<Utc>>,
}

/// The stored JSON of a `delete_entry` or `screenshot` item: an object whose fields are
/// ignored.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Empty {}

impl OutboxPayload {
    /// The kind of item that carries this payload.
    #[must_use]
    pub const fn kind(&self) -> OutboxKind {
        match self {
            OutboxPayload::TimerStart(_) => OutboxKind::TimerStart,
            OutboxPayload::TimerStop(_) => OutboxKind::TimerStop,
            OutboxPayload::DeleteEntry => OutboxKind::DeleteEntry,
            OutboxPayload::Screenshot => OutboxKind::Screenshot,
            OutboxPayload::DeleteScreenshot { .. } => OutboxKind::DeleteScreenshot,
            OutboxPayload::EditEntry(_) => OutboxKind::EditEntry,
            OutboxPayload::ManualEntry(_) => OutboxKind::ManualEntry,
        }
    }

    /// The entry a change of an entry (timer start or stop, edit, manual entry) is about.
    #[must_use]
    pub const fn changed_entry(&self) -> Option<EntryId> {
        match self {
            OutboxPayload::TimerStart(p) => Some(p.entry_id),
            OutboxPayload::TimerStop(p) => Some(p.entry_id),
            OutboxPayload::EditEntry(p) => Some(p.entry_id),
            OutboxPayload::ManualEntry(p) => Some(p.entry_id),
            _ => None,
        }
    }

    /// The JSON stored in `outbox.payload`.
    ///
    /// # Errors
    /// Serialization failure (none is expected for these types).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        match self {
            OutboxPayload::TimerStart(p) => serde_json::to_string(p),
            OutboxPayload::TimerStop(p) => serde_json::to_string(p),
            OutboxPayload::EditEntry(p) => serde_json::to_string(p),
            OutboxPayload::ManualEntry(p) => serde_json::to_string(p),
            OutboxPayload::DeleteEntry | OutboxPayload::Screenshot => {
                serde_json::to_string(&Empty {})
            }
            OutboxPayload::DeleteScreenshot { unsent } => {
                serde_json::to_string(&DeleteScreenshotJson {
                    entry_id: unsent.map(|u| u.entry_id),
                    captured_at: unsent.map(|u| u.captured_at),
                })
            }
        }
    }

    /// Reads the stored JSON of an item of `kind`.
    ///
    /// # Errors
    /// The JSON does not have the shape of `kind`'s payload.
    pub fn from_json(kind: OutboxKind, json: &str) -> Result<Self, serde_json::Error> {
        Ok(match kind {
            OutboxKind::TimerStart => OutboxPayload::TimerStart(serde_json::from_str(json)?),
            OutboxKind::TimerStop => OutboxPayload::TimerStop(serde_json::from_str(json)?),
            OutboxKind::EditEntry => OutboxPayload::EditEntry(serde_json::from_str(json)?),
            OutboxKind::ManualEntry => OutboxPayload::ManualEntry(serde_json::from_str(json)?),
            OutboxKind::DeleteEntry => {
                serde_json::from_str::<Empty>(json)?;
                OutboxPayload::DeleteEntry
            }
            OutboxKind::Screenshot => {
                serde_json::from_str::<Empty>(json)?;
                OutboxPayload::Screenshot
            }
            OutboxKind::DeleteScreenshot => {
                let stored: DeleteScreenshotJson = serde_json::from_str(json)?;
                let unsent = match (stored.entry_id, stored.captured_at) {
                    (Some(entry_id), Some(captured_at)) => Some(UnsentShot {
                        entry_id,
                        captured_at,
                    }),
                    _ => None,
                };
                OutboxPayload::DeleteScreenshot { unsent }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).single().unwrap()
    }

    fn every_kind() -> Vec<OutboxPayload> {
        let entry_id = EntryId::new();
        vec![
            OutboxPayload::TimerStart(TimerStart {
                entry_id,
                description: "Notes".into(),
                start: at(1_700_000_000_123),
            }),
            OutboxPayload::TimerStop(TimerStop {
                entry_id,
                end: at(1_700_000_060_000),
            }),
            OutboxPayload::DeleteEntry,
            OutboxPayload::Screenshot,
            OutboxPayload::DeleteScreenshot { unsent: None },
            OutboxPayload::DeleteScreenshot {
                unsent: Some(UnsentShot {
                    entry_id,
                    captured_at: at(1_700_000_030_500),
                }),
            },
            OutboxPayload::EditEntry(EditEntry {
                entry_id,
                description: Some("Fixed".into()),
                start: None,
                end: Some(at(1_700_000_050_000)),
                confirm: true,
                before: EntryBefore {
                    description: "Notes".into(),
                    start: at(1_700_000_000_123),
                    end: Some(at(1_700_000_060_000)),
                },
            }),
            OutboxPayload::ManualEntry(ManualEntry {
                entry_id,
                description: "Forgot to track".into(),
                start: at(1_700_000_100_000),
                end: at(1_700_000_200_000),
            }),
        ]
    }

    #[test]
    fn every_payload_reads_back_as_written_and_names_its_kind() {
        let kinds: Vec<_> = every_kind().iter().map(OutboxPayload::kind).collect();
        assert_eq!(
            kinds,
            [
                OutboxKind::TimerStart,
                OutboxKind::TimerStop,
                OutboxKind::DeleteEntry,
                OutboxKind::Screenshot,
                OutboxKind::DeleteScreenshot,
                OutboxKind::DeleteScreenshot,
                OutboxKind::EditEntry,
                OutboxKind::ManualEntry,
            ]
        );
        for payload in every_kind() {
            let json = payload.to_json().unwrap();
            let back = OutboxPayload::from_json(payload.kind(), &json).unwrap();
            assert_eq!(back, payload, "{json}");
        }
    }

    #[test]
    fn a_payload_of_another_shape_does_not_read() {
        let stop =
            r#"{"entry_id":"01938a4e-7b3c-7000-8000-000000000001","end":"2024-01-01T00:00:00Z"}"#;
        assert!(OutboxPayload::from_json(OutboxKind::TimerStart, stop).is_err());
        assert!(OutboxPayload::from_json(OutboxKind::Screenshot, "1").is_err());
        assert!(OutboxPayload::from_json(OutboxKind::DeleteEntry, "\"gone\"").is_err());
    }

    #[test]
    fn an_unsent_delete_needs_both_its_entry_and_instant() {
        let half = r#"{"entry_id":"01938a4e-7b3c-7000-8000-000000000001"}"#;
        assert_eq!(
            OutboxPayload::from_json(OutboxKind::DeleteScreenshot, half).unwrap(),
            OutboxPayload::DeleteScreenshot { unsent: None }
        );
        assert_eq!(
            OutboxPayload::DeleteScreenshot { unsent: None }
                .to_json()
                .unwrap(),
            "{}"
        );
    }

    #[test]
    fn an_edit_names_only_the_fields_it_changes() {
        let json = r#"{"entry_id":"01938a4e-7b3c-7000-8000-000000000001","description":"x",
            "before":{"description":"y","start":"2024-01-01T00:00:00Z","end":null}}"#;
        let OutboxPayload::EditEntry(edit) =
            OutboxPayload::from_json(OutboxKind::EditEntry, json).unwrap()
        else {
            panic!("not an edit");
        };
        assert_eq!(edit.description.as_deref(), Some("x"));
        assert_eq!((edit.start, edit.end, edit.confirm), (None, None, false));
        assert!(OutboxPayload::from_json(OutboxKind::EditEntry, "{}").is_err());
        assert!(OutboxPayload::from_json(OutboxKind::ManualEntry, "{}").is_err());
    }
}
