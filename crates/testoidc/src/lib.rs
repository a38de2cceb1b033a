//! Test support: a real OpenID provider — the certified npm `oidc-provider` (v9) run by Node —
//! with its development login page, for the service's single sign-on tests.
//!
//! [`Provider::start`] writes what the provider knows (its confidential clients, the accounts
//! given by the test with `sub`, `email` and `email_verified`, and a signing key set given by
//! the test) to a JSON file and runs `tests/oidc/provider.mjs` on a free port of 127.0.0.1.
//! Readiness: the discovery document is polled until it answers 200, within a deadline (no
//! sleep for readiness); the provider's log is shown when it fails or exits.
//! [`Provider::restart`] stops it and starts it again on the same port (so the same issuer)
//! with a new key set and accounts: a key rotation, or an account disabled at the provider.
//!
//! [`sign_in`] plays the person at the login page: it follows the authorization URL, posts the
//! login form (any password; the login names the account) and answers the redirect back to
//! the client — the code and state — without following it. Cookies are carried by hand.
//!
//! Finding the provider: `node` on `PATH` and `node_modules/oidc-provider` at the repository
//! root (a development dependency of the root `package.json`, installed by `npm ci`, which
//! `cargo xtask test` runs). A missing one is a failure that says what to install, never a
//! skipped test. [`Keys::generate`] makes an RSA key with Node's crypto.

// Only tests use this crate, and whatever fails in it must fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long the provider may take to answer its discovery document.
const READY_DEADLINE: Duration = Duration::from_secs(30);

/// A person at the provider.
#[derive(Debug, Clone)]
pub struct Account {
    /// The subject (also what is typed as the login).
    pub sub: String,
    /// Email address.
    pub email: String,
    /// Whether the provider vouches for the email.
    pub email_verified: bool,
}

impl Account {
    /// A person with a verified email.
    #[must_use]
    pub fn verified(sub: &str, email: &str) -> Self {
        Self {
            sub: sub.into(),
            email: email.into(),
            email_verified: true,
        }
    }
}

/// A confidential client registered at the provider.
#[derive(Debug, Clone)]
pub struct Client {
    /// Client id.
    pub id: String,
    /// Client secret.
    pub secret: String,
    /// Where the provider may send the person back.
    pub redirect_uris: Vec<String>,
}

/// A signing key set: one RSA key (RS256) with its id.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The key's id (`kid`).
    pub kid: String,
    /// The private key as a JWK.
    pub private_jwk: Value,
    /// The private key in PKCS#1 PEM (for tests that sign tokens themselves).
    pub private_pem: String,
    /// The public half as a JWK set, as a provider's `jwks_uri` serves it.
    pub public_jwks: Value,
}

