//! The registration ceremony, L3 §7.1 "Registering a New Credential".

use crate::attestation::{self, AttestationResult, AttestationType, Input};
use crate::ceremony::{self, REGISTRATION as S};
use crate::config::RpConfig;
use crate::error::{TrustFailure, VerifyError};
use crate::extensions;
use crate::options::RegistrationState;
use crate::record::{CredentialRecord, RECORD_VERSION};
use crate::x509;
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::attestation::{AttestationObject, AttestationObjectError};
use keyhaven_proto::authdata::{AttestedCredentialData, AuthDataError, MAX_CREDENTIAL_ID_LEN};
use keyhaven_proto::client_data::TYPE_CREATE;
use keyhaven_proto::cose::CoseError;
use keyhaven_proto::json::RegistrationResponseJson;

/// A verified registration.
#[derive(Clone, Debug)]
pub struct RegistrationResult {
    /// The credential record to store.
    pub record: CredentialRecord,
    /// The attestation format's verdict.
    pub attestation: AttestationResult,
    /// Whether the attestation trust path chains to a configured anchor.
    pub attestation_trusted: bool,
    /// UV flag.
    pub user_verified: bool,
}

/// Runs every step of L3 §7.1 on `response` for the ceremony in `state`.
/// `is_registered(credential_id)` tells whether the ID is already known (step 26).
pub fn verify_registration(
    cfg: &RpConfig,
    response: &RegistrationResponseJson,
    state: &RegistrationState,
    is_registered: impl FnOnce(&[u8]) -> bool,
) -> Result<RegistrationResult, VerifyError> {
    // Step 3: an attestation response (typed by RegistrationResponseJson), type public-key, id = base64url(rawId).
    ceremony::check_credential(&S, &response.type_, &response.id, &response.raw_id)?;
    // Step 4: clientExtensionResults (checked in step 28).
    let client_ext = &response.client_extension_results;
    // Steps 5-11: client data.
    let raw_cd = &response.response.client_data_json;
    ceremony::check_client_data(cfg, &S, raw_cd, TYPE_CREATE, &state.challenge)?;
    // Step 12: hash of clientDataJSON.
    let hash = sha256(raw_cd);
    let ao = decode_attestation_object(cfg, &response.response.attestation_object)?;
    let acd = check_authenticator_data(cfg, state, &ao, &response.raw_id)?;
    // Steps 21-22: the format's verification procedure.
    let input = Input {
        att_stmt: &ao.att_stmt,
        auth_data: &ao.auth_data,
        auth_data_raw: &ao.auth_data_raw,
        client_data_hash: &hash,
        policy: &cfg.attestation,
        now: cfg.clock.now(),
        cbor: cfg.cbor_policy,
    };
    let att = attestation::verify(&ao.fmt, &input)?;
    let trusted = assess_trust(cfg, acd, &att)?;
    // Step 25: credential ID length (also bounded by the authenticator data parser).
    if acd.credential_id.len() > MAX_CREDENTIAL_ID_LEN {
        return Err(VerifyError::CredentialIdTooLong {
            step: "L3 §7.1 step 25",
            len: acd.credential_id.len(),
        });
    }
    // Step 26: not yet registered.
    if is_registered(&acd.credential_id) {
        return Err(VerifyError::CredentialAlreadyRegistered {
            step: "L3 §7.1 step 26",
        });
    }
    let ad = &ao.auth_data;
    // Step 28: extension outputs against what was requested.
    extensions::check_registration(
        state.extensions.as_ref(),
        client_ext,
        ad.extensions.as_ref(),
    )?;
    // Step 27: the credential record.
    let record = CredentialRecord {
        version: RECORD_VERSION,
        type_: response.type_.clone(),
        id: acd.credential_id.clone(),
        public_key: acd.credential_public_key.to_bytes(),
        algorithm: acd.credential_public_key.alg.id(),
        sign_count: ad.sign_count,
        transports: response.response.transports.clone(),
        backup_eligible: ad.flags.be(),
        backup_state: ad.flags.bs(),
        uv_initialized: ad.flags.uv(),
        aaguid: acd.aaguid.to_string(),
        attestation_format: att.fmt.clone(),
        attestation_type: att.attestation_type.name().to_owned(),
        attestation_trusted: trusted,
        user_handle: Some(state.user_handle.clone()),
        rp_id: cfg.rp_id.clone(),
        created_at: cfg.clock.unix_seconds(),
        last_used_at: None,
    };
    Ok(RegistrationResult {
        record,
        attestation: att,
        attestation_trusted: trusted,
        user_verified: ad.flags.uv(),
    })
}

