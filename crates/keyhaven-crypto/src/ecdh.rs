//! ECDH on P-256 (the key agreement of CTAP 2.2 PIN/UV auth protocols 1 and 2,
//! §6.5.6 / §6.5.7), via aws-lc-rs `agreement`.

use crate::{CryptoError, SecretBytes};
use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, ECDH_P256};
use aws_lc_rs::encoding::AsBigEndian;

/// A P-256 key-agreement private key.
pub struct EcdhP256 {
    key: PrivateKey,
}

impl std::fmt::Debug for EcdhP256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EcdhP256([REDACTED])")
    }
}

impl EcdhP256 {
    /// A fresh key pair.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(EcdhP256 {
            key: PrivateKey::generate(&ECDH_P256)
                .map_err(|_| CryptoError::Library("ECDH key generation"))?,
        })
    }

    /// A key from its 32-byte big-endian private scalar.
    pub fn from_private_scalar(d: &[u8]) -> Result<Self, CryptoError> {
        Ok(EcdhP256 {
            key: PrivateKey::from_private_key(&ECDH_P256, d)
                .map_err(|_| CryptoError::InvalidPrivateKey("P-256 scalar"))?,
        })
    }

    /// The private scalar (secret).
    pub fn private_scalar(&self) -> Result<SecretBytes, CryptoError> {
        let be: aws_lc_rs::encoding::EcPrivateKeyBin<'static> = self
            .key
            .as_be_bytes()
            .map_err(|_| CryptoError::Library("ECDH export"))?;
        Ok(SecretBytes::new(be.as_ref().to_vec()))
    }

    /// The public point's (x, y) coordinates, 32 bytes each.
    pub fn public_xy(&self) -> Result<([u8; 32], [u8; 32]), CryptoError> {
        let p = self
            .key
            .compute_public_key()
            .map_err(|_| CryptoError::Library("ECDH public key"))?;
        let b = p.as_ref();
        if b.len() != 65 || b[0] != 0x04 {
            return Err(CryptoError::Library("unexpected public key encoding"));
        }
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        x.copy_from_slice(&b[1..33]);
        y.copy_from_slice(&b[33..65]);
        Ok((x, y))
    }

    /// The shared secret Z: the x coordinate of d·Q (SEC 1 §3.3.1). The peer
    /// point is validated (on the curve, not the identity) by aws-lc-rs.
    pub fn agree(&self, peer_x: &[u8], peer_y: &[u8]) -> Result<SecretBytes, CryptoError> {
        if peer_x.len() != 32 || peer_y.len() != 32 {
            return Err(CryptoError::InvalidPublicKey(
                "P-256 coordinates must be 32 bytes each",
            ));
        }
        let point = [&[0x04][..], peer_x, peer_y].concat();
        let peer = UnparsedPublicKey::new(&ECDH_P256, point);
        agreement::agree(
            &self.key,
            peer,
            CryptoError::InvalidPublicKey("P-256 point"),
            |z| Ok(SecretBytes::new(z.to_vec())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree() {
        let a = EcdhP256::generate().unwrap();
        let b = EcdhP256::generate().unwrap();
        let (ax, ay) = a.public_xy().unwrap();
        let (bx, by) = b.public_xy().unwrap();
        assert_eq!(a.agree(&bx, &by).unwrap(), b.agree(&ax, &ay).unwrap());
        let mut off = by;
        off[31] ^= 1;
        assert!(
            a.agree(&bx, &off).is_err(),
            "point not on the curve must be rejected"
        );
        let again = EcdhP256::from_private_scalar(a.private_scalar().unwrap().expose()).unwrap();
        assert_eq!(again.public_xy().unwrap(), (ax, ay));
        assert_eq!(format!("{a:?}"), "EcdhP256([REDACTED])");
    }
}
