//! Passwords, session tokens, sign-in throttling and the [`Auth`] extractor.
//!
//! * Passwords: argon2id with the OWASP minimum parameters (m = 19456 KiB, t = 2, p = 1). The
//!   service hashes and verifies on a [`Hasher`]: a fixed pool of threads (about one per core)
//!   behind a short queue. A request that finds the queue full is refused at once (429 with
//!   `Retry-After`) instead of waiting, so a flood of sign-ins costs at most
//!   `workers × 19 MiB` of memory and never an unbounded number of threads.
//! * Policy ([`check_new_password`]): a zxcvbn score of at least [`MIN_PASSWORD_SCORE`], at least
//!   [`MIN_PASSWORD_LEN`] characters, and never the email or its local part.
//! * Tokens: 32 random bytes, hex-encoded, handed to the client once; the database stores only
//!   their SHA-256, so a database leak yields no usable token. Revocation is deleting the row
//!   (logout, role change, deactivation, account deletion), effective on the next request.
//! * Throttling ([`LoginLimiter`]), by the [`Source`] address of the request:
//!   - per (email, source): [`MAX_FAILURES`] wrong passwords in a row lock that email *for that
//!     source* for [`LOCKOUT`]. An attacker cannot lock the owner out, who signs in from
//!     elsewhere. The optional `workspace` field does not open a second budget.
//!   - per source: a bucket of [`SOURCE_BURST`] failures refilled one per [`SOURCE_REFILL`],
//!     across all emails, so spraying guesses over many accounts is throttled.
//!   - globally: the [`Hasher`]'s pool and queue bound how many guesses are checked at all.
//!   - an attempt is charged as a wrong one when it is admitted, in the same step as the check,
//!     and a right password gives the charge back: attempts in flight together cannot all pass
//!     on the budget's last token or the last failure before a lock.
//!
//!   Unknown emails count like known ones, so the answers do not reveal which are registered.
//! * Browser sessions (the web app): the token lives only in an `HttpOnly; SameSite=Strict`
//!   cookie ([`WEB_COOKIE`]); the database stores [`web_token_hash`], a hash in its own domain,
//!   so a browser token never works as a bearer token nor a desktop token as a cookie. They
//!   live [`crate::Config::web_session_ttl`] and slide (see `intents::accounts`). A
//!   cookie-authenticated request that may change something must carry [`CSRF_HEADER`] and an
//!   `Origin` naming this service's host ([`check_same_origin`]): a cross-site form can send
//!   neither, and a cross-site script may not send the header without a CORS grant, which the
//!   service never gives.
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::App;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
pub use crate::store::{BudgetState, PairState};
use crate::store::{Cluster, ThrottleRows, UserRow};

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = shotclock_api::limits::PASSWORD_MIN_CHARS;
/// Longest accepted password (bounds hashing work).
pub const MAX_PASSWORD_LEN: usize = shotclock_api::limits::PASSWORD_MAX_CHARS;
/// Lowest accepted zxcvbn score (0–4; 3 = "safely unguessable: moderate protection from an
/// offline slow-hash scenario").
pub const MIN_PASSWORD_SCORE: u8 = 3;
/// Consecutive failures for one email from one source that lock it for that source.
pub const MAX_FAILURES: u32 = 10;
/// How long such a lockout lasts.
pub const LOCKOUT: Duration = Duration::from_secs(60);
/// Failures one source may spend at once, across all emails.
pub const SOURCE_BURST: u32 = 30;
/// One more failure is allowed per source each this long (a sustained 10 per minute).
pub const SOURCE_REFILL: Duration = Duration::from_secs(6);
/// Entries a throttle table keeps before it forgets the idle ones (bounds memory under a spray).
const MAX_TRACKED: usize = 100_000;

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(19_456, 2, 1, None).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password for the account `email`: at least [`MIN_PASSWORD_LEN`] characters, a
/// zxcvbn score of at least [`MIN_PASSWORD_SCORE`] (with the email as known user input), and
/// neither the email nor its local part inside it.
pub fn check_new_password(password: &str, email: &str) -> Result<()> {
    let mail = email.trim().to_lowercase();
    let local = mail.split('@').next().unwrap_or_default();
    let lower = password.to_lowercase();
    if !mail.is_empty() && lower.contains(mail.as_str()) {
        return Err(Error::validation("the password must not contain the email"));
    }
    // A very short local part ("o@…") is a letter, not a secret anyone would guess from.
    if local.chars().count() >= 3 && lower.contains(local) {
        return Err(Error::validation(
            "the password must not contain the email's name part",
        ));
    }
    check_strength(password, &[mail.as_str(), local])
}

fn check_strength(password: &str, user_inputs: &[&str]) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(Error::validation(format!(
            "password too short: at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if n > MAX_PASSWORD_LEN {
        return Err(Error::validation(format!(
            "password too long: at most {MAX_PASSWORD_LEN} characters"
        )));
    }
    let estimate = zxcvbn::zxcvbn(password, user_inputs);
    if u8::from(estimate.score()) < MIN_PASSWORD_SCORE {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning().map(|w| format!(" ({w})")))
            .unwrap_or_default();
        return Err(Error::validation(format!(
            "password too easy to guess{hint}; use a longer phrase of unrelated words"
        )));
    }
    Ok(())
}

fn hash_now(password: &str) -> Result<String> {
    let hash = argon2()?
        .hash_password(password.as_bytes())
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(hash.to_string())
}

