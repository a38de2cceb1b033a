//! Where the session token lives (R3): the OS keyring (Keychain, Credential Manager, Secret
//! Service). Where no keyring answers — a bare Linux session without a Secret Service — the token
//! goes to a file only this user can read (0600, in the 0700 data folder) and the UI says so.
//! Never in SQLite, logs or the webview.
//!
//! Beside it, `account.json` remembers which service and email were used last and what the
//! service last said about the account and its workspace (not secret): it names the keyring
//! entry, pre-fills the sign-in form, and lets the app start offline.
//!
//! The Wayland ScreenCast portal's restore token (the screen-sharing grant, issue 13) is kept
//! the same way, beside the session token: a keyring entry of its own, else the user-only
//! `screencast-token` file. Each grant's token replaces the previous one (tokens are
//! single-use), and signing out forgets it with the session token.
//!
//! Keyring calls block (D-Bus) and a misconfigured Secret Service can hang on an unlock prompt,
//! so each runs on a blocking thread with a deadline; a timeout counts as "no keyring".

use serde::{Deserialize, Serialize};
pub use shotclock_agent::TokenStorage;
use shotclock_agent::write_private;
use std::path::{Path, PathBuf};
use std::time::Duration;

const KEYRING_SERVICE: &str = "app.shotclock.desktop";
const TOKEN_FILE: &str = "session-token";
const SCREENCAST_FILE: &str = "screencast-token";
const ACCOUNT_FILE: &str = "account.json";
const KEYRING_DEADLINE: Duration = Duration::from_secs(5);

/// The last account signed in on this device (not secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastAccount {
    pub server_url: String,
    pub email: String,
    /// The account and workspace as of the last contact with the service.
    #[serde(default)]
    pub me: Option<shotclock_api::dto::Me>,
}

impl LastAccount {
    fn keyring_user(&self) -> String {
        format!("{} @ {}", self.email, self.server_url)
    }

    fn screencast_user(&self) -> String {
        format!("screencast: {}", self.keyring_user())
    }
}

/// The token store of one data folder.
#[derive(Debug, Clone)]
pub struct Vault {
    dir: PathBuf,
}

impl Vault {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Vault { dir: dir.into() }
    }

    /// The account used last, if any.
    pub fn last_account(&self) -> Option<LastAccount> {
        let bytes = std::fs::read(self.dir.join(ACCOUNT_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Records `account` (without touching the token).
    pub fn remember(&self, account: &LastAccount) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(account).map_err(std::io::Error::other)?;
        write_private(&self.dir.join(ACCOUNT_FILE), &bytes)
    }

    /// Keeps `token` for `account`: in the keyring if one answers, else in the user-only file.
    pub async fn save(&self, account: &LastAccount, token: &str) -> std::io::Result<TokenStorage> {
        self.remember(account)?;
        self.put(account.keyring_user(), TOKEN_FILE, token).await
    }

    /// The stored token of `account`, and where it was found.
    pub async fn load(&self, account: &LastAccount) -> Option<(String, TokenStorage)> {
        self.get(account.keyring_user(), TOKEN_FILE).await
    }

    /// Forgets the session token and the screen-sharing grant of `account` everywhere (the
    /// account line stays, to pre-fill sign-in).
    pub async fn forget(&self, account: &LastAccount) -> std::io::Result<()> {
        let session = self.remove(account.keyring_user(), TOKEN_FILE).await;
        let screencast = self.forget_screencast(account).await;
        session.and(screencast)
    }

    /// Keeps the ScreenCast portal's restore token of `account` in place of the previous one.
    pub async fn save_screencast(
        &self,
        account: &LastAccount,
        token: &str,
    ) -> std::io::Result<TokenStorage> {
        self.put(account.screencast_user(), SCREENCAST_FILE, token)
            .await
    }

    /// The stored ScreenCast restore token of `account`, if any.
    pub async fn load_screencast(&self, account: &LastAccount) -> Option<String> {
        self.get(account.screencast_user(), SCREENCAST_FILE)
            .await
            .map(|(token, _)| token)
    }

    /// Forgets the ScreenCast restore token of `account` (the next session asks again).
    pub async fn forget_screencast(&self, account: &LastAccount) -> std::io::Result<()> {
        self.remove(account.screencast_user(), SCREENCAST_FILE)
            .await
    }

    /// `secret` into the keyring entry `user`, else into the user-only `file`.
    async fn put(&self, user: String, file: &str, secret: &str) -> std::io::Result<TokenStorage> {
        let owned = secret.to_owned();
        match keyring_call(move || entry(&user)?.set_password(&owned)).await {
            Ok(()) => {
                remove_if_present(&self.dir.join(file))?;
                Ok(TokenStorage::Keyring)
            }
            Err(err) => {
                tracing::warn!("no OS keyring ({err}); keeping the secret in a user-only file");
                write_private(&self.dir.join(file), secret.as_bytes())?;
                Ok(TokenStorage::File)
            }
        }
    }

    /// The secret of keyring entry `user`, else of the user-only `file`.
    async fn get(&self, user: String, file: &str) -> Option<(String, TokenStorage)> {
        match keyring_call(move || entry(&user)?.get_password()).await {
            Ok(token) => return Some((token, TokenStorage::Keyring)),
            Err(KeyringFailure::Keyring(keyring::Error::NoEntry)) => {}
            Err(err) => tracing::info!("keyring unavailable ({err}); looking for the file"),
        }
        let token = std::fs::read_to_string(self.dir.join(file)).ok()?;
        let token = token.trim().to_owned();
        (!token.is_empty()).then_some((token, TokenStorage::File))
    }

    /// Removes keyring entry `user` and the user-only `file`.
    async fn remove(&self, user: String, file: &str) -> std::io::Result<()> {
        match keyring_call(move || entry(&user)?.delete_credential()).await {
            Ok(()) | Err(KeyringFailure::Keyring(keyring::Error::NoEntry)) => {}
            Err(err) => tracing::info!("could not clear the keyring entry: {err}"),
        }
        remove_if_present(&self.dir.join(file))
    }
}

#[derive(Debug, thiserror::Error)]
enum KeyringFailure {
    #[error("{0}")]
    Keyring(#[from] keyring::Error),
    #[error("the keyring did not answer within {0:?}")]
    Timeout(Duration),
    #[error("keyring thread failed")]
    Join,
}

fn entry(user: &str) -> keyring::Result<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, user)
}

