//! `cargo bench -p shotclock-server --bench server` (harness = false): loopback, bounded.
//!
//! Every measurement runs on SQLite + a folder and on PostgreSQL + an S3-compatible bucket (the
//! real servers of `shotclock-testpg` — its cluster with the durable defaults, fsync on, like
//! the SQLite side — and `shotclock-tests3`, on this machine), in one run:
//!
//! 1. Upload throughput: 32 concurrent clients PUT ~6 KB WebP screenshots for a fixed time
//!    (every answer only after the image is durable and the row committed). Target ≥ 3,000
//!    uploads/s at p99 < 50 ms. On PostgreSQL + S3 with one replica and with two (the clients
//!    split between them), each with where the CPU time went (this process — the service and
//!    the clients —, PostgreSQL, the S3 server), how busy the machine was, and how busy the
//!    store's writers were (jobs per group commit, time per job inside a group, the share of
//!    the run they were busy and of that the share spent waiting for the write lock).
//! 2. Query latency on a seeded workspace (1,000 members × 7 days × 96 screenshots a day, rows
//!    seeded through the store in big transactions): per-member day counts (target p95 ≤ 5 ms)
//!    and one member's day list (target p95 ≤ 2 ms), each over HTTP. On PostgreSQL also a UTC
//!    day's counts read from the hourly table (as before the daily one) and from the daily
//!    table, with the ratio.
//!
//! `SHOTCLOCK_BENCH_MEMBERS=N` seeds N members instead of 1,000; `SHOTCLOCK_BENCH_ONLY=queries`
//! skips the uploads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::json;
use shotclock_api::{EntryId, Plan, Role, ScreenshotId, UserId, WorkspaceId};
use shotclock_domain::entry::EntryTimes;
use shotclock_server::store::{EntryRow, NewUser, ScreenshotRow, WriterReport};
use shotclock_server::{App, Config, serve};

const CLIENTS: usize = 32;
const UPLOAD_SECS: u64 = 5;
const MAX_UPLOADS: usize = 60_000;
const MEMBERS: usize = 1_000;
const DAYS: i64 = 7;
const PER_DAY: i64 = 96;
const QUERIES: usize = 300;

