//! Single sign-on (R31): the workspace's provider settings (`/workspace/sso`, admins) and the
//! relying party's three routes (`/sso/start`, `/sso/callback`, `/sso/token`); the flow is
//! described in `crate::sso`.
//!
//! `start` and `callback` are where a browser is sent, so their refusals are small plain
//! pages (HTML), never JSON. The workspace is named by `workspace` (its id) or found by the
//! domain of `email` (at most one workspace claims a domain). The callback URL is this
//! service's public origin (`serve --public-origin`) or, without one, the request's `Host`
//! (plain HTTP only on a loopback host) followed by `/api/v1/sso/callback`; it is the one URL
//! to register at the provider, and the settings show it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::TimeDelta;
use shotclock_api::ApiError;
use shotclock_api::dto::SessionInfo;
use shotclock_api::sso::{SsoSettings, SsoSettingsUpdate, SsoTokenRequest};
use shotclock_api::{ErrorCode, WorkspaceId};
use shotclock_domain::sso::domain_of;

use super::auth::open_session;
use super::{ApiJson, text};
use crate::App;
use crate::auth::{
    Auth, SSO_COOKIE, cookie, loopback_host, new_token, secure_cookies, sso_cookie, token_hash,
};
use crate::error::{Error, Result};
use crate::intents::{CodeRefusal, SsoAccount, SsoPerson};
use crate::sso::{Link, SsoError};
use crate::store::{SsoCodeRow, SsoConfigRow, SsoRequestRow};

/// The callback's path.
pub const CALLBACK_PATH: &str = "/api/v1/sso/callback";
/// How long a sign-in at the provider may take.
const REQUEST_TTL: TimeDelta = TimeDelta::minutes(10);
/// How long the desktop app's one-time code works.
const APP_CODE_TTL: TimeDelta = TimeDelta::seconds(60);
/// Most allowed domains per workspace.
const MAX_DOMAINS: usize = 20;

/// The origin the browser sees this service at (see the module doc).
fn public_base(app: &App, headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = &app.config().public_origin {
        return Some(origin.trim_end_matches('/').to_owned());
    }
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let scheme = if loopback_host(headers) {
        "http"
    } else {
        "https"
    };
    Some(format!("{scheme}://{host}"))
}

fn callback_url(app: &App, headers: &HeaderMap) -> String {
    public_base(app, headers).map_or_else(String::new, |b| format!("{b}{CALLBACK_PATH}"))
}

fn settings(app: &App, headers: &HeaderMap, row: Option<&SsoConfigRow>) -> SsoSettings {
    let callback_url = callback_url(app, headers);
    match row {
        None => SsoSettings {
            password_sign_in: true,
            callback_url,
            ..SsoSettings::default()
        },
        Some(c) => SsoSettings {
            enabled: true,
            issuer: c.issuer.clone(),
            client_id: c.client_id.clone(),
            client_secret_set: !c.client_secret.is_empty(),
            allowed_domains: c.allowed_domains.clone(),
            auto_join: c.auto_join,
            password_sign_in: c.password_sign_in,
            callback_url,
        },
    }
}

/// The workspace's single sign-on settings (admins). The client secret is never returned.
#[utoipa::path(get, path = "/api/v1/workspace/sso", tag = "workspace", operation_id = "get_sso",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SsoSettings),
        (status = 401, body = ApiError),
        (status = 403, description = "not an admin", body = ApiError),
    ))]
pub(super) async fn get_settings(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
) -> Result<Json<SsoSettings>> {
    auth.require_admin()?;
    let row = app.intents().sso_config(auth.user.workspace_id).await?;
    Ok(Json(settings(&app, &headers, row.as_ref())))
}

/// A domain as stored: trimmed, lowercase, without a leading `@`.
fn domain(value: &str) -> Result<String> {
    let d = value.trim().trim_start_matches('@').to_lowercase();
    let ok = d.len() <= 253
        && d.contains('.')
        && !d.starts_with(['.', '-'])
        && !d.ends_with(['.', '-'])
        && !d.contains("..")
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(d)
    } else {
        Err(Error::validation(format!(
            "{value:?} is not an email domain (such as example.com)"
        )))
    }
}

/// Links the workspace to an identity provider, or changes the link (admins). The provider's
/// discovery document and keys are fetched first; nothing is stored when that fails.
#[utoipa::path(put, path = "/api/v1/workspace/sso", tag = "workspace", operation_id = "set_sso",
    security(("bearer" = [])),
    request_body = SsoSettingsUpdate,
    responses(
        (status = 200, body = SsoSettings),
        (status = 401, body = ApiError),
        (status = 403, description = "not an admin", body = ApiError),
        (status = 409, description = "an allowed domain signs in to another workspace", body = ApiError),
        (status = 422, description = "invalid settings, or the provider cannot be reached or \
            checked (the message says why)", body = ApiError),
    ))]
