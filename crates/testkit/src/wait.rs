//! Polling a condition up to a deadline, for tests that must not sleep and hope.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` every 50 ms until it yields a value; fails the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    wait_for(timeout, what, check)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `check` every 50 ms until it yields a value; an error once `timeout` has passed, for
/// tests that add context to a failure before they fail.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
