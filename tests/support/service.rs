//! The real workspace service for system tests, in this process on a real `127.0.0.1` port.
//!
//! [`Service`] runs `shotclock-server` (the library the binary runs) in a runtime of its own on a
//! thread of its own, with a short capture window so the app under test takes screenshots within
//! seconds. [`Team`] is a workspace on plan `enterprise` with an owner and two members, seeded
//! through the service's store (there is no sign-up in the API) and configured through the API
//! as its owner. Everything else a test needs from the service it does through the typed HTTP
//! client ([`shotclock_sync::Client`]), as a real user would.

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, FixedOffset, NaiveDate, SubsecRound, TimeDelta, Timelike, Utc};
use shotclock_api::dto::{Entry, Screenshot, UpdateSettingsRequest};
use shotclock_api::{EntryId, Plan, Role, ScreenshotId, UserId, WorkspaceId};
use shotclock_capture::{Pipeline, synthetic};
use shotclock_server::store::NewUser;
use shotclock_server::{App, Config};
use shotclock_sync::{Bytes, Client, ScreenshotUpload};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::oneshot;

/// Every seeded user's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// The capture window the service publishes (R9; the product default is 300 s): short, so a
/// running timer yields a screenshot within seconds.
pub const WINDOW_SECS: u32 = 4;

/// The time zone the app is started in (`TZ`) and the service is asked about, so the app's
/// "today" and the test's are the same day: UTC, or UTC+12 when UTC midnight is less than an
/// hour away, so that no test straddles two days. Chosen once per run.
pub fn time_zone() -> Zone {
    static ZONE: OnceLock<Zone> = OnceLock::new();
    *ZONE.get_or_init(|| {
        let hour = Utc::now().hour();
        if hour == 23 || hour == 0 {
            // POSIX sign: "Etc/GMT-12" is twelve hours ahead of UTC.
            Zone {
                name: "Etc/GMT-12",
                ahead_secs: 12 * 3600,
            }
        } else {
            Zone {
                name: "UTC",
                ahead_secs: 0,
            }
        }
    })
}

/// An IANA zone with a fixed offset.
#[derive(Debug, Clone, Copy)]
pub struct Zone {
    pub name: &'static str,
    ahead_secs: i32,
}

