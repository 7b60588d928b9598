//! authenticatorConfig (0x0D), CTAP 2.2 §6.11.

use super::{text_array, CtapError, Fields, MapBuilder};
use crate::cbor::{self, Value};

subcommands! {
    /// authenticatorConfig subcommands (CTAP 2.2 §6.11).
    ConfigSubcommand {
        /// 0x01 enableEnterpriseAttestation.
        EnableEnterpriseAttestation = 1,
        /// 0x02 toggleAlwaysUv.
        ToggleAlwaysUv = 2,
        /// 0x03 setMinPINLength.
        SetMinPinLength = 3,
        /// 0xFF vendorPrototype.
        VendorPrototype = 0xff,
    }
}

/// subCommandParams (setMinPINLength / vendorPrototype).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ConfigParams {
    /// 0x01 newMinPINLength (or vendorCommandId for vendorPrototype).
    pub new_min_pin_length: Option<u64>,
    /// 0x02 minPinLengthRPIDs.
    pub min_pin_length_rp_ids: Option<Vec<String>>,
    /// 0x03 forceChangePin.
    pub force_change_pin: Option<bool>,
    /// 0x04 pinComplexityPolicy.
    pub pin_complexity_policy: Option<bool>,
}

impl ConfigParams {
    fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorConfig subCommandParams")?;
        Ok(ConfigParams {
            new_min_pin_length: f.opt(0x01, "newMinPINLength", Fields::uint_of)?,
            min_pin_length_rp_ids: f.opt(0x02, "minPinLengthRPIDs", Fields::texts_of)?,
            force_change_pin: f.opt(0x03, "forceChangePin", Fields::bool_of)?,
            pin_complexity_policy: f.opt(0x04, "pinComplexityPolicy", Fields::bool_of)?,
        })
    }
    /// The params map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .opt(0x01, self.new_min_pin_length)
            .opt(0x02, self.min_pin_length_rp_ids.as_deref().map(text_array))
            .opt(0x03, self.force_change_pin)
            .opt(0x04, self.pin_complexity_policy)
            .build()
    }
}

/// The authenticatorConfig request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigRequest {
    /// 0x01 subCommand.
    pub sub_command: ConfigSubcommand,
    /// 0x02 subCommandParams.
    pub sub_command_params: Option<ConfigParams>,
    /// 0x03 pinUvAuthProtocol.
    pub pin_uv_auth_protocol: Option<u64>,
    /// 0x04 pinUvAuthParam.
    pub pin_uv_auth_param: Option<Vec<u8>>,
}

impl ConfigRequest {
    /// Parses the parameter map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorConfig")?;
        Ok(ConfigRequest {
            sub_command: ConfigSubcommand::from_u64(f.req(0x01, "subCommand", Fields::uint_of)?),
            sub_command_params: f.opt(0x02, "subCommandParams", |_, v, _| {
                ConfigParams::from_value(v)
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
                self.sub_command_params.as_ref().map(ConfigParams::to_value),
            )
            .opt(0x03, self.pin_uv_auth_protocol)
            .opt(0x04, self.pin_uv_auth_param.clone())
            .build()
    }

    /// The message the pinUvAuthParam authenticates:
    /// 32×0xff ‖ 0x0d ‖ subCommand ‖ subCommandParams (CTAP 2.2 §6.11).
    pub fn auth_message(&self) -> Vec<u8> {
        let mut m = vec![0xff; 32];
        m.push(0x0d);
        m.push(self.sub_command.to_u64() as u8);
        if let Some(p) = &self.sub_command_params {
            cbor::encode_into(&p.to_value(), &mut m);
        }
        m
    }
}
