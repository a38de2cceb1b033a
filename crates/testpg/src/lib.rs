//! Test support: a real PostgreSQL for tests — one cluster per test process, a fresh database
//! per test.
//!
//! [`database`] starts the cluster on first use (every later call reuses it) and creates an
//! empty database in it, returning its URL. The cluster is the Debian `postgresql` package's
//! server (its programs live in `pg_config --bindir`, not on `PATH`), initialised in a
//! temporary directory with trust authentication for the superuser `shotclock`, listening on
//! a free port of 127.0.0.1 only, and without fsync (tests never need durability across a
//! power cut; [`durable_cluster`] is one with the durable defaults, [`tls_cluster`] one that
//! also speaks TLS with a certificate made for it). `initdb` refuses to run as root, so as root the cluster belongs to the
//! `postgres` user (`runuser -u postgres --`) and so does its directory.
//!
//! A missing PostgreSQL is a failure with a clear message, never a skipped test:
//! `cargo xtask test` installs the package.
//!
//! Stopping: the cluster outlives no test process. A small watcher shell, started with the
//! cluster, blocks reading a pipe whose only writer is this process; when the process ends
//! (however it ends), the read returns and the watcher stops the server and removes its
//! directory. No polling, no timer.

// Only tests use this crate, and whatever fails in it must fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// The superuser the cluster is initialised with.
pub const SUPERUSER: &str = "shotclock";

/// A running PostgreSQL cluster of this test process.
#[derive(Debug)]
pub struct Cluster {
    bindir: PathBuf,
    port: u16,
    /// Held only so the watcher's stdin stays open while this process lives.
    _watcher: Mutex<Child>,
    /// Templates made by [`database_like`].
    templates: Mutex<Vec<String>>,
}

/// The cluster of this test process, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::start(Kind::Fast))
}

/// A second cluster of this process with PostgreSQL's durable defaults (`fsync`,
/// `synchronous_commit`, `full_page_writes` on), for measurements that compare it with a
/// store that syncs every commit; started on first use.
pub fn durable_cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::start(Kind::Durable))
}

/// A cluster of this process that also accepts TLS (`ssl=on`), with a server certificate for
/// `IP:127.0.0.1` only, issued by a CA made for it (`openssl`); started on first use.
#[derive(Debug)]
pub struct TlsCluster {
    /// The cluster (plain connections are accepted too).
    pub cluster: Cluster,
    /// PEM file of the CA that issued the server's certificate.
    pub ca: PathBuf,
    /// PEM file of another CA, which issued nothing the server shows.
    pub other_ca: PathBuf,
}

/// The [`TlsCluster`] of this process.
pub fn tls_cluster() -> &'static TlsCluster {
    static CLUSTER: OnceLock<TlsCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let certs = tempfile::Builder::new()
            .prefix("shotclock-pg-certs-")
            .tempdir()
            .unwrap()
            .keep();
        make_certificates(&certs);
        let cluster = Cluster::start(Kind::Tls(certs.clone()));
        TlsCluster {
            cluster,
            ca: certs.join("ca.crt"),
            other_ca: certs.join("other-ca.crt"),
        }
    })
}

/// `ca.crt` (+ key), `other-ca.crt`, and `server.crt`/`server.key` for `IP:127.0.0.1` issued
/// by `ca.crt`, in `dir`; the server's files belong to the server's user.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running openssl (Debian package `openssl`): {e}"));
        if !out.status.success() {
            fail(&format!("openssl {args:?}"), &out);
        }
    };
    for ca in ["ca", "other-ca"] {
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=shotclock test {ca}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.crt"),
        ]);
    }
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);
    std::fs::set_permissions(
        dir.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    if running_as_root() {
        let (uid, gid) = (postgres_id("-u"), postgres_id("-g"));
        for f in ["", "server.key", "server.crt"] {
            std::os::unix::fs::chown(dir.join(f), Some(uid), Some(gid)).unwrap();
        }
    }
}

/// What a cluster is for.
enum Kind {
    /// No fsync: tests.
    Fast,
    /// PostgreSQL's durable defaults: measurements.
    Durable,
    /// As `Fast`, with TLS on from the certificates in this folder.
    Tls(PathBuf),
}

/// A fresh, empty database on [`cluster`]; its `postgres://` URL.
#[must_use]
pub fn database() -> String {
    cluster().create_database(None)
}

/// A fresh database copied from template `name`, which `prepare` fills (given its URL) the
/// first time this process asks for it — e.g. a migrated schema, so that each test does not
/// migrate again. `prepare` must close its connections before it returns.
#[must_use]
pub fn database_like(name: &str, prepare: impl FnOnce(&str)) -> String {
    let cluster = cluster();
    {
        let mut made = cluster.templates.lock().unwrap();
        if !made.iter().any(|t| t == name) {
            cluster.createdb(name, None);
            prepare(&cluster.url(name));
            made.push(name.to_owned());
        }
    }
    cluster.create_database(Some(name))
}

