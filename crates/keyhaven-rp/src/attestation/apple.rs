//! "apple" anonymous attestation (L3 §8.8).

use super::{fail, parse_cert, Input, Stmt};
use crate::error::{AttestationFailure, VerifyError};
use crate::x509;
use keyhaven_proto::der::{Reader, Tag};

const FMT: &str = "apple";

pub(super) fn verify(i: &Input) -> Result<Vec<Vec<u8>>, VerifyError> {
    // Step 1: syntax.
    let s = Stmt::new(FMT, i, &["x5c"])?;
    let x5c = s
        .x5c()?
        .ok_or_else(|| fail(FMT, AttestationFailure::Missing("x5c")))?;
    let cred_cert = parse_cert(FMT, &x5c[0])?;
    // Steps 2-3: nonce = SHA-256(authenticatorData ‖ clientDataHash).
    let nonce = keyhaven_crypto::digest::sha256(&i.signed_data());
    // Step 4: the extension 1.2.840.113635.100.8.2 holds SEQUENCE { [1] EXPLICIT OCTET STRING nonce }.
    let (value, _) = x509::extension(&cred_cert, "1.2.840.113635.100.8.2").ok_or_else(|| {
        fail(
            FMT,
            "credCert lacks the nonce extension 1.2.840.113635.100.8.2",
        )
    })?;
    let found = (|| {
        let mut seq = Reader::new(value).expect(Tag::SEQUENCE)?;
        let mut tagged = seq.expect(Tag::explicit(1))?;
        let octets = tagged.expect(Tag::OCTET_STRING)?;
        Ok::<_, keyhaven_proto::der::DerError>(octets.bytes().to_vec())
    })()
    .map_err(|e| fail(FMT, format!("nonce extension: {e}")))?;
    if !keyhaven_crypto::ct_eq(&found, &nonce) {
        return Err(fail(
            FMT,
            "nonce extension does not equal SHA-256(authenticatorData ‖ clientDataHash)",
        ));
    }
    // Step 5: the credential public key equals the credCert subject public key.
    if !x509::cert_key_matches(&cred_cert, &i.acd().credential_public_key) {
        return Err(fail(
            FMT,
            "credential public key differs from the credCert public key",
        ));
    }
    Ok(x5c)
}
