//! The WebAuthn L3 JSON forms (L3 §5.1.8 `toJSON()`, §5.1.9 `parseCreationOptionsFromJSON`,
//! §5.1.10 `parseRequestOptionsFromJSON`, and their dictionaries).
//!
//! Binary members are `Base64URLString`s: written as base64url without padding,
//! read from base64url with or without padding, or standard base64. Enumerated
//! strings (transports, hints, attachment, residentKey, userVerification,
//! attestation) are plain strings so unknown values round-trip unchanged, as
//! L3 §2.1.1 asks clients and RPs to tolerate them. Unknown extension members
//! are kept.
//!
//! ```
//! use keyhaven_proto::json::AuthenticationResponseJson;
//! let json = r#"{"id":"AQID","rawId":"AQID","type":"public-key","clientExtensionResults":{},
//!   "response":{"clientDataJSON":"e30","authenticatorData":"AA","signature":"AA==","userHandle":""}}"#;
//! let r: AuthenticationResponseJson = serde_json::from_str(json).unwrap();
//! assert_eq!(r.raw_id, [1, 2, 3]);
//! assert!(r.response.user_handle.is_none()); // "" means absent
//! ```

use crate::b64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value as Json};

/// Serde adapters for optional base64url members.
pub mod b64_opt {
    use super::*;

    /// Writes `Some(bytes)` as base64url.
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&b64::encode(b)),
            None => s.serialize_none(),
        }
    }

    /// Reads base64url text or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        b64::serde_bytes::deserialize_option(d)
    }

    /// Like [`deserialize`], but `""` reads as absent (userHandle).
    pub fn deserialize_empty_as_none<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(deserialize(d)?.filter(|b| !b.is_empty()))
    }
}

use b64::serde_bytes as b64_req;

/// Values of the string enumerations (L3 §5.4 – §5.10). Other strings are kept as they are.
pub mod values {
    /// PublicKeyCredentialType.
    pub const PUBLIC_KEY: &str = "public-key";
    /// AuthenticatorTransport values.
    pub const TRANSPORTS: [&str; 6] = ["usb", "nfc", "ble", "smart-card", "hybrid", "internal"];
    /// PublicKeyCredentialHint values.
    pub const HINTS: [&str; 3] = ["security-key", "client-device", "hybrid"];
    /// AuthenticatorAttachment values.
    pub const ATTACHMENTS: [&str; 2] = ["platform", "cross-platform"];
    /// ResidentKeyRequirement values.
    pub const RESIDENT_KEY: [&str; 3] = ["discouraged", "preferred", "required"];
    /// UserVerificationRequirement values.
    pub const USER_VERIFICATION: [&str; 3] = ["required", "preferred", "discouraged"];
    /// AttestationConveyancePreference values.
    pub const ATTESTATION: [&str; 4] = ["none", "indirect", "direct", "enterprise"];
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// PublicKeyCredentialRpEntity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpEntityJson {
    /// Human-palatable name.
    pub name: String,
    /// RP ID (defaults to the caller's effective domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// PublicKeyCredentialUserEntityJSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEntityJson {
    /// User handle.
    #[serde(with = "b64_req")]
    pub id: Vec<u8>,
    /// Account name.
    pub name: String,
    /// Display name.
    pub display_name: String,
}

/// PublicKeyCredentialParameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialParametersJson {
    /// "public-key".
    #[serde(rename = "type")]
    pub type_: String,
    /// COSE algorithm identifier.
    pub alg: i64,
}

/// PublicKeyCredentialDescriptorJSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDescriptorJson {
    /// "public-key".
    #[serde(rename = "type")]
    pub type_: String,
    /// Credential ID.
    #[serde(with = "b64_req")]
    pub id: Vec<u8>,
    /// Transport hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transports: Option<Vec<String>>,
}

/// AuthenticatorSelectionCriteria.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelectionJson {
    /// "platform" / "cross-platform".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<String>,
    /// "discouraged" / "preferred" / "required".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resident_key: Option<String>,
    /// Level 1 compatibility member (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub require_resident_key: bool,
    /// "required" / "preferred" / "discouraged" (default "preferred").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<String>,
}

/// AuthenticationExtensionsPRFValuesJSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrfValuesJson {
    /// First PRF input / output.
    #[serde(with = "b64_req")]
    pub first: Vec<u8>,
    /// Optional second input / output.
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub second: Option<Vec<u8>>,
}

/// AuthenticationExtensionsPRFInputsJSON.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrfInputsJson {
    /// Inputs for any credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<PrfValuesJson>,
    /// Inputs per credential ID (base64url keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_by_credential: Option<std::collections::BTreeMap<String, PrfValuesJson>>,
}

