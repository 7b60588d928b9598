//! PIN/UV auth protocols one and two (CTAP 2.2 §6.5.4 abstract definition,
//! §6.5.6 protocol 1, §6.5.7 protocol 2): key agreement, shared-secret
//! derivation, encryption and message authentication, for the authenticator
//! (decapsulate / decrypt / verify) and the platform (encapsulate / encrypt /
//! authenticate).
//!
//! ```
//! use keyhaven_ctap::pin_protocol::{KeyAgreement, PinProtocol};
//! let p = PinProtocol::Two;
//! let authenticator = KeyAgreement::generate().unwrap();
//! let (platform_key, platform_secret) = p.encapsulate(&authenticator.cose_key().unwrap()).unwrap();
//! let authenticator_secret = p.decapsulate(&authenticator, &platform_key).unwrap();
//! assert_eq!(platform_secret, authenticator_secret);
//! let sig = p.authenticate(platform_secret.expose(), b"message");
//! assert!(p.verify(authenticator_secret.expose(), b"message", &sig));
//! ```

use keyhaven_crypto::cipher::{aes256_cbc_decrypt, aes256_cbc_encrypt};
use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::ecdh::EcdhP256;
use keyhaven_crypto::mac::{hkdf_sha256, hmac_sha256, hmac_sha256_verify};
use keyhaven_crypto::{CryptoError, SecretBytes};
use keyhaven_proto::cose::{CoseAlgorithm, CoseKey, EcCurve, KeyParams};

/// A PIN/UV auth protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PinProtocol {
    /// Protocol one (§6.5.6).
    One,
    /// Protocol two (§6.5.7).
    Two,
}

/// Why a protocol operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinProtocolError {
    /// The peer's key is not an EC2 P-256 key agreement key.
    #[error("keyAgreement must be an EC2 P-256 COSE key with alg -25, found {0}")]
    BadPeerKey(String),
    /// A crypto operation failed (bad point, wrong lengths …).
    #[error("{0}")]
    Crypto(#[from] CryptoError),
    /// Ciphertext of a length the protocol does not produce.
    #[error("ciphertext length {0} is not valid for this protocol")]
    BadCiphertextLength(usize),
    /// Unknown protocol number.
    #[error("unsupported pinUvAuthProtocol {0}")]
    Unsupported(u64),
}

/// An authenticator's (or platform's) key agreement key pair.
#[derive(Debug)]
pub struct KeyAgreement(EcdhP256);

impl KeyAgreement {
    /// A fresh key pair (initialize / regenerate).
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(KeyAgreement(EcdhP256::generate()?))
    }

    /// A key pair from a private scalar (tests, vectors).
    pub fn from_private_scalar(d: &[u8]) -> Result<Self, CryptoError> {
        Ok(KeyAgreement(EcdhP256::from_private_scalar(d)?))
    }

    /// getPublicKey(): the COSE_Key (kty EC2, alg -25 ECDH-ES+HKDF-256, crv P-256).
    pub fn cose_key(&self) -> Result<CoseKey, CryptoError> {
        let (x, y) = self.0.public_xy()?;
        Ok(CoseKey::ec2(
            CoseAlgorithm::EcdhEsHkdf256,
            EcCurve::P256,
            x.to_vec(),
            y.to_vec(),
        ))
    }

    fn z(&self, peer: &CoseKey) -> Result<SecretBytes, PinProtocolError> {
        match &peer.params {
            KeyParams::Ec2 {
                curve: EcCurve::P256,
                x,
                y,
            } => Ok(self.0.agree(x, y)?),
            _ => Err(PinProtocolError::BadPeerKey(peer.describe())),
        }
    }
}

impl PinProtocol {
    /// The protocol for a pinUvAuthProtocol number.
    pub fn from_u64(n: u64) -> Result<Self, PinProtocolError> {
        match n {
            1 => Ok(PinProtocol::One),
            2 => Ok(PinProtocol::Two),
            other => Err(PinProtocolError::Unsupported(other)),
        }
    }

    /// The protocol number.
    pub fn number(self) -> u64 {
        match self {
            PinProtocol::One => 1,
            PinProtocol::Two => 2,
        }
    }

    /// kdf(Z): protocol 1 SHA-256(Z); protocol 2 HKDF-SHA-256 with 32 zero
    /// bytes of salt, "CTAP2 HMAC key" ‖ "CTAP2 AES key" (64 bytes).
    pub fn kdf(self, z: &[u8]) -> Result<SecretBytes, CryptoError> {
        match self {
            PinProtocol::One => Ok(SecretBytes::new(sha256(z).to_vec())),
            PinProtocol::Two => {
                let hmac_key = hkdf_sha256(&[0; 32], z, b"CTAP2 HMAC key", 32)?;
                let aes_key = hkdf_sha256(&[0; 32], z, b"CTAP2 AES key", 32)?;
                Ok(SecretBytes::new(
                    [hmac_key.expose(), aes_key.expose()].concat(),
                ))
            }
        }
    }

