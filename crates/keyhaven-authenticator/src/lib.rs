//! # keyhaven-authenticator
//!
//! The CTAP 2.2 software authenticator: [`Authenticator::process`] takes a
//! CTAP2 command byte and CBOR and returns a status byte and CBOR, for every
//! CTAP 2.2 command, over the stdio, CTAPHID and (feature `uhid`) Linux uhid
//! transports.
//!
//! | module | what | spec |
//! |---|---|---|
//! | [`large_blobs`] | authenticatorLargeBlobs: fragmented read/write with the hash check | CTAP 2.2 §6.10 |
//! | [`pin_protocol`] | PIN/UV auth protocols 1 and 2, both the authenticator's and the platform's side | CTAP 2.2 §6.5.4 – §6.5.7 |
//! | [`hmac_secret`] | the hmac-secret extension's output computation | CTAP 2.2 §12.5 |
//! | [`authenticator`] | `Authenticator::process`: makeCredential, getAssertion, getNextAssertion, getInfo, reset, selection | CTAP 2.2 §6.1 – §6.4, §6.6, §6.9 |
//! | [`client_pin`] | authenticatorClientPIN: PIN, retries, pinUvAuthToken and permissions | CTAP 2.2 §6.5 |
//! | [`cred_mgmt`] | authenticatorCredentialManagement | CTAP 2.2 §6.8 |
//! | [`attestation`] | a new credential's authenticator data and none / packed attestation | CTAP 2.2 §6.1.2; L3 §8.2, §8.7 |
//! | [`ctaphid`] | CTAPHID packet and channel layer, KEEPALIVE and CANCEL, over any report link (Unix socket) | CTAP 2.2 §11.2 |
//! | `uhid` (feature `uhid`, Linux) | the virtual USB FIDO device through /dev/uhid | CTAP 2.2 §11.2.8.1 |
//! | [`file_store`] | the encrypted, append-only, crash-safe persistent store | — |
//! | [`stdio`] | the length-framed stdio transport | — |
//! | [`wrap`] | credential IDs that carry their encrypted credential (non-discoverable) | CTAP 2.2 §6.1.2 |
//! | [`store`] | the `CredentialStore` trait and an in-memory store | — |
//! | [`cxf`] | passkeys out of and into the store with the Credential Exchange Format | CXF v1.0 (PasskeyCredential, Fido2Extensions) |
//!
//! ```
//! use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
//! use keyhaven_proto::ctap2::{Command, Response, ResponseBody, StatusCode};
//! let mut authenticator =
//!     Authenticator::new(MemoryStore::new(25), AlwaysApprove::default(), Settings::default()).unwrap();
//! // authenticatorGetInfo (0x04): a status byte, then the CBOR map.
//! let answer = authenticator.process(&[0x04]);
//! let r = Response::from_bytes(Command::GetInfo, &answer).unwrap();
//! assert_eq!(r.status, StatusCode::Ok);
//! let ResponseBody::GetInfo(info) = r.body else { panic!("getInfo") };
//! assert!(info.versions.iter().any(|v| v == "FIDO_2_1"));
//! // An unknown command gets CTAP1_ERR_INVALID_COMMAND, not a panic.
//! assert_eq!(authenticator.process(&[0x55]), [0x01]);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod attestation;
pub mod authenticator;
pub mod client_pin;
pub mod cred_mgmt;
pub mod ctaphid;
pub mod cxf;
pub mod error;
pub mod file_store;
pub mod hmac_secret;
pub mod large_blobs;
pub mod stdio;
pub mod store;
pub mod u2f;
#[cfg(all(feature = "uhid", target_os = "linux"))]
pub mod uhid;
pub mod wrap;

/// PIN/UV auth protocols 1 and 2 (CTAP 2.2 §6.5.4 – §6.5.7), shared with the platform side.
pub use keyhaven_ctap::pin_protocol;

pub use authenticator::{
    AlwaysApprove, Authenticator, BatchAttestation, Settings, UserInteraction, MAX_MSG_SIZE,
};
pub use store::{CredentialStore, MemoryStore, StoredCredential};
