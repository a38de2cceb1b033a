//! [`SyncError`]: every way a call to the service can fail, sorted into "try again later" and
//! "this will never succeed".
//!
//! The outbox (R25) depends on this split: a retryable failure keeps the item queued and backs
//! off; a final one sets it aside with its reason. The rules, applied in one place:
//!
//! | failure | variant | retryable |
//! |---|---|---|
//! | connect, timeout, reset, body cut short | [`SyncError::Network`] | yes |
//! | 5xx, 408, 429, a temporary redirect (302/303/307: captive portals) | [`SyncError::Server`] | yes (honour [`SyncError::retry_after`]) |
//! | an answer that does not decode (proxy or captive-portal page, cut JSON) | [`SyncError::Decode`] | yes |
//! | 410 with code `deleted`: the id belonged to something deleted for good (R29) | [`SyncError::Rejected`] | no — [`SyncError::is_deleted`]: the item is done, drop it |
//! | other 4xx, a permanent redirect (301/308: fix the URL) | [`SyncError::Rejected`] | no — the [`ApiError`] code says why |
//! | 401 on a signed-in call, or no token | [`SyncError::Unauthorized`] | no — sign in again |
//! | the service speaks another API version | [`SyncError::IncompatibleVersion`] | no — update the app |
//! | a base URL that is not allowed | [`SyncError::InvalidUrl`] | no |
//!
//! An answer without the API-version header (a proxy's own page) is judged by its status and body;
//! an answer whose header names another version is `IncompatibleVersion` whatever its status.
//!
//! A 401 from `login` itself is a wrong email or password: that is a [`SyncError::Rejected`]
//! with [`ErrorCode::Unauthorized`], not a lost session.
//!
//! A `deleted` answer is final like any refusal, but it is not a failure of the item: the
//! service remembers the ids of deleted screenshots and entries (tombstones) so that a retry or a
//! stale device cannot create them again. The caller counts such an item as done and drops it
//! (and its local copy), instead of setting it aside. Only the service's own `{code: deleted}`
//! body says so: a bare 410 (a proxy's page) is [`ErrorCode::Gone`] and stays an ordinary
//! refusal.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shotclock_api::{ApiError, ErrorCode};

/// What kind of network failure happened (all are retryable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkErrorKind {
    /// Could not connect (refused, DNS, TLS handshake, unreachable).
    Connect,
    /// The connect, the request or a read took too long.
    Timeout,
    /// The connection broke while the request or the answer was in flight.
    Body,
    /// The service ended a long-lived answer (the event stream) without an error.
    Closed,
    /// Anything else on the wire.
    Other,
}

impl std::fmt::Display for NetworkErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NetworkErrorKind::Connect => "could not connect to the service",
            NetworkErrorKind::Timeout => "the service did not answer in time",
            NetworkErrorKind::Body => "the connection to the service broke",
            NetworkErrorKind::Closed => "the service closed the connection",
            NetworkErrorKind::Other => "network error",
        })
    }
}

/// A transport failure, with the underlying cause (when there is one) as its `source`.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct NetworkError {
    kind: NetworkErrorKind,
    #[source]
    source: Option<reqwest::Error>,
}

impl NetworkError {
    pub(crate) fn new(source: reqwest::Error) -> Self {
        let kind = if source.is_timeout() {
            NetworkErrorKind::Timeout
        } else if source.is_connect() {
            NetworkErrorKind::Connect
        } else if source.is_body() || source.is_decode() {
            NetworkErrorKind::Body
        } else {
            NetworkErrorKind::Other
        };
        Self {
            kind,
            source: Some(source),
        }
    }

