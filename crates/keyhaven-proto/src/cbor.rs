//! CBOR (RFC 8949) with the CTAP2 canonical encoding form (CTAP 2.2 §8).
//!
//! The decoder is strict by default ([`CborPolicy::Strict`]): every rule of the
//! canonical form is checked and a violation is an error carrying the byte
//! offset where it was found.
//!
//! * definite lengths only (indefinite-length items are rejected),
//! * integers, lengths and simple values in their shortest form,
//! * map keys unique and sorted in CTAP2 canonical order (major type, then
//!   encoded length, then bytewise),
//! * no tags (major type 6),
//! * text strings are valid UTF-8,
//! * no trailing bytes after the top-level item,
//! * a nesting limit for arrays and maps.
//!
//! [`CborPolicy::Interoperable`] accepts any well-formed CBOR instead (RFC 8949
//! §5.1: definite or indefinite lengths, integers and lengths in any width,
//! map keys in any order), for what real authenticators send in parts that
//! are not signed (WebAuthn L3 §2.4 makes canonical decoding a SHOULD). It still
//! refuses duplicate map keys (compared by decoded value, so `0x01` and
//! `0x18 0x01` are the same key), tags, invalid UTF-8, reserved encodings,
//! trailing bytes and nesting beyond the limit.
//!
//! Floating-point values are kept in the width they were encoded with
//! ("the representations of any floating-point values are not changed").
//!
//! Nothing is allocated from a length field beyond what the remaining input
//! could hold: a byte string's length must fit in the input, and an array or
//! map can hold at most one item per remaining byte.
//!
//! Maps keep their entries in input order, so a decode → encode round trip is
//! byte-exact. Build new maps with [`Value::canonical_map`], which sorts.
//!
//! ```
//! use keyhaven_proto::cbor::{self, Value};
//! let v = Value::canonical_map(vec![(Value::from(3), Value::from(-7)), (Value::from(1), Value::from(2))]);
//! let bytes = cbor::encode(&v);
//! assert_eq!(bytes, [0xa2, 0x01, 0x02, 0x03, 0x26]);
//! assert_eq!(cbor::decode(&bytes).unwrap(), v);
//! ```

use std::cmp::Ordering;
use std::fmt;

/// Nesting limit for arrays and maps used by [`decode`]. CTAP messages nest at
/// most 4 levels; WebAuthn structures such as a compound attestation statement
/// go deeper, so the default leaves room while bounding recursion.
pub const DEFAULT_MAX_DEPTH: usize = 16;

/// A floating-point value, kept in its encoded width so it re-encodes exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Float {
    /// IEEE 754 half precision bits.
    F16(u16),
    /// IEEE 754 single precision bits.
    F32(u32),
    /// IEEE 754 double precision bits.
    F64(u64),
}

impl Float {
    /// The value as an `f64`.
    pub fn to_f64(self) -> f64 {
        match self {
            Float::F16(h) => {
                let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
                let exp = i32::from((h >> 10) & 0x1f);
                let mant = f64::from(h & 0x3ff);
                sign * match exp {
                    0 => mant * 2f64.powi(-24),
                    31 if mant == 0.0 => f64::INFINITY,
                    31 => f64::NAN,
                    e => (1.0 + mant / 1024.0) * 2f64.powi(e - 15),
                }
            }
            Float::F32(b) => f64::from(f32::from_bits(b)),
            Float::F64(b) => f64::from_bits(b),
        }
    }
}

/// A CBOR data item.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// Major type 0: an unsigned integer.
    Unsigned(u64),
    /// Major type 1: the integer `-1 - n`.
    Negative(u64),
    /// Major type 2: a byte string.
    Bytes(Vec<u8>),
    /// Major type 3: a UTF-8 text string.
    Text(String),
    /// Major type 4: an array.
    Array(Vec<Value>),
    /// Major type 5: a map, entries in encoding order.
    Map(Vec<(Value, Value)>),
    /// `false` / `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// Another simple value (0..=19 or 32..=255).
    Simple(u8),
    /// A floating-point number.
    Float(Float),
}

