//! COSE_Key (RFC 9052 §7, RFC 9053 §7, RFC 8230 §4, RFC 8152 OKP, RFC 9964
//! AKP for ML-DSA) and the COSE algorithm identifiers WebAuthn uses (L3
//! §5.8.5 / §5.8.3).
//!
//! ```
//! use keyhaven_proto::cose::{CoseAlgorithm, CoseKey, KeyParams, EcCurve};
//! let key = CoseKey::ec2(CoseAlgorithm::Es256, EcCurve::P256, vec![1; 32], vec![2; 32]);
//! let bytes = key.to_bytes();
//! let back = CoseKey::from_bytes(&bytes).unwrap();
//! assert_eq!(back, key);
//! assert!(matches!(back.params, KeyParams::Ec2 { curve: EcCurve::P256, .. }));
//! assert_eq!(back.to_spki_der().unwrap()[0], 0x30);
//! ```

use crate::cbor::{self, CborError, Value};
use crate::der;
use std::fmt;

/// A COSE algorithm identifier this codec knows (IANA COSE Algorithms registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoseAlgorithm {
    /// -7: ECDSA w/ SHA-256 (WebAuthn: P-256).
    Es256,
    /// -35: ECDSA w/ SHA-384 (WebAuthn: P-384).
    Es384,
    /// -36: ECDSA w/ SHA-512 (WebAuthn: P-521).
    Es512,
    /// -8: EdDSA (WebAuthn: Ed25519).
    EdDsa,
    /// -19: Ed25519 (fully specified, RFC 9864).
    Ed25519,
    /// -53: Ed448 (fully specified, RFC 9864).
    Ed448,
    /// -9: ESP256, ECDSA P-256 with SHA-256 (fully specified).
    Esp256,
    /// -51: ESP384, ECDSA P-384 with SHA-384 (fully specified).
    Esp384,
    /// -52: ESP512, ECDSA P-521 with SHA-512 (fully specified).
    Esp512,
    /// -257: RSASSA-PKCS1-v1_5 w/ SHA-256 (RFC 8812).
    Rs256,
    /// -258: RSASSA-PKCS1-v1_5 w/ SHA-384.
    Rs384,
    /// -259: RSASSA-PKCS1-v1_5 w/ SHA-512.
    Rs512,
    /// -37: RSASSA-PSS w/ SHA-256 (RFC 8230).
    Ps256,
    /// -38: RSASSA-PSS w/ SHA-384.
    Ps384,
    /// -39: RSASSA-PSS w/ SHA-512.
    Ps512,
    /// -65535: RSASSA-PKCS1-v1_5 w/ SHA-1 (legacy, TPM attestation).
    Rs1,
    /// -25: ECDH-ES + HKDF-256, the CTAP2 PIN/UV key agreement key.
    EcdhEsHkdf256,
    /// -48: ML-DSA-44 (FIPS 204, RFC 9964 §4), an AKP key.
    MlDsa44,
    /// -49: ML-DSA-65.
    MlDsa65,
    /// -50: ML-DSA-87.
    MlDsa87,
}

impl CoseAlgorithm {
    /// The ML-DSA algorithms (RFC 9964), weakest first.
    pub const ML_DSA: [CoseAlgorithm; 3] = [
        CoseAlgorithm::MlDsa44,
        CoseAlgorithm::MlDsa65,
        CoseAlgorithm::MlDsa87,
    ];

    /// Every algorithm, for tests and tables.
    pub const ALL: [CoseAlgorithm; 20] = [
        CoseAlgorithm::Es256,
        CoseAlgorithm::Es384,
        CoseAlgorithm::Es512,
        CoseAlgorithm::EdDsa,
        CoseAlgorithm::Ed25519,
        CoseAlgorithm::Ed448,
        CoseAlgorithm::Esp256,
        CoseAlgorithm::Esp384,
        CoseAlgorithm::Esp512,
        CoseAlgorithm::Rs256,
        CoseAlgorithm::Rs384,
        CoseAlgorithm::Rs512,
        CoseAlgorithm::Ps256,
        CoseAlgorithm::Ps384,
        CoseAlgorithm::Ps512,
        CoseAlgorithm::Rs1,
        CoseAlgorithm::EcdhEsHkdf256,
        CoseAlgorithm::MlDsa44,
        CoseAlgorithm::MlDsa65,
        CoseAlgorithm::MlDsa87,
    ];