    pub(crate) fn without_source(kind: NetworkErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// What kind of failure it was.
    #[must_use]
    pub fn kind(&self) -> NetworkErrorKind {
        self.kind
    }
}

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body is not the expected JSON.
    #[error("unexpected JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The body exceeds what the client accepts for this call.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The event stream broke the parser's bounds.
    #[error(transparent)]
    EventStream(#[from] crate::sse::SseTooLong),
    /// The answer has the wrong media type (e.g. an HTML page instead of an event stream).
    #[error("unexpected content type {0:?}")]
    ContentType(String),
}

/// Every way a call to the service can fail. See the module docs for the retry rules.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The request did not complete on the wire: connect, timeout, reset, body cut. Retryable.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The service (or a proxy in front of it) failed or asked to slow down: 5xx, 408, 429.
    /// Retryable, after [`SyncError::retry_after`] when given.
    #[error("service unavailable (HTTP {status}): {error}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The error body (synthesised from the status when the answer had none).
        error: ApiError,
        /// The `Retry-After` the service sent, if any.
        retry_after: Option<Duration>,
    },
    /// The service refused the request for good (4xx): the same request will never succeed.
    #[error("refused by the service (HTTP {status}): {error}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Why, machine-readable in `error.code`.
        error: ApiError,
    },
    /// The session token is missing, expired or revoked: sign in again.
    #[error("not signed in, or the session expired or was revoked")]
    Unauthorized,
    /// The service speaks an API version this app does not: the app must be updated.
    #[error(
        "the service speaks API version {}, this app speaks version {client}; update the app",
        service.as_deref().unwrap_or("(unknown)")
    )]
    IncompatibleVersion {
        /// The version the service announced, if it sent one.
        service: Option<String>,
        /// This client's [`shotclock_api::API_VERSION`].
        client: u32,
    },
    /// The service URL is not acceptable (syntax, scheme, plain HTTP to a remote host, …).
    #[error("invalid service URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it, for the user.
        reason: String,
    },
    /// The answer could not be read as what the endpoint promises. Retryable: the usual cause
    /// is something in between (a captive portal, a proxy error page) or a cut body.
    #[error("could not read the answer to {endpoint}: {source}")]
    Decode {
        /// Which call, e.g. `GET /api/v1/me`.
        endpoint: String,
        /// What was wrong.
        #[source]
        source: DecodeError,
    },
    /// The HTTP client could not be set up (e.g. the TLS backend failed to initialise).
    #[error("could not set up the HTTP client: {0}")]
    Init(String),
}

impl SyncError {
    /// Whether the same request may succeed later (queue it and back off) rather than never.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SyncError::Network(_) | SyncError::Server { .. } | SyncError::Decode { .. }
        )
    }

    /// Whether the service answered that the id was deleted for good (`410`, code `deleted`,
    /// R29): the create can never succeed and must not be retried, and the item is done —
    /// what it would create is gone everywhere.
    #[must_use]
    pub fn is_deleted(&self) -> bool {
        matches!(self, SyncError::Rejected { error, .. } if error.code == ErrorCode::Deleted)
    }

    /// How long the service asked the client to wait (`Retry-After` on 429 or 503).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when the service answered.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            SyncError::Server { status, .. } | SyncError::Rejected { status, .. } => Some(*status),
            SyncError::Unauthorized => Some(401),
            _ => None,
        }
    }

    /// The service's error code, when it answered with one.
    #[must_use]
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            SyncError::Server { error, .. } | SyncError::Rejected { error, .. } => Some(error.code),
            SyncError::Unauthorized => Some(ErrorCode::Unauthorized),
            SyncError::IncompatibleVersion { .. } => Some(ErrorCode::ApiVersion),
            _ => None,
        }
    }

    pub(crate) fn invalid_url(reason: impl Into<String>) -> Self {
        SyncError::InvalidUrl {
            reason: reason.into(),
        }
    }

    pub(crate) fn decode(endpoint: &str, source: impl Into<DecodeError>) -> Self {
        SyncError::Decode {
            endpoint: endpoint.to_owned(),
            source: source.into(),
        }
    }
}

impl From<reqwest::Error> for SyncError {
    fn from(e: reqwest::Error) -> Self {
        SyncError::Network(NetworkError::new(e))
    }
}

/// Whether a 401 means "your session is gone" or, on the sign-in call, "wrong credentials".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthContext {
    /// A call made with (or needing) a session token.
    Session,
    /// Sign-in or another call without a session.
    Anonymous,
}

