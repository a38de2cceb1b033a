//! Sign-in, sign-out, sign-up and the caller's own account (`/auth/*`, `/me`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shotclock_api::dto::{LoginRequest, Me, SessionInfo, SignupRequest};
use shotclock_api::{ApiError, Role, UserId, WorkspaceId, limits};

use super::{ApiJson, email, member_dto, settings_dto, text, workspace_of};
use crate::App;
use crate::auth::{Auth, Source, check_new_password, new_token};
use crate::error::{Error, Result};
use crate::events::Ended;
use crate::maintenance::discard;
use crate::store::{NewUser, UserRow};

pub(super) async fn open_session(app: &App, user: &UserRow) -> Result<SessionInfo> {
    let (token, hash) = new_token();
    let now = app.now();
    let expires_at = now + app.config().session_ttl;
    app.intents()
        .create_session(hash, user.id, user.workspace_id, now, expires_at)
        .await?;
    let ws = workspace_of(app, user).await?;
    Ok(SessionInfo {
        token,
        expires_at,
        me: Me {
            user: member_dto(user),
            workspace: settings_dto(app, &ws),
        },
    })
}

/// Signs in with email and password; answers a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = SessionInfo),
        (status = 401, description = "wrong email or password", body = ApiError),
        (status = 403, description = "the workspace signs in through its identity provider \
            (R31): passwords are for its owner only", body = ApiError),
        (status = 422, description = "invalid input, or the email needs a workspace", body = ApiError),
        (status = 429, description = "too many failures from this source, or too many sign-ins at \
            once; see Retry-After", body = ApiError),
    ))]
pub(super) async fn login(
    State(app): State<App>,
    source: Source,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<SessionInfo>> {
    let user = authenticate(&app, source, &req).await?;
    Ok(Json(open_session(&app, &user).await?))
}

/// The one account that email and password name (throttled per email and source).
pub(super) async fn authenticate(app: &App, source: Source, req: &LoginRequest) -> Result<UserRow> {
    let mail = req.email.trim().to_lowercase();
    if req.password.chars().count() > limits::PASSWORD_MAX_CHARS
        || mail.chars().count() > limits::EMAIL_CHARS
    {
        return Err(Error::validation("email or password too long"));
    }
    // One budget per email and source, whichever workspace the request names. The attempt is
    // charged as a wrong one from here; a right password gives the charge back.
    app.limiter().admit(&mail, source).await?;
    let candidates: Vec<UserRow> = app
        .intents()
        .users_by_email(mail.clone())
        .await?
        .into_iter()
        .filter(|u| u.active && req.workspace.is_none_or(|w| w == u.workspace_id))
        .collect();
    let mut matched = Vec::new();
    if candidates.is_empty() {
        app.hasher().verify(None, req.password.clone()).await?;
    }
    for user in candidates {
        let hash = Some(user.password_hash.clone());
        if app.hasher().verify(hash, req.password.clone()).await? {
            matched.push(user);
        }
    }
    if matched.is_empty() {
        return Err(Error::unauthorized("wrong email or password"));
    }
    app.limiter().succeeded(&mail, source).await?;
    match matched.len() {
        1 => {
            let user = matched.remove(0);
            // Single sign-on may have turned passwords off for all but the owner (R31).
            if !app.intents().password_sign_in_allowed(&user).await? {
                return Err(Error::forbidden(
                    "this workspace signs in through its identity provider: use \"Sign in with \
                     SSO\" (only the owner may still use a password)",
                ));
            }
            Ok(user)
        }
        _ => Err(Error::validation(
            "this account exists in several workspaces; say which one (\"workspace\")",
        )),
    }
}

/// Revokes the presented token at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ApiError)))]
pub(super) async fn logout(State(app): State<App>, auth: Auth) -> Result<StatusCode> {
    app.intents().delete_session(auth.token_hash).await?;
    app.end(Ended::Session(auth.token_hash));
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a workspace and its owner (only when the service allows sign-up).
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, body = SessionInfo),
        (status = 403, description = "sign-up is disabled", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn signup(
    State(app): State<App>,
    ApiJson(req): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<SessionInfo>)> {
    if !app.config().allow_signup {
        return Err(Error::forbidden(
            "sign-up is disabled on this service; ask its operator for a workspace",
        ));
    }
    let name = text(&req.workspace_name, "workspace_name", limits::NAME_CHARS)?;
    if name.is_empty() {
        return Err(Error::validation("workspace_name must not be empty"));
    }
    let (_, owner) =
        create_workspace(&app, name, &req.email, &req.name, req.password, app.now()).await?;
    Ok((StatusCode::CREATED, Json(open_session(&app, &owner).await?)))
}

/// Creates a workspace with its owner (sign-up and the operator CLI), its history beginning
/// `at`.
pub async fn create_workspace(
    app: &App,
    name: String,
    owner_email: &str,
    owner_name: &str,
    password: String,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(WorkspaceId, UserRow)> {
    let mail = email(owner_email)?;
    let display = text(owner_name, "name", limits::NAME_CHARS)?;
    check_new_password(&password, &mail)?;
    let owner = NewUser {
        id: UserId::new(),
        email: mail,
        name: display,
        password_hash: app.hasher().hash(password).await?,
        role: Role::Owner,
    };
    let id = WorkspaceId::new();
    let (_, user) = app.intents().create_workspace(id, name, owner, at).await?;
    Ok((id, user))
}

/// The signed-in user and their workspace.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ApiError)))]
pub(super) async fn me(State(app): State<App>, auth: Auth) -> Result<Json<Me>> {
    let ws = workspace_of(&app, &auth.user).await?;
    Ok(Json(Me {
        user: member_dto(&auth.user),
        workspace: settings_dto(&app, &ws),
    }))
}

/// Deletes the caller's account with all their screenshots, entries, sessions and
/// notifications (R23). The workspace owner cannot delete their account.
#[utoipa::path(delete, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204),
        (status = 401, body = ApiError),
        (status = 409, description = "the owner cannot delete their account", body = ApiError),
    ))]
pub(super) async fn delete_me(State(app): State<App>, auth: Auth) -> Result<StatusCode> {
    let removed = app.intents().delete_user(auth.user.id, app.now()).await?;
    app.end(Ended::User(auth.user.id));
    discard(&app, &removed.blob_keys).await;
    Ok(StatusCode::NO_CONTENT)
}
