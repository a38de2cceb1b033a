//! WebKit settings for a document-like window (Linux; elsewhere these are no-ops).
//!
//! - **No GPU compositing** (hardware-acceleration policy "never"). The window is a page of
//!   text and thumbnails with no animation; composited, every repaint (the running timer's
//!   second, a caret) recomposites the whole window, which on a machine without a GPU is
//!   Mesa's software GL. Measured with `cargo xtask bench app` on Xvfb: the web process's cost
//!   with a timer running fell from ~4.4% to ~1% of a core, and all processes' PSS from
//!   ~600 MB to ~310 MB after a day of thumbnails (decoded images are given back when they
//!   leave the page; Mesa's software GL is still loaded, since WebKitGTK 2.50 opens an EGL
//!   display in any case).
//! - **A steady caret.** A blinking caret repaints twice a second for as long as a field has
//!   focus. GTK's own `gtk-cursor-blink` setting, which WebKit follows, is turned off for this
//!   process only (a focused field still costs ~3% of a core, so no field takes focus on its
//!   own: neither the sign-in form on load nor the Timer's description once a timer runs).
//! - **Cache model "document viewer".** The smallest memory cache and no back/forward page
//!   cache: the app has one page, and its images are answered `no-store` anyway.
//! - **JavaScript without a JIT** (`JSC_useJIT=0` in the environment the web process inherits,
//!   set by [`prepare_engine`] unless already set, and taken out again for other programs the
//!   app starts, such as the browser of an SSO sign-in). The page's script is event handlers and
//!   list updates, not hot loops, so the interpreter runs it at the same cost; the JIT's
//!   compiler threads, code and the web process's writable-and-executable memory go (the
//!   system test `e2e_idle` checks that none is mapped). Measured with `cargo xtask bench app`:
//!   the web process holds 3–8 MB less on every view, at the same CPU.
//! - **Nothing kept while in the tray**: closing the window destroys it and its web process
//!   ([`crate::window`]), rather than hiding it with its caches.
//!
//! The figures are in the README's performance section.

use tauri::{Runtime, WebviewWindow};

/// Environment variables WebKit's processes read at start, with the values chosen above.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const ENGINE_ENV: &[(&str, &str)] = &[("JSC_useJIT", "0")];

/// The names of the [`ENGINE_ENV`] variables [`prepare_engine`] set (not those the user had set).
static SET_HERE: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();

/// Sets [`ENGINE_ENV`] in this process's environment, which the web processes it starts
/// inherit; a variable the user already set is kept. Call first thing in `main`, before any
/// other thread starts (Linux; elsewhere a no-op). Other programs the app starts (the browser
/// for a sign-in) get them removed again: [`for_other_programs`].
pub fn prepare_engine() {
    #[cfg(target_os = "linux")]
    {
        let missing = missing_engine_env(|name| std::env::var_os(name).is_some());
        for (name, value) in &missing {
            // SAFETY: called at the start of `main`, before any other thread exists, so
            // nothing reads the environment concurrently.
            #[allow(unsafe_code)]
            unsafe {
                std::env::set_var(name, value);
            }
        }
        let _ = SET_HERE.set(missing.iter().map(|(name, _)| *name).collect());
    }
}

/// The [`ENGINE_ENV`] entries that `is_set` says are not set yet.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn missing_engine_env(is_set: impl Fn(&str) -> bool) -> Vec<(&'static str, &'static str)> {
    ENGINE_ENV
        .iter()
        .filter(|(name, _)| !is_set(name))
        .copied()
        .collect()
}

/// Removes from `command`'s environment the variables [`prepare_engine`] set for WebKit, so a
/// program the app starts (a browser, perhaps a WebKit one) runs as it would from the desktop.
pub fn for_other_programs(command: &mut std::process::Command) -> &mut std::process::Command {
    remove_env(
        command,
        SET_HERE.get().map(Vec::as_slice).unwrap_or_default(),
    )
}

fn remove_env<'c>(
    command: &'c mut std::process::Command,
    names: &[&str],
) -> &'c mut std::process::Command {
    for name in names {
        command.env_remove(name);
    }
    command
}

/// Applies the settings above to `window`'s web view.
pub fn tune<R: Runtime>(window: &WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    if let Err(err) = window.with_webview(|webview| {
        use gtk::prelude::{GtkSettingsExt, WidgetExt};
        use webkit2gtk::{
            CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
        };
        let view = webview.inner();
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
        if let Some(gtk_settings) = WidgetExt::settings(&view) {
            gtk_settings.set_gtk_cursor_blink(false);
        }
    }) {
        tracing::warn!("could not tune the web view: {err}");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

#[cfg(test)]
mod tests {
    use super::{ENGINE_ENV, missing_engine_env, remove_env};
    use std::ffi::OsStr;

    #[test]
    fn a_variable_the_user_set_is_kept() {
        assert_eq!(missing_engine_env(|_| false), ENGINE_ENV.to_vec());
        assert_eq!(missing_engine_env(|_| true), Vec::new());
        assert_eq!(
            missing_engine_env(|name| name != "JSC_useJIT"),
            vec![("JSC_useJIT", "0")]
        );
    }

    #[test]
    fn other_programs_start_without_what_was_set_for_the_engine() {
        let mut command = std::process::Command::new("xdg-open");
        command.env("KEPT", "1");
        remove_env(&mut command, &["JSC_useJIT"]);
        let envs: Vec<(&OsStr, Option<&OsStr>)> = command.get_envs().collect();
        assert_eq!(
            envs,
            vec![
                (OsStr::new("JSC_useJIT"), None),
                (OsStr::new("KEPT"), Some(OsStr::new("1")))
            ]
        );
        let mut untouched = std::process::Command::new("xdg-open");
        remove_env(&mut untouched, &[]);
        assert_eq!(untouched.get_envs().count(), 0);
    }
}