/// Maps a non-success answer to its error. `error` is the decoded body, or one synthesised from
/// the status by [`synthesize`] when the body was not an [`ApiError`].
pub(crate) fn classify(
    status: u16,
    error: ApiError,
    retry_after: Option<Duration>,
    context: AuthContext,
) -> SyncError {
    if error.code == ErrorCode::ApiVersion {
        return SyncError::IncompatibleVersion {
            service: None,
            client: shotclock_api::API_VERSION,
        };
    }
    match status {
        401 if context == AuthContext::Session => SyncError::Unauthorized,
        // Moved for good: the user must fix the URL; retrying the same address never helps.
        301 | 308 => SyncError::Rejected { status, error },
        408 | 429 | 500..=599 | 100..=199 | 300..=399 => SyncError::Server {
            status,
            error,
            retry_after,
        },
        400..=499 => SyncError::Rejected { status, error },
        // Not an HTTP error status at all (a 2xx is never classified); treat like a 5xx.
        _ => SyncError::Server {
            status,
            error,
            retry_after,
        },
    }
}

/// An [`ApiError`] for an answer without a `{code, message}` body (e.g. a proxy's HTML page).
pub(crate) fn synthesize(status: u16, body: &[u8]) -> ApiError {
    let code = match status {
        400 => ErrorCode::BadRequest,
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::Conflict,
        410 => ErrorCode::Gone,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::Validation,
        429 => ErrorCode::TooManyRequests,
        500..=599 => ErrorCode::Internal,
        _ => ErrorCode::Unknown,
    };
    let snippet: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let message = if snippet.trim().is_empty() {
        format!("HTTP {status} without an error body")
    } else {
        format!("HTTP {status}: {}", snippet.trim())
    };
    ApiError::new(code, message)
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP-date (relative to `now`; a date in the
/// past means "now"). Absurd values are capped at one day.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    const MAX: Duration = Duration::from_secs(24 * 3600);
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    let wait = (at - now).to_std().unwrap_or(Duration::ZERO);
    Some(wait.min(MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn body(code: ErrorCode) -> ApiError {
        ApiError::new(code, "x")
    }

    #[test]
    fn errors_can_cross_threads() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<SyncError>();
    }

    #[test]
    fn transient_statuses_are_retryable() {
        for (status, code) in [
            (500, ErrorCode::Internal),
            (502, ErrorCode::Internal),
            (503, ErrorCode::Internal),
            (504, ErrorCode::Internal),
            (429, ErrorCode::TooManyRequests),
            (408, ErrorCode::Unknown),
        ] {
            let e = classify(status, body(code), None, AuthContext::Session);
            assert!(matches!(e, SyncError::Server { .. }), "{status}: {e:?}");
            assert!(e.is_retryable(), "{status}");
            assert_eq!(e.status(), Some(status));
        }
    }

    #[test]
    fn client_errors_are_final() {
        for (status, code) in [
            (400, ErrorCode::BadRequest),
            (400, ErrorCode::ClockSkew),
            (403, ErrorCode::FeatureUnavailable),
            (404, ErrorCode::NotFound),
            (409, ErrorCode::Conflict),
            (409, ErrorCode::StopTimerFirst),
            (410, ErrorCode::Gone),
            (410, ErrorCode::Deleted),
            (413, ErrorCode::PayloadTooLarge),
            (415, ErrorCode::UnsupportedMediaType),
            (422, ErrorCode::Validation),
        ] {
            let e = classify(status, body(code), None, AuthContext::Session);
            assert!(matches!(e, SyncError::Rejected { .. }), "{status}: {e:?}");
            assert!(!e.is_retryable(), "{status}");
            assert_eq!(e.code(), Some(code));
        }
    }

    #[test]
    fn only_the_services_deleted_code_marks_an_item_deleted() {
        let deleted = classify(410, body(ErrorCode::Deleted), None, AuthContext::Session);
        assert!(matches!(deleted, SyncError::Rejected { status: 410, .. }));
        assert!(deleted.is_deleted());
        assert!(!deleted.is_retryable());
        assert_eq!(deleted.code(), Some(ErrorCode::Deleted));
        // A bare 410 (no body from the service) is an ordinary refusal.
        let bare = classify(410, synthesize(410, b""), None, AuthContext::Session);
        assert_eq!(bare.code(), Some(ErrorCode::Gone));
        assert!(!bare.is_deleted());
        for (status, code) in [
            (410, ErrorCode::Gone),
            (404, ErrorCode::NotFound),
            (409, ErrorCode::Conflict),
            (422, ErrorCode::Validation),
        ] {
            let e = classify(status, body(code), None, AuthContext::Session);
            assert!(!e.is_deleted(), "{status} {code}");
        }
        // The code on an answer that is not a refusal does not count: a 5xx is retried.
        let odd = classify(503, body(ErrorCode::Deleted), None, AuthContext::Session);
        assert!(odd.is_retryable());
        assert!(!odd.is_deleted());
        assert!(!SyncError::Unauthorized.is_deleted());
    }

    #[test]
    fn unauthorized_depends_on_context() {
        let e = classify(
            401,
            body(ErrorCode::Unauthorized),
            None,
            AuthContext::Session,
        );
        assert!(matches!(e, SyncError::Unauthorized));
        assert!(!e.is_retryable());
        let e = classify(
            401,
            body(ErrorCode::Unauthorized),
            None,
            AuthContext::Anonymous,
        );
        assert!(matches!(e, SyncError::Rejected { status: 401, .. }));
        assert_eq!(e.code(), Some(ErrorCode::Unauthorized));
    }

    #[test]
    fn api_version_refusal_is_incompatible() {
        let e = classify(400, body(ErrorCode::ApiVersion), None, AuthContext::Session);
        assert!(matches!(e, SyncError::IncompatibleVersion { .. }));
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("update the app"));
    }

    #[test]
    fn redirects_and_odd_statuses_are_retryable() {
        for status in [302, 303, 307, 600] {
            assert!(
                classify(status, body(ErrorCode::Unknown), None, AuthContext::Session)
                    .is_retryable()
            );
        }
        for status in [301, 308] {
            assert!(
                !classify(status, body(ErrorCode::Unknown), None, AuthContext::Session)
                    .is_retryable()
            );
        }
    }

    #[test]
    fn retry_after_is_exposed_only_for_server_errors() {
        let wait = Some(Duration::from_secs(7));
        let e = classify(503, body(ErrorCode::Internal), wait, AuthContext::Session);
        assert_eq!(e.retry_after(), wait);
        let e = classify(400, body(ErrorCode::BadRequest), wait, AuthContext::Session);
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("99999999999", now),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn synthesized_bodies_carry_a_code_and_a_clean_snippet() {
        let e = synthesize(503, b"<html>\n<h1>Service Unavailable</h1></html>");
        assert_eq!(e.code, ErrorCode::Internal);
        assert_eq!(
            e.message,
            "HTTP 503: <html><h1>Service Unavailable</h1></html>"
        );
        assert_eq!(synthesize(404, b"").code, ErrorCode::NotFound);
        assert_eq!(
            synthesize(404, b"").message,
            "HTTP 404 without an error body"
        );
        assert_eq!(synthesize(302, b"").code, ErrorCode::Unknown);
        let long = vec![b'a'; 10_000];
        assert!(synthesize(500, &long).message.len() < 300);
    }

    #[test]
    fn each_status_without_a_body_gets_its_own_code() {
        for (status, code) in [
            (400, ErrorCode::BadRequest),
            (401, ErrorCode::Unauthorized),
            (403, ErrorCode::Forbidden),
            (404, ErrorCode::NotFound),
            (405, ErrorCode::MethodNotAllowed),
            (409, ErrorCode::Conflict),
            (410, ErrorCode::Gone),
            (413, ErrorCode::PayloadTooLarge),
            (415, ErrorCode::UnsupportedMediaType),
            (422, ErrorCode::Validation),
            (429, ErrorCode::TooManyRequests),
            (500, ErrorCode::Internal),
            (599, ErrorCode::Internal),
            (418, ErrorCode::Unknown),
            (600, ErrorCode::Unknown),
        ] {
            assert_eq!(synthesize(status, b"").code, code, "{status}");
        }
    }

    #[test]
    fn errors_without_a_body_of_their_own_still_say_their_status_and_code() {
        assert_eq!(SyncError::Unauthorized.status(), Some(401));
        assert_eq!(
            SyncError::Unauthorized.code(),
            Some(ErrorCode::Unauthorized)
        );
        let version = SyncError::IncompatibleVersion {
            service: Some("2".into()),
            client: 1,
        };
        assert_eq!(version.code(), Some(ErrorCode::ApiVersion));
        assert_eq!(version.status(), None);
        let url = SyncError::invalid_url("no scheme");
        assert_eq!((url.status(), url.code()), (None, None));
    }
}
