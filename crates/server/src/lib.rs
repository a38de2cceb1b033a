//! The Shotclock workspace service.
//!
//! A multi-tenant HTTP API (axum) for the desktop app: accounts and sessions, workspace settings
//! (R4–R6), timers and entries (R13–R15), screenshots with visibility, retention and the delete
//! policy (R16–R24), idempotent sync (R25–R26) and a live event stream.
//!
//! Layout:
//! * [`intents`] — the one backend-neutral layer: every intent is one transaction in which the
//!   product rules of `shotclock_domain` decide.
//! * [`store`] — the narrow storage interface ([`store::Backend`], rows only), its embedded
//!   SQLite backend (a group-committing writer actor plus reader connections) and its
//!   PostgreSQL backend for several replicas on one database, chosen by [`Config::database`].
//! * [`blobs`] — the [`blobs::Blobs`] trait (image files), its local-disk backend and its
//!   S3-compatible backend for several replicas, chosen by [`Config::blobs`].
//! * [`api`] — HTTP handlers, extractors, the OpenAPI document.
//! * [`auth`] — passwords, tokens, throttling, the `Auth` extractor.
//! * [`events`] — per-user live events (SSE), capped per user and in total; with several
//!   replicas, `relay` carries them between replicas through the backend's
//!   [`store::Cluster`] (PostgreSQL `LISTEN`/`NOTIFY`).
//! * `net` — the accept loop: connection cap, header-read and idle timeouts, per-request body
//!   and time limits.
//! * [`maintenance`] — retention purge and the orphan-file sweeper.
//! * [`web`] — the web app's files at `/` (the UI's web build), with its page-protection
//!   headers.
//! * [`webp`] — structural validation of uploaded images.
//!
//! Invariants: product rules come from `shotclock_domain` (the desktop app runs the same code);
//! a write is acknowledged only after its transaction committed and its image bytes are durable
//! (fsynced, or stored by the bucket); the library never panics, prints or exits — failures are
//! [`error::Error`], mapped to HTTP in one place.
//!
//! Entry points: [`App::open`] builds the state from a [`Config`], [`router`] gives the axum
//! `Router`, [`serve`] runs it on a listener together with the background maintenance.

pub mod api;
pub mod auth;
pub mod blobs;
/// The injected source of "now" (one definition for the engine and the service).
pub use shotclock_domain::clock;
pub mod error;
pub mod events;
pub mod intents;
pub mod maintenance;
pub mod metrics;
pub mod net;
pub mod presence;
mod relay;
pub mod sso;
pub mod store;
pub mod web;
pub mod webp;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use crate::auth::{Hasher, LoginLimiter};
use crate::blobs::{Blobs, BlobsLocation};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::events::Hub;
use crate::events::{Ended, Notice};
use crate::intents::Intents;
use crate::store::{Backend, Cluster, Database};

pub use crate::api::router;

