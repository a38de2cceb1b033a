//! The scaled-out PostgreSQL backend: plain storage behind [`Backend`], no product rules.
//!
//! * **Its own runtime.** The backend owns a small tokio runtime that polls its connections
//!   (a `deadpool-postgres` pool). Jobs run on that runtime's blocking threads and drive each
//!   statement with `Handle::block_on`, because the row interfaces are synchronous: a decision
//!   and its writes happen without an `await` in between. Owning the runtime makes the backend
//!   independent of the caller's (a current-thread test runtime, a short-lived CLI command).
//! * **Reads** run in a `REPEATABLE READ READ ONLY` transaction: one snapshot per job. Its
//!   `BEGIN` goes out with the job's first statement (pipelined, no round trip of its own).
//! * **Writes** go to one writer task per process that commits in groups like the SQLite
//!   writer ([`writer`]): every job in its own savepoint, answers only after the commit,
//!   nothing run outside a transaction. The group's first statement after `BEGIN` takes the
//!   transaction-scoped advisory lock [`WRITE_LOCK`], so write groups of *all* replicas on one
//!   database run one after the other: a job's reads see every write committed before it, as
//!   on SQLite, and the intents' read-decide-write steps stay correct with many replicas.
//! * **Migrations** are the plain SQL files in `migrations/postgres/`, applied at start in one
//!   transaction under the advisory lock [`MIGRATE_LOCK`] (replicas starting together wait for
//!   each other), tracked in `schema_migrations`. PostgreSQL older than 14 is refused.
//! * **Deletes** ([`Backend::scrub`], R24): PostgreSQL has no `secure_delete`. A deleted row
//!   stays on disk as a dead tuple until `VACUUM` reclaims it, so scrub runs `VACUUM` on every
//!   table that rows are deleted from (coalesced: one run covers every request made before it
//!   started). `VACUUM` cannot reclaim a tuple that a still-open older snapshot can see, and the
//!   bytes of reclaimed tuples may linger in free page space, in WAL segments until they are
//!   recycled, and in backups and replicas; deployments that need more put the database on
//!   encrypted storage.
//!
//! * **TLS** ([`tls`]): rustls, as the URL's `sslmode` (`require`, `verify-ca`,
//!   `verify-full`) and `sslrootcert` say; without them the connection is not encrypted.
//!
//! Replicas coordinate through [`crate::store::Cluster`] (module `cluster`): live events by
//! `LISTEN`/`NOTIFY`, duties by session advisory locks.
//!
//! Lock ids: [`WRITE_LOCK`], [`MIGRATE_LOCK`], [`MAINTENANCE_LOCK`], [`THROTTLE_LOCK`] (one
//! family).

mod cluster;
mod queries;
mod rows;
pub mod tls;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_postgres::config::SslMode;

use self::queries::Pg;
use self::tls::{MakeRustls, PgTls};
use super::{Backend, ReadJob, StoreError, StoreResult, WriteJob, WriterLoad, WriterReport};

/// The schema, in order. Append only; never edit a shipped migration.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/postgres/0001_init.sql"),
    include_str!("../../../migrations/postgres/0002_signin_throttle.sql"),
    include_str!("../../../migrations/postgres/0003_manual_entries.sql"),
    include_str!("../../../migrations/postgres/0004_invitations.sql"),
    include_str!("../../../migrations/postgres/0005_blocklist_and_access_log.sql"),
    include_str!("../../../migrations/postgres/0006_screenshot_days.sql"),
    include_str!("../../../migrations/postgres/0007_app_presence.sql"),
    include_str!("../../../migrations/postgres/0008_sso.sql"),
];

/// Advisory lock held by each write group's transaction (serialises writers of all replicas).
pub const WRITE_LOCK: i64 = 0x5348_4f54_0001;
/// Advisory lock held while migrating.
pub const MIGRATE_LOCK: i64 = 0x5348_4f54_0002;

