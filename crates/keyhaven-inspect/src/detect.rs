//! Input encodings and kind detection.

use crate::describe::describe;
use crate::{malformed, InspectError, Kind};
use keyhaven_proto::b64;
use keyhaven_proto::ctap2::Command;
use serde_json::Value as Json;

/// How the input bytes were encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Binary as it is.
    Raw,
    /// Hexadecimal text.
    Hex,
    /// base64url or base64 text.
    Base64,
    /// JSON text.
    Json,
}

impl Encoding {
    /// The name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Encoding::Raw => "raw",
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64url",
            Encoding::Json => "json",
        }
    }
}

fn is_b64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'+' | b'/' | b'=')
}

impl Encoding {
    /// Parses a command-line name: raw, hex, base64 (or base64url), json.
    pub fn from_name(s: &str) -> Option<Encoding> {
        Some(match s.to_ascii_lowercase().as_str() {
            "raw" | "binary" => Encoding::Raw,
            "hex" => Encoding::Hex,
            "base64" | "base64url" | "b64" => Encoding::Base64,
            "json" => Encoding::Json,
            _ => return None,
        })
    }
}

/// Decodes the input in a given encoding (no guessing).
pub fn decode_as(input: &[u8], encoding: Encoding) -> Result<Vec<u8>, InspectError> {
    if encoding == Encoding::Raw {
        return if input.is_empty() {
            Err(InspectError::Empty)
        } else {
            Ok(input.to_vec())
        };
    }
    let text = std::str::from_utf8(input).map_err(|e| InspectError::Encoding {
        encoding: encoding.name(),
        reason: format!("not UTF-8 text at byte {}", e.valid_up_to()),
    })?;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(InspectError::Empty);
    }
    match encoding {
        Encoding::Hex => {
            let body = compact.strip_prefix("0x").unwrap_or(&compact);
            if let Some(pos) = body.bytes().position(|c| !c.is_ascii_hexdigit()) {
                return Err(InspectError::Encoding {
                    encoding: "hex",
                    reason: format!("unexpected character at character {pos}"),
                });
            }
            if body.len() % 2 != 0 {
                return Err(InspectError::Encoding {
                    encoding: "hex",
                    reason: format!("odd number of hex digits ({})", body.len()),
                });
            }
            hex::decode(body).map_err(|e| InspectError::Encoding {
                encoding: "hex",
                reason: e.to_string(),
            })
        }
        Encoding::Base64 => b64::decode(&compact).map_err(|e| InspectError::Encoding {
            encoding: "base64url",
            reason: e.to_string(),
        }),
        _ => Ok(text.trim().as_bytes().to_vec()),
    }
}

