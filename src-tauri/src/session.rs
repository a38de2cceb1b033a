//! The session's life in the shell: signed out → signed in (the engine runs) → signed out, with
//! "connecting" in between when a stored session waits for the service.
//!
//! [`AppState`] is built once and managed by Tauri; it holds the one engine handle. Every change
//! of state is announced to the webview as the `session` event, and the engine's own events are
//! forwarded as `agent` events (plus the tray and OS notifications, see [`forward`]).
//!
//! Start-up: a stored session (keyring or user-only file, [`Vault`]) is resumed, retrying with
//! backoff while the service is unreachable; without one, `SHOTCLOCK_SERVER_URL`,
//! `SHOTCLOCK_EMAIL` and `SHOTCLOCK_PASSWORD` (set by `cargo xtask run` for the demo) sign in.

use crate::error::{CommandError, ErrorKind};
use crate::vault::{LastAccount, TokenStorage, Vault};
use crate::{notify, tray};
pub use shotclock_agent::SessionView;
use shotclock_agent::{
    Agent, AgentConfig, AgentError, AgentEvent, AgentHandle, Resumed, Session, SystemClock,
};
use shotclock_api::dto::{Member, WorkspaceSettings};
use shotclock_capture::{SystemSource, TokenSink};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::RwLock;

enum Slot {
    /// Until start-up has looked for a stored session (shown as "connecting").
    Starting,
    SignedOut,
    Connecting {
        server_url: String,
        error: String,
    },
    SignedIn(Box<Live>),
}

struct Live {
    agent: AgentHandle,
    account: LastAccount,
    user: Member,
    workspace: WorkspaceSettings,
    token_storage: TokenStorage,
}

/// The shell's state: the data folder, the token vault and the session.
pub struct AppState {
    data_dir: PathBuf,
    vault: Vault,
    slot: RwLock<Slot>,
}

impl AppState {
    pub fn new(data_dir: PathBuf) -> Self {
        AppState {
            vault: Vault::new(&data_dir),
            data_dir,
            slot: RwLock::new(Slot::Starting),
        }
    }

    /// The running engine, or `signed_out`.
    pub async fn agent(&self) -> Result<AgentHandle, CommandError> {
        match &*self.slot.read().await {
            Slot::SignedIn(live) => Ok(live.agent.clone()),
            _ => Err(CommandError::signed_out()),
        }
    }

    /// The session as the UI shows it.
    pub async fn view(&self) -> SessionView {
        match &*self.slot.read().await {
            Slot::SignedOut => {
                let last = self.vault.last_account();
                SessionView::SignedOut {
                    last_server_url: last.as_ref().map(|a| a.server_url.clone()),
                    last_email: last.map(|a| a.email),
                }
            }
            Slot::Starting => SessionView::Connecting {
                server_url: self
                    .vault
                    .last_account()
                    .map(|a| a.server_url)
                    .or_else(|| std::env::var("SHOTCLOCK_SERVER_URL").ok())
                    .unwrap_or_default(),
                error: String::new(),
            },
            Slot::Connecting { server_url, error } => SessionView::Connecting {
                server_url: server_url.clone(),
                error: error.clone(),
            },
            Slot::SignedIn(live) => SessionView::SignedIn {
                server_url: live.account.server_url.clone(),
                user: live.user.clone(),
                workspace: live.workspace.clone(),
                token_storage: live.token_storage,
            },
        }
    }

    async fn set(&self, app: &AppHandle, slot: Slot) {
        *self.slot.write().await = slot;
        announce(app, self.view().await);
    }
}

fn announce(app: &AppHandle, view: SessionView) {
    if let Err(err) = app.emit("session", view) {
        tracing::warn!("could not tell the window about the session: {err}");
    }
}

fn state(app: &AppHandle) -> tauri::State<'_, AppState> {
    app.state::<AppState>()
}

/// Signs in with email and password (R2) and starts the engine.
pub async fn sign_in(
    app: &AppHandle,
    server_url: &str,
    email: &str,
    password: &str,
) -> Result<SessionView, CommandError> {
    let email = email.trim();
    if email.is_empty() || password.is_empty() {
        return Err(CommandError::invalid("Enter your email and password."));
    }
    let session = Session::sign_in(server_url.trim(), email, password)
        .await
        .map_err(CommandError::from_sign_in)?;
    adopt(app, session).await
}