/// Step 13: CBOR decoding of the attestation object, under the configured
/// policy (trailing bytes and duplicate keys are errors under both). A
/// credential key of an algorithm this RP cannot verify is step 20's failure.
fn decode_attestation_object(
    cfg: &RpConfig,
    bytes: &[u8],
) -> Result<AttestationObject, VerifyError> {
    AttestationObject::from_bytes_with(bytes, cfg.cbor_policy).map_err(|e| match e {
        AttestationObjectError::AuthData(AuthDataError::CredentialPublicKey {
            source: CoseError::UnsupportedAlgorithm(alg),
            ..
        }) => VerifyError::UnsupportedAlgorithm {
            step: "L3 §7.1 step 20",
            alg,
        },
        e => VerifyError::Malformed {
            step: "L3 §7.1 step 13",
            what: "attestationObject",
            reason: e.to_string(),
        },
    })
}

/// Steps 14–20: rpIdHash, the flags, the attested credential data (whose ID
/// must be rawId) and its key's algorithm, which the options must have
/// offered and which must be a usable key.
fn check_authenticator_data<'a>(
    cfg: &RpConfig,
    state: &RegistrationState,
    ao: &'a AttestationObject,
    raw_id: &[u8],
) -> Result<&'a AttestedCredentialData, VerifyError> {
    let ad = &ao.auth_data;
    // Step 14: rpIdHash.
    ceremony::check_rp_id_hash(&S, ad, &[&cfg.rp_id])?;
    // Steps 15-17: UP (unless conditional mediation), UV when required, BS only with BE.
    ceremony::check_flags(
        &S,
        ad.flags,
        !state.conditional_mediation,
        state.user_verification_required,
    )?;
    // Steps 18-19: BE and BS are recorded in the credential record.
    let acd =
        ad.attested_credential_data
            .as_ref()
            .ok_or(VerifyError::NoAttestedCredentialData {
                step: "L3 §7.1 step 13",
            })?;
    if acd.credential_id != raw_id {
        return Err(VerifyError::Malformed {
            step: "L3 §7.1 step 27",
            what: "rawId",
            reason: "rawId differs from the credentialId in authenticator data".into(),
        });
    }
    // Step 20: the credential public key's alg was requested.
    let alg = acd.credential_public_key.alg.id();
    if !state.algorithms.contains(&alg) {
        return Err(VerifyError::Algorithm {
            step: "L3 §7.1 step 20",
            found: alg,
            requested: state
                .algorithms
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    // (Step 20, continued) the key must be usable: a point on its curve, an RSA key of an accepted size.
    keyhaven_crypto::signature::check_public_key(&acd.credential_public_key).map_err(|e| {
        VerifyError::Malformed {
            step: "L3 §7.1 step 20",
            what: "credentialPublicKey",
            reason: e.to_string(),
        }
    })?;
    Ok(acd)
}

/// Steps 23–24: the trust anchors (the configured roots and, with FIDO MDS,
/// the authenticator's entry's roots, its status reports being policy), then
/// whether the attestation is acceptable and its path trusted.
fn assess_trust(
    cfg: &RpConfig,
    acd: &AttestedCredentialData,
    att: &AttestationResult,
) -> Result<bool, VerifyError> {
    // Step 23: trust anchors: the configured roots, plus the MDS entry's roots;
    // the MDS status reports are policy.
    let policy = &cfg.attestation;
    let mut anchors = policy.trust_anchors.clone();
    if let Some(mds) = &policy.mds {
        let aaguid = acd.aaguid.to_string();
        match mds.entry_for(&aaguid, att.trust_path.first().map(Vec::as_slice)) {
            Some(entry) => {
                if let Some(status) = entry.rejected_status(&mds.rejected_statuses) {
                    return Err(VerifyError::AttestationTrust {
                        step: "L3 §7.1 step 23",
                        reason: TrustFailure::MdsStatus {
                            aaguid,
                            status: status.to_owned(),
                        },
                    });
                }
                anchors.extend(entry.attestation_root_certificates.iter().cloned());
            }
            None if policy.mds_require_entry => {
                return Err(VerifyError::AttestationTrust {
                    step: "L3 §7.1 step 23",
                    reason: TrustFailure::NoMdsEntry(aaguid),
                })
            }
            None => {}
        }
    }
    // Step 24: assess the attestation's trustworthiness.
    let trusted = match att.attestation_type {
        AttestationType::None => {
            if !policy.allow_none {
                return Err(VerifyError::AttestationTrust {
                    step: "L3 §7.1 step 24",
                    reason: TrustFailure::NoneNotAllowed,
                });
            }
            false
        }
        AttestationType::SelfAttestation => {
            if !policy.allow_self {
                return Err(VerifyError::AttestationTrust {
                    step: "L3 §7.1 step 24",
                    reason: TrustFailure::SelfNotAllowed,
                });
            }
            false
        }
        _ => match x509::validate_path(
            &att.trust_path,
            &x509::PathOptions {
                anchors: &anchors,
                now: cfg.clock.now(),
                allow_sha1: policy.allow_sha1,
                crls: &policy.crls,
            },
        ) {
            Ok(()) => true,
            Err(e) if policy.require_trusted => {
                return Err(VerifyError::AttestationTrust {
                    step: "L3 §7.1 step 24",
                    reason: e.into(),
                })
            }
            Err(_) => false,
        },
    };
    Ok(trusted)
}
