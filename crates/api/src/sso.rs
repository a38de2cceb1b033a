//! Wire types of single sign-on (R31): an admin's OpenID Connect settings for the workspace,
//! and the native app's exchange of its one-time code for a session — and the one small page
//! both ends of a sign-in show the person in the browser ([`page`]): the service when it
//! refuses a sign-in, the desktop app's loopback listener when the sign-in ends there.

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

/// The page a browser shows where a single sign-on ends: `title` as the tab's title and the
/// heading (`data-testid="sso-title"`), `message` below it (`data-testid="sso-message"`), and,
/// given `back`, a "Back to Shotclock" link to that address. The service's pages link to its
/// web app; the desktop app's loopback page has nothing to link to (its listener is gone once
/// it answered). Every argument is escaped: a provider's error description is written by
/// whoever crafted the redirect, so none of it may become markup.
pub fn page(title: &str, message: &str, back: Option<&str>) -> String {
    let back = back
        .map(|href| format!("<p><a href=\"{}\">Back to Shotclock</a></p>", escape(href)))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         </head><body><main><h1 data-testid=\"sso-title\">{t}</h1>\
         <p data-testid=\"sso-message\">{m}</p>{back}</main></body></html>",
        t = escape(title),
        m = escape(message)
    )
}

/// `s` as HTML text or a double-quoted attribute value.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_title_message_and_link() {
        let html = page(
            "<script>alert(\"t\")</script> & co",
            "<script>alert(\"m\")</script> & \"quoted\"",
            Some("/?a=1&b=\"><script>"),
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains(
                "<title>&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; &amp; co</title>"
            ),
            "{html}"
        );
        assert!(
            html.contains(
                "<h1 data-testid=\"sso-title\">&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; \
                 &amp; co</h1>"
            ),
            "{html}"
        );
        assert!(
            html.contains(
                "<p data-testid=\"sso-message\">&lt;script&gt;alert(&quot;m&quot;)&lt;/script&gt; \
                 &amp; &quot;quoted&quot;</p>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"/?a=1&amp;b=&quot;&gt;&lt;script&gt;\">Back to Shotclock</a>"),
            "{html}"
        );
    }

    #[test]
    fn the_page_links_back_only_when_asked() {
        let html = page("Signed in to Shotclock", "You can close this tab.", None);
        assert_eq!(
            html,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Signed in to Shotclock</title></head><body><main>\
             <h1 data-testid=\"sso-title\">Signed in to Shotclock</h1>\
             <p data-testid=\"sso-message\">You can close this tab.</p></main></body></html>"
        );
        assert!(page("t", "m", Some("/")).contains("<p><a href=\"/\">Back to Shotclock</a></p>"));
    }
}
