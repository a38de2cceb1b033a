//! TypeScript declarations of the engine's types the UI receives (feature `ts`): events,
//! capture status, day shots, and the client views (the session, the capture indicator's
//! data, errors).
//!
//! [`typescript`] renders them into one module, committed as `ui/src/lib/bindings/agent.ts`,
//! which imports the wire types it refers to from `./api` (the wire crate's module);
//! `tests/bindings.rs` fails when the committed file differs from a fresh rendering
//! (`SHOTCLOCK_BLESS=1 cargo test -p shotclock-agent --features ts --test bindings` rewrites it).

use std::collections::BTreeSet;

use ts_rs::TS;

use crate::blocklist::{WindowMatch, WindowsNow};
use crate::door::{DayShot, DayShots};
use crate::members::InviteLink;
use crate::state::{AgentEvent, CaptureStatus, OffReason, RunningTimer};
use crate::view::{
    AttemptView, CaptureView, CommandError, ErrorKind, RejectedItem, SessionView, TokenStorage,
};
use shotclock_capture::{
    BlockRule, ChoiceReason, Consent, RuleField, SourceChoice, SourceKind, WindowInfo, WindowRect,
};
use shotclock_store::{CaptureHealth, OutboxKind};

/// The first line of the rendered module.
pub const GENERATED_HEADER: &str = "// Generated from crates/agent by `SHOTCLOCK_BLESS=1 cargo test -p shotclock-agent --test bindings`; do not edit.";

/// One declared type: its name, its exported declaration with documentation, and the names of
/// the types it refers to.
struct Part {
    name: String,
    text: String,
    uses: Vec<String>,
}

fn part<T: TS + 'static>() -> Part {
    let mut text = T::docs().unwrap_or_default();
    text.push_str("export ");
    text.push_str(&T::decl());
    Part {
        name: T::name(),
        text,
        uses: T::dependencies().into_iter().map(|d| d.ts_name).collect(),
    }
}

macro_rules! parts {
    ($($t:ty),* $(,)?) => { vec![$(part::<$t>()),*] };
}

/// The engine's UI types as one TypeScript module, in a fixed order; every type it refers to
/// and does not declare comes from `./api`.
#[must_use]
pub fn typescript() -> String {
    let parts = parts![
        CaptureHealth,
        OutboxKind,
        OffReason,
        SourceKind,
        ChoiceReason,
        SourceChoice,
        Consent,
        CaptureStatus,
        RunningTimer,
        DayShot,
        DayShots,
        AgentEvent,
        AttemptView,
        RejectedItem,
        CaptureView,
        TokenStorage,
        SessionView,
        ErrorKind,
        CommandError,
        RuleField,
        BlockRule,
        WindowRect,
        WindowInfo,
        WindowMatch,
        WindowsNow,
        InviteLink,
    ];
    let declared: BTreeSet<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    let imported: BTreeSet<&str> = parts
        .iter()
        .flat_map(|p| p.uses.iter().map(String::as_str))
        .filter(|name| !declared.contains(name))
        .collect();
    let mut out = String::from(GENERATED_HEADER);
    out.push_str("\n\n");
    if !imported.is_empty() {
        out.push_str("import type { ");
        out.push_str(&imported.into_iter().collect::<Vec<_>>().join(", "));
        out.push_str(" } from \"./api\";\n\n");
    }
    let texts: Vec<&str> = parts.iter().map(|p| p.text.as_str()).collect();
    out.push_str(&texts.join("\n\n"));
    out.push('\n');
    out
}