    /// For ML-DSA: the public key and signature lengths in bytes (FIPS 204
    /// Table 2).
    pub const fn ml_dsa_lengths(self) -> Option<(usize, usize)> {
        match self {
            CoseAlgorithm::MlDsa44 => Some((1312, 2420)),
            CoseAlgorithm::MlDsa65 => Some((1952, 3309)),
            CoseAlgorithm::MlDsa87 => Some((2592, 4627)),
            _ => None,
        }
    }

    /// The registered integer identifier.
    pub const fn id(self) -> i64 {
        match self {
            CoseAlgorithm::Es256 => -7,
            CoseAlgorithm::Es384 => -35,
            CoseAlgorithm::Es512 => -36,
            CoseAlgorithm::EdDsa => -8,
            CoseAlgorithm::Ed25519 => -19,
            CoseAlgorithm::Ed448 => -53,
            CoseAlgorithm::Esp256 => -9,
            CoseAlgorithm::Esp384 => -51,
            CoseAlgorithm::Esp512 => -52,
            CoseAlgorithm::Rs256 => -257,
            CoseAlgorithm::Rs384 => -258,
            CoseAlgorithm::Rs512 => -259,
            CoseAlgorithm::Ps256 => -37,
            CoseAlgorithm::Ps384 => -38,
            CoseAlgorithm::Ps512 => -39,
            CoseAlgorithm::Rs1 => -65535,
            CoseAlgorithm::EcdhEsHkdf256 => -25,
            CoseAlgorithm::MlDsa44 => -48,
            CoseAlgorithm::MlDsa65 => -49,
            CoseAlgorithm::MlDsa87 => -50,
        }
    }

    /// The algorithm for an identifier, if known.
    pub fn from_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }

    /// The registry name ("ES256", "EdDSA", …).
    pub const fn name(self) -> &'static str {
        match self {
            CoseAlgorithm::Es256 => "ES256",
            CoseAlgorithm::Es384 => "ES384",
            CoseAlgorithm::Es512 => "ES512",
            CoseAlgorithm::EdDsa => "EdDSA",
            CoseAlgorithm::Ed25519 => "Ed25519",
            CoseAlgorithm::Ed448 => "Ed448",
            CoseAlgorithm::Esp256 => "ESP256",
            CoseAlgorithm::Esp384 => "ESP384",
            CoseAlgorithm::Esp512 => "ESP512",
            CoseAlgorithm::Rs256 => "RS256",
            CoseAlgorithm::Rs384 => "RS384",
            CoseAlgorithm::Rs512 => "RS512",
            CoseAlgorithm::Ps256 => "PS256",
            CoseAlgorithm::Ps384 => "PS384",
            CoseAlgorithm::Ps512 => "PS512",
            CoseAlgorithm::Rs1 => "RS1",
            CoseAlgorithm::EcdhEsHkdf256 => "ECDH-ES+HKDF-256",
            CoseAlgorithm::MlDsa44 => "ML-DSA-44",
            CoseAlgorithm::MlDsa65 => "ML-DSA-65",
            CoseAlgorithm::MlDsa87 => "ML-DSA-87",
        }
    }

    /// The key type this algorithm needs.
    pub const fn key_type(self) -> KeyType {
        match self {
            CoseAlgorithm::Es256
            | CoseAlgorithm::Es384
            | CoseAlgorithm::Es512
            | CoseAlgorithm::Esp256
            | CoseAlgorithm::Esp384
            | CoseAlgorithm::Esp512
            | CoseAlgorithm::EcdhEsHkdf256 => KeyType::Ec2,
            CoseAlgorithm::EdDsa | CoseAlgorithm::Ed25519 | CoseAlgorithm::Ed448 => KeyType::Okp,
            CoseAlgorithm::MlDsa44 | CoseAlgorithm::MlDsa65 | CoseAlgorithm::MlDsa87 => {
                KeyType::Akp
            }
            _ => KeyType::Rsa,
        }
    }
}