/// What went wrong while decoding, without the position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CborErrorKind {
    /// The input ended inside an item.
    #[error("input ends early: expected {needed} more byte(s), found {available}")]
    Truncated {
        /// Bytes still needed.
        needed: u64,
        /// Bytes left.
        available: usize,
    },
    /// Bytes follow the top-level item.
    #[error("{0} trailing byte(s) after the CBOR item")]
    TrailingBytes(usize),
    /// Additional information 28..=30 is reserved.
    #[error("reserved additional information value {0}")]
    ReservedAdditionalInfo(u8),
    /// Indefinite-length items are not allowed in the CTAP2 canonical form.
    #[error("indefinite-length item (CTAP 2.2 §8 requires definite lengths)")]
    IndefiniteLength,
    /// The break stop code outside of an indefinite-length item.
    #[error("unexpected break code 0xff")]
    UnexpectedBreak,
    /// An integer or length not in its shortest form.
    #[error(
        "non-shortest encoding of {value} (CTAP 2.2 §8: integers and lengths as short as possible)"
    )]
    NonShortestForm {
        /// The encoded value.
        value: u64,
    },
    /// Tags are not allowed in the CTAP2 canonical form.
    #[error("tag {0} (CTAP 2.2 §8: tags must not be present)")]
    TagNotAllowed(u64),
    /// A text string that is not UTF-8.
    #[error("text string is not valid UTF-8")]
    InvalidUtf8,
    /// A simple value encoded in two bytes although it fits in one, or a reserved one.
    #[error("invalid simple value encoding {0}")]
    InvalidSimple(u8),
    /// A map key that appeared before.
    #[error("duplicate map key")]
    DuplicateKey,
    /// Map keys not in CTAP2 canonical order.
    #[error("map keys out of canonical order (CTAP 2.2 §8)")]
    UnsortedKeys,
    /// An indefinite-length string holds something other than a definite-length
    /// string of its own major type (RFC 8949 §3.2.3).
    #[error("indefinite-length string chunk is not a definite-length string of the same type")]
    InvalidChunk,
    /// Too many nested arrays/maps.
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    /// A length that cannot fit in the remaining input.
    #[error("{claimed} item(s) cannot fit in the {available} byte(s) left")]
    LengthTooLarge {
        /// Claimed length or item count.
        claimed: u64,
        /// Bytes left in the input.
        available: usize,
    },
}

/// A decoding error with the byte offset where it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("CBOR at byte {offset}: {kind}")]
pub struct CborError {
    /// Offset from the start of the decoded buffer.
    pub offset: usize,
    /// What was wrong.
    pub kind: CborErrorKind,
}

/// Which CBOR the decoder accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CborPolicy {
    /// The CTAP2 canonical form only (CTAP 2.2 §8).
    #[default]
    Strict,
    /// Any well-formed CBOR without tags: indefinite lengths, non-shortest
    /// integers and lengths, any key order. Duplicate keys are still refused.
    Interoperable,
}

impl CborPolicy {
    /// Decoder options with this policy and the default nesting limit.
    pub fn options(self) -> DecodeOptions {
        DecodeOptions {
            max_depth: DEFAULT_MAX_DEPTH,
            policy: self,
        }
    }
}

/// Decoder settings.
#[derive(Clone, Copy, Debug)]
pub struct DecodeOptions {
    /// Maximum nesting of arrays and maps (a top-level map is level 1).
    pub max_depth: usize,
    /// Canonical form only, or any well-formed CBOR.
    pub policy: CborPolicy,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        CborPolicy::Strict.options()
    }
}

/// Decodes exactly one item that must fill `input` (strict CTAP2 canonical).
pub fn decode(input: &[u8]) -> Result<Value, CborError> {
    decode_with(input, DecodeOptions::default())
}

/// Decodes exactly one item with explicit options.
pub fn decode_with(input: &[u8], opts: DecodeOptions) -> Result<Value, CborError> {
    let (v, used) = decode_prefix_with(input, opts)?;
    if used != input.len() {
        return Err(CborError {
            offset: used,
            kind: CborErrorKind::TrailingBytes(input.len() - used),
        });
    }
    Ok(v)
}

/// Decodes one item from the start of `input`, returning it and the number of
/// bytes it used. Used where CBOR is followed by other data (authenticator data).
pub fn decode_prefix(input: &[u8]) -> Result<(Value, usize), CborError> {
    decode_prefix_with(input, DecodeOptions::default())
}

/// [`decode_prefix`] with explicit options.
pub fn decode_prefix_with(input: &[u8], opts: DecodeOptions) -> Result<(Value, usize), CborError> {
    let mut d = Decoder {
        buf: input,
        pos: 0,
        opts,
    };
    let v = d.item(0)?;
    Ok((v, d.pos))
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    opts: DecodeOptions,
}

