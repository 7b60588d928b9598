//! Signature verification for X.509 certificates and other DER-keyed data
//! (attestation certificate paths, MDS3 BLOB JWS), with the public key given as
//! a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) that aws-lc-rs parses.

use crate::CryptoError;
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey};
use keyhaven_proto::cose::EcCurve;

/// A certificate / JWS signature algorithm (RFC 5758, RFC 8017, RFC 8410, RFC 7518).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// ecdsa-with-SHA256 / ES256.
    EcdsaSha256,
    /// ecdsa-with-SHA384 / ES384.
    EcdsaSha384,
    /// ecdsa-with-SHA512 / ES512.
    EcdsaSha512,
    /// sha1WithRSAEncryption (legacy TPM / SafetyNet paths only).
    RsaPkcs1Sha1,
    /// sha256WithRSAEncryption / RS256.
    RsaPkcs1Sha256,
    /// sha384WithRSAEncryption / RS384.
    RsaPkcs1Sha384,
    /// sha512WithRSAEncryption / RS512.
    RsaPkcs1Sha512,
    /// RSASSA-PSS with SHA-256 / PS256.
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384 / PS384.
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512 / PS512.
    RsaPssSha512,
    /// Ed25519.
    Ed25519,
}

impl SignatureScheme {
    /// The scheme for an X.509 signatureAlgorithm OID (dotted form). RSASSA-PSS
    /// needs its parameters and is mapped by the caller.
    pub fn from_x509_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "1.2.840.10045.4.3.2" => Self::EcdsaSha256,
            "1.2.840.10045.4.3.3" => Self::EcdsaSha384,
            "1.2.840.10045.4.3.4" => Self::EcdsaSha512,
            "1.2.840.113549.1.1.5" => Self::RsaPkcs1Sha1,
            "1.2.840.113549.1.1.11" => Self::RsaPkcs1Sha256,
            "1.2.840.113549.1.1.12" => Self::RsaPkcs1Sha384,
            "1.2.840.113549.1.1.13" => Self::RsaPkcs1Sha512,
            "1.3.101.112" => Self::Ed25519,
            _ => return None,
        })
    }

    /// The scheme for a JWS `alg` (RFC 7518 §3.1).
    pub fn from_jws_alg(alg: &str) -> Option<Self> {
        Some(match alg {
            "ES256" => Self::EcdsaSha256,
            "ES384" => Self::EcdsaSha384,
            "ES512" => Self::EcdsaSha512,
            "RS256" => Self::RsaPkcs1Sha256,
            "RS384" => Self::RsaPkcs1Sha384,
            "RS512" => Self::RsaPkcs1Sha512,
            "PS256" => Self::RsaPssSha256,
            "PS384" => Self::RsaPssSha384,
            "PS512" => Self::RsaPssSha512,
            "EdDSA" => Self::Ed25519,
            _ => return None,
        })
    }
}

/// The key type of a SubjectPublicKeyInfo, as far as verification needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpkiKey {
    /// id-ecPublicKey on a curve.
    Ec(EcCurve),
    /// rsaEncryption.
    Rsa,
    /// id-Ed25519.
    Ed25519,
}

