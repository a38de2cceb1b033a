//! Checking the service URL the user typed (R2).
//!
//! Rules: `https` always; plain `http` only to a loopback host (`127.0.0.0/8`, `::1`,
//! `localhost`), where nothing leaves the machine. No credentials, query or fragment in the URL.
//! A path is allowed (a service behind a reverse proxy at `https://example.com/shotclock/`); it is
//! normalised to end with `/` so that API paths are appended to it, never replace its last segment.
//! Text without a scheme (`acme.example.com`) is read as `https://…`, which is what a user typing a
//! workspace address means.

use std::net::{IpAddr, Ipv6Addr};

use reqwest::Url;

use crate::error::SyncError;

/// Parses and checks a service URL; returns it normalised (path ending in `/`).
pub fn parse_base_url(input: &str) -> Result<Url, SyncError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(SyncError::invalid_url("the service URL is empty"));
    }
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| SyncError::invalid_url(format!("{text:?} is not a URL ({e})")))?;
    check_base_url(url)
}

/// Checks an already parsed service URL; returns it normalised (path ending in `/`).
pub fn check_base_url(mut url: Url) -> Result<Url, SyncError> {
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(SyncError::invalid_url(
                "the service must use https:// (plain http:// is allowed only to this computer: \
                 localhost, 127.0.0.1 or ::1)",
            ));
        }
        other => {
            return Err(SyncError::invalid_url(format!(
                "unsupported scheme {other:?}: use https://"
            )));
        }
    }
    if url.host().is_none() {
        return Err(SyncError::invalid_url("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SyncError::invalid_url(
            "the URL must not contain a user name or password",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(SyncError::invalid_url(
            "the URL must not contain a query (?…) or fragment (#…)",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Whether the URL's host is this computer.
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => ipv6_loopback(ip),
        Err(_) => {
            let name = host.strip_suffix('.').unwrap_or(host);
            name.eq_ignore_ascii_case("localhost")
        }
    }
}

fn ipv6_loopback(ip: Ipv6Addr) -> bool {
    ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        parse_base_url(input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .to_string()
    }

    fn refused(input: &str) -> String {
        match parse_base_url(input) {
            Err(SyncError::InvalidUrl { reason }) => reason,
            other => panic!("{input}: expected InvalidUrl, got {other:?}"),
        }
    }

    #[test]
    fn https_is_always_fine() {
        assert_eq!(ok("https://example.com"), "https://example.com/");
        assert_eq!(
            ok("https://acme.example.com:8443/"),
            "https://acme.example.com:8443/"
        );
        assert_eq!(
            ok("https://example.com/shotclock"),
            "https://example.com/shotclock/"
        );
        assert_eq!(ok("  HTTPS://Example.COM/x/  "), "https://example.com/x/");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert_eq!(ok("http://127.0.0.1"), "http://127.0.0.1/");
        assert_eq!(ok("http://127.0.0.1:8080"), "http://127.0.0.1:8080/");
        assert_eq!(ok("http://127.1.2.3:1"), "http://127.1.2.3:1/");
        assert_eq!(ok("http://[::1]:9000/"), "http://[::1]:9000/");
        assert_eq!(ok("http://localhost:3000"), "http://localhost:3000/");
        assert_eq!(ok("http://LOCALHOST."), "http://localhost./");
        assert_eq!(ok("http://[::ffff:127.0.0.1]/"), "http://[::ffff:7f00:1]/");
        for remote in [
            "http://example.com",
            "http://10.0.0.1",
            "http://192.168.1.10:8080",
            "http://[::2]/",
            "http://localhost.example.com",
            "http://0.0.0.0",
        ] {
            assert!(refused(remote).contains("https"), "{remote}");
        }
    }

    #[test]
    fn bare_host_means_https() {
        assert_eq!(ok("acme.example.com"), "https://acme.example.com/");
        assert_eq!(ok("localhost:8443"), "https://localhost:8443/");
    }

    #[test]
    fn other_mistakes_are_refused() {
        assert!(refused("").contains("empty"));
        assert!(refused("ftp://example.com").contains("scheme"));
        assert!(refused("https://user:pw@example.com").contains("password"));
        assert!(refused("https://user@example.com").contains("user name"));
        assert!(refused("https://:pw@example.com").contains("password"));
        assert!(refused("https://example.com/?a=1").contains("query"));
        assert!(refused("https://example.com/#x").contains("fragment"));
        assert!(refused("https://").contains("not a URL"));
        assert!(refused("https://exa mple.com").contains("not a URL"));
    }
}
