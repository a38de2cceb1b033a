//! The web app: the UI's web build served at `/`, so a browser reaches the same views as the
//! desktop app without installing anything.
//!
//! The files come from the binary itself (`ui/dist-web` embedded at build time by `build.rs`), or
//! from a folder named on the command line (`serve --web-dir DIR`).
//!
//! Rules:
//! * `/api/…` never falls back to the page: an unknown API path answers the API's own 404
//!   `{code, message}`. Only `GET`/`HEAD` of other paths reach the files.
//! * A path naming a file that does not exist answers 404; any other path (a view's address, no
//!   extension) answers `index.html`, so reloading a view works (the single-page fallback).
//! * Every answer carries [`CSP`] — the desktop app's policy (`tauri.conf.json`) without the
//!   desktop shell's own schemes — plus `X-Frame-Options: DENY` and `Referrer-Policy:
//!   no-referrer`. `index.html` is never cached (`no-store`, set for every answer by the API
//!   layer unless a handler chose otherwise); the content-hashed files under `assets/` are
//!   cached for a year, and the rest revalidate (`no-cache`).
//! * Paths with `..`, hidden segments or backslashes are refused before any lookup.

use std::path::PathBuf;

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::App;
use crate::error::Error;

/// The content security policy of every answer: the desktop app's (see `tauri.conf.json`),
/// minus the desktop shell's IPC and image schemes, which a browser does not have.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                       img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                       form-action 'none'; frame-ancestors 'none'";

/// The web build embedded at compile time: `(path relative to the build folder, bytes)`.
static EMBEDDED: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// Whether this binary carries the web build.
#[must_use]
pub fn embedded() -> bool {
    EMBEDDED.iter().any(|(path, _)| *path == "index.html")
}

/// Where the web app's files come from.
#[derive(Debug, Clone, Default)]
pub enum WebFiles {
    /// Embedded in the binary (empty when it was built without `ui/dist-web`).
    #[default]
    Embedded,
    /// Read from this folder on each request.
    Dir(PathBuf),
}

impl WebFiles {
    async fn read(&self, path: &str) -> Option<Vec<u8>> {
        match self {
            Self::Embedded => EMBEDDED
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, bytes)| bytes.to_vec()),
            Self::Dir(root) => tokio::fs::read(root.join(path)).await.ok(),
        }
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file a request path names, or `None` for a path that may not name one.
fn file_of(path: &str) -> Option<String> {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() {
        return Some("index.html".into());
    }
    // A page path ending in `/` (the sign-up link's `/invite/`) is that page; never `assets/`.
    let rel = match rel.strip_suffix('/') {
        Some(page) if !page.starts_with("assets") => page,
        _ => rel,
    };
    let safe = rel
        .split('/')
        .all(|seg| !seg.is_empty() && !seg.starts_with('.') && !seg.contains('\\'));
    safe.then(|| rel.to_owned())
}

/// Whether the last segment of a path looks like a file name (has an extension).
fn names_a_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

/// The API's paths: never the page.
fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/metrics" || path == "/healthz"
}

/// The router's fallback: API paths get the API's 404, page paths the web app.
pub(crate) async fn fallback(State(app): State<App>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if is_api(path) || !(method == Method::GET || method == Method::HEAD) {
        return Error::NotFound.into_response();
    }
    let Some(file) = file_of(path) else {
        return Error::NotFound.into_response();
    };
    let files = &app.config().web_files;
    let (file, bytes) = match files.read(&file).await {
        Some(bytes) => (file, bytes),
        None if names_a_file(&file) => return Error::NotFound.into_response(),
        None => match files.read("index.html").await {
            Some(bytes) => ("index.html".to_owned(), bytes),
            None => {
                return (
                    StatusCode::NOT_FOUND,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "This service was built without the web app (build it with \
                     `npm --prefix ui run build:web`, or start it with --web-dir).",
                )
                    .into_response();
            }
        },
    };
    let cache = if file == "index.html" {
        "no-store"
    } else if file.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut res = (
        [
            (header::CONTENT_TYPE, content_type(&file)),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response();
    if method == Method::HEAD {
        *res.body_mut() = axum::body::Body::empty();
    }
    res
}

/// Adds the page-protection headers every answer carries.
pub(crate) fn protect(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_files_or_nothing() {
        assert_eq!(file_of("/").as_deref(), Some("index.html"));
        assert_eq!(file_of("/invite/").as_deref(), Some("invite"));
        assert_eq!(
            file_of("/assets/index-1a2b.js").as_deref(),
            Some("assets/index-1a2b.js")
        );
        for bad in [
            "/../etc/passwd",
            "/a/../b",
            "/.env",
            "/a//b",
            "/a\\b",
            "/assets/",
        ] {
            assert_eq!(file_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn api_paths_never_reach_the_page() {
        for api in ["/api", "/api/", "/api/v1/nope", "/metrics", "/healthz"] {
            assert!(is_api(api), "{api}");
        }
        for page in ["/", "/screenshots", "/apiary", "/members/x"] {
            assert!(!is_api(page), "{page}");
        }
    }

    #[test]
    fn file_names_have_an_extension() {
        assert!(names_a_file("assets/a.js"));
        assert!(!names_a_file("settings"));
    }
}
