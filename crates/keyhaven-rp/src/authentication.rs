//! The authentication ceremony, L3 §7.2 "Verifying an Authentication Assertion".

use crate::ceremony::{self, AUTHENTICATION as S};
use crate::config::{BackupEligibilityPolicy, CounterPolicy, RpConfig};
use crate::error::VerifyError;
use crate::extensions;
use crate::options::AuthenticationState;
use crate::record::CredentialRecord;
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::authdata::AuthenticatorData;
use keyhaven_proto::b64;
use keyhaven_proto::client_data::TYPE_GET;
use keyhaven_proto::json::AuthenticationResponseJson;

/// A verified assertion.
#[derive(Clone, Debug)]
pub struct AuthenticationResult {
    /// The credential record with its new state (step 24): store it.
    pub record: CredentialRecord,
    /// The user handle of the account that was authenticated.
    pub user_handle: Option<Vec<u8>>,
    /// UV flag.
    pub user_verified: bool,
    /// The counter did not increase and the policy accepted it anyway.
    pub counter_suspicious: bool,
    /// BE went from 1 to 0 and the policy accepted it anyway.
    pub backup_eligibility_lost: bool,
    /// The FIDO appid was used instead of the RP ID.
    pub appid_used: bool,
}

/// Runs every step of L3 §7.2. `lookup(credential_id)` returns the stored
/// record for a credential ID, if any (step 6).
pub fn verify_authentication(
    cfg: &RpConfig,
    response: &AuthenticationResponseJson,
    state: &AuthenticationState,
    lookup: impl FnOnce(&[u8]) -> Option<CredentialRecord>,
) -> Result<AuthenticationResult, VerifyError> {
    // Step 3: an assertion response, type public-key, id = base64url(rawId).
    ceremony::check_credential(&S, &response.type_, &response.id, &response.raw_id)?;
    // Step 4: clientExtensionResults (checked in steps 15 and 23).
    let client_ext = &response.client_extension_results;
    // Steps 5-6: allowCredentials, the user and the credential record.
    let (account, mut record) = identify(response, state, lookup)?;
    // Step 7: cData, authData, sig.
    let c_data = &response.response.client_data_json;
    let auth_data =
        ceremony::decode_auth_data(cfg, "L3 §7.2 step 7", &response.response.authenticator_data)?;
    if auth_data.attested_credential_data.is_some() {
        return Err(VerifyError::UnexpectedAttestedCredentialData {
            step: "L3 §7.2 step 7",
        });
    }
    // Steps 8-14: client data.
    ceremony::check_client_data(cfg, &S, c_data, TYPE_GET, &state.challenge)?;
    // Step 15: rpIdHash (the appid's hash when the appid extension was used).
    let appid_used = extensions::appid_used(state.extensions.as_ref(), client_ext)?;
    let appid = state
        .extensions
        .as_ref()
        .and_then(|e| e.appid.clone())
        .or(cfg.appid.clone());
    match (appid_used, appid) {
        (true, Some(appid)) => ceremony::check_rp_id_hash(&S, &auth_data, &[&appid])?,
        _ => ceremony::check_rp_id_hash(&S, &auth_data, &[&cfg.rp_id])?,
    };
    // Steps 16-18: UP, UV when required, BS only with BE.
    ceremony::check_flags(&S, auth_data.flags, true, state.user_verification_required)?;
    // Step 19: BE against the record.
    let current_be = auth_data.flags.be();
    let mut backup_eligibility_lost = false;
    if current_be != record.backup_eligible {
        match cfg.backup_eligibility_policy {
            BackupEligibilityPolicy::Reject => {
                return Err(VerifyError::BackupEligibilityChanged {
                    step: "L3 §7.2 step 19",
                    stored: record.backup_eligible,
                    found: current_be,
                })
            }
            BackupEligibilityPolicy::UpdateOrFlag => backup_eligibility_lost = !current_be,
        }
    }
    // Steps 20-22: the signature with the stored key, the signature counter.
    let counter_suspicious = check_signature_and_counter(cfg, response, &auth_data, &record)?;
    // Step 23: extension outputs.
    extensions::check_authentication(auth_data.extensions.as_ref())?;
    // Step 24: update the record.
    if !counter_suspicious || auth_data.sign_count > record.sign_count {
        record.sign_count = auth_data.sign_count;
    }
    record.backup_state = auth_data.flags.bs();
    if current_be && !record.backup_eligible {
        record.backup_eligible = true;
    }
    if !record.uv_initialized {
        record.uv_initialized = auth_data.flags.uv();
    }
    record.last_used_at = Some(cfg.clock.unix_seconds());
    Ok(AuthenticationResult {
        record,
        user_handle: Some(account),
        user_verified: auth_data.flags.uv(),
        counter_suspicious,
        backup_eligibility_lost,
        appid_used,
    })
}

