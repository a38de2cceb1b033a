//! [`Client`]: one typed method per endpoint of the workspace service (`/api/v1`).
//!
//! Design:
//! * A `Client` is a cheap handle (`Clone` shares the connection pool); the session token is a
//!   per-handle value ([`Client::with_token`]), so a signed-out and a signed-in handle can coexist.
//! * Every request carries the API-version header; every answer's version header is checked, and a
//!   different version is [`SyncError::IncompatibleVersion`] whatever the status.
//! * Timeouts: connect, a total deadline per call (longer for uploads), and an idle-read timeout
//!   that also detects a dead event stream (the service sends a keep-alive every 15 s).
//! * Redirects are not followed: an API never redirects, and following one would carry the bearer
//!   token (or a screenshot) somewhere the user did not type. See [`crate::error`] for how a 3xx
//!   is classified.
//! * Answers are read with size caps, so a broken or hostile peer cannot exhaust memory.
//! * Nothing here logs a token, a password or image bytes: the `Authorization` header is marked
//!   sensitive, and `Debug` of a `Client` shows only whether it holds a token.
//!
//! Idempotency lives in the ids (R25): timer starts, stops and uploads carry client-generated ids,
//! so the caller retries any [`SyncError::is_retryable`] failure with the same arguments.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shotclock_api::dto::{
    ApprovalReport, ApprovalWeek, ApprovePeriod, DayCounts, DeleteReport, EditReport, Entry,
    EntryDeleteReport, EntryList, EntryPatch, Health, LoginRequest, Me, MemberList, NewEntry,
    Notification, NotificationList, Screenshot, ScreenshotList, SessionInfo, StartTimerRequest,
    StopTimerRequest, TimerState, UpdateSettingsRequest, UploadReceipt, WorkspaceSettings,
};
use shotclock_api::{
    API_VERSION, API_VERSION_HEADER, ApiError, EntryId, NotificationId, ScreenshotId, UserId,
    WorkspaceId,
};

use crate::base_url::{is_loopback, parse_base_url};
use crate::error::{
    AuthContext, DecodeError, NetworkError, NetworkErrorKind, SyncError, classify,
    parse_retry_after, synthesize,
};

/// Largest JSON answer accepted (an entry list of 92 days is far below this).
const MAX_JSON_BYTES: u64 = 32 * 1024 * 1024;
/// Largest image accepted from `GET /screenshots/{id}/image`.
const MAX_IMAGE_BYTES: u64 = 32 * 1024 * 1024;
/// How much of an error answer is read.
const MAX_ERROR_BYTES: u64 = 64 * 1024;

/// Network settings of a [`Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Time to establish a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Total deadline of an ordinary call, answer included.
    pub request_timeout: Duration,
    /// Total deadline of a screenshot upload or image download.
    pub transfer_timeout: Duration,
    /// Longest silence while reading an answer. The event stream relies on it to notice a dead
    /// connection: the service sends a keep-alive every 15 s, so keep this well above that.
    pub idle_timeout: Duration,
    /// `User-Agent` sent with every request.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            transfer_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(45),
            user_agent: concat!("shotclock-sync/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// The typed client of the workspace service. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<Url>,
    options: Arc<ClientOptions>,
    /// `Bearer …`, marked sensitive. `None`: signed out (or a token unusable in a header).
    auth: Option<HeaderValue>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base.as_str())
            .field("signed_in", &self.auth.is_some())
            .finish_non_exhaustive()
    }
}

/// One screenshot to upload (`PUT /screenshots/{id}`). The service reads width and height from
/// the WebP header itself.
#[derive(Clone, PartialEq, Eq)]
pub struct ScreenshotUpload {
    /// Client-generated id, fixed at capture (R25): retries reuse it.
    pub id: ScreenshotId,
    /// The entry that was running when it was taken (R15).
    pub entry_id: EntryId,
    /// Capture instant.
    pub captured_at: DateTime<Utc>,
    /// The WebP bytes.
    pub bytes: Bytes,
}

impl std::fmt::Debug for ScreenshotUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bytes themselves.
        f.debug_struct("ScreenshotUpload")
            .field("id", &self.id)
            .field("entry_id", &self.entry_id)
            .field("captured_at", &self.captured_at)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A prepared call: method, path relative to the base URL, query, auth and deadline.
struct Call {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    context: AuthContext,
    timeout: Option<Duration>,
}

