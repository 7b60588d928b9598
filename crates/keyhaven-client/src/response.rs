//! What `create()` and `get()` return (L3 §5.1, §5.2.1, §5.2.2) and their
//! JSON forms (L3 §5.1.8 `toJSON()`), plus the options parsers (§5.1.9,
//! §5.1.10).

use crate::device::Attachment;
use crate::error::ClientError;
use keyhaven_proto::authdata::AuthenticatorData;
use keyhaven_proto::json::{
    AssertionResponseJson, AttestationResponseJson, AuthenticationResponseJson,
    CreationOptionsJson, ExtensionOutputsJson, PublicKeyCredentialJson, RegistrationResponseJson,
    RequestOptionsJson,
};
use serde_json::Value as Json;

/// PublicKeyCredentialCreationOptions (the JSON and binary forms carry the same data).
pub type CreationOptions = CreationOptionsJson;
/// PublicKeyCredentialRequestOptions.
pub type RequestOptions = RequestOptionsJson;

/// `PublicKeyCredential.parseCreationOptionsFromJSON()` (L3 §5.1.9): reads
/// PublicKeyCredentialCreationOptionsJSON; malformed JSON is a TypeError.
pub fn parse_creation_options_from_json(json: &str) -> Result<CreationOptions, ClientError> {
    serde_json::from_str(json).map_err(|e| {
        ClientError::InvalidOptions(format!("PublicKeyCredentialCreationOptionsJSON: {e}"))
    })
}

/// `PublicKeyCredential.parseRequestOptionsFromJSON()` (L3 §5.1.10).
pub fn parse_request_options_from_json(json: &str) -> Result<RequestOptions, ClientError> {
    serde_json::from_str(json).map_err(|e| {
        ClientError::InvalidOptions(format!("PublicKeyCredentialRequestOptionsJSON: {e}"))
    })
}

/// A PublicKeyCredential (L3 §5.1).
#[derive(Debug, Clone)]
pub struct PublicKeyCredential<R> {
    /// The credential ID.
    pub raw_id: Vec<u8>,
    /// The authenticator's response.
    pub response: R,
    /// authenticatorAttachment.
    pub authenticator_attachment: Option<Attachment>,
    /// getClientExtensionResults().
    pub client_extension_results: ExtensionOutputsJson,
}

impl<R> PublicKeyCredential<R> {
    /// `id`: the credential ID in base64url.
    pub fn id(&self) -> String {
        keyhaven_proto::b64::encode(&self.raw_id)
    }
    /// getClientExtensionResults().
    pub fn get_client_extension_results(&self) -> &ExtensionOutputsJson {
        &self.client_extension_results
    }
    fn json<J>(&self, response: J) -> PublicKeyCredentialJson<J> {
        PublicKeyCredentialJson {
            id: self.id(),
            raw_id: self.raw_id.clone(),
            response,
            authenticator_attachment: self.authenticator_attachment.map(|a| a.as_str().into()),
            client_extension_results: self.client_extension_results.clone(),
            type_: "public-key".into(),
        }
    }
}

/// AuthenticatorAttestationResponse (L3 §5.2.1).
#[derive(Debug, Clone)]
pub struct AuthenticatorAttestationResponse {
    /// clientDataJSON.
    pub client_data_json: Vec<u8>,
    /// attestationObject.
    pub attestation_object: Vec<u8>,
    pub(crate) transports: Vec<String>,
    pub(crate) auth_data: AuthenticatorData,
    pub(crate) auth_data_raw: Vec<u8>,
}

impl AuthenticatorAttestationResponse {
    /// getTransports(): sorted, without duplicates.
    pub fn get_transports(&self) -> &[String] {
        &self.transports
    }
    /// getAuthenticatorData().
    pub fn get_authenticator_data(&self) -> &[u8] {
        &self.auth_data_raw
    }
    /// The parsed authenticator data.
    pub fn authenticator_data(&self) -> &AuthenticatorData {
        &self.auth_data
    }
    /// getPublicKey(): the credential public key as SubjectPublicKeyInfo DER,
    /// or None for an algorithm without an SPKI form here.
    pub fn get_public_key(&self) -> Option<Vec<u8>> {
        self.auth_data
            .attested_credential_data
            .as_ref()?
            .credential_public_key
            .to_spki_der()
    }
    /// getPublicKeyAlgorithm().
    pub fn get_public_key_algorithm(&self) -> i64 {
        self.auth_data
            .attested_credential_data
            .as_ref()
            .map_or(0, |a| a.credential_public_key.alg.id())
    }
}

/// AuthenticatorAssertionResponse (L3 §5.2.2).
#[derive(Debug, Clone)]
pub struct AuthenticatorAssertionResponse {
    /// clientDataJSON.
    pub client_data_json: Vec<u8>,
    /// authenticatorData.
    pub authenticator_data: Vec<u8>,
    /// signature.
    pub signature: Vec<u8>,
    /// userHandle (None for a credential without one).
    pub user_handle: Option<Vec<u8>>,
    /// attestationObject. Always None here: the current L3 draft's get()
    /// (§5.1.4.2) no longer builds one, though the JSON form keeps the member.
    pub attestation_object: Option<Vec<u8>>,
}

/// Reorders every object's members lexicographically, as WebIDL orders
/// dictionary members when `toJSON()` converts them to a JavaScript object.
pub fn webidl_order(v: Json) -> Json {
    match v {
        Json::Object(m) => {
            let mut entries: Vec<(String, Json)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, webidl_order(v)))
                    .collect(),
            )
        }
        Json::Array(a) => Json::Array(a.into_iter().map(webidl_order).collect()),
        other => other,
    }
}

impl PublicKeyCredential<AuthenticatorAttestationResponse> {
    /// `toJSON()`: RegistrationResponseJSON (L3 §5.1.8).
    pub fn to_json(&self) -> RegistrationResponseJson {
        let r = &self.response;
        self.json(AttestationResponseJson {
            client_data_json: r.client_data_json.clone(),
            attestation_object: r.attestation_object.clone(),
            authenticator_data: Some(r.auth_data_raw.clone()),
            transports: r.transports.clone(),
            public_key: r.get_public_key(),
            public_key_algorithm: Some(r.get_public_key_algorithm()),
        })
    }
    /// `JSON.stringify(credential)` as a browser writes it: members in WebIDL order.
    pub fn to_json_string(&self) -> String {
        webidl_order(serde_json::to_value(self.to_json()).unwrap_or(Json::Null)).to_string()
    }
}

impl PublicKeyCredential<AuthenticatorAssertionResponse> {
    /// `toJSON()`: AuthenticationResponseJSON (L3 §5.1.8).
    pub fn to_json(&self) -> AuthenticationResponseJson {
        let r = &self.response;
        self.json(AssertionResponseJson {
            client_data_json: r.client_data_json.clone(),
            authenticator_data: r.authenticator_data.clone(),
            signature: r.signature.clone(),
            user_handle: r.user_handle.clone(),
            attestation_object: r.attestation_object.clone(),
        })
    }
    /// `JSON.stringify(credential)` as a browser writes it: members in WebIDL order.
    pub fn to_json_string(&self) -> String {
        webidl_order(serde_json::to_value(self.to_json()).unwrap_or(Json::Null)).to_string()
    }
}
