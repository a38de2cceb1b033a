//! Local retention (R18): screenshots older than 7 days leave this device, sent or not, at
//! start and every ten minutes after.

use crate::state::{AgentEvent, Shared};
use std::sync::Arc;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(600);

pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        purge(&shared).await;
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            () = shared.stopping() => return,
        }
    }
}

/// One purge pass; returns how many screenshots went.
pub(crate) async fn purge(shared: &Shared) -> usize {
    let now = shared.time.now();
    match shared.store.call(move |s| s.purge_expired(now)).await {
        Ok(0) => 0,
        Ok(n) => {
            tracing::info!("retention removed {n} local screenshots");
            shared.emit(AgentEvent::Deleted);
            n
        }
        Err(err) => {
            tracing::error!("retention pass failed: {err}");
            0
        }
    }
}
