//! Workspace members (R1, R38): everyone reads the list; admins add, change, deactivate and
//! remove people, the owner protected (`intents::members`). Any change to a person ends their
//! sessions and event streams at once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shotclock_api::dto::{AddMemberRequest, Member, MemberList, UpdateMemberRequest};
use shotclock_api::{ApiError, Role, UserId, limits};

use super::{ApiJson, ApiPath, email, member_dto, text};
use crate::App;
use crate::auth::{Auth, check_new_password};
use crate::error::{Error, Result};
use crate::events::Ended;
use crate::intents::never_seen;
use crate::maintenance::discard;
use crate::store::NewUser;

/// The workspace's members, deactivated ones included (everyone reads it; R38). Admins also
/// get each member's `presence`: whether their recording app is connected, last seen, capture.
#[utoipa::path(get, path = "/api/v1/members", tag = "members", operation_id = "list_members", security(("bearer" = [])),
    responses(
        (status = 200, body = MemberList),
        (status = 401, body = ApiError),
    ))]
pub(super) async fn list(State(app): State<App>, auth: Auth) -> Result<Json<MemberList>> {
    let members = app.intents().members(auth.user.workspace_id, true).await?;
    // Whose recording app is connected is for admins only; members read the list without it.
    let presence = if auth.user.role.is_admin() {
        Some(app.presence().of_workspace(auth.user.workspace_id).await?)
    } else {
        None
    };
    Ok(Json(MemberList {
        members: members
            .iter()
            .map(|m| Member {
                presence: presence
                    .as_ref()
                    .map(|p| p.get(&m.id).cloned().unwrap_or_else(never_seen)),
                ..member_dto(m)
            })
            .collect(),
    }))
}

/// Adds a member with an initial password (admins).
#[utoipa::path(post, path = "/api/v1/members", tag = "members", operation_id = "add_member", security(("bearer" = [])),
    request_body = AddMemberRequest,
    responses(
        (status = 201, body = Member),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
        (status = 409, description = "email already a member", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn add(
    State(app): State<App>,
    auth: Auth,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> Result<(StatusCode, Json<Member>)> {
    auth.require_admin()?;
    if req.role == Role::Owner {
        return Err(Error::validation("role must be admin or member"));
    }
    let mail = email(&req.email)?;
    let name = text(&req.name, "name", limits::NAME_CHARS)?;
    check_new_password(&req.password, &mail)?;
    let user = NewUser {
        id: UserId::new(),
        email: mail,
        name,
        password_hash: app.hasher().hash(req.password).await?,
        role: req.role,
    };
    let row = app
        .intents()
        .add_user(auth.user.workspace_id, user, app.now())
        .await?;
    Ok((StatusCode::CREATED, Json(member_dto(&row))))
}

/// Changes a member's role, or deactivates or reactivates them (admins; the owner protected).
/// Ends their sessions and event streams at once (a change to what they already are ends
/// nothing).
#[utoipa::path(patch, path = "/api/v1/members/{id}", tag = "members", operation_id = "update_member", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "member id")),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, body = Member),
        (status = 401, body = ApiError),
        (status = 403, description = "not an admin, or the owner", body = ApiError),
        (status = 404, body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn update(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<UpdateMemberRequest>,
) -> Result<Json<Member>> {
    auth.require_admin()?;
    let changed = app
        .intents()
        .change_member(auth.user, id, req.role, req.active)
        .await?;
    if changed.revoked {
        app.end(Ended::User(id));
    }
    Ok(Json(member_dto(&changed.member)))
}

/// Removes a member from the workspace (admins; never the owner): their account goes with
/// all their screenshots, entries, sessions and notifications (R23, R38).
#[utoipa::path(delete, path = "/api/v1/members/{id}", tag = "members", operation_id = "remove_member", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "member id")),
    responses(
        (status = 204),
        (status = 401, body = ApiError),
        (status = 403, description = "not an admin, or the owner", body = ApiError),
        (status = 404, body = ApiError),
    ))]
pub(super) async fn remove(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<UserId>,
) -> Result<StatusCode> {
    auth.require_admin()?;
    let removed = app
        .intents()
        .remove_member(auth.user, id, app.now())
        .await?;
    app.end(Ended::User(id));
    discard(&app, &removed.blob_keys).await;
    Ok(StatusCode::NO_CONTENT)
}
