//! Managing members (R1, R38): who may change whom, and whether an invitation link still works.
//!
//! * Only admins manage members; the **owner** is out of everyone's reach: nobody (the owner
//!   included) demotes, deactivates or removes them, and ownership is never handed out, so a
//!   workspace always keeps one active admin and no "last admin" rule is needed.
//! * An admin may change, deactivate or remove any other person, admins included; they may
//!   also demote or remove themselves (the owner stays). Deactivating oneself is refused: it
//!   would end the very session asking, with nobody told why.
//! * An invitation link works once, until it expires, unless an admin revoked it. A revoked
//!   link answers exactly like an unknown one ([`LinkRefusal::Unknown`]): a person holding a
//!   revoked link learns nothing a guesser could not. A used or expired link says so, because
//!   its holder was the invitee and needs to know whether to sign in or ask again.

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_api::{ErrorCode, Role};

/// How long an invitation link works unless the service is configured otherwise.
pub const INVITATION_LIFETIME: TimeDelta = TimeDelta::days(7);

/// A change an admin asks for on a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// A new role.
    Role(Role),
    /// Deactivate (`false`) or reactivate (`true`).
    Active(bool),
    /// Remove from the workspace (the account and its data go, R23).
    Remove,
}

/// Why a member change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MemberRefusal {
    /// Only admins manage members.
    #[error("only admins manage members")]
    NotAdmin,
    /// The owner cannot be demoted, deactivated or removed.
    #[error("the workspace owner cannot be demoted, deactivated or removed")]
    Owner,
    /// Ownership is never handed out; the role to give is `admin` or `member`.
    #[error("ownership cannot be given; use admin")]
    OwnerRole,
    /// An admin cannot deactivate themselves.
    #[error("you cannot deactivate yourself; ask another admin")]
    Yourself,
}

impl MemberRefusal {
    /// The wire error code for this refusal.
    #[must_use]
    pub const fn error_code(&self) -> ErrorCode {
        match self {
            MemberRefusal::NotAdmin | MemberRefusal::Owner | MemberRefusal::Yourself => {
                ErrorCode::Forbidden
            }
            MemberRefusal::OwnerRole => ErrorCode::Validation,
        }
    }
}

/// Whether `actor` (role `actor_role`) may apply `change` to `target` (role `target_role`);
/// `same_person` when they are one account.
pub fn may_change(
    actor_role: Role,
    target_role: Role,
    same_person: bool,
    change: MemberChange,
) -> Result<(), MemberRefusal> {
    if actor_role == Role::Member {
        return Err(MemberRefusal::NotAdmin);
    }
    match change {
        MemberChange::Role(Role::Owner) if target_role != Role::Owner => {
            Err(MemberRefusal::OwnerRole)
        }
        MemberChange::Role(r) if target_role == Role::Owner && r != Role::Owner => {
            Err(MemberRefusal::Owner)
        }
        MemberChange::Active(false) | MemberChange::Remove if target_role == Role::Owner => {
            Err(MemberRefusal::Owner)
        }
        MemberChange::Active(false) if same_person => Err(MemberRefusal::Yourself),
        _ => Ok(()),
    }
}

/// What is known about an invitation when its link is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkState {
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used, if it was.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When an admin revoked it, if they did.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Why an invitation link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum LinkRefusal {
    /// No such link, or it was revoked (the two answer alike).
    #[error("this invitation link is not valid; ask an admin for a new one")]
    Unknown,
    /// Used already.
    #[error("this invitation was used already; sign in instead")]
    Used,
    /// Past its expiry.
    #[error("this invitation link has expired; ask an admin for a new one")]
    Expired,
}

impl LinkRefusal {
    /// The wire error code for this refusal.
    #[must_use]
    pub const fn error_code(&self) -> ErrorCode {
        match self {
            LinkRefusal::Unknown => ErrorCode::NotFound,
            LinkRefusal::Used => ErrorCode::InvitationUsed,
            LinkRefusal::Expired => ErrorCode::InvitationExpired,
        }
    }
}

