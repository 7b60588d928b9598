//! Authenticator data (WebAuthn L3 §6.1) and attested credential data (§6.5.1).
//!
//! ```text
//! rpIdHash(32) ‖ flags(1) ‖ signCount(4, big-endian)
//!   ‖ [attestedCredentialData: aaguid(16) ‖ credentialIdLength(2) ‖ credentialId ‖ credentialPublicKey(COSE)]
//!   ‖ [extensions (CBOR map)]
//! ```
//!
//! ```
//! use keyhaven_proto::authdata::{AuthenticatorData, Flags};
//! let ad = AuthenticatorData::new([7; 32], Flags::UP | Flags::UV, 42);
//! let bytes = ad.to_bytes();
//! assert_eq!(bytes.len(), 37);
//! let back = AuthenticatorData::from_bytes(&bytes).unwrap();
//! assert!(back.flags.up() && back.flags.uv() && !back.flags.be());
//! assert_eq!(back.sign_count, 42);
//! ```

use crate::cbor::{self, CborError, CborPolicy, Value};
use crate::cose::{CoseError, CoseKey};
use std::fmt;
use std::ops::BitOr;

/// The maximum credential ID length (L3 §5.8.3 / §6.5.1: 1023 bytes).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// The flags byte (L3 §6.1, table "flags").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// Bit 0: User Present.
    pub const UP: Flags = Flags(0x01);
    /// Bit 1: reserved (RFU1).
    pub const RFU1: Flags = Flags(0x02);
    /// Bit 2: User Verified.
    pub const UV: Flags = Flags(0x04);
    /// Bit 3: Backup Eligibility.
    pub const BE: Flags = Flags(0x08);
    /// Bit 4: Backup State.
    pub const BS: Flags = Flags(0x10);
    /// Bit 5: reserved (RFU2).
    pub const RFU2: Flags = Flags(0x20);
    /// Bit 6: Attested credential data included.
    pub const AT: Flags = Flags(0x40);
    /// Bit 7: Extension data included.
    pub const ED: Flags = Flags(0x80);

    const NAMES: [(u8, &'static str); 8] = [
        (0x01, "UP"),
        (0x02, "RFU1"),
        (0x04, "UV"),
        (0x08, "BE"),
        (0x10, "BS"),
        (0x20, "RFU2"),
        (0x40, "AT"),
        (0x80, "ED"),
    ];

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
    /// User Present.
    pub const fn up(self) -> bool {
        self.contains(Self::UP)
    }
    /// User Verified.
    pub const fn uv(self) -> bool {
        self.contains(Self::UV)
    }
    /// Backup Eligibility.
    pub const fn be(self) -> bool {
        self.contains(Self::BE)
    }
    /// Backup State.
    pub const fn bs(self) -> bool {
        self.contains(Self::BS)
    }
    /// Attested credential data present.
    pub const fn at(self) -> bool {
        self.contains(Self::AT)
    }
    /// Extension data present.
    pub const fn ed(self) -> bool {
        self.contains(Self::ED)
    }
    /// A reserved bit is set.
    pub const fn has_reserved(self) -> bool {
        self.0 & (Self::RFU1.0 | Self::RFU2.0) != 0
    }
    /// The names of the set bits, low bit first.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(b, _)| self.0 & b != 0)
            .map(|(_, n)| *n)
            .collect()
    }
    fn with(self, bit: Flags, on: bool) -> Flags {
        if on {
            Flags(self.0 | bit.0)
        } else {
            Flags(self.0 & !bit.0)
        }
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02x} [{}]", self.0, self.names().join(" "))
    }
}

/// An authenticator's AAGUID.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Aaguid(pub [u8; 16]);

impl Aaguid {
    /// The all-zero AAGUID.
    pub const ZERO: Aaguid = Aaguid([0; 16]);
    /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (or 32 hex digits).
    pub fn parse(s: &str) -> Option<Aaguid> {
        let digits: String = s.chars().filter(|c| *c != '-').collect();
        let mut out = [0u8; 16];
        hex::decode_to_slice(digits, &mut out).ok()?;
        Some(Aaguid(out))
    }
}

impl fmt::Display for Aaguid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Aaguid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aaguid({self})")
    }
}

/// Attested credential data (L3 §6.5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestedCredentialData {
    /// The authenticator model's AAGUID.
    pub aaguid: Aaguid,
    /// The credential ID (at most 1023 bytes).
    pub credential_id: Vec<u8>,
    /// The credential public key.
    pub credential_public_key: CoseKey,
}

impl AttestedCredentialData {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.aaguid.0);
        out.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.credential_id);
        cbor::encode_into(&self.credential_public_key.to_value(), out);
    }
}

/// Authenticator data (L3 §6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatorData {
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// The flags. AT and ED always agree with the optional parts below.
    pub flags: Flags,
    /// The signature counter.
    pub sign_count: u32,
    /// Present when AT is set.
    pub attested_credential_data: Option<AttestedCredentialData>,
    /// The extension outputs map, present when ED is set.
    pub extensions: Option<Value>,
}