impl fmt::Display for CoseAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.id())
    }
}

/// Names a COSE algorithm identifier, known or not, for display.
pub fn algorithm_name(id: i64) -> String {
    match CoseAlgorithm::from_id(id) {
        Some(a) => a.name().to_owned(),
        None => format!("unknown algorithm {id}"),
    }
}

/// COSE key types (RFC 9053 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// 1: Octet Key Pair.
    Okp,
    /// 2: Elliptic Curve with x and y.
    Ec2,
    /// 3: RSA (RFC 8230).
    Rsa,
    /// 7: Algorithm Key Pair (RFC 9964 §5): a key whose algorithm fixes its
    /// form, here ML-DSA.
    Akp,
}

impl KeyType {
    /// The registered integer value.
    pub const fn id(self) -> i64 {
        match self {
            KeyType::Okp => 1,
            KeyType::Ec2 => 2,
            KeyType::Rsa => 3,
            KeyType::Akp => 7,
        }
    }
    /// The registry name.
    pub const fn name(self) -> &'static str {
        match self {
            KeyType::Okp => "OKP",
            KeyType::Ec2 => "EC2",
            KeyType::Rsa => "RSA",
            KeyType::Akp => "AKP",
        }
    }
}

/// EC2 curves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EcCurve {
    /// 1: NIST P-256.
    P256,
    /// 2: NIST P-384.
    P384,
    /// 3: NIST P-521.
    P521,
}

impl EcCurve {
    /// The registered integer value.
    pub const fn id(self) -> i64 {
        match self {
            EcCurve::P256 => 1,
            EcCurve::P384 => 2,
            EcCurve::P521 => 3,
        }
    }
    /// Length of one coordinate in bytes.
    pub const fn coordinate_len(self) -> usize {
        match self {
            EcCurve::P256 => 32,
            EcCurve::P384 => 48,
            EcCurve::P521 => 66,
        }
    }
    /// The registry name.
    pub const fn name(self) -> &'static str {
        match self {
            EcCurve::P256 => "P-256",
            EcCurve::P384 => "P-384",
            EcCurve::P521 => "P-521",
        }
    }
    fn from_id(id: i64) -> Option<Self> {
        [EcCurve::P256, EcCurve::P384, EcCurve::P521]
            .into_iter()
            .find(|c| c.id() == id)
    }
}

/// OKP curves used for signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OkpCurve {
    /// 6: Ed25519.
    Ed25519,
    /// 7: Ed448.
    Ed448,
}

impl OkpCurve {
    /// The registered integer value.
    pub const fn id(self) -> i64 {
        match self {
            OkpCurve::Ed25519 => 6,
            OkpCurve::Ed448 => 7,
        }
    }
    /// Public key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            OkpCurve::Ed25519 => 32,
            OkpCurve::Ed448 => 57,
        }
    }
    /// The registry name.
    pub const fn name(self) -> &'static str {
        match self {
            OkpCurve::Ed25519 => "Ed25519",
            OkpCurve::Ed448 => "Ed448",
        }
    }
    fn from_id(id: i64) -> Option<Self> {
        [OkpCurve::Ed25519, OkpCurve::Ed448]
            .into_iter()
            .find(|c| c.id() == id)
    }
}

/// The key-type-specific parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyParams {
    /// EC2: uncompressed point coordinates, each exactly the curve's length.
    Ec2 {
        /// The curve.
        curve: EcCurve,
        /// x coordinate (big-endian).
        x: Vec<u8>,
        /// y coordinate (big-endian).
        y: Vec<u8>,
    },
    /// OKP: the public key bytes.
    Okp {
        /// The curve.
        curve: OkpCurve,
        /// The encoded public key.
        x: Vec<u8>,
    },
    /// RSA: modulus and public exponent, big-endian, without leading zeros.
    Rsa {
        /// Modulus n.
        n: Vec<u8>,
        /// Public exponent e.
        e: Vec<u8>,
    },
    /// AKP (RFC 9964): the encoded public key (`pub`, label -1); for ML-DSA
    /// the FIPS 204 pkEncode bytes, their length fixed by the algorithm.
    Akp {
        /// The public key.
        public: Vec<u8>,
    },
}

