//! `shotclock-server`: run the workspace service, or administer its data directory.
//!
//! `serve` prints `listening on ADDR` as its first stdout line, so scripts and tests can bind
//! port 0 and read the real port.
//!
//! The database is `--database URL`, else `SHOTCLOCK_DATABASE_URL`, else `shotclock.db` in the
//! data directory: `sqlite://PATH` or `postgres://…`. The images are `--blobs URL`, else
//! `SHOTCLOCK_BLOBS_URL`, else `blobs/` in the data directory: `file://DIR` or
//! `s3://BUCKET?endpoint=…&region=…`. Secrets come from the environment only (the URL in
//! `SHOTCLOCK_DATABASE_URL` or `PGPASSWORD`; `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`),
//! never from the command line, which every local user can read in the process list. For the
//! same reason the administration commands take a new password from standard input (one line;
//! `--owner-password -` / `--password -`, or the flag left out) or from the environment variable
//! named by `--owner-password-env NAME` / `--password-env NAME`, and refuse one on the command
//! line. The administration commands open the database only, never the image storage.

// A command-line tool's output is its interface.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use shotclock_api::{Plan, Role, UserId, WorkspaceId};
use shotclock_server::auth::{check_new_password, hash_password};
use shotclock_server::blobs::BlobsLocation;
use shotclock_server::intents::SettingsPatch;
use shotclock_server::store::postgres::url_has_password;
use shotclock_server::store::{Database, NewUser};
use shotclock_server::{App, Config, serve};

#[derive(Parser)]
#[command(
    name = "shotclock-server",
    version,
    about = "Shotclock workspace service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the rows and the images live.