pub(super) async fn set_settings(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SsoSettingsUpdate>,
) -> Result<Json<SsoSettings>> {
    auth.require_admin()?;
    let workspace = auth.user.workspace_id;
    let Some(key) = app.config().sso_key.clone() else {
        return Err(Error::validation(
            "this service has no key for single sign-on secrets; its operator must set \
             SHOTCLOCK_SSO_KEY before a workspace can link an identity provider",
        ));
    };
    let issuer = text(&req.issuer, "issuer", 500)?
        .trim_end_matches('/')
        .to_owned();
    let parsed = url::Url::parse(&issuer)
        .map_err(|_| Error::validation(format!("the issuer {issuer:?} is not a URL")))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(Error::validation("the issuer must be an https:// URL"));
    }
    let client_id = text(&req.client_id, "client_id", 255)?;
    if client_id.is_empty() {
        return Err(Error::validation("client_id must not be empty"));
    }
    let mut domains = req
        .allowed_domains
        .iter()
        .map(|d| domain(d))
        .collect::<Result<Vec<_>>>()?;
    domains.sort();
    domains.dedup();
    if domains.is_empty() || domains.len() > MAX_DOMAINS {
        return Err(Error::validation(format!(
            "name between 1 and {MAX_DOMAINS} allowed email domains"
        )));
    }
    let context = workspace.to_string();
    let sealed = match req.client_secret.as_deref().map(str::trim) {
        Some(secret) if !secret.is_empty() => {
            if secret.chars().count() > 1000 {
                return Err(Error::validation("client_secret is too long"));
            }
            key.seal(secret, context.as_bytes())
                .map_err(|e| Error::Internal(e.to_string()))?
        }
        // The stored secret is only ever sent to the provider and client it was given for.
        _ => match app.intents().sso_config(workspace).await? {
            Some(old) if old.issuer == issuer && old.client_id == client_id => old.client_secret,
            Some(_) => {
                return Err(Error::validation(
                    "client_secret is needed when the issuer or client_id changes: the stored \
                     secret is only sent to the provider it was given for",
                ));
            }
            None => return Err(Error::validation("client_secret is needed")),
        },
    };
    app.sso()
        .discover(&issuer)
        .await
        .map_err(|e| Error::validation(e.to_string()))?;
    let row = SsoConfigRow {
        workspace_id: workspace,
        issuer,
        client_id,
        client_secret: sealed,
        allowed_domains: domains,
        auto_join: req.auto_join,
        password_sign_in: req.password_sign_in,
        updated_at: app.now(),
    };
    let saved = app.intents().save_sso_config(row).await?;
    Ok(Json(settings(&app, &headers, Some(&saved))))
}

/// Unlinks the workspace from its identity provider (admins): people sign in with their
/// passwords again, and the allowed domains are free for another workspace. Linked identities
/// are kept, so linking the same provider again finds the same accounts. Answers 204 whether
/// or not the workspace was linked.
#[utoipa::path(delete, path = "/api/v1/workspace/sso", tag = "workspace", operation_id = "delete_sso",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "unlinked (or was not linked)"),
        (status = 401, body = ApiError),
        (status = 403, description = "not an admin", body = ApiError),
    ))]
