//! Test support: the real service on a real port for integration tests.
//!
//! - [`TestServer`]: `shotclock-server` (the library the binary runs) on a real `127.0.0.1`
//!   port, in a runtime of its own on a thread of its own, so that stopping it drops every
//!   connection at once (like a killed process) and it can be started again on the same port and
//!   data directory. [`Options`] set its capture window and its clock, a [`ShiftedClock`] a test
//!   moves to make the service's "now" another day (trials, retention). [`Storage`] picks
//!   SQLite + a folder or PostgreSQL + an S3-compatible bucket (real servers, started once per
//!   test process); on the latter [`TestServer::replica`] adds replicas on the same data.
//! - Teams: [`TestServer::team`] seeds a workspace with an owner and members through the
//!   service's store (there is no sign-up in the API), everyone with [`PASSWORD`], hashed once
//!   per test binary ([`shared_hash`]); [`TestServer::workspace`] puts it on plan `enterprise`
//!   with screenshots on or off; [`TestServer::sign_in`] signs a [`Person`] in through the client.
//! - [`eventually`] and [`wait_for`]: poll a condition up to a deadline (never a bare sleep).
//!
//! Only a dev-dependency: of the client's (`crates/sync`) and the engine's (`crates/agent`)
//! integration tests and of the desktop system tests (`tests/support`).

// Only tests use this crate, and whatever fails in it must fail the test loudly: it panics
// rather than returning errors the caller would unwrap anyway.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod server;
mod team;
mod wait;

pub use server::{Options, ShiftedClock, Storage, TestServer};
pub use team::{PASSWORD, Person, Team, Workspace, set_screenshots, shared_hash};
pub use wait::{eventually, wait_for};

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeDelta, Utc};
    use shotclock_api::Role;

    use super::*;

    #[test]
    fn the_shifted_clock_moves_the_services_now() {
        let server = TestServer::with_window(7);
        assert_eq!(server.window_secs(), 7);
        assert_eq!(server.app().config().capture_window_secs, 7);
        server.clock.shift(-TimeDelta::days(9));
        let service_now = server.app().now();
        let behind = Utc::now() - service_now;
        assert!(behind >= TimeDelta::days(9), "{behind}");
        assert!(
            behind < TimeDelta::days(9) + TimeDelta::minutes(1),
            "{behind}"
        );
    }

    #[tokio::test]
    async fn a_team_signs_in_again_after_a_restart_on_the_same_port() {
        let mut server = TestServer::start();
        let team = server.team("kit", &[("ana", Role::Member)]).await;
        assert_eq!(team.owner().email, "owner@kit.test");
        assert_eq!(team.member(0).email, "ana@kit.test");
        assert_eq!(team.member(0).name, "Ana");
        let addr = server.addr;
        server.restart();
        assert_eq!(server.addr, addr);
        let me = server.sign_in(team.member(0)).await.me().await.unwrap();
        assert_eq!((me.user.id, me.workspace.id), (team.member(0).id, team.ws));
    }

    #[tokio::test]
    async fn wait_for_says_what_it_waited_for() {
        let mut calls = 0;
        let found = wait_for(Duration::from_secs(5), "the third call", || {
            calls += 1;
            let now = calls;
            async move { (now == 3).then_some(now) }
        })
        .await
        .unwrap();
        assert_eq!(found, 3);

        let e = wait_for(Duration::from_millis(120), "nothing", || async {
            None::<()>
        })
        .await
        .unwrap_err();
        assert_eq!(e.to_string(), "timed out after 120ms waiting for nothing");
    }
}