fn verify_now(hash: Option<&str>, password: &str) -> Result<bool> {
    let argon = argon2()?;
    match hash {
        Some(hash) => Ok(argon.verify_password(password.as_bytes(), hash).is_ok()),
        None => {
            let _ = argon.hash_password(password.as_bytes());
            Ok(false)
        }
    }
}

/// Hashes a password (argon2id PHC string) on the blocking pool, outside any [`Hasher`]: for
/// the operator CLI and tests. Request handlers use [`Hasher::hash`].
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

/// Verifies a password against a PHC string on the blocking pool, outside any [`Hasher`]. `None`
/// verifies against a dummy hash (same cost) and fails, so unknown accounts take as long as
/// known ones. Request handlers use [`Hasher::verify`].
pub async fn verify_password(hash: Option<String>, password: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || verify_now(hash.as_deref(), &password))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

/// A worker's argon2 memory (19 MiB), allocated once and reused for every verification, so a
/// flood of sign-ins does not churn the allocator (fresh 19 MiB allocations per attempt are
/// largely kept by the allocator afterwards).
struct Memory(Vec<argon2::Block>);

impl Memory {
    fn new() -> Self {
        let blocks = argon2()
            .map(|a| a.params().block_count())
            .unwrap_or_default();
        Self(vec![argon2::Block::new(); blocks])
    }

    /// Like [`verify_now`], computing in this memory when the stored parameters fit it.
    fn verify(&mut self, hash: Option<&str>, password: &str) -> Result<bool> {
        use argon2::password_hash::phc::{Output, PasswordHash};
        let internal = |e: argon2::password_hash::Error| Error::Internal(e.to_string());
        let dummy;
        let hash = match hash {
            Some(hash) => hash,
            None => {
                // Same cost as a real verification, and always false.
                dummy = dummy_hash()?;
                dummy.as_str()
            }
        };
        let parsed = PasswordHash::new(hash).map_err(|e| Error::Internal(e.to_string()))?;
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return Ok(false);
        };
        let params = Params::try_from(&parsed).map_err(internal)?;
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(internal)?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).map_err(|e| Error::Internal(e.to_string()))?,
            None => Version::default(),
        };
        let argon = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        let computed = if argon.params().block_count() == self.0.len() {
            argon.hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut out,
                self.0.as_mut_slice(),
            )
        } else {
            argon.hash_password_into(password.as_bytes(), salt.as_ref(), &mut out)
        };
        if computed.is_err() {
            return Ok(false);
        }
        let output = Output::new(&out).map_err(|e| Error::Internal(e.to_string()))?;
        // `Output`'s equality is constant-time.
        Ok(output == *expected)
    }
}

/// A PHC string with the service's parameters, a random salt and a random output: verifying
/// against it costs a real verification and never succeeds.
fn dummy_hash() -> Result<String> {
    let mut salt = [0u8; 16];
    let mut output = [0u8; 32];
    rand::rng().fill_bytes(&mut salt);
    rand::rng().fill_bytes(&mut output);
    let salt =
        argon2::password_hash::phc::Salt::new(&salt).map_err(|e| Error::Internal(e.to_string()))?;
    let output = argon2::password_hash::phc::Output::new(&output)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let params = argon2()?.params().clone();
    let hash = argon2::password_hash::phc::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::phc::ParamsString::try_from(&params)
            .map_err(|e| Error::Internal(e.to_string()))?,
        salt: Some(salt),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The bounded password-hashing pool: `workers` threads take jobs from a queue of `queue`
/// places; when both are full a job is refused at once ([`Error::Busy`]). Each worker reuses its
/// own allocator arena, so memory stays at about `workers × 19 MiB` however many requests come.
/// The threads end when the pool is dropped.
#[derive(Debug)]
pub struct Hasher {
    jobs: SyncSender<Job>,
}

impl Hasher {
    /// Starts `workers` threads (at least one) behind a queue of `queue` places.
    #[must_use]
    pub fn new(workers: usize, queue: usize) -> Self {
        let (jobs, rx) = std::sync::mpsc::sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || work(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hashing thread");
            }
        }
        Self { jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send(Box::new(move |memory: &mut Memory| {
                let _ = tx.send(job(memory));
            }))
            .map_err(|e| match e {
                TrySendError::Full(_) => Error::Busy {
                    what: "too many sign-ins at once",
                    retry_after_secs: 1,
                },
                TrySendError::Disconnected(_) => {
                    Error::Internal("the password-hashing pool has stopped".into())
                }
            })?;
        // A worker that could not start leaves the job unanswered: the sender drops with it.
        rx.await
            .map_err(|_| Error::Internal("the password-hashing pool has no workers".into()))
    }

    /// Hashes a password (argon2id PHC string).
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move |_: &mut Memory| hash_now(&password)).await?
    }

    /// Verifies a password against a PHC string; `None` costs the same and fails.
    pub async fn verify(&self, hash: Option<String>, password: String) -> Result<bool> {
        self.run(move |memory: &mut Memory| memory.verify(hash.as_deref(), &password))
            .await?
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::new();
    loop {
        let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(&mut memory),
            Err(_) => return,
        }
    }
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

/// The browser session cookie's name.
pub const WEB_COOKIE: &str = "shotclock_session";
/// The header a cookie-authenticated change must carry (value `1`).
pub const CSRF_HEADER: &str = "x-shotclock";