/// Why authenticator data was rejected. Offsets count from the first byte of
/// the authenticator data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthDataError {
    /// Fewer bytes than the structure needs.
    #[error("authenticatorData at byte {offset}: truncated {what}: expected {expected} byte(s), found {found}")]
    Truncated {
        /// Where the missing part starts.
        offset: usize,
        /// Which part.
        what: &'static str,
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// credentialIdLength over 1023 (L3 §6.5.1).
    #[error("authenticatorData at byte {offset}: credentialIdLength {length} exceeds the maximum of 1023")]
    CredentialIdTooLong {
        /// Offset of the length field.
        offset: usize,
        /// The claimed length.
        length: usize,
    },
    /// The credential public key is not a valid COSE_Key.
    #[error("authenticatorData at byte {offset}: credentialPublicKey: {source}")]
    CredentialPublicKey {
        /// Offset of the key.
        offset: usize,
        /// The COSE error.
        source: CoseError,
    },
    /// The extensions are not valid CBOR.
    #[error("authenticatorData: extensions: {0}")]
    ExtensionsCbor(CborError),
    /// The extensions item is not a map.
    #[error("authenticatorData at byte {offset}: extensions must be a CBOR map, found {found}")]
    ExtensionsNotMap {
        /// Offset of the item.
        offset: usize,
        /// What it was.
        found: &'static str,
    },
    /// An extension identifier is not a text string.
    #[error("authenticatorData at byte {offset}: extension identifiers must be text strings")]
    ExtensionKeyNotText {
        /// Offset of the extensions map.
        offset: usize,
    },
    /// Bytes after the last part the flags announce.
    #[error("authenticatorData at byte {offset}: {count} trailing byte(s) not covered by the AT/ED flags")]
    TrailingBytes {
        /// Offset of the first trailing byte.
        offset: usize,
        /// How many.
        count: usize,
    },
}

fn shift(e: CborError, base: usize) -> CborError {
    CborError {
        offset: e.offset + base,
        kind: e.kind,
    }
}

impl AuthenticatorData {
    /// Authenticator data with no attested credential data or extensions.
    pub fn new(rp_id_hash: [u8; 32], flags: Flags, sign_count: u32) -> Self {
        AuthenticatorData {
            rp_id_hash,
            flags: flags.with(Flags::AT, false).with(Flags::ED, false),
            sign_count,
            attested_credential_data: None,
            extensions: None,
        }
    }

    /// Adds attested credential data (sets AT).
    pub fn with_attested_credential_data(mut self, acd: AttestedCredentialData) -> Self {
        self.attested_credential_data = Some(acd);
        self.flags = self.flags.with(Flags::AT, true);
        self
    }

    /// Adds an extensions map (sets ED).
    pub fn with_extensions(mut self, ext: Value) -> Self {
        self.extensions = Some(ext);
        self.flags = self.flags.with(Flags::ED, true);
        self
    }

    /// Parses authenticator data that fills `b` exactly, its CBOR parts
    /// (credential public key, extensions) in the CTAP2 canonical form.
    pub fn from_bytes(b: &[u8]) -> Result<Self, AuthDataError> {
        Self::from_bytes_with(b, CborPolicy::Strict)
    }

