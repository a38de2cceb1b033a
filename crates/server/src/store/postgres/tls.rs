//! TLS to PostgreSQL with rustls, chosen by the URL's `sslmode` (and `sslrootcert`), as libpq
//! reads them:
//!
//! | `sslmode`                        | encrypted | certificate checked                         |
//! |----------------------------------|-----------|---------------------------------------------|
//! | absent, `disable`, `allow`, `prefer` | no    | —                                           |
//! | `require`                        | yes       | no (libpq: unless `sslrootcert` is given, then as `verify-ca`) |
//! | `verify-ca`                      | yes       | chain to a trusted root                     |
//! | `verify-full`                    | yes       | chain, and the host name (or IP) in the URL |
//!
//! Trusted roots: the PEM file named by `sslrootcert=PATH`, else (or with `sslrootcert=system`)
//! the platform's (`rustls-platform-verifier`). `prefer` and `allow` do not try TLS: a
//! deployment that wants it says `require` or stricter, so what it gets never depends on what
//! the server offers. No client certificates; no channel binding (SCRAM works without it).
//!
//! tokio-postgres knows only `disable|prefer|require`, so [`split_url`] takes `sslmode` and
//! `sslrootcert` out of the URL before tokio-postgres parses the rest.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use crate::store::{StoreError, StoreResult};

/// What the connection to the database must be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PgTls {
    /// Not encrypted (`sslmode` absent, `disable`, `allow` or `prefer`).
    #[default]
    Off,
    /// Encrypted, certificate not checked (`require` without `sslrootcert`).
    Require,
    /// Encrypted, the certificate chains to a trusted root (`verify-ca`, or `require` with
    /// `sslrootcert`).
    VerifyCa(Roots),
    /// Encrypted, the certificate chains to a trusted root and names the host (`verify-full`).
    VerifyFull(Roots),
}

/// Which roots a certificate must chain to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Roots {
    /// The platform's trusted roots.
    #[default]
    Platform,
    /// The certificates of a PEM file.
    File(PathBuf),
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL or a libpq `key=value` string;
/// returns the rest (for tokio-postgres) and the TLS they ask for.
pub fn split_url(url: &str) -> StoreResult<(String, PgTls)> {
    let mut mode = None;
    let mut root = None;
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            mode = Some(value);
            true
        }
        "sslrootcert" => {
            root = Some(value);
            true
        }
        _ => false,
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let value = url::form_urlencoded::parse(format!("v={v}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    if !take(k, value) {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            match word.split_once('=') {
                Some((k, v)) if take(k.trim(), v.trim_matches('\'').to_owned()) => {}
                _ => kept.push(word),
            }
        }
        kept.join(" ")
    };
    let roots = match root.as_deref() {
        None | Some("system") => Roots::Platform,
        Some(path) => Roots::File(PathBuf::from(path)),
    };
    let tls = match mode.as_deref() {
        None | Some("disable" | "allow" | "prefer") => PgTls::Off,
        Some("require") if root.is_none() => PgTls::Require,
        Some("require" | "verify-ca") => PgTls::VerifyCa(roots),
        Some("verify-full") => PgTls::VerifyFull(roots),
        Some(other) => {
            return Err(StoreError::Open(format!(
                "invalid PostgreSQL URL: sslmode={other} (use disable, prefer, require, \
                 verify-ca or verify-full)"
            )));
        }
    };
    Ok((rest, tls))
}

/// How a certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Nothing,
    Chain,
    ChainAndName,
}

