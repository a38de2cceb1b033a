//! [`Cluster`] on PostgreSQL: notices by `LISTEN`/`NOTIFY` on [`CHANNEL`], duties by session
//! advisory locks.
//!
//! * **Notify.** One background task sends the queued notices in order with `pg_notify` on a
//!   pooled connection, each in its own implicit transaction: never inside a write group, so a
//!   notice cannot delay an upload's commit, and it is sent only after the change it describes
//!   committed (the caller queues it after the answer).
//! * **Listen.** A dedicated connection (`application_name` [`LISTENER_NAME`], outside the
//!   pool) runs `LISTEN`; its notifications are forwarded as they arrive. When it fails, it is
//!   reopened with backoff (0.1 s doubling to 5 s) and [`Heard::Listening`] is reported again:
//!   notices sent in between are lost, and the caller tells its streams so.
//! * **Duties.** `pg_try_advisory_lock` on a pooled connection that leaves the pool with the
//!   [`Lead`]: dropping the lead closes the session, which releases the lock, also when the
//!   process dies (the server ends the session).

use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use futures_util::StreamExt;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{MAINTENANCE_LOCK, PgStore, pool_err};
use crate::store::{Cluster, Duty, Heard, Lead, StoreError, StoreResult};

/// The notification channel.
pub const CHANNEL: &str = "shotclock_events";
/// `application_name` of the listener connection (visible in `pg_stat_activity`).
pub const LISTENER_NAME: &str = "shotclock-listener";

/// Sends queued notices in order until the store goes.
pub(super) async fn notifier(pool: Pool, mut queue: mpsc::UnboundedReceiver<String>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while let Ok(next) = queue.try_recv() {
            batch.push(next);
        }
        let obj = match pool.get().await {
            Ok(obj) => obj,
            Err(e) => {
                tracing::warn!(error = %e, dropped = batch.len(), "live events not sent to other replicas");
                continue;
            }
        };
        for payload in batch {
            if let Err(e) = obj
                .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
                .await
            {
                tracing::warn!(error = %e, "a live event was not sent to other replicas");
            }
        }
    }
}

/// Listens on [`CHANNEL`] with its own connection, reconnecting, until `out` is closed.
async fn listener(config: tokio_postgres::Config, out: mpsc::UnboundedSender<Heard>) {
    const FIRST_BACKOFF: Duration = Duration::from_millis(100);
    let mut config = config;
    config.application_name(LISTENER_NAME);
    let mut backoff = FIRST_BACKOFF;
    while !out.is_closed() {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (heard, mut payloads) = mpsc::unbounded_channel::<String>();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                if heard.send(n.payload().to_owned()).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "the live-event listener lost its connection");
                                return;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        backoff = FIRST_BACKOFF;
                        if out.send(Heard::Listening).is_err() {
                            driver.abort();
                            return;
                        }
                        while let Some(payload) = payloads.recv().await {
                            if out.send(Heard::Notice(payload)).is_err() {
                                driver.abort();
                                return;
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "LISTEN failed"),
                }
                driver.abort();
            }
            Err(e) => tracing::warn!(error = %e, "the live-event listener cannot connect"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// A held advisory lock: its session leaves the pool and closes when dropped.
struct Held(Option<Object>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(obj) = self.0.take() {
            drop(Object::take(obj));
        }
    }
}

const fn lock_of(duty: Duty) -> i64 {
    match duty {
        Duty::Maintenance => MAINTENANCE_LOCK,
    }
}

async fn try_lock(pool: Pool, key: i64) -> StoreResult<Option<Held>> {
    let obj = pool.get().await.map_err(pool_err)?;
    let taken: bool = obj
        .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
        .await?
        .try_get(0)?;
    // Not taken: the session holds nothing and goes back to the pool.
    Ok(taken.then(|| Held(Some(obj))))
}

#[async_trait::async_trait]
impl Cluster for PgStore {
    fn notify(&self, payload: String) {
        let _ = self.inner.notices.send(payload);
    }

    fn listen(&self) -> mpsc::UnboundedReceiver<Heard> {
        let (out, heard) = mpsc::unbounded_channel();
        self.inner
            .handle
            .spawn(listener(self.inner.config.clone(), out));
        heard
    }

    async fn try_lead(&self, duty: Duty) -> StoreResult<Option<Lead>> {
        let pool = self.inner.pool.clone();
        let handle: &Handle = &self.inner.handle;
        let held = handle
            .spawn(try_lock(pool, lock_of(duty)))
            .await
            .map_err(|_| StoreError::Closed)??;
        Ok(held.map(|h| Box::new(h) as Lead))
    }
}
