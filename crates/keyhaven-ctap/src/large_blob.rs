//! The large-blob array's contents (CTAP 2.2 §6.10.3), shared by the
//! platform (which reads and writes blobs through authenticatorLargeBlobs)
//! and the authenticator (which moves them in and out of a CXF export): the
//! serialized array with its trailing truncated hash, and its entries, each
//! DEFLATE-compressed data sealed with AES-256-GCM under a credential's
//! largeBlobKey.
//!
//! ```
//! use keyhaven_ctap::large_blob::{open_entry, parse_array, seal_entry, serialize_array};
//! let key = [7u8; 32];
//! let entry = seal_entry(&key, b"hello, blob").unwrap();
//! let array = serialize_array(vec![entry]);
//! let entries = parse_array(&array);
//! assert_eq!(open_entry(&entries[0], &key).unwrap(), b"hello, blob");
//! assert!(open_entry(&entries[0], &[8u8; 32]).is_none());
//! ```

use keyhaven_crypto::cipher::{aes256_gcm_open, aes256_gcm_seal};
use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::CryptoError;
use keyhaven_proto::cbor::{self, Value};

/// The largest blob decompressed (an array is bounded by its authenticator).
pub const MAX_BLOB: usize = 1 << 20;

/// §6.10.3 step: the AAD of an entry, "blob" ‖ uint64LE(origSize).
fn aad(orig_size: u64) -> Vec<u8> {
    [b"blob".as_slice(), &orig_size.to_le_bytes()].concat()
}

/// The entries of a serialized array. A bad hash or an array that does not
/// decode is an empty array (§6.10.3: the platform then treats it as empty).
pub fn parse_array(data: &[u8]) -> Vec<Value> {
    if data.len() < 17 || sha256(&data[..data.len() - 16])[..16] != data[data.len() - 16..] {
        return Vec::new();
    }
    match cbor::decode(&data[..data.len() - 16]) {
        Ok(Value::Array(entries)) => entries,
        _ => Vec::new(),
    }
}

/// The serialized array: CBOR array ‖ LEFT(SHA-256(array), 16).
pub fn serialize_array(entries: Vec<Value>) -> Vec<u8> {
    let mut out = cbor::encode(&Value::Array(entries));
    let hash = sha256(&out);
    out.extend_from_slice(&hash[..16]);
    out
}

/// The still-compressed data sealed under `key` in `entry`, and the size it
/// claims uncompressed; None if it is not sealed under `key`.
pub fn open_entry_compressed(entry: &Value, key: &[u8]) -> Option<(Vec<u8>, u64)> {
    let ct = entry.get_int(1)?.as_bytes()?;
    let nonce: [u8; 12] = entry.get_int(2)?.as_bytes()?.try_into().ok()?;
    let orig = entry.get_int(3)?.as_u64()?;
    let compressed = aes256_gcm_open(key, &nonce, &aad(orig), ct).ok()?;
    Some((compressed, orig))
}

/// Inflates `compressed` if it gives exactly `orig_size` bytes (at most
/// [`MAX_BLOB`]).
pub fn inflate_exact(compressed: &[u8], orig_size: u64) -> Option<Vec<u8>> {
    let limit = usize::try_from(orig_size).ok().filter(|n| *n <= MAX_BLOB)?;
    let blob = miniz_oxide::inflate::decompress_to_vec_with_limit(compressed, limit).ok()?;
    (blob.len() == limit).then_some(blob)
}

/// The blob sealed under `key` in `entry`, if it is.
pub fn open_entry(entry: &Value, key: &[u8]) -> Option<Vec<u8>> {
    let (compressed, orig) = open_entry_compressed(entry, key)?;
    inflate_exact(&compressed, orig)
}

/// An entry sealing already-compressed data that inflates to `orig_size`.
pub fn seal_compressed(
    key: &[u8],
    compressed: &[u8],
    orig_size: u64,
) -> Result<Value, CryptoError> {
    let nonce: [u8; 12] = keyhaven_crypto::rand::array()?;
    let ct = aes256_gcm_seal(key, &nonce, &aad(orig_size), compressed)?;
    Ok(Value::canonical_map(vec![
        (Value::from(1), Value::Bytes(ct)),
        (Value::from(2), Value::Bytes(nonce.to_vec())),
        (Value::from(3), Value::from(orig_size)),
    ]))
}

/// An entry sealing `blob` (compressed here) under `key`.
pub fn seal_entry(key: &[u8], blob: &[u8]) -> Result<Value, CryptoError> {
    let compressed = miniz_oxide::deflate::compress_to_vec(blob, 6);
    seal_compressed(key, &compressed, blob.len() as u64)
}
