//! The demo workspace of `cargo xtask run`: a local `shotclock-server` with its data under
//! `.demo/`, the workspace "Acme Design" (an owner who is the admin, and two members) on the
//! screenshot trial, a few past days of time entries with blurred screenshots, and the app
//! signed in as the admin. A second run reuses `.demo/`; `cargo xtask run --reset` starts over.
//!
//! - This file: who is in the demo, and [`plan`] — the pure schedule of the seeded days (which
//!   days, which entries, one random capture moment per window). It builds in every xtask build
//!   (pure Rust only), so its tests always run.
//! - `launch` (feature `demo`): the `.demo/` folders, the service as a child process, first-run
//!   seeding, the sign-in details, the app; stops the service when the app exits or on Ctrl-C.
//! - `seed` (feature `demo`): fills a fresh workspace through the service's real HTTP API.
//! - `thumbs` (feature `demo`): synthetic desktops through the real capture pipeline.
//!
//! The feature exists because the capture crate links native libraries that `xtask setup`
//! installs: the plain `cargo xtask` binary must build on a machine that has none of them yet.

// Without the feature only the tests use the people and the plan.
#![cfg_attr(not(feature = "demo"), allow(dead_code))]

#[cfg(feature = "demo")]
pub mod bench_app;
#[cfg(feature = "demo")]
pub mod launch;
#[cfg(feature = "demo")]
mod seed;
#[cfg(feature = "demo")]
mod thumbs;

use chrono::{DateTime, Days, NaiveTime, SubsecRound, TimeDelta, TimeZone, Utc};
use rand::Rng;
use shotclock_domain::schedule::{CaptureWindow, ScheduleError, next_capture_after};

/// The hidden xtask command that runs the second half of `cargo xtask run`:
/// `xtask demo-launch SERVICE_BIN APP_BIN [--reset] [--port=N]`.
pub const LAUNCH_COMMAND: &str = "demo-launch";

/// The hidden xtask command that runs the second half of `cargo xtask bench app`:
/// `xtask bench-app-launch SERVICE_BIN APP_BIN [--secs N]` (see `bench_app`).
pub const BENCH_APP_COMMAND: &str = "bench-app-launch";

/// The workspace's name.
pub const WORKSPACE_NAME: &str = "Acme Design";

/// Everyone's password (printed with the sign-in details).
pub const PASSWORD: &str = "shotclock-demo";

/// Where the demo service listens unless told otherwise: fixed, so the app's stored session
/// still points at it on the next run.
pub const DEFAULT_PORT: u16 = 8478;

/// Past days that get entries (yesterday and the days before), plus what has already ended
/// today. Well inside the 7-day retention.
pub const PAST_DAYS: u32 = 3;

/// The options of `cargo xtask run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Wipe `.demo/` first and seed a fresh workspace.
    pub reset: bool,
    /// Listen on this port instead of the one used last time (or [`DEFAULT_PORT`]).
    pub port: Option<u16>,
}

impl RunOptions {
    /// Parses `[--reset] [--port N]`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = RunOptions::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--reset" => options.reset = true,
                "--port" => {
                    let value = args
                        .next()
                        .ok_or("--port needs a number, e.g. --port 8479")?;
                    options.port = Some(parse_port(value)?);
                }
                other => match other.strip_prefix("--port=") {
                    Some(value) => options.port = Some(parse_port(value)?),
                    None => {
                        return Err(format!(
                            "unknown option `{other}` (run takes --reset and --port N)"
                        ));
                    }
                },
            }
        }
        Ok(options)
    }

    /// The arguments that give these options back to [`RunOptions::parse`].
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.reset {
            args.push("--reset".to_owned());
        }
        if let Some(port) = self.port {
            args.push(format!("--port={port}"));
        }
        args
    }
}

fn parse_port(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("--port wants a port number 1-65535, got `{value}`")),
    }
}

/// One person of the demo workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Person {
    pub email: &'static str,
    pub name: &'static str,
    /// The workspace's owner (an admin); the others are members.
    pub owner: bool,
    /// Monitors side by side on their desk (R10 lays them out in one screenshot).
    pub monitors: u32,
    /// What they work on: the descriptions of their entries.
    pub tasks: &'static [&'static str],
}

