//! Shared by the integration tests that run `keyhaven serve`.
pub mod serve;
