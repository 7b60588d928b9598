//! TLS to PostgreSQL: rustls (on aws-lc-rs) with libpq's `sslmode` meanings,
//! read from the database URL's query (`sslmode`, `sslrootcert`):
//!
//! | sslmode | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` | when the server offers TLS | no |
//! | `require` | always | no; with `sslrootcert`, as `verify-ca` (as libpq does) |
//! | `verify-ca` | always | chains to a root |
//! | `verify-full` | always | chains to a root and names the host |
//!
//! Roots: the PEM file `sslrootcert`, else the platform's store. Without
//! `sslmode` the default is `verify-full`, except for a loopback host
//! (`localhost`, 127.0.0.0/8, ::1) where it is `prefer`: records and sessions
//! never cross a network in the clear unless the operator says so.

use super::DbError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error as TlsError, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`, as far as keyhaven implements it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it; the certificate is not checked.
    Prefer,
    /// TLS; the certificate is not checked (unless a root file is given).
    Require,
    /// TLS; the certificate chains to a root.
    VerifyCa,
    /// TLS; the certificate chains to a root and names the host.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<Self, DbError> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(DbError::Config(format!(
                    "sslmode {other:?}: expected disable, prefer, require, verify-ca or verify-full"
                )))
            }
        })
    }

    /// The name libpq uses.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// How to reach the database: the driver's settings and the TLS to use.
pub struct PgConnect {
    /// tokio-postgres's settings (without `sslmode` / `sslrootcert`).
    pub config: tokio_postgres::Config,
    /// The TLS mode in force (from the URL or the default).
    pub mode: SslMode,
    tls: MakeRustlsConnect,
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl PgConnect {
    /// Reads a `postgres://` URL: `sslmode` and `sslrootcert` are taken out
    /// of its query, the rest goes to tokio-postgres.
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        let bad = |e: &dyn std::fmt::Display| DbError::Config(format!("database URL: {e}"));
        let mut u = url::Url::parse(url).map_err(|e| bad(&e))?;
        let mut mode = None;
        let mut root = None;
        let mut rest = Vec::new();
        for (k, v) in u.query_pairs() {
            match &*k {
                "sslmode" => mode = Some(SslMode::parse(&v)?),
                "sslrootcert" => root = Some(PathBuf::from(&*v)),
                _ => rest.push((k.into_owned(), v.into_owned())),
            }
        }
        if rest.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(rest);
        }
        let mut config: tokio_postgres::Config = u
            .as_str()
            .parse()
            .map_err(|e: tokio_postgres::Error| bad(&e))?;
        let loopback = config.get_hosts().iter().all(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => is_loopback(name),
            tokio_postgres::config::Host::Unix(_) => true,
        });
        let mode = mode.unwrap_or(if loopback {
            SslMode::Prefer
        } else {
            SslMode::VerifyFull
        });
        // libpq: require with a root certificate file verifies like verify-ca.
        let effective = match (mode, &root) {
            (SslMode::Require, Some(_)) => SslMode::VerifyCa,
            (m, _) => m,
        };
        config.ssl_mode(match effective {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        let tls = MakeRustlsConnect::new(client_config(effective, root.as_deref())?);
        Ok(PgConnect {
            config,
            mode: effective,
            tls,
        })
    }

    /// The TLS connector for the driver (or a pool).
    pub fn tls(&self) -> MakeRustlsConnect {
        self.tls.clone()
    }

    /// One connection, its driver task spawned.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, DbError> {
        let (client, conn) = self.config.connect(self.tls()).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::warn!(error = %e, "PostgreSQL connection ended");
            }
        });
        Ok(client)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The roots: a PEM file, else the platform's store.
fn roots(file: Option<&std::path::Path>) -> Result<rustls::RootCertStore, DbError> {
    let mut store = rustls::RootCertStore::empty();
    match file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| DbError::Config(format!("sslrootcert {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(DbError::Config(format!(
                    "sslrootcert {}: no certificate",
                    path.display()
                )));
            }
            for c in certs {
                store
                    .add(c)
                    .map_err(|e| DbError::Config(format!("sslrootcert {}: {e}", path.display())))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
    }
    Ok(store)
}

fn client_config(
    mode: SslMode,
    root: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, DbError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Config(format!("TLS: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        // Not used to verify anything when TLS is off; prefer/require check
        // only the handshake signatures, as libpq does.
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(NoChain(provider())),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots(root)?), provider())
                    .build()
                    .map_err(|e| DbError::Config(format!("TLS roots: {e}")))?;
            if mode == SslMode::VerifyCa {
                Arc::new(ChainOnly(webpki))
            } else {
                webpki
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `prefer` / `require`: any certificate (libpq's meaning), the handshake
/// still proven by the key in it.
#[derive(Debug)]
struct NoChain(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoChain {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must verify; the host name need not match.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_root_come_out_of_the_url_with_safe_defaults() {
        let c = PgConnect::from_url("postgres://u@127.0.0.1:5432/db").unwrap();
        assert_eq!(c.mode, SslMode::Prefer, "loopback");
        let c = PgConnect::from_url("postgres://u@localhost/db").unwrap();
        assert_eq!(c.mode, SslMode::Prefer, "loopback");
        let c = PgConnect::from_url("postgres://u@db.example.org/db").unwrap();
        assert_eq!(c.mode, SslMode::VerifyFull, "a remote host");
        let c = PgConnect::from_url(
            "postgres://u@db.example.org/db?sslmode=disable&application_name=kh",
        )
        .unwrap();
        assert_eq!(c.mode, SslMode::Disable);
        assert_eq!(c.config.get_application_name(), Some("kh"));
        for m in ["require", "verify-ca", "verify-full", "prefer"] {
            let c = PgConnect::from_url(&format!("postgres://u@10.0.0.5/db?sslmode={m}")).unwrap();
            assert_eq!(c.mode.as_str(), m);
        }
        let e = PgConnect::from_url("postgres://u@h/db?sslmode=allow")
            .err()
            .unwrap();
        assert!(e.to_string().contains("sslmode \"allow\""), "{e}");
        let e = PgConnect::from_url(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent.pem",
        )
        .err()
        .unwrap();
        assert!(
            e.to_string().contains("sslrootcert /nonexistent.pem"),
            "{e}"
        );
    }
}