/// The stored hash of a browser session token: SHA-256 in its own domain, distinct from
/// [`token_hash`] for the same string.
#[must_use]
pub fn web_token_hash(token: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"shotclock web session\n");
    h.update(token.as_bytes());
    h.finalize().into()
}

/// The stored hash of an invitation link's secret: SHA-256 in its own domain, so a link's
/// secret is never a session token of any kind.
#[must_use]
pub fn invitation_token_hash(token: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"shotclock invitation\n");
    h.update(token.as_bytes());
    h.finalize().into()
}

/// The value of cookie `name` in the request's `Cookie` headers.
#[must_use]
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// Whether the request's `Host` names this machine (`localhost`, `*.localhost`, a loopback
/// address): then the browser reaches the service over plain HTTP on the same machine, and the
/// session cookie goes without `Secure`.
#[must_use]
pub fn loopback_host(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(loopback_authority)
}

/// Whether `host[:port]` names this machine.
fn loopback_authority(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']').map_or(rest, |(a, _)| a)
    } else {
        host.rsplit_once(':').map_or(host, |(a, _)| a)
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether the cookies set on this request's answer carry `Secure`: always, unless the browser
/// reaches the service over plain HTTP on this machine. What the browser sees is the public
/// origin when the service has one (a reverse proxy in front may pass on a loopback `Host`),
/// else the request's `Host`.
#[must_use]
pub fn secure_cookies(public_origin: Option<&str>, headers: &axum::http::HeaderMap) -> bool {
    match public_origin {
        Some(origin) => match origin.strip_prefix("http://") {
            Some(authority) => !loopback_authority(authority.trim_end_matches('/')),
            None => true,
        },
        None => !loopback_host(headers),
    }
}

/// Refuses (403) a browser request without [`CSRF_HEADER`]`: 1`, or whose `Origin` is
/// neither this service's own (`scheme://` + the request's `Host`) nor `public_origin` (the
/// origin a reverse proxy serves it at, [`crate::Config::public_origin`]; compared whole).
pub fn check_same_origin(
    headers: &axum::http::HeaderMap,
    public_origin: Option<&str>,
) -> Result<()> {
    if headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(Error::forbidden(format!(
            "a browser request that changes something needs the `{CSRF_HEADER}: 1` header"
        )));
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let full = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    if let (Some(o), Some(p)) = (full, public_origin)
        && o.eq_ignore_ascii_case(p.trim_end_matches('/'))
    {
        return Ok(());
    }
    let origin = full.and_then(|o| {
        o.strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
    });
    match (origin, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(Error::forbidden(
            "this request comes from another site (its Origin is not this service)",
        )),
    }
}

/// The `Set-Cookie` value that stores a browser session for `max_age_secs` (0 clears it).
#[must_use]
pub fn session_cookie(token: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{WEB_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    )
}

/// The cookie that ties a browser's single sign-on to the browser that started it: it holds the
/// sign-in's `state`, and the callback of a web sign-in is refused without it (another browser
/// must not finish a sign-in someone else started, and so be signed in as them).
pub const SSO_COOKIE: &str = "shotclock_sso";

/// The `Set-Cookie` value that keeps a web sign-in's `state` for its callback, for
/// `max_age_secs` (0 clears it). `SameSite=Lax`: the provider sends the browser back with a
/// top-level navigation from its own site.
#[must_use]
pub fn sso_cookie(state: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SSO_COOKIE}={state}; Path=/api/v1/sso/callback; HttpOnly; SameSite=Lax; \
         Max-Age={max_age_secs}{secure}"
    )
}

/// A browser session resolved (and its `Origin` checked) before the handler runs; [`Auth`]
/// takes it from the request's extensions.
#[derive(Debug, Clone)]
pub struct WebSession(pub Auth);

/// Where a request comes from, as throttling sees it: the peer's IP address (an IPv6 address
/// by its /64 network, which one host can rotate through freely). With
/// [`crate::Config::trust_forwarded_for`] the last `X-Forwarded-For` address is used instead
/// (the one the trusted proxy in front appended). Requests without a peer address (in-process
/// tests through `router().oneshot`) are all one unknown source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source(pub Option<IpAddr>);

impl Source {
    /// The source of this peer address.
    #[must_use]
    pub fn of(ip: IpAddr) -> Self {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            v4 => v4,
        };
        Self(Some(ip))
    }
}

