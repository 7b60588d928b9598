//! authenticatorLargeBlobs (0x0C), CTAP 2.2 §6.10.

use super::{CtapError, Fields, MapBuilder};
use crate::cbor::Value;

/// The largeBlobs request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LargeBlobsRequest {
    /// 0x01 get: number of bytes to read.
    pub get: Option<u64>,
    /// 0x02 set: a fragment to write.
    pub set: Option<Vec<u8>>,
    /// 0x03 offset.
    pub offset: u64,
    /// 0x04 length: total length (first set fragment only).
    pub length: Option<u64>,
    /// 0x05 pinUvAuthParam.
    pub pin_uv_auth_param: Option<Vec<u8>>,
    /// 0x06 pinUvAuthProtocol.
    pub pin_uv_auth_protocol: Option<u64>,
}

impl LargeBlobsRequest {
    /// Parses the parameter map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorLargeBlobs")?;
        Ok(LargeBlobsRequest {
            get: f.opt(0x01, "get", Fields::uint_of)?,
            set: f.opt(0x02, "set", Fields::bytes_of)?,
            offset: f.req(0x03, "offset", Fields::uint_of)?,
            length: f.opt(0x04, "length", Fields::uint_of)?,
            pin_uv_auth_param: f.opt(0x05, "pinUvAuthParam", Fields::bytes_of)?,
            pin_uv_auth_protocol: f.opt(0x06, "pinUvAuthProtocol", Fields::uint_of)?,
        })
    }

    /// The parameter map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new()
            .opt(0x01, self.get)
            .opt(0x02, self.set.clone())
            .put(0x03, self.offset)
            .opt(0x04, self.length)
            .opt(0x05, self.pin_uv_auth_param.clone())
            .opt(0x06, self.pin_uv_auth_protocol)
            .build()
    }
}

/// The largeBlobs response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LargeBlobsResponse {
    /// 0x01 config: the fragment read.
    pub config: Option<Vec<u8>>,
}

impl LargeBlobsResponse {
    /// Parses the response map.
    pub fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "authenticatorLargeBlobs response")?;
        Ok(LargeBlobsResponse {
            config: f.opt(0x01, "config", Fields::bytes_of)?,
        })
    }

    /// The response map.
    pub fn to_value(&self) -> Value {
        MapBuilder::new().opt(0x01, self.config.clone()).build()
    }
}
