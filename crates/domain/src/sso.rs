//! Single sign-on (R31): who a person the identity provider vouched for is in a workspace.
//!
//! The service has verified the ID token already (signature, issuer, audience, times, nonce);
//! what is left is deciding the account, in this order:
//! 1. a person already linked by the provider's `sub` is that account, if it is still active
//!    (a deactivated account is refused: off-boarding wins);
//! 2. otherwise the email must be one the provider marks verified — an unverified email links
//!    nothing and makes nothing;
//! 3. its domain must be one of the workspace's allowed domains;
//! 4. an account of this workspace with that email is linked (if active) — except the
//!    owner's: a provider is set up by any admin, so one that vouches for the owner's email
//!    must not hand over the workspace (R38: the owner is protected); the owner signs in with
//!    their password, which they always keep;
//! 5. someone who is an account of another workspace only is refused: one email, one
//!    workspace through single sign-on, so a provider cannot pull people across;
//! 6. anyone else joins as a member when the workspace has auto-join on, and is refused
//!    otherwise.
//!
//! Password sign-in ([`password_allowed`]): an owner always keeps it, so a broken provider can
//! never lock a workspace out; others only while the workspace allows it.

use shotclock_api::{ErrorCode, Role};

/// An account as the decision sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account<Id> {
    /// Its id.
    pub id: Id,
    /// Whether it may sign in.
    pub active: bool,
    /// Whether it is the workspace's owner.
    pub owner: bool,
}

/// What is known when the provider vouched for someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<Id> {
    /// The account linked to the provider's `sub`, if any.
    pub linked: Option<Account<Id>>,
    /// The email in the ID token (lowercased), if any.
    pub email: Option<String>,
    /// Whether the provider marks that email verified.
    pub email_verified: bool,
    /// The workspace's account with that email, if any.
    pub same_email: Option<Account<Id>>,
    /// Whether an account of another workspace has that email.
    pub elsewhere: bool,
    /// The workspace's allowed email domains (lowercase).
    pub allowed_domains: Vec<String>,
    /// Whether new people join automatically.
    pub auto_join: bool,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<Id> {
    /// Sign in as this account (already linked).
    SignIn(Id),
    /// Link `sub` to this account, then sign in.
    Link(Id),
    /// Make a new member with this email, link `sub` to it, then sign in.
    Join(String),
    /// Refused.
    Refuse(Refusal),
}

/// Why a sign-in through the provider is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The account is deactivated.
    Deactivated,
    /// The provider does not vouch for the email (or sent none).
    EmailNotVerified,
    /// The email's domain is not one the workspace allows.
    DomainNotAllowed,
    /// The person is an account of another workspace.
    OtherWorkspace,
    /// New people do not join automatically; an admin must invite them.
    NoAutoJoin,
    /// The email is the owner's, whose account single sign-on never links.
    Owner,
}

impl Refusal {
    /// The error code it answers with.
    #[must_use]
    pub fn error_code(self) -> ErrorCode {
        ErrorCode::Forbidden
    }

    /// A plain sentence for the person.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Deactivated => "this account is deactivated in the workspace",
            Refusal::EmailNotVerified => {
                "the identity provider does not confirm this email address as verified"
            }
            Refusal::DomainNotAllowed => {
                "this email address is not in a domain the workspace allows for single sign-on"
            }
            Refusal::OtherWorkspace => "this email address belongs to another workspace",
            Refusal::NoAutoJoin => {
                "you are not a member of this workspace yet; ask an admin for an invitation"
            }
            Refusal::Owner => {
                "the workspace owner signs in with their password; single sign-on never takes over the owner's account"
            }
        }
    }
}

/// The domain of an email address (after the last `@`), lowercased.
#[must_use]
pub fn domain_of(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_lowercase())
        .filter(|d| !d.is_empty())
}

/// Decides who signs in (see the module doc for the order).
#[must_use]
pub fn decide<Id: Copy>(facts: &Facts<Id>) -> Decision<Id> {
    if let Some(linked) = facts.linked {
        return if linked.active {
            Decision::SignIn(linked.id)
        } else {
            Decision::Refuse(Refusal::Deactivated)
        };
    }
    let Some(email) = facts.email.as_deref().filter(|_| facts.email_verified) else {
        return Decision::Refuse(Refusal::EmailNotVerified);
    };
    let allowed = domain_of(email).is_some_and(|d| facts.allowed_domains.contains(&d));
    if !allowed {
        return Decision::Refuse(Refusal::DomainNotAllowed);
    }
    if let Some(account) = facts.same_email {
        return if !account.active {
            Decision::Refuse(Refusal::Deactivated)
        } else if account.owner {
            Decision::Refuse(Refusal::Owner)
        } else {
            Decision::Link(account.id)
        };
    }
    if facts.elsewhere {
        return Decision::Refuse(Refusal::OtherWorkspace);
    }
    if facts.auto_join {
        Decision::Join(email.to_owned())
    } else {
        Decision::Refuse(Refusal::NoAutoJoin)
    }
}