/// Service configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the image files live unless `blobs` says otherwise, and the SQLite database unless
    /// `database` says otherwise.
    pub data_dir: PathBuf,
    /// Where the rows live; `None` is `shotclock.db` in `data_dir`.
    pub database: Option<Database>,
    /// Where the image bytes live; `None` is `blobs/` in `data_dir`.
    pub blobs: Option<BlobsLocation>,
    /// Capture window length (R9), published read-only in the workspace settings.
    pub capture_window_secs: u32,
    /// Whether anyone may create a workspace through the API (default off).
    pub allow_signup: bool,
    /// Session lifetime.
    pub session_ttl: TimeDelta,
    /// Largest accepted screenshot upload, in bytes.
    pub max_upload_bytes: usize,
    /// Largest accepted JSON body, in bytes.
    pub max_json_bytes: usize,
    /// How often retention and the sweeper run (also once at start).
    pub maintenance_every: Duration,
    /// Most connections served at once (see `net`: when full, the oldest connection without a
    /// request yet makes room, or the newcomer is closed at once). Keep it well below the
    /// process's descriptor limit.
    pub max_connections: usize,
    /// Time from accepting a connection, or from the end of a response on a kept-alive one, to
    /// a complete request head; then the connection is closed.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moved for this long is shut down gracefully.
    pub idle_timeout: Duration,
    /// Time a handler may take to produce its response head, reading the body included.
    pub request_timeout: Duration,
    /// Open event streams per user.
    pub max_event_streams_per_user: usize,
    /// Open event streams in all.
    pub max_event_streams: usize,
    /// Threads that hash passwords (about one per core).
    pub hash_workers: usize,
    /// Password hashes that may wait for a thread; beyond, sign-ins get 429 with `Retry-After`.
    pub hash_queue: usize,
    /// Take the sign-in throttle's source address from the last `X-Forwarded-For` entry. Only
    /// for a service reachable solely through a reverse proxy that appends the peer address:
    /// otherwise any client could pick its own source. Off by default.
    pub trust_forwarded_for: bool,
    /// Where the web app's files come from (embedded in the binary unless a folder is named).
    pub web_files: crate::web::WebFiles,
    /// Lifetime of a browser session; each use in its second half renews it for this long
    /// (sliding), so an open tab stays signed in and an abandoned one expires.
    pub web_session_ttl: TimeDelta,
    /// How long an invitation link works (R38).
    pub invitation_ttl: TimeDelta,
    /// The origin browsers see this service at (`https://time.example.com`) when a reverse
    /// proxy in front of it changes the `Host` it receives: a browser change from this origin
    /// passes the cross-site check too. `None`: only the request's own `Host` counts.
    pub public_origin: Option<String>,
    /// How long a replica that stopped its heartbeat still counts as alive: the recording apps
    /// connected to it are shown connected for at most this long after it died (R38). Each
    /// replica beats every third of it.
    pub presence_ttl: TimeDelta,
    /// Seals the identity providers' client secrets (R31); `None`: single sign-on cannot be
    /// set up (`SHOTCLOCK_SSO_KEY`).
    pub sso_key: Option<crate::sso::SsoKey>,
    /// Identity providers may be on a loopback address (tests and development only).
    pub allow_loopback_idp: bool,
}

impl Config {
    /// Defaults with the data in `data_dir`.
    #[must_use]
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database: None,
            blobs: None,
            capture_window_secs: shotclock_domain::schedule::DEFAULT_WINDOW_SECS,
            allow_signup: false,
            session_ttl: TimeDelta::days(30),
            max_upload_bytes: 2 * 1024 * 1024,
            max_json_bytes: 64 * 1024,
            maintenance_every: Duration::from_secs(3600),
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_event_streams_per_user: 8,
            max_event_streams: 256,
            hash_workers: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            hash_queue: 8,
            trust_forwarded_for: false,
            web_files: crate::web::WebFiles::Embedded,
            web_session_ttl: TimeDelta::hours(12),
            invitation_ttl: shotclock_domain::members::INVITATION_LIFETIME,
            public_origin: None,
            presence_ttl: TimeDelta::seconds(90),
            sso_key: None,
            allow_loopback_idp: false,
        }
    }
}

struct Inner {
    config: Config,
    intents: Intents,
    blobs: Arc<dyn Blobs>,
    clock: Arc<dyn Clock>,
    hub: Hub,
    /// The members' recording apps (R38): the streams this replica holds, the shared rows.
    presence: presence::Presence,
    /// Shared with the other replicas on the same database, if any.
    cluster: Option<Arc<dyn Cluster>>,
    /// This process among the replicas (its own notices come back to it and are skipped).
    origin: uuid::Uuid,
    limiter: LoginLimiter,
    hasher: Hasher,
    metrics: crate::metrics::Metrics,
    /// The identity providers' metadata (R31).
    sso: sso::Providers,
}

/// The service's shared state: a cheap, cloneable handle.
#[derive(Clone)]
pub struct App(Arc<Inner>);

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.0.config)
            .finish()
    }
}