/// Advisory lock of the replica running the retention purge and the orphan sweeper.
pub const MAINTENANCE_LOCK: i64 = 0x5348_4f54_0003;

pub use self::cluster::{CHANNEL, LISTENER_NAME};

/// Advisory lock held by each update of the shared sign-in throttle.
pub const THROTTLE_LOCK: i64 = 0x5348_4f54_0004;

/// Oldest PostgreSQL accepted (`server_version_num`).
const MIN_SERVER_VERSION: i32 = 140_000;

/// Tables rows are deleted from; what [`Backend::scrub`] vacuums.
const SCRUBBED: &str = "screenshots, screenshot_hours, entries, sessions, notifications, users, \
                        tombstones, capture_gates, screenshot_days, screenshot_access, \
                        workspace_block_rules, invitations, sso_identities, app_presence, \
                        app_last_seen";

/// How to reach the database.
#[derive(Clone)]
pub struct PgOptions {
    /// Connection settings (host, port, user, password, database, …).
    pub config: tokio_postgres::Config,
    /// Whether and how the connection is encrypted (the URL's `sslmode` and `sslrootcert`).
    pub tls: PgTls,
    /// Most connections this process opens (the writer takes one per group).
    pub pool_size: usize,
    /// How long a job waits for a free connection before failing.
    pub wait_timeout: Duration,
    /// How long a write group waits for the write lock (another replica's group, or a session
    /// stuck holding it) before its jobs fail with [`StoreError::Commit`] and write nothing.
    pub write_lock_timeout: Duration,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // tokio-postgres's Debug redacts the password.
        f.debug_struct("PgOptions")
            .field("config", &self.config)
            .field("tls", &self.tls)
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

impl PgOptions {
    /// Defaults for these connection settings, not encrypted.
    #[must_use]
    pub fn new(config: tokio_postgres::Config) -> Self {
        Self {
            config,
            tls: PgTls::Off,
            pool_size: 8,
            wait_timeout: Duration::from_secs(30),
            write_lock_timeout: Duration::from_secs(10),
        }
    }

    /// Defaults for a `postgres://…` URL (or a libpq `key=value` string), exactly as given.
    pub fn from_url(url: &str) -> StoreResult<Self> {
        let (config, tls) = parse_url(url)?;
        Ok(Self {
            tls,
            ..Self::new(config)
        })
    }

    /// Defaults for a URL whose missing settings come, as with libpq, from `PGHOST`, `PGPORT`,
    /// `PGUSER`, `PGPASSWORD` and `PGDATABASE` (looked up through `env`), so the password can
    /// stay out of the URL.
    pub fn from_url_and_env(url: &str, env: impl Fn(&str) -> Option<String>) -> StoreResult<Self> {
        let (mut config, tls) = parse_url(url)?;
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        if config.get_hosts().is_empty()
            && let Some(hosts) = var("PGHOST")
        {
            for host in hosts.split(',') {
                config.host(host);
            }
        }
        if config.get_ports().is_empty()
            && let Some(ports) = var("PGPORT")
        {
            for port in ports.split(',') {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| StoreError::Open(format!("PGPORT is not a port: {port}")))?;
                config.port(port);
            }
        }
        if config.get_user().is_none()
            && let Some(user) = var("PGUSER")
        {
            config.user(user);
        }
        if config.get_password().is_none()
            && let Some(password) = var("PGPASSWORD")
        {
            config.password(password);
        }
        if config.get_dbname().is_none()
            && let Some(dbname) = var("PGDATABASE")
        {
            config.dbname(dbname);
        }
        Ok(Self {
            tls,
            ..Self::new(config)
        })
    }
}

/// The connection settings and the TLS of a URL (tokio-postgres parses all but `sslmode` and
/// `sslrootcert`, which [`tls::split_url`] takes out).
fn parse_url(url: &str) -> StoreResult<(tokio_postgres::Config, PgTls)> {
    let (rest, tls) = tls::split_url(url)?;
    // The error text never repeats the URL, which may hold a password.
    let config = tokio_postgres::Config::from_str(&rest)
        .map_err(|e| StoreError::Open(format!("invalid PostgreSQL URL: {e}")))?;
    Ok((config, tls))
}