/// Whether someone of `role` may sign in with a password while the workspace's single sign-on
/// allows passwords (`workspace_allows`, `true` when it has none).
#[must_use]
pub fn password_allowed(role: Role, workspace_allows: bool) -> bool {
    role == Role::Owner || workspace_allows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts<u32> {
        Facts {
            linked: None,
            email: Some("ann@acme.test".into()),
            email_verified: true,
            same_email: None,
            elsewhere: false,
            allowed_domains: vec!["acme.test".into()],
            auto_join: true,
        }
    }

    #[test]
    fn each_refusal_says_its_own_reason_in_words() {
        let said = [
            (Refusal::Deactivated, "deactivated"),
            (Refusal::EmailNotVerified, "verified"),
            (Refusal::DomainNotAllowed, "domain"),
            (Refusal::OtherWorkspace, "another workspace"),
            (Refusal::NoAutoJoin, "invitation"),
            (Refusal::Owner, "owner signs in with their password"),
        ];
        for (refusal, word) in said {
            assert!(
                refusal.message().contains(word),
                "{refusal:?} says {:?}",
                refusal.message()
            );
            assert_eq!(refusal.error_code(), ErrorCode::Forbidden);
        }
    }

    const ACTIVE: Account<u32> = Account {
        id: 7,
        active: true,
        owner: false,
    };
    const GONE: Account<u32> = Account {
        id: 7,
        active: false,
        owner: false,
    };
    const OWNER: Account<u32> = Account {
        id: 7,
        active: true,
        owner: true,
    };

    #[test]
    fn decisions_in_order() {
        let cases: Vec<(Facts<u32>, Decision<u32>)> = vec![
            (facts(), Decision::Join("ann@acme.test".into())),
            (
                Facts {
                    linked: Some(ACTIVE),
                    email_verified: false,
                    allowed_domains: vec![],
                    ..facts()
                },
                Decision::SignIn(7),
            ),
            (
                Facts {
                    linked: Some(GONE),
                    ..facts()
                },
                Decision::Refuse(Refusal::Deactivated),
            ),
            (
                Facts {
                    email_verified: false,
                    same_email: Some(ACTIVE),
                    ..facts()
                },
                Decision::Refuse(Refusal::EmailNotVerified),
            ),
            (
                Facts {
                    email: None,
                    ..facts()
                },
                Decision::Refuse(Refusal::EmailNotVerified),
            ),
            (
                Facts {
                    email: Some("ann@evil.test".into()),
                    same_email: Some(ACTIVE),
                    ..facts()
                },
                Decision::Refuse(Refusal::DomainNotAllowed),
            ),
            (
                Facts {
                    email: Some("ann@sub.acme.test".into()),
                    ..facts()
                },
                Decision::Refuse(Refusal::DomainNotAllowed),
            ),
            (
                Facts {
                    same_email: Some(ACTIVE),
                    elsewhere: true,
                    ..facts()
                },
                Decision::Link(7),
            ),
            (
                Facts {
                    same_email: Some(GONE),
                    ..facts()
                },
                Decision::Refuse(Refusal::Deactivated),
            ),
            (
                Facts {
                    same_email: Some(OWNER),
                    ..facts()
                },
                Decision::Refuse(Refusal::Owner),
            ),
            (
                Facts {
                    same_email: Some(Account {
                        active: false,
                        ..OWNER
                    }),
                    ..facts()
                },
                Decision::Refuse(Refusal::Deactivated),
            ),
            (
                Facts {
                    linked: Some(OWNER),
                    ..facts()
                },
                Decision::SignIn(7),
            ),
            (
                Facts {
                    elsewhere: true,
                    ..facts()
                },
                Decision::Refuse(Refusal::OtherWorkspace),
            ),
            (
                Facts {
                    auto_join: false,
                    ..facts()
                },
                Decision::Refuse(Refusal::NoAutoJoin),
            ),
        ];
        for (i, (f, want)) in cases.into_iter().enumerate() {
            assert_eq!(decide(&f), want, "case {i}");
        }
    }

    #[test]
    fn owners_always_keep_passwords() {
        assert!(password_allowed(Role::Owner, false));
        assert!(!password_allowed(Role::Admin, false));
        assert!(!password_allowed(Role::Member, false));
        assert!(password_allowed(Role::Member, true));
    }

    #[test]
    fn domains() {
        assert_eq!(domain_of("A@Acme.Test").as_deref(), Some("acme.test"));
        assert_eq!(domain_of("a@"), None);
        assert_eq!(domain_of("nobody"), None);
    }
}