/// A COSE public key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoseKey {
    /// Label 3: the algorithm (required by WebAuthn L3 §6.5.1.1).
    pub alg: CoseAlgorithm,
    /// Key-type-specific parameters (labels 1, -1, -2, -3).
    pub params: KeyParams,
    /// Other labels (kid, key_ops, …), kept so the key re-encodes exactly.
    pub extra: Vec<(Value, Value)>,
}

/// Why a COSE key was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoseError {
    /// Not CBOR, or not canonical CBOR.
    #[error("COSE_Key: {0}")]
    Cbor(#[from] CborError),
    /// The key is not a CBOR map.
    #[error("COSE_Key: expected a map, found {0}")]
    NotAMap(&'static str),
    /// A required label is missing.
    #[error("COSE_Key: missing required label {label} ({name})")]
    Missing {
        /// The label.
        label: i64,
        /// Its name.
        name: &'static str,
    },
    /// A label has a value of the wrong CBOR type.
    #[error("COSE_Key: label {label} ({name}): expected {expected}, found {found}")]
    WrongType {
        /// The label.
        label: i64,
        /// Its name.
        name: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// kty is not OKP, EC2, RSA or AKP.
    #[error("COSE_Key: unsupported key type {0} (expected 1 OKP, 2 EC2, 3 RSA or 7 AKP)")]
    UnsupportedKeyType(i64),
    /// alg is not one this codec knows.
    #[error("COSE_Key: unsupported algorithm {0}")]
    UnsupportedAlgorithm(i64),
    /// crv is not known for the key type.
    #[error("COSE_Key: unsupported curve {crv} for key type {kty}")]
    UnsupportedCurve {
        /// Key type name.
        kty: &'static str,
        /// The curve value.
        crv: i64,
    },
    /// A coordinate or key has the wrong length.
    #[error("COSE_Key: {what} must be {expected} bytes, found {found}")]
    BadLength {
        /// Which parameter.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// An RSA parameter is empty or has a leading zero byte.
    #[error("COSE_Key: RSA {0} must be a non-empty big-endian integer without leading zero bytes (RFC 8230 §4)")]
    BadRsaInteger(&'static str),
    /// The algorithm does not fit the key (L3 §5.8.5: ES256 needs P-256, …).
    #[error("COSE_Key: algorithm {alg} cannot be used with a {key} key")]
    AlgorithmKeyMismatch {
        /// The algorithm name.
        alg: &'static str,
        /// The key description ("EC2 P-384", …).
        key: String,
    },
    /// EC2 with a compressed point (y as a boolean).
    #[error("COSE_Key: compressed EC2 points are not supported (y must be a byte string)")]
    CompressedPoint,
}

const KTY: i64 = 1;
const ALG: i64 = 3;
const CRV_OR_N: i64 = -1;
const X_OR_E: i64 = -2;
const Y: i64 = -3;

impl CoseKey {
    /// An EC2 key.
    pub fn ec2(alg: CoseAlgorithm, curve: EcCurve, x: Vec<u8>, y: Vec<u8>) -> Self {
        CoseKey {
            alg,
            params: KeyParams::Ec2 { curve, x, y },
            extra: Vec::new(),
        }
    }
    /// An OKP key.
    pub fn okp(alg: CoseAlgorithm, curve: OkpCurve, x: Vec<u8>) -> Self {
        CoseKey {
            alg,
            params: KeyParams::Okp { curve, x },
            extra: Vec::new(),
        }
    }
    /// An AKP key (ML-DSA: `alg` one of [`CoseAlgorithm::ML_DSA`]).
    pub fn akp(alg: CoseAlgorithm, public: Vec<u8>) -> Self {
        CoseKey {
            alg,
            params: KeyParams::Akp { public },
            extra: Vec::new(),
        }
    }
    /// An RSA key.
    pub fn rsa(alg: CoseAlgorithm, n: Vec<u8>, e: Vec<u8>) -> Self {
        CoseKey {
            alg,
            params: KeyParams::Rsa { n, e },
            extra: Vec::new(),
        }
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        match self.params {
            KeyParams::Ec2 { .. } => KeyType::Ec2,
            KeyParams::Okp { .. } => KeyType::Okp,
            KeyParams::Rsa { .. } => KeyType::Rsa,
            KeyParams::Akp { .. } => KeyType::Akp,
        }
    }

    /// A short description: "EC2 P-256", "OKP Ed25519", "RSA 2048-bit".
    pub fn describe(&self) -> String {
        match &self.params {
            KeyParams::Ec2 { curve, .. } => format!("EC2 {}", curve.name()),
            KeyParams::Okp { curve, .. } => format!("OKP {}", curve.name()),
            KeyParams::Rsa { n, .. } => {
                let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
                format!("RSA {bits}-bit")
            }
            KeyParams::Akp { public } => format!("AKP {}-byte", public.len()),
        }
    }

    /// Parses an encoded COSE_Key that fills `bytes` (CTAP2 canonical CBOR).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CoseError> {
        Self::from_value(&cbor::decode(bytes)?)
    }

    /// Parses an encoded COSE_Key with its CBOR decoded under `policy`.
    pub fn from_bytes_with(bytes: &[u8], policy: cbor::CborPolicy) -> Result<Self, CoseError> {
        Self::from_value(&cbor::decode_with(bytes, policy.options())?)
    }

    /// Parses a decoded COSE_Key map.
    pub fn from_value(v: &Value) -> Result<Self, CoseError> {
        let map = v.as_map().ok_or(CoseError::NotAMap(v.type_name()))?;
        let get = |label: i64| {
            map.iter()
                .find(|(k, _)| k.as_i64() == Some(label))
                .map(|(_, v)| v)
        };
        let int = |label: i64, name: &'static str| -> Result<i64, CoseError> {
            let v = get(label).ok_or(CoseError::Missing { label, name })?;
            v.as_i64().ok_or(CoseError::WrongType {
                label,
                name,
                expected: "integer",
                found: v.type_name(),
            })
        };
        let bytes = |label: i64, name: &'static str| -> Result<Vec<u8>, CoseError> {
            let v = get(label).ok_or(CoseError::Missing { label, name })?;
            if name == "y" && matches!(v, Value::Bool(_)) {
                return Err(CoseError::CompressedPoint);
            }
            v.as_bytes()
                .map(<[u8]>::to_vec)
                .ok_or(CoseError::WrongType {
                    label,
                    name,
                    expected: "byte string",
                    found: v.type_name(),
                })
        };
        let kty = int(KTY, "kty")?;
        let alg_id = int(ALG, "alg")?;
        let alg = CoseAlgorithm::from_id(alg_id).ok_or(CoseError::UnsupportedAlgorithm(alg_id))?;
        let params = match kty {
            2 => {
                let crv = int(CRV_OR_N, "crv")?;
                let curve =
                    EcCurve::from_id(crv).ok_or(CoseError::UnsupportedCurve { kty: "EC2", crv })?;
                let x = bytes(X_OR_E, "x")?;
                let y = bytes(Y, "y")?;
                for (what, c) in [("x", &x), ("y", &y)] {
                    if c.len() != curve.coordinate_len() {
                        return Err(CoseError::BadLength {
                            what,
                            expected: curve.coordinate_len(),
                            found: c.len(),
                        });
                    }
                }
                KeyParams::Ec2 { curve, x, y }
            }
            1 => {
                let crv = int(CRV_OR_N, "crv")?;
                let curve = OkpCurve::from_id(crv)
                    .ok_or(CoseError::UnsupportedCurve { kty: "OKP", crv })?;
                let x = bytes(X_OR_E, "x")?;
                if x.len() != curve.key_len() {
                    return Err(CoseError::BadLength {
                        what: "x",
                        expected: curve.key_len(),
                        found: x.len(),
                    });
                }
                KeyParams::Okp { curve, x }
            }
            3 => {
                let n = bytes(CRV_OR_N, "n")?;
                let e = bytes(X_OR_E, "e")?;
                for (what, b) in [("n", &n), ("e", &e)] {
                    if b.first().is_none_or(|b0| *b0 == 0) {
                        return Err(CoseError::BadRsaInteger(what));
                    }
                }
                KeyParams::Rsa { n, e }
            }
            7 => {
                // RFC 9964 §5: the algorithm fixes the key's form; for
                // ML-DSA, `pub` is pkEncode of FIPS 204 (its length checked).
                let public = bytes(CRV_OR_N, "pub")?;
                if let Some((len, _)) = alg.ml_dsa_lengths() {
                    if public.len() != len {
                        return Err(CoseError::BadLength {
                            what: "pub",
                            expected: len,
                            found: public.len(),
                        });
                    }
                }
                KeyParams::Akp { public }
            }
            other => return Err(CoseError::UnsupportedKeyType(other)),
        };
        let known: &[i64] = match params {
            KeyParams::Ec2 { .. } => &[KTY, ALG, CRV_OR_N, X_OR_E, Y],
            KeyParams::Akp { .. } => &[KTY, ALG, CRV_OR_N],
            _ => &[KTY, ALG, CRV_OR_N, X_OR_E],
        };
        let extra = map
            .iter()
            .filter(|(k, _)| !k.as_i64().is_some_and(|l| known.contains(&l)))
            .cloned()
            .collect();
        let key = CoseKey { alg, params, extra };
        key.check_algorithm()?;
        Ok(key)
    }

    /// Checks that `alg` fits the key (key type; and for WebAuthn's
    /// polymorphic identifiers the curve L3 §5.8.5 pins).
    pub fn check_algorithm(&self) -> Result<(), CoseError> {
        use CoseAlgorithm as A;
        let ok = match (&self.params, self.alg) {
            (KeyParams::Ec2 { curve, .. }, A::Es256 | A::Esp256 | A::EcdhEsHkdf256) => {
                *curve == EcCurve::P256
            }
            (KeyParams::Ec2 { curve, .. }, A::Es384 | A::Esp384) => *curve == EcCurve::P384,
            (KeyParams::Ec2 { curve, .. }, A::Es512 | A::Esp512) => *curve == EcCurve::P521,
            (KeyParams::Okp { curve, .. }, A::EdDsa | A::Ed25519) => *curve == OkpCurve::Ed25519,
            (KeyParams::Okp { curve, .. }, A::Ed448) => *curve == OkpCurve::Ed448,
            (KeyParams::Rsa { .. }, a) => a.key_type() == KeyType::Rsa,
            (KeyParams::Akp { public }, a) => a
                .ml_dsa_lengths()
                .is_some_and(|(len, _)| public.len() == len),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(CoseError::AlgorithmKeyMismatch {
                alg: self.alg.name(),
                key: self.describe(),
            })
        }
    }

    /// The key as a canonical CBOR map.
    pub fn to_value(&self) -> Value {
        let mut entries = vec![
            (Value::from(KTY), Value::from(self.key_type().id())),
            (Value::from(ALG), Value::from(self.alg.id())),
        ];
        match &self.params {
            KeyParams::Ec2 { curve, x, y } => {
                entries.push((Value::from(CRV_OR_N), Value::from(curve.id())));
                entries.push((Value::from(X_OR_E), Value::Bytes(x.clone())));
                entries.push((Value::from(Y), Value::Bytes(y.clone())));
            }
            KeyParams::Okp { curve, x } => {
                entries.push((Value::from(CRV_OR_N), Value::from(curve.id())));
                entries.push((Value::from(X_OR_E), Value::Bytes(x.clone())));
            }
            KeyParams::Rsa { n, e } => {
                entries.push((Value::from(CRV_OR_N), Value::Bytes(n.clone())));
                entries.push((Value::from(X_OR_E), Value::Bytes(e.clone())));
            }
            KeyParams::Akp { public } => {
                entries.push((Value::from(CRV_OR_N), Value::Bytes(public.clone())));
            }
        }
        entries.extend(self.extra.iter().cloned());
        Value::canonical_map(entries)
    }

    /// The canonical CBOR encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::encode(&self.to_value())
    }

    /// The key as DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), as
    /// `AuthenticatorAttestationResponse.getPublicKey()` returns it (L3 §5.2.1).
    /// RSA keys use rsaEncryption whatever the signature scheme; ML-DSA keys
    /// their parameter set's OID with absent parameters (RFC 9881 §2, §4).
    pub fn to_spki_der(&self) -> Option<Vec<u8>> {
        Some(match &self.params {
            KeyParams::Ec2 { curve, x, y } => {
                let curve_oid = match curve {
                    EcCurve::P256 => der::oid::P256,
                    EcCurve::P384 => der::oid::P384,
                    EcCurve::P521 => der::oid::P521,
                };
                let alg = der::sequence(&[der::oid::EC_PUBLIC_KEY, curve_oid]);
                let point = [&[0x04][..], x, y].concat();
                der::sequence(&[&alg, &der::bit_string(&point)])
            }
            KeyParams::Okp { curve, x } => {
                let oid = match curve {
                    OkpCurve::Ed25519 => der::oid::ED25519,
                    OkpCurve::Ed448 => der::oid::ED448,
                };
                der::sequence(&[&der::sequence(&[oid]), &der::bit_string(x)])
            }
            KeyParams::Rsa { n, e } => {
                let alg = der::sequence(&[der::oid::RSA_ENCRYPTION, der::oid::NULL]);
                let rsa_pub =
                    der::sequence(&[&der::unsigned_integer(n), &der::unsigned_integer(e)]);
                der::sequence(&[&alg, &der::bit_string(&rsa_pub)])
            }
            KeyParams::Akp { public } => {
                let oid = match self.alg {
                    CoseAlgorithm::MlDsa44 => der::oid::ML_DSA_44,
                    CoseAlgorithm::MlDsa65 => der::oid::ML_DSA_65,
                    CoseAlgorithm::MlDsa87 => der::oid::ML_DSA_87,
                    _ => return None,
                };
                der::sequence(&[&der::sequence(&[oid]), &der::bit_string(public)])
            }
        })
    }

    /// For RSA keys: the PKCS#1 RSAPublicKey DER (RFC 8017 A.1.1).
    pub fn to_pkcs1_der(&self) -> Option<Vec<u8>> {
        match &self.params {
            KeyParams::Rsa { n, e } => Some(der::sequence(&[
                &der::unsigned_integer(n),
                &der::unsigned_integer(e),
            ])),
            _ => None,
        }
    }

    /// For EC2 keys: the uncompressed SEC1 point `04 ‖ x ‖ y`.
    pub fn to_sec1_uncompressed(&self) -> Option<Vec<u8>> {
        match &self.params {
            KeyParams::Ec2 { x, y, .. } => Some([&[0x04][..], x, y].concat()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_keys() {
        let good = CoseKey::ec2(
            CoseAlgorithm::Es256,
            EcCurve::P256,
            vec![1; 32],
            vec![2; 32],
        );
        let mut bytes = good.to_bytes();
        assert_eq!(CoseKey::from_bytes(&bytes).unwrap(), good);
        bytes.push(0);
        assert!(matches!(
            CoseKey::from_bytes(&bytes),
            Err(CoseError::Cbor(_))
        ));

        let mismatch = CoseKey::ec2(
            CoseAlgorithm::Es256,
            EcCurve::P384,
            vec![1; 48],
            vec![2; 48],
        );
        assert!(matches!(
            CoseKey::from_bytes(&mismatch.to_bytes()),
            Err(CoseError::AlgorithmKeyMismatch { .. })
        ));
        let short = CoseKey::ec2(
            CoseAlgorithm::Es256,
            EcCurve::P256,
            vec![1; 31],
            vec![2; 32],
        );
        assert_eq!(
            CoseKey::from_bytes(&short.to_bytes()),
            Err(CoseError::BadLength {
                what: "x",
                expected: 32,
                found: 31
            })
        );
        let unknown_alg = Value::canonical_map(vec![
            (Value::from(1), Value::from(2)),
            (Value::from(3), Value::from(-999)),
        ]);
        assert_eq!(
            CoseKey::from_value(&unknown_alg),
            Err(CoseError::UnsupportedAlgorithm(-999))
        );
        let unknown_kty = Value::canonical_map(vec![
            (Value::from(1), Value::from(9)),
            (Value::from(3), Value::from(-7)),
        ]);
        assert_eq!(
            CoseKey::from_value(&unknown_kty),
            Err(CoseError::UnsupportedKeyType(9))
        );
        let rsa0 = CoseKey::rsa(CoseAlgorithm::Rs256, vec![0, 1], vec![1, 0, 1]);
        assert_eq!(
            CoseKey::from_bytes(&rsa0.to_bytes()),
            Err(CoseError::BadRsaInteger("n"))
        );
    }

    #[test]
    fn extra_labels_round_trip() {
        let mut k = CoseKey::okp(CoseAlgorithm::EdDsa, OkpCurve::Ed25519, vec![7; 32]);
        k.extra
            .push((Value::from(2), Value::Bytes(b"kid".to_vec())));
        let bytes = k.to_bytes();
        let back = CoseKey::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.extra.len(), 1);
    }

    /// RFC 9964 AKP keys: kty 7, alg -48/-49/-50, `pub` (-1) of the
    /// parameter set's length; SPKI with the RFC 9881 OIDs.
    #[test]
    fn ml_dsa_keys() {
        for (alg, id, len, oid_last) in [
            (CoseAlgorithm::MlDsa44, -48, 1312, 0x11),
            (CoseAlgorithm::MlDsa65, -49, 1952, 0x12),
            (CoseAlgorithm::MlDsa87, -50, 2592, 0x13),
        ] {
            assert_eq!(alg.id(), id);
            assert_eq!(CoseAlgorithm::from_id(id), Some(alg));
            assert_eq!(alg.key_type(), KeyType::Akp);
            let k = CoseKey::akp(alg, vec![9; len]);
            let bytes = k.to_bytes();
            // {1: 7, 3: id, -1: h'…'}
            assert_eq!(bytes[..3], [0xa3, 0x01, 0x07]);
            assert_eq!(CoseKey::from_bytes(&bytes).unwrap(), k);
            let spki = k.to_spki_der().unwrap();
            // SEQUENCE { SEQUENCE { OID }, BIT STRING { 0 unused, key } }
            assert_eq!(spki[4..8], [0x30, 0x0b, 0x06, 0x09]);
            assert_eq!(spki[16], oid_last);
            assert_eq!(spki[spki.len() - len..], k_public(&k)[..]);
            for wrong in [len - 1, len + 1, 0] {
                assert_eq!(
                    CoseKey::from_bytes(&CoseKey::akp(alg, vec![9; wrong]).to_bytes()),
                    Err(CoseError::BadLength {
                        what: "pub",
                        expected: len,
                        found: wrong
                    })
                );
            }
        }
        // An ML-DSA-44-sized key under ML-DSA-65, or an AKP key under ES256.
        let mixed = CoseKey::akp(CoseAlgorithm::MlDsa65, vec![9; 1312]);
        assert!(CoseKey::from_bytes(&mixed.to_bytes()).is_err());
        assert!(matches!(
            CoseKey::akp(CoseAlgorithm::Es256, vec![9; 1312]).check_algorithm(),
            Err(CoseError::AlgorithmKeyMismatch { .. })
        ));
        // An EC2 key cannot claim ML-DSA.
        let ec = CoseKey::ec2(
            CoseAlgorithm::MlDsa44,
            EcCurve::P256,
            vec![1; 32],
            vec![2; 32],
        );
        assert!(CoseKey::from_bytes(&ec.to_bytes()).is_err());
    }

    fn k_public(k: &CoseKey) -> Vec<u8> {
        match &k.params {
            KeyParams::Akp { public } => public.clone(),
            _ => panic!("not AKP"),
        }
    }

    #[test]
    fn spki_rsa_integer_padding() {
        let k = CoseKey::rsa(CoseAlgorithm::Rs256, vec![0x80; 4], vec![1, 0, 1]);
        let spki = k.to_spki_der().unwrap();
        // INTEGER n gets a leading zero because its high bit is set.
        assert!(spki
            .windows(7)
            .any(|w| w == [0x02, 0x05, 0x00, 0x80, 0x80, 0x80, 0x80]));
    }
}
