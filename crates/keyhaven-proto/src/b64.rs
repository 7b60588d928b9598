//! base64url for the WebAuthn L3 JSON forms.
//!
//! Output is base64url without padding (L3 §5.1.8 `toJSON()`); input also
//! accepts padded base64url and standard base64, as the L3 JSON parsing
//! methods tolerate, but never a mix of the two alphabets.

// `base64-simd` rather than `base64`: decoding the several kilobytes of
// text of an ML-DSA signature and key was the largest cost of verifying an
// ML-DSA assertion besides the signature itself (2.1 µs against 0.85 µs for
// a 4412-character ML-DSA-65 signature, measured here); see the ML-DSA-65
// assertion benchmark in keyhaven-rp.
use base64_simd::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// A base64url / base64 decoding failure, with the character it is at.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64url at character {position}: {reason}")]
pub struct Base64Error {
    /// Offset of the offending character (or of the end of the text).
    pub position: usize,
    /// What is wrong there.
    pub reason: String,
}

/// base64url without padding (L3 `toJSON()` form).
pub fn encode(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode_to_string(data)
}

/// Decodes base64url, padded or not, or standard base64 (padded or not) when
/// the text has `+` or `/` and neither `-` nor `_`. Unused bits of the last
/// character must be zero (one encoding per byte string).
pub fn decode(s: &str) -> Result<Vec<u8>, Base64Error> {
    let b = s.as_bytes();
    let padded = b.last() == Some(&b'=');
    // Fast path: base64url, what every conformant producer sends (no scan
    // of the text before decoding it).
    let url = if padded { URL_SAFE } else { URL_SAFE_NO_PAD };
    if let Ok(v) = url.decode_to_vec(b) {
        return Ok(v);
    }
    // Standard base64, unless the text also has base64url's characters.
    if b.iter().any(|&c| c == b'+' || c == b'/') && !b.iter().any(|&c| c == b'-' || c == b'_') {
        let standard = if padded { STANDARD } else { STANDARD_NO_PAD };
        return standard.decode_to_vec(b).map_err(|_| describe(s, true));
    }
    Err(describe(s, false))
}

/// Where and why `s` is not base64 (the decoder itself only says that it is not).
fn describe(s: &str, standard: bool) -> Base64Error {
    let b = s.as_bytes();
    let body_len = b.len() - b.iter().rev().take_while(|&&c| c == b'=').count();
    let in_alphabet = |c: u8| {
        c.is_ascii_alphanumeric()
            || if standard {
                c == b'+' || c == b'/'
            } else {
                c == b'-' || c == b'_'
            }
    };
    if let Some(p) = b[..body_len].iter().position(|&c| !in_alphabet(c)) {
        return Base64Error {
            position: p,
            reason: format!("unexpected character {:?}", b[p] as char),
        };
    }
    let padding = b.len() - body_len;
    if body_len % 4 == 1 {
        return Base64Error {
            position: body_len,
            reason: "length is not a valid base64 length".to_owned(),
        };
    }
    if padding > 0 && (body_len + padding) % 4 != 0 {
        return Base64Error {
            position: body_len,
            reason: "bad padding".to_owned(),
        };
    }
    Base64Error {
        position: body_len.saturating_sub(1),
        reason: format!(
            "last character {:?} has non-zero unused bits",
            b.get(body_len.wrapping_sub(1)).map_or('?', |&c| c as char)
        ),
    }
}

/// serde helpers: a `Vec<u8>` written as unpadded base64url.
pub mod serde_bytes {
    use serde::{Deserializer, Serializer};

    /// Serializes bytes as base64url without padding.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(v))
    }

    /// Deserializes base64url / base64 text into bytes, decoding straight
    /// from the input (no intermediate `String`: a signature or public key
    /// is several kilobytes of text for ML-DSA).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_str(Base64Visitor)
    }

    /// Decodes the text a deserializer hands over, borrowed or not.
    pub(crate) struct Base64Visitor;

    impl serde::de::Visitor<'_> for Base64Visitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("base64url text")
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Vec<u8>, E> {
            super::decode(s).map_err(E::custom)
        }
    }

    /// Reads base64url text or null (see [`deserialize`]).
    pub fn deserialize_option<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        struct Opt;
        impl<'de> serde::de::Visitor<'de> for Opt {
            type Value = Option<Vec<u8>>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("base64url text or null")
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_str(Base64Visitor).map(Some)
            }
        }
        d.deserialize_option(Opt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_all_forms() {
        let data = [0xfb, 0xff, 0xfe, 0x01];
        assert_eq!(encode(&data), "-__-AQ");
        for s in ["-__-AQ", "-__-AQ==", "+//+AQ", "+//+AQ=="] {
            assert_eq!(decode(s).unwrap(), data, "{s}");
        }
        assert!(decode("-_/+").is_err());
        assert!(decode("a").is_err());
        assert!(decode("ab!c").unwrap_err().position == 2);
        // One encoding per byte string: non-zero unused bits are refused.
        assert_eq!(decode("AA").unwrap(), [0]);
        let e = decode("AB").unwrap_err();
        assert_eq!(e.position, 1, "{e}");
        assert!(e.reason.contains("unused bits"), "{e}");
        assert!(decode("AA=").is_err(), "wrong padding");
        assert_eq!(decode("AA==").unwrap(), [0]);
        assert!(decode("A===").is_err());
        // Round trip over every length up to three blocks.
        for n in 0..13u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(91)).collect();
            assert_eq!(decode(&encode(&data)).unwrap(), data);
        }
    }
}
