//! "packed" (L3 §8.2) and its certificate requirements (§8.2.1).

use super::{fail, parse_cert, verify_leaf, AttestationType, Input, Stmt};
use crate::error::{AttestationFailure, VerifyError};
use crate::x509;
use x509_parser::prelude::*;

const FMT: &str = "packed";

pub(super) fn verify(i: &Input) -> Result<(AttestationType, Vec<Vec<u8>>), VerifyError> {
    // §8.2 step 1: syntax.
    let s = Stmt::new(FMT, i, &["alg", "sig", "x5c"])?;
    let alg = s.alg()?;
    let sig = s.bytes("sig")?;
    let acd = i.acd();
    match s.x5c()? {
        Some(x5c) => {
            // §8.2 step 2: signature with the attestation certificate's key.
            let leaf = parse_cert(FMT, &x5c[0])?;
            verify_leaf(FMT, &leaf, alg, &i.signed_data(), sig)?;
            check_certificate(&leaf)?;
            x509::check_aaguid_extension(&leaf, &acd.aaguid.0).map_err(|e| fail(FMT, e))?;
            Ok((AttestationType::Basic, x5c))
        }
        None => {
            // §8.2 step 3: self attestation.
            let key = &acd.credential_public_key;
            if key.alg != alg {
                return Err(fail(
                    FMT,
                    format!(
                        "self attestation alg {} differs from the credential key's {}",
                        alg.name(),
                        key.alg.name()
                    ),
                ));
            }
            keyhaven_crypto::signature::verify_with(alg, key, &i.signed_data(), sig).map_err(
                |e| {
                    fail(
                        FMT,
                        AttestationFailure::Signature {
                            what: "self attestation signature",
                            reason: e.to_string(),
                        },
                    )
                },
            )?;
            Ok((AttestationType::SelfAttestation, Vec::new()))
        }
    }
}

/// §8.2.1: version 3; subject C, O, OU = "Authenticator Attestation", CN; not a CA.
fn check_certificate(cert: &x509::Cert) -> Result<(), VerifyError> {
    if cert.version() != X509Version::V3 {
        return Err(fail(
            FMT,
            format!(
                "attestation certificate version must be 3, found {}",
                cert.version().0 + 1
            ),
        ));
    }
    let subject = cert.subject();
    let has = |attr: Option<&AttributeTypeAndValue>| {
        attr.and_then(|a| a.as_str().ok())
            .is_some_and(|s| !s.is_empty())
    };
    if !has(subject.iter_country().next()) {
        return Err(fail(FMT, "attestation certificate subject lacks C"));
    }
    if !has(subject.iter_organization().next()) {
        return Err(fail(FMT, "attestation certificate subject lacks O"));
    }
    let ou = subject
        .iter_organizational_unit()
        .next()
        .and_then(|a| a.as_str().ok());
    if ou != Some("Authenticator Attestation") {
        return Err(fail(FMT, format!("attestation certificate subject OU must be \"Authenticator Attestation\", found {ou:?}")));
    }
    if !has(subject.iter_common_name().next()) {
        return Err(fail(FMT, "attestation certificate subject lacks CN"));
    }
    if let Some((true, _)) = x509::basic_constraints(cert).map_err(|e| fail(FMT, e))? {
        return Err(fail(
            FMT,
            "attestation certificate must not be a CA (basicConstraints CA is true)",
        ));
    }
    Ok(())
}
