//! # keyhaven-crypto
//!
//! The one crypto layer of keyhaven. Every primitive comes from aws-lc-rs,
//! except Ed448 signature verification, which aws-lc-rs lacks and which comes
//! from RustCrypto's `ed448-goldilocks`. Nothing here is hand-written crypto:
//! this crate maps WebAuthn / CTAP names onto those libraries and makes secret
//! material zeroize on drop and print redacted.
//!
//! | module | what |
//! |---|---|
//! | [`signature`] | verification for every COSE algorithm WebAuthn uses; key generation and signing for ES256/384/512, EdDSA, RS256 |
//! | [`ecdh`] | ECDH P-256 (the CTAP2 PIN/UV protocols' key agreement) |
//! | [`cipher`] | AES-256-CBC (no padding, CTAP2 PIN/UV) and AES-256-GCM |
//! | [`mac`] | HMAC-SHA-256, HKDF-SHA-256 |
//! | [`digest`] | SHA-256 / SHA-384 / SHA-512 |
//! | [`rand`] | the CSPRNG |
//! | [`ct_eq`] | constant-time comparison |
//!
//! ```
//! use keyhaven_crypto::signature::{SigningKey, verify};
//! use keyhaven_proto::cose::CoseAlgorithm;
//! let key = SigningKey::generate(CoseAlgorithm::Es256).unwrap();
//! let sig = key.sign(b"authData || clientDataHash").unwrap();
//! assert!(verify(&key.public_key(), b"authData || clientDataHash", &sig).is_ok());
//! assert!(verify(&key.public_key(), b"something else", &sig).is_err());
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cipher;
pub mod digest;
pub mod ecdh;
pub mod mac;
pub mod rand;
mod secret;
pub mod signature;
pub mod x509;

pub use secret::SecretBytes;

/// A crypto operation failed. Deliberately coarse where detail would help an
/// attacker (a bad signature is just "invalid signature").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The signature does not verify under the key.
    #[error("signature verification failed ({alg})")]
    InvalidSignature {
        /// The algorithm name.
        alg: &'static str,
    },
    /// The algorithm cannot be used for this operation.
    #[error("algorithm {0} is not supported for this operation")]
    UnsupportedAlgorithm(&'static str),
    /// The public key bytes were rejected by the library.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(&'static str),
    /// The private key bytes were rejected.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(&'static str),
    /// A length that the primitive does not accept.
    #[error("{what}: expected {expected} byte(s), found {found}")]
    BadLength {
        /// What had the wrong length.
        what: &'static str,
        /// Expected length (or block multiple).
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// Authenticated decryption failed.
    #[error("decryption failed: ciphertext or tag is not authentic")]
    DecryptionFailed,
    /// The library reported an internal failure (key generation, RNG).
    #[error("crypto library failure: {0}")]
    Library(&'static str),
}

/// Compares two byte strings in time independent of their contents
/// (aws-lc-rs `constant_time::verify_slices_are_equal`, CRYPTO_memcmp).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    #[allow(deprecated)]
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ct_eq_works() {
        assert!(super::ct_eq(b"abc", b"abc"));
        assert!(!super::ct_eq(b"abc", b"abd"));
        assert!(!super::ct_eq(b"abc", b"ab"));
    }
}
