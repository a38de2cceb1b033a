//! Who may see which screenshots (R16).
//!
//! A member sees their own screenshots; an admin (owner or admin) sees every screenshot in the
//! workspace; nobody sees anything from another workspace — not even their own screenshots taken
//! in a different workspace, because a session always acts inside one workspace.
//!
//! [`ViewScope`] is the same rule in the shape a listing query needs (which owner filter to add),
//! so point look-ups ([`can_view`]) and lists can never disagree. Callers must answer a forbidden
//! object exactly like a missing one (404), so existence does not leak.

use shotclock_api::{Role, UserId, WorkspaceId};

/// Who is asking: a signed-in user acting in one workspace with one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Actor {
    /// The signed-in user.
    pub user: UserId,
    /// The workspace the session acts in.
    pub workspace: WorkspaceId,
    /// The user's role in that workspace.
    pub role: Role,
}

/// Whose object it is: the user who owns it and the workspace it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner {
    /// The owning user.
    pub user: UserId,
    /// The workspace the object belongs to.
    pub workspace: WorkspaceId,
}

/// The set of owners whose objects an [`Actor`] may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewScope {
    /// Only this user's objects in this workspace (members).
    Own {
        /// The workspace.
        workspace: WorkspaceId,
        /// The user.
        user: UserId,
    },
    /// Every object in this workspace (admins).
    Workspace {
        /// The workspace.
        workspace: WorkspaceId,
    },
}

impl ViewScope {
    /// The scope of `actor`.
    #[must_use]
    pub fn of(actor: &Actor) -> Self {
        if actor.role.is_admin() {
            ViewScope::Workspace {
                workspace: actor.workspace,
            }
        } else {
            ViewScope::Own {
                workspace: actor.workspace,
                user: actor.user,
            }
        }
    }

    /// Whether an object of `owner` lies in this scope.
    #[must_use]
    pub fn includes(&self, owner: &Owner) -> bool {
        match *self {
            ViewScope::Own { workspace, user } => {
                owner.workspace == workspace && owner.user == user
            }
            ViewScope::Workspace { workspace } => owner.workspace == workspace,
        }
    }
}

/// Whether `actor` may see an object owned by `owner`.
#[must_use]
pub fn can_view(actor: &Actor, owner: &Owner) -> bool {
    ViewScope::of(actor).includes(owner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[derive(Clone, Copy, Debug)]
    enum Who {
        Same,
        Other,
    }

    #[rstest]
    #[case::member_own(Role::Member, Who::Same, Who::Same, true)]
    #[case::member_other_user(Role::Member, Who::Other, Who::Same, false)]
    #[case::member_own_user_other_workspace(Role::Member, Who::Same, Who::Other, false)]
    #[case::member_other_user_other_workspace(Role::Member, Who::Other, Who::Other, false)]
    #[case::admin_own(Role::Admin, Who::Same, Who::Same, true)]
    #[case::admin_other_user(Role::Admin, Who::Other, Who::Same, true)]
    #[case::admin_other_workspace(Role::Admin, Who::Other, Who::Other, false)]
    #[case::admin_own_user_other_workspace(Role::Admin, Who::Same, Who::Other, false)]
    #[case::owner_other_user(Role::Owner, Who::Other, Who::Same, true)]
    #[case::owner_other_workspace(Role::Owner, Who::Other, Who::Other, false)]
    fn can_view_cases(
        #[case] role: Role,
        #[case] user: Who,
        #[case] workspace: Who,
        #[case] expected: bool,
    ) {
        let actor = Actor {
            user: UserId::new(),
            workspace: WorkspaceId::new(),
            role,
        };
        let owner = Owner {
            user: match user {
                Who::Same => actor.user,
                Who::Other => UserId::new(),
            },
            workspace: match workspace {
                Who::Same => actor.workspace,
                Who::Other => WorkspaceId::new(),
            },
        };
        assert_eq!(can_view(&actor, &owner), expected);
        assert_eq!(ViewScope::of(&actor).includes(&owner), expected);
    }

    #[test]
    fn scope_shape() {
        let actor = Actor {
            user: UserId::new(),
            workspace: WorkspaceId::new(),
            role: Role::Member,
        };
        assert_eq!(
            ViewScope::of(&actor),
            ViewScope::Own {
                workspace: actor.workspace,
                user: actor.user
            }
        );
        let admin = Actor {
            role: Role::Owner,
            ..actor
        };
        assert_eq!(
            ViewScope::of(&admin),
            ViewScope::Workspace {
                workspace: actor.workspace
            }
        );
    }
}
