//! # keyhaven-rp
//!
//! The relying party: options for the two ceremonies and the verification of
//! every step of WebAuthn L3 §7.1 (registration) and §7.2 (authentication),
//! including the attestation statement formats of §8 (none, packed, tpm,
//! android-key, android-safetynet, fido-u2f, apple, compound) with
//! certificate paths validated only up to the roots the RP configured.
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
