//! "none" (L3 §8.7).

use super::{fail, AttestationType, Input};
use crate::error::VerifyError;

pub(super) fn verify(i: &Input) -> Result<AttestationType, VerifyError> {
    // Syntax: attStmt is the empty map.
    match i.att_stmt.as_map() {
        Some([]) => Ok(AttestationType::None),
        _ => Err(fail("none", "attStmt must be an empty map")),
    }
}
