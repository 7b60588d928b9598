//! # keyhaven-client
//!
//! The WebAuthn client: what a browser does between a web page and an
//! authenticator. [`Client::create`] and [`Client::get`] take the options a
//! relying party sends (PublicKeyCredentialCreationOptionsJSON /
//! RequestOptionsJSON), check the caller's origin and RP ID, build
//! clientDataJSON, talk CTAP 2.2 to every connected authenticator at once and
//! return a [`PublicKeyCredential`] whose `to_json()` is what a browser's
//! `toJSON()` gives.
//!
//! | module | what | spec |
//! |---|---|---|
//! | [`origin`] | the caller's origin and the RP ID (Public Suffix List), related origins | L3 §5.1.3 steps 5–8, §5.1.4.1 steps 5–7, §5.11 |
//! | [`client`] | `create()` and `get()`: options, timer and abort, clientData, excludeCredentials / allowCredentials with the silent pre-flight, authenticator selection, several authenticators, account choice | L3 §5.1.3, §5.1.4 |
//! | [`pin`] | PIN/UV auth tokens (protocol 2, else 1), the [`PinProvider`] | CTAP 2.2 §6.5.5 |
//! | [`extensions`] | credProps, prf, largeBlob, credProtect, credBlob, minPinLength, appid, hmac-secret | L3 §10.1; CTAP 2.2 §12 |
//! | [`large_blob`] | the large-blob array: read, decrypt, write | CTAP 2.2 §6.10.3 |
//! | [`response`] | PublicKeyCredential, the attestation and assertion responses, `toJSON()`, the options parsers | L3 §5.1.8 – §5.1.10, §5.2 |
//! | [`device`] | the [`Device`] trait, a spawned `serve --stdio` | — |
//! | `in_process` | keyhaven's own authenticator as a [`Device`] (feature `in-process`, on by default: the only dependency on keyhaven-authenticator) | — |
//! | [`hid`] | CTAPHID host: a Unix socket, Linux hidraw (feature `hidraw`) | CTAP 2.2 §11.2 |
//! | [`ctap`] | typed CTAP2 calls on one device | CTAP 2.2 §6 |
//! | [`error`] | [`ClientError`] and its DOMException names | L3 §5.1.3, §5.1.4 exceptions |
//!
//! A browser's part of a registration, from the options a relying party sent
//! to the credential the page gets (see [`Client`] for the options JSON):
//!
//! ```
//! use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
//! use keyhaven_client::{parse_creation_options_from_json, CallOptions, Client, ClientError, InProcess};
//! let auth = Authenticator::new(MemoryStore::new(10), AlwaysApprove::default(), Settings::default()).unwrap();
//! let mut client = Client::new(vec![Box::new(InProcess::new(auth))]);
//! let options = parse_creation_options_from_json(r#"{"rp":{"name":"Example","id":"example.com"},
//!   "user":{"id":"AQID","name":"alice","displayName":"Alice"},"challenge":"AAECAwQFBgcICQoLDA0ODw",
//!   "pubKeyCredParams":[{"type":"public-key","alg":-7}]}"#).unwrap();
//! let credential = client.create(&CallOptions::new("https://login.example.com"), &options).unwrap();
//! assert!(credential.to_json_string().contains("attestationObject"));
//! // An origin the RP ID does not cover is a SecurityError, as in a browser.
//! let e = client.create(&CallOptions::new("https://example.net"), &options).unwrap_err();
//! assert_eq!(e.dom_exception().name(), "SecurityError");
//! # let _: Option<ClientError> = None;
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod ctap;
pub mod device;
pub mod error;
pub mod extensions;
pub mod hid;
#[cfg(feature = "in-process")]
pub mod in_process;
pub mod large_blob;
pub mod origin;
pub mod pin;
pub mod response;

pub use client::{Account, AccountChooser, CallOptions, Client, ClientConfig, FirstAccount};
pub use device::{AbortSignal, Attachment, Device, StdioDevice};
pub use error::{ClientError, DomException, TransportError};
#[cfg(feature = "in-process")]
pub use in_process::InProcess;
pub use pin::{FixedPin, NoPin, PinProvider};
pub use response::{
    parse_creation_options_from_json, parse_request_options_from_json,
    AuthenticatorAssertionResponse, AuthenticatorAttestationResponse, PublicKeyCredential,
};
