//! authenticatorMakeCredential (0x01), CTAP 2.2 §6.1.

use super::types::{CredentialDescriptor, CredentialParameters, Options, RpEntity, UserEntity};
use super::{text_array, CtapError, Fields, MapBuilder};
use crate::authdata::AuthenticatorData;
use crate::cbor::Value;

/// The makeCredential request parameters.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MakeCredentialRequest {
    /// 0x01 clientDataHash.
    pub client_data_hash: Vec<u8>,
    /// 0x02 rp.
    pub rp: RpEntity,
    /// 0x03 user.
    pub user: UserEntity,
    /// 0x04 pubKeyCredParams.
    pub pub_key_cred_params: Vec<CredentialParameters>,
    /// 0x05 excludeList.
    pub exclude_list: Option<Vec<CredentialDescriptor>>,
    /// 0x06 extensions (map keyed by extension identifier).
    pub extensions: Option<Value>,
    /// 0x07 options.
    pub options: Option<Options>,
    /// 0x08 pinUvAuthParam.
    pub pin_uv_auth_param: Option<Vec<u8>>,
    /// 0x09 pinUvAuthProtocol.
    pub pin_uv_auth_protocol: Option<u64>,
    /// 0x0A enterpriseAttestation.
    pub enterprise_attestation: Option<u64>,
    /// 0x0B attestationFormatsPreference.
    pub attestation_formats_preference: Option<Vec<String>>,
}

impl MakeCredentialRequest {
    /// A request with the required members: the RP ID, the user and one
    /// public-key algorithm (like [`GetAssertionRequest::new`](super::get_assertion::GetAssertionRequest::new)).
    pub fn new(
        client_data_hash: Vec<u8>,
        rp_id: impl Into<String>,
        user: UserEntity,
        alg: i64,
    ) -> Self {
        MakeCredentialRequest {
            client_data_hash,
            rp: RpEntity {
                id: rp_id.into(),
                name: None,
            },
            user,
            pub_key_cred_params: vec![CredentialParameters {
                type_: "public-key".into(),
                alg,
            }],
            ..Default::default()
        }
    }

    /// The same request with the `rk` option set.
    pub fn with_rk(mut self, rk: bool) -> Self {
        self.options = Some(Options {
            rk: Some(rk),
            ..Default::default()
        });
        self
    }

    /// Parses the parameter map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorMakeCredential")?;
        Ok(MakeCredentialRequest {
            client_data_hash: f.req(0x01, "clientDataHash", Fields::bytes_of)?,
            rp: f.req(0x02, "rp", |_, v, _| RpEntity::from_value(v))?,
            user: f.req(0x03, "user", |_, v, _| UserEntity::from_value(v))?,
            pub_key_cred_params: f.req(0x04, "pubKeyCredParams", |f, v, n| {
                f.array_of(v, n)?
                    .iter()
                    .map(CredentialParameters::from_value)
                    .collect()
            })?,
            exclude_list: f.opt(0x05, "excludeList", CredentialDescriptor::list_from)?,
            extensions: f.opt(0x06, "extensions", |f, v, n| f.map_of(v, n).cloned())?,
            options: f.opt(0x07, "options", Options::from_value)?,
            pin_uv_auth_param: f.opt(0x08, "pinUvAuthParam", Fields::bytes_of)?,
            pin_uv_auth_protocol: f.opt(0x09, "pinUvAuthProtocol", Fields::uint_of)?,
            enterprise_attestation: f.opt(0x0a, "enterpriseAttestation", Fields::uint_of)?,
            attestation_formats_preference: f.opt(
                0x0b,
                "attestationFormatsPreference",
                Fields::texts_of,
            )?,
        })
    }

    /// The parameter map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .put(0x01, self.client_data_hash.clone())
            .put(0x02, self.rp.to_value())
            .put(0x03, self.user.to_value())
            .put(
                0x04,
                Value::Array(
                    self.pub_key_cred_params
                        .iter()
                        .map(CredentialParameters::to_value)
                        .collect(),
                ),
            )
            .opt(
                0x05,
                self.exclude_list
                    .as_deref()
                    .map(CredentialDescriptor::list_to),
            )
            .opt(0x06, self.extensions.clone())
            .opt(0x07, self.options.as_ref().map(Options::to_value))
            .opt(0x08, self.pin_uv_auth_param.clone())
            .opt(0x09, self.pin_uv_auth_protocol)
            .opt(0x0a, self.enterprise_attestation)
            .opt(
                0x0b,
                self.attestation_formats_preference
                    .as_deref()
                    .map(text_array),
            )
            .build()
    }

    /// Algorithms requested, in preference order.
    pub fn algorithms(&self) -> Vec<i64> {
        self.pub_key_cred_params
            .iter()
            .filter(|p| p.type_ == "public-key")
            .map(|p| p.alg)
            .collect()
    }
}

/// The makeCredential response (attestation object with integer keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MakeCredentialResponse {
    /// 0x01 fmt.
    pub fmt: String,
    /// 0x02 authData, parsed.
    pub auth_data: AuthenticatorData,
    /// 0x02 authData, as received.
    pub auth_data_raw: Vec<u8>,
    /// 0x03 attStmt.
    pub att_stmt: Value,
    /// 0x04 epAtt.
    pub ep_att: Option<bool>,
    /// 0x05 largeBlobKey.
    pub large_blob_key: Option<Vec<u8>>,
    /// 0x06 unsignedExtensionOutputs.
    pub unsigned_extension_outputs: Option<Value>,
}

impl MakeCredentialResponse {
    /// Parses the response map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorMakeCredential response")?;
        let auth_data_raw = f.req(0x02, "authData", Fields::bytes_of)?;
        let auth_data = AuthenticatorData::from_bytes(&auth_data_raw)
            .map_err(|e| f.invalid("authData", e.to_string()))?;
        Ok(MakeCredentialResponse {
            fmt: f.req(0x01, "fmt", Fields::text_of)?,
            auth_data,
            auth_data_raw,
            att_stmt: f.req(0x03, "attStmt", att_stmt)?,
            ep_att: f.opt(0x04, "epAtt", Fields::bool_of)?,
            large_blob_key: f.opt(0x05, "largeBlobKey", Fields::bytes_of)?,
            unsigned_extension_outputs: f.opt(0x06, "unsignedExtensionOutputs", |f, v, n| {
                f.map_of(v, n).cloned()
            })?,
        })
    }

    /// The response map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .put(0x01, self.fmt.as_str())
            .put(0x02, self.auth_data_raw.clone())
            .put(0x03, self.att_stmt.clone())
            .opt(0x04, self.ep_att)
            .opt(0x05, self.large_blob_key.clone())
            .opt(0x06, self.unsigned_extension_outputs.clone())
            .build()
    }
}

/// attStmt: a map, or an array of statements for the "compound" format (L3 §8.9).
pub(crate) fn att_stmt(f: &Fields, v: &Value, name: &'static str) -> Result<Value, CtapError> {
    match v {
        Value::Map(_) | Value::Array(_) => Ok(v.clone()),
        _ => f.map_of(v, name).cloned(),
    }
}
