//! The `shotclock:` URI scheme: screenshot images for the webview, never base64 over IPC.
//!
//! `shotclock://localhost/<screenshot id>` (on Windows `http://shotclock.localhost/<id>`) answers
//! the engine's `image(id)`: the WebP thumbnail from the local buffer when this device holds it, else from the service with
//! the session's token — so the service decides who may see what (R16): a screenshot the viewer
//! may not see answers 404 exactly like a missing one. Expired screenshots are never served
//! (R18). Answers are not cached: a deleted screenshot must not linger (R24).
//!
//! `?w=<px>` asks for the thumbnail at most that wide ([`shotclock_capture::scaled_webp`], in
//! memory): a grid of thumbnails is decoded by the web view at the size it shows them.

use crate::session::AppState;
use shotclock_agent::AgentError;
use shotclock_api::{ErrorCode, ScreenshotId};
use tauri::http::{Request, Response, StatusCode, header};
use tauri::{AppHandle, Manager, UriSchemeResponder};

pub const SCHEME: &str = "shotclock";

/// Answers one request on a Tauri async task.
pub fn handle(app: &AppHandle, request: Request<Vec<u8>>, responder: UriSchemeResponder) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let answer = serve(&app, request.uri().path(), request.uri().query()).await;
        responder.respond(respond(answer, origin.as_deref()));
    });
}

/// What a request resolves to.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Image(Vec<u8>),
    Status(StatusCode),
}

async fn serve(app: &AppHandle, path: &str, query: Option<&str>) -> Answer {
    let (Some(id), Ok(width)) = (parse_path(path), parse_width(query)) else {
        return Answer::Status(StatusCode::BAD_REQUEST);
    };
    let Ok(agent) = app.state::<AppState>().agent().await else {
        return Answer::Status(StatusCode::UNAUTHORIZED);
    };
    match agent.image(id).await {
        Ok(Some(bytes)) => match width {
            Some(width) => scaled(bytes, width).await,
            None => Answer::Image(bytes),
        },
        Ok(None) => Answer::Status(StatusCode::NOT_FOUND),
        Err(AgentError::Sync(e)) if e.code() == Some(ErrorCode::Unauthorized) => {
            Answer::Status(StatusCode::UNAUTHORIZED)
        }
        Err(e) => {
            tracing::info!("could not fetch a screenshot image: {e}");
            Answer::Status(StatusCode::BAD_GATEWAY)
        }
    }
}

/// `/<uuid>` → the id; anything else is not ours.
fn parse_path(path: &str) -> Option<ScreenshotId> {
    path.strip_prefix('/')?.parse().ok()
}

/// No query: the thumbnail as stored; `w=<px>` (16–4096): at most that wide.
fn parse_width(query: Option<&str>) -> Result<Option<u32>, ()> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let width: u32 = query
        .strip_prefix("w=")
        .and_then(|w| w.parse().ok())
        .ok_or(())?;
    (shotclock_capture::scale::MIN_SCALED_WIDTH..=4096)
        .contains(&width)
        .then_some(Some(width))
        .ok_or(())
}

/// `webp` at most `width` wide, off the async threads; the stored bytes if that fails.
async fn scaled(webp: Vec<u8>, width: u32) -> Answer {
    let outcome = tauri::async_runtime::spawn_blocking(move || {
        let small = shotclock_capture::scaled_webp(&webp, width);
        small.map_err(|e| (e, webp))
    })
    .await;
    match outcome {
        Ok(Ok(small)) => Answer::Image(small),
        Ok(Err((err, webp))) => {
            tracing::info!("could not scale a screenshot image: {err}");
            Answer::Image(webp)
        }
        Err(err) => {
            tracing::warn!("scaling a screenshot image stopped: {err}");
            Answer::Status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn respond(answer: Answer, origin: Option<&str>) -> Response<Vec<u8>> {
    let (status, content_type, body) = match answer {
        Answer::Image(bytes) => (StatusCode::OK, "image/webp", bytes),
        Answer::Status(status) => (status, "text/plain", Vec::new()),
    };
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store");
    // The app's own page may read the answer with fetch(); nothing else is served here.
    if let Some(origin) = origin.filter(|o| is_app_origin(o)) {
        builder = builder.header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    builder.body(body).unwrap_or_else(|_| {
        let mut fallback = Response::new(Vec::new());
        *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

fn is_app_origin(origin: &str) -> bool {
    matches!(
        origin,
        "tauri://localhost" | "http://tauri.localhost" | "https://tauri.localhost"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bare_screenshot_id_is_a_valid_path() {
        let id = ScreenshotId::new();
        assert_eq!(parse_path(&format!("/{id}")), Some(id));
        for bad in [
            "",
            "/",
            "/nope",
            &format!("/{id}/x"),
            &format!("/../{id}"),
            &format!("{id}"),
        ] {
            assert_eq!(parse_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_width_is_asked_for_with_w_and_bounded() {
        assert_eq!(parse_width(None), Ok(None));
        assert_eq!(parse_width(Some("")), Ok(None));
        assert_eq!(parse_width(Some("w=320")), Ok(Some(320)));
        assert_eq!(parse_width(Some("w=16")), Ok(Some(16)));
        for bad in [
            "w=15",
            "w=4097",
            "w=",
            "w=-1",
            "w=abc",
            "x=320",
            "w=320&x=1",
        ] {
            assert_eq!(parse_width(Some(bad)), Err(()), "{bad:?}");
        }
    }

    #[test]
    fn answers_are_never_cached_and_only_the_app_may_read_them() {
        let ok = respond(Answer::Image(vec![1, 2, 3]), Some("tauri://localhost"));
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()[header::CONTENT_TYPE], "image/webp");
        assert_eq!(ok.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "tauri://localhost"
        );
        assert_eq!(ok.body(), &vec![1, 2, 3]);

        let foreign = respond(
            Answer::Status(StatusCode::NOT_FOUND),
            Some("https://evil.example"),
        );
        assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
        assert!(foreign.body().is_empty());
        assert!(
            foreign
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
    }
}