    /// [`from_bytes`](Self::from_bytes) with the CBOR parts decoded under `policy`.
    pub fn from_bytes_with(b: &[u8], policy: CborPolicy) -> Result<Self, AuthDataError> {
        if b.len() < 37 {
            return Err(AuthDataError::Truncated {
                offset: 0,
                what: "header (rpIdHash, flags, signCount)",
                expected: 37,
                found: b.len(),
            });
        }
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&b[..32]);
        let flags = Flags(b[32]);
        let sign_count = u32::from_be_bytes([b[33], b[34], b[35], b[36]]);
        let mut pos = 37;
        let attested_credential_data = if flags.at() {
            if b.len() - pos < 18 {
                return Err(AuthDataError::Truncated {
                    offset: pos,
                    what: "attestedCredentialData (aaguid, credentialIdLength)",
                    expected: 18,
                    found: b.len() - pos,
                });
            }
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(&b[pos..pos + 16]);
            let len_off = pos + 16;
            let len = usize::from(u16::from_be_bytes([b[len_off], b[len_off + 1]]));
            if len > MAX_CREDENTIAL_ID_LEN {
                return Err(AuthDataError::CredentialIdTooLong {
                    offset: len_off,
                    length: len,
                });
            }
            pos += 18;
            if b.len() - pos < len {
                return Err(AuthDataError::Truncated {
                    offset: pos,
                    what: "credentialId",
                    expected: len,
                    found: b.len() - pos,
                });
            }
            let credential_id = b[pos..pos + len].to_vec();
            pos += len;
            let key_off = pos;
            let (kv, used) =
                cbor::decode_prefix_with(&b[pos..], policy.options()).map_err(|e| {
                    AuthDataError::CredentialPublicKey {
                        offset: key_off,
                        source: CoseError::Cbor(shift(e, key_off)),
                    }
                })?;
            let credential_public_key =
                CoseKey::from_value(&kv).map_err(|source| AuthDataError::CredentialPublicKey {
                    offset: key_off,
                    source,
                })?;
            pos += used;
            Some(AttestedCredentialData {
                aaguid: Aaguid(aaguid),
                credential_id,
                credential_public_key,
            })
        } else {
            None
        };
        let extensions = if flags.ed() {
            let ext_off = pos;
            let (v, used) = cbor::decode_prefix_with(&b[pos..], policy.options())
                .map_err(|e| AuthDataError::ExtensionsCbor(shift(e, ext_off)))?;
            let Value::Map(entries) = &v else {
                return Err(AuthDataError::ExtensionsNotMap {
                    offset: ext_off,
                    found: v.type_name(),
                });
            };
            if entries.iter().any(|(k, _)| k.as_text().is_none()) {
                return Err(AuthDataError::ExtensionKeyNotText { offset: ext_off });
            }
            pos += used;
            Some(v)
        } else {
            None
        };
        if pos != b.len() {
            return Err(AuthDataError::TrailingBytes {
                offset: pos,
                count: b.len() - pos,
            });
        }
        Ok(AuthenticatorData {
            rp_id_hash,
            flags,
            sign_count,
            attested_credential_data,
            extensions,
        })
    }

    /// The flags byte as it is written: AT and ED follow the optional parts.
    pub fn effective_flags(&self) -> Flags {
        self.flags
            .with(Flags::AT, self.attested_credential_data.is_some())
            .with(Flags::ED, self.extensions.is_some())
    }

    /// Serializes (byte-exact inverse of [`from_bytes`](Self::from_bytes)).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            37 + self
                .attested_credential_data
                .as_ref()
                .map_or(0, |a| 100 + a.credential_id.len()),
        );
        out.extend_from_slice(&self.rp_id_hash);
        out.push(self.effective_flags().0);
        out.extend_from_slice(&self.sign_count.to_be_bytes());
        if let Some(acd) = &self.attested_credential_data {
            acd.write(&mut out);
        }
        if let Some(ext) = &self.extensions {
            cbor::encode_into(ext, &mut out);
        }
        out
    }

    /// An extension output by identifier.
    pub fn extension(&self, id: &str) -> Option<&Value> {
        self.extensions.as_ref()?.get_text(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cose::{CoseAlgorithm, EcCurve};

    fn sample() -> AuthenticatorData {
        AuthenticatorData::new([1; 32], Flags::UP | Flags::BE | Flags::BS, 7)
            .with_attested_credential_data(AttestedCredentialData {
                aaguid: Aaguid([9; 16]),
                credential_id: vec![5; 16],
                credential_public_key: CoseKey::ec2(
                    CoseAlgorithm::Es256,
                    EcCurve::P256,
                    vec![1; 32],
                    vec![2; 32],
                ),
            })
            .with_extensions(Value::canonical_map(vec![(
                Value::from("credProtect"),
                Value::from(2),
            )]))
    }

    #[test]
    fn round_trip_and_flags() {
        let ad = sample();
        let b = ad.to_bytes();
        assert_eq!(b[32], 0x01 | 0x08 | 0x10 | 0x40 | 0x80);
        let back = AuthenticatorData::from_bytes(&b).unwrap();
        assert_eq!(back, ad);
        assert_eq!(back.to_bytes(), b);
        assert_eq!(back.extension("credProtect"), Some(&Value::from(2)));
        assert_eq!(back.flags.names(), ["UP", "BE", "BS", "AT", "ED"]);
    }

    #[test]
    fn errors_name_offsets() {
        let b = sample().to_bytes();
        assert!(matches!(
            AuthenticatorData::from_bytes(&b[..36]),
            Err(AuthDataError::Truncated { offset: 0, .. })
        ));
        let mut long = b.clone();
        long.push(0);
        assert_eq!(
            AuthenticatorData::from_bytes(&long),
            Err(AuthDataError::TrailingBytes {
                offset: b.len(),
                count: 1
            })
        );
        let mut big = b.clone();
        big[53] = 0x04; // credentialIdLength = 0x0410 = 1040
        assert_eq!(
            AuthenticatorData::from_bytes(&big),
            Err(AuthDataError::CredentialIdTooLong {
                offset: 53,
                length: 1040
            })
        );
        // Flags claim ED but nothing follows the header.
        let mut ed = AuthenticatorData::new([0; 32], Flags::UP, 0).to_bytes();
        ed[32] |= 0x80;
        assert!(
            matches!(AuthenticatorData::from_bytes(&ed), Err(AuthDataError::ExtensionsCbor(e)) if e.offset == 37)
        );
        // AT without data.
        let mut at = AuthenticatorData::new([0; 32], Flags::UP, 0).to_bytes();
        at[32] |= 0x40;
        assert!(matches!(
            AuthenticatorData::from_bytes(&at),
            Err(AuthDataError::Truncated { offset: 37, .. })
        ));
    }

    #[test]
    fn aaguid_text() {
        let a = Aaguid::parse("8446ccb9-ab1d-b374-750b-2367ff6f3a1f").unwrap();
        assert_eq!(a.to_string(), "8446ccb9-ab1d-b374-750b-2367ff6f3a1f");
        assert!(Aaguid::parse("zz").is_none());
    }
}