pub(super) async fn delete_settings(State(app): State<App>, auth: Auth) -> Result<StatusCode> {
    auth.require_admin()?;
    app.intents()
        .delete_sso_config(auth.user.workspace_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The sign-in's page for the person in the browser ([`shotclock_api::sso::page`]), with a
/// link back to the web app.
fn page(status: StatusCode, title: &str, message: &str) -> Response {
    (
        status,
        Html(shotclock_api::sso::page(title, message, Some("/"))),
    )
        .into_response()
}

fn refused_page(status: StatusCode, message: &str) -> Response {
    page(status, "Single sign-on did not work", message)
}

fn redirect(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// Whether `uri` is a loopback redirect a native app may use (RFC 8252 §7.3): plain HTTP to
/// `127.0.0.1` or `[::1]` with a port, no user, no fragment.
fn loopback_redirect(uri: &str) -> Option<url::Url> {
    let u = url::Url::parse(uri).ok()?;
    let host_ok = matches!(
        u.host(),
        Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST
    ) || matches!(
        u.host(),
        Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST
    );
    let ok = u.scheme() == "http"
        && host_ok
        && u.port().is_some()
        && u.username().is_empty()
        && u.password().is_none()
        && u.fragment().is_none();
    ok.then_some(u)
}

/// A PKCE S256 challenge: 43 base64url characters.
fn is_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Starts a sign-in through the workspace's identity provider: sends the browser there.
///
/// Query: `email` or `workspace` (its id) names the workspace; `client` is `web` (default) or
/// `app`; for `app`, `code_challenge` (S256, `code_challenge_method` may only be `S256`),
/// `redirect_uri` (`http://127.0.0.1:PORT/…` or `http://[::1]:PORT/…`) and optionally the
/// app's `state`.
#[utoipa::path(get, path = "/api/v1/sso/start", tag = "auth", operation_id = "sso_start",
    params(
        ("email" = Option<String>, Query, description = "the person's email: its domain names the workspace"),
        ("workspace" = Option<String>, Query, description = "the workspace id (instead of the email)"),
        ("client" = Option<String>, Query, description = "`web` (default) or `app`"),
        ("code_challenge" = Option<String>, Query, description = "app: its PKCE S256 challenge"),
        ("code_challenge_method" = Option<String>, Query, description = "app: `S256` if given"),
        ("redirect_uri" = Option<String>, Query, description = "app: its loopback redirect"),
        ("state" = Option<String>, Query, description = "app: its own state, handed back"),
    ),
    responses(
        (status = 303, description = "to the identity provider; a browser's sign-in also \
            sets the `shotclock_sso` cookie its callback needs"),
        (status = 404, description = "no workspace signs in through an identity provider for \
            this email or id (a page)", content_type = "text/html", body = String),
        (status = 422, description = "invalid parameters, or the provider cannot be reached \
            (a page)", content_type = "text/html", body = String),
    ))]
pub(super) async fn start(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match begin(&app, &headers, &q).await {
        Ok(Begun { to, web_state }) => {
            let mut res = redirect(&to);
            if let Some(state) = web_state {
                // This browser alone may finish the sign-in it starts.
                let secure = secure_cookies(app.config().public_origin.as_deref(), &headers);
                append_cookie(
                    &mut res,
                    &sso_cookie(&state, REQUEST_TTL.num_seconds(), secure),
                );
            }
            res
        }
        Err((status, message)) => refused_page(status, &message),
    }
}

/// A sign-in under way: the provider's authorization URL, and for a browser's sign-in its
/// `state`, which that browser keeps in [`SSO_COOKIE`] for the callback.
struct Begun {
    to: String,
    web_state: Option<String>,
}

fn append_cookie(res: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().append(SET_COOKIE, v);
    }
}

type PageError = (StatusCode, String);

fn invalid(message: impl Into<String>) -> PageError {
    (StatusCode::UNPROCESSABLE_ENTITY, message.into())
}

async fn begin(
    app: &App,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> std::result::Result<Begun, PageError> {
    let unavailable = |e: crate::store::StoreError| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the service could not read its data: {e}"),
        )
    };
    let email = q
        .get("email")
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    let workspace = match (q.get("workspace"), &email) {
        (Some(id), _) => Some(
            id.parse::<WorkspaceId>()
                .map_err(|_| invalid("workspace is not a workspace id"))?,
        ),
        (None, Some(email)) => {
            let domain = domain_of(email).ok_or_else(|| invalid("that is not an email address"))?;
            app.intents()
                .sso_workspace_for(domain)
                .await
                .map_err(unavailable)?
        }
        (None, None) => return Err(invalid("give your email address (or the workspace id)")),
    };
    let not_linked = || {
        (
            StatusCode::NOT_FOUND,
            "no workspace on this service signs in through an identity provider for that \
             address; sign in with your password, or ask your admin"
                .to_owned(),
        )
    };
    let Some(workspace) = workspace else {
        return Err(not_linked());
    };
    let Some(config) = app
        .intents()
        .sso_config(workspace)
        .await
        .map_err(unavailable)?
    else {
        return Err(not_linked());
    };
    let (app_challenge, app_redirect, app_state) = match q.get("client").map(String::as_str) {
        None | Some("web") => (None, None, None),
        Some("app") => {
            if q.get("code_challenge_method").is_some_and(|m| m != "S256") {
                return Err(invalid("code_challenge_method must be S256"));
            }
            let challenge = q
                .get("code_challenge")
                .filter(|c| is_challenge(c))
                .ok_or_else(|| {
                    invalid("the app's code_challenge (S256) is missing or malformed")
                })?;
            let to = q
                .get("redirect_uri")
                .and_then(|r| loopback_redirect(r))
                .ok_or_else(|| {
                    invalid(
                        "redirect_uri must be http://127.0.0.1:PORT/… or http://[::1]:PORT/… \
                         (the app's loopback listener)",
                    )
                })?;
            let state = q.get("state").filter(|s| s.len() <= 200).cloned();
            (Some(challenge.clone()), Some(to.to_string()), state)
        }
        Some(_) => return Err(invalid("client must be web or app")),
    };
    let callback = callback_url(app, headers);
    if callback.is_empty() {
        return Err(invalid("the request names no host"));
    }
    let auth = app
        .sso()
        .authorization(
            &config.issuer,
            &config.client_id,
            &callback,
            email.as_deref(),
        )
        .await
        .map_err(|e| invalid(e.to_string()))?;
    let now = app.now();
    let web_state = app_challenge.is_none().then(|| auth.state.clone());
    let row = SsoRequestRow {
        state_hash: token_hash(&auth.state),
        workspace_id: workspace,
        nonce: auth.nonce,
        pkce_verifier: auth.pkce_verifier,
        redirect_uri: callback,
        app_challenge,
        app_redirect,
        app_state,
        expires_at: now + REQUEST_TTL,
    };
    app.intents()
        .begin_sso(row, now)
        .await
        .map_err(unavailable)?;
    Ok(Begun {
        to: auth.url.to_string(),
        web_state,
    })
}

