//! "fido-u2f" (L3 §8.6).

use super::{fail, parse_cert, Input, Stmt};
use crate::error::{AttestationFailure, VerifyError};
use crate::x509;
use keyhaven_crypto::x509::{SignatureScheme, SpkiKey};
use keyhaven_proto::cose::{EcCurve, KeyParams};

const FMT: &str = "fido-u2f";

pub(super) fn verify(i: &Input) -> Result<Vec<Vec<u8>>, VerifyError> {
    // Step 1: syntax.
    let s = Stmt::new(FMT, i, &["sig", "x5c"])?;
    let sig = s.bytes("sig")?;
    let x5c = s
        .x5c()?
        .ok_or_else(|| fail(FMT, AttestationFailure::Missing("x5c")))?;
    // Step 2: exactly one certificate, with an EC P-256 key.
    if x5c.len() != 1 {
        return Err(fail(
            FMT,
            format!("x5c must hold exactly one certificate, found {}", x5c.len()),
        ));
    }
    let cert = parse_cert(FMT, &x5c[0])?;
    if x509::spki_key(&cert).ok() != Some(SpkiKey::Ec(EcCurve::P256)) {
        return Err(fail(FMT, "attestation certificate key is not EC P-256"));
    }
    // Steps 3-4: the credential key as a raw ANSI X9.62 point (P-256 only).
    let acd = i.acd();
    let KeyParams::Ec2 {
        curve: EcCurve::P256,
        x,
        y,
    } = &acd.credential_public_key.params
    else {
        return Err(fail(FMT, "credential public key is not EC2 P-256"));
    };
    // Step 5: verificationData = 0x00 ‖ rpIdHash ‖ clientDataHash ‖ credentialId ‖ publicKeyU2F.
    let mut data = vec![0x00];
    data.extend_from_slice(&i.auth_data.rp_id_hash);
    data.extend_from_slice(i.client_data_hash);
    data.extend_from_slice(&acd.credential_id);
    data.push(0x04);
    data.extend_from_slice(x);
    data.extend_from_slice(y);
    // Step 6: verify with the certificate key, SHA-256.
    x509::verify_with_cert(&cert, SignatureScheme::EcdsaSha256, &data, sig).map_err(|e| {
        fail(
            FMT,
            AttestationFailure::Signature {
                what: "signature over the U2F registration data",
                reason: e.to_string(),
            },
        )
    })?;
    Ok(x5c)
}
