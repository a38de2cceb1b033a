//! The HTTP surface: routes, extractors, wire conversions and the OpenAPI document.
//!
//! Every operation is declared once with `#[utoipa::path]` and registered through
//! `utoipa_axum::OpenApiRouter`, so the served router and `/api/v1/openapi.json` cannot drift
//! apart (the authorization-matrix test walks the document and fails on any operation without
//! expectations).
//!
//! Cross-cutting behaviour:
//! * every response carries the API-version header; a request that sends an incompatible version
//!   is refused with `api_version` before any handler runs;
//! * JSON bodies are limited to `Config::max_json_bytes` (413) and their rejections are mapped to
//!   `{code, message}` (400 syntax, 422 data such as unknown enum values, 415 content type);
//! * unknown `/api` routes answer exactly like missing objects (404 `not_found`); other paths
//!   are the web app's (`crate::web`); a known path with
//!   another method answers 405 `method_not_allowed` with `Allow`;
//! * JSON bodies must be objects: an array or a scalar is refused before deserializing, so a
//!   positional form can never change anything;
//! * every response carries `X-Content-Type-Options: nosniff`, and `Cache-Control: no-store`
//!   unless the handler chose otherwise (private data never lands in a cache, and a deleted
//!   screenshot cannot linger in one, R24), and the page-protection headers of `crate::web`
//!   (CSP, frame denial); no CORS headers are served;
//! * one structured log line per request (method, route template, status, latency, request id
//!   — never the raw path, tokens or bodies), and its counters at `GET /metrics`.

mod auth;
pub use auth::create_workspace;
mod contract;
mod entries;
mod events;
mod invitations;
mod members;
mod notifications;
mod presence;
mod privacy;
mod screenshots;
mod sso;
mod timer;
mod web;
mod workspace;

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use shotclock_api::dto::{
    Entry, Health, Member, Notification, Screenshot, TimeSpan, WorkspaceSettings,
};
use shotclock_api::{API_VERSION, API_VERSION_HEADER, ApiError, ErrorCode};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::error::{Error, Result};
use crate::intents::ShownScreenshot;
use crate::store::{EntryRow, NotificationRow, UserRow, WorkspaceRow};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Shotclock workspace service",
        description = "Time tracking with privacy-first screenshots. All endpoints except login, \
                       signup and health need `Authorization: Bearer <token>`, or the browser \
                       session cookie `shotclock_session` set by `/api/v1/web/login`; with the \
                       cookie, every method but GET also needs `X-Shotclock: 1` and this \
                       service's own `Origin`."
    ),
    modifiers(&BearerAuth),
    components(schemas(ApiError))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and the OpenAPI document describing them.
pub fn openapi_router() -> (Router<App>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::signup))
        .routes(routes!(web::login))
        .routes(routes!(web::logout))
        .routes(routes!(auth::me, auth::delete_me))
        .routes(routes!(members::list, members::add))
        .routes(routes!(members::update, members::remove))
        .routes(routes!(workspace::get, workspace::update))
        .routes(routes!(workspace::start_trial))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::mark_read))
        .routes(routes!(timer::current))
        .routes(routes!(timer::start))
        .routes(routes!(timer::stop))
        .routes(routes!(entries::list, entries::add))
        .routes(routes!(entries::get, entries::delete, entries::edit))
        .routes(routes!(entries::approve))
        .routes(routes!(entries::approve_period, entries::approval_week))
        .routes(routes!(screenshots::day))
        .routes(routes!(screenshots::counts))
        .routes(routes!(
            screenshots::upload,
            screenshots::meta,
            screenshots::delete
        ))
        .routes(routes!(screenshots::image))
        .routes(routes!(events::stream))
        .routes(routes!(invitations::create, invitations::list))
        .routes(routes!(invitations::revoke))
        .routes(routes!(invitations::accept))
        .routes(routes!(privacy::get_blocklist, privacy::set_blocklist))
        .routes(routes!(privacy::access_log))
        .routes(routes!(presence::report))
        .routes(routes!(sso::get_settings, sso::set_settings))
        .routes(routes!(sso::start))
        .routes(routes!(sso::callback))
        .routes(routes!(sso::token))
        .routes(routes!(sso::delete_settings))
        .split_for_parts()
}

/// The OpenAPI 3.1 document the service serves at `/api/v1/openapi.json`.
#[must_use]
pub fn document() -> serde_json::Value {
    let (_, doc) = openapi_router();
    contract::complete(serde_json::to_value(doc).unwrap_or_default())
}

/// The service's router (state included).
pub fn router(app: App) -> Router {
    let (routes, _) = openapi_router();
    let doc_json: Arc<str> = document().to_string().into();
    let max_json = app.config().max_json_bytes;
    routes
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = Arc::clone(&doc_json);
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        doc.to_string(),
                    )
                }
            }),
        )
        .route("/metrics", get(metrics))
        .fallback(crate::web::fallback)
        .method_not_allowed_fallback(|| async {
            Error::api(
                ErrorCode::MethodNotAllowed,
                "this path does not take that method; see the Allow header",
            )
        })
        .layer(DefaultBodyLimit::max(max_json))
        .layer(middleware::from_fn_with_state(app.clone(), web::sessions))
        .layer(middleware::from_fn(api_version))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .with_state(app)
}

