//! authenticatorGetInfo (0x04), CTAP 2.2 §6.4.

use super::types::CredentialParameters;
use super::{text_array, CtapError, Fields, MapBuilder};
use crate::cbor::Value;

/// The getInfo response: every member CTAP 2.2 defines.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GetInfoResponse {
    /// 0x01 versions ("FIDO_2_0", "FIDO_2_1", "FIDO_2_2", "U2F_V2", …).
    pub versions: Vec<String>,
    /// 0x02 extensions.
    pub extensions: Option<Vec<String>>,
    /// 0x03 aaguid.
    pub aaguid: [u8; 16],
    /// 0x04 options, in canonical order.
    pub options: Option<Vec<(String, bool)>>,
    /// 0x05 maxMsgSize.
    pub max_msg_size: Option<u64>,
    /// 0x06 pinUvAuthProtocols.
    pub pin_uv_auth_protocols: Option<Vec<u64>>,
    /// 0x07 maxCredentialCountInList.
    pub max_credential_count_in_list: Option<u64>,
    /// 0x08 maxCredentialIdLength.
    pub max_credential_id_length: Option<u64>,
    /// 0x09 transports.
    pub transports: Option<Vec<String>>,
    /// 0x0A algorithms.
    pub algorithms: Option<Vec<CredentialParameters>>,
    /// 0x0B maxSerializedLargeBlobArray.
    pub max_serialized_large_blob_array: Option<u64>,
    /// 0x0C forcePINChange.
    pub force_pin_change: Option<bool>,
    /// 0x0D minPINLength.
    pub min_pin_length: Option<u64>,
    /// 0x0E firmwareVersion.
    pub firmware_version: Option<u64>,
    /// 0x0F maxCredBlobLength.
    pub max_cred_blob_length: Option<u64>,
    /// 0x10 maxRPIDsForSetMinPINLength.
    pub max_rp_ids_for_set_min_pin_length: Option<u64>,
    /// 0x11 preferredPlatformUvAttempts.
    pub preferred_platform_uv_attempts: Option<u64>,
    /// 0x12 uvModality.
    pub uv_modality: Option<u64>,
    /// 0x13 certifications.
    pub certifications: Option<Value>,
    /// 0x14 remainingDiscoverableCredentials.
    pub remaining_discoverable_credentials: Option<u64>,
    /// 0x15 vendorPrototypeConfigCommands.
    pub vendor_prototype_config_commands: Option<Vec<u64>>,
    /// 0x16 attestationFormats.
    pub attestation_formats: Option<Vec<String>>,
    /// 0x17 uvCountSinceLastPinEntry.
    pub uv_count_since_last_pin_entry: Option<u64>,
    /// 0x18 longTouchForReset.
    pub long_touch_for_reset: Option<bool>,
    /// 0x19 encIdentifier.
    pub enc_identifier: Option<Vec<u8>>,
    /// 0x1A transportsForReset.
    pub transports_for_reset: Option<Vec<String>>,
    /// 0x1B pinComplexityPolicy.
    pub pin_complexity_policy: Option<bool>,
    /// 0x1C pinComplexityPolicyURL.
    pub pin_complexity_policy_url: Option<Vec<u8>>,
    /// 0x1D maxPINLength.
    pub max_pin_length: Option<u64>,
}

fn uints(f: &Fields, v: &Value, n: &'static str) -> Result<Vec<u64>, CtapError> {
    f.array_of(v, n)?.iter().map(|x| f.uint_of(x, n)).collect()
}

fn uint_array(v: &[u64]) -> Value {
    Value::Array(v.iter().map(|n| Value::from(*n)).collect())
}

