//! authenticatorLargeBlobs (CTAP 2.2 §6.10): the serialized large-blob array,
//! read in fragments and written in fragments with the trailing hash check.

use crate::client_pin::PinState;
use crate::store::CredentialStore;
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::ctap2::client_pin::permissions;
use keyhaven_proto::ctap2::large_blobs::{LargeBlobsRequest, LargeBlobsResponse};
use keyhaven_proto::ctap2::StatusCode;

/// maxSerializedLargeBlobArray.
pub const MAX_SERIALIZED: usize = 4096;
/// maxFragmentLength = maxMsgSize − 64.
pub const MAX_FRAGMENT: usize = 7609 - 64;

/// A write in progress.
#[derive(Default)]
pub struct LargeBlobState {
    pending: Vec<u8>,
    expected_length: usize,
    expected_next_offset: usize,
}

type R<T> = crate::error::Result<T>;

/// The initial array: the empty CBOR array 0x80 ‖ LEFT(SHA-256(0x80), 16).
pub fn initial_array() -> Vec<u8> {
    let mut v = vec![0x80];
    v.extend_from_slice(&sha256(&[0x80])[..16]);
    v
}

/// Processes a largeBlobs request. `protected` says whether a PIN or built-in UV exists.
pub fn process<S: CredentialStore>(
    r: &LargeBlobsRequest,
    store: &mut S,
    pin: &mut PinState,
    state: &mut LargeBlobState,
    protected: bool,
) -> R<LargeBlobsResponse> {
    let offset = usize::try_from(r.offset).map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
    match (r.get, &r.set) {
        (Some(_), Some(_)) | (None, None) => Err(StatusCode::Ctap1ErrInvalidParameter.into()),
        (Some(get), None) => {
            if r.length.is_some() {
                return Err(StatusCode::Ctap1ErrInvalidParameter.into());
            }
            let get = usize::try_from(get).map_err(|_| StatusCode::Ctap1ErrInvalidLength)?;
            if get > MAX_FRAGMENT {
                return Err(StatusCode::Ctap1ErrInvalidLength.into());
            }
            let array = store.large_blob_array()?.unwrap_or_else(initial_array);
            if offset > array.len() {
                return Err(StatusCode::Ctap1ErrInvalidParameter.into());
            }
            let end = (offset + get).min(array.len());
            Ok(LargeBlobsResponse {
                config: Some(array[offset..end].to_vec()),
            })
        }
        (None, Some(fragment)) => {
            if fragment.len() > MAX_FRAGMENT {
                return Err(StatusCode::Ctap1ErrInvalidLength.into());
            }
            if offset == 0 {
                let length = r.length.ok_or(StatusCode::Ctap1ErrInvalidParameter)?;
                let length = usize::try_from(length)
                    .map_err(|_| StatusCode::Ctap2ErrLargeBlobStorageFull)?;
                if length > MAX_SERIALIZED {
                    return Err(StatusCode::Ctap2ErrLargeBlobStorageFull.into());
                }
                if length < 17 {
                    return Err(StatusCode::Ctap1ErrInvalidParameter.into());
                }
                *state = LargeBlobState {
                    pending: Vec::with_capacity(length),
                    expected_length: length,
                    expected_next_offset: 0,
                };
            } else if r.length.is_some() {
                return Err(StatusCode::Ctap1ErrInvalidParameter.into());
            }
            if offset != state.expected_next_offset || state.expected_length == 0 {
                return Err(StatusCode::Ctap1ErrInvalidSeq.into());
            }
            if protected {
                let (param, protocol) = crate::client_pin::token_param(
                    r.pin_uv_auth_param.as_deref(),
                    r.pin_uv_auth_protocol,
                )?;
                // 32×0xff ‖ h'0c00' ‖ uint32LE(offset) ‖ SHA-256(fragment)
                let mut msg = vec![0xff; 32];
                msg.extend_from_slice(&[0x0c, 0x00]);
                msg.extend_from_slice(&(offset as u32).to_le_bytes());
                msg.extend_from_slice(&sha256(fragment));
                pin.check_token_for(protocol, param, &msg, permissions::LBW)?;
            }
            if state.expected_next_offset + fragment.len() > state.expected_length {
                return Err(StatusCode::Ctap1ErrInvalidParameter.into());
            }
            state.pending.extend_from_slice(fragment);
            state.expected_next_offset += fragment.len();
            if state.expected_next_offset == state.expected_length {
                let data = std::mem::take(&mut state.pending);
                state.expected_length = 0;
                let (body, check) = data.split_at(data.len() - 16);
                if sha256(body)[..16] != *check {
                    return Err(StatusCode::Ctap2ErrIntegrityFailure.into());
                }
                store.set_large_blob_array(data)?;
            }
            Ok(LargeBlobsResponse::default())
        }
    }
}