impl Decoder<'_> {
    fn err(&self, offset: usize, kind: CborErrorKind) -> CborError {
        CborError { offset, kind }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: u64) -> Result<&[u8], CborError> {
        let avail = self.remaining();
        if n > avail as u64 {
            return Err(self.err(
                self.pos,
                CborErrorKind::Truncated {
                    needed: n,
                    available: avail,
                },
            ));
        }
        let n = n as usize;
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn strict(&self) -> bool {
        self.opts.policy == CborPolicy::Strict
    }

    /// Reads the head: (major, additional info, argument). Checks shortest
    /// form under the strict policy. Additional information 31 (indefinite
    /// length) comes back as such for majors 2–5 under the interoperable
    /// policy; the caller reads the items up to the break.
    fn head(&mut self) -> Result<(u8, u8, u64), CborError> {
        let start = self.pos;
        let ib = self.take(1)?[0];
        let major = ib >> 5;
        let ai = ib & 0x1f;
        // The largest value that the next shorter form could have held.
        let (arg, shorter_max) = match ai {
            0..=23 => (u64::from(ai), None),
            24 => (u64::from(self.take(1)?[0]), Some(23)),
            25 => {
                let b = self.take(2)?;
                (u64::from(u16::from_be_bytes([b[0], b[1]])), Some(0xff))
            }
            26 => {
                let b = self.take(4)?;
                (
                    u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                    Some(0xffff),
                )
            }
            27 => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                (u64::from_be_bytes(a), Some(0xffff_ffff))
            }
            28..=30 => return Err(self.err(start, CborErrorKind::ReservedAdditionalInfo(ai))),
            _ if (2..=5).contains(&major) && !self.strict() => return Ok((major, ai, 0)),
            _ => {
                return Err(self.err(
                    start,
                    if major == 7 {
                        CborErrorKind::UnexpectedBreak
                    } else {
                        CborErrorKind::IndefiniteLength
                    },
                ))
            }
        };
        // Simple values and floats in major 7 have their own rules below.
        if let Some(max) = shorter_max {
            if arg <= max && major != 7 && self.strict() {
                return Err(self.err(start, CborErrorKind::NonShortestForm { value: arg }));
            }
        }
        Ok((major, ai, arg))
    }

    /// Under the interoperable policy: consumes a break code if one is next.
    fn at_break(&mut self) -> Result<bool, CborError> {
        match self.buf.get(self.pos) {
            Some(0xff) => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(self.err(
                self.pos,
                CborErrorKind::Truncated {
                    needed: 1,
                    available: 0,
                },
            )),
        }
    }

    /// The chunks of an indefinite-length string (RFC 8949 §3.2.3), joined.
    fn chunks(&mut self, major: u8) -> Result<Vec<u8>, CborError> {
        let mut out = Vec::new();
        while !self.at_break()? {
            let at = self.pos;
            let (m, ai, len) = self.head()?;
            if m != major || ai == 31 {
                return Err(self.err(at, CborErrorKind::InvalidChunk));
            }
            let chunk = self.take(len)?;
            // Each text chunk is valid UTF-8 by itself.
            if major == 3 && std::str::from_utf8(chunk).is_err() {
                return Err(self.err(at, CborErrorKind::InvalidUtf8));
            }
            out.extend_from_slice(chunk);
        }
        Ok(out)
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        let start = self.pos;
        let (major, ai, arg) = self.head()?;
        let indefinite = ai == 31;
        Ok(match major {
            0 => Value::Unsigned(arg),
            1 => Value::Negative(arg),
            2 if indefinite => Value::Bytes(self.chunks(2)?),
            2 => Value::Bytes(self.take(arg)?.to_vec()),
            3 if indefinite => match String::from_utf8(self.chunks(3)?) {
                Ok(t) => Value::Text(t),
                Err(_) => return Err(self.err(start, CborErrorKind::InvalidUtf8)),
            },
            3 => {
                let s = self.take(arg)?;
                match std::str::from_utf8(s) {
                    Ok(t) => Value::Text(t.to_owned()),
                    Err(_) => return Err(self.err(start, CborErrorKind::InvalidUtf8)),
                }
            }
            4 | 5 if depth + 1 > self.opts.max_depth => {
                return Err(self.err(start, CborErrorKind::TooDeep(self.opts.max_depth)))
            }
            4 | 5 => self.container(major, (!indefinite).then_some(arg), depth, start)?,
            6 => return Err(self.err(start, CborErrorKind::TagNotAllowed(arg))),
            _ => match ai {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 => Value::Null,
                23 => Value::Undefined,
                0..=19 => Value::Simple(ai),
                24 => {
                    if arg < 32 {
                        return Err(self.err(start, CborErrorKind::InvalidSimple(arg as u8)));
                    }
                    Value::Simple(arg as u8)
                }
                25 => Value::Float(Float::F16(arg as u16)),
                26 => Value::Float(Float::F32(arg as u32)),
                _ => Value::Float(Float::F64(arg)),
            },
        })
    }
}