impl App {
    /// Opens the blob storage (`config.blobs`, else `blobs/` under `config.data_dir`; a bucket
    /// is checked first, see [`blobs::S3Blobs::open`]) and the database (`config.database`,
    /// else SQLite under `config.data_dir`), with the system clock.
    pub async fn open(config: Config) -> Result<Self, Error> {
        let location = config
            .blobs
            .clone()
            .unwrap_or_else(|| BlobsLocation::Local(config.data_dir.join("blobs")));
        let blobs = location.open().await?;
        let database = config
            .database
            .clone()
            .unwrap_or_else(|| Database::Sqlite(config.data_dir.join("shotclock.db")));
        let backend = database.open()?;
        Ok(Self::from_parts(
            config,
            backend,
            blobs,
            Arc::new(SystemClock),
        ))
    }

    /// Opens the database only (as [`App::open`] does), for administration commands that never
    /// touch images: the image storage is not opened ([`blobs::Unopened`]).
    pub async fn open_rows(config: Config) -> Result<Self, Error> {
        let database = config
            .database
            .clone()
            .unwrap_or_else(|| Database::Sqlite(config.data_dir.join("shotclock.db")));
        let backend = database.open()?;
        Ok(Self::from_parts(
            config,
            backend,
            Arc::new(blobs::Unopened),
            Arc::new(SystemClock),
        ))
    }

    /// Builds the state from explicit parts (tests inject clocks and backends).
    #[must_use]
    pub fn from_parts(
        config: Config,
        backend: Arc<dyn Backend>,
        blobs: Arc<dyn Blobs>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let hasher = Hasher::new(config.hash_workers, config.hash_queue);
        let cluster = backend.cluster();
        let origin = uuid::Uuid::now_v7();
        let intents = Intents::new(backend);
        let presence = presence::Presence::new(
            intents.clone(),
            Arc::clone(&clock),
            origin,
            config.presence_ttl,
            cluster.is_none(),
        );
        let config_allows_loopback = config.allow_loopback_idp;
        Self(Arc::new(Inner {
            hasher,
            limiter: LoginLimiter::new(cluster.clone(), Arc::clone(&clock)),
            cluster,
            origin,
            config,
            intents,
            blobs,
            presence,
            clock,
            hub: Hub::default(),
            metrics: crate::metrics::Metrics::default(),
            sso: sso::Providers::new(sso::AddressPolicy {
                allow_loopback: config_allows_loopback,
            }),
        }))
    }

    /// Configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// Row storage.
    #[must_use]
    pub fn intents(&self) -> &Intents {
        &self.0.intents
    }

    /// Image storage.
    #[must_use]
    pub fn blobs(&self) -> &Arc<dyn Blobs> {
        &self.0.blobs
    }

    /// Live events.
    #[must_use]
    pub fn hub(&self) -> &Hub {
        &self.0.hub
    }

    /// The members' recording apps (R38).
    #[must_use]
    pub fn presence(&self) -> &presence::Presence {
        &self.0.presence
    }

    /// Publishes `event` to every open stream of `user`: on this replica at once, and on the
    /// other replicas on the same database through the cluster's notices. Call it after the
    /// change committed.
    pub fn publish(&self, user: shotclock_api::UserId, event: shotclock_api::dto::Event) {
        if let Some(cluster) = &self.0.cluster
            && let Some(payload) = relay::envelope(self, Notice::of_event(user, &event))
        {
            cluster.notify(payload);
        }
        self.0.hub.publish(user, event);
    }

    /// Closes the open streams of an ended session (or of all a user's sessions), on every
    /// replica.
    pub fn end(&self, ended: Ended) {
        if let Some(cluster) = &self.0.cluster
            && let Some(notice) = Notice::of_ending(ended)
            && let Some(payload) = relay::envelope(self, notice)
        {
            cluster.notify(payload);
        }
        self.0.hub.end(ended);
    }

