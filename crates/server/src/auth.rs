//! Passwords, session tokens, sign-in throttling and the [`Auth`] extractor.
//!
//! * Passwords: argon2id with the OWASP minimum parameters (m = 19456 KiB, t = 2, p = 1), hashed
//!   and verified on the blocking pool. At least [`MIN_PASSWORD_LEN`] characters.
//! * Tokens: 32 random bytes, hex-encoded, handed to the client once; the database stores only
//!   their SHA-256, so a database leak yields no usable token. Revocation is deleting the row
//!   (logout, role change, deactivation, account deletion), effective on the next request.
//! * Throttling: [`MAX_FAILURES`] wrong passwords in a row for one login name lock it for
//!   [`LOCKOUT`] (429 with `Retry-After`), whether or not the account exists, so the answer does
//!   not reveal which emails are registered.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::App;
use crate::error::{Error, Result};
use crate::store::UserRow;

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest accepted password (bounds hashing work).
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Consecutive failures that trigger a lockout.
pub const MAX_FAILURES: u32 = 10;
/// How long a lockout lasts.
pub const LOCKOUT: Duration = Duration::from_secs(60);

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(19_456, 2, 1, None).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks the password policy.
pub fn check_password_policy(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(Error::validation(format!(
            "password too short: at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(Error::validation(format!(
            "password too long: at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    Ok(())
}

/// Hashes a password (argon2id PHC string), on the blocking pool.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let hash = argon2()?
            .hash_password(password.as_bytes())
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(hash.to_string())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// Verifies a password against a PHC string, on the blocking pool. `None` verifies against a
/// dummy hash (same cost) and fails, so unknown accounts take as long as known ones.
pub async fn verify_password(hash: Option<String>, password: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let argon = argon2()?;
        match hash {
            Some(hash) => Ok(argon
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()),
            None => {
                let _ = argon.hash_password(password.as_bytes());
                Ok(false)
            }
        }
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// A fresh random token and its storage hash.
#[must_use]
pub fn new_token() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// SHA-256 of a token as stored.
#[must_use]
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[derive(Debug, Default)]
struct Attempts {
    failures: u32,
    locked_until: Option<Instant>,
}

/// Counts consecutive sign-in failures per login name.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    map: Mutex<HashMap<String, Attempts>>,
}

impl LoginLimiter {
    /// Fails with 429 while `key` is locked out.
    pub fn check(&self, key: &str) -> Result<()> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(until) = map.get(key).and_then(|a| a.locked_until) {
            let now = Instant::now();
            if until > now {
                let secs = (until - now).as_secs().max(1);
                return Err(Error::TooManyAttempts {
                    retry_after_secs: secs,
                });
            }
        }
        Ok(())
    }

    /// Records a failure; locks after [`MAX_FAILURES`] in a row.
    pub fn failed(&self, key: &str) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > 100_000 {
            // Bound memory under a spray of random names: forget expired entries.
            let now = Instant::now();
            map.retain(|_, a| a.locked_until.is_some_and(|u| u > now));
        }
        let a = map.entry(key.to_owned()).or_default();
        if a.locked_until.is_some_and(|u| u <= Instant::now()) {
            *a = Attempts::default();
        }
        a.failures += 1;
        if a.failures >= MAX_FAILURES {
            a.locked_until = Some(Instant::now() + LOCKOUT);
        }
    }

    /// Records a success (resets the count).
    pub fn succeeded(&self, key: &str) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The user (active, session unexpired).
    pub user: UserRow,
    /// Hash of the presented token (for logout).
    pub token_hash: [u8; 32],
}

impl Auth {
    /// Fails with 403 unless the caller is an owner or admin.
    pub fn require_admin(&self) -> Result<()> {
        if self.user.role.is_admin() {
            Ok(())
        } else {
            Err(Error::forbidden("only workspace admins may do this"))
        }
    }
}

impl FromRequestParts<App> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| Error::unauthorized("sign in first (missing bearer token)"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(|| Error::unauthorized("malformed Authorization header"))?;
        let hash = token_hash(token);
        let user = app
            .intents()
            .session_user(hash, app.now())
            .await?
            .ok_or_else(|| Error::unauthorized("the session is invalid, expired or revoked"))?;
        Ok(Auth {
            user,
            token_hash: hash,
        })
    }
}