/// The identity provider's one callback: finishes the sign-in (see `crate::sso`). A browser
/// gets its cookie session and `/`; the desktop app's loopback gets a one-time `code` (and
/// its `state`). Any refusal is a page saying why, and creates nothing.
#[utoipa::path(get, path = "/api/v1/sso/callback", tag = "auth", operation_id = "sso_callback",
    params(
        ("code" = Option<String>, Query, description = "the provider's authorization code"),
        ("state" = Option<String>, Query, description = "the state this service sent"),
        ("error" = Option<String>, Query, description = "the provider's refusal, if any"),
    ),
    responses(
        (status = 303, description = "signed in: to `/` with the session cookie, or to the \
            app's loopback with a one-time code"),
        (status = 400, description = "not a sign-in under way (unknown, used or expired \
            state), a browser's sign-in finished in another browser (without its `shotclock_sso` \
            cookie), or the provider refused (a page)", content_type = "text/html", body = String),
        (status = 403, description = "the person may not sign in to the workspace (a page)",
            content_type = "text/html", body = String),
        (status = 502, description = "the provider's answer could not be used (a page)",
            content_type = "text/html", body = String),
    ))]
pub(super) async fn callback(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match finish(&app, &headers, &q).await {
        Ok(res) => res,
        Err((status, message)) => refused_page(status, &message),
    }
}

