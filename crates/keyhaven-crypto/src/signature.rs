//! Signatures for every COSE algorithm WebAuthn uses (L3 §5.8.5, §6.5.6).
//!
//! Verification: ECDSA P-256/384/521 (ASN.1 DER signatures), Ed25519, RSASSA
//! PKCS#1 v1.5 with SHA-1/256/384/512 and RSASSA-PSS with SHA-256/384/512,
//! ML-DSA-44/65/87 (FIPS 204, pure, empty context; RFC 9964), all in
//! aws-lc-rs; Ed448 in RustCrypto `ed448-goldilocks`.
//!
//! Key generation and signing: ES256, ES384, ES512, EdDSA (Ed25519), RS256,
//! ML-DSA-44/65/87 (from a 32-byte seed).

use crate::{CryptoError, SecretBytes};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, PqdsaKeyPair};
use keyhaven_proto::cose::{CoseAlgorithm, CoseKey, EcCurve, KeyParams, OkpCurve};
use keyhaven_proto::der;

type A = CoseAlgorithm;

/// Verifies `signature` over `message` with `key`, using the key's algorithm.
pub fn verify(key: &CoseKey, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
    verify_with(key.alg, key, message, signature)
}

/// An aws-lc-rs verification algorithm with the key bytes it parses.
type AwsKey = (&'static dyn sig::VerificationAlgorithm, Vec<u8>);

/// The aws-lc-rs algorithm and key encoding for a COSE key used with `alg`.
/// `None` for Ed448, which aws-lc-rs lacks.
fn aws_key(alg: CoseAlgorithm, key: &CoseKey) -> Result<Option<AwsKey>, CryptoError> {
    let unsupported = || CryptoError::UnsupportedAlgorithm(alg.name());
    Ok(Some(match (&key.params, alg) {
        (
            KeyParams::Ec2 { curve, .. },
            A::Es256 | A::Es384 | A::Es512 | A::Esp256 | A::Esp384 | A::Esp512,
        ) => {
            let algorithm: &'static dyn sig::VerificationAlgorithm = match (curve, alg) {
                (EcCurve::P256, A::Es256 | A::Esp256) => &sig::ECDSA_P256_SHA256_ASN1,
                (EcCurve::P384, A::Es384 | A::Esp384) => &sig::ECDSA_P384_SHA384_ASN1,
                (EcCurve::P521, A::Es512 | A::Esp512) => &sig::ECDSA_P521_SHA512_ASN1,
                _ => return Err(unsupported()),
            };
            (
                algorithm,
                key.to_sec1_uncompressed()
                    .ok_or(CryptoError::InvalidPublicKey("EC2"))?,
            )
        }
        (
            KeyParams::Okp {
                curve: OkpCurve::Ed25519,
                x,
            },
            A::EdDsa | A::Ed25519,
        ) => (&sig::ED25519, x.clone()),
        (
            KeyParams::Okp {
                curve: OkpCurve::Ed448,
                ..
            },
            A::EdDsa | A::Ed448,
        ) => return Ok(None),
        (KeyParams::Rsa { .. }, _) => {
            let params: &'static dyn sig::VerificationAlgorithm = match alg {
                A::Rs256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                A::Rs384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                A::Rs512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                A::Rs1 => &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                A::Ps256 => &sig::RSA_PSS_2048_8192_SHA256,
                A::Ps384 => &sig::RSA_PSS_2048_8192_SHA384,
                A::Ps512 => &sig::RSA_PSS_2048_8192_SHA512,
                _ => return Err(unsupported()),
            };
            (
                params,
                key.to_pkcs1_der()
                    .ok_or(CryptoError::InvalidPublicKey("RSA"))?,
            )
        }
        (KeyParams::Akp { public }, A::MlDsa44 | A::MlDsa65 | A::MlDsa87) => {
            let algorithm: &'static dyn sig::VerificationAlgorithm = match alg {
                A::MlDsa44 => &sig::ML_DSA_44,
                A::MlDsa65 => &sig::ML_DSA_65,
                _ => &sig::ML_DSA_87,
            };
            if key.alg != alg {
                return Err(unsupported());
            }
            (algorithm, public.clone())
        }
        _ => return Err(unsupported()),
    }))
}

