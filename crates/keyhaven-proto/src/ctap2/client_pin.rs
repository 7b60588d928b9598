//! authenticatorClientPIN (0x06), CTAP 2.2 §6.5.

use super::{CtapError, Fields, MapBuilder};
use crate::cbor::Value;
use crate::cose::CoseKey;

subcommands! {
    /// clientPIN subcommands (CTAP 2.2 §6.5.5).
    ClientPinSubcommand {
        /// 0x01 getPINRetries.
        GetPinRetries = 0x01,
        /// 0x02 getKeyAgreement.
        GetKeyAgreement = 0x02,
        /// 0x03 setPIN.
        SetPin = 0x03,
        /// 0x04 changePIN.
        ChangePin = 0x04,
        /// 0x05 getPinToken.
        GetPinToken = 0x05,
        /// 0x06 getPinUvAuthTokenUsingUvWithPermissions.
        GetPinUvAuthTokenUsingUvWithPermissions = 0x06,
        /// 0x07 getUVRetries.
        GetUvRetries = 0x07,
        /// 0x09 getPinUvAuthTokenUsingPinWithPermissions.
        GetPinUvAuthTokenUsingPinWithPermissions = 0x09,
    }
}

/// pinUvAuthToken permissions (CTAP 2.2 §6.5.5.7).
pub mod permissions {
    /// makeCredential.
    pub const MC: u64 = 0x01;
    /// getAssertion.
    pub const GA: u64 = 0x02;
    /// credentialManagement.
    pub const CM: u64 = 0x04;
    /// bioEnrollment.
    pub const BE: u64 = 0x08;
    /// largeBlobWrite.
    pub const LBW: u64 = 0x10;
    /// authenticatorConfig.
    pub const ACFG: u64 = 0x20;
    /// persistentCredentialManagementReadOnly.
    pub const PCMR: u64 = 0x40;
}

/// The clientPIN request parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPinRequest {
    /// 0x01 pinUvAuthProtocol.
    pub pin_uv_auth_protocol: Option<u64>,
    /// 0x02 subCommand.
    pub sub_command: ClientPinSubcommand,
    /// 0x03 keyAgreement.
    pub key_agreement: Option<CoseKey>,
    /// 0x04 pinUvAuthParam.
    pub pin_uv_auth_param: Option<Vec<u8>>,
    /// 0x05 newPinEnc.
    pub new_pin_enc: Option<Vec<u8>>,
    /// 0x06 pinHashEnc.
    pub pin_hash_enc: Option<Vec<u8>>,
    /// 0x09 permissions.
    pub permissions: Option<u64>,
    /// 0x0A rpId (permissions RP ID).
    pub rp_id: Option<String>,
}

impl ClientPinRequest {
    /// A request with only the subcommand and protocol.
    pub fn new(protocol: u64, sub_command: ClientPinSubcommand) -> Self {
        ClientPinRequest {
            pin_uv_auth_protocol: Some(protocol),
            sub_command,
            key_agreement: None,
            pin_uv_auth_param: None,
            new_pin_enc: None,
            pin_hash_enc: None,
            permissions: None,
            rp_id: None,
        }
    }

    /// Parses the parameter map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorClientPIN")?;
        Ok(ClientPinRequest {
            pin_uv_auth_protocol: f.opt(0x01, "pinUvAuthProtocol", Fields::uint_of)?,
            sub_command: ClientPinSubcommand::from_u64(f.req(
                0x02,
                "subCommand",
                Fields::uint_of,
            )?),
            key_agreement: f.opt(0x03, "keyAgreement", cose_key)?,
            pin_uv_auth_param: f.opt(0x04, "pinUvAuthParam", Fields::bytes_of)?,
            new_pin_enc: f.opt(0x05, "newPinEnc", Fields::bytes_of)?,
            pin_hash_enc: f.opt(0x06, "pinHashEnc", Fields::bytes_of)?,
            permissions: f.opt(0x09, "permissions", Fields::uint_of)?,
            rp_id: f.opt(0x0a, "rpId", Fields::text_of)?,
        })
    }

    /// The parameter map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .opt(0x01, self.pin_uv_auth_protocol)
            .put(0x02, self.sub_command.to_u64())
            .opt(0x03, self.key_agreement.as_ref().map(CoseKey::to_value))
            .opt(0x04, self.pin_uv_auth_param.clone())
            .opt(0x05, self.new_pin_enc.clone())
            .opt(0x06, self.pin_hash_enc.clone())
            .opt(0x09, self.permissions)
            .opt(0x0a, self.rp_id.as_deref())
            .build()
    }
}

pub(crate) fn cose_key(f: &Fields, v: &Value, name: &'static str) -> Result<CoseKey, CtapError> {
    CoseKey::from_value(v).map_err(|e| f.invalid(name, e.to_string()))
}

/// The clientPIN response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ClientPinResponse {
    /// 0x01 keyAgreement.
    pub key_agreement: Option<CoseKey>,
    /// 0x02 pinUvAuthToken (encrypted).
    pub pin_uv_auth_token: Option<Vec<u8>>,
    /// 0x03 pinRetries.
    pub pin_retries: Option<u64>,
    /// 0x04 powerCycleState.
    pub power_cycle_state: Option<bool>,
    /// 0x05 uvRetries.
    pub uv_retries: Option<u64>,
}

impl ClientPinResponse {
    /// Parses the response map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorClientPIN response")?;
        Ok(ClientPinResponse {
            key_agreement: f.opt(0x01, "keyAgreement", cose_key)?,
            pin_uv_auth_token: f.opt(0x02, "pinUvAuthToken", Fields::bytes_of)?,
            pin_retries: f.opt(0x03, "pinRetries", Fields::uint_of)?,
            power_cycle_state: f.opt(0x04, "powerCycleState", Fields::bool_of)?,
            uv_retries: f.opt(0x05, "uvRetries", Fields::uint_of)?,
        })
    }

    /// The response map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .opt(0x01, self.key_agreement.as_ref().map(CoseKey::to_value))
            .opt(0x02, self.pin_uv_auth_token.clone())
            .opt(0x03, self.pin_retries)
            .opt(0x04, self.power_cycle_state)
            .opt(0x05, self.uv_retries)
            .build()
    }
}