impl Decoder<'_> {
    /// An array or map: `count` items, or up to the break code when `None`
    /// (indefinite length, interoperable policy only). Strict: keys unique and
    /// in canonical order, compared by encoding. Interoperable: keys in any
    /// order, a key equal in value to an earlier one refused.
    fn container(
        &mut self,
        major: u8,
        count: Option<u64>,
        depth: usize,
        start: usize,
    ) -> Result<Value, CborError> {
        let per = if major == 5 { 2 } else { 1 };
        // Each item takes at least one byte: bound a definite count by the input.
        if let Some(n) = count {
            let avail = self.remaining();
            if n.saturating_mul(per) > avail as u64 {
                return Err(self.err(
                    start,
                    CborErrorKind::LengthTooLarge {
                        claimed: n,
                        available: avail,
                    },
                ));
            }
        }
        let mut left = count;
        let mut more = |d: &mut Self| -> Result<bool, CborError> {
            match &mut left {
                Some(0) => Ok(false),
                Some(n) => {
                    *n -= 1;
                    Ok(true)
                }
                None => Ok(!d.at_break()?),
            }
        };
        if major == 4 {
            let mut items = Vec::with_capacity(count.unwrap_or(0) as usize);
            while more(self)? {
                items.push(self.item(depth + 1)?);
            }
            return Ok(Value::Array(items));
        }
        let mut entries: Vec<(Value, Value)> = Vec::with_capacity(count.unwrap_or(0) as usize);
        let mut prev_key: Option<(usize, usize)> = None;
        let mut seen = std::collections::HashSet::new();
        while more(self)? {
            let kstart = self.pos;
            let k = self.item(depth + 1)?;
            let kend = self.pos;
            if self.strict() {
                // CTAP 2.2 §8: keys sorted in canonical order, hence unique.
                if let Some((ps, pe)) = prev_key {
                    match canonical_key_cmp(&self.buf[ps..pe], &self.buf[kstart..kend]) {
                        Ordering::Equal => {
                            return Err(self.err(kstart, CborErrorKind::DuplicateKey))
                        }
                        Ordering::Greater => {
                            return Err(self.err(kstart, CborErrorKind::UnsortedKeys))
                        }
                        Ordering::Less => {}
                    }
                }
                prev_key = Some((kstart, kend));
            } else if !seen.insert(k.clone()) {
                return Err(self.err(kstart, CborErrorKind::DuplicateKey));
            }
            let v = self.item(depth + 1)?;
            entries.push((k, v));
        }
        Ok(Value::Map(entries))
    }
}

/// CTAP2 canonical key order on encoded keys: lower major type first, then
/// shorter encoding, then bytewise lexical order (CTAP 2.2 §8).
pub fn canonical_key_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let ma = a.first().map(|x| x >> 5);
    let mb = b.first().map(|x| x >> 5);
    ma.cmp(&mb)
        .then(a.len().cmp(&b.len()))
        .then_with(|| a.cmp(b))
}

fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if arg <= 0xff {
        out.push(m | 24);
        out.push(arg as u8);
    } else if arg <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// Encodes a value (shortest forms, definite lengths; maps in stored order).
pub fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(v, &mut out);
    out
}

