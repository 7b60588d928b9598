//! Extension outputs checked against what the RP requested
//! (L3 §7.1 step 28, §7.2 step 23; L3 §10, CTAP 2.2 §12).
//!
//! Unsolicited outputs that could change how the response is verified
//! (`appid`) are refused; other unsolicited outputs are ignored, as L3 allows.
//! Authenticator outputs of known extensions must have their defined types.

use crate::error::VerifyError;
use keyhaven_proto::cbor::Value;
use keyhaven_proto::json::{ExtensionInputsJson, ExtensionOutputsJson};

fn err(step: &'static str, ext: &str, reason: impl Into<String>) -> VerifyError {
    VerifyError::Extension {
        step,
        extension: ext.to_owned(),
        reason: reason.into(),
    }
}

/// credProtect levels by policy name (CTAP 2.2 §12.1).
fn cred_protect_level(policy: &str) -> Option<u64> {
    Some(match policy {
        "userVerificationOptional" => 1,
        "userVerificationOptionalWithCredentialIDList" => 2,
        "userVerificationRequired" => 3,
        _ => return None,
    })
}

fn check_authenticator_outputs(
    step: &'static str,
    outputs: Option<&Value>,
    registration: bool,
) -> Result<(), VerifyError> {
    let Some(map) = outputs.and_then(Value::as_map) else {
        return Ok(());
    };
    for (k, v) in map {
        let Some(id) = k.as_text() else { continue };
        let ok = match id {
            "credProtect" => matches!(v.as_u64(), Some(1..=3)),
            "hmac-secret" if registration => v.as_bool().is_some(),
            "hmac-secret" => v
                .as_bytes()
                .is_some_and(|b| b.len() == 32 || b.len() == 48 || b.len() == 64 || b.len() == 80),
            "credBlob" if registration => v.as_bool().is_some(),
            "credBlob" => v.as_bytes().is_some(),
            "minPinLength" => v.as_u64().is_some(),
            "thirdPartyPayment" => v.as_bool().is_some(),
            _ => true,
        };
        if !ok {
            return Err(err(
                step,
                id,
                format!("authenticator output has the wrong type or range: {v}"),
            ));
        }
    }
    Ok(())
}

pub(crate) fn check_registration(
    requested: Option<&ExtensionInputsJson>,
    client: &ExtensionOutputsJson,
    authenticator: Option<&Value>,
) -> Result<(), VerifyError> {
    const STEP: &str = "L3 §7.1 step 28";
    check_authenticator_outputs(STEP, authenticator, true)?;
    if client.appid_exclude.is_some() && requested.and_then(|r| r.appid_exclude.as_ref()).is_none()
    {
        return Err(err(
            STEP,
            "appidExclude",
            "output present but the extension was not requested",
        ));
    }
    if let Some(req) = requested {
        if req.enforce_credential_protection_policy == Some(true) {
            if let Some(level) = req
                .credential_protection_policy
                .as_deref()
                .and_then(cred_protect_level)
            {
                let got = authenticator
                    .and_then(|a| a.get_text("credProtect"))
                    .and_then(Value::as_u64);
                if level > 1 && got.is_none_or(|g| g < level) {
                    return Err(err(
                        STEP,
                        "credProtect",
                        format!("enforced policy level {level} requested, authenticator reported {got:?}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Returns whether the appid extension was used (rpIdHash is then SHA-256 of the appid).
pub(crate) fn appid_used(
    requested: Option<&ExtensionInputsJson>,
    client: &ExtensionOutputsJson,
) -> Result<bool, VerifyError> {
    match client.appid {
        Some(true) if requested.and_then(|r| r.appid.as_ref()).is_none() => Err(err(
            "L3 §7.2 step 23",
            "appid",
            "output true but the extension was not requested",
        )),
        Some(used) => Ok(used),
        None => Ok(false),
    }
}

pub(crate) fn check_authentication(authenticator: Option<&Value>) -> Result<(), VerifyError> {
    check_authenticator_outputs("L3 §7.2 step 23", authenticator, false)
}
