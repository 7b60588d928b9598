//! The attestation object (WebAuthn L3 §6.5.4, text keys `fmt`, `attStmt`,
//! `authData`) and its conversion from / to the CTAP2 authenticatorMakeCredential
//! response (CTAP 2.2 §6.1.2, integer keys).
//!
//! The attestation statement stays a CBOR map here: its verification is the
//! relying party's job, per format (L3 §8).

use crate::authdata::{AuthDataError, AuthenticatorData};
use crate::cbor::{self, CborError, CborPolicy, Value};
use crate::ctap2::make_credential::MakeCredentialResponse;

/// An attestation object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationObject {
    /// The attestation statement format identifier ("packed", "none", …).
    pub fmt: String,
    /// The attestation statement (a CBOR map whose syntax depends on `fmt`;
    /// an array of statements for "compound").
    pub att_stmt: Value,
    /// The parsed authenticator data.
    pub auth_data: AuthenticatorData,
    /// The authenticator data exactly as received (what signatures cover).
    pub auth_data_raw: Vec<u8>,
    /// Other members (e.g. CTAP's epAtt / largeBlobKey when a client passes
    /// them through), kept so the object re-encodes exactly.
    pub extra: Vec<(Value, Value)>,
}

/// Why an attestation object was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttestationObjectError {
    /// Not strict canonical CBOR.
    #[error("attestationObject: {0}")]
    Cbor(#[from] CborError),
    /// Not a map.
    #[error("attestationObject: expected a map, found {0}")]
    NotAMap(&'static str),
    /// A required member is missing.
    #[error("attestationObject: missing member {0:?}")]
    Missing(&'static str),
    /// A member has the wrong type.
    #[error("attestationObject: member {member:?}: expected {expected}, found {found}")]
    WrongType {
        /// Member name.
        member: &'static str,
        /// Expected type.
        expected: &'static str,
        /// Found type.
        found: &'static str,
    },
    /// authData did not parse.
    #[error("attestationObject: {0}")]
    AuthData(#[from] AuthDataError),
}

impl AttestationObject {
    /// Builds an attestation object from its parts.
    pub fn new(fmt: impl Into<String>, att_stmt: Value, auth_data: AuthenticatorData) -> Self {
        let auth_data_raw = auth_data.to_bytes();
        AttestationObject {
            fmt: fmt.into(),
            att_stmt,
            auth_data,
            auth_data_raw,
            extra: Vec::new(),
        }
    }

    /// Parses an encoded attestation object in the CTAP2 canonical form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AttestationObjectError> {
        Self::from_bytes_with(bytes, CborPolicy::Strict)
    }

    /// Parses an encoded attestation object, its CBOR (the outer map, attStmt
    /// and the CBOR inside authData) decoded under `policy`.
    pub fn from_bytes_with(
        bytes: &[u8],
        policy: CborPolicy,
    ) -> Result<Self, AttestationObjectError> {
        let v = cbor::decode_with(bytes, policy.options())?;
        let map = v
            .as_map()
            .ok_or(AttestationObjectError::NotAMap(v.type_name()))?;
        let mut fmt = None;
        let mut att_stmt = None;
        let mut auth_data_raw = None;
        let mut extra = Vec::new();
        for (k, val) in map {
            match k.as_text() {
                Some("fmt") => {
                    fmt = Some(val.as_text().ok_or(AttestationObjectError::WrongType {
                        member: "fmt",
                        expected: "text string",
                        found: val.type_name(),
                    })?)
                }
                Some("attStmt") => {
                    // A map; an array only for the "compound" format (L3 §8.9).
                    if val.as_map().is_none() && val.as_array().is_none() {
                        return Err(AttestationObjectError::WrongType {
                            member: "attStmt",
                            expected: "map (or array for compound)",
                            found: val.type_name(),
                        });
                    }
                    att_stmt = Some(val)
                }
                Some("authData") => {
                    auth_data_raw =
                        Some(val.as_bytes().ok_or(AttestationObjectError::WrongType {
                            member: "authData",
                            expected: "byte string",
                            found: val.type_name(),
                        })?)
                }
                _ => extra.push((k.clone(), val.clone())),
            }
        }
        let fmt = fmt.ok_or(AttestationObjectError::Missing("fmt"))?;
        let att_stmt = att_stmt.ok_or(AttestationObjectError::Missing("attStmt"))?;
        let auth_data_raw = auth_data_raw.ok_or(AttestationObjectError::Missing("authData"))?;
        Ok(AttestationObject {
            fmt: fmt.to_owned(),
            att_stmt: att_stmt.clone(),
            auth_data: AuthenticatorData::from_bytes_with(auth_data_raw, policy)?,
            auth_data_raw: auth_data_raw.to_vec(),
            extra,
        })
    }

    /// The CBOR map (canonical order).
    pub fn to_value(&self) -> Value {
        let mut entries = vec![
            (Value::from("fmt"), Value::from(self.fmt.as_str())),
            (Value::from("attStmt"), self.att_stmt.clone()),
            (
                Value::from("authData"),
                Value::Bytes(self.auth_data_raw.clone()),
            ),
        ];
        entries.extend(self.extra.iter().cloned());
        Value::canonical_map(entries)
    }

    /// The encoded attestation object.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::encode(&self.to_value())
    }

    /// The WebAuthn attestation object a client builds from a CTAP2
    /// makeCredential response (L3 §6.5.4; CTAP 2.2 §6.1.2). epAtt,
    /// largeBlobKey and unsignedExtensionOutputs stay in the CTAP response.
    pub fn from_make_credential_response(r: &MakeCredentialResponse) -> Self {
        AttestationObject {
            fmt: r.fmt.clone(),
            att_stmt: r.att_stmt.clone(),
            auth_data: r.auth_data.clone(),
            auth_data_raw: r.auth_data_raw.clone(),
            extra: Vec::new(),
        }
    }

    /// The CTAP2 makeCredential response carrying this attestation.
    pub fn to_make_credential_response(&self) -> MakeCredentialResponse {
        MakeCredentialResponse {
            fmt: self.fmt.clone(),
            auth_data: self.auth_data.clone(),
            auth_data_raw: self.auth_data_raw.clone(),
            att_stmt: self.att_stmt.clone(),
            ep_att: None,
            large_blob_key: None,
            unsigned_extension_outputs: None,
        }
    }
}
