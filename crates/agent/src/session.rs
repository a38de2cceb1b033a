//! Session life, the same for every client (the desktop shell, the headless agent): sign in,
//! resume a stored session, start offline with a known account, sign out
//! ([`crate::AgentHandle::sign_out`]).
//!
//! Resuming retries with backoff while the service is unreachable; with an account known from
//! an earlier sign-in it does not wait at all but starts offline (R25): the engine queues timer
//! changes and screenshots, reconnects on its own, and stops if the service then refuses the
//! session. Keeping the token safe (OS keyring, a user-only file) is the caller's job (R3).

use crate::error::AgentError;
use shotclock_api::dto::Me;
use shotclock_sync::{Backoff, BackoffPolicy, Client};

/// A signed-in session. The token is the caller's to keep safe (OS keyring, R3); the engine
/// never writes it anywhere.
#[derive(Clone)]
pub struct Session {
    pub server_url: String,
    pub token: String,
    pub me: Me,
    /// `me` is the copy saved at an earlier sign-in (an offline start), not the service's
    /// answer now: the engine keeps the workspace settings its buffer cached since, which are
    /// newer.
    pub saved: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server_url", &self.server_url)
            .field("user", &self.me.user.id)
            .finish_non_exhaustive()
    }
}

/// How [`Session::resume_or_wait`] ended.
#[derive(Debug)]
pub enum Resumed {
    /// The service accepted the stored token.
    Online(Session),
    /// The service is unreachable; the known account starts offline.
    Offline(Session),
    /// The caller stopped waiting (it signed in another way meanwhile).
    GaveUp,
}

impl Session {
    /// Signs in with email and password (R2).
    pub async fn sign_in(
        server_url: &str,
        email: &str,
        password: &str,
    ) -> Result<Self, AgentError> {
        let client = Client::new(server_url)?;
        let info = client.login(email, password, None).await?;
        Ok(Session {
            server_url: client.base_url().to_string(),
            token: info.token,
            me: info.me,
            saved: false,
        })
    }

    /// Resumes a session from a stored token; fails if the service refuses it or is
    /// unreachable.
    pub async fn resume(server_url: &str, token: &str) -> Result<Self, AgentError> {
        let client = Client::new(server_url)?.with_token(token);
        let me = client.me().await?;
        Ok(Session {
            server_url: client.base_url().to_string(),
            token: token.to_owned(),
            me,
            saved: false,
        })
    }

    /// Resumes a stored session, riding out an unreachable service: with `known` (the account
    /// of an earlier sign-in) it starts offline at once; without, it retries with backoff,
    /// asking `waiting` before and after each pause whether to go on (and telling it why it
    /// waits). An error: the service refused the token (or the URL is not one), so it is no
    /// longer worth keeping.
    pub async fn resume_or_wait<W, F>(
        server_url: &str,
        token: &str,
        known: Option<Me>,
        mut waiting: W,
    ) -> Result<Resumed, AgentError>
    where
        W: FnMut(&AgentError) -> F,
        F: Future<Output = bool>,
    {
        let mut backoff = Backoff::new(BackoffPolicy::default());
        loop {
            let err = match Session::resume(server_url, token).await {
                Ok(session) => return Ok(Resumed::Online(session)),
                Err(err) if err.is_retryable() => err,
                Err(err) => return Err(err),
            };
            if let Some(me) = known {
                tracing::info!("the service is unreachable ({err}); starting offline");
                return Ok(Resumed::Offline(Session {
                    server_url: server_url.to_owned(),
                    token: token.to_owned(),
                    me,
                    saved: true,
                }));
            }
            if !waiting(&err).await {
                return Ok(Resumed::GaveUp);
            }
            tokio::time::sleep(backoff.next_delay()).await;
            if !waiting(&err).await {
                return Ok(Resumed::GaveUp);
            }
        }
    }
}