/// Request counters in Prometheus' text format.
async fn metrics(State(app): State<App>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics_text(),
    )
}

/// The header that carries a request's id (taken from the client when sane, else made here).
const REQUEST_ID: &str = "x-request-id";

/// Logs and counts every request, gives it an id, and sets the headers every answer carries.
async fn observe(State(app): State<App>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().as_str().to_owned();
    // The route template, never the raw path: paths carry ids.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(unmatched)", |m| m.as_str())
        .to_owned();
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let mut res = next.run(req).await;
    let took = started.elapsed();
    let status = res.status().as_u16();
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    crate::web::protect(headers);
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, value);
    }
    app.metrics().record(&route, &method, status, took);
    tracing::info!(
        target: "shotclock_server::request",
        %method,
        %route,
        status,
        ms = took.as_secs_f64() * 1000.0,
        request_id = %id,
        "request"
    );
    res
}

async fn api_version(req: Request, next: Next) -> Response {
    if let Some(v) = req.headers().get(API_VERSION_HEADER) {
        let sent = v.to_str().ok().and_then(|s| s.trim().parse::<u32>().ok());
        if sent != Some(API_VERSION) {
            return Error::api(
                ErrorCode::ApiVersion,
                format!(
                    "unsupported API version {:?}; this service speaks version {API_VERSION} — \
                     update the app",
                    v.to_str().unwrap_or("?")
                ),
            )
            .into_response();
        }
    }
    let mut res = next.run(req).await;
    res.headers_mut()
        .insert(API_VERSION_HEADER, HeaderValue::from(API_VERSION));
    res
}

/// Liveness probe.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health)))]
async fn health(State(app): State<App>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        api_version: API_VERSION,
        server_time: Some(app.now()),
    })
}

// ---- extractors with `{code, message}` rejections --------------------------------------------

/// JSON body extractor whose rejections are [`Error`]s.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let (parts, bytes) = object_body(req, state).await?;
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(match rejection {
                JsonRejection::JsonDataError(e) => Error::validation(e.body_text()),
                JsonRejection::JsonSyntaxError(e) => Error::bad_request(e.body_text()),
                JsonRejection::MissingJsonContentType(_) => Error::api(
                    ErrorCode::UnsupportedMediaType,
                    "expected Content-Type: application/json",
                ),
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    Error::api(ErrorCode::PayloadTooLarge, "request body too large")
                }
                other => Error::bad_request(other.body_text()),
            }),
        }
    }
}

/// Reads a body within the size limit (413 as `{code, message}`) and refuses anything but a
/// JSON object (or nothing): a positional array must never be read as fields.
async fn object_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(Parts, axum::body::Bytes)> {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::Bytes::from_request(
        Request::from_parts(parts.clone(), body),
        state,
    )
    .await
    {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(Error::api(
                ErrorCode::PayloadTooLarge,
                "request body too large",
            ));
        }
        Err(e) => return Err(Error::bad_request(e.body_text())),
    };
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(Error::bad_request("the request body must be a JSON object"));
    }
    Ok((parts, bytes))
}

/// An optional JSON-object body: `None` when the body is empty.
#[derive(Debug)]
pub struct ApiOptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiOptionalJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let (_, bytes) = object_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        serde_json::from_slice(&bytes)
            .map(|v| Self(Some(v)))
            .map_err(|e| Error::validation(e.to_string()))
    }
}

/// Query-string extractor whose rejections are [`Error`]s.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| Error::validation(e.body_text()))
    }
}

/// Path extractor whose rejections are [`Error`]s.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| Error::bad_request(e.body_text()))
    }
}

// ---- conversions and shared checks -----------------------------------------------------------

pub(crate) fn member_dto(u: &UserRow) -> Member {
    Member {
        id: u.id,
        workspace_id: u.workspace_id,
        email: u.email.clone(),
        name: u.name.clone(),
        role: u.role,
        active: u.active,
        created_at: u.created_at,
        presence: None,
    }
}

pub(crate) fn settings_dto(app: &App, ws: &WorkspaceRow) -> WorkspaceSettings {
    let gate = ws.gate();
    let now = app.now();
    WorkspaceSettings {
        id: ws.id,
        name: ws.name.clone(),
        plan: ws.plan,
        screenshots_enabled: ws.screenshots_enabled,
        blur_enabled: ws.blur_enabled,
        lock_date: ws.lock_date,
        capture_window_secs: app.config().capture_window_secs,
        trial_started_at: ws.trial_started_at,
        trial_ends_at: gate.trial_ends_at(),
        trial_available: gate.can_start_trial(),
        capture_allowed: gate.capture_allowed(now).is_ok(),
    }
}