impl Keys {
    /// A fresh 2048-bit RSA key with this id, made by Node's crypto.
    #[must_use]
    pub fn generate(kid: &str) -> Self {
        let script = r#"
const { generateKeyPairSync } = require('node:crypto');
const k = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = process.argv[1];
const priv = { ...k.privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
const pub = { ...k.publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
process.stdout.write(JSON.stringify({
  priv, pub, pem: k.privateKey.export({ format: 'pem', type: 'pkcs1' }),
}));
"#;
        let out = Command::new(node())
            .args(["-e", script, kid])
            .output()
            .unwrap_or_else(|e| panic!("running node: {e}"));
        assert!(
            out.status.success(),
            "node could not make a key: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        Self {
            kid: kid.into(),
            private_jwk: v["priv"].clone(),
            private_pem: v["pem"].as_str().unwrap().to_owned(),
            public_jwks: json!({ "keys": [v["pub"].clone()] }),
        }
    }
}

/// A running provider; stopped when dropped.
#[derive(Debug)]
pub struct Provider {
    port: u16,
    dir: tempfile::TempDir,
    clients: Vec<Client>,
    accounts: Vec<Account>,
    child: Option<Child>,
    runs: u32,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn node() -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("node"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "`node` was not found on PATH. The single sign-on tests run a real OpenID \
             provider (npm oidc-provider) on Node.js 20 or newer: install Node.js with npm, \
             then run `cargo xtask test` (or `npm ci` at the repository root)."
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

impl Provider {
    /// Starts a provider with these clients, accounts and keys.
    #[must_use]
    pub fn start(clients: Vec<Client>, accounts: Vec<Account>, keys: &Keys) -> Self {
        let package = root().join("node_modules/oidc-provider/package.json");
        assert!(
            package.is_file(),
            "npm `oidc-provider` is not installed ({} is missing). It is a development \
             dependency of the repository's package.json: run `cargo xtask test`, or `npm ci` \
             at the repository root.",
            package.display()
        );
        let mut dir = tempfile::Builder::new()
            .prefix("shotclock-oidc-")
            .tempdir()
            .unwrap();
        let mut failures = String::new();
        // A free port can be taken by someone else before the provider binds it: try a few.
        for _ in 0..3 {
            let mut provider = Self {
                port: free_port(),
                dir,
                clients: clients.clone(),
                accounts: accounts.clone(),
                child: None,
                runs: 0,
            };
            match provider.run(keys) {
                Ok(()) => return provider,
                Err(why) => {
                    failures.push_str(&why);
                    dir = provider.take_dir();
                }
            }
        }
        panic!("the OpenID provider did not start:\n{failures}")
    }

    fn take_dir(mut self) -> tempfile::TempDir {
        self.stop();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// The issuer, `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the provider and starts it again on the same port (the same issuer) with `keys`
    /// and `accounts`: what it held in memory (sessions, codes) is gone.
    pub fn restart(&mut self, keys: &Keys, accounts: Vec<Account>) {
        self.stop();
        self.accounts = accounts;
        if let Err(why) = self.run(keys) {
            panic!("the OpenID provider did not start again:\n{why}");
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn run(&mut self, keys: &Keys) -> Result<(), String> {
        self.runs += 1;
        let config = json!({
            "issuer": self.issuer(),
            "port": self.port,
            "clients": self.clients.iter().map(|c| json!({
                "client_id": c.id,
                "client_secret": c.secret,
                "redirect_uris": c.redirect_uris,
            })).collect::<Vec<_>>(),
            "accounts": self.accounts.iter().map(|a| json!({
                "sub": a.sub,
                "email": a.email,
                "email_verified": a.email_verified,
            })).collect::<Vec<_>>(),
            "jwks": { "keys": [keys.private_jwk] },
        });
        let config_path = self.dir.path().join(format!("config-{}.json", self.runs));
        std::fs::write(&config_path, config.to_string()).unwrap();
        let log_path = self.dir.path().join(format!("provider-{}.log", self.runs));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(node())
            .arg(root().join("tests/oidc/provider.mjs"))
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting node: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!(
                    "the provider exited ({status}):\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                ));
            }
            if discovery_status(self.port) == Some(200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!(
                    "no discovery document within {READY_DEADLINE:?}:\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The status of `GET /.well-known/openid-configuration`, if anything answers.
fn discovery_status(port: u16) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let head = format!(
        "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    String::from_utf8_lossy(&response)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
}

/// Where a sign-in at the provider ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The provider sent the person back to the client: the full redirect URL.
    Redirect(url::Url),
    /// The provider showed an error page (its text).
    Error(String),
}

impl Outcome {
    /// The redirect, or a failure with the provider's error.
    #[must_use]
    pub fn redirect(self) -> url::Url {
        match self {
            Outcome::Redirect(u) => u,
            Outcome::Error(e) => panic!("the provider refused the sign-in: {e}"),
        }
    }
}

/// Signs `login` in at the provider through its development login page, starting from the
/// authorization URL the client made; answers where the provider sends the person back (not
/// followed). Any redirect off the provider ends the walk.
pub async fn sign_in(authorization_url: &str, login: &str) -> Outcome {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = url::Url::parse(authorization_url).unwrap();
    let provider_origin = start.origin();
    let mut jar: BTreeMap<String, String> = BTreeMap::new();
    let mut next = start;
    let mut form: Option<Vec<(&str, String)>> = None;
    for _ in 0..20 {
        let cookie = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = match form.take() {
            Some(fields) => {
                let body: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields)
                    .finish();
                http.post(next.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
            }
            None => http.get(next.clone()),
        };
        let res = req.header("cookie", cookie).send().await.unwrap();
        for set in res.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() {
                    jar.remove(k.trim());
                } else {
                    jar.insert(k.trim().to_owned(), v.to_owned());
                }
            }
        }
        let status = res.status();
        if status.is_redirection() {
            let location = res.headers()["location"].to_str().unwrap().to_owned();
            let target = next.join(&location).unwrap();
            if target.origin() != provider_origin {
                return Outcome::Redirect(target);
            }
            next = target;
            continue;
        }
        let body = res.text().await.unwrap();
        if status.is_success() && body.contains("name=\"prompt\" value=\"login\"") {
            // The login form posts to the page it is on.
            form = Some(vec![
                ("prompt", "login".into()),
                ("login", login.into()),
                ("password", "any password".into()),
            ]);
            continue;
        }
        return Outcome::Error(format!("{status}: {body}"));
    }
    panic!("the provider's pages went round in circles")
}
