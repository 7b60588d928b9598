//! authenticatorGetAssertion (0x02) and authenticatorGetNextAssertion (0x08),
//! CTAP 2.2 §6.2 / §6.3.

use super::make_credential::att_stmt;
use super::types::{CredentialDescriptor, Options, UserEntity};
use super::{text_array, CtapError, Fields, MapBuilder};
use crate::authdata::AuthenticatorData;
use crate::cbor::Value;

/// The getAssertion request parameters.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GetAssertionRequest {
    /// 0x01 rpId.
    pub rp_id: String,
    /// 0x02 clientDataHash.
    pub client_data_hash: Vec<u8>,
    /// 0x03 allowList.
    pub allow_list: Option<Vec<CredentialDescriptor>>,
    /// 0x04 extensions.
    pub extensions: Option<Value>,
    /// 0x05 options.
    pub options: Option<Options>,
    /// 0x06 pinUvAuthParam.
    pub pin_uv_auth_param: Option<Vec<u8>>,
    /// 0x07 pinUvAuthProtocol.
    pub pin_uv_auth_protocol: Option<u64>,
    /// 0x08 enterpriseAttestation.
    pub enterprise_attestation: Option<u64>,
    /// 0x09 attestationFormatsPreference.
    pub attestation_formats_preference: Option<Vec<String>>,
}

impl GetAssertionRequest {
    /// A request with only the required members.
    pub fn new(rp_id: impl Into<String>, client_data_hash: Vec<u8>) -> Self {
        GetAssertionRequest {
            rp_id: rp_id.into(),
            client_data_hash,
            ..Default::default()
        }
    }

    /// Parses the parameter map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorGetAssertion")?;
        Ok(GetAssertionRequest {
            rp_id: f.req(0x01, "rpId", Fields::text_of)?,
            client_data_hash: f.req(0x02, "clientDataHash", Fields::bytes_of)?,
            allow_list: f.opt(0x03, "allowList", CredentialDescriptor::list_from)?,
            extensions: f.opt(0x04, "extensions", |f, v, n| f.map_of(v, n).cloned())?,
            options: f.opt(0x05, "options", Options::from_value)?,
            pin_uv_auth_param: f.opt(0x06, "pinUvAuthParam", Fields::bytes_of)?,
            pin_uv_auth_protocol: f.opt(0x07, "pinUvAuthProtocol", Fields::uint_of)?,
            enterprise_attestation: f.opt(0x08, "enterpriseAttestation", Fields::uint_of)?,
            attestation_formats_preference: f.opt(
                0x09,
                "attestationFormatsPreference",
                Fields::texts_of,
            )?,
        })
    }

    /// The parameter map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .put(0x01, self.rp_id.as_str())
            .put(0x02, self.client_data_hash.clone())
            .opt(
                0x03,
                self.allow_list
                    .as_deref()
                    .map(CredentialDescriptor::list_to),
            )
            .opt(0x04, self.extensions.clone())
            .opt(0x05, self.options.as_ref().map(Options::to_value))
            .opt(0x06, self.pin_uv_auth_param.clone())
            .opt(0x07, self.pin_uv_auth_protocol)
            .opt(0x08, self.enterprise_attestation)
            .opt(
                0x09,
                self.attestation_formats_preference
                    .as_deref()
                    .map(text_array),
            )
            .build()
    }
}

/// The getAssertion / getNextAssertion response (CTAP 2.2 §6.2.2): every member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetAssertionResponse {
    /// 0x01 credential: the descriptor of the credential used.
    pub credential: Option<CredentialDescriptor>,
    /// 0x02 authData, parsed.
    pub auth_data: AuthenticatorData,
    /// 0x02 authData, as received (what the signature covers).
    pub auth_data_raw: Vec<u8>,
    /// 0x03 signature.
    pub signature: Vec<u8>,
    /// 0x04 user.
    pub user: Option<UserEntity>,
    /// 0x05 numberOfCredentials.
    pub number_of_credentials: Option<u64>,
    /// 0x06 userSelected.
    pub user_selected: Option<bool>,
    /// 0x07 largeBlobKey.
    pub large_blob_key: Option<Vec<u8>>,
    /// 0x08 unsignedExtensionOutputs.
    pub unsigned_extension_outputs: Option<Value>,
    /// 0x09 epAtt.
    pub ep_att: Option<bool>,
    /// 0x0A attStmt.
    pub att_stmt: Option<Value>,
}

impl GetAssertionResponse {
    /// A response with the required members.
    pub fn new(auth_data: AuthenticatorData, signature: Vec<u8>) -> Self {
        let auth_data_raw = auth_data.to_bytes();
        GetAssertionResponse {
            credential: None,
            auth_data,
            auth_data_raw,
            signature,
            user: None,
            number_of_credentials: None,
            user_selected: None,
            large_blob_key: None,
            unsigned_extension_outputs: None,
            ep_att: None,
            att_stmt: None,
        }
    }

    /// Parses the response map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorGetAssertion response")?;
        let auth_data_raw = f.req(0x02, "authData", Fields::bytes_of)?;
        let auth_data = AuthenticatorData::from_bytes(&auth_data_raw)
            .map_err(|e| f.invalid("authData", e.to_string()))?;
        Ok(GetAssertionResponse {
            credential: f.opt(0x01, "credential", |_, v, _| {
                CredentialDescriptor::from_value(v)
            })?,
            auth_data,
            auth_data_raw,
            signature: f.req(0x03, "signature", Fields::bytes_of)?,
            user: f.opt(0x04, "user", |_, v, _| UserEntity::from_value(v))?,
            number_of_credentials: f.opt(0x05, "numberOfCredentials", Fields::uint_of)?,
            user_selected: f.opt(0x06, "userSelected", Fields::bool_of)?,
            large_blob_key: f.opt(0x07, "largeBlobKey", Fields::bytes_of)?,
            unsigned_extension_outputs: f.opt(0x08, "unsignedExtensionOutputs", |f, v, n| {
                f.map_of(v, n).cloned()
            })?,
            ep_att: f.opt(0x09, "epAtt", Fields::bool_of)?,
            att_stmt: f.opt(0x0a, "attStmt", att_stmt)?,
        })
    }

    /// The response map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .opt(
                0x01,
                self.credential.as_ref().map(CredentialDescriptor::to_value),
            )
            .put(0x02, self.auth_data_raw.clone())
            .put(0x03, self.signature.clone())
            .opt(0x04, self.user.as_ref().map(UserEntity::to_value))
            .opt(0x05, self.number_of_credentials)
            .opt(0x06, self.user_selected)
            .opt(0x07, self.large_blob_key.clone())
            .opt(0x08, self.unsigned_extension_outputs.clone())
            .opt(0x09, self.ep_att)
            .opt(0x0a, self.att_stmt.clone())
            .build()
    }
}
