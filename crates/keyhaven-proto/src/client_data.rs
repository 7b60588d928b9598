//! CollectedClientData and clientDataJSON (WebAuthn L3 §5.8.1).
//!
//! Serialization follows §5.8.1.1 exactly: `type`, `challenge`, `origin`,
//! `crossOrigin`, then `topOrigin` if present, each string through
//! CCDToString, then any other members as JSON. Parsing is a full JSON parse
//! that rejects duplicate members and keeps unknown members (such as the W3C
//! vectors' `extraData`) in order, so a spec-conformant clientDataJSON
//! re-serializes byte-exactly.
//!
//! ```
//! use keyhaven_proto::client_data::CollectedClientData;
//! let cd = CollectedClientData::new("webauthn.get", &[1, 2, 3], "https://example.org");
//! let json = cd.to_json_bytes();
//! assert_eq!(
//!     std::str::from_utf8(&json).unwrap(),
//!     r#"{"type":"webauthn.get","challenge":"AQID","origin":"https://example.org","crossOrigin":false}"#
//! );
//! assert_eq!(CollectedClientData::from_json_bytes(&json).unwrap(), cd);
//! ```

use serde::de::{self, MapAccess, Visitor};
use serde::Deserializer;
use serde_json::{Map, Value as Json};
use std::fmt;

/// `type` for registration.
pub const TYPE_CREATE: &str = "webauthn.create";
/// `type` for authentication.
pub const TYPE_GET: &str = "webauthn.get";
/// `type` for Secure Payment Confirmation.
pub const TYPE_PAYMENT_GET: &str = "payment.get";

/// The client data (L3 §5.8.1, dictionary CollectedClientData).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectedClientData {
    /// `type`.
    pub type_: String,
    /// `challenge`, as the base64url text it is carried in.
    pub challenge: String,
    /// `origin`.
    pub origin: String,
    /// `crossOrigin` (a conformant client always sends it; old ones may not).
    pub cross_origin: Option<bool>,
    /// `topOrigin` (present only when cross-origin).
    pub top_origin: Option<String>,
    /// Every other member, in input order (`tokenBinding`, `extraData`, …).
    pub other: Map<String, Json>,
}