/// Keeps a new session's token in the vault and starts the engine: the one way every sign-in
/// (password, single sign-on) ends.
pub async fn adopt(app: &AppHandle, session: Session) -> Result<SessionView, CommandError> {
    let account = LastAccount {
        server_url: session.server_url.clone(),
        email: session.me.user.email.clone(),
        me: Some(session.me.clone()),
    };
    let vault = state(app).vault.clone();
    let storage = vault.save(&account, &session.token).await.map_err(|e| {
        CommandError::new(
            ErrorKind::Storage,
            format!("could not keep the session: {e}"),
        )
    })?;
    start_engine(app, session, account, storage).await
}

/// Signs out: ends the session on the service and here; queued items wait for the next sign-in.
pub async fn sign_out(app: &AppHandle) -> Result<SessionView, CommandError> {
    let st = state(app);
    let previous = std::mem::replace(&mut *st.slot.write().await, Slot::SignedOut);
    let forget = match previous {
        Slot::SignedIn(live) => {
            if let Err(err) = live.agent.sign_out().await {
                tracing::info!("the service did not confirm the sign-out: {err}");
            }
            Some(live.account)
        }
        // Still waiting for the service: the stored token goes all the same.
        Slot::Connecting { .. } | Slot::Starting => st.vault.last_account(),
        Slot::SignedOut => None,
    };
    if let Some(account) = forget
        && let Err(err) = st.vault.forget(&account).await
    {
        tracing::warn!("could not forget the session token: {err}");
    }
    tray::show_session(app, false);
    let view = st.view().await;
    announce(app, view.clone());
    Ok(view)
}

async fn start_engine(
    app: &AppHandle,
    session: Session,
    account: LastAccount,
    token_storage: TokenStorage,
) -> Result<SessionView, CommandError> {
    let st = state(app);
    // One engine at a time: a previous one (another account) stops first. Any other state stays
    // as it is until the new engine runs, so the UI never reads a "signed out" in between.
    let previous = {
        let mut slot = st.slot.write().await;
        if matches!(*slot, Slot::SignedIn(_)) {
            Some(std::mem::replace(&mut *slot, Slot::Starting))
        } else {
            None
        }
    };
    if let Some(Slot::SignedIn(old)) = previous {
        old.agent.shutdown().await;
    }
    let config = AgentConfig {
        data_dir: st.data_dir.clone(),
        clock: Arc::new(SystemClock),
    };
    let user = session.me.user.clone();
    let workspace = session.me.workspace.clone();
    let source = screen_source(&st.vault, &account).await;
    let agent = Agent::start(config, session, source).await?;
    tauri::async_runtime::spawn(forward(app.clone(), agent.clone()));
    tray::show_session(app, true);
    tray::show_timer(app, agent.running().is_some());
    st.set(
        app,
        Slot::SignedIn(Box::new(Live {
            agent,
            account,
            user,
            workspace,
            token_storage,
        })),
    )
    .await;
    Ok(st.view().await)
}

/// The screen source this desktop session gets (X11, or the Wayland ScreenCast portal). The
/// portal's restore token is read from the vault, each grant's token replaces it there, and a
/// revoked grant's is forgotten.
async fn screen_source(vault: &Vault, account: &LastAccount) -> SystemSource {
    let restore = vault.load_screencast(account).await;
    let runtime = tokio::runtime::Handle::try_current().ok();
    let (vault, account) = (vault.clone(), account.clone());
    // Called on the capture thread: the keyring write runs on the runtime, with its deadline.
    let sink: TokenSink = Arc::new(move |token: Option<&str>| {
        let Some(runtime) = &runtime else {
            tracing::warn!("could not keep the screen sharing grant: no runtime");
            return;
        };
        let (vault, account) = (vault.clone(), account.clone());
        let token = token.map(str::to_owned);
        runtime.spawn(async move {
            let kept = match token {
                Some(token) => vault.save_screencast(&account, &token).await.map(|_| ()),
                None => vault.forget_screencast(&account).await,
            };
            if let Err(err) = kept {
                tracing::warn!("could not keep the screen sharing grant: {err}");
            }
        });
    });
    let source = SystemSource::from_env(restore, sink);
    tracing::info!(source = ?shotclock_capture::ScreenSource::choice(&source), "screen source");
    source
}

/// Resumes the stored session at start-up, or signs in from the environment (the demo).
pub async fn bootstrap(app: AppHandle) {
    let st = state(&app);
    if let Some(account) = st.vault.last_account()
        && let Some((token, storage)) = st.vault.load(&account).await
    {
        resume(&app, account, token, storage).await;
        return;
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(url), Some(email), Some(password)) = (
        env("SHOTCLOCK_SERVER_URL"),
        env("SHOTCLOCK_EMAIL"),
        env("SHOTCLOCK_PASSWORD"),
    ) {
        if let Err(err) = sign_in(&app, &url, &email, &password).await {
            tracing::warn!("automatic sign-in failed: {}", err.message);
            st.set(&app, Slot::SignedOut).await;
        }
        return;
    }
    st.set(&app, Slot::SignedOut).await;
}

