//! [`Cluster`] on PostgreSQL: notices by `LISTEN`/`NOTIFY` on [`CHANNEL`], duties by session
//! advisory locks.
//!
//! * **Notify.** One background task sends the queued notices in order with `pg_notify` on a
//!   pooled connection, each in its own implicit transaction: never inside a write group, so a
//!   notice cannot delay an upload's commit, and it is sent only after the change it describes
//!   committed (the caller queues it after the answer). Without a connection the notices wait;
//!   one that is lost after all is made up for by a [`Heard::Missed`] to every replica.
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

/// What a replica sends once it can again after it had to drop notices: every listener
/// reports it as [`Heard::Missed`]. Not JSON, so no notice can be taken for it.
const MISSED: &str = "missed";

/// Notices waiting for a connection beyond which the oldest are dropped (and reported missed).
const MAX_WAITING: usize = 10_000;

/// Backoff between attempts to get a connection (and between reconnects of the listener).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Sends queued notices in order until the store goes. Without a connection they wait (at
/// most [`MAX_WAITING`]); a notice that could not be sent, or was dropped while waiting, is
/// made up for by [`MISSED`] before the next one sent, so other replicas' streams learn they
/// lagged instead of missing events silently.
pub(super) async fn notifier(pool: Pool, mut queue: mpsc::UnboundedReceiver<String>) {
    let mut waiting = std::collections::VecDeque::new();
    let mut missed = false;
    let mut backoff = FIRST_BACKOFF;
    loop {
        if waiting.is_empty() {
            match queue.recv().await {
                Some(first) => waiting.push_back(first),
                None => return,
            }
        }
        while let Ok(next) = queue.try_recv() {
            waiting.push_back(next);
        }
        let excess = waiting.len().saturating_sub(MAX_WAITING);
        if excess > 0 {
            waiting.drain(..excess);
            missed = true;
            tracing::warn!(
                dropped = excess,
                "live events for other replicas dropped while waiting"
            );
        }
        let obj = match pool.get().await {
            Ok(obj) => obj,
            Err(e) => {
                if queue.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, waiting = waiting.len(), "live events wait for a connection to other replicas");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = FIRST_BACKOFF;
        if missed {
            match obj
                .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &MISSED])
                .await
            {
                Ok(_) => missed = false,
                Err(e) => {
                    tracing::warn!(error = %e, "other replicas could not be told they missed live events");
                    continue;
                }
            }
        }
        while let Some(payload) = waiting.pop_front() {
            if let Err(e) = obj
                .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
                .await
            {
                tracing::warn!(error = %e, "a live event was not sent to other replicas");
                missed = true;
                // The rest go on a connection got again.
                break;
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
                            let heard = if payload == MISSED {
                                Heard::Missed
                            } else {
                                Heard::Notice(payload)
                            };
                            if out.send(heard).is_err() {
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
        backoff = (backoff * 2).min(MAX_BACKOFF);
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
    now_ms: i64,
    rows: ThrottleRows,
) -> StoreResult<()> {
    match rows.pair {
        Some(p) => {
            let failures = i32::try_from(p.failures).unwrap_or(i32::MAX);
            client
                .execute(
                    "INSERT INTO signin_pairs (pair, failures, locked_until_ms, updated_ms)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (pair) DO UPDATE SET failures = EXCLUDED.failures,
                         locked_until_ms = EXCLUDED.locked_until_ms,
                         updated_ms = EXCLUDED.updated_ms",
                    &[&pair.as_slice(), &failures, &p.locked_until_ms, &now_ms],
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
    now_ms: i64,
    update: ThrottleUpdate,
) -> StoreResult<()> {
    let obj = pool.get().await.map_err(pool_err)?;
    let result = async {
        obj.batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({THROTTLE_LOCK});"
        ))
        .await?;
        let rows = read_throttle(&obj, &pair, &source).await?;
        write_throttle(&obj, &pair, &source, now_ms, update(rows)).await?;
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
        now_ms: i64,
        update: ThrottleUpdate,
    ) -> StoreResult<()> {
        let pool = self.inner.pool.clone();
        self.inner
            .handle
            .spawn(update_throttle(pool, pair, source, now_ms, update))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};

    use super::*;
    use crate::store::postgres::PgTls;

    /// Long enough for a loaded machine; what never comes fails the test.
    const WAIT: Duration = Duration::from_secs(30);

    /// A fresh database's connection settings and a pool of `size` on it that waits `wait`
    /// for a connection.
    fn pool(size: usize, wait: Duration) -> (tokio_postgres::Config, Pool) {
        let config: tokio_postgres::Config = shotclock_testpg::database().parse().unwrap();
        let manager = Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(wait))
            .build()
            .unwrap();
        (config, pool)
    }

    /// A listener on `config`'s database, already listening.
    async fn listening(config: tokio_postgres::Config) -> mpsc::UnboundedReceiver<Heard> {
        let (out, mut heard) = mpsc::unbounded_channel();
        tokio::spawn(listener(config, MakeRustls::new(&PgTls::Off).unwrap(), out));
        assert_eq!(next(&mut heard).await, Heard::Listening);
        heard
    }

    async fn next(heard: &mut mpsc::UnboundedReceiver<Heard>) -> Heard {
        tokio::time::timeout(WAIT, heard.recv())
            .await
            .expect("the listener heard nothing")
            .expect("the listener stopped")
    }

    /// Polls the pool's count of tasks waiting for a connection until `done` says so.
    async fn waiters(pool: &Pool, what: &str, done: impl Fn(usize) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(pool.status().waiting) {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// With every pooled connection busy for longer than the pool waits, a notice waits for
    /// one rather than being dropped, and goes out, in order, once one is free.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_notice_waits_for_a_connection_instead_of_being_dropped() {
        let (config, pool) = pool(1, Duration::from_millis(200));
        let mut heard = listening(config).await;
        let busy = pool.get().await.unwrap();
        let (notices, queue) = mpsc::unbounded_channel();
        tokio::spawn(notifier(pool.clone(), queue));
        notices.send("one".to_owned()).unwrap();
        notices.send("two".to_owned()).unwrap();
        // The notifier asks for the connection, and gives up waiting at least once.
        waiters(&pool, "the notifier to wait for a connection", |n| n == 1).await;
        waiters(&pool, "the notifier's wait to time out", |n| n == 0).await;
        drop(busy);
        assert_eq!(next(&mut heard).await, Heard::Notice("one".into()));
        assert_eq!(next(&mut heard).await, Heard::Notice("two".into()));
    }

    /// While no connection is free, at most [`MAX_WAITING`] notices wait: the oldest beyond that
    /// are dropped, and once a connection is free every listener hears that notices were
    /// missed, then the newest ones in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn notices_beyond_the_cap_are_dropped_oldest_first_and_reported_missed() {
        let (config, pool) = pool(1, Duration::from_millis(200));
        let mut heard = listening(config).await;
        let busy = pool.get().await.unwrap();
        let (notices, queue) = mpsc::unbounded_channel();
        let extra = 3;
        for i in 0..MAX_WAITING + extra {
            notices.send(i.to_string()).unwrap();
        }
        tokio::spawn(notifier(pool.clone(), queue));
        waiters(&pool, "the notifier to wait for a connection", |n| n == 1).await;
        drop(busy);
        assert_eq!(next(&mut heard).await, Heard::Missed);
        for i in extra..MAX_WAITING + extra {
            assert_eq!(next(&mut heard).await, Heard::Notice(i.to_string()));
        }
    }

    /// A notice PostgreSQL refuses (longer than its 8000-byte limit) is lost, and every
    /// listener hears that notices were missed before the next one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_notice_is_heard_of_as_missed() {
        let (config, pool) = pool(2, Duration::from_secs(5));
        let mut heard = listening(config).await;
        let (notices, queue) = mpsc::unbounded_channel();
        tokio::spawn(notifier(pool, queue));
        notices.send("before".to_owned()).unwrap();
        notices.send("x".repeat(9_000)).unwrap();
        notices.send("after".to_owned()).unwrap();
        assert_eq!(next(&mut heard).await, Heard::Notice("before".into()));
        assert_eq!(next(&mut heard).await, Heard::Missed);
        assert_eq!(next(&mut heard).await, Heard::Notice("after".into()));
    }
}
