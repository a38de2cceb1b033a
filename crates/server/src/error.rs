//! The service's one error type and its one mapping to HTTP.
//!
//! Every handler returns `Result<_, Error>`; [`Error`]'s single `IntoResponse` impl turns it into
//! the wire body `{code, message}` ([`shotclock_api::ApiError`]) with the status the api crate
//! assigns to each [`ErrorCode`]. Internal failures (storage, I/O) are logged with their cause
//! and answered with a generic message, so no internals leak to clients.
//!
//! Invariant (R16): "you may not see this" and "this does not exist" are the same variant,
//! [`Error::NotFound`], so their answers are byte-identical.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shotclock_api::{API_VERSION, API_VERSION_HEADER, ApiError, ErrorCode};

use crate::store::StoreError;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A domain or validation refusal with a specific code and a human message.
    #[error("{code}: {message}")]
    Api {
        /// What went wrong, machine-readable.
        code: ErrorCode,
        /// What went wrong, for people.
        message: String,
    },
    /// Missing or forbidden object (R16: identical answers).
    #[error("not found")]
    NotFound,
    /// Too many failed sign-ins; retry after this many seconds.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: u64,
    },
    /// A bounded resource (the password-hashing queue, event streams) is full; retry after this
    /// many seconds.
    #[error("busy: {what}")]
    Busy {
        /// What is full, for people.
        what: &'static str,
        /// Seconds until a retry is worth it.
        retry_after_secs: u64,
    },
    /// Storage failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// Blob storage or other I/O failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Blob storage could not be chosen or opened.
    #[error("{0}")]
    Blobs(#[from] crate::blobs::BlobsError),
    /// Anything else unexpected (e.g. a worker thread went away).
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// An error with this code and message.
    pub fn api(code: ErrorCode, message: impl Into<String>) -> Self {
        Error::Api {
            code,
            message: message.into(),
        }
    }

    /// 400 bad_request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::api(ErrorCode::BadRequest, message)
    }

    /// 422 validation.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::api(ErrorCode::Validation, message)
    }

    /// 401 unauthorized.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::api(ErrorCode::Unauthorized, message)
    }

    /// 403 forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::api(ErrorCode::Forbidden, message)
    }

    /// 409 conflict.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::api(ErrorCode::Conflict, message)
    }

    /// The wire body for this error.
    #[must_use]
    pub fn to_api_error(&self) -> ApiError {
        match self {
            Error::Api { code, message } => ApiError::new(*code, message.clone()),
            Error::NotFound => ApiError::new(ErrorCode::NotFound, "not found"),
            Error::TooManyAttempts { retry_after_secs } => ApiError::new(
                ErrorCode::TooManyRequests,
                format!("too many failed attempts; retry in {retry_after_secs} s"),
            ),
            Error::Busy {
                what,
                retry_after_secs,
            } => ApiError::new(
                ErrorCode::TooManyRequests,
                format!("{what}; retry in {retry_after_secs} s"),
            ),
            Error::Store(StoreError::NotFound) => ApiError::new(ErrorCode::NotFound, "not found"),
            Error::Store(StoreError::Refused { code, message }) => {
                ApiError::new(*code, message.clone())
            }
            Error::Store(_) | Error::Io(_) | Error::Blobs(_) | Error::Internal(_) => {
                ApiError::new(ErrorCode::Internal, "internal error; please retry")
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = self.to_api_error();
        if body.code == ErrorCode::Internal {
            tracing::error!(error = %self, "request failed");
        }
        let status =
            StatusCode::from_u16(body.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(API_VERSION_HEADER, HeaderValue::from(API_VERSION));
        if let Error::TooManyAttempts { retry_after_secs }
        | Error::Busy {
            retry_after_secs, ..
        } = self
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

/// Shorthand for handler results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
