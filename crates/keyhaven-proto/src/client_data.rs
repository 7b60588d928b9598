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

use indexmap::IndexMap;
use serde::de::{self, MapAccess, Visitor};
use serde::Deserializer;
use serde_json::value::RawValue;
use serde_json::Value as Json;
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
    /// Every other member, in input order (`tokenBinding`, `extraData`, …),
    /// each value exactly as it arrived.
    pub other: IndexMap<String, RawJson>,
}

/// A JSON value kept as the exact text it arrived as, so a member the parser
/// does not interpret re-serializes byte for byte (a number beyond `u64`, or a
/// float, is not rounded through `f64`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// Wraps JSON text after checking that it is one valid JSON value.
    pub fn new(text: &str) -> Result<Self, serde_json::Error> {
        let raw: Box<RawValue> = serde_json::from_str(text)?;
        Ok(RawJson(raw.get().into()))
    }

    /// The JSON text of a value.
    pub fn from_value(v: &Json) -> Self {
        RawJson(v.to_string().into())
    }

    /// The JSON text, exactly as received.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The value as a `serde_json::Value` (numbers may lose digits there).
    pub fn to_value(&self) -> Json {
        serde_json::from_str(&self.0).unwrap_or(Json::Null)
    }
}

impl<'de> serde::Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Ok(RawJson(raw.get().into()))
    }
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

