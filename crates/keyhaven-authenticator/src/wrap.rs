//! Credential IDs that carry their credential (CTAP 2.2 §6.1.2 step 14, the
//! "non-resident credential" option): the credential, key included, encrypted
//! with AES-256-GCM under a key derived from the device secret, bound to the RP
//! ID hash through the associated data.
//!
//! ```text
//! credential ID = 0x01 ‖ nonce (12) ‖ AES-256-GCM(HKDF(deviceSecret, "keyhaven credential id v1"),
//!                                               aad = 0x01 ‖ rpIdHash, CBOR(credential))
//! ```

use crate::store::{cred_from_value, cred_to_value, StoredCredential};
use keyhaven_crypto::cipher::{aes256_gcm_open, aes256_gcm_seal};
use keyhaven_crypto::mac::hkdf_sha256;
use keyhaven_proto::authdata::MAX_CREDENTIAL_ID_LEN;
use keyhaven_proto::cbor;

const VERSION: u8 = 1;

fn key(device_secret: &[u8]) -> Option<keyhaven_crypto::SecretBytes> {
    hkdf_sha256(&[], device_secret, b"keyhaven credential id v1", 32).ok()
}

/// Wraps `cred` (its `id` is ignored) into a credential ID, or None when the
/// result would exceed 1023 bytes (large RSA keys): such credentials get a
/// random ID and live only in the store.
pub fn wrap(device_secret: &[u8], cred: &StoredCredential) -> Option<Vec<u8>> {
    let mut c = cred.clone();
    c.id = Vec::new();
    c.sign_count = 0;
    let plain = cbor::encode(&cred_to_value(&c));
    let nonce: [u8; 12] = keyhaven_crypto::rand::array().ok()?;
    let aad = [&[VERSION][..], &cred.rp_id_hash].concat();
    let sealed = aes256_gcm_seal(key(device_secret)?.expose(), &nonce, &aad, &plain).ok()?;
    let id = [&[VERSION][..], &nonce, &sealed].concat();
    (id.len() <= MAX_CREDENTIAL_ID_LEN).then_some(id)
}

/// Unwraps a credential ID made by [`wrap`] for this RP; None for any other ID.
pub fn unwrap(device_secret: &[u8], rp_id_hash: &[u8; 32], id: &[u8]) -> Option<StoredCredential> {
    if id.len() < 1 + 12 + 16 || id[0] != VERSION {
        return None;
    }
    let nonce: [u8; 12] = id[1..13].try_into().ok()?;
    let aad = [&[VERSION][..], rp_id_hash].concat();
    let plain = aes256_gcm_open(key(device_secret)?.expose(), &nonce, &aad, &id[13..]).ok()?;
    let mut c = cred_from_value(&cbor::decode(&plain).ok()?)?;
    if &c.rp_id_hash != rp_id_hash {
        return None;
    }
    c.id = id.to_vec();
    Some(c)
}
