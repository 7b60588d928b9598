//! # keyhaven-rp
//!
//! The relying party: options for the two ceremonies and the verification of
//! every step of WebAuthn L3 §7.1 (registration) and §7.2 (authentication),
//! including the attestation statement formats of §8 (none, packed, tpm,
//! android-key, android-safetynet, fido-u2f, apple, compound) with
//! certificate paths validated only up to the roots the RP configured.
//!
//! Options for a ceremony, with the state to keep until the response comes:
//!
//! ```
//! use keyhaven_rp::{RpConfig, options::{registration_options, UserInfo, RegistrationExtras}};
//! let cfg = RpConfig::new("example.org", "Example");
//! let user = UserInfo { name: "alice".into(), display_name: "Alice".into(), handle: None };
//! let (options, state) = registration_options(&cfg, &user, RegistrationExtras::default()).unwrap();
//! assert_eq!(options.challenge.len(), 32);
//! assert_eq!(state.user_handle.len(), 64);
//! assert_eq!(options.pub_key_cred_params.iter().map(|p| p.alg).collect::<Vec<_>>(), [-8, -7, -257]);
//! ```
//!
//! Verifying a registration (with its attestation chained to a configured
//! root), then an authentication with the credential record it produced:
//!
//! ```
//! use keyhaven_proto::{b64, json::{AuthenticationResponseJson, RegistrationResponseJson}};
//! use keyhaven_rp::options::{AuthenticationState, RegistrationState};
//! use keyhaven_rp::{time, util, verify_authentication, verify_registration, RpConfig};
//! use keyhaven_testkit::vectors as sample;
//!
//! let mut cfg = RpConfig::new("example.org", "Example");
//! cfg.attestation.trust_anchors = util::pem_certificates(sample::SAMPLE_ROOT_PEM).unwrap();
//! cfg.attestation.require_trusted = true;
//! cfg.clock = time::Clock::fixed(time::parse_rfc3339("2026-01-01T00:00:00Z").unwrap());
//!
//! // Registration (L3 §7.1): the state kept from the options, the response from the browser.
//! let response: RegistrationResponseJson =
//!     serde_json::from_str(sample::SAMPLE_REGISTRATION_RESPONSE).unwrap();
//! let state = RegistrationState {
//!     challenge: b64::decode(sample::SAMPLE_REGISTRATION_CHALLENGE).unwrap(),
//!     user_handle: b"user-1".to_vec(),
//!     algorithms: vec![-7],
//!     user_verification_required: true,
//!     conditional_mediation: false,
//!     extensions: None,
//! };
//! let registered = verify_registration(&cfg, &response, &state, |_id| false).unwrap();
//! assert_eq!(registered.attestation.fmt, "packed");
//! assert!(registered.attestation_trusted);
//! let record = registered.record; // store it
//!
//! // Authentication (L3 §7.2) with the stored record.
//! let response: AuthenticationResponseJson =
//!     serde_json::from_str(sample::SAMPLE_AUTHENTICATION_RESPONSE).unwrap();
//! let state = AuthenticationState {
//!     challenge: b64::decode(sample::SAMPLE_AUTHENTICATION_CHALLENGE).unwrap(),
//!     allow_credentials: vec![],
//!     user_handle: Some(b"user-1".to_vec()),
//!     user_verification_required: false,
//!     extensions: None,
//! };
//! let lookup = |id: &[u8]| (id == record.id.as_slice()).then(|| record.clone());
//! let authenticated = verify_authentication(&cfg, &response, &state, lookup).unwrap();
//! assert_eq!(authenticated.record.last_used_at, Some(1_767_225_600)); // the clock
//! assert_eq!(authenticated.user_handle.as_deref(), Some(&b"user-1"[..]));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod attestation;
mod authentication;
mod ceremony;
pub mod config;
pub mod error;
mod extensions;
pub mod mds;
pub mod options;
mod origin;
pub mod record;
mod registration;
pub mod time;
pub mod util;
pub mod x509;

pub use authentication::{verify_authentication, AuthenticationResult};
pub use config::RpConfig;
pub use error::VerifyError;
pub use origin::origin_allowed;
pub use record::CredentialRecord;
pub use registration::{verify_registration, RegistrationResult};

/// Errors outside verification (configuration, randomness).
#[derive(Debug, thiserror::Error)]
pub enum RpError {
    /// The configuration or an argument is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The CSPRNG failed.
    #[error("crypto: {0}")]
    Crypto(String),
}