fn fail(what: &str, out: &Output) -> ! {
    panic!(
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `pg_config --bindir`, or a failure that says what to install.
fn bindir() -> PathBuf {
    let out = Command::new("pg_config").arg("--bindir").output();
    let dir = match out {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
        _ => panic!(
            "PostgreSQL is not installed: `pg_config` was not found on PATH. These tests need a \
             real PostgreSQL 14 or newer: install the Debian/Ubuntu package `postgresql` \
             (`cargo xtask test` does) and run them again."
        ),
    };
    assert!(
        dir.join("initdb").is_file() && dir.join("pg_ctl").is_file(),
        "PostgreSQL's server programs are missing from {} (only the client is installed?): \
         install the Debian/Ubuntu package `postgresql` (`cargo xtask test` does).",
        dir.display()
    );
    dir
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `id -u|-g postgres`.
fn postgres_id(flag: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .unwrap();
    if !out.status.success() {
        panic!(
            "running as root, the test cluster must belong to the `postgres` user (initdb \
             refuses root), but there is no such user: install the Debian/Ubuntu package \
             `postgresql`, which creates it"
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// A command for a server program: as the `postgres` user when this process is root.
fn server_command(program: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Settings of a cluster that need not survive a power cut.
const FAST: &str = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

impl Cluster {
    fn start(kind: Kind) -> Self {
        let bindir = bindir();
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("shotclock-pg-")
            .tempdir()
            .unwrap()
            .keep();
        if as_postgres {
            std::os::unix::fs::chown(&dir, Some(postgres_id("-u")), Some(postgres_id("-g")))
                .unwrap();
        }
        let data = dir.join("data");
        let out = server_command(&bindir.join("initdb"), as_postgres)
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--auth=trust", "--no-sync", "-E", "UTF8"])
            .args(["--locale=C"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if !out.status.success() {
            fail("initdb", &out);
        }
        // A free port can be taken by someone else before the server binds it: try a few.
        let mut last = None;
        let mut port = 0;
        for _ in 0..5 {
            port = free_port();
            let out = server_command(&bindir.join("pg_ctl"), as_postgres)
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.join("server.log"))
                .args(["-w", "-t", "60", "-o"])
                .arg(format!(
                    "-k {} -p {port} -c listen_addresses=127.0.0.1 {} -c max_connections=400",
                    dir.display(),
                    match &kind {
                        Kind::Durable => String::new(),
                        Kind::Fast => FAST.to_owned(),
                        Kind::Tls(certs) => format!(
                            "{FAST} -c ssl=on -c ssl_cert_file={0}/server.crt \
                             -c ssl_key_file={0}/server.key",
                            certs.display()
                        ),
                    }
                ))
                .arg("start")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            if out.status.success() {
                last = None;
                break;
            }
            last = Some(out);
        }
        if let Some(out) = last {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            eprintln!("server log:\n{log}");
            fail("pg_ctl start", &out);
        }
        let watcher = server_command(Path::new("sh"), as_postgres)
            .arg("-c")
            .arg(r#"read _; "$0" -D "$1" stop -m immediate >/dev/null 2>&1; rm -rf "$2""#)
            .arg(bindir.join("pg_ctl"))
            .arg(&data)
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self {
            bindir,
            port,
            _watcher: Mutex::new(watcher),
            templates: Mutex::default(),
        }
    }

    /// The port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name`.
    #[must_use]
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a fresh database, empty or a copy of `template`; its URL.
    #[must_use]
    pub fn create_database(&self, template: Option<&str>) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.createdb(&name, template);
        self.url(&name)
    }

    fn createdb(&self, name: &str, template: Option<&str>) {
        let mut command = Command::new(self.bindir.join("createdb"));
        command.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            SUPERUSER,
        ]);
        if let Some(template) = template {
            command.args(["-T", template]);
        }
        let out = command.arg(name).stdin(Stdio::null()).output().unwrap();
        if !out.status.success() {
            fail("createdb", &out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_databases_of_one_cluster() {
        let a = database();
        let b = database();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("postgres://{SUPERUSER}@127.0.0.1:")));
        let out = Command::new(cluster().bindir.join("psql"))
            .args([&b, "-tAc", "SELECT current_database()"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            b.rsplit('/').next().unwrap()
        );
    }
    #[test]
    fn copies_of_a_template_start_from_what_prepare_made() {
        let psql = |url: &str, sql: &str| {
            let out = Command::new(cluster().bindir.join("psql"))
                .args([url, "-tAc", sql])
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let mut prepared = 0;
        for _ in 0..2 {
            let url = database_like("with_a_table", |url| {
                prepared += 1;
                psql(
                    url,
                    "CREATE TABLE made (x int); INSERT INTO made VALUES (7)",
                );
            });
            assert_eq!(psql(&url, "SELECT x FROM made"), "7");
        }
        assert_eq!(prepared, 1);
    }
}