impl FromRequestParts<App> for Source {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self> {
        if app.config().trust_forwarded_for {
            // Only the last entry: the one the trusted proxy appended. Earlier ones are
            // whatever the client sent.
            let last = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|a| a.trim().parse::<IpAddr>().ok());
            if let Some(ip) = last {
                return Ok(Self::of(ip));
            }
        }
        Ok(parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(Self(None), |ConnectInfo(addr)| Self::of(addr.ip())))
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn refill(bucket: &mut BudgetState, now_ms: i64) {
    #[allow(clippy::cast_precision_loss)]
    let earned = (now_ms - bucket.at_ms).max(0) as f64 / SOURCE_REFILL.as_millis() as f64;
    bucket.tokens = (bucket.tokens + earned).min(f64::from(SOURCE_BURST));
    bucket.at_ms = now_ms;
}

/// 429, asking to wait `wait_ms` rounded up to whole seconds (a client that waits exactly that
/// long is admitted), and at least one.
fn too_many(wait_ms: i64) -> Error {
    Error::TooManyAttempts {
        retry_after_secs: u64::try_from(wait_ms.saturating_add(999) / 1000)
            .unwrap_or(1)
            .max(1),
    }
}

/// How long `pair` is still locked at `now_ms`, in milliseconds; `None` when it is not (a lock
/// is over at its last millisecond's end).
fn lock_left_ms(pair: &PairState, now_ms: i64) -> Option<i64> {
    pair.locked_until_ms
        .map(|until| until - now_ms)
        .filter(|left| *left > 0)
}

/// The throttle's verdict at `now_ms`: how long to wait (in milliseconds) while the pair is
/// locked or the source's budget is spent; `None` when an attempt may go ahead.
fn refusal(pair: Option<PairState>, budget: Option<BudgetState>, now_ms: i64) -> Option<i64> {
    if let Some(left) = pair.and_then(|p| lock_left_ms(&p, now_ms)) {
        return Some(left);
    }
    let mut bucket = budget?;
    refill(&mut bucket, now_ms);
    #[allow(clippy::cast_possible_truncation)]
    (bucket.tokens < 1.0)
        .then(|| (SOURCE_REFILL.as_millis() as f64 * (1.0 - bucket.tokens)).ceil() as i64)
}

/// One attempt at `now_ms`: refused (the rows unchanged, and how long to wait), or admitted and
/// charged as a wrong password.
fn admitted(rows: ThrottleRows, now_ms: i64) -> (ThrottleRows, Option<i64>) {
    if let Some(wait) = refusal(rows.pair, rows.budget, now_ms) {
        return (rows, Some(wait));
    }
    let (pair, budget) = after_failure(rows.pair, rows.budget, now_ms);
    let charged = ThrottleRows {
        pair: Some(pair),
        budget: Some(budget),
    };
    (charged, None)
}

/// The rows after a right password at `now_ms`: the pair's count starts over and the source
/// gets back the charge of this attempt (not those of the wrong ones).
fn after_success(rows: ThrottleRows, now_ms: i64) -> ThrottleRows {
    ThrottleRows {
        pair: None,
        budget: rows.budget.map(|mut bucket| {
            refill(&mut bucket, now_ms);
            bucket.tokens = (bucket.tokens + 1.0).min(f64::from(SOURCE_BURST));
            bucket
        }),
    }
}

/// The pair and the budget after one more wrong password at `now_ms`.
fn after_failure(
    pair: Option<PairState>,
    budget: Option<BudgetState>,
    now_ms: i64,
) -> (PairState, BudgetState) {
    let mut pair = pair.unwrap_or_default();
    if pair.locked_until_ms.is_some() && lock_left_ms(&pair, now_ms).is_none() {
        pair = PairState::default();
    }
    pair.failures += 1;
    if pair.failures >= MAX_FAILURES {
        pair.locked_until_ms = Some(now_ms + ms(LOCKOUT));
    }
    let mut bucket = budget.unwrap_or(BudgetState {
        tokens: f64::from(SOURCE_BURST),
        at_ms: now_ms,
    });
    refill(&mut bucket, now_ms);
    bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    (pair, bucket)
}

#[derive(Debug, Default)]
struct Tables {
    /// (email, source) → consecutive failures.
    pairs: HashMap<(String, Source), PairState>,
    /// source → failure budget.
    sources: HashMap<Source, BudgetState>,
}

/// Sign-in throttle: per (email, source) lockouts and a per-source failure budget (see the
/// module doc). In this process's memory, or — with replicas sharing a database — in the
/// database ([`Cluster`]'s throttle rows), so the limits hold whichever replica an attempt
/// reaches. The arithmetic is the same either way (this module); the database only stores and
/// serialises it.
pub struct LoginLimiter {
    tables: Mutex<Tables>,
    started: Instant,
    shared: Option<Arc<dyn Cluster>>,
    /// The service's clock, which times the shared rows (replicas agree on it, not on their
    /// processes' start).
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(None, Arc::new(SystemClock))
    }
}

/// The keys of a pair and of a source in the shared rows: hashes, so the database never holds
/// the emails or addresses that were tried.
fn shared_keys(email: &str, source: Source) -> ([u8; 32], [u8; 32]) {
    let source = match source.0 {
        Some(ip) => ip.to_string(),
        None => String::new(),
    };
    let pair = Sha256::digest(format!("pair\n{email}\n{source}").as_bytes()).into();
    let source = Sha256::digest(format!("source\n{source}").as_bytes()).into();
    (pair, source)
}

impl LoginLimiter {
    /// A throttle in memory, or shared through `cluster` and timed by `clock`.
    #[must_use]
    pub fn new(cluster: Option<Arc<dyn Cluster>>, clock: Arc<dyn Clock>) -> Self {
        Self {
            tables: Mutex::default(),
            started: Instant::now(),
            shared: cluster,
            clock,
        }
    }

    /// Now for this process's rows: monotonic, from the limiter's start.
    fn local_ms(&self) -> i64 {
        ms(self.started.elapsed())
    }

