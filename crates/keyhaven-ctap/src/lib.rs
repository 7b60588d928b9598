//! # keyhaven-ctap
//!
//! The CTAP 2.2 protocol pieces an authenticator and a platform share, so that
//! neither side's crate depends on the other's:
//!
//! | module | what | spec |
//! |---|---|---|
//! | [`pin_protocol`] | PIN/UV auth protocols 1 and 2: key agreement, shared secrets, encryption, authentication — the authenticator's side and the platform's | CTAP 2.2 §6.5.4 – §6.5.7 |
//! | [`u2f`] | CTAP1/U2F: command APDUs (short and extended), status words, register and authenticate messages | U2F raw messages v1.2; CTAP 2.2 §11.2.9.1.1 |
//! | [`large_blob`] | the large-blob array and its entries: parse, serialize, seal, open | CTAP 2.2 §6.10.3 |
//! | [`hid`] | CTAPHID framing: report size, commands, error and keepalive codes, splitting a message into reports | CTAP 2.2 §11.2.4, §11.2.9 |
//!
//! ```
//! use keyhaven_ctap::hid::{cmd, frames, REPORT};
//! // A 100-byte CBOR message on channel 7: one initialization report with 57
//! // bytes, one continuation report with the other 43.
//! let reports = frames(7, cmd::CBOR, &[0u8; 100]);
//! assert_eq!(reports.len(), 2);
//! assert_eq!(reports[0][4], 0x80 | cmd::CBOR);
//! assert_eq!(reports[1][4], 0); // sequence 0
//! assert_eq!(reports[0].len(), REPORT);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod hid;
pub mod large_blob;
pub mod pin_protocol;
pub mod u2f;
