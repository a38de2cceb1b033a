//! Single sign-on (R31): this service as the OpenID Connect relying party of each workspace's
//! identity provider.
//!
//! The flow (`crate::api::sso` has the routes):
//! 1. `GET /api/v1/sso/start` finds the workspace (by `workspace` id, else by the email's
//!    domain, which at most one workspace claims), makes `state`, `nonce` and a PKCE pair,
//!    keeps them server-side for ten minutes (table `sso_requests`, by the state's hash, so
//!    any replica finishes the sign-in), and sends the browser to the provider. For the
//!    desktop app (`client=app`) it also keeps the app's own S256 challenge, its loopback
//!    `redirect_uri` and its `state`.
//! 2. `GET /api/v1/sso/callback`, the one fixed callback: the request is taken (once), the
//!    code exchanged with the client secret and the PKCE verifier, the ID token verified
//!    ([`verify`]; keys fetched again once on an unknown `kid`), the email completed from
//!    the user-info endpoint when the token has none, and the account decided by the rules
//!    (`crate::intents` → `shotclock_domain::sso`). A browser then gets its cookie session and
//!    `/`; the desktop app's loopback gets a one-time code (60 s, bound to its challenge).
//! 3. `POST /api/v1/sso/token` trades that code and the app's verifier for the normal bearer
//!    session.
//!
//! Provider metadata (discovery and JWKS) is cached per issuer in memory; saving the settings
//! and an unknown `kid` fetch it again. Every request to a provider goes through [`fetch`].

pub mod fetch;
pub mod secret;
pub mod verify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LoginHint, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

pub use fetch::AddressPolicy;
pub use secret::SsoKey;
pub use verify::{Identity, SKEW, VerifyError, verify_id_token};

/// Why the provider's side of a sign-in or a settings check failed, in plain words.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The provider could not be reached, or answered something unusable.
    #[error("{0}")]
    Provider(String),
    /// The ID token was refused.
    #[error(transparent)]
    Token(#[from] VerifyError),
}

/// An error and its sources, in one line.
fn words(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

/// The providers' metadata, cached per issuer.
#[derive(Debug)]
pub struct Providers {
    policy: AddressPolicy,
    cache: Mutex<HashMap<String, Arc<CoreProviderMetadata>>>,
}

/// Where to send the person, and what to keep until they come back.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The provider's authorization URL with every parameter.
    pub url: url::Url,
    /// The `state` sent.
    pub state: String,
    /// The `nonce` sent.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent.
    pub pkce_verifier: String,
}

/// A workspace's provider as a sign-in needs it.
#[derive(Debug, Clone)]
pub struct Link {
    /// Issuer URL.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret (opened just for this sign-in; never logged).
    pub client_secret: String,
}

impl Providers {
    /// An empty cache whose requests follow `policy`.
    #[must_use]
    pub fn new(policy: AddressPolicy) -> Self {
        Self {
            policy,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The address policy.
    #[must_use]
    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Fetches the provider's discovery document and keys now (and caches them).
    ///
    /// # Errors
    /// [`SsoError::Provider`] when either cannot be fetched or is wrong (an issuer that does
    /// not match, no signing keys, an address the policy refuses).
    pub async fn discover(&self, issuer: &str) -> Result<Arc<CoreProviderMetadata>, SsoError> {
        let issuer_url = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| SsoError::Provider(format!("the issuer is not a URL: {e}")))?;
        let policy = self.policy;
        let http = move |req| fetch::fetch(policy, req);
        let meta = CoreProviderMetadata::discover_async(issuer_url, &http)
            .await
            .map_err(|e| {
                SsoError::Provider(format!(
                    "the identity provider's discovery document or keys could not be read: {}",
                    words(&e)
                ))
            })?;
        if meta.jwks().keys().is_empty() {
            return Err(SsoError::Provider(
                "the identity provider lists no signing keys".into(),
            ));
        }
        let meta = Arc::new(meta);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(issuer.to_owned(), Arc::clone(&meta));
        }
        Ok(meta)
    }

    /// The cached metadata of `issuer`, fetched when missing.
    ///
    /// # Errors
    /// As [`Providers::discover`].
    pub async fn metadata(&self, issuer: &str) -> Result<Arc<CoreProviderMetadata>, SsoError> {
        let cached = self.cache.lock().ok().and_then(|c| c.get(issuer).cloned());
        match cached {
            Some(meta) => Ok(meta),
            None => self.discover(issuer).await,
        }
    }

    /// The authorization request for a sign-in: PKCE (S256), `state`, `nonce`, scope
    /// `openid email`, and the email as `login_hint` when known.
    ///
    /// # Errors
    /// [`SsoError::Provider`] when the provider's metadata cannot be had or the callback is
    /// not a URL.
    pub async fn authorization(
        &self,
        issuer: &str,
        client_id: &str,
        redirect_uri: &str,
        login_hint: Option<&str>,
    ) -> Result<Authorization, SsoError> {
        let meta = self.metadata(issuer).await?;
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| SsoError::Provider(format!("the callback is not a URL: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            (*meta).clone(),
            ClientId::new(client_id.into()),
            None,
        )
        .set_redirect_uri(redirect);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint {
            request = request.set_login_hint(LoginHint::new(hint.to_owned()));
        }
        let (url, state, nonce) = request.url();
        Ok(Authorization {
            url,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Finishes a sign-in: exchanges `code` (with the PKCE verifier and the client secret),
    /// verifies the ID token against `nonce` at `now`, and answers who it names.
    ///
    /// # Errors
    /// [`SsoError::Provider`] when the exchange fails (a used or expired code among others),
    /// [`SsoError::Token`] when the ID token is refused.
    pub async fn finish(
        &self,
        link: &Link,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<Identity, SsoError> {
        let meta = self.metadata(&link.issuer).await?;
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| SsoError::Provider(format!("the callback is not a URL: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            (*meta).clone(),
            ClientId::new(link.client_id.clone()),
            Some(ClientSecret::new(link.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        let policy = self.policy;
        let http = move |req| fetch::fetch(policy, req);
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SsoError::Provider(words(&e)))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| {
                SsoError::Provider(format!(
                    "the identity provider did not accept the sign-in's code (used already, \
                     expired, or the client secret is wrong): {}",
                    words(&e)
                ))
            })?;
        let id_token: &CoreIdToken = token.id_token().ok_or_else(|| {
            SsoError::Provider("the identity provider answered without an ID token".into())
        })?;
        let issuer = meta.issuer().clone();
        let client_id = ClientId::new(link.client_id.clone());
        let mut identity =
            match verify_id_token(id_token, meta.jwks(), &issuer, &client_id, nonce, now) {
                Err(VerifyError::UnknownKey) => {
                    // The provider may have rotated its keys since they were cached.
                    let fresh = self.discover(&link.issuer).await?;
                    verify_id_token(id_token, fresh.jwks(), &issuer, &client_id, nonce, now)?
                }
                other => other?,
            };
        if identity.email.is_none() {
            let info: CoreUserInfoClaims = client
                .user_info(
                    token.access_token().clone(),
                    Some(openidconnect::SubjectIdentifier::new(
                        identity.subject.clone(),
                    )),
                )
                .map_err(|e| SsoError::Provider(words(&e)))?
                .request_async(&http)
                .await
                .map_err(|e| {
                    SsoError::Provider(format!(
                        "the identity provider's user information could not be read: {}",
                        words(&e)
                    ))
                })?;
            identity.email = info.email().map(|e| e.to_string().trim().to_lowercase());
            identity.email_verified = info.email_verified().unwrap_or(false);
        }
        Ok(identity)
    }
}