/// Whether a PostgreSQL URL carries a password (it must then not come from a command line,
/// which every local user can read).
#[must_use]
pub fn url_has_password(url: &str) -> bool {
    parse_url(url).is_ok_and(|(c, _)| c.get_password().is_some())
}

/// The backend's own runtime, stopped without blocking when the store goes (it may be dropped
/// inside another runtime).
struct Driver(Option<tokio::runtime::Runtime>);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

struct Inner {
    writer: mpsc::UnboundedSender<WriteJob>,
    load: Arc<WriterLoad>,
    notices: mpsc::UnboundedSender<String>,
    config: tokio_postgres::Config,
    tls: MakeRustls,
    pool: Pool,
    handle: Handle,
    /// Scrub requests made so far, and the count covered by the last finished `VACUUM`.
    scrubs_asked: AtomicU64,
    scrubs_done: AtomicU64,
    scrubbing: tokio::sync::Mutex<()>,
    // Last: the runtime stops after everything that uses it.
    _driver: Driver,
}

/// PostgreSQL-backed [`Backend`]. Cheap to clone (a handle).
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

fn open_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Open(e.to_string())
}

fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// A pooled connection that may be inside a transaction it opened. Dropped while still inside
/// one (a failed `ROLLBACK`, a panicking job), it leaves the pool and closes, so the server
/// rolls the transaction back and no later user inherits it.
struct Conn {
    obj: Option<Object>,
    in_tx: bool,
}

impl Conn {
    fn new(obj: Object) -> Self {
        Self {
            obj: Some(obj),
            in_tx: false,
        }
    }

    fn client(&self) -> Option<&deadpool_postgres::ClientWrapper> {
        self.obj.as_deref()
    }

    fn run(&self, rt: &Handle, sql: &str) -> StoreResult<()> {
        let client = self.client().ok_or(StoreError::Closed)?;
        Ok(rt.block_on(client.batch_execute(sql))?)
    }

    /// Opens a transaction with `sql` (a `BEGIN …`, possibly followed by more statements).
    fn begin(&mut self, rt: &Handle, sql: &str) -> StoreResult<()> {
        self.in_tx = true;
        self.run(rt, sql)
    }

    /// Ends the transaction with `sql` (`COMMIT` or `ROLLBACK`).
    fn end(&mut self, rt: &Handle, sql: &str) -> StoreResult<()> {
        self.run(rt, sql)?;
        self.in_tx = false;
        Ok(())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.in_tx
            && let Some(obj) = self.obj.take()
        {
            drop(Object::take(obj));
        }
    }
}

/// `e` and its causes, `: `-separated (a TLS failure says why: which certificate check failed).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// Refuses a server older than [`MIN_SERVER_VERSION`] (`server_version_num`).
fn check_version(version: i32) -> StoreResult<()> {
    if version < MIN_SERVER_VERSION {
        return Err(open_err(format!(
            "PostgreSQL {}.{} is too old: the service needs PostgreSQL 14 or newer",
            version / 10_000,
            version % 10_000
        )));
    }
    Ok(())
}

/// Checks the server version and applies pending migrations under [`MIGRATE_LOCK`].
async fn prepare(pool: &Pool) -> StoreResult<()> {
    let obj = pool
        .get()
        .await
        .map_err(|e| open_err(format!("connecting: {}", with_causes(&e))))?;
    let version: i32 = obj
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await?
        .try_get(0)?;
    check_version(version)?;
    let result = migrate(&obj).await;
    if result.is_err() {
        // Whatever state the session is in, it does not go back to the pool.
        drop(Object::take(obj));
    }
    result
}

