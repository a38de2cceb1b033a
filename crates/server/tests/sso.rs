//! Single sign-on (R31) against a real OpenID provider (npm `oidc-provider`, started by
//! `shotclock-testoidc`): the settings, the web and the desktop app's flows end to end, the
//! account rules, password sign-in turned off, and each refusal creating nothing. The ID token
//! cases a real provider never produces (a nonce mismatch, an expired token, another issuer
//! or audience, an unknown key) are checked at the verification seam with tokens and keys the
//! test makes itself (`the_id_token_check_refuses_what_a_provider_should_never_send`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::Request;
use chrono::{TimeDelta, Utc};
use common::{Db, Harness, PASSWORD, Resp, Team};
use serde_json::{Value, json};
use shotclock_api::{Role, UserId};
use shotclock_server::intents::s256;
use shotclock_server::sso::{SsoKey, VerifyError, verify_id_token};
use shotclock_server::store::NewUser;
use shotclock_testoidc::{Account, Client, Keys, Outcome, Provider, sign_in};

/// The service's origin as the provider knows it (requests go through `oneshot`).
const SERVICE: &str = "http://127.0.0.1:9";
const CALLBACK: &str = "http://127.0.0.1:9/api/v1/sso/callback";
const CLIENT_ID: &str = "shotclock";
const CLIENT_SECRET: &str = "a-client-secret-0123456789-abcdef";
const APP_REDIRECT: &str = "http://127.0.0.1:53123/done";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0F3CV2NdxeJXBJO0Gm3VV5KuVPxw";

struct World {
    h: Harness,
    idp: Provider,
    team: Team,
    /// The sign-in cookie this "browser" was last given by `start`, sent back to the callback.
    browser: std::sync::Mutex<Option<String>>,
}

fn accounts() -> Vec<Account> {
    vec![
        Account::verified("alice-sub", "alice@acme.test"),
        Account::verified("owner-sub", "owner@acme.test"),
        Account::verified("carol-sub", "carol@acme.test"),
        Account::verified("dave-sub", "dave@acme.test"),
        Account::verified("eve-sub", "eve@elsewhere.test"),
        Account {
            sub: "bob-sub".into(),
            email: "bob@acme.test".into(),
            email_verified: false,
        },
    ]
}

fn harness(db: Db) -> Harness {
    let h = Harness::build_on(
        db,
        |c| {
            c.sso_key = Some(SsoKey::from_bytes([42; 32]));
            c.allow_loopback_idp = true;
            c.public_origin = Some(SERVICE.into());
        },
        false,
    );
    // ID tokens carry the provider's real times.
    h.clock.set(Utc::now());
    h
}

fn provider(keys: &Keys) -> Provider {
    Provider::start(
        vec![Client {
            id: CLIENT_ID.into(),
            secret: CLIENT_SECRET.into(),
            redirect_uris: vec![CALLBACK.into()],
        }],
        accounts(),
        keys,
    )
}

async fn world(db: Db, auto_join: bool, password_sign_in: bool) -> World {
    let h = harness(db);
    let idp = provider(&Keys::generate("k1"));
    let team = h.team("acme").await;
    let w = World {
        h,
        idp,
        team,
        browser: std::sync::Mutex::default(),
    };
    w.configure(auto_join, password_sign_in).await.expect(200);
    w
}

impl World {
    async fn configure(&self, auto_join: bool, password_sign_in: bool) -> Resp {
        self.h
            .call(
                "PUT",
                "/api/v1/workspace/sso",
                Some(&self.team.admin.token),
                Some(json!({
                    "issuer": self.idp.issuer(),
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "allowed_domains": ["acme.test"],
                    "auto_join": auto_join,
                    "password_sign_in": password_sign_in,
                })),
            )
            .await
    }

    /// A GET from this world's browser: its sign-in cookie goes with a callback.
    async fn get(&self, path_and_query: &str) -> Resp {
        let kept = self.browser.lock().unwrap().clone();
        let cookie = kept.filter(|_| path_and_query.starts_with("/api/v1/sso/callback"));
        self.get_with(path_and_query, cookie.as_deref()).await
    }

    /// A GET with this cookie, or none (another browser).
    async fn get_with(&self, path_and_query: &str, cookie: Option<&str>) -> Resp {
        let mut req = Request::builder()
            .uri(path_and_query)
            .header("host", "127.0.0.1:9");
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        self.h.send(req.body(Body::empty()).unwrap()).await
    }