/// Resumes a stored session (the engine's session life, shared with the headless agent):
/// says "connecting" while the service is unreachable and no account is known, starts offline
/// with a known one, forgets a token the service refuses.
async fn resume(app: &AppHandle, account: LastAccount, token: String, storage: TokenStorage) {
    let st = state(app);
    let server_url = account.server_url.clone();
    let waiting = |err: &AgentError| {
        // An unreachable service's message, as the sign-in form shows it.
        let error = err.to_string();
        let (app, server_url) = (app.clone(), server_url.clone());
        async move {
            let st = state(&app);
            // The user may have signed in (or out) meanwhile.
            if !matches!(
                *st.slot.read().await,
                Slot::Starting | Slot::Connecting { .. }
            ) {
                return false;
            }
            st.set(&app, Slot::Connecting { server_url, error }).await;
            true
        }
    };
    let resumed =
        Session::resume_or_wait(&account.server_url, &token, account.me.clone(), waiting).await;
    let session = match resumed {
        Ok(Resumed::Online(session)) => {
            let account = LastAccount {
                me: Some(session.me.clone()),
                ..account.clone()
            };
            if let Err(err) = st.vault.remember(&account) {
                tracing::warn!("could not record the account: {err}");
            }
            session
        }
        Ok(Resumed::Offline(session)) => session,
        Ok(Resumed::GaveUp) => return,
        Err(err) => {
            tracing::info!("the stored session is no longer valid: {err}");
            if let Err(err) = st.vault.forget(&account).await {
                tracing::warn!("could not forget the session token: {err}");
            }
            st.set(app, Slot::SignedOut).await;
            return;
        }
    };
    let account = LastAccount {
        me: Some(session.me.clone()),
        ..account
    };
    if let Err(err) = start_engine(app, session, account, storage).await {
        tracing::warn!("could not start the engine: {}", err.message);
        st.set(app, Slot::SignedOut).await;
    }
}

/// The tray's "Start/Stop timer": starts a timer without a description, or stops the running
/// one; signed out, it shows the window.
pub fn toggle_timer(app: AppHandle) {
    tauri::async_runtime::spawn(toggle(app));
}

/// Starts a timer without a description, or stops the running one.
async fn toggle(app: AppHandle) {
    let Ok(agent) = app.state::<AppState>().agent().await else {
        crate::show_main_window(&app);
        return;
    };
    let result = if agent.running().is_some() {
        agent.stop_timer().await
    } else {
        agent.start_timer(String::new()).await.map(|_| ())
    };
    if let Err(err) = result {
        tracing::warn!("tray timer action failed: {err}");
    }
}

/// Forwards the engine's events to the webview, the tray and the OS until the engine stops.
async fn forward(app: AppHandle, agent: AgentHandle) {
    let mut events = agent.subscribe();
    tray::show_capture(app.clone(), agent.capture_status());
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        match &event {
            AgentEvent::TimerChanged { running } => tray::show_timer(&app, running.is_some()),
            AgentEvent::CaptureChanged { status } => {
                tray::show_capture(app.clone(), status.clone())
            }
            AgentEvent::Notification { notification } => notify::show(&app, notification),
            AgentEvent::SettingsChanged { settings } => {
                if let Slot::SignedIn(live) = &mut *state(&app).slot.write().await {
                    live.workspace = settings.clone();
                }
            }
            AgentEvent::SignedOut => revoked(&app, &agent).await,
            _ => {}
        }
        if let Err(err) = app.emit("agent", &event) {
            tracing::warn!("could not forward an engine event: {err}");
        }
    }
}

/// The service ended the session (revoked, expired): back to sign-in, token forgotten.
async fn revoked(app: &AppHandle, agent: &AgentHandle) {
    let st = state(app);
    let mut slot = st.slot.write().await;
    let ours = matches!(&*slot, Slot::SignedIn(live) if live.agent.same_engine(agent));
    if !ours {
        return;
    }
    if let Slot::SignedIn(live) = std::mem::replace(&mut *slot, Slot::SignedOut) {
        drop(slot);
        if let Err(err) = st.vault.forget(&live.account).await {
            tracing::warn!("could not forget the session token: {err}");
        }
        tray::show_session(app, false);
        announce(app, st.view().await);
    }
}