/// A rustls verifier for one of the [`PgTls`] modes: the handshake's signatures are always
/// checked; the chain and the name as the mode says.
#[derive(Debug)]
struct Verifier {
    check: Check,
    /// The chain checker (absent with [`Check::Nothing`]).
    chain: Option<Arc<dyn ServerCertVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.check == Check::Chain => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn open_err(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Open(format!("TLS to PostgreSQL: {what}: {e}"))
}

/// The connector tokio-postgres and the pool use: plain TCP when [`PgTls::Off`] (the caller
/// then sets `sslmode=disable`), else rustls.
#[derive(Clone)]
pub struct MakeRustls {
    config: Option<Arc<ClientConfig>>,
}

impl MakeRustls {
    /// The connector for `tls` (reads a `sslrootcert` file now, so a bad one fails at start).
    pub fn new(tls: &PgTls) -> StoreResult<Self> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (check, roots) = match tls {
            PgTls::Off => return Ok(Self { config: None }),
            PgTls::Require => (Check::Nothing, None),
            PgTls::VerifyCa(roots) => (Check::Chain, Some(roots)),
            PgTls::VerifyFull(roots) => (Check::ChainAndName, Some(roots)),
        };
        let chain: Option<Arc<dyn ServerCertVerifier>> = match roots {
            None => None,
            Some(Roots::Platform) => Some(Arc::new(
                rustls_platform_verifier::Verifier::new(provider.clone())
                    .map_err(|e| open_err("the platform's trusted roots", e))?,
            )),
            Some(Roots::File(path)) => {
                let shown = path.display();
                let mut store = RootCertStore::empty();
                for cert in CertificateDer::pem_file_iter(path)
                    .map_err(|e| open_err(&format!("sslrootcert {shown}"), e))?
                {
                    let cert = cert.map_err(|e| open_err(&format!("sslrootcert {shown}"), e))?;
                    store
                        .add(cert)
                        .map_err(|e| open_err(&format!("sslrootcert {shown}"), e))?;
                }
                Some(
                    rustls::client::WebPkiServerVerifier::builder_with_provider(
                        Arc::new(store),
                        provider.clone(),
                    )
                    .build()
                    .map_err(|e| open_err(&format!("sslrootcert {shown}"), e))?,
                )
            }
        };
        let verifier = Verifier {
            check,
            chain,
            provider: provider.clone(),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| open_err("protocol versions", e))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(Self {
            config: Some(Arc::new(config)),
        })
    }
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        Ok(RustlsConnect {
            config: self.config.clone(),
            domain: domain.to_owned(),
        })
    }
}

/// One connection's TLS handshake.
pub struct RustlsConnect {
    config: Option<Arc<ClientConfig>>,
    domain: String,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let config = self.config.ok_or_else(|| {
                io::Error::new(io::ErrorKind::Unsupported, "TLS is off for this database")
            })?;
            let name = ServerName::try_from(self.domain)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await?;
            Ok(RustlsStream(stream))
        })
    }
}

/// A TLS connection to the database.
pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_the_url() {
        let (rest, tls) = split_url("postgres://u@h:5/db").unwrap();
        assert_eq!((rest.as_str(), tls), ("postgres://u@h:5/db", PgTls::Off));
        let (rest, tls) = split_url(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@h/db?application_name=x");
        assert_eq!(tls, PgTls::VerifyFull(Roots::File("/etc/ca.pem".into())));
        let (rest, tls) = split_url("postgresql://h/db?sslmode=require").unwrap();
        assert_eq!((rest.as_str(), tls), ("postgresql://h/db", PgTls::Require));
        let (_, tls) = split_url("postgres://h/db?sslmode=require&sslrootcert=ca.pem").unwrap();
        assert_eq!(tls, PgTls::VerifyCa(Roots::File("ca.pem".into())));
        let (_, tls) = split_url("postgres://h/db?sslmode=verify-ca&sslrootcert=system").unwrap();
        assert_eq!(tls, PgTls::VerifyCa(Roots::Platform));
        let (_, tls) = split_url("postgres://h/db?sslmode=prefer").unwrap();
        assert_eq!(tls, PgTls::Off);
        let (rest, tls) = split_url("host=h dbname=d sslmode=verify-full").unwrap();
        assert_eq!(
            (rest.as_str(), tls),
            ("host=h dbname=d", PgTls::VerifyFull(Roots::Platform))
        );
        assert!(split_url("postgres://h/db?sslmode=sometimes").is_err());
    }

    #[test]
    fn a_missing_root_file_fails_at_start() {
        let Err(StoreError::Open(m)) = MakeRustls::new(&PgTls::VerifyFull(Roots::File(
            "/nonexistent/ca.pem".into(),
        ))) else {
            panic!("refused");
        };
        assert!(
            m.contains("sslrootcert") && m.contains("/nonexistent/ca.pem"),
            "{m}"
        );
    }
}