    /// `start` with this query, keeping its sign-in cookie like a browser; answers the
    /// provider's authorization URL.
    async fn start(&self, query: &str) -> String {
        let res = self.get(&format!("/api/v1/sso/start?{query}")).await;
        assert_eq!(res.status, 303, "{}", String::from_utf8_lossy(&res.body));
        if let Some(set) = res
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|v| v.starts_with("shotclock_sso="))
        {
            *self.browser.lock().unwrap() = set.split(';').next().map(str::to_owned);
        }
        let to = location(&res);
        assert!(to.starts_with(&self.idp.issuer()), "{to}");
        to
    }

    /// A sign-in at the provider as `login`; answers the callback path and query.
    async fn at_provider(&self, authorization: &str, login: &str) -> String {
        let back = sign_in(authorization, login).await.redirect();
        assert!(back.as_str().starts_with(CALLBACK), "{back}");
        format!("{}?{}", back.path(), back.query().unwrap_or_default())
    }

    async fn users(&self) -> usize {
        let ws = self.team.ws;
        self.h.raw(move |rows| rows.members(ws, true)).await.len()
    }
}

fn location(res: &Resp) -> String {
    res.headers["location"].to_str().unwrap().to_owned()
}

fn page_text(res: &Resp) -> String {
    let text = String::from_utf8_lossy(&res.body).into_owned();
    assert!(
        res.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "a page, not {:?}: {text}",
        res.headers.get("content-type")
    );
    text
}

fn session_cookie(res: &Resp) -> Option<String> {
    res.headers
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
}

async fn me_with_cookie(w: &World, cookie: &str) -> Value {
    let req = Request::builder()
        .uri("/api/v1/me")
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    let res = w.h.send(req).await;
    res.expect(200);
    res.json()
}

async fn password_login(h: &Harness, email: &str) -> Resp {
    h.login(email, PASSWORD).await
}