/// A known member's value: kept if it is a string or boolean, otherwise only
/// its JSON type is remembered (for the error message), without building a tree.
enum Scalar {
    Str(String),
    Bool(bool),
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Scalar, E> {
                Ok(Scalar::Other("number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Scalar, E> {
                Ok(Scalar::Other("number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other("number"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other("null"))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("object"))
            }
        }
        d.deserialize_any(V)
    }
}

impl Scalar {
    fn type_name(&self) -> &'static str {
        match self {
            Scalar::Str(_) => "string",
            Scalar::Bool(_) => "boolean",
            Scalar::Other(t) => t,
        }
    }
}

/// Parsed members of a clientDataJSON object, before the required ones are checked.
#[derive(Default)]
struct Members {
    type_: Option<Scalar>,
    challenge: Option<Scalar>,
    origin: Option<Scalar>,
    cross_origin: Option<Scalar>,
    top_origin: Option<Scalar>,
    other: IndexMap<String, RawJson>,
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
                            let v: RawJson = a.next_value()?;
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
            other: IndexMap::new(),
        }
    }

    /// The challenge bytes (decoding the base64url text).
    pub fn challenge_bytes(&self) -> Result<Vec<u8>, crate::b64::Base64Error> {
        crate::b64::decode(&self.challenge)
    }

    /// Parses clientDataJSON (UTF-8 JSON object, L3 §5.8.1.2 full parse).
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, ClientDataError> {
        if let Some(cd) = Self::parse_serialized_form(bytes) {
            return Ok(cd);
        }
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
        fn string(v: Option<Scalar>, k: &'static str) -> Result<Option<String>, ClientDataError> {
            match v {
                None => Ok(None),
                Some(Scalar::Str(s)) => Ok(Some(s)),
                Some(other) => Err(ClientDataError::WrongType {
                    member: k,
                    expected: "string",
                    found: other.type_name(),
                }),
            }
        }
        let type_ = string(m.type_, "type")?.ok_or(ClientDataError::Missing("type"))?;
        let challenge =
            string(m.challenge, "challenge")?.ok_or(ClientDataError::Missing("challenge"))?;
        let origin = string(m.origin, "origin")?.ok_or(ClientDataError::Missing("origin"))?;
        let cross_origin = match m.cross_origin {
            None => None,
            Some(Scalar::Bool(b)) => Some(b),
            Some(other) => {
                return Err(ClientDataError::WrongType {
                    member: "crossOrigin",
                    expected: "boolean",
                    found: other.type_name(),
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

    /// Fast path for client data in exactly the §5.8.1.1 serialized form (what
    /// conforming clients send): the fixed member order is read directly and
    /// only the remaining members go through the JSON parser. Returns None
    /// whenever the input is not in that form or anything is unusual (escapes,
    /// duplicates, whitespace), and the full parser then decides.
    fn parse_serialized_form(bytes: &[u8]) -> Option<Self> {
        fn lit<'a>(p: &'a [u8], l: &[u8]) -> Option<&'a [u8]> {
            p.strip_prefix(l)
        }
        fn string(p: &[u8]) -> Option<(String, &[u8])> {
            let p = p.strip_prefix(b"\"")?;
            let end = p
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
            if p[end] != b'"' {
                return None;
            }
            let s = std::str::from_utf8(&p[..end]).ok()?;
            Some((s.to_owned(), &p[end + 1..]))
        }
        let p = lit(bytes, b"{\"type\":")?;
        let (type_, p) = string(p)?;
        let (challenge, p) = string(lit(p, b",\"challenge\":")?)?;
        let (origin, mut p) = string(lit(p, b",\"origin\":")?)?;
        let mut cross_origin = None;
        if let Some(rest) = lit(p, b",\"crossOrigin\":") {
            if let Some(r) = lit(rest, b"true") {
                cross_origin = Some(true);
                p = r;
            } else {
                cross_origin = Some(false);
                p = lit(rest, b"false")?;
            }
        }
        let mut top_origin = None;
        if let Some(rest) = lit(p, b",\"topOrigin\":") {
            let (t, r) = string(rest)?;
            top_origin = Some(t);
            p = r;
        }
        let other = match p {
            b"}" => IndexMap::new(),
            [b',', rest @ ..] => {
                let mut obj = Vec::with_capacity(rest.len() + 1);
                obj.push(b'{');
                obj.extend_from_slice(rest);
                let m: Members = serde_json::from_slice(&obj).ok()?;
                let known = [
                    &m.type_,
                    &m.challenge,
                    &m.origin,
                    &m.cross_origin,
                    &m.top_origin,
                ];
                // A comma must introduce at least one member ("…,}" is not JSON).
                if m.other.is_empty() || known.iter().any(|k| k.is_some()) {
                    return None;
                }
                m.other
            }
            _ => return None,
        };
        Some(CollectedClientData {
            type_,
            challenge,
            origin,
            cross_origin,
            top_origin,
            other,
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
        // The remaining members, names as JSON strings and values as received.
        for (k, v) in &self.other {
            out.push(b',');
            out.extend_from_slice(Json::from(k.as_str()).to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(v.get().as_bytes());
        }
        out.push(b'}');
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
    fn fast_path_agrees_with_full_parse() {
        let cases: [&[u8]; 8] = [
            br#"{"type":"webauthn.get","challenge":"AA","origin":"https://a","crossOrigin":false}"#,
            br#"{"type":"webauthn.get","challenge":"AA","origin":"https://a"}"#,
            br#"{"type":"webauthn.get","challenge":"AA","origin":"https://a","crossOrigin":true,"topOrigin":"https://b","x":[1,{"y":null}]}"#,
            br#"{"type":"webauthn.get","challenge":"AA","origin":"https://a","crossOrigin":false,"type":"dup"}"#,
            br#"{"type":"webauthn.get","challenge":"AA","origin":"https://a","crossOrigin":false,"x":1,"x":2}"#,
            br#"{"type":"web\u0061uthn.get","challenge":"AA","origin":"https://a","crossOrigin":false}"#,
            br#"{"type":"webauthn.get","challenge":"AA","origin":"https://a","crossOrigin":false} "#,
            br#"{"type":"webauthn.get","challenge":"AA","origin":"https://a","crossOrigin":false,}"#,
        ];
        for c in cases {
            let full: Result<CollectedClientData, String> = serde_json::from_slice::<Members>(c)
                .map_err(|e| e.to_string())
                .map(|_| CollectedClientData::from_json_bytes(c).unwrap());
            let fast = CollectedClientData::parse_serialized_form(c);
            if let Some(f) = &fast {
                assert_eq!(Ok(f.clone()), full, "{}", String::from_utf8_lossy(c));
            }
            assert_eq!(
                CollectedClientData::from_json_bytes(c).is_ok(),
                full.is_ok()
            );
        }
        assert!(CollectedClientData::parse_serialized_form(cases[3]).is_none());
        assert!(
            CollectedClientData::from_json_bytes(cases[3]).is_err(),
            "duplicate type refused"
        );
        assert!(
            CollectedClientData::from_json_bytes(cases[4]).is_err(),
            "duplicate extra member refused"
        );
        assert_eq!(
            CollectedClientData::from_json_bytes(cases[5])
                .unwrap()
                .type_,
            "webauthn.get"
        );
    }

    /// ../shared/fuzz-findings/client_data_json/crash-22dadcb7…: an unknown
    /// member holding an integer beyond u64 changed its digits on every
    /// parse → print round (it went through f64). Values now come back as sent.
    #[test]
    fn unknown_members_come_back_exactly() {
        let finding = br#"{"type":"weba2n.","challenge":"hMTc","origin":"https:","cige":11326434444550380118118}"#;
        let cd = CollectedClientData::from_json_bytes(finding).unwrap();
        assert_eq!(cd.other["cige"].get(), "11326434444550380118118");
        assert_eq!(cd.to_json_bytes(), finding);
        // The full parser (whitespace, so not the fast path) keeps them too.
        let spaced =
            br#"{ "type":"a","challenge":"","origin":"", "n" : 1.50e3, "o":{"k" :[1, 2e400]}}"#;
        let cd = CollectedClientData::from_json_bytes(spaced).unwrap();
        assert_eq!(cd.other["n"].get(), "1.50e3");
        assert_eq!(cd.other["o"].get(), r#"{"k" :[1, 2e400]}"#);
        let out = cd.to_json_bytes();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"type":"a","challenge":"","origin":"","n":1.50e3,"o":{"k" :[1, 2e400]}}"#
        );
        assert_eq!(CollectedClientData::from_json_bytes(&out).unwrap(), cd);
        assert!(RawJson::new("1 2").is_err());
        assert_eq!(
            RawJson::new(" [1]").unwrap().to_value(),
            serde_json::json!([1])
        );
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