/// Checks that a COSE key is a usable public key for its algorithm: an EC
/// point on its curve, a valid Ed25519/Ed448 point, an RSA key of 2048–8192 bits.
pub fn check_public_key(key: &CoseKey) -> Result<(), CryptoError> {
    if let KeyParams::Rsa { n, .. } = &key.params {
        let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
        if !(2048..=8192).contains(&bits) {
            return Err(CryptoError::InvalidPublicKey(
                "RSA modulus must be 2048 to 8192 bits",
            ));
        }
    }
    match aws_key(key.alg, key)? {
        Some((algorithm, bytes)) => sig::ParsedPublicKey::new(algorithm, bytes)
            .map(|_| ())
            .map_err(|_| CryptoError::InvalidPublicKey("rejected by aws-lc-rs")),
        None => {
            let KeyParams::Okp { x, .. } = &key.params else {
                return Err(CryptoError::InvalidPublicKey("Ed448"));
            };
            let bytes: &[u8; 57] = x
                .as_slice()
                .try_into()
                .map_err(|_| CryptoError::InvalidPublicKey("Ed448 length"))?;
            ed448_goldilocks::VerifyingKey::from_bytes(bytes)
                .map(|_| ())
                .map_err(|_| CryptoError::InvalidPublicKey("Ed448 point"))
        }
    }
}

/// Verifies with an explicit algorithm (attestation statements name their own
/// `alg`; it must still fit the key).
pub fn verify_with(
    alg: CoseAlgorithm,
    key: &CoseKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    if let Some((_, len)) = alg.ml_dsa_lengths() {
        // FIPS 204 Table 2: a signature of another length cannot verify.
        if signature.len() != len {
            return Err(CryptoError::BadLength {
                what: "ML-DSA signature",
                expected: len,
                found: signature.len(),
            });
        }
    }
    match aws_key(alg, key)? {
        Some((algorithm, bytes)) => sig::UnparsedPublicKey::new(algorithm, bytes)
            .verify(message, signature)
            .map_err(|_| CryptoError::InvalidSignature { alg: alg.name() }),
        None => match &key.params {
            KeyParams::Okp { x, .. } => verify_ed448(x, message, signature, alg),
            _ => Err(CryptoError::UnsupportedAlgorithm(alg.name())),
        },
    }
}

fn verify_ed448(
    x: &[u8],
    message: &[u8],
    signature: &[u8],
    alg: CoseAlgorithm,
) -> Result<(), CryptoError> {
    use ed448_goldilocks::{Signature, VerifyingKey};
    let bytes: &[u8; 57] = x
        .try_into()
        .map_err(|_| CryptoError::InvalidPublicKey("Ed448 key must be 57 bytes"))?;
    let vk = VerifyingKey::from_bytes(bytes)
        .map_err(|_| CryptoError::InvalidPublicKey("Ed448 point"))?;
    let s = Signature::try_from(signature)
        .map_err(|_| CryptoError::InvalidSignature { alg: alg.name() })?;
    vk.verify_raw(&s, message)
        .map_err(|_| CryptoError::InvalidSignature { alg: alg.name() })
}

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
    /// The key pair and the 32-byte seed it was expanded from (FIPS 204
    /// ML-DSA.KeyGen_internal's ξ), which is how the key is stored.
    MlDsa(PqdsaKeyPair, SecretBytes),
}

fn ml_dsa_signing(alg: CoseAlgorithm) -> Option<&'static sig::PqdsaSigningAlgorithm> {
    Some(match alg {
        A::MlDsa44 => &sig::ML_DSA_44_SIGNING,
        A::MlDsa65 => &sig::ML_DSA_65_SIGNING,
        A::MlDsa87 => &sig::ML_DSA_87_SIGNING,
        _ => return None,
    })
}

/// Length of an ML-DSA seed.
pub const ML_DSA_SEED_LEN: usize = 32;

/// A private signing key for a credential or an attestation key.
/// Its material never appears in Debug output and is zeroized by AWS-LC on drop.
pub struct SigningKey {
    alg: CoseAlgorithm,
    inner: Inner,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, [REDACTED])", self.alg.name())
    }
}

