//! # keyhaven-authenticator
//!
//! The CTAP 2.2 software authenticator. This crate is being built in steps
//! (issue #5); it currently holds the pieces the rest builds on:
//!
//! | module | what | spec |
//! |---|---|---|
//! | [`pin_protocol`] | PIN/UV auth protocols 1 and 2, both the authenticator's and the platform's side | CTAP 2.2 §6.5.4 – §6.5.7 |
//! | [`hmac_secret`] | the hmac-secret extension's output computation | CTAP 2.2 §12.5 |

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod hmac_secret;
pub mod pin_protocol;