pub(crate) fn entry_dto(
    e: &EntryRow,
    lock_date: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Entry {
    Entry {
        id: e.id,
        user_id: e.user_id,
        description: e.description.clone(),
        start: e.times.start,
        end: e.times.end,
        removed: e
            .times
            .removed
            .spans()
            .iter()
            .map(|s| TimeSpan {
                start: s.start,
                end: s.end,
            })
            .collect(),
        deducted_secs: e.times.deducted(now).num_seconds(),
        duration_secs: e.times.duration(now).num_seconds(),
        approved: e.approved,
        locked: shotclock_domain::lock::is_locked(e.times.start, lock_date),
        manual: e.manual,
    }
}

pub(crate) fn screenshot_dto(shown: &ShownScreenshot) -> Screenshot {
    let v = &shown.view;
    Screenshot {
        id: v.row.id,
        entry_id: v.row.entry_id,
        user_id: v.row.user_id,
        captured_at: v.row.captured_at,
        entry_description: v.entry_description.clone(),
        entry_approved: v.entry_approved,
        entry_locked: shown.entry_locked,
        size: v.row.size,
        width: v.row.width,
        height: v.row.height,
        sha256: hex::encode(v.row.sha256),
        expires_at: shotclock_domain::retention::expires_at(v.row.captured_at),
    }
}

pub(crate) fn notification_dto(n: &NotificationRow) -> Notification {
    Notification {
        id: n.id,
        kind: n.kind.clone(),
        message: n.message.clone(),
        created_at: n.created_at,
        read: n.read_at.is_some(),
    }
}

/// The caller's workspace row (always exists for an authenticated user).
pub(crate) async fn workspace_of(app: &App, user: &UserRow) -> Result<WorkspaceRow> {
    app.intents()
        .workspace(user.workspace_id)
        .await?
        .ok_or_else(|| Error::Internal("user without workspace".into()))
}

/// The earliest instant a client may name: nothing is tracked before 2000.
fn earliest_instant() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Refuses client instants before 2000 or too far in the service's future.
pub(crate) fn check_skew(app: &App, t: DateTime<Utc>, what: &str) -> Result<()> {
    if t < earliest_instant() {
        return Err(Error::validation(format!(
            "{what} {t} lies before 2000-01-01"
        )));
    }
    if t > app.now() + shotclock_domain::clock::MAX_FUTURE {
        return Err(Error::api(
            ErrorCode::ClockSkew,
            format!(
                "{what} {t} lies more than 5 minutes in the service's future (service time {}); \
                 check the device clock",
                app.now()
            ),
        ));
    }
    Ok(())
}

/// `[start, end)` in UTC of a calendar day in an IANA time zone (`shotclock_domain::days`).
pub(crate) fn day_bounds(date: &str, tz: &str) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| Error::validation(format!("date must be YYYY-MM-DD, got {date:?}")))?;
    shotclock_domain::days::bounds(day, tz).map_err(|e| Error::validation(e.to_string()))
}

/// Trims and checks a free-text field (`shotclock_api::limits::text_problem`, which clients
/// check too).
pub(crate) fn text(value: &str, field: &str, max: usize) -> Result<String> {
    let v = value.trim();
    match shotclock_api::limits::text_problem(v, field, max) {
        Some(problem) => Err(Error::validation(problem)),
        None => Ok(v.to_owned()),
    }
}

/// Normalises and checks an email address.
pub(crate) fn email(value: &str) -> Result<String> {
    let v = value.trim().to_lowercase();
    let ok = v.chars().count() <= shotclock_api::limits::EMAIL_CHARS
        && v.split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('@'))
        && !v
            .chars()
            .any(|c| c.is_whitespace() || shotclock_api::limits::is_forbidden_char(c));
    if ok {
        Ok(v)
    } else {
        Err(Error::validation(format!(
            "not a valid email address: {value:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn day_bounds_follow_the_zone() {
        let (a, b) = day_bounds("2024-03-31", "Europe/Berlin").unwrap();
        assert_eq!(a.to_rfc3339(), "2024-03-30T23:00:00+00:00");
        // DST starts that night: the day is 23 hours long.
        assert_eq!(b - a, TimeDelta::hours(23));
        let (a, _) = day_bounds("2024-01-10", "Asia/Kathmandu").unwrap();
        assert_eq!(a.to_rfc3339(), "2024-01-09T18:15:00+00:00");
        assert!(day_bounds("2024-01-10", "Mars/Olympus").is_err());
        assert!(day_bounds("10.01.2024", "UTC").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "@x",
            "a@",
            "a b@c",
            "a@b@c",
            "a\u{0}b@c",
            "a@b\u{202E}c",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn free_text_refuses_control_and_direction_characters() {
        assert_eq!(text("  Design review ", "d", 100).unwrap(), "Design review");
        assert_eq!(text("Zoë – 東京", "d", 100).unwrap(), "Zoë – 東京");
        for bad in [
            "a\u{0}b",
            "bell\u{7}",
            "two\nlines",
            "tab\tbed",
            "evil\u{202E}gpj.exe",
            "iso\u{2066}late",
        ] {
            assert!(text(bad, "d", 100).is_err(), "{bad:?}");
        }
        assert!(text(&"x".repeat(101), "d", 100).is_err());
    }
}
