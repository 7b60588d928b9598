//! The hmac-secret extension's authenticator processing (CTAP 2.2 §12.5):
//! verify saltAuth, decrypt the salts, compute HMAC-SHA-256(CredRandom, salt)
//! for each, and encrypt the outputs under the shared secret.

use crate::pin_protocol::{PinProtocol, PinProtocolError};
use keyhaven_crypto::mac::hmac_sha256;

/// Why hmac-secret input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HmacSecretError {
    /// saltAuth does not authenticate saltEnc (CTAP2_ERR_PIN_AUTH_INVALID).
    #[error("saltAuth does not verify")]
    SaltAuth,
    /// The salts are not 32 or 64 bytes (CTAP1_ERR_INVALID_PARAMETER, §12.5).
    #[error("decrypted salts are {0} bytes, expected 32 or 64")]
    SaltLength(usize),
    /// Protocol failure (bad ciphertext length, key agreement).
    #[error("{0}")]
    Protocol(#[from] PinProtocolError),
}

/// The outputs, before encryption: HMAC(CredRandom, salt1) [‖ HMAC(CredRandom, salt2)].
pub fn outputs(cred_random: &[u8], salts: &[u8]) -> Result<Vec<u8>, HmacSecretError> {
    match salts.len() {
        32 => Ok(hmac_sha256(cred_random, salts).to_vec()),
        64 => Ok([
            hmac_sha256(cred_random, &salts[..32]),
            hmac_sha256(cred_random, &salts[32..]),
        ]
        .concat()),
        n => Err(HmacSecretError::SaltLength(n)),
    }
}

/// Authenticator processing: returns the encrypted outputs. `iv` fixes the
/// protocol 2 IV (test vectors); None draws a random one.
pub fn process(
    protocol: PinProtocol,
    shared_secret: &[u8],
    salt_enc: &[u8],
    salt_auth: &[u8],
    cred_random: &[u8],
    iv: Option<&[u8; 16]>,
) -> Result<Vec<u8>, HmacSecretError> {
    if !protocol.verify(shared_secret, salt_enc, salt_auth) {
        return Err(HmacSecretError::SaltAuth);
    }
    let salts = protocol.decrypt(shared_secret, salt_enc)?;
    let out = outputs(cred_random, &salts)?;
    let enc = match iv {
        Some(iv) => protocol.encrypt_with_iv(shared_secret, iv, &out),
        None => protocol.encrypt(shared_secret, &out),
    };
    Ok(enc.map_err(PinProtocolError::from)?)
}
