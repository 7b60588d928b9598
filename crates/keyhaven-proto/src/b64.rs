//! base64url for the WebAuthn L3 JSON forms.
//!
//! Output is base64url without padding (L3 §5.1.8 `toJSON()`); input also
//! accepts padded base64url and standard base64, as the L3 JSON parsing
//! methods tolerate, but never a mix of the two alphabets.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};

const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const STD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A base64 decoding error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64url at character {position}: {reason}")]
pub struct Base64Error {
    /// Character offset of the problem (or the length for a bad final group).
    pub position: usize,
    /// What was wrong.
    pub reason: String,
}

/// Encodes as base64url without padding.
pub fn encode(data: &[u8]) -> String {
    URL_LENIENT.encode(data)
}

/// Decodes base64url (padded or not) or standard base64 (padded or not).
/// A string that mixes the two alphabets is rejected.
pub fn decode(s: &str) -> Result<Vec<u8>, Base64Error> {
    // Fast path: base64url, what every conformant producer sends.
    match URL_LENIENT.decode(s) {
        Ok(v) => Ok(v),
        Err(base64::DecodeError::InvalidByte(_, b'+' | b'/'))
            if !s.bytes().any(|b| b == b'-' || b == b'_') =>
        {
            STD_LENIENT.decode(s).map_err(|e| describe(e, s))
        }
        Err(e) => Err(describe(e, s)),
    }
}

fn describe(e: base64::DecodeError, s: &str) -> Base64Error {
    let (position, reason) = match e {
        base64::DecodeError::InvalidByte(p, b) => {
            (p, format!("unexpected character {:?}", b as char))
        }
        base64::DecodeError::InvalidLength(n) => {
            (n, "length is not a valid base64 length".to_owned())
        }
        base64::DecodeError::InvalidLastSymbol(p, b) => (
            p,
            format!("last character {:?} has non-zero unused bits", b as char),
        ),
        base64::DecodeError::InvalidPadding => (s.len(), "bad padding".to_owned()),
    };
    Base64Error { position, reason }
}

/// serde helpers: a `Vec<u8>` written as unpadded base64url.
pub mod serde_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes bytes as base64url without padding.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(v))
    }

    /// Deserializes base64url / base64 text into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::decode(&s).map_err(serde::de::Error::custom)
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
    }
}