/// Steps 5–6: the credential is one the options allowed, the user is
/// identified (before the ceremony, or by userHandle), and the credential
/// record found for rawId belongs to that user.
fn identify(
    response: &AuthenticationResponseJson,
    state: &AuthenticationState,
    lookup: impl FnOnce(&[u8]) -> Option<CredentialRecord>,
) -> Result<(Vec<u8>, CredentialRecord), VerifyError> {
    // Step 5: allowCredentials membership.
    if !state.allow_credentials.is_empty()
        && !state
            .allow_credentials
            .iter()
            .any(|c| *c == b64::encode(&response.raw_id))
    {
        return Err(VerifyError::NotAllowed {
            step: "L3 §7.2 step 5",
        });
    }
    // Step 6: identify the user and the credential record.
    let user_handle = response.response.user_handle.as_deref();
    let account = match (&state.user_handle, user_handle) {
        // Identified before the ceremony: a present userHandle must be that account's.
        (Some(identified), Some(given)) if identified.as_slice() != given => {
            return Err(VerifyError::UserHandleMismatch {
                step: "L3 §7.2 step 6",
            })
        }
        (Some(identified), _) => identified.clone(),
        // Not identified: userHandle is required.
        (None, Some(given)) => given.to_vec(),
        (None, None) => {
            return Err(VerifyError::UserHandleMissing {
                step: "L3 §7.2 step 6",
            })
        }
    };
    let record = lookup(&response.raw_id).ok_or(VerifyError::UnknownCredential {
        step: "L3 §7.2 step 6",
        reason: "no credential record with this credential ID",
    })?;
    if record.id != response.raw_id {
        return Err(VerifyError::UnknownCredential {
            step: "L3 §7.2 step 6",
            reason: "the credential record returned has a different ID",
        });
    }
    if record.user_handle.as_deref() != Some(account.as_slice()) {
        return Err(VerifyError::UserHandleMismatch {
            step: "L3 §7.2 step 6",
        });
    }
    Ok((account, record))
}

/// Steps 20–22: the signature over authData ‖ SHA-256(cData) verifies with the
/// stored public key, and the signature counter moved forward (or the policy
/// accepts that it did not: `Ok(true)`).
fn check_signature_and_counter(
    cfg: &RpConfig,
    response: &AuthenticationResponseJson,
    auth_data: &AuthenticatorData,
    record: &CredentialRecord,
) -> Result<bool, VerifyError> {
    let c_data = &response.response.client_data_json;
    let sig = &response.response.signature;
    // Steps 20-21: signature over authData ‖ SHA-256(cData) with the stored key.
    let hash = sha256(c_data);
    let key = record.cose_key().map_err(|e| VerifyError::Malformed {
        step: "L3 §7.2 step 21",
        what: "stored credential public key",
        reason: e.to_string(),
    })?;
    let signed = [response.response.authenticator_data.as_slice(), &hash].concat();
    keyhaven_crypto::signature::verify(&key, &signed, sig).map_err(VerifyError::Signature)?;
    // Step 22: signature counter.
    let mut counter_suspicious = false;
    if (auth_data.sign_count != 0 || record.sign_count != 0)
        && auth_data.sign_count <= record.sign_count
    {
        match cfg.counter_policy {
            CounterPolicy::Reject => {
                return Err(VerifyError::SignCount {
                    step: "L3 §7.2 step 22",
                    stored: record.sign_count,
                    found: auth_data.sign_count,
                })
            }
            CounterPolicy::AcceptAndFlag => counter_suspicious = true,
        }
    }
    Ok(counter_suspicious)
}
