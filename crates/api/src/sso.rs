//! Wire types of single sign-on (R31): an admin's OpenID Connect settings for the workspace,
//! and the native app's exchange of its one-time code for a session.

use serde::{Deserialize, Serialize};

/// The workspace's single sign-on settings as admins read them (`GET /workspace/sso`). The
/// client secret is never returned: only whether one is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SsoSettings {
    /// Whether the workspace is linked to an identity provider at all.
    pub enabled: bool,
    /// The provider's issuer URL (its discovery document is `/.well-known/openid-configuration`
    /// below it); empty when not linked.
    pub issuer: String,
    /// The client id the provider gave this service.
    pub client_id: String,
    /// Whether a client secret is stored (it is write-only).
    pub client_secret_set: bool,
    /// Email domains whose people may sign in through the provider (lowercase, without `@`).
    pub allowed_domains: Vec<String>,
    /// New people of an allowed domain join as members at their first sign-in.
    pub auto_join: bool,
    /// Whether members and admins may still sign in with a password (owners always may).
    pub password_sign_in: bool,
    /// The one callback URL to register at the provider.
    pub callback_url: String,
}

/// What an admin saves (`PUT /workspace/sso`). The service fetches the provider's discovery
/// document and keys before it stores anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SsoSettingsUpdate {
    /// The provider's issuer URL (`https://…`).
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret; left out (or `null`) keeps the stored one.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub client_secret: Option<String>,
    /// Email domains whose people may sign in (at least one).
    pub allowed_domains: Vec<String>,
    /// New people of an allowed domain join as members.
    pub auto_join: bool,
    /// Members and admins may still sign in with a password (owners always may).
    pub password_sign_in: bool,
}

/// The desktop app's exchange (`POST /sso/token`): the one-time code the service handed its
/// loopback listener, with the PKCE verifier whose challenge started the sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SsoTokenRequest {
    /// The one-time code.
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub code: String,
    /// The PKCE code verifier (RFC 7636: 43 to 128 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 43, max_length = 128))]
    pub code_verifier: String,
}
