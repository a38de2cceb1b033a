//! Requests to an admin-typed identity provider, made with care.
//!
//! The issuer URL is typed by a workspace admin, so the service must not become a way to reach
//! its own network: every request's host is resolved first and refused when any address is
//! private, link-local, shared, multicast, unspecified or otherwise not global — loopback only
//! when the operator allowed it (`serve --allow-loopback-idp`, for tests and development). The
//! request then goes to exactly the addresses checked (the client is pinned to them, so a
//! second DNS answer cannot swap in another), over HTTPS (plain HTTP only to an allowed
//! loopback), without following redirects, within a deadline, and with the answer's body
//! capped. This is the HTTP client plugged into `openidconnect` (its `AsyncHttpClient`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::http;

/// Whole request deadline.
const DEADLINE: Duration = Duration::from_secs(10);
/// Largest answer read from a provider.
const MAX_BODY: usize = 1024 * 1024;

/// Which addresses a provider may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Loopback addresses (and plain HTTP to them) are allowed.
    pub allow_loopback: bool,
}

/// Why a request to a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL or its addresses are not allowed.
    #[error("{0}")]
    Refused(String),
    /// The request failed on the way.
    #[error("{0}")]
    Failed(String),
}

/// Whether an IPv4 address is one a provider may have (see the module doc).
fn v4_allowed(ip: Ipv4Addr, policy: AddressPolicy) -> bool {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        return policy.allow_loopback;
    }
    !(ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn v6_allowed(ip: Ipv6Addr, policy: AddressPolicy) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_allowed(v4, policy);
    }
    if ip.is_loopback() {
        return policy.allow_loopback;
    }
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || first == 0x0064 && ip.segments()[1] == 0xff9b)
}

/// Whether a provider may have this address.
#[must_use]
pub fn address_allowed(ip: IpAddr, policy: AddressPolicy) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_allowed(v4, policy),
        IpAddr::V6(v6) => v6_allowed(v6, policy),
    }
}

/// The addresses `url` may be fetched at, after the checks of the module doc.
///
/// # Errors
/// A scheme, host or address that is not allowed, or a name that does not resolve.
pub async fn checked_addresses(
    url: &url::Url,
    policy: AddressPolicy,
) -> Result<Vec<SocketAddr>, FetchError> {
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::Refused(format!("{url} has no host")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::Refused(format!(
            "{url} carries a user name or password"
        )));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| FetchError::Refused(format!("{url} has no port")))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| FetchError::Failed(format!("the name {host} does not resolve: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(FetchError::Failed(format!(
            "the name {host} does not resolve"
        )));
    }
    if let Some(bad) = addrs.iter().find(|a| !address_allowed(a.ip(), policy)) {
        return Err(FetchError::Refused(format!(
            "{host} resolves to {}, an address in a private, local or reserved range; an \
             identity provider must be reachable on the internet",
            bad.ip()
        )));
    }
    let loopback = addrs.iter().all(|a| a.ip().is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback && policy.allow_loopback => {}
        _ => {
            return Err(FetchError::Refused(format!(
                "{url} is not an https:// address"
            )));
        }
    }
    Ok(addrs)
}

/// One request to a provider (see the module doc).
///
/// # Errors
/// [`FetchError::Refused`] for a URL or address the policy refuses, [`FetchError::Failed`]
/// when the request fails or the answer is too large.
pub async fn fetch(
    policy: AddressPolicy,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, FetchError> {
    let url = url::Url::parse(&request.uri().to_string())
        .map_err(|e| FetchError::Refused(format!("not a URL: {e}")))?;
    let addrs = checked_addresses(&url, policy).await?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DEADLINE)
        .no_proxy()
        .resolve_to_addrs(&host, &addrs)
        .build()
        .map_err(|e| FetchError::Failed(e.to_string()))?;
    let (parts, body) = request.into_parts();
    let mut res = client
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| FetchError::Failed(format!("the identity provider did not answer: {e}")))?;
    let mut answer = http::Response::builder().status(res.status());
    for (name, value) in res.headers() {
        answer = answer.header(name, value);
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| FetchError::Failed(e.to_string()))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::Failed(
                "the identity provider's answer is too large".into(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    answer
        .body(body)
        .map_err(|e| FetchError::Failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: AddressPolicy = AddressPolicy {
        allow_loopback: false,
    };
    const DEV: AddressPolicy = AddressPolicy {
        allow_loopback: true,
    };

    #[test]
    fn private_and_local_ranges_are_refused() {
        for bad in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(!address_allowed(ip, STRICT), "{bad}");
            assert!(!address_allowed(ip, DEV), "{bad}");
        }
        for good in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(address_allowed(good.parse().unwrap(), STRICT), "{good}");
        }
        for lo in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(!address_allowed(lo.parse().unwrap(), STRICT), "{lo}");
            assert!(address_allowed(lo.parse().unwrap(), DEV), "{lo}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_before_any_request() {
        let check = |u: &str, p| {
            let url = url::Url::parse(u).unwrap();
            async move { checked_addresses(&url, p).await }
        };
        assert!(matches!(
            check("http://127.0.0.1:9/", STRICT).await,
            Err(FetchError::Refused(_))
        ));
        assert!(check("http://127.0.0.1:9/", DEV).await.is_ok());
        assert!(check("http://localhost:9/", DEV).await.is_ok());
        assert!(matches!(
            check("http://169.254.169.254/latest", DEV).await,
            Err(FetchError::Refused(_))
        ));
        assert!(matches!(
            check("https://user:pw@127.0.0.1/", DEV).await,
            Err(FetchError::Refused(_))
        ));
        assert!(matches!(
            check("ftp://127.0.0.1/", DEV).await,
            Err(FetchError::Refused(_))
        ));
    }
}