fn ecdsa_signing(alg: CoseAlgorithm) -> Option<&'static sig::EcdsaSigningAlgorithm> {
    Some(match alg {
        A::Es256 | A::Esp256 => &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        A::Es384 | A::Esp384 => &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
        A::Es512 | A::Esp512 => &sig::ECDSA_P521_SHA512_ASN1_SIGNING,
        _ => return None,
    })
}

impl SigningKey {
    /// The algorithms this crate can generate keys for and sign with.
    pub const SIGNING_ALGORITHMS: [CoseAlgorithm; 5] =
        [A::Es256, A::Es384, A::Es512, A::EdDsa, A::Rs256];

    /// The post-quantum algorithms this crate signs with (ML-DSA, RFC 9964).
    pub const ML_DSA_SIGNING_ALGORITHMS: [CoseAlgorithm; 3] = CoseAlgorithm::ML_DSA;

    /// The fully specified algorithms (COSE identifiers naming the curve) this crate signs with: the
    /// same keys as [`SIGNING_ALGORITHMS`](Self::SIGNING_ALGORITHMS)' ECDSA and
    /// EdDSA ones, named with their curve (ESP256, ESP384, ESP512, Ed25519).
    pub const FULLY_SPECIFIED_SIGNING_ALGORITHMS: [CoseAlgorithm; 4] =
        [A::Esp256, A::Esp384, A::Esp512, A::Ed25519];

