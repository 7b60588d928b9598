//! # keyhaven-proto
//!
//! The wire formats shared by keyhaven's three roles (authenticator, client,
//! relying party), built once, with no policy in them:
//!
//! | module | what | spec |
//! |---|---|---|
//! | [`cbor`] | strict CTAP2-canonical CBOR | RFC 8949, CTAP 2.2 §8 |
//! | [`cose`] | COSE_Key, algorithm identifiers, SubjectPublicKeyInfo | RFC 9052/9053, RFC 8230 |
//! | [`authdata`] | authenticator data, attested credential data, flags | WebAuthn L3 §6.1, §6.5.1 |
//! | [`attestation`] | attestation object ⇄ CTAP2 makeCredential response | L3 §6.5.4, CTAP 2.2 §6.1 |
//! | [`ctap2`] | every CTAP 2.2 command, response and status code | CTAP 2.2 §6, §8.2 |
//! | [`client_data`] | CollectedClientData / clientDataJSON | L3 §5.8.1 |
//! | [`json`] | the L3 JSON forms of options and responses | L3 §5.1.8 – §5.1.10 |
//! | [`b64`] | base64url as the JSON forms use it | L3 §5.1.8 |
//!
//! Every decoder here is strict, bounds lengths by the input before allocating,
//! limits nesting, never panics on input, and returns a typed error that says
//! what was expected, what was found and where.
//!
//! ```
//! use keyhaven_proto::authdata::AuthenticatorData;
//! use keyhaven_proto::client_data::{CollectedClientData, TYPE_GET};
//! // Authenticator data: rpIdHash, flags UP|UV, signCount 7 — and back, byte for byte.
//! let mut bytes = vec![0u8; 37];
//! bytes[32] = 0x05;
//! bytes[36] = 7;
//! let ad = AuthenticatorData::from_bytes(&bytes).unwrap();
//! assert!(ad.flags.up() && ad.flags.uv() && !ad.flags.be());
//! assert_eq!(ad.sign_count, 7);
//! assert_eq!(ad.to_bytes(), bytes);
//! // clientDataJSON in the L3 §5.8.1.1 serialization.
//! let cd = CollectedClientData::new(TYPE_GET, b"challenge", "https://example.org");
//! let json = cd.to_json_bytes();
//! assert_eq!(CollectedClientData::from_json_bytes(&json).unwrap().origin, "https://example.org");
//! // Truncated input is an error naming what is missing, never a panic.
//! assert!(AuthenticatorData::from_bytes(&bytes[..36]).unwrap_err().to_string().contains("header"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod attestation;
pub mod authdata;
pub mod b64;
pub mod cbor;
pub mod client_data;
pub mod cose;
pub mod ctap2;
pub mod der;
pub mod json;