/// The seed's members (`SHOTCLOCK_BENCH_MEMBERS`, default 1,000), for a quicker run.
fn members() -> usize {
    std::env::var("SHOTCLOCK_BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 1)
        .unwrap_or(MEMBERS)
}

/// Whether to skip the upload measurements (`SHOTCLOCK_BENCH_ONLY=queries`).
fn queries_only() -> bool {
    std::env::var("SHOTCLOCK_BENCH_ONLY").is_ok_and(|v| v == "queries")
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// How busy the store's writers were: `writers` summed over `replicas` during `elapsed`.
fn writer_line(writers: &WriterReport, replicas: usize, elapsed: Duration) -> String {
    let (jobs, groups) = (writers.jobs.max(1) as f64, writers.groups.max(1) as f64);
    let busy = writers.busy.as_secs_f64();
    format!(
        "writer: {} jobs in {} groups ({:.1} a group), {:.2} ms a job inside its group, busy {:.0} % \
         of the run (each replica's writer on average), {:.0} % of it waiting for the write lock",
        writers.jobs,
        writers.groups,
        jobs / groups,
        busy * 1000.0 / jobs,
        100.0 * busy / (elapsed.as_secs_f64() * replicas as f64),
        100.0 * writers.waiting.as_secs_f64() / busy.max(f64::MIN_POSITIVE),
    )
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

/// Where the service keeps its data, and how many replicas serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Sqlite,
    PgS3 { replicas: usize },
}

impl Shape {
    fn label(self) -> String {
        match self {
            Shape::Sqlite => "SQLite + files".into(),
            Shape::PgS3 { replicas: 1 } => "PostgreSQL + S3, 1 replica".into(),
            Shape::PgS3 { replicas } => format!("PostgreSQL + S3, {replicas} replicas"),
        }
    }
}

/// The service in `shape`: its replicas' states, base URLs and database URL (PostgreSQL); the
/// temp dir and bucket live as long as the returned guard.
async fn start(
    shape: Shape,
) -> (
    Vec<App>,
    Vec<String>,
    Option<String>,
    Box<dyn std::any::Any>,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    let mut pg_url = None;
    let (replicas, guard): (usize, Box<dyn std::any::Any>) = match shape {
        Shape::Sqlite => (1, Box::new(dir)),
        Shape::PgS3 { replicas } => {
            let bucket = shotclock_tests3::bucket();
            let url = shotclock_testpg::durable_cluster().create_database(None);
            config.database =
                Some(shotclock_server::store::Database::parse(&url, |_| None).unwrap());
            pg_url = Some(url);
            config.blobs = Some(
                shotclock_server::blobs::BlobsLocation::parse(&bucket.url(), |name| match name {
                    "AWS_ACCESS_KEY_ID" => Some(shotclock_tests3::ACCESS_KEY.to_owned()),
                    "AWS_SECRET_ACCESS_KEY" => Some(shotclock_tests3::SECRET_KEY.to_owned()),
                    _ => None,
                })
                .unwrap(),
            );
            (replicas, Box::new((dir, bucket)))
        }
    };
    let mut apps = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..replicas {
        let app = App::open(config.clone()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        bases.push(format!("http://{}", listener.local_addr().unwrap()));
        tokio::spawn(serve(listener, app.clone()));
        apps.push(app);
    }
    (apps, bases, pg_url, guard)
}

/// The processes whose CPU time a measurement splits: this one (the service and the clients),
/// PostgreSQL's (the postmaster of `pg_url`'s server and its children), the S3 server's (`weed`
/// under this process).
async fn processes(pg_url: Option<&str>) -> [Vec<u32>; 3] {
    let me = std::process::id();
    let Some(url) = pg_url else {
        return [vec![me], Vec::new(), Vec::new()];
    };
    let (db, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let backend: i32 = db
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let postmaster = shotclock_procstat::Stat::of(u32::try_from(backend).unwrap())
        .unwrap()
        .ppid;
    let tree = shotclock_procstat::ProcessTree::read().unwrap();
    let mut pg = tree.descendants_named(postmaster, "postgres");
    pg.push(postmaster);
    [vec![me], pg, tree.descendants_named(me, "weed")]
}

fn machine_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = cpu.iter().sum();
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// CPU use over a measured stretch: this process, PostgreSQL, the S3 server, the machine.
struct CpuUse {
    pg_url: Option<String>,
    start: [u64; 3],
    machine: (u64, u64),
}

async fn ticks(pg_url: Option<&str>) -> [u64; 3] {
    processes(pg_url)
        .await
        .map(|pids| shotclock_procstat::cpu_ticks(&pids))
}

impl CpuUse {
    async fn begin(pg_url: Option<String>) -> Self {
        Self {
            start: ticks(pg_url.as_deref()).await,
            pg_url,
            machine: machine_ticks(),
        }
    }

    /// "service+clients X s, PostgreSQL Y s, S3 Z s of CPU; machine busy B %". PostgreSQL
    /// backends that ended meanwhile are not counted.
    async fn end(&self) -> String {
        let now = ticks(self.pg_url.as_deref()).await;
        let (busy, total) = machine_ticks();
        let per_sec = shotclock_procstat::clock_ticks_per_second();
        let secs = |i: usize| now[i].saturating_sub(self.start[i]) as f64 / per_sec;
        let busy = (busy - self.machine.0) as f64 / (total - self.machine.1).max(1) as f64 * 100.0;
        format!(
            "CPU: service+clients {:.1} s, PostgreSQL {:.1} s, S3 server {:.1} s; machine {busy:.0} % busy",
            secs(0),
            secs(1),
            secs(2)
        )
    }
}

async fn user(app: &App, ws: WorkspaceId, role: Role, i: usize) -> (UserId, String) {
    let id = UserId::new();
    app.intents()
        .add_user(
            ws,
            NewUser {
                id,
                email: format!("user{i}@bench.test"),
                name: format!("User {i}"),
                password_hash: "unused".into(),
                role,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let (token, hash) = shotclock_server::auth::new_token();
    app.intents()
        .create_session(hash, id, ws, Utc::now(), Utc::now() + TimeDelta::days(1))
        .await
        .unwrap();
    (id, token)
}

async fn workspace(app: &App) -> (WorkspaceId, String) {
    let ws = WorkspaceId::new();
    let owner = NewUser {
        id: UserId::new(),
        email: "owner@bench.test".into(),
        name: "Owner".into(),
        password_hash: "unused".into(),
        role: Role::Owner,
    };
    let owner_id = owner.id;
    app.intents()
        .create_workspace(ws, "Bench".into(), owner, Utc::now())
        .await
        .unwrap();
    app.intents()
        .set_plan(ws, Plan::Enterprise, Utc::now())
        .await
        .unwrap();
    let (token, hash) = shotclock_server::auth::new_token();
    app.intents()
        .create_session(
            hash,
            owner_id,
            ws,
            Utc::now(),
            Utc::now() + TimeDelta::days(1),
        )
        .await
        .unwrap();
    (ws, token)
}

/// Uploads/s and p99 (ms) in `shape`.
async fn upload_bench(shape: Shape) -> (f64, f64) {
    let (apps, bases, pg_url, _guard) = start(shape).await;
    let (app, base) = (&apps[0], bases[0].clone());
    let (ws, admin) = workspace(app).await;
    let client = reqwest::Client::new();
    client
        .patch(format!("{base}/api/v1/workspace"))
        .bearer_auth(&admin)
        .json(&json!({"screenshots_enabled": true}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    // One member per client, each with a running entry.
    let mut members = Vec::new();
    for i in 0..CLIENTS {
        let (_, token) = user(app, ws, Role::Member, i).await;
        let entry = EntryId::new();
        client
            .post(format!("{base}/api/v1/timer/start"))
            .bearer_auth(&token)
            .json(&json!({"entry_id": entry, "start": (Utc::now() - TimeDelta::minutes(1)).to_rfc3339()}))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        members.push((token, entry, bases[i % bases.len()].clone()));
    }
    let image = shotclock_server::webp::synthetic(640, 360, 6 * 1024 - 30);
    let deadline = Instant::now() + Duration::from_secs(UPLOAD_SECS);
    let started = Instant::now();
    let cpu = CpuUse::begin(pg_url).await;
    let writers_before: Vec<WriterReport> =
        apps.iter().map(|a| a.intents().writer_load()).collect();
    let budget = Arc::new(std::sync::atomic::AtomicUsize::new(MAX_UPLOADS));
    let mut tasks = Vec::new();
    for (token, entry, base) in members {
        let (client, image, budget) = (reqwest::Client::new(), image.clone(), budget.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut marker = 0u64;
            while Instant::now() < deadline
                && budget.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) > 0
            {
                marker += 1;
                let mut bytes = image.clone();
                let at = bytes.len() - 16;
                bytes[at..at + 8].copy_from_slice(&marker.to_le_bytes());
                let captured = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let t = Instant::now();
                let r = client
                    .put(format!(
                        "{base}/api/v1/screenshots/{}?entry_id={entry}&captured_at={captured}",
                        ScreenshotId::new()
                    ))
                    .bearer_auth(&token)
                    .body(bytes)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => lat.push(t.elapsed()),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    let cpu = cpu.end().await;
    let writers = apps
        .iter()
        .zip(&writers_before)
        .map(|(a, before)| a.intents().writer_load().since(before))
        .fold(WriterReport::default(), |sum, w| WriterReport {
            groups: sum.groups + w.groups,
            jobs: sum.jobs + w.jobs,
            busy: sum.busy + w.busy,
            waiting: sum.waiting + w.waiting,
        });
    lat.sort();
    let rate = lat.len() as f64 / elapsed.as_secs_f64();
    let p50 = pct(&lat, 0.50);
    let p99 = pct(&lat, 0.99);
    let ok = rate >= 3000.0 && p99 < Duration::from_millis(50) && errors == 0;
    println!(
        "upload, {}: {} uploads in {:.2} s by {CLIENTS} clients = {rate:.0} uploads/s, p50 {:.2} ms, \
         p99 {:.2} ms, errors {errors}  [target >= 3000/s, p99 < 50 ms] {}\n  {cpu}\n  {}",
        shape.label(),
        lat.len(),
        elapsed.as_secs_f64(),
        ms(p50),
        ms(p99),
        verdict(ok),
        writer_line(&writers, apps.len(), elapsed)
    );
    (rate, ms(p99))
}

/// Day-count p95 (UTC and +05:30) and member-day p95 (ms) in `shape`.
async fn query_bench(shape: Shape) -> (f64, f64, f64) {
    let (apps, bases, pg_url, _guard) = start(shape).await;
    let (app, base) = (&apps[0], bases[0].clone());
    println!("queries, {}:", shape.label());
    let (ws, admin) = workspace(app).await;
    let today = Utc::now().date_naive();
    let day0: DateTime<Utc> = Utc.from_utc_datetime(&today.and_hms_opt(0, 0, 0).unwrap());
    let seed_started = Instant::now();
    let members = members();
    let mut ids = Vec::with_capacity(members);
    let mut member_token = String::new();
    for i in 0..members {
        let (id, token) = user(app, ws, Role::Member, i).await;
        if i == members / 2 {
            member_token = token;
        }
        ids.push(id);
    }
    let mut shots = Vec::new();
    let mut entries = Vec::new();
    let hash = [7u8; 32];
    for &user in &ids {
        for d in 0..DAYS {
            // Entries run 00:00–24:00 of each of the last 7 days (today: until now).
            let start = day0 - TimeDelta::days(d);
            let entry = EntryId::new();
            entries.push(EntryRow {
                id: entry,
                workspace_id: ws,
                user_id: user,
                description: format!("work {d}"),
                times: EntryTimes::new(start, Some(start + TimeDelta::days(1))),
                approved: false,
                manual: false,
                created_at: start,
            });
            for k in 0..PER_DAY {
                let id = ScreenshotId::new();
                shots.push(ScreenshotRow {
                    id,
                    workspace_id: ws,
                    user_id: user,
                    entry_id: entry,
                    captured_at: start + TimeDelta::minutes(15 * k) + TimeDelta::seconds(7),
                    sha256: hash,
                    size: 6000,
                    width: 640,
                    height: 360,
                    blob_key: format!("07/{id}-0707070707070707.webp"),
                    uploaded_at: start,
                });
            }
        }
    }
    app.intents().bulk_insert_entries(entries).await.unwrap();
    let total = shots.len();
    while !shots.is_empty() {
        let rest = shots.split_off(shots.len().saturating_sub(50_000));
        app.intents().bulk_insert_screenshots(rest).await.unwrap();
    }
    println!(
        "  seeded {members} members x {DAYS} days x {PER_DAY} = {total} screenshots in {:.1} s",
        seed_started.elapsed().as_secs_f64()
    );
    if let Some(url) = &pg_url {
        // Fresh statistics for the planner, as autovacuum gathers them shortly after a bulk
        // load; without them the first minute of queries is planned on an empty table.
        let (db, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let t = Instant::now();
        db.batch_execute("ANALYZE").await.unwrap();
        println!("  ANALYZE in {:.1} s", t.elapsed().as_secs_f64());
        // A UTC day's counts as they were read before the daily table (24 hourly rows per
        // member, summed) and as they are now (one daily row per member): plans and
        // latencies, same seed, same run.
        let hour0 = (day0 - TimeDelta::days(1)).timestamp() / 3600;
        let hourly = "SELECT user_id, sum(n)::bigint FROM screenshot_hours
                      WHERE workspace_id = $1 AND hour >= $2 AND hour < $3 GROUP BY user_id";
        let daily = "SELECT user_id, sum(n)::bigint FROM screenshot_days
                     WHERE workspace_id = $1 AND day >= $2 AND day < $3 GROUP BY user_id";
        let mut p95 = Vec::new();
        for (label, sql, from) in [
            ("hourly table (before)", hourly, hour0),
            ("daily table (now)", daily, hour0 / 24),
        ] {
            let to = if sql == hourly { from + 24 } else { from + 1 };
            println!("  {label}:");
            let plan = db
                .query(
                    &format!("EXPLAIN (ANALYZE, COSTS OFF) {sql}"),
                    &[ws.as_uuid(), &from, &to],
                )
                .await
                .unwrap();
            for line in plan {
                println!("    {}", line.get::<_, String>(0));
            }
            let st = db.prepare(sql).await.unwrap();
            let mut lat = Vec::new();
            for i in 0..QUERIES + 20 {
                let t = Instant::now();
                let rows = db.query(&st, &[ws.as_uuid(), &from, &to]).await.unwrap();
                if i >= 20 {
                    lat.push(t.elapsed());
                }
                assert_eq!(rows.len(), members);
            }
            lat.sort();
            println!(
                "    {} rows: p50 {:.2} ms, p95 {:.2} ms",
                members,
                ms(pct(&lat, 0.5)),
                ms(pct(&lat, 0.95))
            );
            p95.push(pct(&lat, 0.95));
        }
        println!(
            "  a UTC day's counts, hourly over daily table: p95 {:.1}x",
            p95[0].as_secs_f64() / p95[1].as_secs_f64().max(1e-9)
        );
    }
    // Yesterday: a full day of 96 per member (UTC so the seeded day aligns).
    let date = (today - TimeDelta::days(1)).format("%Y-%m-%d").to_string();
    let client = reqwest::Client::new();
    let run = async |path: String, token: &str, check: &dyn Fn(&serde_json::Value)| {
        let mut lat = Vec::new();
        for i in 0..QUERIES + 20 {
            let t = Instant::now();
            let r = client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let body = r.bytes().await.unwrap();
            let el = t.elapsed();
            if i == 0 {
                check(&serde_json::from_slice(&body).unwrap());
            }
            if i >= 20 {
                lat.push(el);
            }
        }
        lat.sort();
        lat
    };
    let counts = run(
        format!("/api/v1/screenshots/counts?date={date}&tz=UTC"),
        &admin,
        &|v| {
            let listed = v["members"].as_array().unwrap();
            assert_eq!(listed.len(), members + 1);
            assert!(listed.iter().filter(|m| m["count"] == PER_DAY).count() == members);
        },
    )
    .await;
    // The same day in a zone off UTC by hours and a half: whole days, hours and rows.
    let zoned = run(
        format!("/api/v1/screenshots/counts?date={date}&tz=Asia/Kolkata"),
        &admin,
        &|v| {
            let listed = v["members"].as_array().unwrap();
            assert!(listed.iter().filter(|m| m["count"] == PER_DAY).count() == members);
        },
    )
    .await;
    // Where a day-counts request spends its time: its two store reads, each measured alone.
    let (from, to) = (day0 - TimeDelta::days(1), day0);
    let admin_actor = app
        .intents()
        .session_user(shotclock_server::auth::token_hash(&admin), Utc::now())
        .await
        .unwrap()
        .unwrap()
        .actor();
    let mut list_lat = Vec::new();
    let mut count_lat = Vec::new();
    for _ in 0..QUERIES {
        let t = Instant::now();
        let members = app.intents().members(ws, false).await.unwrap();
        list_lat.push(t.elapsed());
        let t = Instant::now();
        assert!(!members.is_empty());
        app.intents()
            .day_counts(admin_actor, from, to, Utc::now())
            .await
            .unwrap();
        count_lat.push(t.elapsed());
    }
    list_lat.sort();
    count_lat.sort();
    println!(
        "  of which: member list p50 {:.2} ms, members + counts p50 {:.2} ms (one store read)",
        ms(pct(&list_lat, 0.5)),
        ms(pct(&count_lat, 0.5))
    );
    let day = run(
        format!("/api/v1/screenshots?date={date}&tz=UTC"),
        &member_token,
        &|v| assert_eq!(v["screenshots"].as_array().unwrap().len() as i64, PER_DAY),
    )
    .await;
    let c_ok = pct(&counts, 0.95) <= Duration::from_millis(5);
    let d_ok = pct(&day, 0.95) <= Duration::from_millis(2);
    println!(
        "  day counts ({} members): p50 {:.2} ms, p95 {:.2} ms  [target p95 <= 5 ms] {}",
        members + 1,
        ms(pct(&counts, 0.5)),
        ms(pct(&counts, 0.95)),
        verdict(c_ok)
    );
    println!(
        "  day counts in Asia/Kolkata (+05:30): p50 {:.2} ms, p95 {:.2} ms",
        ms(pct(&zoned, 0.5)),
        ms(pct(&zoned, 0.95)),
    );
    println!(
        "  member day ({PER_DAY} screenshots): p50 {:.2} ms, p95 {:.2} ms  [target p95 <= 2 ms] {}",
        ms(pct(&day, 0.5)),
        ms(pct(&day, 0.95)),
        verdict(d_ok)
    );
    (
        ms(pct(&counts, 0.95)),
        ms(pct(&zoned, 0.95)),
        ms(pct(&day, 0.95)),
    )
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let shapes = [
            Shape::Sqlite,
            Shape::PgS3 { replicas: 1 },
            Shape::PgS3 { replicas: 2 },
        ];
        let mut uploads = Vec::new();
        for shape in shapes.into_iter().filter(|_| !queries_only()) {
            uploads.push((shape, upload_bench(shape).await));
        }
        let mut queries = Vec::new();
        for shape in [Shape::Sqlite, Shape::PgS3 { replicas: 1 }] {
            queries.push((shape, query_bench(shape).await));
        }
        println!("\nsummary (same run, same seed)");
        println!("  {:<32} {:>10} {:>10}", "uploads", "per s", "p99 ms");
        for (shape, (rate, p99)) in &uploads {
            println!("  {:<32} {rate:>10.0} {p99:>10.2}", shape.label());
        }
        println!(
            "  {:<32} {:>10} {:>12} {:>10}",
            "queries", "counts p95", "+05:30 p95", "day p95"
        );
        for (shape, (counts, zoned, day)) in &queries {
            println!(
                "  {:<32} {counts:>10.2} {zoned:>12.2} {day:>10.2}",
                shape.label()
            );
        }
        println!(
            "  day counts p95, PostgreSQL over SQLite: {:.2}x",
            queries[1].1.0 / queries[0].1.0.max(1e-9)
        );
        if let [(_, (sqlite, _)), _, (_, (two, _))] = uploads[..] {
            println!(
                "  PostgreSQL + S3 with 2 replicas vs SQLite + files: {:.2}x the uploads/s  [target >= 1x] {}",
                two / sqlite,
                verdict(two >= sqlite)
            );
        }
    });
}
