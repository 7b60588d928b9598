//! HMAC-SHA-256 (RFC 2104) and HKDF-SHA-256 (RFC 5869) via aws-lc-rs.

use crate::{CryptoError, SecretBytes};
use aws_lc_rs::{hkdf, hmac};

/// HMAC-SHA-256(key, message).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&k, message);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// HMAC-SHA-256 over several parts, as if concatenated.
pub fn hmac_sha256_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&k);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// Verifies an HMAC-SHA-256 tag (or a prefix of it, as CTAP's PIN/UV protocol 1
/// uses 16 bytes) in constant time. `tag` must be 16 or 32 bytes.
pub fn hmac_sha256_verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    if tag.len() != 16 && tag.len() != 32 {
        return false;
    }
    let full = hmac_sha256(key, message);
    crate::ct_eq(&full[..tag.len()], tag)
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA-256(salt, ikm, info) → `len` bytes (at most 255 × 32).
pub fn hkdf_sha256(
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
    len: usize,
) -> Result<SecretBytes, CryptoError> {
    if len == 0 || len > 255 * 32 {
        return Err(CryptoError::BadLength {
            what: "HKDF output length",
            expected: 255 * 32,
            found: len,
        });
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    let okm = prk
        .expand(&info, Len(len))
        .map_err(|_| CryptoError::Library("HKDF expand"))?;
    let mut out = vec![0u8; len];
    okm.fill(&mut out)
        .map_err(|_| CryptoError::Library("HKDF fill"))?;
    Ok(SecretBytes::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(tag[..4], [0x5b, 0xdc, 0xc1, 0x46]);
        assert!(hmac_sha256_verify(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag[..16]
        ));
        assert!(!hmac_sha256_verify(
            b"Jefe",
            b"what do ya want for nothing!",
            &tag
        ));
        assert!(!hmac_sha256_verify(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag[..8]
        ));
        assert_eq!(
            hmac_sha256_parts(b"Jefe", &[b"what do ya ", b"want for nothing?"]),
            tag
        );
    }

    #[test]
    fn rfc5869_case_1() {
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = hkdf_sha256(&salt, &ikm, &info, 42).unwrap();
        assert_eq!(okm.expose()[..4], [0x3c, 0xb2, 0x5f, 0x25]);
        assert!(hkdf_sha256(&salt, &ikm, &info, 0).is_err());
    }
}

/// Argon2id parameters (RFC 9106).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// RFC 9106 §4 second recommended option (64 MiB, 3 passes, 4 lanes).
    fn default() -> Self {
        Argon2Params {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 4,
        }
    }
}

/// Argon2id(passphrase, salt) → 32 bytes (RustCrypto `argon2`: aws-lc-rs has no Argon2).
pub fn argon2id(
    passphrase: &[u8],
    salt: &[u8],
    params: Argon2Params,
) -> Result<SecretBytes, CryptoError> {
    let p = argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|_| CryptoError::Library("Argon2 parameters"))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut out = vec![0u8; 32];
    a.hash_password_into(passphrase, salt, &mut out)
        .map_err(|_| CryptoError::Library("Argon2id"))?;
    Ok(SecretBytes::new(out))
}

#[cfg(test)]
mod argon2_tests {
    use super::*;

    #[test]
    fn argon2id_rfc9106_shape() {
        let small = Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let a = argon2id(b"password", b"somesalt12345678", small).unwrap();
        let b = argon2id(b"password", b"somesalt12345678", small).unwrap();
        let c = argon2id(b"passwore", b"somesalt12345678", small).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 32);
        assert!(
            argon2id(b"p", b"short", small).is_err(),
            "salt under 8 bytes"
        );
    }
}
