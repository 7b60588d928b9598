//! Input helpers for tools built on the RP: PEM certificates and CRLs (through
//! rustls-pki-types), and RFC 3339 times (through the `time` crate, see
//! [`crate::time`]).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use std::time::SystemTime;

/// Why a PEM or DER input was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A PEM section that does not decode.
    #[error("bad PEM: {0}")]
    Pem(String),
    /// No section of the expected kind.
    #[error("no PEM {0} found")]
    Missing(&'static str),
    /// A DER input that is not the expected structure.
    #[error("not a DER {what}: {reason}")]
    Der {
        /// "CRL".
        what: &'static str,
        /// The parser's message.
        reason: String,
    },
}

/// The DER certificates in a PEM text (`-----BEGIN CERTIFICATE-----` sections;
/// other sections are skipped).
pub fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, InputError> {
    let certs = CertificateDer::pem_slice_iter(text.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| InputError::Pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(InputError::Missing("certificate"));
    }
    Ok(certs)
}

/// The DER CRLs in a file's bytes: `-----BEGIN X509 CRL-----` sections, or one
/// DER CRL (checked to parse).
pub fn crls(bytes: &[u8]) -> Result<Vec<Vec<u8>>, InputError> {
    if bytes.starts_with(&[0x30]) {
        crate::x509::parse_crl(bytes).map_err(|e| InputError::Der {
            what: "CRL",
            reason: e.to_string(),
        })?;
        return Ok(vec![bytes.to_vec()]);
    }
    let crls = CertificateRevocationListDer::pem_slice_iter(bytes)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| InputError::Pem(e.to_string()))?;
    if crls.is_empty() {
        return Err(InputError::Missing("X509 CRL"));
    }
    for c in &crls {
        crate::x509::parse_crl(c).map_err(|e| InputError::Der {
            what: "CRL",
            reason: e.to_string(),
        })?;
    }
    Ok(crls)
}

/// Parses an RFC 3339 date-time ("2026-01-01T00:00:00Z", offsets and fractions
/// allowed, calendar-checked).
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, crate::time::TimeError> {
    crate::time::parse_rfc3339(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_certificates(pem).unwrap(), vec![vec![0, 1, 2, 3]]);
        assert!(pem_certificates("-----BEGIN CERTIFICATE-----\nAAEC").is_err());
        assert_eq!(
            pem_certificates("nothing"),
            Err(InputError::Missing("certificate"))
        );
        assert_eq!(crls(b"nothing"), Err(InputError::Missing("X509 CRL")));
        assert!(matches!(crls(&[0x30, 0x00]), Err(InputError::Der { .. })));
    }
}