#[tokio::test]
async fn admins_link_a_provider_that_is_checked_and_whose_secret_is_never_shown() {
    let h = harness(Db::Sqlite);
    let idp = provider(&Keys::generate("k1"));
    let team = h.team("acme").await;
    let body = |issuer: &str| {
        json!({
            "issuer": issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "allowed_domains": ["@Acme.TEST", "acme.test"],
            "auto_join": false,
            "password_sign_in": true,
        })
    };
    // Members may neither read nor change it.
    h.get("/api/v1/workspace/sso", &team.alice.token)
        .await
        .expect(403);
    h.call(
        "PUT",
        "/api/v1/workspace/sso",
        Some(&team.alice.token),
        Some(body(&idp.issuer())),
    )
    .await
    .expect(403);
    let unlinked = h.get("/api/v1/workspace/sso", &team.admin.token).await;
    unlinked.expect(200);
    assert_eq!(unlinked.json()["enabled"], false);
    assert_eq!(unlinked.json()["callback_url"], CALLBACK);

    // The provider is checked before anything is stored, and the answer says why.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    for (issuer, words) in [
        (nobody.as_str(), "could not be read"),
        ("http://10.1.2.3", "private, local or reserved"),
        ("http://169.254.169.254", "private, local or reserved"),
        ("ftp://example.com", "https"),
        ("not a url", "not a URL"),
    ] {
        let res = h
            .call(
                "PUT",
                "/api/v1/workspace/sso",
                Some(&team.admin.token),
                Some(body(issuer)),
            )
            .await;
        res.expect(422);
        let message = res.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(words), "{issuer}: {message}");
    }
    let wrong_issuer = format!("{}/other", idp.issuer());
    h.call(
        "PUT",
        "/api/v1/workspace/sso",
        Some(&team.admin.token),
        Some(body(&wrong_issuer)),
    )
    .await
    .expect(422);
    let ws = team.ws;
    assert!(h.raw(move |rows| rows.sso_config(ws)).await.is_none());

    let saved = h
        .call(
            "PUT",
            "/api/v1/workspace/sso",
            Some(&team.admin.token),
            Some(body(&idp.issuer())),
        )
        .await;
    saved.expect(200);
    let text = String::from_utf8_lossy(&saved.body).into_owned();
    assert!(!text.contains(CLIENT_SECRET), "{text}");
    let read = h.get("/api/v1/workspace/sso", &team.owner.token).await;
    read.expect(200);
    let v = read.json();
    assert_eq!(v["enabled"], true);
    assert_eq!(v["issuer"], idp.issuer());
    assert_eq!(v["client_secret_set"], true);
    assert_eq!(v["allowed_domains"], json!(["acme.test"]));
    assert!(v.get("client_secret").is_none());
    assert!(!String::from_utf8_lossy(&read.body).contains(CLIENT_SECRET));
    // Stored sealed.
    let row = h.raw(move |rows| rows.sso_config(ws)).await.unwrap();
    assert!(
        !row.client_secret
            .windows(CLIENT_SECRET.len())
            .any(|w| w == CLIENT_SECRET.as_bytes())
    );
    // Saved again without a secret: the stored one stays.
    let mut again = body(&idp.issuer());
    again["client_secret"] = Value::Null;
    again["auto_join"] = json!(true);
    h.call(
        "PUT",
        "/api/v1/workspace/sso",
        Some(&team.admin.token),
        Some(again),
    )
    .await
    .expect(200);
    let kept = h.raw(move |rows| rows.sso_config(ws)).await.unwrap();
    assert!(kept.auto_join);
    assert_eq!(kept.client_secret, row.client_secret);
    // The stored secret goes only to the provider and client it was given for: another issuer
    // (a provider that answers its discovery) or another client id needs the secret again.
    let elsewhere = provider(&Keys::generate("k2"));
    for (field, value) in [
        ("issuer", json!(elsewhere.issuer())),
        ("client_id", json!("another-client")),
    ] {
        let mut moved = body(&idp.issuer());
        moved["client_secret"] = Value::Null;
        moved[field] = value;
        let res = h
            .call(
                "PUT",
                "/api/v1/workspace/sso",
                Some(&team.admin.token),
                Some(moved),
            )
            .await;
        res.expect(422);
        let message = res.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("client_secret"), "{field}: {message}");
    }
    let still = h.raw(move |rows| rows.sso_config(ws)).await.unwrap();
    assert_eq!(
        (still.issuer, still.client_id),
        (kept.issuer, kept.client_id)
    );

    // A domain belongs to one workspace.
    let other = h.team("other").await;
    let res = h
        .call(
            "PUT",
            "/api/v1/workspace/sso",
            Some(&other.admin.token),
            Some(body(&idp.issuer())),
        )
        .await;
    res.expect(409);
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap()
            .contains("acme.test")
    );
}

#[tokio::test]
async fn without_the_loopback_flag_a_local_provider_is_refused() {
    let h = Harness::build_on(
        Db::Sqlite,
        |c| c.sso_key = Some(SsoKey::from_bytes([1; 32])),
        false,
    );
    let idp = provider(&Keys::generate("k1"));
    let team = h.team("acme").await;
    let res = h
        .call(
            "PUT",
            "/api/v1/workspace/sso",
            Some(&team.admin.token),
            Some(json!({
                "issuer": idp.issuer(), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "allowed_domains": ["acme.test"], "auto_join": false, "password_sign_in": true,
            })),
        )
        .await;
    res.expect(422);
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap()
            .contains("private, local or reserved")
    );
}

