//! The web app's edge on a real port with a real client (reqwest): the page and its headers,
//! browser sessions in an `HttpOnly` cookie, the cross-site refusals, sliding renewal, and
//! sign-out ending the session's event stream while the desktop session stays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{Db, Harness, PASSWORD, Team, read_until};
use reqwest::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};
use shotclock_api::EntryId;
use shotclock_server::web::{CSP, WebFiles};
use shotclock_server::{Config, serve};

struct Served {
    h: Harness,
    team: Team,
    base: String,
    http: reqwest::Client,
}

async fn served(db: Db, configure: impl FnOnce(&mut Config)) -> Served {
    let h = Harness::build_on(db, configure, false);
    let team = h.team("acme").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, h.app.clone()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Served {
        h,
        team,
        base,
        http,
    }
}

impl Served {
    /// A browser's sign-in from the service's own page: the response.
    async fn web_login(&self, email: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/web/login", self.base))
            .header("x-shotclock", "1")
            .header(ORIGIN, &self.base)
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
    }

    /// Signs in as a browser and answers the `Cookie` header value it would send.
    async fn cookie(&self, email: &str) -> String {
        let res = self.web_login(email).await;
        assert_eq!(res.status(), 200);
        let set = res.headers()[SET_COOKIE].to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn set_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
}

// ---- the page -----------------------------------------------------------------------------

/// The desktop app's CSP from `tauri.conf.json`, minus the desktop shell's own schemes.
fn desktop_csp_for_the_web() -> String {
    let conf: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tauri.conf.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let csp = conf["app"]["security"]["csp"].as_object().unwrap();
    csp.iter()
        .map(|(directive, sources)| {
            let kept: Vec<&str> = sources
                .as_str()
                .unwrap()
                .split_whitespace()
                .filter(|s| !matches!(*s, "ipc:" | "shotclock:") && !s.ends_with(".localhost"))
                .collect();
            format!("{directive} {}", kept.join(" "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn the_web_csp_is_the_desktop_apps() {
    let mut ours: Vec<&str> = CSP.split("; ").collect();
    let desktop = desktop_csp_for_the_web();
    let mut theirs: Vec<&str> = desktop.split("; ").collect();
    ours.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(ours, theirs);
}

#[tokio::test]
async fn the_page_is_served_with_its_headers_and_api_paths_never_fall_back() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(
        files.path().join("index.html"),
        "<!doctype html><title>Shotclock</title>",
    )
    .unwrap();
    std::fs::create_dir(files.path().join("assets")).unwrap();
    std::fs::write(files.path().join("assets/app-1a2b.js"), "export {};").unwrap();
    let dir = files.path().to_owned();
    let s = served(Db::Sqlite, move |c| c.web_files = WebFiles::Dir(dir)).await;

    for path in ["/", "/screenshots", "/members/x"] {
        let res = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        assert_eq!(h["content-security-policy"], CSP, "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            res.text().await.unwrap(),
            "<!doctype html><title>Shotclock</title>"
        );
    }
    let js = s
        .http
        .get(s.url("/assets/app-1a2b.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    for missing in ["/assets/nope.js", "/favicon.ico", "/../Cargo.toml", "/.env"] {
        let res = s.http.get(s.url(missing)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{missing}");
    }
    // The API keeps its own 404, never the page.
    for api in ["/api/v1/nope", "/api/v2/me", "/api"] {
        let res = s.http.get(s.url(api)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{api}");
        assert_eq!(
            res.json::<Value>().await.unwrap()["code"],
            "not_found",
            "{api}"
        );
    }
    let post = s.http.post(s.url("/")).send().await.unwrap();
    assert_eq!(post.status(), 404);
}

// ---- browser sessions -----------------------------------------------------------------------

async fn cookie_flags_are_exact_and_no_token_reaches_the_page(db: Db) {
    let s = served(db, |_| {}).await;
    let res = s.web_login(&s.team.alice.email).await;
    assert_eq!(res.status(), 200);
    let set = set_cookie(&res).unwrap();
    let token = set
        .strip_prefix("shotclock_session=")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 64);
    // On loopback the cookie goes without `Secure` (plain HTTP on this machine).
    assert_eq!(
        set,
        format!("shotclock_session={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200")
    );
    let body = res.text().await.unwrap();
    assert!(!body.contains(&token), "the token is not in the body");
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["user"]["email"], s.team.alice.email.as_str());
    assert!(me.get("token").is_none());

    // Anywhere else, `Secure` too.
    let res = s
        .http
        .post(s.url("/api/v1/web/login"))
        .header(HOST, "team.example.test")
        .header(ORIGIN, "https://team.example.test")
        .header("x-shotclock", "1")
        .json(&json!({"email": s.team.alice.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let set = set_cookie(&res).unwrap();
    assert!(
        set.ends_with("; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"),
        "{set}"
    );

    // The cookie is a session of its own kind: not a bearer token, and a desktop token is not
    // a cookie.
    let as_bearer = s
        .http
        .get(s.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(as_bearer.status(), 401);
    let desktop_as_cookie = s
        .http
        .get(s.url("/api/v1/me"))
        .header(COOKIE, format!("shotclock_session={}", s.team.alice.token))
        .send()
        .await
        .unwrap();
    assert_eq!(desktop_as_cookie.status(), 401);
    let me = s
        .http
        .get(s.url("/api/v1/me"))
        .header(COOKIE, format!("shotclock_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

async fn cross_site_requests_are_refused(db: Db) {
    let s = served(db, |_| {}).await;
    let cookie = s.cookie(&s.team.alice.email).await;
    let start = |origin: Option<&str>, header: bool| {
        let mut req = s
            .http
            .post(s.url("/api/v1/timer/start"))
            .header(COOKIE, &cookie)
            .json(&json!({"entry_id": EntryId::new(), "description": "x"}));
        if let Some(o) = origin {
            req = req.header(ORIGIN, o);
        }
        if header {
            req = req.header("x-shotclock", "1");
        }
        req.send()
    };
    // A fetch without the custom header, from the page itself or from elsewhere.
    for (origin, header) in [
        (Some(s.base.as_str()), false),
        (Some("https://evil.example"), true),
        (Some("null"), true),
        (None, true),
    ] {
        let res = start(origin, header).await.unwrap();
        assert_eq!(res.status(), 403, "{origin:?} header={header}");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "forbidden");
    }
    // A cross-site form post (what a form can send: no custom header).
    let form = s
        .http
        .post(s.url("/api/v1/web/logout"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=1")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403);
    // A sign-in planted from elsewhere.
    let planted = s
        .http
        .post(s.url("/api/v1/web/login"))
        .header(ORIGIN, "https://evil.example")
        .header("x-shotclock", "1")
        .json(&json!({"email": s.team.alice.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(planted.status(), 403);
    assert!(set_cookie(&planted).is_none());
    // Nothing changed; the session still works for the page's own requests.
    let timer: Value = s
        .http
        .get(s.url("/api/v1/timer"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(timer["running"].is_null());
    let res = start(Some(s.base.as_str()), true).await.unwrap();
    assert_eq!(res.status(), 200);
}

async fn browser_sessions_slide_and_expire(db: Db) {
    let s = served(db, |c| c.web_session_ttl = TimeDelta::hours(12)).await;
    let cookie = s.cookie(&s.team.alice.email).await;
    let me = || {
        s.http
            .get(s.url("/api/v1/me"))
            .header(COOKIE, &cookie)
            .send()
    };
    // First half: no renewal.
    s.h.clock.advance(TimeDelta::hours(5));
    let res = me().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(set_cookie(&res).is_none());
    // Second half: renewed for a whole lifetime, the same cookie set again.
    s.h.clock.advance(TimeDelta::hours(2));
    let res = me().await.unwrap();
    assert_eq!(res.status(), 200);
    let renewed = set_cookie(&res).unwrap();
    assert!(renewed.starts_with(&format!("{cookie}; ")), "{renewed}");
    assert!(renewed.contains("Max-Age=43200"));
    // 11 h after the renewal (18 h after sign-in) it still works …
    s.h.clock.advance(TimeDelta::hours(11));
    assert_eq!(me().await.unwrap().status(), 200);
    // … and a whole lifetime unused ends it.
    s.h.clock.advance(TimeDelta::hours(13));
    let res = me().await.unwrap();
    assert_eq!(res.status(), 401);
    // A desktop session lives on its own, longer lifetime.
    let desktop = s
        .http
        .get(s.url("/api/v1/me"))
        .bearer_auth(&s.team.alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(desktop.status(), 200);
}

async fn sign_out_ends_the_browser_session_and_its_stream_only(db: Db) {
    let s = served(db, |_| {}).await;
    let cookie = s.cookie(&s.team.alice.email).await;
    let web_events = s
        .http
        .get(s.url("/api/v1/events"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(web_events.status(), 200);
    let mut web_stream = web_events.bytes_stream();
    assert!(read_until(&mut web_stream, "event: ready").await);
    let desktop_events = s
        .http
        .get(s.url("/api/v1/events"))
        .bearer_auth(&s.team.alice.token)
        .send()
        .await
        .unwrap();
    let mut desktop_stream = desktop_events.bytes_stream();
    assert!(read_until(&mut desktop_stream, "event: ready").await);

    let out = s
        .http
        .post(s.url("/api/v1/web/logout"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, &s.base)
        .header("x-shotclock", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(
        set_cookie(&out).unwrap(),
        "shotclock_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    );
    // The browser's stream ends; its cookie no longer signs anything in.
    assert!(!read_until(&mut web_stream, "never").await);
    let me = s
        .http
        .get(s.url("/api/v1/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    // The desktop session and its stream stay: it still hears what happens.
    let started = s
        .http
        .post(s.url("/api/v1/timer/start"))
        .bearer_auth(&s.team.alice.token)
        .json(&json!({"entry_id": EntryId::new(), "description": "after"}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 200);
    assert!(read_until(&mut desktop_stream, "event: timer_started").await);
}

/// Behind a reverse proxy that rewrites `Host`, the configured public origin is the page's
/// own; any other origin still is not.
async fn a_trusted_public_origin_passes_the_cross_site_check(db: Db) {
    let s = served(db, |c| {
        c.public_origin = Some("https://time.example.com".into());
    })
    .await;
    let login = |origin: &'static str| {
        s.http
            .post(s.url("/api/v1/web/login"))
            .header("x-shotclock", "1")
            .header(ORIGIN, origin)
            .json(&json!({"email": s.team.alice.email, "password": PASSWORD}))
            .send()
    };
    let ok = login("https://time.example.com").await.unwrap();
    assert_eq!(ok.status(), 200);
    // Served on 127.0.0.1 behind the proxy, but the browser is at an https origin: `Secure`.
    let set = ok.headers()["set-cookie"].to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
    assert_eq!(
        login("https://evil.example.com").await.unwrap().status(),
        403
    );
    assert_eq!(
        login("http://time.example.com").await.unwrap().status(),
        403
    );
    // Its own Host still counts, and without the setting the proxy's origin does not.
    assert_eq!(s.web_login(&s.team.alice.email).await.status(), 200);
    let plain = served(Db::Sqlite, |_| {}).await;
    let res = plain
        .http
        .post(plain.url("/api/v1/web/login"))
        .header("x-shotclock", "1")
        .header(ORIGIN, "https://time.example.com")
        .json(&json!({"email": plain.team.alice.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

common::both_backends!(
    a_trusted_public_origin_passes_the_cross_site_check,
    cookie_flags_are_exact_and_no_token_reaches_the_page,
    cross_site_requests_are_refused,
    browser_sessions_slide_and_expire,
    sign_out_ends_the_browser_session_and_its_stream_only,
);