impl GetInfoResponse {
    /// An option's value.
    pub fn option(&self, name: &str) -> Option<bool> {
        self.options
            .as_ref()?
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, b)| *b)
    }

    /// Parses the response map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorGetInfo response")?;
        let aaguid = f.req(0x03, "aaguid", Fields::bytes_of)?;
        let aaguid: [u8; 16] = aaguid.as_slice().try_into().map_err(|_| {
            f.invalid(
                "aaguid",
                format!("must be 16 bytes, found {}", aaguid.len()),
            )
        })?;
        Ok(GetInfoResponse {
            versions: f.req(0x01, "versions", Fields::texts_of)?,
            extensions: f.opt(0x02, "extensions", Fields::texts_of)?,
            aaguid,
            options: f.opt(0x04, "options", |f, v, n| {
                f.map_of(v, n)?
                    .as_map()
                    .unwrap_or(&[])
                    .iter()
                    .map(|(k, b)| Ok((f.text_of(k, n)?, f.bool_of(b, n)?)))
                    .collect()
            })?,
            max_msg_size: f.opt(0x05, "maxMsgSize", Fields::uint_of)?,
            pin_uv_auth_protocols: f.opt(0x06, "pinUvAuthProtocols", uints)?,
            max_credential_count_in_list: f.opt(
                0x07,
                "maxCredentialCountInList",
                Fields::uint_of,
            )?,
            max_credential_id_length: f.opt(0x08, "maxCredentialIdLength", Fields::uint_of)?,
            transports: f.opt(0x09, "transports", Fields::texts_of)?,
            algorithms: f.opt(0x0a, "algorithms", |f, v, n| {
                f.array_of(v, n)?
                    .iter()
                    .map(CredentialParameters::from_value)
                    .collect()
            })?,
            max_serialized_large_blob_array: f.opt(
                0x0b,
                "maxSerializedLargeBlobArray",
                Fields::uint_of,
            )?,
            force_pin_change: f.opt(0x0c, "forcePINChange", Fields::bool_of)?,
            min_pin_length: f.opt(0x0d, "minPINLength", Fields::uint_of)?,
            firmware_version: f.opt(0x0e, "firmwareVersion", Fields::uint_of)?,
            max_cred_blob_length: f.opt(0x0f, "maxCredBlobLength", Fields::uint_of)?,
            max_rp_ids_for_set_min_pin_length: f.opt(
                0x10,
                "maxRPIDsForSetMinPINLength",
                Fields::uint_of,
            )?,
            preferred_platform_uv_attempts: f.opt(
                0x11,
                "preferredPlatformUvAttempts",
                Fields::uint_of,
            )?,
            uv_modality: f.opt(0x12, "uvModality", Fields::uint_of)?,
            certifications: f.opt(0x13, "certifications", |f, v, n| f.map_of(v, n).cloned())?,
            remaining_discoverable_credentials: f.opt(
                0x14,
                "remainingDiscoverableCredentials",
                Fields::uint_of,
            )?,
            vendor_prototype_config_commands: f.opt(
                0x15,
                "vendorPrototypeConfigCommands",
                uints,
            )?,
            attestation_formats: f.opt(0x16, "attestationFormats", Fields::texts_of)?,
            uv_count_since_last_pin_entry: f.opt(
                0x17,
                "uvCountSinceLastPinEntry",
                Fields::uint_of,
            )?,
            long_touch_for_reset: f.opt(0x18, "longTouchForReset", Fields::bool_of)?,
            enc_identifier: f.opt(0x19, "encIdentifier", Fields::bytes_of)?,
            transports_for_reset: f.opt(0x1a, "transportsForReset", Fields::texts_of)?,
            pin_complexity_policy: f.opt(0x1b, "pinComplexityPolicy", Fields::bool_of)?,
            pin_complexity_policy_url: f.opt(0x1c, "pinComplexityPolicyURL", Fields::bytes_of)?,
            max_pin_length: f.opt(0x1d, "maxPINLength", Fields::uint_of)?,
        })
    }

    /// The response map.
    pub fn to_value(&self) -> Value {
        let options = self.options.as_ref().map(|o| {
            Value::canonical_map(
                o.iter()
                    .map(|(k, b)| (Value::from(k.as_str()), Value::Bool(*b)))
                    .collect(),
            )
        });
        MapBuilder::new()
            .put(0x01, text_array(&self.versions))
            .opt(0x02, self.extensions.as_deref().map(text_array))
            .put(0x03, self.aaguid.to_vec())
            .opt(0x04, options)
            .opt(0x05, self.max_msg_size)
            .opt(0x06, self.pin_uv_auth_protocols.as_deref().map(uint_array))
            .opt(0x07, self.max_credential_count_in_list)
            .opt(0x08, self.max_credential_id_length)
            .opt(0x09, self.transports.as_deref().map(text_array))
            .opt(
                0x0a,
                self.algorithms
                    .as_ref()
                    .map(|a| Value::Array(a.iter().map(CredentialParameters::to_value).collect())),
            )
            .opt(0x0b, self.max_serialized_large_blob_array)
            .opt(0x0c, self.force_pin_change)
            .opt(0x0d, self.min_pin_length)
            .opt(0x0e, self.firmware_version)
            .opt(0x0f, self.max_cred_blob_length)
            .opt(0x10, self.max_rp_ids_for_set_min_pin_length)
            .opt(0x11, self.preferred_platform_uv_attempts)
            .opt(0x12, self.uv_modality)
            .opt(0x13, self.certifications.clone())
            .opt(0x14, self.remaining_discoverable_credentials)
            .opt(
                0x15,
                self.vendor_prototype_config_commands
                    .as_deref()
                    .map(uint_array),
            )
            .opt(0x16, self.attestation_formats.as_deref().map(text_array))
            .opt(0x17, self.uv_count_since_last_pin_entry)
            .opt(0x18, self.long_touch_for_reset)
            .opt(0x19, self.enc_identifier.clone())
            .opt(0x1a, self.transports_for_reset.as_deref().map(text_array))
            .opt(0x1b, self.pin_complexity_policy)
            .opt(0x1c, self.pin_complexity_policy_url.clone())
            .opt(0x1d, self.max_pin_length)
            .build()
    }
}