async fn web_sign_in_links_by_verified_email_then_by_subject(db: Db) {
    let w = world(db, false, true).await;
    let before = w.users().await;
    let to = w.start("email=alice%40acme.test").await;
    assert!(to.contains("code_challenge_method=S256"), "{to}");
    assert!(to.contains("nonce="), "{to}");
    assert!(to.contains("login_hint=alice%40acme.test"), "{to}");
    let back = w.at_provider(&to, "alice-sub").await;
    let res = w.get(&back).await;
    assert_eq!(res.status, 303, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(location(&res), "/");
    let cookie = session_cookie(&res).unwrap();
    assert!(
        res.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("HttpOnly")
    );
    let me = me_with_cookie(&w, &cookie).await;
    assert_eq!(me["user"]["id"], json!(w.team.alice.id));
    assert_eq!(w.users().await, before, "linked, nothing made");

    // Linked by `sub` now: the workspace named by id, no email given.
    let to = w.start(&format!("workspace={}", w.team.ws)).await;
    let back = w.at_provider(&to, "alice-sub").await;
    let res = w.get(&back).await;
    assert_eq!(res.status, 303);
    let me = me_with_cookie(&w, &session_cookie(&res).unwrap()).await;
    assert_eq!(me["user"]["id"], json!(w.team.alice.id));

    // The same callback again: its state was used.
    let replay = w.get(&back).await;
    assert_eq!(replay.status, 400);
    assert!(page_text(&replay).contains("start it again"));
    assert!(replay.headers.get("set-cookie").is_none());
}

/// A browser's sign-in finishes only in the browser that started it: someone who starts a
/// sign-in and signs in at the provider as themselves cannot hand the callback to another
/// browser and so sign that browser in as them (login cross-site request forgery).
async fn a_web_sign_in_finishes_only_in_the_browser_that_started_it(db: Db) {
    let w = world(db, false, true).await;
    let start = w.get("/api/v1/sso/start?email=alice%40acme.test").await;
    assert_eq!(start.status, 303);
    let set = start
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("shotclock_sso="))
        .expect("the sign-in's cookie");
    for part in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/api/v1/sso/callback",
        "Max-Age=600",
    ] {
        assert!(set.contains(part), "{set}");
    }
    let back = w.at_provider(&location(&start), "alice-sub").await;
    for other_browser in [None, Some("shotclock_sso=someone-elses")] {
        let to = w.start("email=alice%40acme.test").await;
        let back = w.at_provider(&to, "alice-sub").await;
        let res = w.get_with(&back, other_browser).await;
        assert_eq!(res.status, 400, "{other_browser:?}");
        assert!(page_text(&res).contains("another browser"));
        assert!(res.headers.get("set-cookie").is_none());
        // That callback is used up: not even the browser that started it can finish it now.
        let res = w.get(&back).await;
        assert_eq!(res.status, 400);
        assert!(page_text(&res).contains("not under way"));
    }
    // The browser that started it finishes it, and its sign-in cookie is cleared.
    let cookie = set.split(';').next().unwrap();
    let res = w.get_with(&back, Some(cookie)).await;
    assert_eq!(res.status, 303, "{}", String::from_utf8_lossy(&res.body));
    let me = me_with_cookie(&w, &session_cookie(&res).unwrap()).await;
    assert_eq!(me["user"]["id"], json!(w.team.alice.id));
    assert!(
        res.headers
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("shotclock_sso=;"))
    );
}

/// A sign-in under way is kept ten minutes and no longer: its callback a millisecond before
/// the tenth minute signs in, at the tenth minute it is refused as not under way.
async fn a_sign_in_under_way_is_kept_ten_minutes_to_the_millisecond(db: Db) {
    let w = world(db, false, true).await;
    let began = w.h.app.now();
    let ten = TimeDelta::minutes(10);
    for (after, status) in [(ten, 400), (ten - TimeDelta::milliseconds(1), 303)] {
        w.h.clock.set(began);
        let to = w.start("email=alice%40acme.test").await;
        let back = w.at_provider(&to, "alice-sub").await;
        w.h.clock.set(began + after);
        let res = w.get(&back).await;
        assert_eq!(
            res.status,
            status,
            "{after}: {}",
            String::from_utf8_lossy(&res.body)
        );
        if status == 400 {
            assert!(page_text(&res).contains("not under way"));
        }
    }
    w.h.clock.set(Utc::now());
}

