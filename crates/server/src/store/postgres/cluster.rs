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
//! * **Sign-in throttle.** Rows in `signin_pairs` and `signin_budgets`; an update runs in one
//!   transaction under the transaction-scoped advisory lock [`THROTTLE_LOCK`] (updates are rare:
//!   one per wrong password), so two replicas never lose each other's failures.
//! * **Duties.** `pg_try_advisory_lock` on a pooled connection that leaves the pool with the
//!   [`Lead`]: dropping the lead closes the session, which releases the lock, also when the
//!   process dies (the server ends the session).

use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use futures_util::StreamExt;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use super::tls::MakeRustls;
use super::{MAINTENANCE_LOCK, PgStore, THROTTLE_LOCK, pool_err};
use crate::store::{
    BudgetState, Cluster, Duty, Heard, Lead, PairState, StoreError, StoreResult, ThrottleRows,
    ThrottleUpdate,
};

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
async fn listener(
    config: tokio_postgres::Config,
    tls: MakeRustls,
    out: mpsc::UnboundedSender<Heard>,
) {
    const FIRST_BACKOFF: Duration = Duration::from_millis(100);
    let mut config = config;
    config.application_name(LISTENER_NAME);
    let mut backoff = FIRST_BACKOFF;
    while !out.is_closed() {
        match config.connect(tls.clone()).await {
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

async fn read_throttle(
    client: &tokio_postgres::Client,
    pair: &[u8; 32],
    source: &[u8; 32],
) -> StoreResult<ThrottleRows> {
    let pair = client
        .query_opt(
            "SELECT failures, locked_until_ms FROM signin_pairs WHERE pair = $1",
            &[&pair.as_slice()],
        )
        .await?
        .map(|row| -> StoreResult<PairState> {
            let failures: i32 = row.try_get(0)?;
            Ok(PairState {
                failures: u32::try_from(failures).unwrap_or(0),
                locked_until_ms: row.try_get(1)?,
            })
        })
        .transpose()?;
    let budget = client
        .query_opt(
            "SELECT tokens, at_ms FROM signin_budgets WHERE source = $1",
            &[&source.as_slice()],
        )
        .await?
        .map(|row| -> StoreResult<BudgetState> {
            Ok(BudgetState {
                tokens: row.try_get(0)?,
                at_ms: row.try_get(1)?,
            })
        })
        .transpose()?;
    Ok(ThrottleRows { pair, budget })
}

async fn write_throttle(
    client: &tokio_postgres::Client,
    pair: &[u8; 32],
    source: &[u8; 32],
    rows: ThrottleRows,
) -> StoreResult<()> {
    match rows.pair {
        Some(p) => {
            let failures = i32::try_from(p.failures).unwrap_or(i32::MAX);
            client
                .execute(
                    "INSERT INTO signin_pairs (pair, failures, locked_until_ms, updated_ms)
                     VALUES ($1, $2, $3, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                     ON CONFLICT (pair) DO UPDATE SET failures = EXCLUDED.failures,
                         locked_until_ms = EXCLUDED.locked_until_ms,
                         updated_ms = EXCLUDED.updated_ms",
                    &[&pair.as_slice(), &failures, &p.locked_until_ms],
                )
                .await?;
        }
        None => {
            client
                .execute(
                    "DELETE FROM signin_pairs WHERE pair = $1",
                    &[&pair.as_slice()],
                )
                .await?;
        }
    }
    match rows.budget {
        Some(b) => {
            client
                .execute(
                    "INSERT INTO signin_budgets (source, tokens, at_ms) VALUES ($1, $2, $3)
                     ON CONFLICT (source) DO UPDATE SET tokens = EXCLUDED.tokens,
                         at_ms = EXCLUDED.at_ms",
                    &[&source.as_slice(), &b.tokens, &b.at_ms],
                )
                .await?;
        }
        None => {
            client
                .execute(
                    "DELETE FROM signin_budgets WHERE source = $1",
                    &[&source.as_slice()],
                )
                .await?;
        }
    }
    Ok(())
}

async fn update_throttle(
    pool: Pool,
    pair: [u8; 32],
    source: [u8; 32],
    update: ThrottleUpdate,
) -> StoreResult<()> {
    let obj = pool.get().await.map_err(pool_err)?;
    let result = async {
        obj.batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({THROTTLE_LOCK});"
        ))
        .await?;
        let rows = read_throttle(&obj, &pair, &source).await?;
        write_throttle(&obj, &pair, &source, update(rows)).await?;
        obj.batch_execute("COMMIT").await?;
        Ok(())
    }
    .await;
    if result.is_err() {
        // Whatever state the session is in, it does not go back to the pool.
        drop(Object::take(obj));
    }
    result
}

#[async_trait::async_trait]
impl Cluster for PgStore {
    fn notify(&self, payload: String) {
        let _ = self.inner.notices.send(payload);
    }

    fn listen(&self) -> mpsc::UnboundedReceiver<Heard> {
        let (out, heard) = mpsc::unbounded_channel();
        self.inner.handle.spawn(listener(
            self.inner.config.clone(),
            self.inner.tls.clone(),
            out,
        ));
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

    async fn update_throttle(
        &self,
        pair: [u8; 32],
        source: [u8; 32],
        update: ThrottleUpdate,
    ) -> StoreResult<()> {
        let pool = self.inner.pool.clone();
        self.inner
            .handle
            .spawn(update_throttle(pool, pair, source, update))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    async fn prune_throttle(
        &self,
        now_ms: i64,
        idle_before_ms: i64,
        full_before_ms: i64,
    ) -> StoreResult<()> {
        let pool = self.inner.pool.clone();
        self.inner
            .handle
            .spawn(async move {
                let obj = pool.get().await.map_err(pool_err)?;
                obj.execute(
                    "DELETE FROM signin_pairs WHERE updated_ms < $1
                     AND (locked_until_ms IS NULL OR locked_until_ms <= $2)",
                    &[&idle_before_ms, &now_ms],
                )
                .await?;
                obj.execute(
                    "DELETE FROM signin_budgets WHERE at_ms < $1",
                    &[&full_before_ms],
                )
                .await?;
                Ok(())
            })
            .await
            .map_err(|_| StoreError::Closed)?
    }
}
