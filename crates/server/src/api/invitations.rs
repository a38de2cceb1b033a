//! Invitations (R38): an admin invites an email and gets a one-time sign-up link to pass on
//! (no mail server needed); the invitee opens it in a browser, sets a name and a password, and
//! is signed in there.
//!
//! The link's secret is shown once, in the answer that creates it, and stored only as a hash
//! ([`crate::auth::invitation_token_hash`]). The link is `/invite/#<secret>`: a fragment never
//! reaches a server, so the secret stays out of every access log. Accepting is public,
//! browser-only (the page's own header and `Origin`, like `/web/login`) and throttled like a
//! sign-in: an unknown or revoked secret counts as a failed guess for its source.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use shotclock_api::dto::{
    AcceptInvitationRequest, CreatedInvitation, Invitation, InvitationList, InviteRequest,
};
use shotclock_api::{ApiError, ErrorCode, InvitationId, UserId, limits};
use shotclock_domain::members::LinkRefusal;

use super::{ApiJson, ApiPath, email, text};
use crate::App;
use crate::auth::{Auth, Source, check_new_password, check_same_origin, invitation_token_hash};
use crate::error::{Error, Result};
use crate::intents::{Acceptance, NewInvitation};
use crate::store::{InvitationRow, StoreError};

/// The throttle's key for invitation secrets: one budget per source, whatever link it tries.
const THROTTLE_KEY: &str = "(invitation link)";

/// Longest secret accepted (ours are 64 hex digits).
const TOKEN_CHARS: usize = 128;

fn invitation_dto(app: &App, row: &InvitationRow) -> Invitation {
    Invitation {
        id: row.id,
        email: row.email.clone(),
        role: row.role,
        created_at: row.created_at,
        expires_at: row.expires_at,
        expired: app.now() >= row.expires_at,
    }
}

/// Invites a person by email (admins): answers the one-time sign-up link's secret, once. An
/// earlier open invitation of the same email stops working.
#[utoipa::path(post, path = "/api/v1/invitations", tag = "members", operation_id = "invite", security(("bearer" = [])),
    request_body = InviteRequest,
    responses(
        (status = 201, body = CreatedInvitation),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
        (status = 409, description = "the email is a member already", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn create(
    State(app): State<App>,
    auth: Auth,
    ApiJson(req): ApiJson<InviteRequest>,
) -> Result<(StatusCode, Json<CreatedInvitation>)> {
    auth.require_admin()?;
    let mail = email(&req.email)?;
    let (token, _) = crate::auth::new_token();
    let invite = NewInvitation {
        email: mail,
        role: req.role,
        token_hash: invitation_token_hash(&token),
        lifetime: app.config().invitation_ttl,
    };
    let row = app.intents().invite(auth.user, invite, app.now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvitation {
            invitation: invitation_dto(&app, &row),
            link_path: format!("/invite/#{token}"),
            token,
        }),
    ))
}

/// The workspace's pending invitations, newest first (admins).
#[utoipa::path(get, path = "/api/v1/invitations", tag = "members", operation_id = "list_invitations", security(("bearer" = [])),
    responses(
        (status = 200, body = InvitationList),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
    ))]
pub(super) async fn list(State(app): State<App>, auth: Auth) -> Result<Json<InvitationList>> {
    auth.require_admin()?;
    let rows = app.intents().invitations(auth.user).await?;
    Ok(Json(InvitationList {
        invitations: rows.iter().map(|r| invitation_dto(&app, r)).collect(),
    }))
}

/// Revokes a pending invitation (admins): its link stops working at once.
#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "members", operation_id = "revoke_invitation", security(("bearer" = [])),
    params(("id" = InvitationId, Path, description = "invitation id")),
    responses(
        (status = 204),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
        (status = 404, description = "no such pending invitation in this workspace", body = ApiError),
    ))]
pub(super) async fn revoke(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<InvitationId>,
) -> Result<StatusCode> {
    auth.require_admin()?;
    app.intents()
        .revoke_invitation(auth.user, id, app.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accepts an invitation in a browser: sets the invitee's name and password, creates their
/// membership and signs them in (the session in an `HttpOnly` cookie, as `/web/login` does).
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "members", operation_id = "accept_invitation",
    request_body = AcceptInvitationRequest,
    params(("X-Shotclock" = String, Header, description = "must be `1`; with a matching Origin")),
    responses(
        (status = 200, description = "signed in; `Set-Cookie` holds the session", body = shotclock_api::dto::Me),
        (status = 403, description = "not from this service's own page (header or Origin)", body = ApiError),
        (status = 404, description = "unknown or revoked link", body = ApiError),
        (status = 409, description = "the email became a member meanwhile", body = ApiError),
        (status = 410, description = "the link was used already, or has expired", body = ApiError),
        (status = 422, body = ApiError),
        (status = 429, body = ApiError),
    ))]
pub(super) async fn accept(
    State(app): State<App>,
    source: Source,
    headers: HeaderMap,
    ApiJson(req): ApiJson<AcceptInvitationRequest>,
) -> Result<Response> {
    check_same_origin(&headers, app.config().public_origin.as_deref())?;
    let name = text(&req.name, "name", limits::NAME_CHARS)?;
    if name.is_empty() {
        return Err(Error::validation("name must not be empty"));
    }
    if req.password.chars().count() > limits::PASSWORD_MAX_CHARS {
        return Err(Error::validation("password too long"));
    }
    // Charged as a guess from here; a link that exists gives the charge back.
    app.limiter().admit(THROTTLE_KEY, source).await?;
    let token = req.token.trim();
    let found = if token.is_empty() || token.chars().count() > TOKEN_CHARS {
        let unknown = LinkRefusal::Unknown;
        Err(StoreError::refused(
            unknown.error_code(),
            unknown.to_string(),
        ))
    } else {
        app.intents()
            .working_invitation(invitation_token_hash(token), app.now())
            .await
    };
    let guessed_wrong = matches!(
        &found,
        Err(StoreError::Refused {
            code: ErrorCode::NotFound,
            ..
        })
    );
    if !guessed_wrong {
        // The link exists (whether it still works or not): not a guess.
        app.limiter().succeeded(THROTTLE_KEY, source).await?;
    }
    let invitation = found?;
    check_new_password(&req.password, &invitation.email)?;
    let who = Acceptance {
        user: UserId::new(),
        name,
        password_hash: app.hasher().hash(req.password).await?,
    };
    let user = app
        .intents()
        .accept_invitation(invitation.token_hash, who, app.now())
        .await?;
    super::web::signed_in(&app, &user, &headers).await
}