async fn app_sign_in_trades_a_one_time_code_bound_to_its_challenge(db: Db) {
    let w = world(db, false, true).await;
    let challenge = s256(VERIFIER);
    let app_start = |state: &str| {
        format!(
            "email=alice%40acme.test&client=app&code_challenge={challenge}\
             &code_challenge_method=S256&redirect_uri={}&state={state}",
            urlencode(APP_REDIRECT)
        )
    };
    let code_of = |res: &Resp, state: &str| {
        assert_eq!(res.status, 303, "{}", String::from_utf8_lossy(&res.body));
        let to = url::Url::parse(&location(res)).unwrap();
        assert!(to.as_str().starts_with(APP_REDIRECT), "{to}");
        let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
        assert_eq!(q["state"], state);
        assert!(
            res.headers.get("set-cookie").is_none(),
            "no browser session"
        );
        q["code"].clone()
    };
    let token = |code: &str, verifier: Option<&str>| {
        let mut body = json!({"code": code});
        if let Some(v) = verifier {
            body["code_verifier"] = json!(v);
        }
        w.h.call("POST", "/api/v1/sso/token", None, Some(body))
    };

    // A wrong verifier: refused, and the code is used up.
    let to = w.start(&app_start("s1")).await;
    let code = code_of(&w.get(&w.at_provider(&to, "alice-sub").await).await, "s1");
    let wrong = "x".repeat(43);
    token(&code, Some(&wrong)).await.expect(401);
    token(&code, Some(VERIFIER)).await.expect(401);

    // Without its verifier: refused.
    let to = w.start(&app_start("s2")).await;
    let code = code_of(&w.get(&w.at_provider(&to, "alice-sub").await).await, "s2");
    let missing = token(&code, None).await;
    assert_eq!(
        missing.status,
        422,
        "{}",
        String::from_utf8_lossy(&missing.body)
    );

    // With it: the normal session, once.
    let to = w.start(&app_start("s3")).await;
    let code = code_of(&w.get(&w.at_provider(&to, "alice-sub").await).await, "s3");
    let session = token(&code, Some(VERIFIER)).await;
    session.expect(200);
    let bearer = session.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(session.json()["me"]["user"]["id"], json!(w.team.alice.id));
    w.h.get("/api/v1/me", &bearer).await.expect(200);
    let replay = token(&code, Some(VERIFIER)).await;
    replay.expect(401);

    // An expired code.
    let to = w.start(&app_start("s4")).await;
    let code = code_of(&w.get(&w.at_provider(&to, "alice-sub").await).await, "s4");
    w.h.clock.set(w.h.app.now() + TimeDelta::seconds(61));
    token(&code, Some(VERIFIER)).await.expect(401);
    w.h.clock.set(Utc::now());

    // The app's parameters are checked before anyone is sent anywhere.
    for bad in [
        format!(
            "email=alice%40acme.test&client=app&redirect_uri={}",
            urlencode(APP_REDIRECT)
        ),
        format!(
            "email=alice%40acme.test&client=app&code_challenge={challenge}\
             &redirect_uri={}",
            urlencode("https://evil.test/steal")
        ),
        format!(
            "email=alice%40acme.test&client=app&code_challenge={challenge}\
             &redirect_uri={}",
            urlencode("http://localhost:5000/x")
        ),
        format!(
            "email=alice%40acme.test&client=app&code_challenge={challenge}\
             &code_challenge_method=plain&redirect_uri={}",
            urlencode(APP_REDIRECT)
        ),
    ] {
        let res = w.get(&format!("/api/v1/sso/start?{bad}")).await;
        assert_eq!(res.status, 422, "{bad}");
        page_text(&res);
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn new_people_join_only_with_auto_join(db: Db) {
    let w = world(db, false, true).await;
    let before = w.users().await;
    let to = w.start("email=carol%40acme.test").await;
    let res = w.get(&w.at_provider(&to, "carol-sub").await).await;
    assert_eq!(res.status, 403);
    assert!(page_text(&res).contains("ask an admin for an invitation"));
    assert!(res.headers.get("set-cookie").is_none());
    assert_eq!(w.users().await, before, "nothing made");

    w.configure(true, true).await.expect(200);
    let to = w.start("email=carol%40acme.test").await;
    let res = w.get(&w.at_provider(&to, "carol-sub").await).await;
    assert_eq!(res.status, 303, "{}", String::from_utf8_lossy(&res.body));
    let me = me_with_cookie(&w, &session_cookie(&res).unwrap()).await;
    assert_eq!(me["user"]["email"], "carol@acme.test");
    assert_eq!(me["user"]["role"], "member");
    assert_eq!(me["user"]["workspace_id"], json!(w.team.ws));
    assert_eq!(w.users().await, before + 1);
}

async fn with_passwords_off_members_are_refused_and_the_owner_is_not(db: Db) {
    let w = world(db, false, true).await;
    password_login(&w.h, &w.team.alice.email).await.expect(200);
    w.configure(false, false).await.expect(200);
    let refused = password_login(&w.h, &w.team.alice.email).await;
    refused.expect(403);
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("identity provider")
    );
    password_login(&w.h, &w.team.admin.email).await.expect(403);
    password_login(&w.h, &w.team.owner.email).await.expect(200);
    // The browser's password sign-in follows the same rule.
    let web = |email: &str| {
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/web/login")
            .header("host", "127.0.0.1:9")
            .header("origin", SERVICE)
            .header("x-shotclock", "1")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"email": email, "password": PASSWORD}).to_string(),
            ))
            .unwrap();
        w.h.send(req)
    };
    web(&w.team.alice.email).await.expect(403);
    web(&w.team.owner.email).await.expect(200);
    // Through single sign-on the member still gets in.
    let to = w.start("email=alice%40acme.test").await;
    let res = w.get(&w.at_provider(&to, "alice-sub").await).await;
    assert_eq!(res.status, 303);
}