/// Appends the encoding of `v` to `out`.
pub fn encode_into(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Unsigned(n) => write_head(out, 0, *n),
        Value::Negative(n) => write_head(out, 1, *n),
        Value::Bytes(b) => {
            write_head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Text(t) => {
            write_head(out, 3, t.len() as u64);
            out.extend_from_slice(t.as_bytes());
        }
        Value::Array(items) => {
            write_head(out, 4, items.len() as u64);
            for i in items {
                encode_into(i, out);
            }
        }
        Value::Map(entries) => {
            write_head(out, 5, entries.len() as u64);
            for (k, val) in entries {
                encode_into(k, out);
                encode_into(val, out);
            }
        }
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Null => out.push(0xf6),
        Value::Undefined => out.push(0xf7),
        Value::Simple(s) => {
            if *s < 24 {
                out.push(0xe0 | s);
            } else {
                out.push(0xf8);
                out.push(*s);
            }
        }
        Value::Float(Float::F16(b)) => {
            out.push(0xf9);
            out.extend_from_slice(&b.to_be_bytes());
        }
        Value::Float(Float::F32(b)) => {
            out.push(0xfa);
            out.extend_from_slice(&b.to_be_bytes());
        }
        Value::Float(Float::F64(b)) => {
            out.push(0xfb);
            out.extend_from_slice(&b.to_be_bytes());
        }
    }
}

impl Value {
    /// A map with its entries sorted into CTAP2 canonical order.
    pub fn canonical_map(mut entries: Vec<(Value, Value)>) -> Value {
        entries.sort_by_cached_key(|(k, _)| CanonicalKey(encode(k)));
        Value::Map(entries)
    }

    /// Sorts every map in this value (recursively) into canonical order.
    pub fn canonicalize(&mut self) {
        match self {
            Value::Array(items) => items.iter_mut().for_each(Value::canonicalize),
            Value::Map(entries) => {
                for (k, v) in entries.iter_mut() {
                    k.canonicalize();
                    v.canonicalize();
                }
                entries.sort_by_cached_key(|(k, _)| CanonicalKey(encode(k)));
            }
            _ => {}
        }
    }

    /// The integer value, if this is an integer that fits in `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Unsigned(n) => i64::try_from(n).ok(),
            Value::Negative(n) => i64::try_from(n).ok().map(|n| -1 - n),
            _ => None,
        }
    }

    /// The integer value as `i128` (covers the full CBOR range).
    pub fn as_i128(&self) -> Option<i128> {
        match *self {
            Value::Unsigned(n) => Some(i128::from(n)),
            Value::Negative(n) => Some(-1 - i128::from(n)),
            _ => None,
        }
    }

    /// The unsigned integer, if this is one.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Unsigned(n) => Some(n),
            _ => None,
        }
    }

    /// The bytes of a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The text of a text string.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The items of an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries of a map.
    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Looks up an integer key in a map.
    pub fn get_int(&self, key: i64) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_i64() == Some(key))
            .map(|(_, v)| v)
    }

    /// Looks up a text key in a map.
    pub fn get_text(&self, key: &str) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of this item's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Unsigned(_) | Value::Negative(_) => "integer",
            Value::Bytes(_) => "byte string",
            Value::Text(_) => "text string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
            Value::Undefined => "undefined",
            Value::Simple(_) => "simple value",
            Value::Float(_) => "float",
        }
    }
}

#[derive(PartialEq, Eq)]
struct CanonicalKey(Vec<u8>);
impl PartialOrd for CanonicalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for CanonicalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        canonical_key_cmp(&self.0, &other.0)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        if n >= 0 {
            Value::Unsigned(n as u64)
        } else {
            Value::Negative((-1 - n) as u64)
        }
    }
}
impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::from(i64::from(n))
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Unsigned(n)
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Unsigned(u64::from(n))
    }
}
impl From<u8> for Value {
    fn from(n: u8) -> Self {
        Value::Unsigned(u64::from(n))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Bytes(b)
    }
}
impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Self {
        Value::Bytes(b.to_vec())
    }
}