/// Whether a link in `state` (`None`: no such link) works at `now`. Revoked wins over used
/// and expired, so a revoked link never tells more than an unknown one.
pub fn link_works(state: Option<&LinkState>, now: DateTime<Utc>) -> Result<(), LinkRefusal> {
    let Some(s) = state else {
        return Err(LinkRefusal::Unknown);
    };
    if s.revoked_at.is_some() {
        Err(LinkRefusal::Unknown)
    } else if s.accepted_at.is_some() {
        Err(LinkRefusal::Used)
    } else if now >= s.expires_at {
        Err(LinkRefusal::Expired)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    use MemberChange::{Active, Remove};
    use Role::{Admin, Member, Owner};

    #[rstest]
    // Members manage nobody, not even themselves.
    #[case(
        Member,
        Member,
        false,
        MemberChange::Role(Admin),
        Err(MemberRefusal::NotAdmin)
    )]
    #[case(Member, Member, true, Remove, Err(MemberRefusal::NotAdmin))]
    // The owner is protected from everyone, themselves included.
    #[case(
        Admin,
        Owner,
        false,
        MemberChange::Role(Member),
        Err(MemberRefusal::Owner)
    )]
    #[case(Admin, Owner, false, Active(false), Err(MemberRefusal::Owner))]
    #[case(Admin, Owner, false, Remove, Err(MemberRefusal::Owner))]
    #[case(
        Owner,
        Owner,
        true,
        MemberChange::Role(Admin),
        Err(MemberRefusal::Owner)
    )]
    #[case(Owner, Owner, true, Active(false), Err(MemberRefusal::Owner))]
    #[case(Owner, Owner, true, Remove, Err(MemberRefusal::Owner))]
    // Unchanged or harmless requests on the owner pass.
    #[case(Admin, Owner, false, MemberChange::Role(Owner), Ok(()))]
    #[case(Admin, Owner, false, Active(true), Ok(()))]
    // Ownership is never given.
    #[case(
        Owner,
        Admin,
        false,
        MemberChange::Role(Owner),
        Err(MemberRefusal::OwnerRole)
    )]
    // Admins manage everyone else, admins included.
    #[case(Admin, Admin, false, MemberChange::Role(Member), Ok(()))]
    #[case(Admin, Admin, false, Active(false), Ok(()))]
    #[case(Owner, Member, false, MemberChange::Role(Admin), Ok(()))]
    #[case(Admin, Member, false, Remove, Ok(()))]
    #[case(Admin, Member, false, Active(true), Ok(()))]
    // An admin may step down or leave, but not lock themselves out.
    #[case(Admin, Admin, true, MemberChange::Role(Member), Ok(()))]
    #[case(Admin, Admin, true, Remove, Ok(()))]
    #[case(Admin, Admin, true, Active(false), Err(MemberRefusal::Yourself))]
    fn member_changes(
        #[case] actor: Role,
        #[case] target: Role,
        #[case] same: bool,
        #[case] change: MemberChange,
        #[case] want: Result<(), MemberRefusal>,
    ) {
        assert_eq!(may_change(actor, target, same, change), want);
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + s, 0).unwrap_or_default()
    }

    #[test]
    fn links() {
        let open = LinkState {
            expires_at: at(100),
            accepted_at: None,
            revoked_at: None,
        };
        assert_eq!(link_works(Some(&open), at(0)), Ok(()));
        assert_eq!(link_works(Some(&open), at(99)), Ok(()));
        assert_eq!(link_works(Some(&open), at(100)), Err(LinkRefusal::Expired));
        assert_eq!(link_works(None, at(0)), Err(LinkRefusal::Unknown));
        let used = LinkState {
            accepted_at: Some(at(5)),
            ..open
        };
        assert_eq!(link_works(Some(&used), at(6)), Err(LinkRefusal::Used));
        assert_eq!(link_works(Some(&used), at(200)), Err(LinkRefusal::Used));
        // Revoked tells no more than unknown, whatever else is true of it.
        for s in [
            LinkState {
                revoked_at: Some(at(1)),
                ..open
            },
            LinkState {
                revoked_at: Some(at(1)),
                ..used
            },
        ] {
            assert_eq!(link_works(Some(&s), at(2)), Err(LinkRefusal::Unknown));
            assert_eq!(link_works(Some(&s), at(500)), Err(LinkRefusal::Unknown));
        }
    }

    #[test]
    fn error_codes() {
        assert_eq!(LinkRefusal::Unknown.error_code(), ErrorCode::NotFound);
        assert_eq!(LinkRefusal::Used.error_code(), ErrorCode::InvitationUsed);
        assert_eq!(
            LinkRefusal::Expired.error_code(),
            ErrorCode::InvitationExpired
        );
        assert_eq!(MemberRefusal::Owner.error_code(), ErrorCode::Forbidden);
        assert_eq!(MemberRefusal::OwnerRole.error_code(), ErrorCode::Validation);
    }
}