/// Why clientDataJSON was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ClientDataError {
    /// Not valid JSON, or a duplicate member.
    #[error("clientDataJSON at line {line} column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column (byte offset within the line).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A required member is missing.
    #[error("clientDataJSON: missing member {0:?}")]
    Missing(&'static str),
    /// A member has the wrong JSON type.
    #[error("clientDataJSON: member {member:?} must be a {expected}, found {found}")]
    WrongType {
        /// The member.
        member: &'static str,
        /// Expected type.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Parsed members of a clientDataJSON object, before the required ones are checked.
#[derive(Default)]
struct Members {
    type_: Option<Json>,
    challenge: Option<Json>,
    origin: Option<Json>,
    cross_origin: Option<Json>,
    top_origin: Option<Json>,
    other: Map<String, Json>,
}

/// One pass over the JSON object: known members by name without building a
/// map, others kept in order, duplicates refused.
impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Members, A::Error> {
                let mut m = Members::default();
                while let Some(k) = a.next_key::<std::borrow::Cow<'de, str>>()? {
                    let slot = match k.as_ref() {
                        "type" => &mut m.type_,
                        "challenge" => &mut m.challenge,
                        "origin" => &mut m.origin,
                        "crossOrigin" => &mut m.cross_origin,
                        "topOrigin" => &mut m.top_origin,
                        other => {
                            if m.other.contains_key(other) {
                                return Err(de::Error::custom(format!(
                                    "duplicate member {other:?}"
                                )));
                            }
                            let v: Json = a.next_value()?;
                            m.other.insert(other.to_owned(), v);
                            continue;
                        }
                    };
                    if slot.is_some() {
                        return Err(de::Error::custom(format!(
                            "duplicate member {:?}",
                            k.as_ref()
                        )));
                    }
                    *slot = Some(a.next_value()?);
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
}

impl CollectedClientData {
    /// Client data for a ceremony, not cross-origin.
    pub fn new(type_: &str, challenge: &[u8], origin: &str) -> Self {
        CollectedClientData {
            type_: type_.to_owned(),
            challenge: crate::b64::encode(challenge),
            origin: origin.to_owned(),
            cross_origin: Some(false),
            top_origin: None,
            other: Map::new(),
        }
    }

    /// The challenge bytes (decoding the base64url text).
    pub fn challenge_bytes(&self) -> Result<Vec<u8>, crate::b64::Base64Error> {
        crate::b64::decode(&self.challenge)
    }

    /// Parses clientDataJSON (UTF-8 JSON object, L3 §5.8.1.2 full parse).
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, ClientDataError> {
        let m: Members = serde_json::from_slice(bytes).map_err(|e| ClientDataError::Json {
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned(),
        })?;
        fn string(v: Option<Json>, k: &'static str) -> Result<Option<String>, ClientDataError> {
            match v {
                None => Ok(None),
                Some(Json::String(s)) => Ok(Some(s)),
                Some(other) => Err(ClientDataError::WrongType {
                    member: k,
                    expected: "string",
                    found: json_type(&other),
                }),
            }
        }
        let type_ = string(m.type_, "type")?.ok_or(ClientDataError::Missing("type"))?;
        let challenge =
            string(m.challenge, "challenge")?.ok_or(ClientDataError::Missing("challenge"))?;
        let origin = string(m.origin, "origin")?.ok_or(ClientDataError::Missing("origin"))?;
        let cross_origin = match m.cross_origin {
            None => None,
            Some(Json::Bool(b)) => Some(b),
            Some(other) => {
                return Err(ClientDataError::WrongType {
                    member: "crossOrigin",
                    expected: "boolean",
                    found: json_type(&other),
                })
            }
        };
        let top_origin = string(m.top_origin, "topOrigin")?;
        Ok(CollectedClientData {
            type_,
            challenge,
            origin,
            cross_origin,
            top_origin,
            other: m.other,
        })
    }

    /// Serializes per L3 §5.8.1.1.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.challenge.len() + self.origin.len());
        out.extend_from_slice(b"{\"type\":");
        ccd_to_string(&self.type_, &mut out);
        out.extend_from_slice(b",\"challenge\":");
        ccd_to_string(&self.challenge, &mut out);
        out.extend_from_slice(b",\"origin\":");
        ccd_to_string(&self.origin, &mut out);
        if let Some(c) = self.cross_origin {
            out.extend_from_slice(b",\"crossOrigin\":");
            out.extend_from_slice(if c { b"true" } else { b"false" });
        }
        if let Some(t) = &self.top_origin {
            out.extend_from_slice(b",\"topOrigin\":");
            ccd_to_string(t, &mut out);
        }
        if self.other.is_empty() {
            out.push(b'}');
        } else {
            // The remaining members serialized as JSON, their leading '{' replaced by ','.
            let rest = serde_json::to_vec(&self.other).unwrap_or_else(|_| b"{}".to_vec());
            out.push(b',');
            out.extend_from_slice(&rest[1..]);
        }
        out
    }
}

/// CCDToString (L3 §5.8.1.1).
pub fn ccd_to_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let mut buf = [0u8; 4];
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{20}' | '\u{21}' | '\u{23}'..='\u{5b}' | '\u{5d}'..='\u{10ffff}' => {
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes())
            }
            other => out.extend_from_slice(format!("\\u{:04x}", other as u32).as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ccd_escapes() {
        let mut out = Vec::new();
        ccd_to_string("a\"b\\c\n\u{1}é", &mut out);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "\"a\\\"b\\\\c\\u000a\\u0001é\""
        );
    }

    #[test]
    fn top_origin_and_extra_members() {
        let json = br#"{"type":"webauthn.get","challenge":"AA","origin":"https://a.example","crossOrigin":true,"topOrigin":"https://b.example","extraData":"x","n":1}"#;
        let cd = CollectedClientData::from_json_bytes(json).unwrap();
        assert_eq!(cd.top_origin.as_deref(), Some("https://b.example"));
        assert_eq!(cd.other.len(), 2);
        assert_eq!(cd.to_json_bytes(), json);
    }

    #[test]
    fn rejects_bad_client_data() {
        let dup = br#"{"type":"a","type":"b","challenge":"","origin":""}"#;
        assert!(matches!(
            CollectedClientData::from_json_bytes(dup),
            Err(ClientDataError::Json { message, .. }) if message.contains("duplicate")
        ));
        assert!(matches!(
            CollectedClientData::from_json_bytes(br#"{"type":"a","origin":""}"#),
            Err(ClientDataError::Missing("challenge"))
        ));
        assert!(matches!(
            CollectedClientData::from_json_bytes(
                br#"{"type":"a","challenge":"","origin":"","crossOrigin":"no"}"#
            ),
            Err(ClientDataError::WrongType {
                member: "crossOrigin",
                ..
            })
        ));
        assert!(matches!(
            CollectedClientData::from_json_bytes(b"[1]"),
            Err(ClientDataError::Json { .. })
        ));
    }
}