    /// Now for the shared rows: the service's clock.
    fn shared_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Admits one attempt for `email` from `source`, or fails with 429 while `email` is locked
    /// for `source` or `source` has spent its budget. An admitted attempt is charged as a wrong
    /// password at once, in the same step as the check; [`LoginLimiter::succeeded`] gives the
    /// charge back.
    pub async fn admit(&self, email: &str, source: Source) -> Result<()> {
        if let Some(cluster) = &self.shared {
            let (pair, bucket) = shared_keys(email, source);
            let now = self.shared_ms();
            let seen = Arc::new(Mutex::new(None));
            let told = Arc::clone(&seen);
            cluster
                .update_throttle(
                    pair,
                    bucket,
                    now,
                    Box::new(move |rows| {
                        let (rows, wait) = admitted(rows, now);
                        *told.lock().unwrap_or_else(PoisonError::into_inner) = wait;
                        rows
                    }),
                )
                .await?;
            let wait = *seen.lock().unwrap_or_else(PoisonError::into_inner);
            return wait.map_or(Ok(()), |w| Err(too_many(w)));
        }
        let wait = self.update_local(email, source, admitted);
        wait.map_or(Ok(()), |w| Err(too_many(w)))
    }

    /// Records a right password: the (email, source) count starts over, and the source gets
    /// this attempt's charge back.
    pub async fn succeeded(&self, email: &str, source: Source) -> Result<()> {
        if let Some(cluster) = &self.shared {
            let (pair, bucket) = shared_keys(email, source);
            let now = self.shared_ms();
            cluster
                .update_throttle(
                    pair,
                    bucket,
                    now,
                    Box::new(move |rows| after_success(rows, now)),
                )
                .await?;
            return Ok(());
        }
        self.update_local(email, source, |rows, now| (after_success(rows, now), None));
        Ok(())
    }

    /// Applies `update` to this process's rows of `email` and `source` (dropping what no longer
    /// limits anything once the tables are over their bound); answers what `update` answers.
    fn update_local(
        &self,
        email: &str,
        source: Source,
        update: impl FnOnce(ThrottleRows, i64) -> (ThrottleRows, Option<i64>),
    ) -> Option<i64> {
        let now = self.local_ms();
        let mut t = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        if t.pairs.len() > MAX_TRACKED {
            t.pairs.retain(|_, a| lock_left_ms(a, now).is_some());
        }
        if t.sources.len() > MAX_TRACKED {
            t.sources.retain(|_, b| {
                refill(b, now);
                b.tokens < f64::from(SOURCE_BURST)
            });
        }
        let key = (email.to_owned(), source);
        let rows = ThrottleRows {
            pair: t.pairs.get(&key).copied(),
            budget: t.sources.get(&source).copied(),
        };
        let (rows, answer) = update(rows, now);
        match rows.pair {
            Some(pair) => t.pairs.insert(key, pair),
            None => t.pairs.remove(&key),
        };
        match rows.budget {
            Some(bucket) => t.sources.insert(source, bucket),
            None => t.sources.remove(&source),
        };
        answer
    }

    /// Forgets shared rows that no longer limit anything (pairs neither locked nor touched for
    /// a [`LOCKOUT`], budgets full again); part of maintenance.
    pub async fn prune(&self) -> Result<()> {
        if let Some(cluster) = &self.shared {
            let now = self.shared_ms();
            let full = ms(SOURCE_REFILL) * i64::from(SOURCE_BURST);
            cluster
                .prune_throttle(now, now - ms(LOCKOUT), now - full)
                .await?;
        }
        Ok(())
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The user (active, session unexpired).
    pub user: UserRow,
    /// Hash of the presented token (for logout).
    pub token_hash: [u8; 32],
    /// Whether the session is a browser's (cookie) rather than a bearer token's.
    pub web: bool,
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
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            if let Some(WebSession(auth)) = parts.extensions.get::<WebSession>() {
                return Ok(auth.clone());
            }
            if cookie(&parts.headers, WEB_COOKIE).is_some() {
                return Err(Error::unauthorized(
                    "the browser session is invalid, expired or ended; sign in again",
                ));
            }
            return Err(Error::unauthorized("sign in first (missing bearer token)"));
        };
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
            web: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                axum::http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    /// The whole seconds of a refusal's wait, or `None` when the attempt may go ahead.
    fn wait_of(wait_ms: Option<i64>) -> Option<u64> {
        wait_secs(wait_ms.map_or(Ok(()), |w| Err(too_many(w))))
    }

    /// The seconds a refusal asks the client to wait, or `None` when the attempt may go ahead.
    fn wait_secs(result: Result<()>) -> Option<u64> {
        match result {
            Ok(()) => None,
            Err(Error::TooManyAttempts { retry_after_secs }) => Some(retry_after_secs),
            Err(other) => panic!("expected a throttle verdict, got {other:?}"),
        }
    }

    /// `n` wrong passwords in a row at `now_ms`, from nothing recorded.
    fn failures(n: u32, now_ms: i64) -> (PairState, BudgetState) {
        let (mut pair, mut budget) = (None, None);
        for _ in 0..n {
            let (p, b) = after_failure(pair, budget, now_ms);
            (pair, budget) = (Some(p), Some(b));
        }
        (
            pair.unwrap_or_default(),
            budget.unwrap_or(full_budget(now_ms)),
        )
    }

    fn full_budget(at_ms: i64) -> BudgetState {
        BudgetState {
            tokens: f64::from(SOURCE_BURST),
            at_ms,
        }
    }

    #[test]
    fn nothing_recorded_lets_an_attempt_through() {
        assert_eq!(wait_of(refusal(None, None, 0)), None);
        assert_eq!(wait_of(refusal(None, Some(full_budget(0)), 0)), None);
    }

