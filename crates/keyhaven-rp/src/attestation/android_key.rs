//! "android-key" (L3 §8.4) with the KeyDescription extension
//! (OID 1.3.6.1.4.1.11129.2.1.17, Android key attestation schema).

use super::{fail, parse_cert, verify_leaf, Input, Stmt};
use crate::error::{AttestationFailure, VerifyError};
use crate::x509;
use keyhaven_proto::der::{DerError, Reader, Tag};

const FMT: &str = "android-key";
/// KM_ORIGIN_GENERATED.
const ORIGIN_GENERATED: u64 = 0;
/// KM_PURPOSE_SIGN.
const PURPOSE_SIGN: u64 = 2;

/// The parts of an AuthorizationList the verification procedure reads.
#[derive(Default, Debug)]
struct AuthorizationList {
    purpose: Option<Vec<u64>>,
    all_applications: bool,
    origin: Option<u64>,
}

fn authorization_list(mut r: Reader) -> Result<AuthorizationList, DerError> {
    let mut list = AuthorizationList::default();
    while !r.is_empty() {
        let (tag, mut content) = r.read()?;
        if tag.class != 2 {
            continue;
        }
        match tag.number {
            1 => {
                let mut set = content.expect(Tag::SET)?;
                let mut purposes = Vec::new();
                while !set.is_empty() {
                    purposes.push(set.read_uint(Tag::INTEGER)?);
                }
                list.purpose = Some(purposes);
            }
            600 => list.all_applications = true,
            702 => list.origin = Some(content.read_uint(Tag::INTEGER)?),
            _ => {}
        }
    }
    Ok(list)
}

/// (attestationChallenge, softwareEnforced, teeEnforced)
fn key_description(
    ext: &[u8],
) -> Result<(Vec<u8>, AuthorizationList, AuthorizationList), DerError> {
    let mut seq = Reader::new(ext).expect(Tag::SEQUENCE)?;
    seq.read_uint(Tag::INTEGER)?; // attestationVersion
    seq.read_uint(Tag::ENUMERATED)?; // attestationSecurityLevel
    seq.read_uint(Tag::INTEGER)?; // keymasterVersion
    seq.read_uint(Tag::ENUMERATED)?; // keymasterSecurityLevel
    let challenge = seq.expect(Tag::OCTET_STRING)?.bytes().to_vec();
    seq.expect(Tag::OCTET_STRING)?; // uniqueId
    let software = authorization_list(seq.expect(Tag::SEQUENCE)?)?;
    let tee = authorization_list(seq.expect(Tag::SEQUENCE)?)?;
    Ok((challenge, software, tee))
}

pub(super) fn verify(i: &Input) -> Result<Vec<Vec<u8>>, VerifyError> {
    // Syntax.
    let s = Stmt::new(FMT, i, &["alg", "sig", "x5c"])?;
    let alg = s.alg()?;
    let sig = s.bytes("sig")?;
    let x5c = s
        .x5c()?
        .ok_or_else(|| fail(FMT, AttestationFailure::Missing("x5c")))?;
    let leaf = parse_cert(FMT, &x5c[0])?;
    // The signature over authenticatorData ‖ clientDataHash with the first certificate's key.
    verify_leaf(FMT, &leaf, alg, &i.signed_data(), sig)?;
    // The first certificate's key is the credential public key.
    if !x509::cert_key_matches(&leaf, &i.acd().credential_public_key) {
        return Err(fail(
            FMT,
            "credential public key differs from the attestation certificate's key",
        ));
    }
    let (ext, _) = x509::extension(&leaf, "1.3.6.1.4.1.11129.2.1.17").ok_or_else(|| {
        fail(
            FMT,
            "attestation certificate lacks the key description extension",
        )
    })?;
    let (challenge, software, tee) =
        key_description(ext).map_err(|e| fail(FMT, format!("key description: {e}")))?;
    // attestationChallenge is the clientDataHash.
    if !keyhaven_crypto::ct_eq(&challenge, i.client_data_hash) {
        return Err(fail(
            FMT,
            "attestationChallenge does not equal clientDataHash",
        ));
    }
    // allApplications is on neither list.
    if software.all_applications || tee.all_applications {
        return Err(fail(
            FMT,
            "AuthorizationList.allApplications is present: the key is not scoped to the RP ID",
        ));
    }
    // origin and purpose: teeEnforced only, or the union with softwareEnforced.
    let lists: Vec<&AuthorizationList> = if i.policy.android_key_require_tee {
        vec![&tee]
    } else {
        vec![&tee, &software]
    };
    let origins: Vec<u64> = lists.iter().filter_map(|l| l.origin).collect();
    if origins.is_empty() || origins.iter().any(|o| *o != ORIGIN_GENERATED) {
        return Err(fail(
            FMT,
            format!("AuthorizationList.origin must be KM_ORIGIN_GENERATED (0), found {origins:?}"),
        ));
    }
    let purposes: Vec<u64> = lists
        .iter()
        .filter_map(|l| l.purpose.as_ref())
        .flatten()
        .copied()
        .collect();
    if purposes.is_empty() || purposes.iter().any(|p| *p != PURPOSE_SIGN) {
        return Err(fail(
            FMT,
            format!("AuthorizationList.purpose must be KM_PURPOSE_SIGN (2), found {purposes:?}"),
        ));
    }
    Ok(x5c)
}