async fn each_refusal_says_why_and_creates_nothing(db: Db) {
    let w = world(db, true, true).await;
    // A member of another workspace with an address of this one's domain.
    let elsewhere = w.h.team("elsewhere").await;
    w.h.store
        .add_user(
            elsewhere.ws,
            NewUser {
                id: UserId::new(),
                email: "dave@acme.test".into(),
                name: "Dave".into(),
                password_hash: common::shared_hash().await,
                role: Role::Member,
            },
            w.h.app.now(),
        )
        .await
        .unwrap();
    let before = w.users().await;

    // A state this service never sent.
    let res = w.get("/api/v1/sso/callback?code=abc&state=made-up").await;
    assert_eq!(res.status, 400);
    assert!(page_text(&res).contains("not under way"));

    // A provider's refusal is shown, and uses the state up.
    let to = w.start("email=alice%40acme.test").await;
    let state = url::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let res = w
        .get(&format!(
            "/api/v1/sso/callback?error=access_denied&error_description=no&state={state}"
        ))
        .await;
    assert_eq!(res.status, 400);
    assert!(page_text(&res).contains("access_denied"));

    // A replayed authorization code, with a fresh state of its own.
    let to = w.start("email=alice%40acme.test").await;
    let first = w.at_provider(&to, "alice-sub").await;
    assert_eq!(w.get(&first).await.status, 303);
    let used_code = url::Url::parse(&format!("{SERVICE}{first}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let to = w.start("email=alice%40acme.test").await;
    let fresh_state = url::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let res = w
        .get(&format!(
            "/api/v1/sso/callback?code={used_code}&state={fresh_state}"
        ))
        .await;
    assert_eq!(res.status, 502, "{}", String::from_utf8_lossy(&res.body));
    assert!(page_text(&res).contains("did not accept the sign-in's code"));
    assert!(linked(&w, "alice-sub").await);

    // People the rules refuse.
    for (email, login, words) in [
        ("bob%40acme.test", "bob-sub", "verified"),
        ("alice%40acme.test", "eve-sub", "not in a domain"),
        ("dave%40acme.test", "dave-sub", "another workspace"),
        // A provider (any admin sets one up) that vouches for the owner's email.
        (
            "owner%40acme.test",
            "owner-sub",
            "owner signs in with their password",
        ),
    ] {
        let to = w.start(&format!("email={email}")).await;
        let res = w.get(&w.at_provider(&to, login).await).await;
        assert_eq!(res.status, 403, "{login}");
        assert!(page_text(&res).contains(words), "{login}");
        assert!(res.headers.get("set-cookie").is_none());
    }
    // A domain no workspace claims.
    let res = w.get("/api/v1/sso/start?email=eve%40elsewhere.test").await;
    assert_eq!(res.status, 404);
    page_text(&res);

    assert_eq!(w.users().await, before, "nobody made");
    for sub in ["bob-sub", "eve-sub", "dave-sub", "owner-sub"] {
        assert!(!linked(&w, sub).await, "{sub} linked");
    }
}

async fn linked(w: &World, sub: &'static str) -> bool {
    let (ws, issuer) = (w.team.ws, w.idp.issuer());
    w.h.raw(move |rows| rows.sso_identity(ws, &issuer, sub))
        .await
        .is_some()
}

async fn keys_rotated_at_the_provider_are_fetched_again(db: Db) {
    let mut w = world(db, false, true).await;
    let to = w.start("email=alice%40acme.test").await;
    assert_eq!(
        w.get(&w.at_provider(&to, "alice-sub").await).await.status,
        303
    );
    // New keys at the same issuer; the service still has the old ones cached.
    w.idp.restart(&Keys::generate("k2"), accounts());
    let to = w.start("email=alice%40acme.test").await;
    let res = w.get(&w.at_provider(&to, "alice-sub").await).await;
    assert_eq!(res.status, 303, "{}", String::from_utf8_lossy(&res.body));
    // An account disabled at the provider cannot sign in again.
    w.idp.restart(
        &Keys::generate("k3"),
        accounts()
            .into_iter()
            .filter(|a| a.sub != "alice-sub")
            .collect(),
    );
    let to = w.start("email=alice%40acme.test").await;
    match sign_in(&to, "alice-sub").await {
        Outcome::Error(_) => {}
        Outcome::Redirect(back) => {
            let path = format!("{}?{}", back.path(), back.query().unwrap_or_default());
            let res = w.get(&path).await;
            assert_ne!(res.status, 303, "a disabled account signed in");
        }
    }
}

async fn an_admin_unlinks_and_passwords_and_domains_are_free_again(db: Db) {
    let w = world(db, false, false).await;
    password_login(&w.h, &w.team.alice.email).await.expect(403);
    // A sign-in begun before the unlink cannot finish after it.
    let begun = w.start("email=alice%40acme.test").await;
    let back = w.at_provider(&begun, "alice-sub").await;
    // The desktop app's one-time code, issued before the unlink.
    let to = w
        .start(&format!(
            "email=alice%40acme.test&client=app&code_challenge={}\
             &code_challenge_method=S256&redirect_uri={}&state=u1",
            s256(VERIFIER),
            urlencode(APP_REDIRECT)
        ))
        .await;
    let res = w.get(&w.at_provider(&to, "alice-sub").await).await;
    assert_eq!(res.status, 303, "{}", String::from_utf8_lossy(&res.body));
    let app_code = url::Url::parse(&location(&res))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    // Members may not unlink.
    w.h.call(
        "DELETE",
        "/api/v1/workspace/sso",
        Some(&w.team.alice.token),
        None,
    )
    .await
    .expect(403);
    password_login(&w.h, &w.team.alice.email).await.expect(403);

    w.h.call(
        "DELETE",
        "/api/v1/workspace/sso",
        Some(&w.team.admin.token),
        None,
    )
    .await
    .expect(204);
    let read = w.h.get("/api/v1/workspace/sso", &w.team.admin.token).await;
    read.expect(200);
    let v = read.json();
    assert_eq!(v["enabled"], false);
    assert_eq!(v["issuer"], "");
    assert_eq!(v["client_secret_set"], false);
    assert_eq!(v["password_sign_in"], true);
    // Passwords work again; single sign-on does not.
    password_login(&w.h, &w.team.alice.email).await.expect(200);
    let late = w.get(&back).await;
    assert_eq!(late.status, 400);
    assert!(
        page_text(&late).contains("not under way"),
        "the sign-in under way is gone"
    );
    let body = json!({"code": app_code, "code_verifier": VERIFIER});
    w.h.call("POST", "/api/v1/sso/token", None, Some(body))
        .await
        .expect(401);
    let res = w.get("/api/v1/sso/start?email=alice%40acme.test").await;
    assert_eq!(res.status, 404);
    // Unlinking again changes nothing.
    w.h.call(
        "DELETE",
        "/api/v1/workspace/sso",
        Some(&w.team.owner.token),
        None,
    )
    .await
    .expect(204);
    // The domain is free for another workspace.
    let other = w.h.team("other").await;
    let res =
        w.h.call(
            "PUT",
            "/api/v1/workspace/sso",
            Some(&other.admin.token),
            Some(json!({
                "issuer": w.idp.issuer(), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "allowed_domains": ["acme.test"], "auto_join": false, "password_sign_in": true,
            })),
        )
        .await;
    res.expect(200);
}

common::both_backends!(
    web_sign_in_links_by_verified_email_then_by_subject,
    a_web_sign_in_finishes_only_in_the_browser_that_started_it,
    a_sign_in_under_way_is_kept_ten_minutes_to_the_millisecond,
    app_sign_in_trades_a_one_time_code_bound_to_its_challenge,
    each_refusal_says_why_and_creates_nothing,
    an_admin_unlinks_and_passwords_and_domains_are_free_again,
);

#[tokio::test]
async fn new_people_join_only_with_auto_join_on() {
    new_people_join_only_with_auto_join(Db::Sqlite).await;
}

#[tokio::test]
async fn with_passwords_off_members_are_refused_and_the_owner_is_not_sqlite() {
    with_passwords_off_members_are_refused_and_the_owner_is_not(Db::Sqlite).await;
}

#[tokio::test]
async fn keys_rotated_at_the_provider_are_fetched_again_and_disabled_people_stay_out() {
    keys_rotated_at_the_provider_are_fetched_again(Db::Sqlite).await;
}

#[test]
fn the_id_token_check_refuses_what_a_provider_should_never_send() {
    use openidconnect::core::{
        CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
        CoreRsaPrivateSigningKey,
    };
    use openidconnect::{
        Audience, ClientId, EmptyAdditionalClaims, EndUserEmail, IssuerUrl, JsonWebKeyId, Nonce,
        StandardClaims, SubjectIdentifier,
    };
    let keys = Keys::generate("t1");
    let jwks: CoreJsonWebKeySet = serde_json::from_value(keys.public_jwks.clone()).unwrap();
    let signer = |k: &Keys| {
        CoreRsaPrivateSigningKey::from_pem(&k.private_pem, Some(JsonWebKeyId::new(k.kid.clone())))
            .unwrap()
    };
    let ours = signer(&keys);
    let strangers = signer(&Keys::generate("t2"));
    let issuer = IssuerUrl::new("https://idp.example".into()).unwrap();
    let client = ClientId::new("shotclock".into());
    let now = Utc::now();
    let token = |iss: &str,
                 aud: &str,
                 nonce: &str,
                 iat: chrono::DateTime<Utc>,
                 exp: chrono::DateTime<Utc>,
                 key: &CoreRsaPrivateSigningKey| {
        let claims = CoreIdTokenClaims::new(
            IssuerUrl::new(iss.into()).unwrap(),
            vec![Audience::new(aud.into())],
            exp,
            iat,
            StandardClaims::new(SubjectIdentifier::new("s-1".into()))
                .set_email(Some(EndUserEmail::new("Ann@Acme.test".into())))
                .set_email_verified(Some(true)),
            EmptyAdditionalClaims {},
        )
        .set_nonce(Some(Nonce::new(nonce.into())));
        CoreIdToken::new(
            claims,
            key,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )
        .unwrap()
    };
    let check = |t: &CoreIdToken| verify_id_token(t, &jwks, &issuer, &client, "n-1", now);
    let iss = "https://idp.example";
    let minute = TimeDelta::minutes(1);
    let fine = check(&token(
        iss,
        "shotclock",
        "n-1",
        now - minute,
        now + minute * 5,
        &ours,
    ))
    .unwrap();
    assert_eq!(fine.subject, "s-1");
    assert_eq!(fine.email.as_deref(), Some("ann@acme.test"));
    assert!(fine.email_verified);
    // A little clock difference is allowed both ways.
    check(&token(
        iss,
        "shotclock",
        "n-1",
        now + TimeDelta::seconds(30),
        now - TimeDelta::seconds(30),
        &ours,
    ))
    .unwrap();
    let refused = [
        (
            "nonce mismatch",
            token(iss, "shotclock", "n-2", now, now + minute, &ours),
        ),
        (
            "expired",
            token(
                iss,
                "shotclock",
                "n-1",
                now - minute * 10,
                now - minute * 2,
                &ours,
            ),
        ),
        (
            "issued in the future",
            token(
                iss,
                "shotclock",
                "n-1",
                now + minute * 5,
                now + minute * 10,
                &ours,
            ),
        ),
        (
            "other issuer",
            token(
                "https://evil.example",
                "shotclock",
                "n-1",
                now,
                now + minute,
                &ours,
            ),
        ),
        (
            "other audience",
            token(iss, "someone-else", "n-1", now, now + minute, &ours),
        ),
    ];
    for (what, t) in &refused {
        match check(t) {
            Err(VerifyError::Invalid(_)) => {}
            other => panic!("{what}: {other:?}"),
        }
    }
    assert_eq!(
        check(&token(
            iss,
            "shotclock",
            "n-1",
            now,
            now + minute,
            &strangers
        )),
        Err(VerifyError::UnknownKey)
    );
}
