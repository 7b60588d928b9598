//! Ceremony options (L3 §5.4, §5.5) in their L3 JSON form, and the state the
//! RP keeps until the response comes back.

use crate::config::{RpConfig, UserVerification};
use crate::RpError;
use keyhaven_proto::b64;
use keyhaven_proto::json::{
    AuthenticatorSelectionJson, CreationOptionsJson, CredentialDescriptorJson,
    CredentialParametersJson, ExtensionInputsJson, RequestOptionsJson, RpEntityJson,
    UserEntityJson,
};
use serde::{Deserialize, Serialize};

/// The account a registration is for. The user handle must not contain PII:
/// leave it `None` for a fresh random 64-byte handle (L3 §14.6.1).
#[derive(Clone, Debug, Default)]
pub struct UserInfo {
    /// Account name ("alice@example.org").
    pub name: String,
    /// Display name ("Alice").
    pub display_name: String,
    /// Existing user handle (1..=64 bytes), or None for a new random one.
    pub handle: Option<Vec<u8>>,
}

/// Optional parts of registration options.
#[derive(Clone, Debug, Default)]
pub struct RegistrationExtras {
    /// Credentials the account already has (excludeCredentials).
    pub exclude_credentials: Vec<CredentialDescriptorJson>,
    /// "discouraged" / "preferred" / "required".
    pub resident_key: Option<String>,
    /// "platform" / "cross-platform".
    pub authenticator_attachment: Option<String>,
    /// "none" / "indirect" / "direct" / "enterprise".
    pub attestation: Option<String>,
    /// Preferred attestation formats.
    pub attestation_formats: Vec<String>,
    /// Hints.
    pub hints: Vec<String>,
    /// Extension inputs (credProps, prf, largeBlob, credProtect, minPinLength …).
    pub extensions: Option<ExtensionInputsJson>,
    /// Bytes put before the challenge's 32 random bytes (at most
    /// [`MAX_CHALLENGE_PREFIX`]), e.g. a time-ordered storage key.
    pub challenge_prefix: Vec<u8>,
}

/// Optional parts of authentication options.
#[derive(Clone, Debug, Default)]
pub struct AuthenticationExtras {
    /// The identified user's credentials (allowCredentials); empty for a discoverable login.
    pub allow_credentials: Vec<CredentialDescriptorJson>,
    /// The identified user's handle, if the user was identified before the ceremony.
    pub user_handle: Option<Vec<u8>>,
    /// Hints.
    pub hints: Vec<String>,
    /// Extension inputs.
    pub extensions: Option<ExtensionInputsJson>,
    /// Bytes put before the challenge's 32 random bytes (at most
    /// [`MAX_CHALLENGE_PREFIX`]).
    pub challenge_prefix: Vec<u8>,
    /// This ceremony's userVerification, instead of the configuration's
    /// (e.g. `Required` to reauthenticate before a sensitive operation: the
    /// UV flag is then checked in L3 §7.2).
    pub user_verification: Option<UserVerification>,
}

/// What the RP remembers between registration options and verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationState {
    /// The challenge issued.
    #[serde(with = "b64::serde_bytes")]
    pub challenge: Vec<u8>,
    /// The user handle of the account.
    #[serde(with = "b64::serde_bytes")]
    pub user_handle: Vec<u8>,
    /// Algorithms offered (pubKeyCredParams).
    pub algorithms: Vec<i64>,
    /// Whether UV is required.
    pub user_verification_required: bool,
    /// Conditional mediation (then UP is not required, L3 §7.1 step 15).
    #[serde(default)]
    pub conditional_mediation: bool,
    /// Extension inputs sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<ExtensionInputsJson>,
}

/// What the RP remembers between authentication options and verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationState {
    /// The challenge issued.
    #[serde(with = "b64::serde_bytes")]
    pub challenge: Vec<u8>,
    /// Credential IDs offered in allowCredentials (empty: discoverable).
    #[serde(default)]
    pub allow_credentials: Vec<String>,
    /// The user identified before the ceremony, if any.
    #[serde(
        default,
        with = "keyhaven_proto::json::b64_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_handle: Option<Vec<u8>>,
    /// Whether UV is required.
    pub user_verification_required: bool,
    /// Extension inputs sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<ExtensionInputsJson>,
}

fn random(n: usize) -> Result<Vec<u8>, RpError> {
    keyhaven_crypto::rand::vec(n).map_err(|e| RpError::Crypto(e.to_string()))
}

/// Longest challenge prefix accepted.
pub const MAX_CHALLENGE_PREFIX: usize = 32;