impl Call {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            context: AuthContext::Session,
            timeout: None,
        }
    }

    fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    fn query_opt(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    fn anonymous(mut self) -> Self {
        self.context = AuthContext::Anonymous;
        self
    }

    fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// `METHOD /path` for error messages (no query: it carries nothing a reader needs).
    fn name(&self) -> String {
        format!("{} /{}", self.method, self.path)
    }
}

/// RFC 3339 in UTC to the millisecond: the precision the service keeps, so what is sent is what
/// is stored.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Client {
    /// A client of the service at `base_url` with default [`ClientOptions`]. The URL must be
    /// `https`, or `http` to a loopback host (R2); see [`crate::base_url`].
    pub fn new(base_url: impl AsRef<str>) -> Result<Self, SyncError> {
        Self::with_options(base_url, ClientOptions::default())
    }

    /// A client with explicit network settings.
    pub fn with_options(
        base_url: impl AsRef<str>,
        options: ClientOptions,
    ) -> Result<Self, SyncError> {
        let base = parse_base_url(base_url.as_ref())?;
        let mut headers = HeaderMap::new();
        headers.insert(API_VERSION_HEADER, HeaderValue::from(API_VERSION));
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(options.user_agent.clone())
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.idle_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_keepalive(Duration::from_secs(30))
            .tls_backend_rustls();
        if is_loopback(&base) {
            // Nothing on this computer is reached through a proxy.
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| SyncError::Init(e.to_string()))?;
        Ok(Self {
            http,
            base: Arc::new(base),
            options: Arc::new(options),
            auth: None,
        })
    }

    /// The normalised service URL (ends with `/`).
    #[must_use]
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The network settings.
    #[must_use]
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// A handle that sends `token` as its bearer token (sharing this one's connections).
    /// A token that cannot be sent in a header is treated as no token: calls then fail with
    /// [`SyncError::Unauthorized`].
    #[must_use]
    pub fn with_token(&self, token: &str) -> Self {
        let mut c = self.clone();
        c.set_token(Some(token));
        c
    }

    /// A handle without a token (sharing this one's connections).
    #[must_use]
    pub fn without_token(&self) -> Self {
        let mut c = self.clone();
        c.auth = None;
        c
    }

    /// Sets or clears this handle's token.
    pub fn set_token(&mut self, token: Option<&str>) {
        self.auth = token.and_then(|t| {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", t.trim())).ok()?;
            v.set_sensitive(true);
            Some(v)
        });
    }

    /// Whether this handle holds a token.
    #[must_use]
    pub fn has_token(&self) -> bool {
        self.auth.is_some()
    }

    // ---- plumbing -------------------------------------------------------------------------

    fn request(&self, call: &Call) -> Result<RequestBuilder, SyncError> {
        let mut url = self
            .base
            .join(&call.path)
            .map_err(|e| SyncError::invalid_url(format!("cannot build {}: {e}", call.name())))?;
        if !call.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &call.query {
                pairs.append_pair(k, v);
            }
        }
        let mut rb = self.http.request(call.method.clone(), url);
        if let Some(timeout) = call.timeout {
            rb = rb.timeout(timeout);
        }
        match (&self.auth, call.context) {
            (Some(auth), _) => Ok(rb.header(header::AUTHORIZATION, auth.clone())),
            (None, AuthContext::Anonymous) => Ok(rb),
            (None, AuthContext::Session) => Err(SyncError::Unauthorized),
        }
    }

    /// Sends and turns every non-2xx answer into its [`SyncError`].
    async fn send(&self, call: &Call, rb: RequestBuilder) -> Result<Response, SyncError> {
        let resp = rb.send().await?;
        check_answer(call, resp).await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        call: Call,
        body: Option<&impl Serialize>,
    ) -> Result<T, SyncError> {
        let call = if call.timeout.is_none() {
            let t = self.options.request_timeout;
            call.timeout(t)
        } else {
            call
        };
        let mut rb = self.request(&call)?;
        if let Some(body) = body {
            rb = rb.json(body);
        }
        let resp = self.send(&call, rb).await?;
        decode(&call, resp).await
    }

    async fn no_content(&self, call: Call) -> Result<(), SyncError> {
        let call = call.timeout(self.options.request_timeout);
        let rb = self.request(&call)?;
        self.send(&call, rb).await.map(drop)
    }

    /// Opens `GET /api/v1/events` (the event stream reads the body).
    pub(crate) async fn open_events(&self, capture: Option<bool>) -> Result<Response, SyncError> {
        let call = Call::new(Method::GET, "api/v1/events")
            .query_opt("capture", capture.map(|on| if on { "on" } else { "off" }));
        let rb = self
            .request(&call)?
            .header(header::ACCEPT, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache");
        // Deadline for the answer's head only: the body is endless (idle reads time out instead).
        let resp = tokio::time::timeout(self.options.request_timeout, self.send(&call, rb))
            .await
            .map_err(|_| NetworkError::without_source(NetworkErrorKind::Timeout))??;
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("text/event-stream") {
            return Err(SyncError::decode(
                &call.name(),
                DecodeError::ContentType(content_type.to_owned()),
            ));
        }
        Ok(resp)
    }

    // ---- health and sessions ----------------------------------------------------------------

    /// `GET /healthz`: whether the service is up and speaks this client's API version (use it
    /// to check an address before signing in).
    pub async fn health(&self) -> Result<Health, SyncError> {
        let health: Health = self
            .json(Call::new(Method::GET, "healthz").anonymous(), None::<&()>)
            .await?;
        if health.api_version != API_VERSION {
            return Err(SyncError::IncompatibleVersion {
                service: Some(health.api_version.to_string()),
                client: API_VERSION,
            });
        }
        Ok(health)
    }

    /// `POST /auth/login`. On success, continue with `client.with_token(&session.token)`.
    /// A wrong email or password is [`SyncError::Rejected`] with
    /// [`ErrorCode::Unauthorized`](shotclock_api::ErrorCode::Unauthorized); too many attempts are a
    /// retryable [`SyncError::Server`] (429) with [`SyncError::retry_after`].
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        workspace: Option<WorkspaceId>,
    ) -> Result<SessionInfo, SyncError> {
        let body = LoginRequest {
            workspace,
            email: email.to_owned(),
            password: password.to_owned(),
        };
        self.json(
            Call::new(Method::POST, "api/v1/auth/login").anonymous(),
            Some(&body),
        )
        .await
    }

    /// `POST /auth/logout`: revokes this handle's token on the service. A token the service no
    /// longer accepts (or no token) counts as signed out already.
    pub async fn logout(&self) -> Result<(), SyncError> {
        if self.auth.is_none() {
            return Ok(());
        }
        match self
            .no_content(Call::new(Method::POST, "api/v1/auth/logout"))
            .await
        {
            Ok(()) | Err(SyncError::Unauthorized) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `GET /me`: the signed-in user and their workspace.
    pub async fn me(&self) -> Result<Me, SyncError> {
        self.json(Call::new(Method::GET, "api/v1/me"), None::<&()>)
            .await
    }

    // ---- workspace, notifications, members ------------------------------------------------------

    /// `GET /workspace`.
    pub async fn workspace(&self) -> Result<WorkspaceSettings, SyncError> {
        self.json(Call::new(Method::GET, "api/v1/workspace"), None::<&()>)
            .await
    }

    /// `PATCH /workspace` (admins). Absent fields stay as they are.
    pub async fn update_workspace(
        &self,
        patch: &UpdateSettingsRequest,
    ) -> Result<WorkspaceSettings, SyncError> {
        self.json(Call::new(Method::PATCH, "api/v1/workspace"), Some(patch))
            .await
    }

    /// `POST /workspace/trial`: starts the one-time screenshot trial (admins, R5).
    pub async fn start_trial(&self) -> Result<WorkspaceSettings, SyncError> {
        self.json(
            Call::new(Method::POST, "api/v1/workspace/trial"),
            None::<&()>,
        )
        .await
    }

    /// `GET /notifications`, newest first.
    pub async fn notifications(&self) -> Result<NotificationList, SyncError> {
        self.json(Call::new(Method::GET, "api/v1/notifications"), None::<&()>)
            .await
    }

    /// `POST /notifications/{id}/read`.
    pub async fn mark_notification_read(
        &self,
        id: NotificationId,
    ) -> Result<Notification, SyncError> {
        self.json(
            Call::new(Method::POST, format!("api/v1/notifications/{id}/read")),
            None::<&()>,
        )
        .await
    }

    /// `GET /members`: the workspace's members, deactivated ones included (everyone reads it).
    pub async fn members(&self) -> Result<MemberList, SyncError> {
        self.json(Call::new(Method::GET, "api/v1/members"), None::<&()>)
            .await
    }

    // ---- timer and entries --------------------------------------------------------------------

    /// `GET /timer`: what runs now.
    pub async fn timer(&self) -> Result<TimerState, SyncError> {
        self.json(Call::new(Method::GET, "api/v1/timer"), None::<&()>)
            .await
    }

    /// `POST /timer/start` with a client-generated entry id (a retry with the same id is a
    /// no-op). `start` defaults to the service's now. A running entry is stopped at `start`.
    pub async fn start_timer(
        &self,
        entry_id: EntryId,
        description: &str,
        start: Option<DateTime<Utc>>,
    ) -> Result<TimerState, SyncError> {
        let body = StartTimerRequest {
            entry_id,
            description: description.to_owned(),
            start,
        };
        self.json(Call::new(Method::POST, "api/v1/timer/start"), Some(&body))
            .await
    }

    /// `POST /timer/stop`: stops `entry_id` (default: whatever runs) at `end` (default: the
    /// service's now). Stopping a stopped entry is a no-op, so retries are safe.
    pub async fn stop_timer(
        &self,
        entry_id: Option<EntryId>,
        end: Option<DateTime<Utc>>,
    ) -> Result<TimerState, SyncError> {
        let body = StopTimerRequest { entry_id, end };
        self.json(Call::new(Method::POST, "api/v1/timer/stop"), Some(&body))
            .await
    }

    /// `GET /entries`: entries starting in `[from, to)` (service defaults: the last 7 days up to
    /// tomorrow; at most 92 days), of `user` (default: the caller; admins may name any member).
    pub async fn entries(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        user: Option<UserId>,
    ) -> Result<EntryList, SyncError> {
        let call = Call::new(Method::GET, "api/v1/entries")
            .query_opt("from", from.map(rfc3339))
            .query_opt("to", to.map(rfc3339))
            .query_opt("user_id", user);
        self.json(call, None::<&()>).await
    }

    /// `GET /entries/{id}`: one entry (own, or the workspace's for admins); `None` when the
    /// service has no such entry, or does not show it to this account.
    pub async fn entry(&self, id: EntryId) -> Result<Option<Entry>, SyncError> {
        let call = Call::new(Method::GET, format!("api/v1/entries/{id}"));
        match self.json(call, None::<&()>).await {
            Ok(entry) => Ok(Some(entry)),
            Err(e) if e.code() == Some(shotclock_api::ErrorCode::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /entries/{id}`: deletes an entry with its screenshots (R15). A second delete of
    /// the same entry is `Rejected` with `not_found`.
    pub async fn delete_entry(&self, id: EntryId) -> Result<(), SyncError> {
        self.no_content(Call::new(Method::DELETE, format!("api/v1/entries/{id}")))
            .await
    }

    /// `DELETE /entries/{id}?dry_run=true`: what deleting the entry would do (its description,
    /// tracked time and how many screenshots go with it), refused exactly as the delete would
    /// be (another's, locked, approved); nothing changes.
    pub async fn delete_entry_dry_run(&self, id: EntryId) -> Result<EntryDeleteReport, SyncError> {
        let call = Call::new(Method::DELETE, format!("api/v1/entries/{id}")).query("dry_run", true);
        self.json(call, None::<&()>).await
    }

    /// `GET /approvals?day&tz` (admins): every active member's entries starting in the ISO week
    /// holding `day` in IANA zone `tz`, each with its screenshot count.
    pub async fn approvals(&self, day: NaiveDate, tz: &str) -> Result<ApprovalWeek, SyncError> {
        let call = Call::new(Method::GET, "api/v1/approvals")
            .query("day", day.format("%Y-%m-%d"))
            .query("tz", tz);
        self.json(call, None::<&()>).await
    }

    /// `PATCH /entries/{id}[?dry_run=true]`: edits an entry's description, start or end (R39).
    /// Screenshots the new times exclude go only with `patch.confirm`; without it such an edit
    /// is `Rejected` with `confirmation_required`. `dry_run` reports what the edit would do.
    pub async fn edit_entry(
        &self,
        id: EntryId,
        patch: &EntryPatch,
        dry_run: bool,
    ) -> Result<EditReport, SyncError> {
        let call =
            Call::new(Method::PATCH, format!("api/v1/entries/{id}")).query("dry_run", dry_run);
        self.json(call, Some(patch)).await
    }

    /// `POST /entries`: adds a manual entry (R39); a retry with the same id and times answers
    /// the same entry.
    pub async fn add_entry(&self, entry: &NewEntry) -> Result<Entry, SyncError> {
        self.json(Call::new(Method::POST, "api/v1/entries"), Some(entry))
            .await
    }

    /// `POST /approvals`: approves or withdraws approval of a member's day or week (admins).
    pub async fn approve_period(
        &self,
        request: &ApprovePeriod,
    ) -> Result<ApprovalReport, SyncError> {
        self.json(Call::new(Method::POST, "api/v1/approvals"), Some(request))
            .await
    }

    // ---- screenshots --------------------------------------------------------------------------

    /// `PUT /screenshots/{id}`: uploads a screenshot idempotently. The service answers after its
    /// commit; `created: false` means it already had these exact bytes (a retry) — also a success.
    /// The same id with different bytes is `Rejected` with `conflict`.
    pub async fn upload_screenshot(
        &self,
        upload: &ScreenshotUpload,
    ) -> Result<UploadReceipt, SyncError> {
        let call = Call::new(Method::PUT, format!("api/v1/screenshots/{}", upload.id))
            .query("entry_id", upload.entry_id)
            .query("captured_at", rfc3339(upload.captured_at))
            .timeout(self.options.transfer_timeout);
        let rb = self
            .request(&call)?
            .header(header::CONTENT_TYPE, "image/webp")
            .body(upload.bytes.clone());
        let resp = self.send(&call, rb).await?;
        decode(&call, resp).await
    }

    /// `GET /screenshots?user_id&date&tz`: one member's screenshots of a day in the viewer's IANA
    /// time zone `tz`, oldest first (R17). `user` defaults to the caller.
    pub async fn screenshots_of_day(
        &self,
        user: Option<UserId>,
        date: NaiveDate,
        tz: &str,
    ) -> Result<ScreenshotList, SyncError> {
        let call = Call::new(Method::GET, "api/v1/screenshots")
            .query_opt("user_id", user)
            .query("date", date.format("%Y-%m-%d"))
            .query("tz", tz);
        self.json(call, None::<&()>).await
    }

    /// `GET /screenshots/counts?date&tz`: per active member, how many screenshots that day (R17).
    pub async fn screenshot_counts(
        &self,
        date: NaiveDate,
        tz: &str,
    ) -> Result<DayCounts, SyncError> {
        let call = Call::new(Method::GET, "api/v1/screenshots/counts")
            .query("date", date.format("%Y-%m-%d"))
            .query("tz", tz);
        self.json(call, None::<&()>).await
    }

    /// `GET /screenshots/{id}`: one screenshot's metadata.
    pub async fn screenshot(&self, id: ScreenshotId) -> Result<Screenshot, SyncError> {
        self.json(
            Call::new(Method::GET, format!("api/v1/screenshots/{id}")),
            None::<&()>,
        )
        .await
    }

    /// `GET /screenshots/{id}/image`: the WebP bytes.
    pub async fn screenshot_image(&self, id: ScreenshotId) -> Result<Bytes, SyncError> {
        let call = Call::new(Method::GET, format!("api/v1/screenshots/{id}/image"))
            .timeout(self.options.transfer_timeout);
        let rb = self.request(&call)?;
        let resp = self.send(&call, rb).await?;
        match read_capped(resp, MAX_IMAGE_BYTES).await? {
            (bytes, false) => Ok(bytes),
            (_, true) => Err(SyncError::decode(
                &call.name(),
                DecodeError::TooLarge {
                    limit: MAX_IMAGE_BYTES,
                },
            )),
        }
    }

    /// `DELETE /screenshots/{id}[?dry_run=true]`: deletes a screenshot for good (R19–R22), or with
    /// `dry_run` reports what the delete would do (for the confirmation dialog).
    pub async fn delete_screenshot(
        &self,
        id: ScreenshotId,
        dry_run: bool,
    ) -> Result<DeleteReport, SyncError> {
        let call =
            Call::new(Method::DELETE, format!("api/v1/screenshots/{id}")).query("dry_run", dry_run);
        self.json(call, None::<&()>).await
    }

    /// `DELETE /screenshots/{id}?entry_id=…&captured_at=…`: deletes the caller's screenshot
    /// that never reached the service (deleted on this device while it waited to be sent). The
    /// service applies the same policy as for a stored one, once; a retry answers not found.
    pub async fn delete_unsent_screenshot(
        &self,
        id: ScreenshotId,
        entry_id: EntryId,
        captured_at: DateTime<Utc>,
    ) -> Result<DeleteReport, SyncError> {
        let call = Call::new(Method::DELETE, format!("api/v1/screenshots/{id}"))
            .query("entry_id", entry_id)
            .query("captured_at", rfc3339(captured_at));
        self.json(call, None::<&()>).await
    }

    /// `GET /workspace/blocklist`: the workspace's blocked-window rules (R34).
    pub async fn workspace_blocklist(
        &self,
    ) -> Result<shotclock_api::privacy::WorkspaceBlocklist, SyncError> {
        self.json(
            Call::new(Method::GET, "api/v1/workspace/blocklist"),
            None::<&()>,
        )
        .await
    }

    /// `PUT /workspace/blocklist` (admins): replaces the workspace's rules.
    pub async fn set_workspace_blocklist(
        &self,
        list: &shotclock_api::privacy::WorkspaceBlocklist,
    ) -> Result<shotclock_api::privacy::WorkspaceBlocklist, SyncError> {
        self.json(
            Call::new(Method::PUT, "api/v1/workspace/blocklist"),
            Some(list),
        )
        .await
    }

    /// `GET /access-log`: who else viewed or deleted the caller's screenshots (R35).
    pub async fn access_log(&self) -> Result<shotclock_api::privacy::AccessLog, SyncError> {
        self.json(Call::new(Method::GET, "api/v1/access-log"), None::<&()>)
            .await
    }

    // ---- presence and managing members (R38) ------------------------------------------------

    /// `PUT /presence`: capture turned on or off in this recording app (its event stream, opened
    /// by [`Client::app_events`], carries the state at each connect).
    pub async fn report_capture(&self, capture: bool) -> Result<(), SyncError> {
        let call = Call::new(Method::PUT, "api/v1/presence").timeout(self.options.request_timeout);
        let rb = self
            .request(&call)?
            .json(&shotclock_api::dto::PresenceUpdate { capture });
        self.send(&call, rb).await.map(drop)
    }

    /// `GET /invitations` (admins): pending invitations.
    pub async fn invitations(&self) -> Result<shotclock_api::dto::InvitationList, SyncError> {
        self.json(Call::new(Method::GET, "api/v1/invitations"), None::<&()>)
            .await
    }

    /// `POST /invitations` (admins): a one-time sign-up link, its secret shown this once.
    pub async fn invite(
        &self,
        request: &shotclock_api::dto::InviteRequest,
    ) -> Result<shotclock_api::dto::CreatedInvitation, SyncError> {
        self.json(Call::new(Method::POST, "api/v1/invitations"), Some(request))
            .await
    }

    /// `DELETE /invitations/{id}` (admins): the link stops working.
    pub async fn revoke_invitation(
        &self,
        id: shotclock_api::InvitationId,
    ) -> Result<(), SyncError> {
        self.no_content(Call::new(
            Method::DELETE,
            format!("api/v1/invitations/{id}"),
        ))
        .await
    }

    /// `PATCH /members/{id}` (admins): role, deactivate or reactivate.
    pub async fn update_member(
        &self,
        id: UserId,
        request: &shotclock_api::dto::UpdateMemberRequest,
    ) -> Result<shotclock_api::dto::Member, SyncError> {
        self.json(
            Call::new(Method::PATCH, format!("api/v1/members/{id}")),
            Some(request),
        )
        .await
    }

    /// `DELETE /members/{id}` (admins): the member and their data go.
    pub async fn remove_member(&self, id: UserId) -> Result<(), SyncError> {
        self.no_content(Call::new(Method::DELETE, format!("api/v1/members/{id}")))
            .await
    }

    // ---- single sign-on settings (R31) ------------------------------------------------------

    /// `GET /workspace/sso` (admins): the workspace's identity provider settings, without the
    /// client secret.
    pub async fn sso_settings(&self) -> Result<shotclock_api::sso::SsoSettings, SyncError> {
        self.json(Call::new(Method::GET, "api/v1/workspace/sso"), None::<&()>)
            .await
    }

    /// `PUT /workspace/sso` (admins): links the workspace to an identity provider, or changes
    /// the link; the service checks the provider's discovery document and keys first.
    pub async fn set_sso_settings(
        &self,
        update: &shotclock_api::sso::SsoSettingsUpdate,
    ) -> Result<shotclock_api::sso::SsoSettings, SyncError> {
        self.json(Call::new(Method::PUT, "api/v1/workspace/sso"), Some(update))
            .await
    }

    /// `DELETE /workspace/sso` (admins): unlinks the identity provider.
    pub async fn unlink_sso(&self) -> Result<(), SyncError> {
        self.no_content(Call::new(Method::DELETE, "api/v1/workspace/sso"))
            .await
    }

    // ---- single sign-on of a native app (R31, RFC 8252) ----------------------------------------

    /// Where the browser starts `email`'s sign-in through the workspace's identity provider
    /// (`GET /sso/start?client=app…`): the service sends it on to the provider and, when the
    /// provider agrees, back to `redirect_uri` (the app's loopback listener) with a one-time
    /// code and `state`. `challenge` is the S256 PKCE challenge of the verifier that
    /// [`Client::sso_token`] sends.
    #[must_use]
    pub fn sso_start_url(
        &self,
        email: &str,
        challenge: &str,
        redirect_uri: &str,
        state: &str,
    ) -> Url {
        let mut url = (*self.base).clone();
        url.set_path(&format!("{}api/v1/sso/start", self.base.path()));
        url.query_pairs_mut()
            .append_pair("client", "app")
            .append_pair("email", email)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        url
    }

    /// `POST /sso/token`: trades the one-time code the loopback listener received, with the
    /// PKCE verifier, for the same session a password sign-in gives. A used, expired or
    /// unknown code, or a verifier that does not match, is [`SyncError::Rejected`] (401).
    pub async fn sso_token(&self, code: &str, verifier: &str) -> Result<SessionInfo, SyncError> {
        let body = shotclock_api::sso::SsoTokenRequest {
            code: code.to_owned(),
            code_verifier: verifier.to_owned(),
        };
        self.json(
            Call::new(Method::POST, "api/v1/sso/token").anonymous(),
            Some(&body),
        )
        .await
    }
}

/// Checks the answer's API version and status; a 2xx passes through.
async fn check_answer(call: &Call, resp: Response) -> Result<Response, SyncError> {
    let service_version = resp
        .headers()
        .get(API_VERSION_HEADER)
        .map(|v| v.to_str().unwrap_or("?").trim().to_owned());
    if let Some(v) = &service_version
        && v.parse::<u32>().ok() != Some(API_VERSION)
    {
        return Err(SyncError::IncompatibleVersion {
            service: Some(v.clone()),
            client: API_VERSION,
        });
    }
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let status = status.as_u16();
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()));
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // A body cut short still leaves the status to go by.
    let body = read_capped(resp, MAX_ERROR_BYTES)
        .await
        .map(|(b, _)| b)
        .unwrap_or_default();
    let mut error =
        serde_json::from_slice::<ApiError>(&body).unwrap_or_else(|_| synthesize(status, &body));
    if let Some(to) = location {
        error.message = format!("the service redirects to {to}; {}", error.message);
    }
    let mut err = classify(status, error, retry_after, call.context);
    if let SyncError::IncompatibleVersion { service, .. } = &mut err {
        *service = service_version;
    }
    Err(err)
}

/// Reads and decodes a JSON answer.
async fn decode<T: DeserializeOwned>(call: &Call, resp: Response) -> Result<T, SyncError> {
    let (body, truncated) = read_capped(resp, MAX_JSON_BYTES).await?;
    if truncated {
        return Err(SyncError::decode(
            &call.name(),
            DecodeError::TooLarge {
                limit: MAX_JSON_BYTES,
            },
        ));
    }
    serde_json::from_slice(&body).map_err(|e| SyncError::decode(&call.name(), e))
}

/// Reads at most `limit` bytes of the body; the flag says whether there was more.
/// An announced length over the limit is read like any other body (up to the limit), so an
/// answer's first bytes are the same however it was sent.
async fn read_capped(mut resp: Response, limit: u64) -> Result<(Bytes, bool), SyncError> {
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if buf.len() + chunk.len() > cap {
            let room = cap - buf.len();
            buf.extend_from_slice(chunk.get(..room).unwrap_or_default());
            return Ok((Bytes::from(buf), true));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((Bytes::from(buf), false))
}
