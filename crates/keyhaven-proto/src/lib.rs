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