/// The owner first: the app signs in as them.
pub const PEOPLE: [Person; 3] = [
    Person {
        email: "admin@shotclock.test",
        name: "Alex Morgan",
        owner: true,
        monitors: 2,
        tasks: &[
            "Weekly planning",
            "Review: Northwind landing page",
            "Client call - Bluebird rebrand",
            "Approve last week's time",
        ],
    },
    Person {
        email: "maria@shotclock.test",
        name: "Maria Silva",
        owner: false,
        monitors: 1,
        tasks: &[
            "Northwind landing page - hero and pricing",
            "Bluebird logo explorations",
            "Design system: form controls",
            "Mobile onboarding screens",
        ],
    },
    Person {
        email: "jonas@shotclock.test",
        name: "Jonas Berg",
        owner: false,
        monitors: 1,
        tasks: &[
            "Bluebird brand guidelines",
            "Icon set on the 24 px grid",
            "Blog illustrations",
            "Checkout flow prototype",
        ],
    },
];

/// A working day's two blocks: the earliest and latest start, in minutes after local midnight.
const BLOCKS: [(u32, u32); 2] = [(9 * 60, 10 * 60), (13 * 60, 14 * 60 + 30)];

/// Shortest and longest entry, in seconds.
const ENTRY_SECS: (i64, i64) = (30 * 60, 90 * 60);

/// One seeded time entry with its capture moments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEntry {
    /// Index into the people list.
    pub person: usize,
    /// Index into the person's tasks (its description).
    pub task: usize,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// One moment per capture window `[start + k·w, start + (k+1)·w)` of the entry, drawn
    /// uniformly inside it (R9, the same rule the app follows); the last window's moment is kept
    /// only if it falls before `end`, as a real timer stopped mid-window would. Millisecond
    /// precision, the precision the service stores.
    pub shots: Vec<DateTime<Utc>>,
}

/// The entries of `people` people over the last `past_days` days (capped at 6, inside the 7-day
/// retention) and today, in the calendar of `tz`: two entries a day each — one starting 09:00–10:00,
/// one 13:00–14:30, each 30–90 minutes long — and only those that have ended by `now`, so no
/// timer is left running. Sorted by person, then start. `tasks` is how many descriptions each
/// person has to pick from.
///
/// Pure: the clock, the time zone and the random source are parameters. A local start that does
/// not exist (a daylight-saving gap) skips that entry.
pub fn plan<Tz: TimeZone>(
    now: DateTime<Utc>,
    tz: &Tz,
    people: usize,
    tasks: usize,
    past_days: u32,
    window: CaptureWindow,
    rng: &mut impl Rng,
) -> Result<Vec<PlannedEntry>, ScheduleError> {
    let today = now.with_timezone(tz).date_naive();
    let mut entries = Vec::new();
    for person in 0..people {
        for back in (0..=past_days.min(6)).rev() {
            let Some(day) = today.checked_sub_days(Days::new(u64::from(back))) else {
                continue;
            };
            for (earliest, latest) in BLOCKS {
                // Draw everything first, so one skipped entry does not shift the others' draws.
                let start_secs = earliest * 60 + rng.random_range(0..(latest - earliest) * 60);
                let length = TimeDelta::seconds(rng.random_range(ENTRY_SECS.0..=ENTRY_SECS.1));
                let task = rng.random_range(0..tasks.max(1));
                let Some(local) = NaiveTime::from_num_seconds_from_midnight_opt(start_secs, 0)
                    .map(|t| day.and_time(t))
                else {
                    continue;
                };
                let Some(start) = tz.from_local_datetime(&local).earliest() else {
                    continue;
                };
                let start = start.with_timezone(&Utc);
                let end = start + length;
                if end > now {
                    continue;
                }
                let shots = moments(start, end, window, rng)?;
                entries.push(PlannedEntry {
                    person,
                    task,
                    start,
                    end,
                    shots,
                });
            }
        }
    }
    Ok(entries)
}

