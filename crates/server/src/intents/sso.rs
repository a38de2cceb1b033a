//! Single sign-on (R31): the workspace's provider settings, sign-ins under way, who signs in,
//! the desktop app's one-time codes, and whether a password may still be used.
//!
//! The decisions are `shotclock_domain::sso`'s; this layer gathers their facts and applies
//! them inside one transaction each. Every refusal writes nothing.

use chrono::{DateTime, Utc};
use shotclock_api::{ErrorCode, Role, UserId, WorkspaceId};
use shotclock_domain::sso::{Account, Decision, Facts, Refusal, decide, password_allowed};

use super::Intents;
use super::accounts::insert_user;
use crate::store::{
    NewUser, SsoCodeRow, SsoConfigRow, SsoRequestRow, StoreError, StoreResult, UserRow,
};

/// Who a verified ID token names, as the rules need it.
#[derive(Debug, Clone)]
pub struct SsoPerson {
    /// The provider's issuer (the workspace's configured one).
    pub issuer: String,
    /// The provider's subject.
    pub subject: String,
    /// Email (lowercased), if any.
    pub email: Option<String>,
    /// Whether the provider marks it verified.
    pub email_verified: bool,
}

/// Who signs in through the provider.
#[derive(Debug, Clone)]
pub enum SsoAccount {
    /// This account (linked now, if it was not).
    User(UserRow),
    /// A new member would be made: call again with a password hash for the account (never
    /// used to sign in; the account signs in through the provider, or after a reset).
    NeedsHash,
    /// Refused; nothing was written.
    Refused(Refusal),
}

/// Why an app code does not give a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Unknown, used already, or expired.
    Invalid,
    /// The verifier does not match the challenge the sign-in started with.
    WrongVerifier,
}

/// The S256 PKCE challenge of a verifier (RFC 7636): unpadded base64url of its SHA-256.
#[must_use]
pub fn s256(verifier: &str) -> String {
    let verifier = openidconnect::PkceCodeVerifier::new(verifier.to_owned());
    openidconnect::PkceCodeChallenge::from_code_verifier_sha256(&verifier)
        .as_str()
        .to_owned()
}

