//! # keyhaven-testkit
//!
//! Fixtures the tests and benchmarks of several keyhaven crates share, in one
//! place instead of `../../../` paths and `#[path]` modules. Dev-only (`publish
//! = false`); nothing here is used by a library.
//!
//! ```
//! let all = keyhaven_testkit::vectors::all();
//! let v = keyhaven_testkit::vectors::by_id("packed-es256.registration");
//! assert!(all.len() > 30);
//! assert_eq!(keyhaven_testkit::vectors::bytes(&v["challenge_b64url"]).len(), 32);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
pub mod jws;
pub mod pki;
pub mod slow;
pub mod vectors;