async fn finish(
    app: &App,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> std::result::Result<Response, PageError> {
    let bad = |m: &str| (StatusCode::BAD_REQUEST, m.to_owned());
    let unavailable = |e: crate::store::StoreError| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the service could not keep the sign-in: {e}"),
        )
    };
    let Some(state) = q.get("state").filter(|s| !s.is_empty() && s.len() <= 500) else {
        return Err(bad(
            "the identity provider sent no state; start the sign-in again",
        ));
    };
    let now = app.now();
    let Some(request) = app
        .intents()
        .take_sso_request(state.clone(), now)
        .await
        .map_err(unavailable)?
    else {
        return Err(bad(
            "this sign-in is not under way here (it was finished already, took longer than \
             ten minutes, or did not start at this service); start it again",
        ));
    };
    // A browser's sign-in finishes only in the browser that started it (the desktop app's is
    // bound by its own PKCE challenge instead). Checked after the request is taken: a callback
    // from another browser uses it up.
    let web = request.app_challenge.is_none();
    if web && cookie(headers, SSO_COOKIE).map(token_hash) != Some(request.state_hash) {
        return Err(bad(
            "this sign-in was started in another browser, or this browser did not keep its \
             cookie; start it again here",
        ));
    }
    if let Some(error) = q.get("error") {
        let detail = q.get("error_description").map_or("", String::as_str);
        return Err(bad(&format!(
            "the identity provider refused the sign-in ({error}{}{detail})",
            if detail.is_empty() { "" } else { ": " }
        )));
    }
    let Some(code) = q.get("code").filter(|c| !c.is_empty() && c.len() <= 2000) else {
        return Err(bad("the identity provider sent no code"));
    };
    let Some(config) = app
        .intents()
        .sso_config(request.workspace_id)
        .await
        .map_err(unavailable)?
    else {
        return Err(bad(
            "the workspace no longer signs in through an identity provider",
        ));
    };
    let Some(key) = app.config().sso_key.clone() else {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "this service has no key for single sign-on secrets (SHOTCLOCK_SSO_KEY)".into(),
        ));
    };
    let secret = key
        .open(
            &config.client_secret,
            request.workspace_id.to_string().as_bytes(),
        )
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let link = Link {
        issuer: config.issuer.clone(),
        client_id: config.client_id.clone(),
        client_secret: secret,
    };
    let identity = app
        .sso()
        .finish(
            &link,
            &request.redirect_uri,
            code,
            &request.pkce_verifier,
            &request.nonce,
            now,
        )
        .await
        .map_err(|e| match e {
            SsoError::Provider(m) => (StatusCode::BAD_GATEWAY, m),
            SsoError::Token(t) => (StatusCode::BAD_GATEWAY, t.to_string()),
        })?;
    let person = SsoPerson {
        issuer: config.issuer.clone(),
        subject: identity.subject,
        email: identity.email,
        email_verified: identity.email_verified,
    };
    let refused = |e: crate::store::StoreError| match e {
        crate::store::StoreError::Refused { message, .. } => (StatusCode::FORBIDDEN, message),
        other => unavailable(other),
    };
    let mut account = app
        .intents()
        .sso_account(request.workspace_id, person.clone(), None, now)
        .await
        .map_err(refused)?;
    if matches!(account, SsoAccount::NeedsHash) {
        // The new account's password: random, never told to anyone.
        let (unused, _) = new_token();
        let hash = app
            .hasher()
            .hash(unused)
            .await
            .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
        account = app
            .intents()
            .sso_account(request.workspace_id, person, Some(hash), now)
            .await
            .map_err(refused)?;
    }
    let user = match account {
        SsoAccount::User(user) => user,
        SsoAccount::Refused(why) => return Err((StatusCode::FORBIDDEN, why.message().to_owned())),
        SsoAccount::NeedsHash => {
            return Err((StatusCode::SERVICE_UNAVAILABLE, "try again".to_owned()));
        }
    };
    match (request.app_challenge, request.app_redirect) {
        (Some(challenge), Some(to)) => {
            let (code, code_hash) = new_token();
            app.intents()
                .issue_sso_code(SsoCodeRow {
                    code_hash,
                    user_id: user.id,
                    challenge,
                    expires_at: now + APP_CODE_TTL,
                })
                .await
                .map_err(unavailable)?;
            let mut to =
                url::Url::parse(&to).map_err(|_| bad("the app's redirect is not a URL"))?;
            to.query_pairs_mut().append_pair("code", &code);
            if let Some(state) = &request.app_state {
                to.query_pairs_mut().append_pair("state", state);
            }
            Ok(redirect(to.as_str()))
        }
        _ => {
            let mut res = redirect("/");
            super::web::open_browser_session(app, &user, headers, &mut res)
                .await
                .map_err(unavailable)?;
            let secure = secure_cookies(app.config().public_origin.as_deref(), headers);
            append_cookie(&mut res, &sso_cookie("", 0, secure));
            Ok(res)
        }
    }
}

/// The desktop app trades its one-time code and PKCE verifier for a bearer session, as
/// `/auth/login` answers.
#[utoipa::path(post, path = "/api/v1/sso/token", tag = "auth", operation_id = "sso_token",
    request_body = SsoTokenRequest,
    responses(
        (status = 200, body = SessionInfo),
        (status = 401, description = "the code is unknown, used, expired, or its verifier \
            does not match", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn token(
    State(app): State<App>,
    ApiJson(req): ApiJson<SsoTokenRequest>,
) -> Result<Json<SessionInfo>> {
    if req.code.len() > 200 || !(43..=128).contains(&req.code_verifier.len()) {
        return Err(Error::validation(
            "code or code_verifier has the wrong length (a verifier has 43 to 128 characters)",
        ));
    }
    let user = match app
        .intents()
        .redeem_sso_code(req.code, req.code_verifier, app.now())
        .await?
    {
        Ok(user) => user,
        Err(CodeRefusal::Invalid) => {
            return Err(Error::unauthorized(
                "this sign-in code is unknown, used already or expired; sign in again",
            ));
        }
        Err(CodeRefusal::WrongVerifier) => {
            return Err(Error::api(
                ErrorCode::Unauthorized,
                "the code verifier does not match the sign-in's challenge; sign in again",
            ));
        }
    };
    Ok(Json(open_session(&app, &user).await?))
}