/// Diagnostic notation (RFC 8949 §8), with byte strings in hex.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unsigned(n) => write!(f, "{n}"),
            Value::Negative(n) => write!(f, "{}", -1 - i128::from(*n)),
            Value::Bytes(b) => {
                f.write_str("h'")?;
                for x in b {
                    write!(f, "{x:02x}")?;
                }
                f.write_str("'")
            }
            Value::Text(t) => write!(f, "{t:?}"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
            Value::Undefined => f.write_str("undefined"),
            Value::Simple(s) => write!(f, "simple({s})"),
            Value::Float(x) => write!(f, "{}", x.to_f64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(bytes: &[u8]) -> CborErrorKind {
        decode(bytes).unwrap_err().kind
    }

    #[test]
    fn integers_shortest_form() {
        assert_eq!(encode(&Value::from(23)), [0x17]);
        assert_eq!(encode(&Value::from(24)), [0x18, 24]);
        assert_eq!(encode(&Value::from(-1)), [0x20]);
        assert_eq!(encode(&Value::from(-257)), [0x39, 0x01, 0x00]);
        assert_eq!(
            encode(&Value::from(i64::MIN)),
            [0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert!(matches!(
            err(&[0x18, 0x17]),
            CborErrorKind::NonShortestForm { value: 23 }
        ));
        assert!(matches!(
            err(&[0x19, 0x00, 0xff]),
            CborErrorKind::NonShortestForm { .. }
        ));
        assert!(matches!(
            err(&[0x5a, 0, 0, 0, 1, 0]),
            CborErrorKind::NonShortestForm { .. }
        ));
    }

    #[test]
    fn forbidden_forms() {
        assert_eq!(
            err(&[0x5f, 0x41, 0x00, 0xff]),
            CborErrorKind::IndefiniteLength
        );
        assert_eq!(err(&[0xc2, 0x40]), CborErrorKind::TagNotAllowed(2));
        assert_eq!(err(&[0xff]), CborErrorKind::UnexpectedBreak);
        assert_eq!(err(&[0x1c]), CborErrorKind::ReservedAdditionalInfo(28));
        assert_eq!(err(&[0x62, 0xff, 0xfe]), CborErrorKind::InvalidUtf8);
        assert_eq!(err(&[0xf8, 0x10]), CborErrorKind::InvalidSimple(16));
        assert_eq!(err(&[0x01, 0x02]), CborErrorKind::TrailingBytes(1));
    }

    #[test]
    fn maps_sorted_unique() {
        assert_eq!(
            err(&[0xa2, 0x01, 0x00, 0x01, 0x00]),
            CborErrorKind::DuplicateKey
        );
        assert_eq!(
            err(&[0xa2, 0x02, 0x00, 0x01, 0x00]),
            CborErrorKind::UnsortedKeys
        );
        // -1 sorts after 24 (major type first), "a" after both.
        let ok = [0xa3, 0x18, 0x18, 0x00, 0x20, 0x00, 0x61, b'a', 0x00];
        assert!(decode(&ok).is_ok());
        let lax = CborPolicy::Interoperable.options();
        assert!(decode_with(&[0xa2, 0x02, 0x00, 0x01, 0x00], lax).is_ok());
        assert_eq!(
            decode_with(&[0xa3, 0x02, 0x00, 0x01, 0x00, 0x02, 0x00], lax)
                .unwrap_err()
                .kind,
            CborErrorKind::DuplicateKey
        );
    }

    fn lax(bytes: &[u8]) -> Result<Value, CborErrorKind> {
        decode_with(bytes, CborPolicy::Interoperable.options()).map_err(|e| e.kind)
    }

    #[test]
    fn interoperable_accepts_well_formed() {
        // Non-shortest integers and lengths.
        assert_eq!(lax(&[0x18, 0x17]), Ok(Value::Unsigned(23)));
        assert_eq!(lax(&[0x5a, 0, 0, 0, 1, 7]), Ok(Value::Bytes(vec![7])));
        // Indefinite-length byte and text strings, chunks joined.
        assert_eq!(
            lax(&[0x5f, 0x41, 0x01, 0x40, 0x42, 0x02, 0x03, 0xff]),
            Ok(Value::Bytes(vec![1, 2, 3]))
        );
        assert_eq!(
            lax(&[0x7f, 0x61, b'a', 0x62, b'b', b'c', 0xff]),
            Ok(Value::from("abc"))
        );
        // Indefinite arrays and maps, keys in any order.
        assert_eq!(
            lax(&[0x9f, 0x01, 0x9f, 0xff, 0xff]),
            Ok(Value::Array(vec![Value::from(1), Value::Array(vec![])]))
        );
        assert_eq!(
            lax(&[0xbf, 0x63, b'f', b'm', b't', 0x00, 0x02, 0x00, 0xff]),
            Ok(Value::Map(vec![
                (Value::from("fmt"), Value::from(0)),
                (Value::from(2), Value::from(0))
            ]))
        );
        // The same data strictly: each refused by the canonical-form rule.
        assert!(matches!(
            err(&[0x18, 0x17]),
            CborErrorKind::NonShortestForm { .. }
        ));
        assert_eq!(err(&[0x9f, 0xff]), CborErrorKind::IndefiniteLength);
    }

    #[test]
    fn interoperable_still_refuses() {
        // A duplicate key written in two widths is still a duplicate.
        assert_eq!(
            lax(&[0xa2, 0x01, 0x00, 0x18, 0x01, 0x00]),
            Err(CborErrorKind::DuplicateKey)
        );
        // A duplicate text key split into chunks.
        assert_eq!(
            lax(&[0xbf, 0x62, b'a', b'b', 0x00, 0x7f, 0x61, b'a', 0x61, b'b', 0xff, 0x00, 0xff]),
            Err(CborErrorKind::DuplicateKey)
        );
        assert_eq!(lax(&[0xc2, 0x40]), Err(CborErrorKind::TagNotAllowed(2)));
        assert_eq!(lax(&[0x01, 0x02]), Err(CborErrorKind::TrailingBytes(1)));
        assert_eq!(lax(&[0x62, 0xff, 0xfe]), Err(CborErrorKind::InvalidUtf8));
        // A text chunk must be UTF-8 by itself (RFC 8949 §3.2.3): é split in two.
        assert_eq!(
            lax(&[0x7f, 0x61, 0xc3, 0x61, 0xa9, 0xff]),
            Err(CborErrorKind::InvalidUtf8)
        );
        // Chunks of another type, or nested indefinite chunks.
        assert_eq!(
            lax(&[0x5f, 0x61, b'a', 0xff]),
            Err(CborErrorKind::InvalidChunk)
        );
        assert_eq!(
            lax(&[0x5f, 0x5f, 0xff, 0xff]),
            Err(CborErrorKind::InvalidChunk)
        );
        // A break with nothing open, a map missing its value, no break at all.
        assert_eq!(lax(&[0xff]), Err(CborErrorKind::UnexpectedBreak));
        assert_eq!(
            lax(&[0xbf, 0x01, 0xff]),
            Err(CborErrorKind::UnexpectedBreak)
        );
        assert!(matches!(
            lax(&[0x9f, 0x01]),
            Err(CborErrorKind::Truncated { .. })
        ));
        assert!(matches!(
            lax(&[0x9b, 0, 0, 0, 1, 0, 0, 0, 0]),
            Err(CborErrorKind::LengthTooLarge { .. })
        ));
        let mut deep = vec![0x9fu8; 100];
        deep.push(0x00);
        assert_eq!(lax(&deep), Err(CborErrorKind::TooDeep(DEFAULT_MAX_DEPTH)));
    }

    #[test]
    fn lengths_bounded_by_input() {
        // Claims 2^32 bytes / items with a few bytes of input: no allocation, an error.
        assert!(matches!(
            err(&[0x5b, 0, 0, 0, 1, 0, 0, 0, 0]),
            CborErrorKind::Truncated { .. }
        ));
        assert!(matches!(
            err(&[0x9b, 0, 0, 0, 1, 0, 0, 0, 0]),
            CborErrorKind::LengthTooLarge { .. }
        ));
        assert!(matches!(
            err(&[0xbb, 0, 0, 0, 1, 0, 0, 0, 0]),
            CborErrorKind::LengthTooLarge { .. }
        ));
    }

    #[test]
    fn depth_limited() {
        let mut deep = vec![0x81u8; 100];
        deep.push(0x00);
        let e = decode(&deep).unwrap_err();
        assert_eq!(e.kind, CborErrorKind::TooDeep(DEFAULT_MAX_DEPTH));
        assert_eq!(e.offset, DEFAULT_MAX_DEPTH);
    }

    #[test]
    fn floats_keep_width() {
        for b in [
            &[0xf9, 0x3c, 0x00][..],
            &[0xfa, 0x3f, 0x80, 0, 0],
            &[0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
        ] {
            let v = decode(b).unwrap();
            assert_eq!(encode(&v), b);
            if let Value::Float(f) = v {
                assert_eq!(f.to_f64(), 1.0);
            } else {
                panic!("not a float");
            }
        }
    }

    #[test]
    fn canonical_map_sorts() {
        let m = Value::canonical_map(vec![
            (Value::from("bb"), Value::Null),
            (Value::from(-3), Value::Null),
            (Value::from("a"), Value::Null),
            (Value::from(1), Value::Null),
        ]);
        let bytes = encode(&m);
        assert_eq!(decode(&bytes).unwrap(), m);
        assert_eq!(m.as_map().unwrap()[0].0, Value::from(1));
        assert_eq!(m.as_map().unwrap()[3].0, Value::from("bb"));
    }
}
