//! Fills a fresh demo workspace through the service's HTTP API, as the people themselves would:
//! every person's planned entries ([`super::plan`]) are replayed — timer started at the entry's
//! past start, the screenshots of its capture moments uploaded, timer stopped at its past end.
//!
//! The service's CLI created the workspace with its history beginning before the oldest seeded
//! day and turned capture on (the 7-day trial started) at that instant: the service accepts a
//! screenshot only when capture was on at its capture moment. The workspace stays on the free
//! plan with its trial running. Each person is replayed concurrently; their thumbnails are
//! rendered on the blocking pool one entry ahead of the uploads.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{Local, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shotclock_capture::Pipeline;
use shotclock_domain::schedule::CaptureWindow;
use shotclock_sync::api::{EntryId, ScreenshotId};
use shotclock_sync::{Bytes, Client, ScreenshotUpload};
use tokio::task::JoinHandle;

use super::thumbs::{self, Scene};
use super::{PASSWORD, PAST_DAYS, PEOPLE, PlannedEntry, plan};

/// What was seeded.
#[derive(Debug, Default)]
pub struct Seeded {
    pub entries: usize,
    pub screenshots: usize,
    /// Total WebP bytes uploaded.
    pub bytes: usize,
    pub took: Duration,
}

/// Seeds the workspace of the service at `url` (fresh: created by the CLI, nothing else yet).
pub async fn seed(url: &str) -> Result<Seeded> {
    let started = Instant::now();
    let client = Client::new(url)?;
    let mut sessions = Vec::new();
    for person in &PEOPLE {
        let session = client
            .login(person.email, PASSWORD, None)
            .await
            .with_context(|| format!("signing in as {}", person.email))?;
        sessions.push(client.with_token(&session.token));
    }
    let Some(owner) = PEOPLE.iter().position(|p| p.owner) else {
        bail!("the demo has no owner");
    };
    let admin = &sessions[owner];
    // The CLI started the trial and turned capture on, back when the history begins.
    let ws = admin.workspace().await.context("reading the workspace")?;
    if !ws.capture_allowed {
        bail!("the service does not allow capture with the trial running: {ws:?}");
    }
    let window = CaptureWindow::from_secs(ws.capture_window_secs)?;
    // The service's clock decides what is "past"; ours may be off a little.
    let now = client.health().await?.server_time.unwrap_or_else(Utc::now);
    let seed = rand::rng().random();
    let entries = plan(
        now,
        &Local,
        PEOPLE.len(),
        PEOPLE.iter().map(|p| p.tasks.len()).min().unwrap_or(1),
        PAST_DAYS,
        window,
        &mut StdRng::seed_from_u64(seed),
    )?;

    let mut people: Vec<JoinHandle<Result<Seeded>>> = Vec::new();
    for (index, session) in sessions.into_iter().enumerate() {
        let mine: Vec<PlannedEntry> = entries
            .iter()
            .filter(|e| e.person == index)
            .cloned()
            .collect();
        people.push(tokio::spawn(replay(session, index, mine, seed)));
    }
    let mut total = Seeded::default();
    for (person, task) in PEOPLE.iter().zip(people) {
        let done = task
            .await
            .context("a seeding task failed")?
            .with_context(|| format!("seeding the days of {}", person.email))?;
        total.entries += done.entries;
        total.screenshots += done.screenshots;
        total.bytes += done.bytes;
    }
    total.took = started.elapsed();
    Ok(total)
}

/// One person's entries, oldest first: start, uploads, stop.
async fn replay(
    client: Client,
    person: usize,
    entries: Vec<PlannedEntry>,
    seed: u64,
) -> Result<Seeded> {
    let monitors = PEOPLE[person].monitors;
    let render = |pipeline: Pipeline, e: &PlannedEntry, n: usize| {
        let scene = Scene::of(person, e.task);
        let entry_seed = seed ^ ((person as u64) << 56) ^ ((n as u64) << 32);
        let shots = u32::try_from(e.shots.len()).unwrap_or(u32::MAX);
        tokio::task::spawn_blocking(move || {
            let mut pipeline = pipeline;
            let webps: Result<Vec<Vec<u8>>, _> = (0..shots)
                .map(|shot| thumbs::render(&mut pipeline, monitors, scene, entry_seed, shot))
                .collect();
            (pipeline, webps)
        })
    };
    let mut done = Seeded::default();
    let mut next = entries.first().map(|e| render(Pipeline::default(), e, 0));
    for (n, entry) in entries.iter().enumerate() {
        let Some(rendering) = next.take() else {
            break;
        };
        let (pipeline, webps) = rendering.await?;
        let webps = webps.context("rendering a screenshot")?;
        // Render the next entry's screenshots while these upload.
        next = entries.get(n + 1).map(|e| render(pipeline, e, n + 1));

        let id = EntryId::new();
        let description = PEOPLE[person].tasks[entry.task % PEOPLE[person].tasks.len()];
        client
            .start_timer(id, description, Some(entry.start))
            .await
            .context("starting a timer in the past")?;
        for (at, webp) in entry.shots.iter().zip(webps) {
            done.bytes += webp.len();
            client
                .upload_screenshot(&ScreenshotUpload {
                    id: ScreenshotId::new(),
                    entry_id: id,
                    captured_at: *at,
                    bytes: Bytes::from(webp),
                })
                .await
                .with_context(|| format!("uploading the screenshot taken at {at}"))?;
            done.screenshots += 1;
        }
        client
            .stop_timer(Some(id), Some(entry.end))
            .await
            .context("stopping the timer")?;
        done.entries += 1;
    }
    client.logout().await?;
    Ok(done)
}
