//! Starting the real `shotclock-server` binary in a test: spawn `serve`, then read the address
//! it prints once it listens (bind first, then connect: no waiting on a timer).

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Spawns `command` (a `serve` of the binary) and answers the child with the address from its
/// first line, `listening on ADDR`. Fails the test if it exits or stays silent for `within`.
pub async fn spawn_listening(command: &mut Command, within: Duration) -> (Child, SocketAddr) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(within, lines.next_line())
        .await
        .expect("the server printed its address")
        .expect("the server's output reads")
        .expect("the server exited before listening");
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line is `listening on ADDR`, not {first:?}"))
        .parse()
        .expect("the printed address parses");
    (child, addr)
}
