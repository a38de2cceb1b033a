//! Browser sessions (`/web/*`) and the layer that resolves them.
//!
//! `POST /web/login` checks email and password like `/auth/login`, but answers the account
//! (`Me`) and puts the session in a cookie the page's scripts cannot read
//! ([`crate::auth::session_cookie`]). `POST /web/logout` ends the browser session — its event
//! streams close with it — and clears the cookie; desktop sessions of the same user stay.
//!
//! [`sessions`] runs before every handler: a request without `Authorization` but with the
//! session cookie gets its session resolved (and renewed when due, the new cookie riding on the
//! answer); a change (any method but GET/HEAD/OPTIONS) must pass
//! [`crate::auth::check_same_origin`] before anything runs.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shotclock_api::ApiError;
use shotclock_api::dto::{LoginRequest, Me};

use super::auth::authenticate;
use super::{ApiJson, member_dto, settings_dto, workspace_of};
use crate::App;
use crate::auth::{
    Auth, Source, WEB_COOKIE, WebSession, check_same_origin, cookie, new_token, secure_cookies,
    session_cookie, web_token_hash,
};
use crate::error::{Error, Result};
use crate::events::Ended;

fn set_cookie(headers: &mut HeaderMap, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(SET_COOKIE, v);
    }
}

/// Signs in a browser: the session goes in an `HttpOnly` cookie, never in the body.
#[utoipa::path(post, path = "/api/v1/web/login", tag = "auth", operation_id = "web_login",
    request_body = LoginRequest,
    params(("X-Shotclock" = String, Header, description = "must be `1`; with a matching Origin")),
    responses(
        (status = 200, description = "signed in; `Set-Cookie` holds the session", body = Me),
        (status = 401, description = "wrong email or password", body = ApiError),
        (status = 403, description = "not from this service's own page (header or Origin)", body = ApiError),
        (status = 422, body = ApiError),
        (status = 429, body = ApiError),
    ))]
pub(super) async fn login(
    State(app): State<App>,
    source: Source,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response> {
    // A sign-in from another site would plant its account in this browser.
    check_same_origin(&headers, app.config().public_origin.as_deref())?;
    let user = authenticate(&app, source, &req).await?;
    signed_in(&app, &user, &headers).await
}

/// Opens a browser session for `user`: answers their account (`Me`) with the session in an
/// `HttpOnly` cookie.
pub(super) async fn signed_in(
    app: &App,
    user: &crate::store::UserRow,
    headers: &HeaderMap,
) -> Result<Response> {
    let ws = workspace_of(app, user).await?;
    let me = Me {
        user: member_dto(user),
        workspace: settings_dto(app, &ws),
    };
    let mut res = Json(me).into_response();
    open_browser_session(app, user, headers, &mut res).await?;
    Ok(res)
}

/// Opens a browser session for `user` and sets its `HttpOnly` cookie on `res` (`Secure` except
/// on loopback): the password sign-in above and single sign-on's callback.
pub(super) async fn open_browser_session(
    app: &App,
    user: &crate::store::UserRow,
    headers: &HeaderMap,
    res: &mut Response,
) -> std::result::Result<(), crate::store::StoreError> {
    let (token, _) = new_token();
    let now = app.now();
    let ttl = app.config().web_session_ttl;
    app.intents()
        .create_session(
            web_token_hash(&token),
            user.id,
            user.workspace_id,
            now,
            now + ttl,
        )
        .await?;
    let secure = secure_cookies(app.config().public_origin.as_deref(), headers);
    let cookie = session_cookie(&token, ttl.num_seconds(), secure);
    set_cookie(res.headers_mut(), &cookie);
    Ok(())
}

/// Ends this browser's session and its event streams, and clears the cookie.
#[utoipa::path(post, path = "/api/v1/web/logout", tag = "auth", operation_id = "web_logout",
    params(("X-Shotclock" = String, Header, description = "must be `1`; with a matching Origin")),
    responses(
        (status = 204, description = "signed out (or was not signed in); the cookie is cleared"),
        (status = 403, description = "not from this service's own page (header or Origin)", body = ApiError),
    ))]
pub(super) async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    session: Option<axum::Extension<WebSession>>,
) -> Result<Response> {
    // Only this service's own page signs a browser out, whichever way the request is
    // authenticated (another site could otherwise end a member's session).
    check_same_origin(&headers, app.config().public_origin.as_deref())?;
    if let Some(axum::Extension(WebSession(auth))) = session {
        app.intents().delete_session(auth.token_hash).await?;
        app.end(Ended::Session(auth.token_hash));
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    set_cookie(
        res.headers_mut(),
        &session_cookie(
            "",
            0,
            secure_cookies(app.config().public_origin.as_deref(), &headers),
        ),
    );
    Ok(res)
}

fn changes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Resolves the browser session of a request (see the module doc).
pub(super) async fn sessions(State(app): State<App>, mut req: Request, next: Next) -> Response {
    if req.headers().contains_key(AUTHORIZATION) {
        return next.run(req).await;
    }
    let Some(token) = cookie(req.headers(), WEB_COOKIE).map(str::to_owned) else {
        return next.run(req).await;
    };
    let hash = web_token_hash(&token);
    let ttl = app.config().web_session_ttl;
    let found = match app.intents().use_web_session(hash, app.now(), ttl).await {
        Ok(found) => found,
        Err(e) => return Error::from(e).into_response(),
    };
    let Some((user, renewed)) = found else {
        return next.run(req).await;
    };
    if changes(req.method())
        && let Err(e) = check_same_origin(req.headers(), app.config().public_origin.as_deref())
    {
        return e.into_response();
    }
    let secure = secure_cookies(app.config().public_origin.as_deref(), req.headers());
    req.extensions_mut().insert(WebSession(Auth {
        user,
        token_hash: hash,
        web: true,
    }));
    let mut res = next.run(req).await;
    if renewed.is_some() && !res.headers().contains_key(SET_COOKIE) {
        set_cookie(
            res.headers_mut(),
            &session_cookie(&token, ttl.num_seconds(), secure),
        );
    }
    res
}