/// Equal strings, compared in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Intents {
    /// A workspace's single sign-on settings, if linked.
    pub async fn sso_config(&self, id: WorkspaceId) -> StoreResult<Option<SsoConfigRow>> {
        self.read(move |rows| rows.sso_config(id)).await
    }

    /// The workspace whose single sign-on claims an email domain.
    pub async fn sso_workspace_for(&self, domain: String) -> StoreResult<Option<WorkspaceId>> {
        self.read(move |rows| rows.sso_domain_workspace(&domain))
            .await
    }

    /// Stores a workspace's single sign-on settings (admins; the caller checks the role and
    /// the provider). A domain another workspace claims is refused (`conflict`).
    pub async fn save_sso_config(&self, row: SsoConfigRow) -> StoreResult<SsoConfigRow> {
        self.write(move |rows| {
            for domain in &row.allowed_domains {
                if let Some(other) = rows.sso_domain_workspace(domain)?
                    && other != row.workspace_id
                {
                    return Err(StoreError::refused(
                        ErrorCode::Conflict,
                        format!("the domain {domain} signs in to another workspace already"),
                    ));
                }
            }
            rows.set_sso_config(&row)?;
            Ok(row)
        })
        .await
    }

    /// Unlinks a workspace from its identity provider (admins; the caller checks the role):
    /// its domains are free again, sign-ins under way stop working, and password sign-in is
    /// allowed again for everyone (nothing is linked that could turn it off). Unlinking a
    /// workspace that is not linked changes nothing.
    pub async fn delete_sso_config(&self, workspace: WorkspaceId) -> StoreResult<()> {
        self.write(move |rows| rows.delete_sso_config(workspace))
            .await
    }

    /// Keeps a sign-in under way (and forgets those that expired).
    pub async fn begin_sso(&self, row: SsoRequestRow, now: DateTime<Utc>) -> StoreResult<()> {
        self.write(move |rows| {
            rows.purge_sso(now)?;
            rows.insert_sso_request(&row)
        })
        .await
    }

    /// Takes the sign-in under way that `state` names: once only, and only before it expires.
    pub async fn take_sso_request(
        &self,
        state: String,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SsoRequestRow>> {
        let hash = crate::auth::token_hash(&state);
        self.write(move |rows| {
            let row = rows.take_sso_request(&hash)?;
            Ok(row.filter(|r| r.expires_at > now))
        })
        .await
    }

    /// Decides who signs in for a verified person (`shotclock_domain::sso::decide`) and links
    /// or makes the account; a refusal writes nothing.
    pub async fn sso_account(
        &self,
        workspace: WorkspaceId,
        person: SsoPerson,
        password_hash: Option<String>,
        now: DateTime<Utc>,
    ) -> StoreResult<SsoAccount> {
        self.write(move |rows| {
            let Some(config) = rows.sso_config(workspace)? else {
                return Err(StoreError::NotFound);
            };
            let linked = match rows.sso_identity(workspace, &person.issuer, &person.subject)? {
                Some(id) => rows.user(id)?,
                None => None,
            };
            let with_email = match &person.email {
                Some(email) => rows.users_by_email(email)?,
                None => Vec::new(),
            };
            let same_email = with_email
                .iter()
                .find(|u| u.workspace_id == workspace)
                .cloned();
            let account = |u: &UserRow| Account {
                id: u.id,
                active: u.active,
                owner: u.role == Role::Owner,
            };
            let facts = Facts {
                linked: linked.as_ref().map(account),
                email: person.email.clone(),
                email_verified: person.email_verified,
                same_email: same_email.as_ref().map(account),
                elsewhere: with_email.iter().any(|u| u.workspace_id != workspace),
                allowed_domains: config.allowed_domains.clone(),
                auto_join: config.auto_join,
            };
            match decide(&facts) {
                Decision::SignIn(_) => linked.map(SsoAccount::User).ok_or(StoreError::NotFound),
                Decision::Link(_) => {
                    let Some(user) = same_email else {
                        return Err(StoreError::NotFound);
                    };
                    rows.insert_sso_identity(workspace, &person.issuer, &person.subject, user.id)?;
                    Ok(SsoAccount::User(user))
                }
                Decision::Join(email) => {
                    let Some(password_hash) = password_hash else {
                        return Ok(SsoAccount::NeedsHash);
                    };
                    let name = email.split('@').next().unwrap_or_default().to_owned();
                    let user = NewUser {
                        id: UserId::new(),
                        email,
                        name,
                        password_hash,
                        role: Role::Member,
                    };
                    let created = insert_user(rows, workspace, &user, now)?;
                    rows.insert_sso_identity(
                        workspace,
                        &person.issuer,
                        &person.subject,
                        created.id,
                    )?;
                    Ok(SsoAccount::User(created))
                }
                Decision::Refuse(why) => Ok(SsoAccount::Refused(why)),
            }
        })
        .await
    }

    /// Keeps a one-time code for the desktop app (its hash, bound to the app's challenge).
    pub async fn issue_sso_code(&self, row: SsoCodeRow) -> StoreResult<()> {
        self.write(move |rows| rows.insert_sso_code(&row)).await
    }

    /// Redeems an app code with its PKCE verifier: once only (a wrong verifier uses it up
    /// too), before it expires, for an account that is still active, of a workspace that still
    /// signs in through its provider (unlinking ends the sign-ins under way, R31).
    pub async fn redeem_sso_code(
        &self,
        code: String,
        verifier: String,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<UserRow, CodeRefusal>> {
        let hash = crate::auth::token_hash(&code);
        self.write(move |rows| {
            let Some(row) = rows.take_sso_code(&hash)? else {
                return Ok(Err(CodeRefusal::Invalid));
            };
            if row.expires_at <= now {
                return Ok(Err(CodeRefusal::Invalid));
            }
            if !same(&s256(&verifier), &row.challenge) {
                return Ok(Err(CodeRefusal::WrongVerifier));
            }
            match rows.user(row.user_id)? {
                Some(user) if user.active && rows.sso_config(user.workspace_id)?.is_some() => {
                    Ok(Ok(user))
                }
                _ => Ok(Err(CodeRefusal::Invalid)),
            }
        })
        .await
    }

    /// Whether `user` may sign in with a password (owners always; others unless the
    /// workspace's single sign-on turned passwords off).
    pub async fn password_sign_in_allowed(&self, user: &UserRow) -> StoreResult<bool> {
        let (workspace, role) = (user.workspace_id, user.role);
        let config = self.read(move |rows| rows.sso_config(workspace)).await?;
        Ok(password_allowed(
            role,
            config.is_none_or(|c| c.password_sign_in),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_follows_rfc_7636() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        // Two differences that cancel out under XOR are still two differences.
        assert!(!same("ab", "ba"));
        assert!(!same("xay", "xby"));
    }
}
