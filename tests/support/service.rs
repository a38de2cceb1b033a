//! The real workspace service for system tests, in this process on a real `127.0.0.1` port.
//!
//! [`Service`] is `shotclock-testkit`'s server (`shotclock-server`, the library the binary runs,
//! in a runtime of its own on a thread of its own) with a short capture window so the app under
//! test takes screenshots within seconds. [`Team`] is a workspace on plan `enterprise` with an
//! owner and two members, seeded through the service's store (there is no sign-up in the API)
//! and configured through the API as its owner. Everything else a test needs from the service it
//! does through the typed HTTP client ([`shotclock_sync::Client`]), as a real user would.

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, FixedOffset, NaiveDate, Offset, SubsecRound, TimeDelta, Timelike, Utc};
use shotclock_api::dto::{Entry, Screenshot};
use shotclock_api::{EntryId, Role, ScreenshotId};
use shotclock_capture::{Pipeline, synthetic};
use shotclock_sync::{Bytes, Client, ScreenshotUpload};
use shotclock_testkit::TestServer;
use std::sync::OnceLock;

use shotclock_testoidc::{Account, Client as OidcClient, Keys, Provider};

// Every seeded user's password, and a seeded user.
pub use shotclock_testkit::{PASSWORD, Person};

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

impl Zone {
    /// `instant` as a wall-clock time in this zone.
    pub fn local(&self, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
        let offset = FixedOffset::east_opt(self.ahead_secs).unwrap_or(Utc.fix());
        instant.with_timezone(&offset)
    }

    /// The wall-clock time of `at` in this zone, `HH:MM:SS` (as the app's forms take it).
    pub fn clock(&self, at: DateTime<Utc>) -> String {
        self.local(at).format("%H:%M:%S").to_string()
    }
}

/// A running service; stopped (every connection dropped) when dropped. What fails in starting
/// or seeding it panics (the kit's way); its methods return `Result` for the tests' `?`.
pub struct Service(TestServer);

impl Service {
    /// Starts the service on a free port with its own data directory.
    pub fn start() -> Result<Self> {
        Self::with_window(WINDOW_SECS)
    }

    /// Starts the service with a capture window of `secs` seconds (the product's 300 for a
    /// test of a normal working day, when captures are not what is measured).
    pub fn with_window(secs: u32) -> Result<Self> {
        Ok(Self(TestServer::with_window(secs)))
    }

    /// The address the app signs in to.
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// Stops the service (every connection dropped), as a network outage would.
    pub fn stop(&mut self) {
        self.0.stop();
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.0.restart();
    }

    /// How many `method` requests to `route` (a route template, e.g.
    /// `/api/v1/screenshots/{id}`) the service answered with a 2xx since it last started, from
    /// its own request counters (`GET /metrics`).
    pub fn successes(&self, method: &str, route: &str) -> u64 {
        let series = format!(
            "shotclock_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"2"
        );
        self.0
            .app()
            .metrics_text()
            .lines()
            .filter(|line| line.starts_with(&series))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// Moves the service's clock forward (`by` past now), as time passing would.
    pub fn shift_clock(&self, by: TimeDelta) {
        self.0.clock.shift(by);
    }

    /// `who`, signed in through the API.
    pub async fn sign_in(&self, who: &Person) -> Result<Client> {
        Ok(self.0.sign_in(who).await)
    }

    /// A workspace `name` on plan `enterprise` with its owner `olga` and the members `ana` and
    /// `ben`; its owner turned "Activate screenshot capturing" on (R4) when `screenshots` says so.
    pub async fn team(&self, name: &str, screenshots: bool) -> Result<Team> {
        let members = [("ana", Role::Member), ("ben", Role::Member)];
        // Capture on since the retention period ago: the tests record past entries with their
        // screenshots, and the service judges each by the gate at its capture moment.
        let seeded = self
            .0
            .enterprise_team(name, "olga", &members, screenshots)
            .await;
        let [owner, ana, ben] = <[Person; 3]>::try_from(seeded.people)
            .map_err(|_| anyhow!("the team should have three people"))?;
        Ok(Team { owner, ana, ben })
    }
}

/// The owner (an admin) and two members.
#[derive(Debug, Clone)]
pub struct Team {
    pub owner: Person,
    pub ana: Person,
    pub ben: Person,
}

impl Team {
    /// The email domain of the team's people.
    pub fn domain(&self) -> Result<String> {
        self.ana
            .email
            .split('@')
            .nth(1)
            .map(str::to_owned)
            .context("a seeded email has a domain")
    }
}

/// The client id the test identity provider registers for the service.
pub const SSO_CLIENT_ID: &str = "shotclock";
/// The client secret that goes with it.
pub const SSO_SECRET: &str = "a-client-secret-0123456789-abcdef";

impl Service {
    /// The service's one single sign-on callback URL (R31).
    pub fn sso_callback(&self) -> String {
        format!("{}/api/v1/sso/callback", self.url())
    }

    /// A real OpenID provider (npm `oidc-provider`) on loopback, with this service registered
    /// as its confidential client and `team`'s `ana` as a verified account.
    pub fn identity_provider(&self, team: &Team) -> Provider {
        Provider::start(
            vec![OidcClient {
                id: SSO_CLIENT_ID.into(),
                secret: SSO_SECRET.into(),
                redirect_uris: vec![self.sso_callback()],
            }],
            vec![Account::verified("ana-at-idp", &team.ana.email)],
            &Keys::generate("k1"),
        )
    }
}

/// An admin links the workspace to `idp` through the API: the team's domain allowed, nobody
/// joins on their own, and only the owner keeps a password (R31).
pub async fn link_provider(admin: &Client, team: &Team, idp: &Provider) -> Result<()> {
    let update = shotclock_api::sso::SsoSettingsUpdate {
        issuer: idp.issuer(),
        client_id: SSO_CLIENT_ID.into(),
        client_secret: Some(SSO_SECRET.into()),
        allowed_domains: vec![team.domain()?],
        auto_join: false,
        password_sign_in: false,
    };
    admin
        .set_sso_settings(&update)
        .await
        .map_err(|e| anyhow!("saving the single sign-on settings: {e}"))?;
    Ok(())
}

/// An admin turns "Activate screenshot capturing" on or off through the API.
pub async fn set_screenshots(admin: &Client, on: bool) -> Result<()> {
    let settings = shotclock_testkit::set_screenshots(admin, on).await;
    if settings.capture_allowed != on {
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