    /// This process's id among the replicas.
    #[must_use]
    pub fn origin(&self) -> uuid::Uuid {
        self.0.origin
    }

    /// The replicas' shared coordination, if the backend has one.
    #[must_use]
    pub fn cluster(&self) -> Option<&Arc<dyn Cluster>> {
        self.0.cluster.as_ref()
    }

    /// Sign-in throttle.
    #[must_use]
    pub fn limiter(&self) -> &LoginLimiter {
        &self.0.limiter
    }

    /// The password-hashing pool.
    #[must_use]
    pub fn hasher(&self) -> &Hasher {
        &self.0.hasher
    }

    /// The identity providers of single sign-on (R31).
    #[must_use]
    pub fn sso(&self) -> &sso::Providers {
        &self.0.sso
    }

    /// Request counters (`GET /metrics`).
    #[must_use]
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.0.metrics
    }

    /// What `GET /metrics` answers: the request and maintenance counters with the store
    /// writer's load.
    #[must_use]
    pub fn metrics_text(&self) -> String {
        self.metrics().render(&self.intents().writer_load())
    }

    /// Now, per the injected clock, to the millisecond.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        // To the millisecond, as every backend keeps instants: an answer shows the instant
        // the service stored, and a later read equals it.
        self.0.clock.now().trunc_subsecs(3)
    }
}

/// Serves the API on `listener` until the process ends, with this replica's presence heartbeat
/// (see [`presence`]; one before the first connection), running maintenance (retention purge,
/// orphan sweep) once at start and then every `config.maintenance_every` (with replicas on one
/// database, only one at a time: see [`maintenance::scheduled`]). Connections are
/// bounded as the `net` module describes (cap, timeouts, per-request limits).
///
/// With replicas on one database, the live-event listener is started first and listening
/// before the first connection is accepted, so no stream opened here misses a relayed event.
pub async fn serve(listener: tokio::net::TcpListener, app: App) -> std::io::Result<()> {
    if let Some(cluster) = app.cluster() {
        let (ready, listening) = tokio::sync::oneshot::channel();
        tokio::spawn(relay::run(app.clone(), cluster.listen(), ready));
        if tokio::time::timeout(Duration::from_secs(30), listening)
            .await
            .is_err()
        {
            tracing::warn!("the live-event listener is not listening yet; serving anyway");
        }
    }
    // Presence (R38): alive before the first app connects here (alone on its database, that
    // beat also clears an earlier run's rows and is the only one), then, beside other replicas,
    // a heartbeat that also clears the rows of replicas that died.
    if let Err(e) = app.presence().beat().await {
        tracing::warn!(error = %e, "presence: the first heartbeat failed");
    }
    if app.presence().shared() {
        let beating = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(beating.presence().beat_every());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = beating.presence().beat().await {
                    tracing::warn!(error = %e, "presence: a heartbeat failed");
                }
            }
        });
    }
    let every = app.config().maintenance_every;
    let background = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = maintenance::scheduled(&background, maintenance::SWEEP_GRACE).await {
                tracing::warn!(error = %e, "maintenance failed");
            }
        }
    });
    let routes = net::with_limits(router(app.clone()), app.config());
    net::serve_connections(listener, &app, routes).await
}

/// A new workspace and its owner on `app`'s rows, for the library's unit tests (no password:
/// they never sign in).
#[cfg(test)]
pub(crate) async fn test_owner(app: &App) -> (shotclock_api::WorkspaceId, store::UserRow) {
    let owner = store::NewUser {
        id: shotclock_api::UserId::new(),
        email: "owner@example.com".into(),
        name: "Owner".into(),
        password_hash: "not used here".into(),
        role: shotclock_api::Role::Owner,
    };
    let id = shotclock_api::WorkspaceId::new();
    match app
        .intents()
        .create_workspace(id, "Test".into(), owner, app.now())
        .await
    {
        Ok((_, user)) => (id, user),
        Err(e) => panic!("could not create the test workspace: {e}"),
    }
}
