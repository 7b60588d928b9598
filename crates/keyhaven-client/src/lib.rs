//! # keyhaven-client
//!
//! The WebAuthn client: what a browser does between a web page and an
//! authenticator. Built in steps (issue #6); so far:
//!
//! | module | what | spec |
//! |---|---|---|
//! | [`origin`] | the caller's origin and the RP ID: secure contexts, valid domains, registrable domain suffixes with the Public Suffix List | L3 §5.1.3 steps 5–8, §5.1.4.1 steps 5–7; HTML "is a registrable domain suffix of or is equal to" |

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod origin;
