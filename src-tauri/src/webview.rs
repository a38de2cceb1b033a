//! WebKit settings for a document-like window (Linux; elsewhere these are no-ops).
//!
//! - **Cache model "document viewer".** The smallest memory cache and no back/forward page
//!   cache: the app has one page, and its images are answered `no-store` anyway.
//! - **Caches dropped on hide** ([`release_memory`]): closed to the tray, the window gives back
//!   its resource caches (the UI itself drops its thumbnails while the page is hidden).
//!
//! Hardware acceleration stays on (WebKit's default). Measured on Xvfb (Mesa software GL), the
//! policy "never" cut the web process's cost of the running timer's tick from ~4% to ~1.5% of
//! a core, but with it the system tests that save window screenshots hung in WebDriver calls
//! (seen under WebKitGTK 2.50); the UI instead keeps what repaints cheap (no blurred shadows on
//! screen, no animation).
//!
//! Measured with `cargo xtask bench app` (see the README's performance section).

use tauri::{Runtime, WebviewWindow};

/// Applies the settings above to `window`'s web view.
pub fn tune<R: Runtime>(window: &WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    if let Err(err) = window.with_webview(|webview| {
        use webkit2gtk::{CacheModel, WebContextExt, WebViewExt};
        let view = webview.inner();
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    }) {
        tracing::warn!("could not tune the web view: {err}");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

/// Gives back what the hidden window does not need: WebKit's resource caches.
pub fn release_memory<R: Runtime>(window: &WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    if let Err(err) = window.with_webview(|webview| {
        use webkit2gtk::{WebContextExt, WebViewExt};
        if let Some(context) = webview.inner().context() {
            context.clear_cache();
        }
    }) {
        tracing::warn!("could not release the web view's caches: {err}");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}