    #[test]
    fn the_tenth_wrong_password_locks_the_pair_for_the_lockout() {
        let t = 1_000_000;
        let (pair, _) = failures(MAX_FAILURES - 1, t);
        assert_eq!(pair.failures, MAX_FAILURES - 1);
        assert_eq!(pair.locked_until_ms, None);
        assert_eq!(wait_of(refusal(Some(pair), None, t)), None);

        let (pair, _) = failures(MAX_FAILURES, t);
        assert_eq!(pair.failures, MAX_FAILURES);
        assert_eq!(pair.locked_until_ms, Some(t + 60_000));
        assert_eq!(wait_of(refusal(Some(pair), None, t)), Some(60));
        assert_eq!(wait_of(refusal(Some(pair), None, t + 2_500)), Some(58));
        // The last millisecond still asks for a whole second; the end of the lock lets through.
        assert_eq!(wait_of(refusal(Some(pair), None, t + 59_999)), Some(1));
        assert_eq!(wait_of(refusal(Some(pair), None, t + 60_000)), None);
    }

    #[test]
    fn a_wrong_password_after_the_lock_ended_counts_from_one() {
        let t = 1_000_000;
        let (locked, _) = failures(MAX_FAILURES, t);
        let until = t + 60_000;

        let (pair, _) = after_failure(Some(locked), None, until);
        assert_eq!(
            pair,
            PairState {
                failures: 1,
                locked_until_ms: None
            }
        );

        // One millisecond before the end, the lock is still on: the count goes on and the
        // lock is renewed from now.
        let (pair, _) = after_failure(Some(locked), None, until - 1);
        assert_eq!(pair.failures, MAX_FAILURES + 1);
        assert_eq!(pair.locked_until_ms, Some(until - 1 + 60_000));
    }

    #[test]
    fn each_wrong_password_spends_one_of_the_sources_budget() {
        let t = 5_000;
        let (_, budget) = failures(1, t);
        assert_eq!(
            budget,
            BudgetState {
                tokens: f64::from(SOURCE_BURST) - 1.0,
                at_ms: t
            }
        );

        let (_, spent) = failures(SOURCE_BURST, t);
        assert_eq!(
            spent,
            BudgetState {
                tokens: 0.0,
                at_ms: t
            }
        );
        // A spent budget stays at zero, never below.
        let (_, still) = after_failure(None, Some(spent), t);
        assert_eq!(still.tokens, 0.0);
        // Refused for one refill period, then one more attempt is earned.
        assert_eq!(wait_of(refusal(None, Some(spent), t)), Some(6));
        assert_eq!(wait_of(refusal(None, Some(spent), t + 3_000)), Some(3));
        assert_eq!(wait_of(refusal(None, Some(spent), t + 5_999)), Some(1));
        assert_eq!(wait_of(refusal(None, Some(spent), t + 6_000)), None);
    }

    #[test]
    fn a_budget_refills_at_one_attempt_per_period_up_to_the_burst() {
        let mut bucket = BudgetState {
            tokens: 2.0,
            at_ms: 10_000,
        };
        refill(&mut bucket, 10_000 + 3 * 6_000 + 3_000);
        assert_eq!(
            bucket,
            BudgetState {
                tokens: 5.5,
                at_ms: 31_000
            }
        );

        refill(&mut bucket, 31_000 + 1_000_000);
        assert_eq!(bucket.tokens, f64::from(SOURCE_BURST));

        // A clock that went back earns nothing and takes nothing.
        let mut bucket = BudgetState {
            tokens: 2.0,
            at_ms: 10_000,
        };
        refill(&mut bucket, 4_000);
        assert_eq!(
            bucket,
            BudgetState {
                tokens: 2.0,
                at_ms: 4_000
            }
        );

        // A failure spends from the refilled budget.
        let (_, after) = after_failure(
            None,
            Some(BudgetState {
                tokens: 0.0,
                at_ms: 0,
            }),
            12_000,
        );
        assert_eq!(
            after,
            BudgetState {
                tokens: 1.0,
                at_ms: 12_000
            }
        );
    }

    #[test]
    fn a_locked_pair_is_refused_whatever_the_budget() {
        let (pair, _) = failures(MAX_FAILURES, 0);
        assert_eq!(
            wait_of(refusal(Some(pair), Some(full_budget(0)), 30_000)),
            Some(30)
        );
        // …and a spent budget refuses a pair that is not locked.
        let spent = BudgetState {
            tokens: 0.5,
            at_ms: 0,
        };
        assert_eq!(
            wait_of(refusal(Some(PairState::default()), Some(spent), 0)),
            Some(3)
        );
    }

    #[test]
    fn a_wait_is_told_in_whole_seconds_and_never_as_zero() {
        let secs = |ms| match too_many(ms) {
            Error::TooManyAttempts { retry_after_secs } => retry_after_secs,
            other => panic!("expected TooManyAttempts, got {other:?}"),
        };
        assert_eq!(secs(60_000), 60);
        assert_eq!(secs(2_500), 3);
        assert_eq!(secs(59_001), 60);
        assert_eq!(secs(999), 1);
        assert_eq!(secs(0), 1);
        assert_eq!(secs(-5_000), 1);
    }

