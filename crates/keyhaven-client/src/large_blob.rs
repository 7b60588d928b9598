//! The platform side of large, per-credential blobs (CTAP 2.2 §6.10.3): the
//! serialized large-blob array read in fragments and checked, entries sealed
//! with AES-256-GCM under a credential's largeBlobKey over DEFLATE-compressed
//! data, and the array written back in authenticated fragments.

use crate::ctap::Session;
use crate::error::ClientError;
use crate::pin::Token;
use keyhaven_crypto::cipher::{aes256_gcm_open, aes256_gcm_seal};
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::cbor::{self, Value};
use keyhaven_proto::ctap2::large_blobs::LargeBlobsRequest;
use keyhaven_proto::ctap2::{Request, ResponseBody};

/// The largest blob we decompress (the array itself is bounded by the authenticator).
const MAX_BLOB: usize = 1 << 20;

fn err(msg: impl Into<String>) -> ClientError {
    ClientError::Extension("largeBlob", msg.into())
}

fn fragment_len(s: &Session) -> usize {
    // §6.10.1: maxFragmentLength = maxMsgSize − 64.
    s.max_msg().saturating_sub(64).max(1)
}

/// Reads the serialized array and returns its entries (the trailing hash checked).
pub fn read_array(s: &mut Session) -> Result<Vec<Value>, ClientError> {
    let frag = fragment_len(s);
    let limit = s
        .info
        .max_serialized_large_blob_array
        .map_or(1 << 20, |n| n.min(1 << 20) as usize);
    let mut data = Vec::new();
    loop {
        let r = LargeBlobsRequest {
            get: Some(frag as u64),
            offset: data.len() as u64,
            ..Default::default()
        };
        let ResponseBody::LargeBlobs(resp) = s.call(Request::LargeBlobs(r))? else {
            return Err(err("largeBlobs get without a body"));
        };
        let chunk = resp
            .config
            .ok_or_else(|| err("largeBlobs get without config"))?;
        let n = chunk.len();
        data.extend_from_slice(&chunk);
        if data.len() > limit {
            return Err(err("the large-blob array is longer than advertised"));
        }
        if n < frag {
            break;
        }
    }
    // §6.10.3: array ‖ LEFT(SHA-256(array), 16); a bad hash means an empty array.
    if data.len() < 17 || sha256(&data[..data.len() - 16])[..16] != data[data.len() - 16..] {
        return Ok(Vec::new());
    }
    match cbor::decode(&data[..data.len() - 16]) {
        Ok(Value::Array(entries)) => Ok(entries),
        _ => Ok(Vec::new()),
    }
}

fn aad(orig_size: u64) -> Vec<u8> {
    [b"blob".as_slice(), &orig_size.to_le_bytes()].concat()
}

/// The blob sealed under `key` in `entry`, if it is.
pub fn open_entry(entry: &Value, key: &[u8]) -> Option<Vec<u8>> {
    let ct = entry.get_int(1)?.as_bytes()?;
    let nonce: [u8; 12] = entry.get_int(2)?.as_bytes()?.try_into().ok()?;
    let orig = entry.get_int(3)?.as_u64()?;
    if orig as usize > MAX_BLOB {
        return None;
    }
    let compressed = aes256_gcm_open(key, &nonce, &aad(orig), ct).ok()?;
    let blob =
        miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, orig as usize).ok()?;
    (blob.len() as u64 == orig).then_some(blob)
}

/// Reads the blob of the credential whose largeBlobKey is `key`.
pub fn read(s: &mut Session, key: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
    Ok(read_array(s)?.iter().find_map(|e| open_entry(e, key)))
}

/// Replaces the blob of the credential whose largeBlobKey is `key`.
pub fn write(
    s: &mut Session,
    key: &[u8],
    blob: &[u8],
    token: Option<&Token>,
) -> Result<(), ClientError> {
    let mut entries: Vec<Value> = read_array(s)?
        .into_iter()
        .filter(|e| open_entry(e, key).is_none())
        .collect();
    let compressed = miniz_oxide::deflate::compress_to_vec(blob, 6);
    let nonce: [u8; 12] = keyhaven_crypto::rand::array().map_err(|e| err(e.to_string()))?;
    let ct = aes256_gcm_seal(key, &nonce, &aad(blob.len() as u64), &compressed)
        .map_err(|e| err(e.to_string()))?;
    entries.push(Value::canonical_map(vec![
        (Value::from(1), Value::Bytes(ct)),
        (Value::from(2), Value::Bytes(nonce.to_vec())),
        (Value::from(3), Value::from(blob.len() as u64)),
    ]));
    let mut serialized = cbor::encode(&Value::Array(entries));
    let hash = sha256(&serialized);
    serialized.extend_from_slice(&hash[..16]);
    if let Some(max) = s.info.max_serialized_large_blob_array {
        if serialized.len() as u64 > max {
            return Err(err(format!(
                "the array would take {} bytes; the authenticator holds {max}",
                serialized.len()
            )));
        }
    }
    let frag = fragment_len(s);
    let mut offset = 0usize;
    for chunk in serialized.chunks(frag) {
        let mut r = LargeBlobsRequest {
            set: Some(chunk.to_vec()),
            offset: offset as u64,
            length: (offset == 0).then_some(serialized.len() as u64),
            ..Default::default()
        };
        if let Some(t) = token {
            // §6.10.2: authenticate(token, 32×0xff ‖ h'0c00' ‖ uint32LE(offset) ‖ SHA-256(set)).
            let mut msg = vec![0xff; 32];
            msg.extend_from_slice(&[0x0c, 0x00]);
            msg.extend_from_slice(&(offset as u32).to_le_bytes());
            msg.extend_from_slice(&sha256(chunk));
            r.pin_uv_auth_param = Some(t.param(&msg));
            r.pin_uv_auth_protocol = Some(t.protocol.number());
        }
        s.call(Request::LargeBlobs(r))?;
        offset += chunk.len();
    }
    Ok(())
}
