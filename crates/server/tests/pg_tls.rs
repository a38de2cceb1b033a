//! TLS to PostgreSQL against a real cluster with `ssl=on` (a certificate for `IP:127.0.0.1`
//! issued by a CA made for the test): `verify-full` with that CA connects, and every
//! connection of the store is encrypted; with another CA it is refused; `verify-ca` accepts a
//! host name the certificate does not carry, `verify-full` does not; `require` to a server
//! without TLS is refused instead of falling back to plain text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shotclock_server::store::StoreError;
use shotclock_server::store::postgres::{PgOptions, PgStore};

/// A fresh database on the TLS cluster, as `sslmode=… [sslrootcert=…]` asks, with an
/// `application_name` to find its sessions by.
fn url(params: &str, app: &str) -> String {
    let db = shotclock_testpg::tls_cluster()
        .cluster
        .create_database(None);
    format!("{db}?application_name={app}&{params}")
}

fn open(url: &str) -> Result<PgStore, StoreError> {
    PgStore::open(&PgOptions::from_url(url).unwrap())
}

/// Sessions named `app` on the TLS cluster, and how many of them are encrypted (asked over a
/// plain connection).
async fn sessions(app: &str) -> (i64, i64) {
    let cluster = &shotclock_testpg::tls_cluster().cluster;
    let (client, connection) =
        tokio_postgres::connect(&cluster.url("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl)
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
             WHERE a.application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn verify_full_with_the_right_ca_connects_encrypted() {
    let tls = shotclock_testpg::tls_cluster();
    let ca = tls.ca.display();
    let store = open(&url(
        &format!("sslmode=verify-full&sslrootcert={ca}"),
        "tls_full",
    ))
    .unwrap();
    let (all, encrypted) = sessions("tls_full").await;
    assert!(all > 0, "the store keeps a pooled session");
    assert_eq!(encrypted, all, "every session of the store is encrypted");
    drop(store);
}

#[tokio::test]
async fn verify_full_with_another_ca_is_refused() {
    let tls = shotclock_testpg::tls_cluster();
    let other = tls.other_ca.display();
    let Err(StoreError::Open(m)) = open(&url(
        &format!("sslmode=verify-full&sslrootcert={other}"),
        "tls_wrong_ca",
    )) else {
        panic!("a certificate from another CA is accepted");
    };
    assert!(m.to_lowercase().contains("certificate"), "{m}");
    assert_eq!(sessions("tls_wrong_ca").await.0, 0);
}

#[tokio::test]
async fn the_host_name_is_checked_by_verify_full_only() {
    let tls = shotclock_testpg::tls_cluster();
    let ca = tls.ca.display();
    // The certificate names 127.0.0.1 only; `localhost` reaches the same server.
    let by_name =
        |params: String, app: &str| url(&params, app).replacen("@127.0.0.1:", "@localhost:", 1);
    let Err(StoreError::Open(m)) = open(&by_name(
        format!("sslmode=verify-full&sslrootcert={ca}"),
        "tls_name_full",
    )) else {
        panic!("verify-full accepted a certificate for another name");
    };
    assert!(m.to_lowercase().contains("certificate"), "{m}");
    let store = open(&by_name(
        format!("sslmode=verify-ca&sslrootcert={ca}"),
        "tls_name_ca",
    ))
    .unwrap();
    let (all, encrypted) = sessions("tls_name_ca").await;
    assert!(all > 0 && encrypted == all, "{encrypted} of {all}");
    drop(store);
    // `require` encrypts without checking the certificate.
    let store = open(&url("sslmode=require", "tls_require")).unwrap();
    let (all, encrypted) = sessions("tls_require").await;
    assert!(all > 0 && encrypted == all, "{encrypted} of {all}");
    drop(store);
}

#[tokio::test]
async fn require_against_a_server_without_tls_is_refused() {
    let db = shotclock_testpg::database();
    let Err(StoreError::Open(m)) = open(&format!("{db}?sslmode=require")) else {
        panic!("connected in plain text although TLS was required");
    };
    assert!(m.contains("TLS") || m.contains("tls"), "{m}");
}