    #[tokio::test]
    async fn in_memory_the_lock_holds_for_the_lockout_then_ends() {
        let mut limiter = LoginLimiter::default();
        let source = Source::of(IpAddr::from([203, 0, 113, 7]));
        // Each admitted attempt counts as a wrong password until a right one says otherwise.
        for _ in 0..MAX_FAILURES {
            limiter.admit("a@acme.test", source).await.unwrap();
        }
        assert!(wait_secs(limiter.admit("a@acme.test", source).await).is_some());
        // Another account from the same source, and the same account from elsewhere, go on.
        assert_eq!(wait_secs(limiter.admit("b@acme.test", source).await), None);
        let elsewhere = Source::of(IpAddr::from([198, 51, 100, 1]));
        assert_eq!(
            wait_secs(limiter.admit("a@acme.test", elsewhere).await),
            None
        );

        // A lockout later (the limiter's clock started that much earlier), it has ended.
        limiter.started = limiter.started.checked_sub(LOCKOUT).unwrap();
        assert_eq!(wait_secs(limiter.admit("a@acme.test", source).await), None);
    }

    #[tokio::test]
    async fn in_memory_a_success_clears_the_pair_but_not_the_budget() {
        let limiter = LoginLimiter::default();
        let source = Source::of(IpAddr::from([203, 0, 113, 8]));
        for _ in 0..MAX_FAILURES - 1 {
            limiter.admit("a@acme.test", source).await.unwrap();
        }
        // A right password: its own charge comes back, not those of the wrong ones.
        limiter.admit("a@acme.test", source).await.unwrap();
        limiter.succeeded("a@acme.test", source).await.unwrap();
        limiter.admit("a@acme.test", source).await.unwrap();
        let t = limiter.tables.lock().unwrap();
        // Counting started over: one wrong password since, far from the lock.
        assert_eq!(t.pairs[&("a@acme.test".to_owned(), source)].failures, 1);
        let tokens = t.sources[&source].tokens;
        let kept = f64::from(SOURCE_BURST - MAX_FAILURES);
        assert!(
            (tokens - kept).abs() < 0.5,
            "{tokens} tokens left, not {kept}"
        );
    }

    #[tokio::test]
    async fn attempts_in_flight_together_cannot_share_the_last_token() {
        let limiter = LoginLimiter::default();
        let source = Source::of(IpAddr::from([203, 0, 113, 10]));
        for i in 0..SOURCE_BURST - 1 {
            limiter
                .admit(&format!("{i}@acme.test"), source)
                .await
                .unwrap();
        }
        // One token left, and two attempts arrive before either is answered.
        assert_eq!(wait_secs(limiter.admit("x@acme.test", source).await), None);
        assert_eq!(
            wait_secs(limiter.admit("y@acme.test", source).await),
            Some(6)
        );
    }

    #[test]
    fn a_right_password_gives_back_one_charge_and_forgets_the_pair() {
        let (pair, budget) = failures(3, 0);
        let rows = ThrottleRows {
            pair: Some(pair),
            budget: Some(budget),
        };
        let after = after_success(rows, 0);
        assert_eq!(after.pair, None);
        let tokens = after.budget.unwrap().tokens;
        assert!(
            (tokens - f64::from(SOURCE_BURST - 2)).abs() < 1e-9,
            "{tokens}"
        );
        // Never above a full budget; time since the last charge is earned first.
        let full = after_success(
            ThrottleRows {
                pair: None,
                budget: Some(full_budget(0)),
            },
            0,
        );
        assert_eq!(full.budget.unwrap().tokens, f64::from(SOURCE_BURST));
        let later = after_success(rows, 6_000).budget.unwrap();
        assert!((later.tokens - f64::from(SOURCE_BURST - 1)).abs() < 1e-9);
        assert_eq!(later.at_ms, 6_000);
        assert_eq!(
            after_success(ThrottleRows::default(), 0),
            ThrottleRows::default()
        );
    }

    #[tokio::test]
    async fn in_memory_stale_entries_go_only_once_the_tables_are_over_their_bound() {
        let limiter = LoginLimiter::default();
        let live = Source::of(IpAddr::from([203, 0, 113, 9]));
        for _ in 0..MAX_FAILURES {
            limiter.admit("a@acme.test", live).await.unwrap();
        }
        let now = limiter.local_ms();
        {
            let mut t = limiter.tables.lock().unwrap();
            // Stale entries up to the bound: locks that ended, budgets full again.
            for i in 1..u32::try_from(MAX_TRACKED).unwrap() {
                let source = Source::of(IpAddr::from(i.to_be_bytes()));
                let ended = PairState {
                    failures: MAX_FAILURES,
                    locked_until_ms: Some(now - 1),
                };
                t.pairs.insert((String::new(), source), ended);
                t.sources.insert(source, full_budget(now));
            }
            assert_eq!((t.pairs.len(), t.sources.len()), (MAX_TRACKED, MAX_TRACKED));
        }
        // At the bound nothing is dropped: the new pair and source make it one over…
        let other = Source::of(IpAddr::from([198, 51, 100, 2]));
        limiter.admit("b@acme.test", other).await.unwrap();
        {
            let t = limiter.tables.lock().unwrap();
            assert_eq!(
                (t.pairs.len(), t.sources.len()),
                (MAX_TRACKED + 1, MAX_TRACKED + 1)
            );
        }
        // …and over it, what no longer limits goes (the ended locks, the full budgets, a pair
        // that is not locked) while the lock and the spent budgets stay.
        limiter.admit("c@acme.test", live).await.unwrap();
        let t = limiter.tables.lock().unwrap();
        let mut pairs: Vec<&str> = t.pairs.keys().map(|(email, _)| email.as_str()).collect();
        pairs.sort_unstable();
        assert_eq!(pairs, ["a@acme.test", "c@acme.test"]);
        assert!(
            t.pairs[&("a@acme.test".to_owned(), live)]
                .locked_until_ms
                .is_some()
        );
        assert_eq!(t.sources.len(), 2);
        assert!(t.sources.contains_key(&live) && t.sources.contains_key(&other));
    }