/// AuthenticationExtensionsLargeBlobInputsJSON.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LargeBlobInputsJson {
    /// "required" / "preferred" (create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<String>,
    /// Read the blob (get).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<bool>,
    /// Write this blob (get).
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub write: Option<Vec<u8>>,
}

/// HMACGetSecretInput (the hmac-secret client extension, L3-adjacent CTAP 2.2 §12.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HmacGetSecretInputJson {
    /// 32-byte salt.
    #[serde(with = "b64_req")]
    pub salt1: Vec<u8>,
    /// Optional second salt.
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub salt2: Option<Vec<u8>>,
}

/// AuthenticationExtensionsClientInputsJSON (L3 §9 and CTAP 2.2 §12).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionInputsJson {
    /// FIDO AppID (get).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// FIDO AppID exclusion (create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid_exclude: Option<String>,
    /// Credential properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred_props: Option<bool>,
    /// PRF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prf: Option<PrfInputsJson>,
    /// Large blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_blob: Option<LargeBlobInputsJson>,
    /// credProtect: "userVerificationOptional" / "userVerificationOptionalWithCredentialIDList" / "userVerificationRequired".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_protection_policy: Option<String>,
    /// credProtect enforcement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_credential_protection_policy: Option<bool>,
    /// credBlob to store (create).
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub cred_blob: Option<Vec<u8>>,
    /// Read the credBlob (get).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_cred_blob: Option<bool>,
    /// minPinLength.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_pin_length: Option<bool>,
    /// hmac-secret at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_create_secret: Option<bool>,
    /// hmac-secret at get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_get_secret: Option<HmacGetSecretInputJson>,
    /// Any other extension, kept as given.
    #[serde(flatten)]
    pub other: Map<String, Json>,
}

/// PublicKeyCredentialCreationOptionsJSON (L3 §5.1.9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptionsJson {
    /// The RP.
    pub rp: RpEntityJson,
    /// The user.
    pub user: UserEntityJson,
    /// The challenge.
    #[serde(with = "b64_req")]
    pub challenge: Vec<u8>,
    /// Acceptable algorithms, most preferred first.
    pub pub_key_cred_params: Vec<CredentialParametersJson>,
    /// Timeout in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Credentials that must not be created again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_credentials: Vec<CredentialDescriptorJson>,
    /// Authenticator selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_selection: Option<AuthenticatorSelectionJson>,
    /// Hints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// Attestation conveyance ("none" by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// Preferred attestation statement formats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestation_formats: Vec<String>,
    /// Extension inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<ExtensionInputsJson>,
}

/// PublicKeyCredentialRequestOptionsJSON (L3 §5.1.10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptionsJson {
    /// The challenge.
    #[serde(with = "b64_req")]
    pub challenge: Vec<u8>,
    /// Timeout in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// RP ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_id: Option<String>,
    /// Allowed credentials (empty: discoverable credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_credentials: Vec<CredentialDescriptorJson>,
    /// "required" / "preferred" / "discouraged".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<String>,
    /// Hints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// Attestation conveyance for assertions (L3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// Preferred attestation formats for assertions (L3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestation_formats: Vec<String>,
    /// Extension inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<ExtensionInputsJson>,
}

/// CredentialPropertiesOutput.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CredPropsJson {
    /// Whether the credential is discoverable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rk: Option<bool>,
}

/// AuthenticationExtensionsPRFOutputsJSON.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PrfOutputsJson {
    /// Whether PRF is available for the new credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The PRF results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<PrfValuesJson>,
}

/// AuthenticationExtensionsLargeBlobOutputsJSON.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LargeBlobOutputsJson {
    /// Support at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported: Option<bool>,
    /// The blob read.
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub blob: Option<Vec<u8>>,
    /// Whether the write succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<bool>,
}

/// HMACGetSecretOutput.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HmacGetSecretOutputJson {
    /// First output.
    #[serde(with = "b64_req")]
    pub output1: Vec<u8>,
    /// Second output.
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub output2: Option<Vec<u8>>,
}

/// AuthenticationExtensionsClientOutputsJSON.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionOutputsJson {
    /// appid used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<bool>,
    /// appidExclude processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid_exclude: Option<bool>,
    /// credProps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred_props: Option<CredPropsJson>,
    /// prf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prf: Option<PrfOutputsJson>,
    /// largeBlob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_blob: Option<LargeBlobOutputsJson>,
    /// credBlob stored (create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred_blob: Option<bool>,
    /// credBlob read (get).
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub get_cred_blob: Option<Vec<u8>>,
    /// hmac-secret at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_create_secret: Option<bool>,
    /// hmac-secret at get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_get_secret: Option<HmacGetSecretOutputJson>,
    /// Any other extension output, kept as given.
    #[serde(flatten)]
    pub other: Map<String, Json>,
}

/// AuthenticatorAttestationResponseJSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationResponseJson {
    /// clientDataJSON bytes.
    #[serde(rename = "clientDataJSON", with = "b64_req")]
    pub client_data_json: Vec<u8>,
    /// The attestation object.
    #[serde(with = "b64_req")]
    pub attestation_object: Vec<u8>,
    /// getAuthenticatorData().
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub authenticator_data: Option<Vec<u8>>,
    /// getTransports().
    #[serde(default)]
    pub transports: Vec<String>,
    /// getPublicKey() (SPKI DER), absent when the client does not support the algorithm.
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub public_key: Option<Vec<u8>>,
    /// getPublicKeyAlgorithm().
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_algorithm: Option<i64>,
}

/// AuthenticatorAssertionResponseJSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionResponseJson {
    /// clientDataJSON bytes.
    #[serde(rename = "clientDataJSON", with = "b64_req")]
    pub client_data_json: Vec<u8>,
    /// authenticatorData bytes.
    #[serde(with = "b64_req")]
    pub authenticator_data: Vec<u8>,
    /// The signature.
    #[serde(with = "b64_req")]
    pub signature: Vec<u8>,
    /// The user handle; `""` and null read as absent.
    #[serde(
        default,
        serialize_with = "b64_opt::serialize",
        deserialize_with = "b64_opt::deserialize_empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_handle: Option<Vec<u8>>,
    /// An attestation object, when assertion attestation was requested (L3).
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub attestation_object: Option<Vec<u8>>,
}

/// A PublicKeyCredential in its L3 JSON form (`toJSON()`), generic over the
/// response: see [`RegistrationResponseJson`] and [`AuthenticationResponseJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyCredentialJson<R> {
    /// Credential ID as base64url text.
    pub id: String,
    /// Credential ID bytes.
    #[serde(with = "b64_req")]
    pub raw_id: Vec<u8>,
    /// The authenticator response.
    pub response: R,
    /// "platform" / "cross-platform".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<String>,
    /// getClientExtensionResults().
    #[serde(default)]
    pub client_extension_results: ExtensionOutputsJson,
    /// "public-key".
    #[serde(rename = "type")]
    pub type_: String,
}

/// RegistrationResponseJSON.
pub type RegistrationResponseJson = PublicKeyCredentialJson<AttestationResponseJson>;

/// AuthenticationResponseJSON.
pub type AuthenticationResponseJson = PublicKeyCredentialJson<AssertionResponseJson>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_strings_and_extensions_round_trip() {
        let json = r#"{"rp":{"name":"Example","id":"example.org"},"user":{"id":"AQ","name":"alice","displayName":"Alice"},"challenge":"AAEC","pubKeyCredParams":[{"type":"public-key","alg":-8},{"type":"future-type","alg":-999}],"excludeCredentials":[{"type":"public-key","id":"AQI","transports":["usb","quantum-link"]}],"authenticatorSelection":{"authenticatorAttachment":"wearable","residentKey":"required","userVerification":"preferred"},"hints":["holo-key"],"attestation":"direct","extensions":{"credProps":true,"prf":{"eval":{"first":"AAAA"}},"futureExt":{"a":[1,2]}}}"#;
        let o: CreationOptionsJson = serde_json::from_str(json).unwrap();
        assert_eq!(
            o.exclude_credentials[0].transports.as_ref().unwrap()[1],
            "quantum-link"
        );
        assert_eq!(o.extensions.as_ref().unwrap().other["futureExt"]["a"][1], 2);
        assert_eq!(serde_json::to_string(&o).unwrap(), json);
    }

    #[test]
    fn accepts_padded_and_standard_base64() {
        let json = r#"{"challenge":"+/8=","allowCredentials":[{"type":"public-key","id":"-_8="}]}"#;
        let o: RequestOptionsJson = serde_json::from_str(json).unwrap();
        assert_eq!(o.challenge, [0xfb, 0xff]);
        assert_eq!(o.allow_credentials[0].id, [0xfb, 0xff]);
        let out = serde_json::to_string(&o).unwrap();
        assert!(out.contains(r#""challenge":"-_8""#), "{out}");
        assert!(serde_json::from_str::<RequestOptionsJson>(r#"{"challenge":"*"}"#).is_err());
    }
}