async fn keyring_call<T, F>(f: F) -> Result<T, KeyringFailure>
where
    F: FnOnce() -> keyring::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::time::timeout(KEYRING_DEADLINE, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(result)) => result.map_err(KeyringFailure::from),
        Ok(Err(_)) => Err(KeyringFailure::Join),
        Err(_) => Err(KeyringFailure::Timeout(KEYRING_DEADLINE)),
    }
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Creates the data folder readable by this user only.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> LastAccount {
        LastAccount {
            server_url: "https://acme.example/".into(),
            email: "ada@acme.example".into(),
            me: None,
        }
    }

    #[tokio::test]
    async fn without_a_keyring_the_token_goes_to_a_user_only_file_and_back() {
        keyring::set_default_credential_builder(Box::new(Unavailable));
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::new(dir.path());
        assert_eq!(vault.load(&account()).await, None);

        let stored = vault.save(&account(), "secret-token").await.unwrap();
        assert_eq!(stored, TokenStorage::File);
        assert_eq!(vault.last_account(), Some(account()));
        assert_eq!(
            vault.load(&account()).await,
            Some(("secret-token".to_owned(), TokenStorage::File))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        vault.forget(&account()).await.unwrap();
        assert_eq!(vault.load(&account()).await, None);
        assert!(!dir.path().join(TOKEN_FILE).exists());
        // The account line stays to pre-fill the sign-in form; it holds no secret.
        let line = std::fs::read_to_string(dir.path().join(ACCOUNT_FILE)).unwrap();
        assert!(!line.contains("secret-token"));
    }

    #[tokio::test]
    async fn the_screencast_grant_lives_beside_the_session_is_replaced_and_goes_at_sign_out() {
        keyring::set_default_credential_builder(Box::new(Unavailable));
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::new(dir.path());
        assert_eq!(vault.load_screencast(&account()).await, None);
        vault.save(&account(), "secret-token").await.unwrap();
        let stored = vault.save_screencast(&account(), "grant-1").await.unwrap();
        assert_eq!(stored, TokenStorage::File);
        vault.save_screencast(&account(), "grant-2").await.unwrap();
        assert_eq!(
            vault.load_screencast(&account()).await.as_deref(),
            Some("grant-2")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SCREENCAST_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The session token is untouched by the grant's.
        assert_eq!(
            vault.load(&account()).await.map(|(t, _)| t).as_deref(),
            Some("secret-token")
        );
        vault.forget(&account()).await.unwrap();
        assert_eq!(vault.load_screencast(&account()).await, None);
        assert!(!dir.path().join(SCREENCAST_FILE).exists());
    }

    /// A credential store whose every call fails like a session without a Secret Service.
    #[derive(Debug)]
    struct Unavailable;

    impl keyring::credential::CredentialBuilderApi for Unavailable {
        fn build(
            &self,
            _target: Option<&str>,
            _service: &str,
            _user: &str,
        ) -> keyring::Result<Box<keyring::credential::Credential>> {
            Err(keyring::Error::NoStorageAccess(Box::new(
                std::io::Error::other("no Secret Service on this bus"),
            )))
        }

        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }
}