    #[test]
    fn loopback_hosts_are_told_apart() {
        for local in [
            "localhost",
            "localhost:8080",
            "app.localhost:1",
            "127.0.0.1:9",
            "[::1]:80",
        ] {
            assert!(loopback_host(&headers(&[("host", local)])), "{local}");
        }
        for remote in [
            "team.example.com",
            "10.0.0.2:80",
            "[2001:db8::1]:443",
            "localhost.evil.test",
        ] {
            assert!(!loopback_host(&headers(&[("host", remote)])), "{remote}");
        }
        assert!(!loopback_host(&headers(&[])));
    }

    #[test]
    fn cookies_are_secure_unless_the_browser_is_on_plain_http_on_this_machine() {
        let local = headers(&[("host", "127.0.0.1:8478")]);
        let remote = headers(&[("host", "team.example.com")]);
        assert!(!secure_cookies(None, &local));
        assert!(secure_cookies(None, &remote));
        // Behind a proxy the public origin is what the browser sees, whatever the Host.
        assert!(secure_cookies(Some("https://time.example.com"), &local));
        assert!(secure_cookies(Some("https://localhost:8443"), &local));
        assert!(secure_cookies(Some("http://time.example.com"), &local));
        assert!(!secure_cookies(Some("http://localhost:8478/"), &remote));
        assert!(!secure_cookies(Some("http://[::1]:8478"), &remote));
    }

    #[test]
    fn same_origin_needs_the_header_and_the_origin() {
        let ok = [
            ("host", "t.example:8080"),
            ("origin", "https://t.example:8080"),
            (CSRF_HEADER, "1"),
        ];
        assert!(check_same_origin(&headers(&ok), None).is_ok());
        assert!(
            check_same_origin(&headers(&ok[..2]), None).is_err(),
            "no header"
        );
        for origin in [
            "https://evil.example",
            "null",
            "https://t.example:8081",
            "t.example:8080",
        ] {
            let h = headers(&[
                ("host", "t.example:8080"),
                ("origin", origin),
                (CSRF_HEADER, "1"),
            ]);
            assert!(check_same_origin(&h, None).is_err(), "{origin}");
            assert!(
                check_same_origin(&h, Some("https://proxy.example")).is_err(),
                "{origin}"
            );
        }
        let no_origin = headers(&[("host", "t.example:8080"), (CSRF_HEADER, "1")]);
        assert!(check_same_origin(&no_origin, None).is_err());
        assert!(check_same_origin(&no_origin, Some("https://t.example:8080")).is_err());
        // Behind a proxy: the configured public origin counts, whole, the header still needed.
        let proxied = [
            ("host", "127.0.0.1:3000"),
            ("origin", "https://t.example"),
            (CSRF_HEADER, "1"),
        ];
        assert!(check_same_origin(&headers(&proxied), None).is_err());
        assert!(check_same_origin(&headers(&proxied), Some("https://t.example")).is_ok());
        assert!(check_same_origin(&headers(&proxied), Some("https://t.example/")).is_ok());
        assert!(check_same_origin(&headers(&proxied), Some("http://t.example")).is_err());
        assert!(check_same_origin(&headers(&proxied[..2]), Some("https://t.example")).is_err());
    }

    #[test]
    fn web_tokens_hash_apart_from_bearer_tokens() {
        assert_ne!(web_token_hash("abc"), token_hash("abc"));
        let h = headers(&[("cookie", "a=1; shotclock_session=tok; b=2")]);
        assert_eq!(cookie(&h, WEB_COOKIE), Some("tok"));
        assert_eq!(
            cookie(&headers(&[("cookie", "shotclock_session=")]), WEB_COOKIE),
            None
        );
    }

    #[test]
    fn weak_passwords_and_the_email_are_refused() {
        for weak in [
            "          ",
            "password12",
            "aaaaaaaaaaaa",
            "qwertyuiop",
            "1234567890",
        ] {
            assert!(check_new_password(weak, "x@y.test").is_err(), "{weak:?}");
        }
        let mail = "margarethe.sommer@example.test";
        for own in [
            mail,
            "MARGARETHE.SOMMER@example.test",
            "margarethe.sommer2025!",
            "my margarethe.sommer pw",
        ] {
            assert!(check_new_password(own, mail).is_err(), "{own:?}");
        }
    }

    #[test]
    fn the_passwords_in_use_pass() {
        for (pw, mail) in [
            ("correct horse battery", "owner@acme.test"),
            ("crash test password", "o@acme.test"),
            ("shotclock-demo", "maria@shotclock.test"),
            ("long enough pw", "new@acme.test"),
            ("tps reports!", "peter@initech.test"),
        ] {
            let verdict = check_new_password(pw, mail);
            assert!(verdict.is_ok(), "{pw:?}: {verdict:?}");
        }
    }
}
