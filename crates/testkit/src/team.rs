//! Teams seeded through the service's store (there is no sign-up in the API), signed in through
//! the client.

use std::sync::OnceLock;

use shotclock_api::dto::{UpdateSettingsRequest, WorkspaceSettings};
use shotclock_api::{Plan, Role, UserId, WorkspaceId};
use shotclock_server::intents::SettingsPatch;
use shotclock_server::store::NewUser;
use shotclock_sync::Client;

use crate::TestServer;

/// Every seeded user's password.
pub const PASSWORD: &str = "correct horse battery";

/// One argon2 hash of [`PASSWORD`] for all users (hashing is slow in debug builds).
pub async fn shared_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    if let Some(h) = HASH.get() {
        return h.clone();
    }
    let h = shotclock_server::auth::hash_password(PASSWORD.into())
        .await
        .unwrap();
    HASH.get_or_init(|| h).clone()
}

/// A seeded user.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: UserId,
    pub email: String,
    /// The display name.
    pub name: String,
}

impl From<&NewUser> for Person {
    fn from(u: &NewUser) -> Self {
        Person {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
        }
    }
}

pub struct Team {
    pub ws: WorkspaceId,
    /// The owner first, then the members in the order given.
    pub people: Vec<Person>,
}

impl Team {
    pub fn owner(&self) -> &Person {
        &self.people[0]
    }

    /// The `i`-th member (0-based, owner excluded).
    pub fn member(&self, i: usize) -> &Person {
        &self.people[i + 1]
    }
}

/// A team on plan `enterprise` with its owner signed in.
pub struct Workspace {
    pub team: Team,
    /// The owner, signed in (an admin).
    pub owner: Client,
}

impl Workspace {
    /// The `i`-th member (0-based, owner excluded).
    pub fn member(&self, i: usize) -> &Person {
        self.team.member(i)
    }
}

impl TestServer {
    /// Creates workspace `name` with an owner (`owner@{name}.test`) and the given members
    /// (`{who}@{name}.test`), all with [`PASSWORD`], at the service's "now".
    pub async fn team(&self, name: &str, members: &[(&str, Role)]) -> Team {
        self.team_owned_by(name, "owner", members).await
    }

    /// [`TestServer::team`] with the owner's handle chosen: everyone is `{handle}@{name}.test`,
    /// named by the handle capitalised.
    pub async fn team_owned_by(&self, name: &str, owner: &str, members: &[(&str, Role)]) -> Team {
        self.team_since(name, owner, members, self.app().now())
            .await
    }

    /// [`TestServer::team_owned_by`] with the workspace's history beginning at `now`.
    async fn team_since(
        &self,
        name: &str,
        owner: &str,
        members: &[(&str, Role)],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Team {
        let hash = shared_hash().await;
        let ws = WorkspaceId::new();
        let user = |who: &str, role: Role| NewUser {
            id: UserId::new(),
            email: format!("{who}@{name}.test"),
            name: capitalised(who),
            password_hash: hash.clone(),
            role,
        };
        let owner = user(owner, Role::Owner);
        let store = self.app().intents();
        store
            .create_workspace(ws, name.into(), owner.clone(), now)
            .await
            .unwrap();
        let mut people = vec![Person::from(&owner)];
        for (who, role) in members {
            let member = user(who, *role);
            store.add_user(ws, member.clone(), now).await.unwrap();
            people.push(Person::from(&member));
        }
        Team { ws, people }
    }

    /// Signs `who` in with a plain client; returns the signed-in client.
    pub async fn sign_in(&self, who: &Person) -> Client {
        let anon = self.client();
        let session = anon.login(&who.email, PASSWORD, None).await.unwrap();
        anon.with_token(&session.token)
    }

    /// A workspace on plan `enterprise` whose owner turned screenshots on (R4, R5) or left them
    /// off, with the given members. Its history begins the retention period ago, and capture is
    /// on since then: the service judges an upload by the gate at its capture moment, and tests
    /// replay captures from the past days.
    pub async fn workspace(&self, name: &str, members: &[&str], screenshots: bool) -> Workspace {
        let list: Vec<(&str, Role)> = members.iter().map(|m| (*m, Role::Member)).collect();
        let team = self
            .enterprise_team(name, "owner", &list, screenshots)
            .await;
        let owner = self.sign_in(team.owner()).await;
        Workspace { team, owner }
    }

    /// [`TestServer::team_owned_by`] on plan `enterprise`, its history beginning the retention
    /// period ago, with capture on since then when `screenshots` says so (every member is
    /// notified then, R6).
    pub async fn enterprise_team(
        &self,
        name: &str,
        owner: &str,
        members: &[(&str, Role)],
        screenshots: bool,
    ) -> Team {
        let since = self.app().now() - shotclock_domain::retention::RETENTION;
        let team = self.team_since(name, owner, members, since).await;
        let intents = self.app().intents();
        intents
            .set_plan(team.ws, Plan::Enterprise, since)
            .await
            .unwrap();
        if screenshots {
            let on = SettingsPatch {
                screenshots_enabled: Some(true),
                ..SettingsPatch::default()
            };
            intents.update_settings(team.ws, on, since).await.unwrap();
        }
        team
    }
}

/// An admin turns "Activate screenshot capturing" on or off through the API; returns the
/// settings the service answered with.
pub async fn set_screenshots(admin: &Client, on: bool) -> WorkspaceSettings {
    let settings = admin
        .update_workspace(&UpdateSettingsRequest {
            screenshots_enabled: Some(on),
            ..UpdateSettingsRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(settings.screenshots_enabled, on);
    settings
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