/// `prefix` followed by 32 random bytes (L3 §13.4.3: at least 16 random bytes).
fn challenge(prefix: &[u8]) -> Result<Vec<u8>, RpError> {
    if prefix.len() > MAX_CHALLENGE_PREFIX {
        return Err(RpError::Config(format!(
            "challenge prefix must be at most {MAX_CHALLENGE_PREFIX} bytes, found {}",
            prefix.len()
        )));
    }
    let mut c = prefix.to_vec();
    c.extend(random(32)?);
    Ok(c)
}

/// Registration options: a challenge of 32 random bytes (after the extras'
/// prefix, if any), a random 64-byte user handle
/// unless one is given, pubKeyCredParams from the configuration.
pub fn registration_options(
    cfg: &RpConfig,
    user: &UserInfo,
    extras: RegistrationExtras,
) -> Result<(CreationOptionsJson, RegistrationState), RpError> {
    let challenge = challenge(&extras.challenge_prefix)?;
    let handle = match &user.handle {
        Some(h) if !h.is_empty() && h.len() <= 64 => h.clone(),
        Some(h) => {
            return Err(RpError::Config(format!(
                "user handle must be 1..=64 bytes, found {}",
                h.len()
            )))
        }
        None => random(64)?,
    };
    let algorithms: Vec<i64> = cfg.algorithms.iter().map(|a| a.id()).collect();
    let uv = cfg.user_verification;
    let options = CreationOptionsJson {
        rp: RpEntityJson {
            name: cfg.rp_name.clone(),
            id: Some(cfg.rp_id.clone()),
        },
        user: UserEntityJson {
            id: handle.clone(),
            name: user.name.clone(),
            display_name: user.display_name.clone(),
        },
        challenge: challenge.clone(),
        pub_key_cred_params: algorithms
            .iter()
            .map(|alg| CredentialParametersJson {
                type_: "public-key".into(),
                alg: *alg,
            })
            .collect(),
        timeout: Some(cfg.timeout_ms),
        exclude_credentials: extras.exclude_credentials,
        authenticator_selection: Some(AuthenticatorSelectionJson {
            authenticator_attachment: extras.authenticator_attachment,
            require_resident_key: extras.resident_key.as_deref() == Some("required"),
            resident_key: extras.resident_key,
            user_verification: Some(uv.as_str().into()),
        }),
        hints: extras.hints,
        attestation: extras.attestation,
        attestation_formats: extras.attestation_formats,
        extensions: extras.extensions.clone(),
    };
    let state = RegistrationState {
        challenge,
        user_handle: handle,
        algorithms,
        user_verification_required: uv == UserVerification::Required,
        conditional_mediation: false,
        extensions: extras.extensions,
    };
    Ok((options, state))
}

/// Authentication options: a challenge of 32 random bytes (after the extras'
/// prefix, if any), allowCredentials for an
/// identified user (or empty for a discoverable login).
pub fn authentication_options(
    cfg: &RpConfig,
    extras: AuthenticationExtras,
) -> Result<(RequestOptionsJson, AuthenticationState), RpError> {
    let challenge = challenge(&extras.challenge_prefix)?;
    let uv = extras.user_verification.unwrap_or(cfg.user_verification);
    let state = AuthenticationState {
        challenge: challenge.clone(),
        allow_credentials: extras
            .allow_credentials
            .iter()
            .map(|d| b64::encode(&d.id))
            .collect(),
        user_handle: extras.user_handle,
        user_verification_required: uv == UserVerification::Required,
        extensions: extras.extensions.clone(),
    };
    let options = RequestOptionsJson {
        challenge,
        timeout: Some(cfg.timeout_ms),
        rp_id: Some(cfg.rp_id.clone()),
        allow_credentials: extras.allow_credentials,
        user_verification: Some(uv.as_str().into()),
        hints: extras.hints,
        attestation: None,
        attestation_formats: Vec::new(),
        extensions: extras.extensions,
    };
    Ok((options, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_prefix_comes_before_32_random_bytes() {
        let cfg = RpConfig::new("example.org", "Example");
        let extras = AuthenticationExtras {
            challenge_prefix: vec![1, 2, 3],
            ..Default::default()
        };
        let (options, state) =
            authentication_options(&cfg, extras.clone()).unwrap_or_else(|e| panic!("options: {e}"));
        assert_eq!(options.challenge.len(), 35);
        assert_eq!(options.challenge[..3], [1, 2, 3]);
        assert_eq!(state.challenge, options.challenge);
        let (again, _) =
            authentication_options(&cfg, extras).unwrap_or_else(|e| panic!("options: {e}"));
        assert_ne!(again.challenge[3..], options.challenge[3..]);
        let long = RegistrationExtras {
            challenge_prefix: vec![0; MAX_CHALLENGE_PREFIX + 1],
            ..Default::default()
        };
        assert!(matches!(
            registration_options(&cfg, &UserInfo::default(), long),
            Err(RpError::Config(_))
        ));
    }
}
