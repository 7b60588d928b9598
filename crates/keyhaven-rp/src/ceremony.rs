//! Checks shared by §7.1 and §7.2: the response's credential members, the
//! client data, the rpIdHash and the flags. Each takes the step labels of the
//! ceremony it runs in, so errors name the right step.

use crate::config::{MissingTopOrigin, RpConfig};
use crate::error::VerifyError;
use crate::origin::origin_allowed;
use keyhaven_crypto::ct_eq;
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::authdata::{AuthenticatorData, Flags};
use keyhaven_proto::b64;
use keyhaven_proto::client_data::CollectedClientData;

/// Step labels of one ceremony.
pub(crate) struct Steps {
    pub response: &'static str,
    pub client_data: &'static str,
    pub type_: &'static str,
    pub challenge: &'static str,
    pub origin: &'static str,
    pub cross_origin: &'static str,
    pub top_origin: &'static str,
    pub rp_id_hash: &'static str,
    pub up: &'static str,
    pub uv: &'static str,
    pub be_bs: &'static str,
}

pub(crate) const REGISTRATION: Steps = Steps {
    response: "L3 §7.1 step 3",
    client_data: "L3 §7.1 steps 5-6",
    type_: "L3 §7.1 step 7",
    challenge: "L3 §7.1 step 8",
    origin: "L3 §7.1 step 9",
    cross_origin: "L3 §7.1 step 10",
    top_origin: "L3 §7.1 step 11",
    rp_id_hash: "L3 §7.1 step 14",
    up: "L3 §7.1 step 15",
    uv: "L3 §7.1 step 16",
    be_bs: "L3 §7.1 step 17",
};

pub(crate) const AUTHENTICATION: Steps = Steps {
    response: "L3 §7.2 step 3",
    client_data: "L3 §7.2 steps 8-9",
    type_: "L3 §7.2 step 10",
    challenge: "L3 §7.2 step 11",
    origin: "L3 §7.2 step 12",
    cross_origin: "L3 §7.2 step 13",
    top_origin: "L3 §7.2 step 14",
    rp_id_hash: "L3 §7.2 step 15",
    up: "L3 §7.2 step 16",
    uv: "L3 §7.2 step 17",
    be_bs: "L3 §7.2 step 18",
};

/// Authenticator data decoded under the configured CBOR policy; a failure is
/// `Malformed` at `step`.
pub(crate) fn decode_auth_data(
    cfg: &RpConfig,
    step: &'static str,
    bytes: &[u8],
) -> Result<AuthenticatorData, VerifyError> {
    AuthenticatorData::from_bytes_with(bytes, cfg.cbor_policy).map_err(|e| VerifyError::Malformed {
        step,
        what: "authenticatorData",
        reason: e.to_string(),
    })
}

/// The credential's `type` and that `id` is base64url(`rawId`).
pub(crate) fn check_credential(
    s: &Steps,
    type_: &str,
    id: &str,
    raw_id: &[u8],
) -> Result<(), VerifyError> {
    if type_ != "public-key" {
        return Err(VerifyError::CredentialType {
            step: s.response,
            found: type_.to_owned(),
        });
    }
    if b64::decode(id).ok().as_deref() != Some(raw_id) {
        return Err(VerifyError::IdMismatch { id: id.to_owned() });
    }
    Ok(())
}

/// Parses and checks the client data: type, challenge (constant time),
/// origin, crossOrigin, topOrigin.
pub(crate) fn check_client_data(
    cfg: &RpConfig,
    s: &Steps,
    raw: &[u8],
    expected_type: &'static str,
    challenge: &[u8],
) -> Result<CollectedClientData, VerifyError> {
    // UTF-8 decode strips a leading byte order mark.
    let json = raw.strip_prefix(b"\xef\xbb\xbf").unwrap_or(raw);
    let c = CollectedClientData::from_json_bytes(json).map_err(|e| VerifyError::Malformed {
        step: s.client_data,
        what: "clientDataJSON",
        reason: e.to_string(),
    })?;
    if c.type_ != expected_type {
        return Err(VerifyError::ClientDataType {
            step: s.type_,
            expected: expected_type,
            found: c.type_.clone(),
        });
    }
    // C.challenge equals the base64url encoding of the challenge (compared in constant time).
    if !ct_eq(c.challenge.as_bytes(), b64::encode(challenge).as_bytes()) {
        return Err(VerifyError::Challenge { step: s.challenge });
    }
    if !origin_allowed(&c.origin, &cfg.origins, &cfg.rp_id, cfg.origin_rules) {
        return Err(VerifyError::Origin {
            step: s.origin,
            found: c.origin.clone(),
            allowed: cfg.origins.join(", "),
        });
    }
    let cross = c.cross_origin == Some(true);
    if cross && !cfg.allow_cross_origin {
        return Err(VerifyError::CrossOrigin {
            step: s.cross_origin,
        });
    }
    match &c.top_origin {
        Some(top) => {
            if !cfg.allow_cross_origin {
                return Err(VerifyError::TopOrigin {
                    step: s.top_origin,
                    reason: format!("{top:?} is present but cross-origin use is not allowed"),
                });
            }
            if !cross {
                return Err(VerifyError::TopOrigin {
                    step: s.top_origin,
                    reason: "present although crossOrigin is not true".into(),
                });
            }
            if !cfg.top_origins.iter().any(|t| t == top) {
                return Err(VerifyError::TopOrigin {
                    step: s.top_origin,
                    reason: format!(
                        "{top:?} is not an allowed top origin (allowed: {})",
                        cfg.top_origins.join(", ")
                    ),
                });
            }
        }
        None if cross && cfg.missing_top_origin == MissingTopOrigin::Reject => {
            return Err(VerifyError::TopOrigin {
                step: s.top_origin,
                reason: "absent although crossOrigin is true (policy: reject)".into(),
            })
        }
        None => {}
    }
    Ok(c)
}

/// rpIdHash is SHA-256 of the RP ID (or of one of `alternatives`, e.g. the appid).
/// Returns the index of the matching ID (0 = rp_id).
pub(crate) fn check_rp_id_hash(
    s: &Steps,
    ad: &AuthenticatorData,
    ids: &[&str],
) -> Result<usize, VerifyError> {
    ids.iter()
        .position(|id| ad.rp_id_hash == sha256(id.as_bytes()))
        .ok_or_else(|| VerifyError::RpIdHash {
            step: s.rp_id_hash,
            expected: ids.join(" or "),
            found: hex::encode(ad.rp_id_hash),
        })
}

/// UP set (unless conditional mediation), UV when required, BS only with BE.
pub(crate) fn check_flags(
    s: &Steps,
    flags: Flags,
    require_up: bool,
    require_uv: bool,
) -> Result<(), VerifyError> {
    if require_up && !flags.up() {
        return Err(VerifyError::UserPresence { step: s.up });
    }
    if require_uv && !flags.uv() {
        return Err(VerifyError::UserVerification { step: s.uv });
    }
    if flags.bs() && !flags.be() {
        return Err(VerifyError::BackupStateWithoutEligibility { step: s.be_bs });
    }
    Ok(())
}
