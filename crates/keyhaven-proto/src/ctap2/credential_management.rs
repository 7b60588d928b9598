//! authenticatorCredentialManagement (0x0A), CTAP 2.2 §6.8.

use super::client_pin::cose_key;
use super::types::{CredentialDescriptor, RpEntity, UserEntity};
use super::{CtapError, Fields, MapBuilder};
use crate::cbor::{self, Value};
use crate::cose::CoseKey;

subcommands! {
    /// credentialManagement subcommands (CTAP 2.2 §6.8).
    CredentialManagementSubcommand {
        /// 0x01 getCredsMetadata.
        GetCredsMetadata = 1,
        /// 0x02 enumerateRPsBegin.
        EnumerateRpsBegin = 2,
        /// 0x03 enumerateRPsGetNextRP.
        EnumerateRpsGetNextRp = 3,
        /// 0x04 enumerateCredentialsBegin.
        EnumerateCredentialsBegin = 4,
        /// 0x05 enumerateCredentialsGetNextCredential.
        EnumerateCredentialsGetNextCredential = 5,
        /// 0x06 deleteCredential.
        DeleteCredential = 6,
        /// 0x07 updateUserInformation.
        UpdateUserInformation = 7,
    }
}

/// subCommandParams (0x02).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CredentialManagementParams {
    /// 0x01 rpIDHash.
    pub rp_id_hash: Option<Vec<u8>>,
    /// 0x02 credentialID.
    pub credential_id: Option<CredentialDescriptor>,
    /// 0x03 user.
    pub user: Option<UserEntity>,
}

impl CredentialManagementParams {
    fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "credentialManagement subCommandParams")?;
        Ok(CredentialManagementParams {
            rp_id_hash: f.opt(0x01, "rpIDHash", Fields::bytes_of)?,
            credential_id: f.opt(0x02, "credentialID", |_, v, _| {
                CredentialDescriptor::from_value(v)
            })?,
            user: f.opt(0x03, "user", |_, v, _| UserEntity::from_value(v))?,
        })
    }
    /// The params map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .opt(0x01, self.rp_id_hash.clone())
            .opt(
                0x02,
                self.credential_id
                    .as_ref()
                    .map(CredentialDescriptor::to_value),
            )
            .opt(0x03, self.user.as_ref().map(UserEntity::to_value))
            .build()
    }
}

/// The credentialManagement request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialManagementRequest {
    /// 0x01 subCommand.
    pub sub_command: CredentialManagementSubcommand,
    /// 0x02 subCommandParams.
    pub sub_command_params: Option<CredentialManagementParams>,
    /// 0x03 pinUvAuthProtocol.
    pub pin_uv_auth_protocol: Option<u64>,
    /// 0x04 pinUvAuthParam.
    pub pin_uv_auth_param: Option<Vec<u8>>,
}

impl CredentialManagementRequest {
    /// Parses the parameter map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorCredentialManagement")?;
        Ok(CredentialManagementRequest {
            sub_command: CredentialManagementSubcommand::from_u64(f.req(
                0x01,
                "subCommand",
                Fields::uint_of,
            )?),
            sub_command_params: f.opt(0x02, "subCommandParams", |_, v, _| {
                CredentialManagementParams::from_value(v)
            })?,
            pin_uv_auth_protocol: f.opt(0x03, "pinUvAuthProtocol", Fields::uint_of)?,
            pin_uv_auth_param: f.opt(0x04, "pinUvAuthParam", Fields::bytes_of)?,
        })
    }

    /// The parameter map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .put(0x01, self.sub_command.to_u64())
            .opt(
                0x02,
                self.sub_command_params
                    .as_ref()
                    .map(CredentialManagementParams::to_value),
            )
            .opt(0x03, self.pin_uv_auth_protocol)
            .opt(0x04, self.pin_uv_auth_param.clone())
            .build()
    }

    /// The message the pinUvAuthParam authenticates: subCommand ‖ subCommandParams
    /// (CTAP 2.2 §6.8.2).
    pub fn auth_message(&self) -> Vec<u8> {
        let mut m = vec![self.sub_command.to_u64() as u8];
        if let Some(p) = &self.sub_command_params {
            cbor::encode_into(&p.to_value(), &mut m);
        }
        m
    }
}

/// The credentialManagement response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CredentialManagementResponse {
    /// 0x01 existingResidentCredentialsCount.
    pub existing_resident_credentials_count: Option<u64>,
    /// 0x02 maxPossibleRemainingResidentCredentialsCount.
    pub max_possible_remaining_resident_credentials_count: Option<u64>,
    /// 0x03 rp.
    pub rp: Option<RpEntity>,
    /// 0x04 rpIDHash.
    pub rp_id_hash: Option<Vec<u8>>,
    /// 0x05 totalRPs.
    pub total_rps: Option<u64>,
    /// 0x06 user.
    pub user: Option<UserEntity>,
    /// 0x07 credentialID.
    pub credential_id: Option<CredentialDescriptor>,
    /// 0x08 publicKey.
    pub public_key: Option<CoseKey>,
    /// 0x09 totalCredentials.
    pub total_credentials: Option<u64>,
    /// 0x0A credProtect.
    pub cred_protect: Option<u64>,
    /// 0x0B largeBlobKey.
    pub large_blob_key: Option<Vec<u8>>,
    /// 0x0C thirdPartyPayment.
    pub third_party_payment: Option<bool>,
}

impl CredentialManagementResponse {
    /// Parses the response map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorCredentialManagement response")?;
        Ok(CredentialManagementResponse {
            existing_resident_credentials_count: f.opt(
                0x01,
                "existingResidentCredentialsCount",
                Fields::uint_of,
            )?,
            max_possible_remaining_resident_credentials_count: f.opt(
                0x02,
                "maxPossibleRemainingResidentCredentialsCount",
                Fields::uint_of,
            )?,
            rp: f.opt(0x03, "rp", |_, v, _| RpEntity::from_value(v))?,
            rp_id_hash: f.opt(0x04, "rpIDHash", Fields::bytes_of)?,
            total_rps: f.opt(0x05, "totalRPs", Fields::uint_of)?,
            user: f.opt(0x06, "user", |_, v, _| UserEntity::from_value(v))?,
            credential_id: f.opt(0x07, "credentialID", |_, v, _| {
                CredentialDescriptor::from_value(v)
            })?,
            public_key: f.opt(0x08, "publicKey", cose_key)?,
            total_credentials: f.opt(0x09, "totalCredentials", Fields::uint_of)?,
            cred_protect: f.opt(0x0a, "credProtect", Fields::uint_of)?,
            large_blob_key: f.opt(0x0b, "largeBlobKey", Fields::bytes_of)?,
            third_party_payment: f.opt(0x0c, "thirdPartyPayment", Fields::bool_of)?,
        })
    }

    /// The response map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .opt(0x01, self.existing_resident_credentials_count)
            .opt(0x02, self.max_possible_remaining_resident_credentials_count)
            .opt(0x03, self.rp.as_ref().map(RpEntity::to_value))
            .opt(0x04, self.rp_id_hash.clone())
            .opt(0x05, self.total_rps)
            .opt(0x06, self.user.as_ref().map(UserEntity::to_value))
            .opt(
                0x07,
                self.credential_id
                    .as_ref()
                    .map(CredentialDescriptor::to_value),
            )
            .opt(0x08, self.public_key.as_ref().map(CoseKey::to_value))
            .opt(0x09, self.total_credentials)
            .opt(0x0a, self.cred_protect)
            .opt(0x0b, self.large_blob_key.clone())
            .opt(0x0c, self.third_party_payment)
            .build()
    }
}
