//! The platform side of large, per-credential blobs (CTAP 2.2 §6.10.3): the
//! serialized large-blob array read in fragments and checked, entries sealed
//! with AES-256-GCM under a credential's largeBlobKey over DEFLATE-compressed
//! data, and the array written back in authenticated fragments.

use crate::ctap::Session;
use crate::error::ClientError;
use crate::pin::Token;
use keyhaven_crypto::digest::sha256;
pub use keyhaven_ctap::large_blob::open_entry;
use keyhaven_ctap::large_blob::{parse_array, seal_entry, serialize_array};
use keyhaven_proto::cbor::Value;
use keyhaven_proto::ctap2::large_blobs::LargeBlobsRequest;
use keyhaven_proto::ctap2::{Request, ResponseBody};

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
    Ok(parse_array(&data))
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
    entries.push(seal_entry(key, blob).map_err(|e| err(e.to_string()))?);
    let serialized = serialize_array(entries);
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