    /// Generates a key (RSA: 2048-bit; ML-DSA: from a fresh random seed).
    pub fn generate(alg: CoseAlgorithm) -> Result<Self, CryptoError> {
        let lib = |_| CryptoError::Library("key generation");
        if ml_dsa_signing(alg).is_some() {
            let seed = SecretBytes::new(crate::rand::vec(ML_DSA_SEED_LEN)?);
            return Self::from_ml_dsa_seed(alg, seed.expose());
        }
        let inner = if let Some(a) = ecdsa_signing(alg) {
            Inner::Ecdsa(EcdsaKeyPair::generate(a).map_err(lib)?)
        } else {
            match alg {
                A::EdDsa | A::Ed25519 => Inner::Ed25519(Ed25519KeyPair::generate().map_err(lib)?),
                A::Rs256 => Inner::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(lib)?),
                _ => return Err(CryptoError::UnsupportedAlgorithm(alg.name())),
            }
        };
        Ok(SigningKey { alg, inner })
    }

    /// An ML-DSA key expanded from its 32-byte seed (FIPS 204 §6.1
    /// ML-DSA.KeyGen_internal with ξ = `seed`): the same seed gives the same key.
    pub fn from_ml_dsa_seed(alg: CoseAlgorithm, seed: &[u8]) -> Result<Self, CryptoError> {
        let a = ml_dsa_signing(alg).ok_or(CryptoError::UnsupportedAlgorithm(alg.name()))?;
        if seed.len() != ML_DSA_SEED_LEN {
            return Err(CryptoError::BadLength {
                what: "ML-DSA seed",
                expected: ML_DSA_SEED_LEN,
                found: seed.len(),
            });
        }
        let kp = PqdsaKeyPair::from_seed(a, seed)
            .map_err(|_| CryptoError::InvalidPrivateKey("ML-DSA seed"))?;
        Ok(SigningKey {
            alg,
            inner: Inner::MlDsa(kp, SecretBytes::new(seed.to_vec())),
        })
    }

    /// For an ML-DSA key: its 32-byte seed (secret), from which
    /// [`from_ml_dsa_seed`](Self::from_ml_dsa_seed) rebuilds it.
    pub fn ml_dsa_seed(&self) -> Option<&SecretBytes> {
        match &self.inner {
            Inner::MlDsa(_, seed) => Some(seed),
            _ => None,
        }
    }

    /// The private key as stored (secret): the 32-byte seed for ML-DSA,
    /// PKCS#8 DER for every other algorithm. [`from_private_bytes`](Self::from_private_bytes)
    /// reads it back.
    pub fn to_private_bytes(&self) -> Result<SecretBytes, CryptoError> {
        match self.ml_dsa_seed() {
            Some(seed) => Ok(SecretBytes::new(seed.expose().to_vec())),
            None => self.to_pkcs8(),
        }
    }

    /// A key from [`to_private_bytes`](Self::to_private_bytes)' encoding.
    pub fn from_private_bytes(alg: CoseAlgorithm, bytes: &[u8]) -> Result<Self, CryptoError> {
        if ml_dsa_signing(alg).is_some() {
            Self::from_ml_dsa_seed(alg, bytes)
        } else {
            Self::from_pkcs8(alg, bytes)
        }
    }

    /// Loads a key from PKCS#8 DER (as written by [`to_pkcs8`](Self::to_pkcs8)).
    /// An ML-DSA key must carry its seed (RFC 9881 §6 `seed` or `both`): the
    /// seed is what keyhaven keeps ([`ml_dsa_seed`](Self::ml_dsa_seed)).
    pub fn from_pkcs8(alg: CoseAlgorithm, der: &[u8]) -> Result<Self, CryptoError> {
        let rej = |_| CryptoError::InvalidPrivateKey("PKCS#8");
        if let Some(a) = ml_dsa_signing(alg) {
            let parsed = PqdsaKeyPair::from_pkcs8(a, der).map_err(rej)?;
            // AWS-LC writes the seed form, ending with the 32-byte seed; it
            // cannot when the key came without its seed.
            let seed_form = parsed
                .to_pkcs8v1()
                .map_err(|_| CryptoError::InvalidPrivateKey("ML-DSA PKCS#8 without its seed"))?;
            let b = seed_form.as_ref();
            let seed = &b[b.len().saturating_sub(ML_DSA_SEED_LEN)..];
            let key = Self::from_ml_dsa_seed(alg, seed)?;
            // The seed is right only if it rebuilds the same key.
            if key.public_key() != CoseKey::akp(alg, parsed.public_key().as_ref().to_vec()) {
                return Err(CryptoError::InvalidPrivateKey("ML-DSA PKCS#8 seed"));
            }
            return Ok(key);
        }
        let inner = if let Some(a) = ecdsa_signing(alg) {
            Inner::Ecdsa(EcdsaKeyPair::from_pkcs8(a, der).map_err(rej)?)
        } else {
            match alg {
                A::EdDsa | A::Ed25519 => {
                    Inner::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rej)?)
                }
                A::Rs256 => Inner::Rsa(RsaKeyPair::from_pkcs8(der).map_err(rej)?),
                _ => return Err(CryptoError::UnsupportedAlgorithm(alg.name())),
            }
        };
        Ok(SigningKey { alg, inner })
    }

    /// A key from PKCS#8 DER of any algorithm this crate signs with, the
    /// algorithm read from the key itself: P-256, P-384 and P-521 give ES256,
    /// ES384 and ES512; Ed25519 gives EdDSA; RSA gives RS256; ML-DSA its level.
    /// (A credential's key carries no COSE algorithm of its own: a CXF import,
    /// for example, has only the PKCS#8.)
    pub fn from_pkcs8_any(der: &[u8]) -> Result<Self, CryptoError> {
        const TRIED: [CoseAlgorithm; 8] = [
            A::Es256,
            A::Es384,
            A::Es512,
            A::EdDsa,
            A::Rs256,
            A::MlDsa44,
            A::MlDsa65,
            A::MlDsa87,
        ];
        let mut seedless = false;
        for alg in TRIED {
            match Self::from_pkcs8(alg, der) {
                Ok(k) => return Ok(k),
                Err(CryptoError::InvalidPrivateKey("ML-DSA PKCS#8 without its seed")) => {
                    seedless = true
                }
                Err(_) => {}
            }
        }
        Err(CryptoError::InvalidPrivateKey(if seedless {
            "ML-DSA PKCS#8 without its seed"
        } else {
            "PKCS#8 of no algorithm keyhaven signs with (P-256, P-384, P-521, Ed25519, RSA, ML-DSA)"
        }))
    }

    /// An ECDSA key from its big-endian private scalar (test vectors, imports).
    pub fn from_ec_scalar(alg: CoseAlgorithm, d: &[u8]) -> Result<Self, CryptoError> {
        let a = ecdsa_signing(alg).ok_or(CryptoError::UnsupportedAlgorithm(alg.name()))?;
        let kp = EcdsaKeyPair::from_private_key_der(a, &ec_private_key_der(alg, d)?)
            .map_err(|_| CryptoError::InvalidPrivateKey("EC scalar"))?;
        Ok(SigningKey {
            alg,
            inner: Inner::Ecdsa(kp),
        })
    }

    /// An Ed25519 key from its 32-byte RFC 8032 seed.
    pub fn from_ed25519_seed(seed: &[u8]) -> Result<Self, CryptoError> {
        let kp = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| CryptoError::InvalidPrivateKey("Ed25519 seed"))?;
        Ok(SigningKey {
            alg: A::EdDsa,
            inner: Inner::Ed25519(kp),
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> CoseAlgorithm {
        self.alg
    }

    /// The private key as PKCS#8 DER (secret); for ML-DSA the RFC 9881 seed
    /// form.
    pub fn to_pkcs8(&self) -> Result<SecretBytes, CryptoError> {
        let lib = |_| CryptoError::Library("PKCS#8 export");
        let doc = match &self.inner {
            Inner::Ecdsa(k) => k.to_pkcs8v1().map_err(lib)?,
            Inner::Ed25519(k) => k.to_pkcs8v1().map_err(lib)?,
            Inner::MlDsa(k, _) => k.to_pkcs8v1().map_err(lib)?,
            Inner::Rsa(k) => {
                use aws_lc_rs::encoding::AsDer;
                let d: aws_lc_rs::encoding::Pkcs8V1Der<'static> = k.as_der().map_err(lib)?;
                return Ok(SecretBytes::new(d.as_ref().to_vec()));
            }
        };
        Ok(SecretBytes::new(doc.as_ref().to_vec()))
    }

    /// The public key as a COSE_Key carrying this key's algorithm.
    pub fn public_key(&self) -> CoseKey {
        match &self.inner {
            Inner::Ecdsa(k) => {
                let p = k.public_key().as_ref();
                let curve = match self.alg {
                    A::Es384 | A::Esp384 => EcCurve::P384,
                    A::Es512 | A::Esp512 => EcCurve::P521,
                    _ => EcCurve::P256,
                };
                let n = curve.coordinate_len();
                CoseKey::ec2(
                    self.alg,
                    curve,
                    p[1..1 + n].to_vec(),
                    p[1 + n..1 + 2 * n].to_vec(),
                )
            }
            Inner::Ed25519(k) => CoseKey::okp(
                self.alg,
                OkpCurve::Ed25519,
                k.public_key().as_ref().to_vec(),
            ),
            Inner::Rsa(k) => {
                let pk = k.public_key();
                CoseKey::rsa(
                    self.alg,
                    pk.modulus().big_endian_without_leading_zero().to_vec(),
                    pk.exponent().big_endian_without_leading_zero().to_vec(),
                )
            }
            Inner::MlDsa(k, _) => CoseKey::akp(self.alg, k.public_key().as_ref().to_vec()),
        }
    }

    /// Signs `message` (ECDSA: ASN.1 DER signature; RSA: PKCS#1 v1.5 SHA-256).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.inner {
            Inner::Ecdsa(k) => Ok(k
                .sign(&rng, message)
                .map_err(|_| CryptoError::Library("ECDSA sign"))?
                .as_ref()
                .to_vec()),
            Inner::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
            Inner::Rsa(k) => {
                let mut out = vec![0u8; k.public_modulus_len()];
                k.sign(&sig::RSA_PKCS1_SHA256, &rng, message, &mut out)
                    .map_err(|_| CryptoError::Library("RSA sign"))?;
                Ok(out)
            }
            Inner::MlDsa(k, _) => {
                // Pure ML-DSA with an empty context (FIPS 204 §5.2; RFC 9964 §3).
                let mut out = vec![0u8; k.algorithm().signature_len()];
                let n = k
                    .sign(message, &mut out)
                    .map_err(|_| CryptoError::Library("ML-DSA sign"))?;
                out.truncate(n);
                Ok(out)
            }
        }
    }
}

