//! AES-256-CBC without padding (CTAP 2.2 §6.5.6 / §6.5.7, PIN/UV auth protocols)
//! and AES-256-GCM, via aws-lc-rs.

use crate::CryptoError;
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey, AES_256,
};
use aws_lc_rs::iv::FixedLength;

fn check_cbc(key: &[u8], data: &[u8]) -> Result<(), CryptoError> {
    if key.len() != 32 {
        return Err(CryptoError::BadLength {
            what: "AES-256 key",
            expected: 32,
            found: key.len(),
        });
    }
    if data.len() % 16 != 0 {
        return Err(CryptoError::BadLength {
            what: "AES-CBC data (multiple of 16)",
            expected: data.len().div_ceil(16) * 16,
            found: data.len(),
        });
    }
    Ok(())
}

/// AES-256-CBC encryption without padding; `data` must be a multiple of 16 bytes.
pub fn aes256_cbc_encrypt(key: &[u8], iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_cbc(key, data)?;
    let k = UnboundCipherKey::new(&AES_256, key).map_err(|_| CryptoError::Library("AES key"))?;
    let enc = EncryptingKey::cbc(k).map_err(|_| CryptoError::Library("AES-CBC"))?;
    let mut out = data.to_vec();
    enc.less_safe_encrypt(&mut out, EncryptionContext::Iv128(FixedLength::from(*iv)))
        .map_err(|_| CryptoError::Library("AES-CBC encrypt"))?;
    Ok(out)
}

/// AES-256-CBC decryption without padding; `data` must be a multiple of 16 bytes.
pub fn aes256_cbc_decrypt(key: &[u8], iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_cbc(key, data)?;
    let k = UnboundCipherKey::new(&AES_256, key).map_err(|_| CryptoError::Library("AES key"))?;
    let dec = DecryptingKey::cbc(k).map_err(|_| CryptoError::Library("AES-CBC"))?;
    let mut out = data.to_vec();
    let n = dec
        .decrypt(&mut out, DecryptionContext::Iv128(FixedLength::from(*iv)))
        .map_err(|_| CryptoError::Library("AES-CBC decrypt"))?
        .len();
    out.truncate(n);
    Ok(out)
}

fn gcm_key(key: &[u8]) -> Result<LessSafeKey, CryptoError> {
    if key.len() != 32 {
        return Err(CryptoError::BadLength {
            what: "AES-256 key",
            expected: 32,
            found: key.len(),
        });
    }
    let k = UnboundKey::new(&aead::AES_256_GCM, key)
        .map_err(|_| CryptoError::Library("AES-GCM key"))?;
    Ok(LessSafeKey::new(k))
}

/// AES-256-GCM: returns ciphertext ‖ 16-byte tag.
pub fn aes256_gcm_seal(
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let k = gcm_key(key)?;
    let mut out = plaintext.to_vec();
    k.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(*nonce),
        Aad::from(aad),
        &mut out,
    )
    .map_err(|_| CryptoError::Library("AES-GCM seal"))?;
    Ok(out)
}

/// AES-256-GCM: opens ciphertext ‖ tag, or fails if anything was altered.
pub fn aes256_gcm_open(
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let k = gcm_key(key)?;
    if sealed.len() < 16 {
        return Err(CryptoError::DecryptionFailed);
    }
    let mut buf = sealed.to_vec();
    let n = k
        .open_in_place(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut buf,
        )
        .map_err(|_| CryptoError::DecryptionFailed)?
        .len();
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbc_round_trip_and_lengths() {
        let key = [7u8; 32];
        let iv = [1u8; 16];
        let pt = [0x55u8; 64];
        let ct = aes256_cbc_encrypt(&key, &iv, &pt).unwrap();
        assert_eq!(ct.len(), 64);
        assert_ne!(ct[..], pt[..]);
        assert_eq!(aes256_cbc_decrypt(&key, &iv, &ct).unwrap(), pt);
        assert!(matches!(
            aes256_cbc_encrypt(&key, &iv, &[0; 15]),
            Err(CryptoError::BadLength { .. })
        ));
        assert!(matches!(
            aes256_cbc_encrypt(&[0; 16], &iv, &pt),
            Err(CryptoError::BadLength { .. })
        ));
    }

    #[test]
    fn gcm_detects_tampering() {
        let key = [9u8; 32];
        let nonce = [3u8; 12];
        let sealed = aes256_gcm_seal(&key, &nonce, b"v1", b"secret").unwrap();
        assert_eq!(
            aes256_gcm_open(&key, &nonce, b"v1", &sealed).unwrap(),
            b"secret"
        );
        let mut bad = sealed.clone();
        bad[0] ^= 1;
        assert_eq!(
            aes256_gcm_open(&key, &nonce, b"v1", &bad),
            Err(CryptoError::DecryptionFailed)
        );
        assert_eq!(
            aes256_gcm_open(&key, &nonce, b"v2", &sealed),
            Err(CryptoError::DecryptionFailed)
        );
        assert_eq!(
            aes256_gcm_open(&key, &nonce, b"v1", &sealed[..5]),
            Err(CryptoError::DecryptionFailed)
        );
    }
}