/// Undoes the text encoding of the input: JSON text stays as it is, hex and
/// base64 text are decoded, anything else is taken as raw bytes.
pub fn decode_text_encoding(input: &[u8]) -> Result<(Encoding, Vec<u8>), InspectError> {
    let trimmed = input.trim_ascii();
    if trimmed.is_empty() {
        return Err(InspectError::Empty);
    }
    let Ok(text) = std::str::from_utf8(trimmed) else {
        return Ok((Encoding::Raw, input.to_vec()));
    };
    if text.starts_with('{') || text.starts_with('[') {
        return Ok((Encoding::Json, trimmed.to_vec()));
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let hex_body = compact.strip_prefix("0x").unwrap_or(&compact);
    // Odd-length hex digits are only valid as base64: they fall through.
    if !hex_body.is_empty()
        && hex_body.len() % 2 == 0
        && hex_body.bytes().all(|c| c.is_ascii_hexdigit())
    {
        if let Ok(bytes) = hex::decode(hex_body) {
            return Ok((Encoding::Hex, bytes));
        }
    }
    let printable = compact.bytes().all(|c| c.is_ascii_graphic());
    if printable {
        if let Some(pos) = compact.bytes().position(|c| !is_b64_char(c)) {
            // Mostly base64 with a stray character: say so rather than guessing raw.
            if compact.bytes().filter(|c| is_b64_char(*c)).count() * 10 >= compact.len() * 9 {
                return Err(InspectError::Encoding {
                    encoding: "base64url",
                    reason: format!(
                        "unexpected character {:?} at character {pos}",
                        compact[pos..].chars().next().unwrap_or('?')
                    ),
                });
            }
            return Ok((Encoding::Raw, input.to_vec()));
        }
        return b64::decode(&compact)
            .map(|b| (Encoding::Base64, b))
            .map_err(|e| InspectError::Encoding {
                encoding: "base64url",
                reason: e.to_string(),
            });
    }
    Ok((Encoding::Raw, input.to_vec()))
}

/// Works out the kind of `bytes` and describes it. When nothing matches, the
/// error is the most specific one: that of the kind the bytes most resemble.
pub(crate) fn detect(bytes: &[u8]) -> Result<(Kind, Json), InspectError> {
    let first = bytes.first().copied().ok_or(InspectError::Empty)?;
    let mut candidates: Vec<Kind> = if first == b'{' {
        json_candidates(bytes)?
    } else if (0xa0..=0xbf).contains(&first) {
        // A CBOR map: attestation object (text keys) or COSE key (integer keys).
        if bytes.get(1).is_some_and(|b| (0x60..=0x7f).contains(b)) {
            vec![Kind::AttestationObject, Kind::CoseKey]
        } else {
            vec![Kind::CoseKey, Kind::AttestationObject]
        }
    } else if bytes.len() == 1 {
        vec![Kind::CtapRequest, Kind::CtapResponse]
    } else if Command::from_byte(first).is_some() && (0xa0..=0xbf).contains(&bytes[1]) {
        vec![Kind::CtapRequest]
    } else if first == 0x00 && (0xa0..=0xbf).contains(&bytes[1]) {
        vec![Kind::CtapResponse]
    } else {
        Vec::new()
    };
    if first != b'{' && (bytes.len() >= 37 || candidates.is_empty()) {
        // Anything binary may also be authenticator data (its rpIdHash can start with any byte).
        candidates.push(Kind::AuthenticatorData);
    }
    let mut errors = Vec::new();
    for k in &candidates {
        match describe(*k, bytes) {
            Ok(tree) => return Ok((*k, tree)),
            Err(e) => errors.push((*k, e)),
        }
    }
    // Report the first candidate that got past its first byte: its error is
    // the most specific; a CBOR failure at byte 0 means "not CBOR at all".
    let pick = errors
        .iter()
        .position(|(_, e)| !e.contains("CBOR at byte 0:"))
        .unwrap_or(0);
    let (k, e) = errors.swap_remove(pick);
    Err(malformed(k, e))
}

fn json_candidates(bytes: &[u8]) -> Result<Vec<Kind>, InspectError> {
    let v: Json = serde_json::from_slice(bytes).map_err(|e| InspectError::Malformed {
        kind: "JSON",
        reason: e.to_string(),
    })?;
    let has = |k: &str| v.get(k).is_some();
    let resp = v.get("response");
    let has_resp = |k: &str| resp.and_then(|r| r.get(k)).is_some();
    Ok(if has_resp("signature") {
        vec![Kind::AuthenticationResponseJson]
    } else if has_resp("attestationObject") {
        vec![Kind::RegistrationResponseJson]
    } else if has("rp") || has("user") || has("pubKeyCredParams") {
        vec![Kind::CreationOptionsJson]
    } else if has("type") && has("origin") {
        vec![Kind::ClientDataJson]
    } else if has("challenge") {
        vec![Kind::RequestOptionsJson]
    } else {
        return Err(InspectError::Unrecognised {
            len: bytes.len(),
            reason: "JSON object is none of clientDataJSON, RegistrationResponseJSON, AuthenticationResponseJSON, \
                     creation or request options (no \"response\", \"rp\", \"challenge\" or \"origin\" member)"
                .into(),
        });
    })
}
