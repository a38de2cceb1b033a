//! The TypeScript of the engine types the UI receives is what the Rust types render to: a renamed field, a
//! new variant or a changed type fails here until the bindings are regenerated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings/agent.ts")
}

#[test]
fn the_committed_typescript_bindings_match_the_rust_types() {
    let fresh = shotclock_agent::ts::typescript();
    let path = committed();
    if std::env::var_os("SHOTCLOCK_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("writing the bindings");
        return;
    }
    let on_disk = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(
        on_disk == fresh,
        "{} differs from the Rust wire types; regenerate it with \
         `SHOTCLOCK_BLESS=1 cargo test -p shotclock-agent --test bindings` and review the diff",
        path.display()
    );
}