    /// Authenticator side: decapsulate(peerCoseKey) → shared secret.
    pub fn decapsulate(
        self,
        own: &KeyAgreement,
        peer: &CoseKey,
    ) -> Result<SecretBytes, PinProtocolError> {
        let z = own.z(peer)?;
        Ok(self.kdf(z.expose())?)
    }

    /// Platform side: encapsulate(peerCoseKey) → (our COSE key, shared secret).
    pub fn encapsulate(self, peer: &CoseKey) -> Result<(CoseKey, SecretBytes), PinProtocolError> {
        let ours = KeyAgreement::generate()?;
        let secret = self.decapsulate(&ours, peer)?;
        Ok((ours.cose_key()?, secret))
    }

    fn aes_key(self, key: &[u8]) -> &[u8] {
        match self {
            PinProtocol::Two if key.len() == 64 => &key[32..],
            _ => key,
        }
    }

    fn hmac_key(self, key: &[u8]) -> &[u8] {
        match self {
            PinProtocol::Two if key.len() == 64 => &key[..32],
            _ => key,
        }
    }

    /// encrypt(key, plaintext): protocol 1 AES-256-CBC with a zero IV;
    /// protocol 2 a random IV prepended to AES-256-CBC under the AES key.
    pub fn encrypt(self, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let iv = match self {
            PinProtocol::One => [0; 16],
            PinProtocol::Two => keyhaven_crypto::rand::array()?,
        };
        self.encrypt_with_iv(key, &iv, plaintext)
    }

    /// encrypt with a given IV (protocol 2; protocol 1 always uses zero). For test vectors.
    pub fn encrypt_with_iv(
        self,
        key: &[u8],
        iv: &[u8; 16],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match self {
            PinProtocol::One => aes256_cbc_encrypt(self.aes_key(key), &[0; 16], plaintext),
            PinProtocol::Two => {
                let ct = aes256_cbc_encrypt(self.aes_key(key), iv, plaintext)?;
                Ok([iv.as_slice(), &ct].concat())
            }
        }
    }

    /// decrypt(key, ciphertext).
    pub fn decrypt(self, key: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, PinProtocolError> {
        match self {
            PinProtocol::One => {
                if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
                    return Err(PinProtocolError::BadCiphertextLength(ciphertext.len()));
                }
                Ok(aes256_cbc_decrypt(self.aes_key(key), &[0; 16], ciphertext)?)
            }
            PinProtocol::Two => {
                if ciphertext.len() < 32 || ciphertext.len() % 16 != 0 {
                    return Err(PinProtocolError::BadCiphertextLength(ciphertext.len()));
                }
                let mut iv = [0u8; 16];
                iv.copy_from_slice(&ciphertext[..16]);
                Ok(aes256_cbc_decrypt(
                    self.aes_key(key),
                    &iv,
                    &ciphertext[16..],
                )?)
            }
        }
    }

    /// authenticate(key, message): HMAC-SHA-256, truncated to 16 bytes for protocol 1.
    pub fn authenticate(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        let tag = hmac_sha256(self.hmac_key(key), message);
        match self {
            PinProtocol::One => tag[..16].to_vec(),
            PinProtocol::Two => tag.to_vec(),
        }
    }

    /// verify(key, message, signature), in constant time; the signature must
    /// have exactly the protocol's length (16 or 32 bytes).
    pub fn verify(self, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let expected_len = match self {
            PinProtocol::One => 16,
            PinProtocol::Two => 32,
        };
        signature.len() == expected_len
            && hmac_sha256_verify(self.hmac_key(key), message, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_protocols_round_trip() {
        for p in [PinProtocol::One, PinProtocol::Two] {
            let a = KeyAgreement::generate().unwrap();
            let (platform_key, secret) = p.encapsulate(&a.cose_key().unwrap()).unwrap();
            let theirs = p.decapsulate(&a, &platform_key).unwrap();
            assert_eq!(secret, theirs);
            assert_eq!(secret.len(), if p == PinProtocol::One { 32 } else { 64 });
            let ct = p.encrypt(secret.expose(), &[7; 64]).unwrap();
            assert_eq!(p.decrypt(theirs.expose(), &ct).unwrap(), [7; 64]);
            let sig = p.authenticate(secret.expose(), b"m");
            assert!(p.verify(theirs.expose(), b"m", &sig));
            assert!(!p.verify(theirs.expose(), b"n", &sig));
            assert!(!p.verify(theirs.expose(), b"m", &sig[..sig.len() - 1]));
            assert!(p.decrypt(theirs.expose(), &ct[..ct.len() - 1]).is_err());
        }
        assert_eq!(
            PinProtocol::from_u64(3),
            Err(PinProtocolError::Unsupported(3))
        );
        let not_p256 = CoseKey::okp(
            CoseAlgorithm::EdDsa,
            keyhaven_proto::cose::OkpCurve::Ed25519,
            vec![0; 32],
        );
        assert!(matches!(
            PinProtocol::Two.decapsulate(&KeyAgreement::generate().unwrap(), &not_p256),
            Err(PinProtocolError::BadPeerKey(_))
        ));
    }
}
