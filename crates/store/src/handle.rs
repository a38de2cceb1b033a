//! [`StoreHandle`]: the async face of the store for the engine.
//!
//! A cheap, cloneable handle (`Arc<Mutex<Store>>`) whose [`StoreHandle::call`] runs a closure
//! against the one connection on tokio's blocking pool, so database work never runs on an
//! async worker or the UI thread. Calls are serialised by the mutex, which matches SQLite's
//! single writer anyway.
//!
//! Dropping the returned future does **not** cancel the call: a write that started finishes
//! and commits (the caller merely misses the answer). A panic inside a call rolls its
//! transaction back (the `rusqlite::Transaction` is dropped while unwinding), so the next call
//! recovers the lock instead of treating the store as poisoned forever.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::{Store, StoreError};

/// Cloneable async handle on the [`Store`]. Create with [`StoreHandle::open`] or
/// [`StoreHandle::new`].
#[derive(Clone)]
pub struct StoreHandle {
    inner: Arc<Mutex<Store>>,
}

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHandle").finish_non_exhaustive()
    }
}

impl StoreHandle {
    /// Wraps an open store.
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self {
            inner: Arc::new(Mutex::new(store)),
        }
    }

    /// [`Store::open`] on the blocking pool.
    ///
    /// # Errors
    /// As [`Store::open`]; [`StoreError::Task`] if the blocking task failed.
    pub async fn open(data_dir: PathBuf) -> Result<Self, StoreError> {
        let store = tokio::task::spawn_blocking(move || Store::open(&data_dir))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(Self::new(store))
    }

    /// Runs `f` with exclusive access to the store on tokio's blocking pool and returns its
    /// result, e.g. `handle.call(move |s| s.next_due(now)).await`.
    ///
    /// # Errors
    /// Whatever `f` returns; [`StoreError::Task`] if `f` panicked.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut store = inner.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut store)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}