#[derive(clap::Args)]
struct Storage {
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/NAME (default: the environment
    /// variable SHOTCLOCK_DATABASE_URL, else shotclock.db in the data directory). Missing
    /// PostgreSQL settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE; a password
    /// is refused here: put it in SHOTCLOCK_DATABASE_URL or PGPASSWORD.
    #[arg(long = "database", value_name = "URL")]
    url: Option<String>,
    /// Image storage URL: file://DIR or s3://BUCKET?endpoint=URL&region=NAME (default: the
    /// environment variable SHOTCLOCK_BLOBS_URL, else blobs/ in the data directory). A bucket's
    /// credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN),
    /// never from the URL; a bucket with versioning enabled is refused.
    #[arg(long = "blobs", value_name = "URL")]
    blobs: Option<String>,
}

impl Storage {
    /// The service configuration for `data_dir` with this database and image storage; the
    /// data directory may be left out when both are named, or — for a command that opens no
    /// `images` — when the database is.
    fn config(&self, data_dir: Option<PathBuf>, images: bool) -> anyhow::Result<Config> {
        let url = match &self.url {
            Some(url) => {
                if url_has_password(url) {
                    bail!(
                        "--database carries a password, which any local user can read in the \
                         process list: put the URL in SHOTCLOCK_DATABASE_URL or the password in \
                         PGPASSWORD instead"
                    );
                }
                Some(url.clone())
            }
            None => std::env::var("SHOTCLOCK_DATABASE_URL")
                .ok()
                .filter(|u| !u.is_empty()),
        };
        let blobs = self.blobs.clone().or_else(|| {
            std::env::var("SHOTCLOCK_BLOBS_URL")
                .ok()
                .filter(|u| !u.is_empty())
        });
        let data_dir = match data_dir {
            Some(dir) => dir,
            None if url.is_some() && (blobs.is_some() || !images) => PathBuf::new(),
            None => bail!(
                "--data-dir is needed unless both the database (--database or \
                 SHOTCLOCK_DATABASE_URL) and the image storage (--blobs or SHOTCLOCK_BLOBS_URL) \
                 are named"
            ),
        };
        let mut config = Config::new(data_dir);
        if let Some(url) = url {
            config.database = Some(
                Database::parse(&url, |name| std::env::var(name).ok())
                    .context("choosing the database")?,
            );
        }
        if let Some(url) = blobs {
            config.blobs = Some(
                BlobsLocation::parse(&url, |name| std::env::var(name).ok())
                    .context("choosing the image storage")?,
            );
        }
        Ok(config)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve {
        /// Data directory: the images unless --blobs says otherwise, and the SQLite database
        /// unless --database says otherwise.
        /// Data directory (the SQLite database and the images, unless --database and --blobs
        /// name other places; then it may be left out).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        database: Storage,
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Capture window length in seconds (R9).
        #[arg(long, default_value_t = 300)]
        capture_window_secs: u32,
        /// Let anyone create a workspace through the API.
        #[arg(long)]
        allow_signup: bool,
        /// Seconds between maintenance rounds (retention purge, orphan sweep; also one at
        /// start). With replicas on one database, one replica at a time runs a round.
        #[arg(long, default_value_t = 3600)]
        maintenance_every_secs: u64,
        /// Serve the web app from this folder (the output of `npm --prefix ui run build:web`)
        /// instead of the copy built into this binary.
        #[arg(long, value_name = "DIR")]
        web_dir: Option<PathBuf>,
        /// The origin browsers reach this service at through a reverse proxy that rewrites the
        /// Host header (e.g. https://time.example.com); browser changes from it are accepted.
        /// Else the environment variable SHOTCLOCK_PUBLIC_ORIGIN.
        #[arg(long, value_name = "ORIGIN")]
        public_origin: Option<String>,
        /// Seconds a replica that stopped without a word still counts as alive, so the
        /// recording apps connected to it still show connected (each replica beats every third
        /// of it). Keep the replicas' clocks in sync well within it.
        #[arg(long, default_value_t = 90)]
        presence_ttl_secs: u32,
        /// Let workspaces link an identity provider on a loopback address (over plain HTTP):
        /// for tests and development only. Private and link-local addresses stay refused.
        #[arg(long)]
        allow_loopback_idp: bool,
    },
    /// Create a workspace with its owner; prints the workspace id.
    CreateWorkspace {
        /// Data directory (the SQLite database and the images, unless --database and --blobs
        /// name other places; then it may be left out).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        database: Storage,
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        /// `-` (or leave it out): read the owner's password as one line from standard input.
        /// A password itself is refused here, where any local user could read it.
        #[arg(long, value_name = "-")]
        owner_password: Option<String>,
        /// Take the owner's password from this environment variable instead.
        #[arg(long, value_name = "NAME", conflicts_with = "owner_password")]
        owner_password_env: Option<String>,
        #[arg(long, default_value = "")]
        owner_name: String,
        /// When the workspace's history begins (RFC 3339, not in the future; default: now),
        /// for importing a workspace that existed before.
        #[arg(long)]
        since: Option<DateTime<Utc>>,
    },
    /// Turn "Activate screenshot capturing" on, starting the one-time trial first on a free
    /// plan; every active member is notified (R4–R6).
    EnableScreenshots {
        /// Data directory (the SQLite database and the images, unless --database and --blobs
        /// name other places; then it may be left out).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        database: Storage,
        #[arg(long)]
        workspace: WorkspaceId,
        /// From when (RFC 3339, not in the future; default: now). Uploads are judged by whether
        /// capture was on at their capture moment, so an import of past screenshots needs the
        /// instant capture was really turned on.
        #[arg(long)]
        since: Option<DateTime<Utc>>,
    },
    /// Print the service's OpenAPI 3.1 document (what `/api/v1/openapi.json` serves).
    Openapi,
    /// Set a workspace's plan.
    SetPlan {
        /// Data directory (the SQLite database and the images, unless --database and --blobs
        /// name other places; then it may be left out).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        database: Storage,
        #[arg(long)]
        workspace: WorkspaceId,
        /// `enterprise` or `free`.
        plan: Plan,
    },
    /// Add a member to a workspace; prints the user id.
    AddMember {
        /// Data directory (the SQLite database and the images, unless --database and --blobs
        /// name other places; then it may be left out).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        database: Storage,
        #[arg(long)]
        workspace: WorkspaceId,
        #[arg(long)]
        email: String,
        /// `-` (or leave it out): read the password as one line from standard input. A password
        /// itself is refused here, where any local user could read it.
        #[arg(long, value_name = "-")]
        password: Option<String>,
        /// Take the password from this environment variable instead.
        #[arg(long, value_name = "NAME", conflicts_with = "password")]
        password_env: Option<String>,
        #[arg(long, default_value = "")]
        name: String,
        /// `member` or `admin`.
        #[arg(long, default_value = "member")]
        role: Role,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            data_dir,
            database,
            listen,
            capture_window_secs,
            allow_signup,
            maintenance_every_secs,
            web_dir,
            public_origin,
            presence_ttl_secs,
            allow_loopback_idp,
        } => {
            if capture_window_secs == 0 {
                bail!("--capture-window-secs must be positive");
            }
            if maintenance_every_secs == 0 {
                bail!("--maintenance-every-secs must be positive");
            }
            if presence_ttl_secs < 3 {
                bail!("--presence-ttl-secs must be at least 3");
            }
            let mut config = database.config(data_dir, true)?;
            config.capture_window_secs = capture_window_secs;
            config.allow_signup = allow_signup;
            config.maintenance_every = std::time::Duration::from_secs(maintenance_every_secs);
            config.presence_ttl = chrono::TimeDelta::seconds(i64::from(presence_ttl_secs));
            if let Some(dir) = web_dir {
                if !dir.join("index.html").is_file() {
                    bail!("--web-dir {}: no index.html there", dir.display());
                }
                config.web_files = shotclock_server::web::WebFiles::Dir(dir);
            }
            let public_origin =
                public_origin.or_else(|| std::env::var("SHOTCLOCK_PUBLIC_ORIGIN").ok());
            if let Some(origin) = public_origin {
                config.public_origin = Some(checked_origin(&origin)?);
            }
            config.allow_loopback_idp = allow_loopback_idp;
            // The key that seals the identity providers' client secrets (R31): 64 hex digits,
            // the same on every replica. Without it, single sign-on cannot be set up.
            if let Ok(key) = std::env::var("SHOTCLOCK_SSO_KEY") {
                config.sso_key = Some(
                    shotclock_server::sso::SsoKey::from_hex(&key).context("SHOTCLOCK_SSO_KEY")?,
                );
            }
            fit_descriptors(&mut config);
            let app = App::open(config)
                .await
                .context("opening the data directory and database")?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            println!("listening on {}", listener.local_addr()?);
            serve(listener, app).await?;
        }
        Command::CreateWorkspace {
            data_dir,
            database,
            name,
            owner_email,
            owner_password,
            owner_password_env,
            owner_name,
            since,
        } => {
            let owner_password =
                new_password("--owner-password", owner_password, owner_password_env)?;
            let app = App::open_rows(database.config(data_dir, false)?).await?;
            let at = not_future(&app, since)?;
            let (id, _) = shotclock_server::api::create_workspace(
                &app,
                name,
                &owner_email,
                &owner_name,
                owner_password,
                at,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.to_api_error().message))?;
            println!("{id}");
        }
        Command::EnableScreenshots {
            data_dir,
            database,
            workspace,
            since,
        } => {
            let app = App::open_rows(database.config(data_dir, false)?).await?;
            let at = not_future(&app, since)?;
            let intents = app.intents();
            let ws = intents
                .workspace(workspace)
                .await?
                .context("no such workspace")?;
            if ws.gate().can_start_trial() {
                intents.start_trial(workspace, at).await?;
            }
            let patch = SettingsPatch {
                screenshots_enabled: Some(true),
                ..SettingsPatch::default()
            };
            let change = intents
                .update_settings(workspace, patch, at)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{} screenshots on since {at}, {} members notified",
                change.workspace.id,
                change.notifications.len()
            );
        }
        Command::Openapi => {
            println!("{}", shotclock_server::api::document());
        }
        Command::SetPlan {
            data_dir,
            database,
            workspace,
            plan,
        } => {
            let app = App::open_rows(database.config(data_dir, false)?).await?;
            let ws = app.intents().set_plan(workspace, plan, app.now()).await?;
            println!("{} {}", ws.id, ws.plan);
        }
        Command::AddMember {
            data_dir,
            database,
            workspace,
            email,
            password,
            password_env,
            name,
            role,
        } => {
            if role == Role::Owner {
                bail!("role must be admin or member");
            }
            let password = new_password("--password", password, password_env)?;
            check_new_password(&password, &email)
                .map_err(|e| anyhow::anyhow!(e.to_api_error().message))?;
            let app = App::open_rows(database.config(data_dir, false)?).await?;
            let user = NewUser {
                id: UserId::new(),
                email: email.trim().to_lowercase(),
                name,
                password_hash: hash_password(password)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.to_string()))?,
                role,
            };
            let row = app.intents().add_user(workspace, user, app.now()).await?;
            println!("{}", row.id);
        }
    }
    Ok(())
}