/// A running service; stopped (every connection dropped) when dropped.
pub struct Service {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    app: App,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Service {
    /// Starts the service on a free port with its own data directory.
    pub fn start() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut config = Config::new(dir.path());
        config.capture_window_secs = WINDOW_SECS;
        // Retention and the sweeper are the service's own business, not these tests'.
        config.maintenance_every = Duration::from_secs(3600);
        let app = App::open(config).map_err(|e| anyhow!("opening the service: {e}"))?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let served = app.clone();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(anyhow!("service runtime: {e}")));
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow!("binding the service: {e}")));
                        return;
                    }
                };
                let _ = ready_tx.send(listener.local_addr().map_err(Into::into));
                tokio::select! {
                    _ = shotclock_server::serve(listener, served) => {}
                    _ = stop_rx => {}
                }
            });
            rt.shutdown_background();
        });
        let addr = ready_rx
            .recv_timeout(Duration::from_secs(60))
            .context("the service did not start within 60 s")??;
        Ok(Self {
            _dir: dir,
            addr,
            app,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address the app signs in to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An anonymous client.
    pub fn client(&self) -> Result<Client> {
        Ok(Client::new(self.url())?)
    }

    /// `who`, signed in through the API.
    pub async fn sign_in(&self, who: &Person) -> Result<Client> {
        let anon = self.client()?;
        let session = anon
            .login(&who.email, PASSWORD, None)
            .await
            .with_context(|| format!("signing {} in", who.email))?;
        Ok(anon.with_token(&session.token))
    }

    /// A workspace `name` on plan `enterprise` with its owner and the members `ana` and `ben`;
    /// its owner turned "Activate screenshot capturing" on (R4) when `screenshots` says so.
    pub async fn team(&self, name: &str, screenshots: bool) -> Result<Team> {
        let hash = shotclock_server::auth::hash_password(PASSWORD.into())
            .await
            .map_err(|e| anyhow!("hashing the password: {e}"))?;
        let ws = WorkspaceId::new();
        let now = self.app.now();
        let user = |who: &str, role: Role| NewUser {
            id: UserId::new(),
            email: format!("{who}@{name}.test"),
            name: capitalised(who),
            password_hash: hash.clone(),
            role,
        };
        let owner = user("olga", Role::Owner);
        let store = self.app.store();
        store
            .create_workspace(ws, name.into(), owner.clone(), now)
            .await?;
        let mut people = vec![Person::from(&owner)];
        for who in ["ana", "ben"] {
            let member = user(who, Role::Member);
            store.add_user(ws, member.clone(), now).await?;
            people.push(Person::from(&member));
        }
        store.set_plan(ws, Plan::Enterprise).await?;
        let [owner, ana, ben] = <[Person; 3]>::try_from(people)
            .map_err(|_| anyhow!("the team should have three people"))?;
        let team = Team { owner, ana, ben };
        if screenshots {
            let admin = self.sign_in(&team.owner).await?;
            set_screenshots(&admin, true).await?;
        }
        Ok(team)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A seeded user.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: UserId,
    pub email: String,
    pub name: String,
}

impl From<&NewUser> for Person {
    fn from(u: &NewUser) -> Self {
        Person {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
        }
    }
}

/// The owner (an admin) and two members.
#[derive(Debug, Clone)]
pub struct Team {
    pub owner: Person,
    pub ana: Person,
    pub ben: Person,
}

/// An admin turns "Activate screenshot capturing" on or off through the API.
pub async fn set_screenshots(admin: &Client, on: bool) -> Result<()> {
    let settings = admin
        .update_workspace(&UpdateSettingsRequest {
            screenshots_enabled: Some(on),
            ..UpdateSettingsRequest::default()
        })
        .await?;
    if settings.screenshots_enabled != on || settings.capture_allowed != on {
        bail!("the workspace did not take screenshots_enabled = {on}: {settings:?}");
    }
    Ok(())
}

/// A stopped entry made through the API the way a device would make it: timer started at
/// `start`, a screenshot uploaded at each of `shots`, timer stopped at `end`.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub entry: EntryId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// (id, capture instant), oldest first.
    pub shots: Vec<(ScreenshotId, DateTime<Utc>)>,
}

/// Whole seconds (the service keeps milliseconds): durations computed from these are exact.
pub fn now_secs() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// Records a stopped entry of `user` that started `span` seconds ago and ended a few seconds
/// ago, with screenshots at the given offsets (seconds after the start).
pub async fn record_entry(
    user: &Client,
    description: &str,
    span: i64,
    shot_offsets: &[i64],
) -> Result<Recorded> {
    let end = now_secs() - TimeDelta::seconds(5);
    let start = end - TimeDelta::seconds(span);
    let entry = EntryId::new();
    user.start_timer(entry, description, Some(start)).await?;
    let mut shots = Vec::new();
    for (i, offset) in shot_offsets.iter().enumerate() {
        if *offset <= 0 || *offset >= span {
            bail!("a screenshot at +{offset} s lies outside the entry of {span} s");
        }
        let id = ScreenshotId::new();
        let at = start + TimeDelta::seconds(*offset);
        user.upload_screenshot(&ScreenshotUpload {
            id,
            entry_id: entry,
            captured_at: at,
            bytes: thumbnail(i as u64 + 1)?,
        })
        .await
        .context("uploading a screenshot")?;
        shots.push((id, at));
    }
    user.stop_timer(Some(entry), Some(end)).await?;
    Ok(Recorded {
        entry,
        start,
        end,
        shots,
    })
}

/// A real thumbnail: a synthetic 1280×720 desktop through the product's capture pipeline
/// (downscale, blur, WebP).
pub fn thumbnail(seed: u64) -> Result<Bytes> {
    let frame = synthetic::desktop_frame(0, 0, 1280, 720, seed)?;
    let thumb = Pipeline::default().process(vec![frame])?;
    Ok(Bytes::from(thumb.webp))
}

/// Today in [`time_zone`].
pub fn today() -> NaiveDate {
    let zone = time_zone();
    match FixedOffset::east_opt(zone.ahead_secs) {
        Some(offset) => Utc::now().with_timezone(&offset).date_naive(),
        None => Utc::now().date_naive(),
    }
}

/// `user`'s screenshots today as the service lists them to `viewer`, oldest first.
pub async fn screenshots_today(viewer: &Client, user: &Person) -> Result<Vec<Screenshot>> {
    let mut list = viewer
        .screenshots_of_day(Some(user.id), today(), time_zone().name)
        .await?
        .screenshots;
    list.sort_by_key(|s| (s.captured_at, s.id));
    Ok(list)
}

/// The entry `id` of the viewer (or of `user`, for an admin), if the service still has it.
pub async fn entry(viewer: &Client, id: EntryId, user: Option<&Person>) -> Result<Option<Entry>> {
    let now = Utc::now();
    let list = viewer
        .entries(
            Some(now - TimeDelta::days(2)),
            Some(now + TimeDelta::days(1)),
            user.map(|p| p.id),
        )
        .await?;
    Ok(list.entries.into_iter().find(|e| e.id == id))
}
