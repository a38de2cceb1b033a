//! `shotclock-agent`: the engine without a window, for Linux users without a desktop session
//! and for tests that run it as a process.
//!
//! ```text
//! shotclock-agent --server URL --data-dir DIR [--token-file FILE] [--sso EMAIL]
//! ```
//! Resumes the session in FILE (default DIR/session-token) the same way the desktop app does
//! (`Session::resume_or_wait`): with the service unreachable and the account known from an
//! earlier run (FILE.account), it starts offline and keeps capturing; a token the service
//! refuses is replaced by signing in with `SHOTCLOCK_EMAIL` and `SHOTCLOCK_PASSWORD`, or, with
//! `--sso EMAIL`, through the workspace's identity provider (R31): the agent prints
//! "Open this URL to sign in: …" on stdout and waits (five minutes at most) for the browser to
//! come back to its loopback listener (`shotclock_agent::SsoSignIn`). The token and the
//! account are saved user-only (0600 on Unix). Runs until SIGTERM (Unix) or Ctrl-C.
//!
//! The screen source follows the session (`shotclock_capture::choice`): X11, or on Wayland the
//! ScreenCast portal, whose restore token is kept user-only in FILE.screencast.

use anyhow::{Context, Result, bail};
use shotclock_agent::{Agent, AgentConfig, Resumed, Session, SsoSignIn, SystemClock};
use shotclock_api::dto::Me;
use shotclock_capture::SystemSource;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Args {
    server: String,
    data_dir: PathBuf,
    token_file: Option<PathBuf>,
    sso: Option<String>,
}

fn parse_args() -> Result<Args> {
    let mut server = None;
    let mut data_dir = None;
    let mut token_file = None;
    let mut sso = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--server" => server = Some(value()?),
            "--data-dir" => data_dir = Some(PathBuf::from(value()?)),
            "--token-file" => token_file = Some(PathBuf::from(value()?)),
            "--sso" => sso = Some(value()?),
            "-h" | "--help" => {
                bail!(
                    "usage: shotclock-agent --server URL --data-dir DIR [--token-file FILE] \
                     [--sso EMAIL]"
                )
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(Args {
        server: server.context("--server URL is required")?,
        data_dir: data_dir.context("--data-dir DIR is required")?,
        token_file,
        sso,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args()?;
    let token_file = args
        .token_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join("session-token"));
    let session = sign_in(&args.server, &token_file, args.sso.as_deref()).await?;
    let config = AgentConfig {
        data_dir: args.data_dir,
        clock: Arc::new(SystemClock),
    };
    let agent = Agent::start(config, session, screen_source(&token_file)).await?;
    tracing::info!("agent running");

    stopped().await?;
    agent.shutdown().await;
    Ok(())
}

/// Waits for SIGTERM or Ctrl-C.
#[cfg(unix)]
async fn stopped() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        r = tokio::signal::ctrl_c() => r?,
    }
    Ok(())
}

/// Waits for Ctrl-C (or the console closing).
#[cfg(not(unix))]
async fn stopped() -> Result<()> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}

async fn sign_in(server: &str, token_file: &Path, sso: Option<&str>) -> Result<Session> {
    let account_file = token_file.with_extension("account");
    if let Ok(token) = std::fs::read_to_string(token_file) {
        let known: Option<Me> = std::fs::read(&account_file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let waiting = |err: &shotclock_agent::AgentError| {
            tracing::info!("waiting for the service: {err}");
            std::future::ready(true)
        };
        match Session::resume_or_wait(server, token.trim(), known, waiting).await {
            Ok(Resumed::Online(session)) => {
                write_private(&account_file, &serde_json::to_vec(&session.me)?)?;
                return Ok(session);
            }
            Ok(Resumed::Offline(session)) => return Ok(session),
            Ok(Resumed::GaveUp) => bail!("stopped waiting for the service"),
            Err(err) => tracing::info!("stored session not usable ({err}); signing in again"),
        }
    }
    let session = match sso {
        Some(email) => sign_in_with_sso(server, email).await?,
        None => {
            let email = std::env::var("SHOTCLOCK_EMAIL")
                .context("no valid token: set SHOTCLOCK_EMAIL (or sign in with --sso EMAIL)")?;
            let password = std::env::var("SHOTCLOCK_PASSWORD")
                .context("no valid token: set SHOTCLOCK_PASSWORD")?;
            Session::sign_in(server, &email, &password).await?
        }
    };
    write_private(token_file, session.token.as_bytes())?;
    write_private(&account_file, &serde_json::to_vec(&session.me)?)?;
    Ok(session)
}

/// Single sign-on in a browser the person opens themselves (there may be no desktop here):
/// the URL goes to stdout, the wait is the engine's.
async fn sign_in_with_sso(server: &str, email: &str) -> Result<Session> {
    let sso = SsoSignIn::begin(server, email).await?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "Open this URL to sign in: {}", sso.url())?;
        out.flush()?;
    }
    let session = sso.finish(shotclock_agent::sso::SIGN_IN_DEADLINE).await?;
    tracing::info!("signed in through single sign-on");
    Ok(session)
}

/// The screen source this session gets (X11, or the Wayland ScreenCast portal). The portal's
/// restore token lives beside the session token (FILE.screencast, user-only) and is replaced by
/// each new grant's token (they are single-use).
fn screen_source(token_file: &Path) -> SystemSource {
    let restore_file = token_file.with_extension("screencast");
    let restore = std::fs::read_to_string(&restore_file)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let sink = Arc::new(move |token: Option<&str>| {
        let kept = match token {
            Some(token) => write_private(&restore_file, token.as_bytes()),
            None => std::fs::remove_file(&restore_file).or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e.into())
                }
            }),
        };
        if let Err(err) = kept {
            tracing::warn!("could not keep the screen sharing grant: {err}");
        }
    });
    let source = SystemSource::from_env(restore, sink);
    tracing::info!(source = ?shotclock_capture::ScreenSource::choice(&source), "screen source");
    source
}

/// Writes a file only the user can read (0600 on Unix), atomically, creating its folder (0700).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        shotclock_privatefs::create_dir_all(dir)?;
    }
    Ok(shotclock_privatefs::write(path, bytes)?)
}
