//! Client extension processing (L3 §9, §10): the mapping of WebAuthn client
//! extension inputs onto CTAP 2.2 authenticator extensions and back.
//!
//! | WebAuthn | CTAP 2.2 | spec |
//! |---|---|---|
//! | `credProps` | (client only) | L3 §10.1.3 |
//! | `prf` | `hmac-secret`, `hmac-secret-mc` with the "WebAuthn PRF" salts | L3 §10.1.4; CTAP 2.2 §12.5, §12.7 |
//! | `largeBlob` | `largeBlobKey` and authenticatorLargeBlobs | L3 §10.1.5; CTAP 2.2 §12.3 |
//! | `credentialProtectionPolicy` | `credProtect` | CTAP 2.2 §12.1 |
//! | `credBlob`, `getCredBlob` | `credBlob` | CTAP 2.2 §12.2 |
//! | `minPinLength` | `minPinLength` | CTAP 2.2 §12.4 |
//! | `appid` | getAssertion with the AppID as rpId | L3 §10.1.1 |
//! | `hmacCreateSecret`, `hmacGetSecret` | `hmac-secret` with raw salts | CTAP 2.2 §12.5 |

use crate::error::ClientError;
use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::SecretBytes;
use keyhaven_ctap::pin_protocol::PinProtocol;
use keyhaven_proto::cbor::Value;
use keyhaven_proto::cose::CoseKey;
use keyhaven_proto::json::PrfValuesJson;

/// L3 §10.1.4: salt = SHA-256("WebAuthn PRF" ‖ 0x00 ‖ input).
pub fn prf_salt(input: &[u8]) -> [u8; 32] {
    sha256(&[b"WebAuthn PRF".as_slice(), &[0], input].concat())
}

/// The salts for one PRF evaluation (one or two inputs).
pub fn prf_salts(v: &PrfValuesJson) -> Vec<u8> {
    let mut s = prf_salt(&v.first).to_vec();
    if let Some(second) = &v.second {
        s.extend(prf_salt(second));
    }
    s
}

/// credProtect level of a credentialProtectionPolicy (CTAP 2.2 §12.1).
pub fn cred_protect_level(policy: &str) -> Option<u64> {
    match policy {
        "userVerificationOptional" => Some(1),
        "userVerificationOptionalWithCredentialIDList" => Some(2),
        "userVerificationRequired" => Some(3),
        _ => None,
    }
}

/// A key agreement for hmac-secret: the platform key and shared secret.
pub struct HmacSecretSession {
    /// The protocol.
    pub protocol: PinProtocol,
    /// Our public key (keyAgreement).
    pub key: CoseKey,
    /// The shared secret.
    pub secret: SecretBytes,
}

impl HmacSecretSession {
    /// A key agreement with the authenticator in its preferred PIN/UV auth
    /// protocol; None when it offers none.
    pub fn open(s: &mut crate::ctap::Session) -> Result<Option<Self>, ClientError> {
        let Some(protocol) = s.protocol() else {
            return Ok(None);
        };
        let (key, secret) = crate::pin::shared_secret(s, protocol)?;
        Ok(Some(HmacSecretSession {
            protocol,
            key,
            secret,
        }))
    }

    /// The hmac-secret input map {1: keyAgreement, 2: saltEnc, 3: saltAuth, 4: protocol}
    /// for 32 or 64 bytes of salts (CTAP 2.2 §12.5).
    pub fn input(&self, salts: &[u8]) -> Result<Value, ClientError> {
        let salt_enc = self
            .protocol
            .encrypt(self.secret.expose(), salts)
            .map_err(|e| ClientError::Extension("prf", e.to_string()))?;
        let salt_auth = self.protocol.authenticate(self.secret.expose(), &salt_enc);
        Ok(Value::canonical_map(vec![
            (Value::from(1), self.key.to_value()),
            (Value::from(2), Value::Bytes(salt_enc)),
            (Value::from(3), Value::Bytes(salt_auth)),
            (Value::from(4), Value::from(self.protocol.number())),
        ]))
    }

    /// Decrypts an hmac-secret output into (first, second).
    pub fn output(&self, enc: &[u8]) -> Result<PrfValuesJson, ClientError> {
        let clear = self
            .protocol
            .decrypt(self.secret.expose(), enc)
            .map_err(|e| ClientError::Extension("prf", format!("hmac-secret output: {e}")))?;
        match clear.len() {
            32 => Ok(PrfValuesJson {
                first: clear,
                second: None,
            }),
            64 => Ok(PrfValuesJson {
                first: clear[..32].to_vec(),
                second: Some(clear[32..].to_vec()),
            }),
            n => Err(ClientError::Extension(
                "prf",
                format!("hmac-secret output of {n} bytes"),
            )),
        }
    }
}
