//! Structures shared by several CTAP2 commands (CTAP 2.2 §6.1, WebAuthn L3 §5.4).

use super::{CtapError, Fields, MapBuilder};
use crate::cbor::Value;

/// PublicKeyCredentialRpEntity (text keys `id`, `name`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RpEntity {
    /// The RP ID.
    pub id: String,
    /// Human-palatable name.
    pub name: Option<String>,
}

impl RpEntity {
    pub(crate) fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "PublicKeyCredentialRpEntity")?;
        Ok(RpEntity {
            id: f.text_of(
                f.get_text("id").ok_or_else(|| f.missing("\"id\"", "id"))?,
                "id",
            )?,
            name: f
                .get_text("name")
                .map(|n| f.text_of(n, "name"))
                .transpose()?,
        })
    }
    pub(crate) fn to_value(&self) -> Value {
        MapBuilder::new()
            .put("id", self.id.as_str())
            .opt("name", self.name.as_deref())
            .build()
    }
}

/// PublicKeyCredentialUserEntity (text keys `id`, `name`, `displayName`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserEntity {
    /// The user handle (1..=64 bytes).
    pub id: Vec<u8>,
    /// Account name.
    pub name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
}

impl UserEntity {
    /// A user entity with an ID and, optionally, a name (no displayName).
    pub fn new(id: impl Into<Vec<u8>>, name: Option<&str>) -> Self {
        UserEntity {
            id: id.into(),
            name: name.map(str::to_owned),
            display_name: None,
        }
    }

    pub(crate) fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "PublicKeyCredentialUserEntity")?;
        let id = f.bytes_of(
            f.get_text("id").ok_or_else(|| f.missing("\"id\"", "id"))?,
            "id",
        )?;
        if id.len() > 64 {
            return Err(f.invalid(
                "id",
                format!("user handle is {} bytes, at most 64 allowed", id.len()),
            ));
        }
        Ok(UserEntity {
            id,
            name: f
                .get_text("name")
                .map(|n| f.text_of(n, "name"))
                .transpose()?,
            display_name: f
                .get_text("displayName")
                .map(|n| f.text_of(n, "displayName"))
                .transpose()?,
        })
    }
    pub(crate) fn to_value(&self) -> Value {
        MapBuilder::new()
            .put("id", self.id.clone())
            .opt("name", self.name.as_deref())
            .opt("displayName", self.display_name.as_deref())
            .build()
    }
}

/// PublicKeyCredentialDescriptor (text keys `type`, `id`, `transports`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialDescriptor {
    /// The credential type, normally "public-key".
    pub type_: String,
    /// The credential ID.
    pub id: Vec<u8>,
    /// Transport hints, unknown strings kept.
    pub transports: Option<Vec<String>>,
}

impl CredentialDescriptor {
    /// A "public-key" descriptor.
    pub fn public_key(id: Vec<u8>) -> Self {
        CredentialDescriptor {
            type_: "public-key".into(),
            id,
            transports: None,
        }
    }
    pub(crate) fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "PublicKeyCredentialDescriptor")?;
        Ok(CredentialDescriptor {
            type_: f.text_of(
                f.get_text("type")
                    .ok_or_else(|| f.missing("\"type\"", "type"))?,
                "type",
            )?,
            id: f.bytes_of(
                f.get_text("id").ok_or_else(|| f.missing("\"id\"", "id"))?,
                "id",
            )?,
            transports: f
                .get_text("transports")
                .map(|t| f.texts_of(t, "transports"))
                .transpose()?,
        })
    }
    pub(crate) fn to_value(&self) -> Value {
        MapBuilder::new()
            .put("type", self.type_.as_str())
            .put("id", self.id.clone())
            .opt(
                "transports",
                self.transports.as_deref().map(super::text_array),
            )
            .build()
    }
    pub(crate) fn list_from(
        f: &Fields,
        v: &Value,
        name: &'static str,
    ) -> Result<Vec<Self>, CtapError> {
        f.array_of(v, name)?.iter().map(Self::from_value).collect()
    }
    pub(crate) fn list_to(list: &[Self]) -> Value {
        Value::Array(list.iter().map(Self::to_value).collect())
    }
}

/// PublicKeyCredentialParameters (text keys `type`, `alg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialParameters {
    /// The credential type, normally "public-key".
    pub type_: String,
    /// COSE algorithm identifier (unknown ones kept; the authenticator skips them).
    pub alg: i64,
}

impl CredentialParameters {
    pub(crate) fn from_value(v: &Value) -> Result<Self, CtapError> {
        let f = Fields::new(v, "PublicKeyCredentialParameters")?;
        Ok(CredentialParameters {
            type_: f.text_of(
                f.get_text("type")
                    .ok_or_else(|| f.missing("\"type\"", "type"))?,
                "type",
            )?,
            alg: f.int_of(
                f.get_text("alg")
                    .ok_or_else(|| f.missing("\"alg\"", "alg"))?,
                "alg",
            )?,
        })
    }
    pub(crate) fn to_value(&self) -> Value {
        MapBuilder::new()
            .put("type", self.type_.as_str())
            .put("alg", self.alg)
            .build()
    }
}

/// The `options` map of makeCredential / getAssertion (`rk`, `up`, `uv`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Options {
    /// Resident (discoverable) key.
    pub rk: Option<bool>,
    /// User presence.
    pub up: Option<bool>,
    /// User verification.
    pub uv: Option<bool>,
    /// Other options, kept as given.
    pub other: Vec<(String, bool)>,
}

impl Options {
    pub(crate) fn from_value(f: &Fields, v: &Value, name: &'static str) -> Result<Self, CtapError> {
        let entries = f.map_of(v, name)?.as_map().unwrap_or(&[]);
        let mut o = Options::default();
        for (k, val) in entries {
            let Some(key) = k.as_text() else { continue };
            let b = f.bool_of(val, name)?;
            match key {
                "rk" => o.rk = Some(b),
                "up" => o.up = Some(b),
                "uv" => o.uv = Some(b),
                other => o.other.push((other.to_owned(), b)),
            }
        }
        Ok(o)
    }
    pub(crate) fn to_value(&self) -> Value {
        let mut m = MapBuilder::new()
            .opt("rk", self.rk)
            .opt("up", self.up)
            .opt("uv", self.uv);
        for (k, b) in &self.other {
            m = m.put(k.as_str(), *b);
        }
        m.build()
    }
}