/// RFC 5915 ECPrivateKey DER for a scalar: SEQUENCE { 1, OCTET STRING d, [0] curve OID }.
fn ec_private_key_der(alg: CoseAlgorithm, d: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let (oid, len): (&[u8], usize) = match alg {
        A::Es256 | A::Esp256 => (der::oid::P256, 32),
        A::Es384 | A::Esp384 => (der::oid::P384, 48),
        A::Es512 | A::Esp512 => (der::oid::P521, 66),
        _ => return Err(CryptoError::UnsupportedAlgorithm(alg.name())),
    };
    if d.len() > len {
        return Err(CryptoError::BadLength {
            what: "EC private scalar",
            expected: len,
            found: d.len(),
        });
    }
    let mut scalar = vec![0u8; len - d.len()];
    scalar.extend_from_slice(d);
    let mut octets = Vec::new();
    der::tlv(&mut octets, 0x04, &scalar);
    let mut params = Vec::new();
    der::tlv(&mut params, 0xa0, oid);
    let out = der::sequence(&[&[0x02, 0x01, 0x01], &octets, &params]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs8_of_any_algorithm_names_its_algorithm() {
        let cases = [
            (A::Es256, A::Es256),
            (A::Esp256, A::Es256),
            (A::Es384, A::Es384),
            (A::Es512, A::Es512),
            (A::EdDsa, A::EdDsa),
            (A::Ed25519, A::EdDsa),
            (A::Rs256, A::Rs256),
            (A::MlDsa44, A::MlDsa44),
            (A::MlDsa65, A::MlDsa65),
            (A::MlDsa87, A::MlDsa87),
        ];
        for (made, read) in cases {
            let k = SigningKey::generate(made).unwrap();
            let der = k.to_pkcs8().unwrap();
            let back = SigningKey::from_pkcs8_any(der.expose()).unwrap();
            assert_eq!(back.algorithm(), read, "{made:?}");
            // Same key: its signature verifies under the original public key.
            let mut pk = k.public_key();
            pk.alg = read;
            verify(&pk, b"m", &back.sign(b"m").unwrap()).unwrap();
        }
        // ML-DSA from PKCS#8 keeps the seed: the stored form round-trips.
        let k = SigningKey::generate(A::MlDsa65).unwrap();
        let back = SigningKey::from_pkcs8(A::MlDsa65, k.to_pkcs8().unwrap().expose()).unwrap();
        assert_eq!(
            back.ml_dsa_seed().unwrap().expose(),
            k.ml_dsa_seed().unwrap().expose()
        );
        // Another level's algorithm is refused; so is garbage.
        assert!(SigningKey::from_pkcs8(A::MlDsa44, k.to_pkcs8().unwrap().expose()).is_err());
        assert_eq!(
            SigningKey::from_pkcs8_any(b"\x30\x03\x02\x01\x00").unwrap_err(),
            CryptoError::InvalidPrivateKey(
                "PKCS#8 of no algorithm keyhaven signs with (P-256, P-384, P-521, Ed25519, RSA, ML-DSA)"
            )
        );
        // A changed byte of the seed is another key, not an error; a cut
        // document is refused.
        let der = k.to_pkcs8().unwrap().expose().to_vec();
        assert!(SigningKey::from_pkcs8_any(&der[..der.len() - 1]).is_err());
    }

    /// RFC 9881 §6: an ML-DSA private key is its `seed` [0], its
    /// `expandedKey` (OCTET STRING) or `both` (SEQUENCE). keyhaven keeps the
    /// seed, so the expanded form alone is refused with its own error, and
    /// `both` is accepted with the seed it carries.
    #[test]
    fn ml_dsa_pkcs8_without_its_seed_is_refused_by_name() {
        let levels = [
            (A::MlDsa44, der::oid::ML_DSA_44),
            (A::MlDsa65, der::oid::ML_DSA_65),
            (A::MlDsa87, der::oid::ML_DSA_87),
        ];
        for (alg, oid) in levels {
            let k = SigningKey::generate(alg).unwrap();
            let seed = k.ml_dsa_seed().unwrap().expose().to_vec();
            let a = ml_dsa_signing(alg).unwrap();
            let expanded = PqdsaKeyPair::from_seed(a, &seed).unwrap();
            let raw = aws_lc_rs::encoding::AsRawBytes::as_raw_bytes(&expanded.private_key())
                .unwrap()
                .as_ref()
                .to_vec();
            let pkcs8 = |private_key: Vec<u8>| {
                let alg_id = der::sequence(&[oid]);
                let mut octets = Vec::new();
                der::tlv(&mut octets, 0x04, &private_key);
                der::sequence(&[&[0x02, 0x01, 0x00], &alg_id, &octets])
            };
            let mut expanded_only = Vec::new();
            der::tlv(&mut expanded_only, 0x04, &raw);
            assert_eq!(
                SigningKey::from_pkcs8_any(&pkcs8(expanded_only.clone())).unwrap_err(),
                CryptoError::InvalidPrivateKey("ML-DSA PKCS#8 without its seed"),
                "{alg:?}"
            );
            assert_eq!(
                SigningKey::from_pkcs8(alg, &pkcs8(expanded_only)).unwrap_err(),
                CryptoError::InvalidPrivateKey("ML-DSA PKCS#8 without its seed"),
                "{alg:?}"
            );
            // `both`: accepted, and the seed is the one it carries.
            let mut seed_octets = Vec::new();
            der::tlv(&mut seed_octets, 0x04, &seed);
            let mut raw_octets = Vec::new();
            der::tlv(&mut raw_octets, 0x04, &raw);
            let both = der::sequence(&[&seed_octets, &raw_octets]);
            let back = SigningKey::from_pkcs8_any(&pkcs8(both)).unwrap();
            assert_eq!(back.algorithm(), alg);
            assert_eq!(back.ml_dsa_seed().unwrap().expose(), &seed[..]);
            assert_eq!(back.public_key(), k.public_key());
        }
    }

    #[test]
    fn generate_sign_verify_every_signing_algorithm() {
        let all = SigningKey::SIGNING_ALGORITHMS
            .into_iter()
            .chain(SigningKey::FULLY_SPECIFIED_SIGNING_ALGORITHMS);
        for alg in all {
            let k = SigningKey::generate(alg).unwrap();
            let pk = k.public_key();
            assert_eq!(pk.alg, alg);
            pk.check_algorithm().unwrap();
            let s = k.sign(b"msg").unwrap();
            verify(&pk, b"msg", &s).unwrap();
            assert_eq!(
                verify(&pk, b"msG", &s),
                Err(CryptoError::InvalidSignature { alg: alg.name() })
            );
            let back = SigningKey::from_pkcs8(alg, k.to_pkcs8().unwrap().expose()).unwrap();
            assert_eq!(back.public_key(), pk);
            let back = SigningKey::from_private_bytes(alg, k.to_private_bytes().unwrap().expose())
                .unwrap();
            assert_eq!(back.public_key(), pk);
            assert!(format!("{k:?}").contains("REDACTED"));
        }
    }

    /// RSA schemes we verify but do not sign with: signatures made directly with
    /// aws-lc-rs for each COSE identifier must verify, and only under that identifier.
    #[test]
    fn rsa_verification_schemes() {
        let kp = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let public = CoseKey::rsa(
            A::Ps256,
            kp.public_key()
                .modulus()
                .big_endian_without_leading_zero()
                .to_vec(),
            kp.public_key()
                .exponent()
                .big_endian_without_leading_zero()
                .to_vec(),
        );
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let schemes: [(CoseAlgorithm, &'static dyn sig::RsaEncoding); 6] = [
            (A::Rs256, &sig::RSA_PKCS1_SHA256),
            (A::Rs384, &sig::RSA_PKCS1_SHA384),
            (A::Rs512, &sig::RSA_PKCS1_SHA512),
            (A::Ps256, &sig::RSA_PSS_SHA256),
            (A::Ps384, &sig::RSA_PSS_SHA384),
            (A::Ps512, &sig::RSA_PSS_SHA512),
        ];
        for (alg, enc) in schemes {
            let mut s = vec![0u8; kp.public_modulus_len()];
            kp.sign(enc, &rng, b"payload", &mut s).unwrap();
            verify_with(alg, &public, b"payload", &s)
                .unwrap_or_else(|e| panic!("{}: {e}", alg.name()));
            for other in [
                A::Rs256,
                A::Rs384,
                A::Rs512,
                A::Ps256,
                A::Ps384,
                A::Ps512,
                A::Rs1,
            ] {
                if other != alg {
                    assert!(
                        verify_with(other, &public, b"payload", &s).is_err(),
                        "{} accepted as {}",
                        alg.name(),
                        other.name()
                    );
                }
            }
        }
    }

    #[test]
    fn ml_dsa_keys_sign_verify_and_come_back_from_their_seed() {
        for alg in CoseAlgorithm::ML_DSA {
            let (pk_len, sig_len) = alg.ml_dsa_lengths().unwrap();
            let k = SigningKey::generate(alg).unwrap();
            let pk = k.public_key();
            assert_eq!(pk.alg, alg);
            pk.check_algorithm().unwrap();
            check_public_key(&pk).unwrap();
            let s = k.sign(b"msg").unwrap();
            assert_eq!(s.len(), sig_len);
            verify(&pk, b"msg", &s).unwrap();
            assert_eq!(
                verify(&pk, b"msG", &s),
                Err(CryptoError::InvalidSignature { alg: alg.name() })
            );
            let mut flipped = s.clone();
            flipped[7] ^= 1;
            assert!(verify(&pk, b"msg", &flipped).is_err());
            assert_eq!(
                verify(&pk, b"msg", &s[..sig_len - 1]),
                Err(CryptoError::BadLength {
                    what: "ML-DSA signature",
                    expected: sig_len,
                    found: sig_len - 1
                })
            );
            // The same seed gives the same key; the seed is redacted.
            let seed = k.ml_dsa_seed().unwrap();
            assert_eq!(seed.len(), ML_DSA_SEED_LEN);
            let back = SigningKey::from_ml_dsa_seed(alg, seed.expose()).unwrap();
            assert_eq!(back.public_key(), pk);
            let stored = k.to_private_bytes().unwrap();
            assert_eq!(stored.expose(), seed.expose());
            let back = SigningKey::from_private_bytes(alg, stored.expose()).unwrap();
            assert_eq!(back.public_key(), pk);
            assert!(format!("{k:?}").contains("REDACTED"));
            if let KeyParams::Akp { public } = &pk.params {
                assert_eq!(public.len(), pk_len);
            }
            // Another parameter set's key does not verify it.
            for other in CoseAlgorithm::ML_DSA.into_iter().filter(|o| *o != alg) {
                let o = SigningKey::generate(other).unwrap().public_key();
                assert!(verify_with(alg, &o, b"msg", &s).is_err());
            }
        }
        assert!(SigningKey::from_ml_dsa_seed(A::MlDsa44, &[0; 31]).is_err());
        assert!(SigningKey::from_ml_dsa_seed(A::Es256, &[0; 32]).is_err());
    }

    #[test]
    fn public_key_validation() {
        let k = SigningKey::generate(A::Es256).unwrap().public_key();
        check_public_key(&k).unwrap();
        let mut off = k.clone();
        if let KeyParams::Ec2 { y, .. } = &mut off.params {
            y[31] ^= 1;
        }
        assert!(
            check_public_key(&off).is_err(),
            "a point off the curve is refused"
        );
        let small = CoseKey::rsa(A::Rs256, vec![0xc5; 128], vec![1, 0, 1]);
        assert!(check_public_key(&small).is_err(), "1024-bit RSA is refused");
        check_public_key(&SigningKey::generate(A::EdDsa).unwrap().public_key()).unwrap();
    }

    #[test]
    fn wrong_algorithm_for_key() {
        let k = SigningKey::generate(A::Es256).unwrap();
        let s = k.sign(b"m").unwrap();
        assert_eq!(
            verify_with(A::Es384, &k.public_key(), b"m", &s),
            Err(CryptoError::UnsupportedAlgorithm("ES384"))
        );
        assert_eq!(
            verify_with(A::Rs256, &k.public_key(), b"m", &s),
            Err(CryptoError::UnsupportedAlgorithm("RS256"))
        );
        // Fully specified ESP256 accepts the same P-256 signature.
        verify_with(A::Esp256, &k.public_key(), b"m", &s).unwrap();
    }
}