async fn migrate(client: &deadpool_postgres::ClientWrapper) -> StoreResult<()> {
    client
        .batch_execute(&format!(
            "BEGIN;
             SELECT pg_advisory_xact_lock({MIGRATE_LOCK});
             CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    integer PRIMARY KEY,
                 applied_ms bigint NOT NULL
             );"
        ))
        .await?;
    let current: Option<i32> = client
        .query_one("SELECT max(version) FROM schema_migrations", &[])
        .await?
        .try_get(0)?;
    let current = usize::try_from(current.unwrap_or(0)).map_err(open_err)?;
    if current > MIGRATIONS.len() {
        client.batch_execute("ROLLBACK").await?;
        return Err(open_err(format!(
            "database schema version {current} is newer than this service ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        client.batch_execute(sql).await?;
        let version = i32::try_from(i + 1).map_err(open_err)?;
        client
            .execute(
                "INSERT INTO schema_migrations (version, applied_ms)
                 VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
                &[&version],
            )
            .await?;
    }
    client.batch_execute("COMMIT").await?;
    Ok(())
}

impl PgStore {
    /// Connects, refuses a server older than PostgreSQL 14, applies pending migrations and
    /// starts the writer. Blocks the calling thread until the database answered (like opening
    /// a SQLite file); safe to call from inside an async runtime.
    pub fn open(options: &PgOptions) -> StoreResult<Self> {
        let tls = MakeRustls::new(&options.tls)?;
        let mut config = options.config.clone();
        // TLS is what `options.tls` says, never what the server happens to offer.
        config.ssl_mode(if options.tls == PgTls::Off {
            SslMode::Disable
        } else {
            SslMode::Require
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("shotclock-pg")
            .enable_all()
            .build()
            .map_err(open_err)?;
        let driver = Driver(Some(rt));
        let handle = driver
            .0
            .as_ref()
            .map(|rt| rt.handle().clone())
            .ok_or(StoreError::Closed)?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.wait_timeout))
            .build()
            .map_err(open_err)?;

        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let setup = pool.clone();
        handle.spawn(async move {
            let _ = done_tx.send(prepare(&setup).await);
        });
        done_rx.recv().map_err(|_| StoreError::Closed)??;

        let (writer, jobs) = mpsc::unbounded_channel();
        let load = Arc::new(WriterLoad::default());
        handle.spawn(writer::run(
            pool.clone(),
            jobs,
            options.write_lock_timeout,
            Arc::clone(&load),
        ));
        let (notices, queue) = mpsc::unbounded_channel();
        handle.spawn(cluster::notifier(pool.clone(), queue));
        Ok(Self {
            inner: Arc::new(Inner {
                writer,
                load,
                notices,
                config,
                tls,
                pool,
                handle,
                scrubs_asked: AtomicU64::new(0),
                scrubs_done: AtomicU64::new(0),
                scrubbing: tokio::sync::Mutex::new(()),
                _driver: driver,
            }),
        })
    }

    async fn vacuum(&self) -> StoreResult<()> {
        let pool = self.inner.pool.clone();
        self.inner
            .handle
            .spawn(async move {
                let obj = pool.get().await.map_err(pool_err)?;
                obj.batch_execute(&format!("VACUUM {SCRUBBED}")).await?;
                Ok(())
            })
            .await
            .map_err(|_| StoreError::Closed)?
    }
}

fn run_read(rt: &Handle, pool: &Pool, job: ReadJob) -> StoreResult<()> {
    let mut conn = Conn::new(rt.block_on(pool.get()).map_err(pool_err)?);
    // Counted as inside a transaction from here: a job that panics takes the connection out of
    // the pool whether or not its `BEGIN` went out.
    conn.in_tx = true;
    let client = conn.client().ok_or(StoreError::Closed)?;
    let mut rows = Pg::beginning(
        rt,
        client,
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    );
    job(&mut rows);
    if rows.began() {
        conn.end(rt, "ROLLBACK")
    } else {
        conn.in_tx = false;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Backend for PgStore {
    async fn read(&self, job: ReadJob) -> StoreResult<()> {
        let (rt, pool) = (self.inner.handle.clone(), self.inner.pool.clone());
        self.inner
            .handle
            .spawn_blocking(move || run_read(&rt, &pool, job))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    fn write(&self, job: WriteJob) -> StoreResult<()> {
        self.inner.writer.send(job).map_err(|_| StoreError::Closed)
    }

    fn writer_load(&self) -> WriterReport {
        self.inner.load.report()
    }

    async fn scrub(&self) -> StoreResult<()> {
        let ticket = self.inner.scrubs_asked.fetch_add(1, Ordering::SeqCst) + 1;
        let _turn = self.inner.scrubbing.lock().await;
        if self.inner.scrubs_done.load(Ordering::SeqCst) >= ticket {
            // A VACUUM that started after this request finished meanwhile.
            return Ok(());
        }
        let covered = self.inner.scrubs_asked.load(Ordering::SeqCst);
        self.vacuum().await?;
        self.inner.scrubs_done.store(covered, Ordering::SeqCst);
        Ok(())
    }

    fn cluster(&self) -> Option<Arc<dyn crate::store::Cluster>> {
        Some(Arc::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn missing_settings_come_from_the_pg_variables() {
        let vars = [
            ("PGHOST", "db.internal"),
            ("PGPORT", "6432"),
            ("PGUSER", "svc"),
            ("PGPASSWORD", "s3cret"),
            ("PGDATABASE", "shotclock"),
        ];
        let o = PgOptions::from_url_and_env("postgres://", env(&vars)).unwrap();
        assert_eq!(o.config.get_ports(), &[6432]);
        assert_eq!(o.config.get_user(), Some("svc"));
        assert_eq!(o.config.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(o.config.get_dbname(), Some("shotclock"));
        assert_eq!(o.config.get_hosts().len(), 1);
        // The URL wins over the environment.
        let o = PgOptions::from_url_and_env("postgres://me:pw@h:5433/mine", env(&vars)).unwrap();
        assert_eq!(o.config.get_ports(), &[5433]);
        assert_eq!(o.config.get_user(), Some("me"));
        assert_eq!(o.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(o.config.get_dbname(), Some("mine"));
        assert!(PgOptions::from_url_and_env("postgres://", env(&[("PGPORT", "x")])).is_err());
    }

    #[test]
    fn a_url_names_its_tls() {
        let o = PgOptions::from_url("postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem")
            .unwrap();
        assert_eq!(o.tls, PgTls::VerifyFull(tls::Roots::File("/ca.pem".into())));
        assert_eq!(o.config.get_dbname(), Some("db"));
        let o = PgOptions::from_url_and_env("postgres://?sslmode=require", |_| None).unwrap();
        assert_eq!(o.tls, PgTls::Require);
        assert!(url_has_password("postgres://u:pw@h/db?sslmode=verify-full"));
    }

    #[test]
    fn servers_older_than_14_are_refused() {
        let Err(StoreError::Open(m)) = check_version(130_012) else {
            panic!("13.12 is refused");
        };
        assert!(m.contains("13.12") && m.contains("14 or newer"), "{m}");
        assert!(check_version(140_000).is_ok());
        assert!(check_version(150_018).is_ok());
    }

    #[test]
    fn passwords_are_found_and_never_printed() {
        assert!(url_has_password("postgres://u:pw@h/db"));
        assert!(!url_has_password("postgres://u@h/db"));
        let o = PgOptions::from_url("postgres://u:topsecret@h/db").unwrap();
        assert!(!format!("{o:?}").contains("topsecret"));
        let Err(e) = PgOptions::from_url("postgres://u:topsecret@h:notaport/db") else {
            panic!("a bad port is refused");
        };
        assert!(!e.to_string().contains("topsecret"), "{e}");
    }
}