/// A new password for `flag`: from the environment variable `env` when named, else one line
/// of standard input (`flag` absent or `-`). A password given on the command line itself is
/// refused, and never echoed.
fn new_password(flag: &str, given: Option<String>, env: Option<String>) -> anyhow::Result<String> {
    if let Some(name) = env {
        return match std::env::var(&name) {
            Ok(password) if !password.is_empty() => Ok(password),
            _ => bail!("{flag}-env {name}: the environment variable {name} is not set"),
        };
    }
    if given.as_deref().is_some_and(|g| g != "-") {
        bail!(
            "{flag} carries a password, which any local user can read in the process list: \
             give it on standard input ({flag} - or leave the flag out) or name an environment \
             variable with {flag}-env NAME"
        );
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("no password on standard input (one line), nor {flag}-env NAME");
    }
    Ok(password.to_owned())
}

/// The given instant, or now; never one in the future.
fn not_future(app: &App, since: Option<DateTime<Utc>>) -> anyhow::Result<DateTime<Utc>> {
    let now = app.now();
    match since {
        Some(at) if at > now => bail!("--since {at} lies in the future"),
        Some(at) => Ok(at),
        None => Ok(now),
    }
}

/// Raises the soft descriptor limit to the hard one and fits the connection cap into it, so a
/// flood meets the cap, never `EMFILE`.
#[cfg(unix)]
fn fit_descriptors(config: &mut Config) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // An unlimited hard limit still stops at the kernel's nr_open (1,048,576 by default).
    let target = limit.maximum.unwrap_or(1 << 20);
    if limit.current.is_some_and(|soft| soft < target) {
        let raised = Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "could not raise the descriptor limit");
        }
    }
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let wanted = config.max_connections;
    let cap = shotclock_server::net::fit_descriptor_limit(config, soft);
    if cap < wanted {
        tracing::warn!(
            descriptor_limit = soft,
            max_connections = cap,
            "the descriptor limit lowers the connection cap"
        );
    }
}

#[cfg(not(unix))]
fn fit_descriptors(_config: &mut Config) {}

/// An origin as browsers send it: `http(s)://host[:port]`, no path.
fn checked_origin(origin: &str) -> anyhow::Result<String> {
    let o = origin.trim().trim_end_matches('/');
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
        .unwrap_or_default();
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        bail!("--public-origin {origin:?}: expected http(s)://host[:port], without a path");
    }
    Ok(o.to_ascii_lowercase())
}