/// Verifies `signature` over `message` with the key in `spki_der`.
/// ECDSA signatures are DER `Ecdsa-Sig-Value` (X.509) unless `ecdsa_fixed` is
/// set (JWS `r ‖ s`).
pub fn verify_spki(
    scheme: SignatureScheme,
    key: SpkiKey,
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
    ecdsa_fixed: bool,
) -> Result<(), CryptoError> {
    use SignatureScheme as S;
    let unsupported = || CryptoError::UnsupportedAlgorithm("signature scheme does not fit the key");
    let alg: &'static dyn sig::VerificationAlgorithm = match (scheme, key) {
        (S::EcdsaSha256 | S::EcdsaSha384 | S::EcdsaSha512, SpkiKey::Ec(curve)) => {
            match (curve, scheme, ecdsa_fixed) {
                (EcCurve::P256, S::EcdsaSha256, false) => &sig::ECDSA_P256_SHA256_ASN1,
                (EcCurve::P256, S::EcdsaSha384, false) => &sig::ECDSA_P256_SHA384_ASN1,
                (EcCurve::P256, S::EcdsaSha512, false) => &sig::ECDSA_P256_SHA512_ASN1,
                (EcCurve::P384, S::EcdsaSha256, false) => &sig::ECDSA_P384_SHA256_ASN1,
                (EcCurve::P384, S::EcdsaSha384, false) => &sig::ECDSA_P384_SHA384_ASN1,
                (EcCurve::P384, S::EcdsaSha512, false) => &sig::ECDSA_P384_SHA512_ASN1,
                (EcCurve::P521, S::EcdsaSha256, false) => &sig::ECDSA_P521_SHA256_ASN1,
                (EcCurve::P521, S::EcdsaSha384, false) => &sig::ECDSA_P521_SHA384_ASN1,
                (EcCurve::P521, S::EcdsaSha512, false) => &sig::ECDSA_P521_SHA512_ASN1,
                (EcCurve::P256, S::EcdsaSha256, true) => &sig::ECDSA_P256_SHA256_FIXED,
                (EcCurve::P384, S::EcdsaSha384, true) => &sig::ECDSA_P384_SHA384_FIXED,
                (EcCurve::P521, S::EcdsaSha512, true) => &sig::ECDSA_P521_SHA512_FIXED,
                _ => return Err(unsupported()),
            }
        }
        (S::RsaPkcs1Sha1, SpkiKey::Rsa) => &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        (S::RsaPkcs1Sha256, SpkiKey::Rsa) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (S::RsaPkcs1Sha384, SpkiKey::Rsa) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (S::RsaPkcs1Sha512, SpkiKey::Rsa) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (S::RsaPssSha256, SpkiKey::Rsa) => &sig::RSA_PSS_2048_8192_SHA256,
        (S::RsaPssSha384, SpkiKey::Rsa) => &sig::RSA_PSS_2048_8192_SHA384,
        (S::RsaPssSha512, SpkiKey::Rsa) => &sig::RSA_PSS_2048_8192_SHA512,
        (S::Ed25519, SpkiKey::Ed25519) => &sig::ED25519,
        _ => return Err(unsupported()),
    };
    UnparsedPublicKey::new(alg, spki_der)
        .verify(message, signature)
        .map_err(|_| CryptoError::InvalidSignature { alg: "X.509/JWS" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::SigningKey;
    use keyhaven_proto::cose::CoseAlgorithm;

    #[test]
    fn verifies_with_spki() {
        for (alg, scheme, key) in [
            (
                CoseAlgorithm::Es256,
                SignatureScheme::EcdsaSha256,
                SpkiKey::Ec(EcCurve::P256),
            ),
            (
                CoseAlgorithm::Es384,
                SignatureScheme::EcdsaSha384,
                SpkiKey::Ec(EcCurve::P384),
            ),
            (
                CoseAlgorithm::EdDsa,
                SignatureScheme::Ed25519,
                SpkiKey::Ed25519,
            ),
            (
                CoseAlgorithm::Rs256,
                SignatureScheme::RsaPkcs1Sha256,
                SpkiKey::Rsa,
            ),
        ] {
            let k = SigningKey::generate(alg).unwrap();
            let spki = k.public_key().to_spki_der().unwrap();
            let s = k.sign(b"tbs").unwrap();
            verify_spki(scheme, key, &spki, b"tbs", &s, false).unwrap();
            assert!(verify_spki(scheme, key, &spki, b"tbS", &s, false).is_err());
        }
        assert!(verify_spki(SignatureScheme::Ed25519, SpkiKey::Rsa, b"", b"", b"", false).is_err());
    }
}