/// One uniformly random moment in every window of `[start, end)`, those before `end` only.
fn moments(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    window: CaptureWindow,
    rng: &mut impl Rng,
) -> Result<Vec<DateTime<Utc>>, ScheduleError> {
    let mut shots = Vec::new();
    let mut done: Option<u64> = None;
    loop {
        // Asked at the entry's start with windows up to `done` finished: the next window, whole.
        let slot = next_capture_after(start, window, start, done, rng)?;
        if slot.window_start >= end {
            return Ok(shots);
        }
        let at = slot.at.trunc_subsecs(3);
        if at < end {
            shots.push(at);
        }
        done = Some(slot.window_index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Timelike};
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use shotclock_domain::RETENTION;

    const W: CaptureWindow = CaptureWindow::DEFAULT;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 6, h, m, 0).unwrap()
    }

    fn plan_at(now: DateTime<Utc>, seed: u64) -> Vec<PlannedEntry> {
        plan(
            now,
            &Utc,
            3,
            4,
            PAST_DAYS,
            W,
            &mut StdRng::seed_from_u64(seed),
        )
        .unwrap()
    }

    fn per_day(entries: &[PlannedEntry], person: usize) -> Vec<(chrono::NaiveDate, usize)> {
        let mut days: Vec<(chrono::NaiveDate, usize)> = Vec::new();
        for e in entries.iter().filter(|e| e.person == person) {
            let d = e.start.date_naive();
            match days.last_mut() {
                Some((last, n)) if *last == d => *n += 1,
                _ => days.push((d, 1)),
            }
        }
        days
    }

    #[test]
    fn two_entries_a_past_day_and_today_only_what_has_ended() {
        // Late evening: today's two entries have ended too.
        let evening = plan_at(at(20, 0), 1);
        assert_eq!(evening.len(), 3 * 4 * 2);
        for p in 0..3 {
            let days: Vec<_> = per_day(&evening, p)
                .iter()
                .map(|(d, n)| (d.to_string(), *n))
                .collect();
            assert_eq!(
                days,
                [
                    ("2024-06-03", 2),
                    ("2024-06-04", 2),
                    ("2024-06-05", 2),
                    ("2024-06-06", 2)
                ]
                .map(|(d, n)| (d.to_owned(), n))
            );
        }
        // Early morning: nothing today yet.
        let morning = plan_at(at(8, 0), 1);
        assert_eq!(morning.len(), 3 * 3 * 2);
        assert!(morning.iter().all(|e| e.start < at(0, 0)));
        // Before lunch: the morning entry (started by 10:00, at most 90 min) has ended.
        let noon = plan_at(at(11, 45), 1);
        assert_eq!(noon.len(), 3 * 3 * 2 + 3);
    }

    #[test]
    fn no_timer_left_running_and_nothing_past_retention() {
        for (h, m) in [(9, 31), (10, 15), (12, 0), (14, 50), (15, 59), (23, 59)] {
            let now = at(h, m);
            for e in plan_at(now, u64::from(h * 60 + m)) {
                assert!(e.start < e.end);
                assert!(e.end <= now, "{e:?} has not ended at {now}");
                assert!(now - e.start < RETENTION - TimeDelta::days(2), "{e:?}");
            }
        }
    }

    #[test]
    fn entries_sit_in_their_blocks_in_the_local_calendar() {
        // 20:00 UTC is 01:30 the next day in UTC+05:30: today there has nothing yet.
        let tz = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
        let now = at(20, 0);
        let entries = plan(now, &tz, 3, 4, PAST_DAYS, W, &mut StdRng::seed_from_u64(3)).unwrap();
        assert_eq!(entries.len(), 3 * 3 * 2);
        let today = now.with_timezone(&tz).date_naive();
        for e in &entries {
            let local = e.start.with_timezone(&tz);
            let minute = local.hour() * 60 + local.minute();
            assert!(
                (9 * 60..10 * 60).contains(&minute) || (13 * 60..14 * 60 + 30).contains(&minute),
                "{local} is outside the working blocks"
            );
            let back = (today - local.date_naive()).num_days();
            assert!((1..=3).contains(&back), "{local} is {back} days back");
            let length = (e.end - e.start).num_seconds();
            assert!((30 * 60..=90 * 60).contains(&length), "{length} s");
            assert!(e.task < 4);
        }
        // Entries of one person never overlap and come in order.
        for p in 0..3 {
            let mine: Vec<_> = entries.iter().filter(|e| e.person == p).collect();
            assert!(mine.windows(2).all(|w| w[0].end < w[1].start));
        }
    }

    #[test]
    fn one_moment_in_each_window_of_the_entry() {
        let w = TimeDelta::seconds(300);
        let entries = plan_at(at(20, 0), 5);
        let mut shots = 0;
        for e in &entries {
            let (length, w_ms) = ((e.end - e.start).num_milliseconds(), w.num_milliseconds());
            let windows = (length + w_ms - 1) / w_ms;
            let n = e.shots.len() as i64;
            assert!(
                n == windows || n == windows - 1,
                "{n} shots in {windows} windows"
            );
            for (k, shot) in e.shots.iter().enumerate() {
                let from = e.start + w * k as i32;
                assert!(
                    *shot >= from && *shot < from + w,
                    "shot {k} at {shot} not in its window"
                );
                assert!(*shot < e.end);
                assert_eq!(shot.nanosecond() % 1_000_000, 0, "not whole milliseconds");
            }
            shots += e.shots.len();
        }
        // 24 entries of 30-90 minutes: a few hundred screenshots, not thousands.
        assert!((24 * 5..=24 * 18).contains(&shots), "{shots} screenshots");
    }

    #[test]
    fn moments_spread_uniformly_over_their_windows() {
        let w = 300_000.0;
        let entries = plan(at(20, 0), &Utc, 20, 4, 6, W, &mut StdRng::seed_from_u64(9)).unwrap();
        let offsets: Vec<f64> = entries
            .iter()
            .flat_map(|e| {
                e.shots
                    .iter()
                    .enumerate()
                    .map(move |(k, s)| (*s - e.start).num_milliseconds() as f64 - k as f64 * w)
            })
            .map(|ms| ms / w)
            .collect();
        assert!(offsets.len() > 2000);
        let mean = offsets.iter().sum::<f64>() / offsets.len() as f64;
        assert!((0.47..0.53).contains(&mean), "mean offset {mean}");
        // Each quarter of the window gets about a quarter of the moments.
        for q in 0..4 {
            let share = offsets
                .iter()
                .filter(|o| (q as f64 / 4.0..(q + 1) as f64 / 4.0).contains(*o))
                .count() as f64
                / offsets.len() as f64;
            assert!((0.21..0.29).contains(&share), "quarter {q}: {share}");
        }
    }

    #[test]
    fn a_seed_decides_the_plan() {
        assert_eq!(plan_at(at(20, 0), 11), plan_at(at(20, 0), 11));
        assert_ne!(plan_at(at(20, 0), 11), plan_at(at(20, 0), 12));
    }

    #[test]
    fn run_options() {
        let parse = |args: &[&str]| {
            RunOptions::parse(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(parse(&[]), Ok(RunOptions::default()));
        let both = RunOptions {
            reset: true,
            port: Some(9000),
        };
        assert_eq!(parse(&["--reset", "--port", "9000"]), Ok(both.clone()));
        assert_eq!(parse(&["--port=9000", "--reset"]), Ok(both.clone()));
        assert_eq!(RunOptions::parse(&both.to_args()), Ok(both));
        for bad in [
            &["--port"][..],
            &["--port", "0"],
            &["--port", "70000"],
            &["--rest"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_people_are_an_owner_and_two_members() {
        assert!(PEOPLE[0].owner);
        assert!(PEOPLE[1..].iter().all(|p| !p.owner));
        assert!(PEOPLE.iter().all(|p| p.email.ends_with("@shotclock.test")));
        assert!(
            PASSWORD.chars().count() >= 10,
            "the service wants 10 characters"
        );
    }
}
