//! "none" (L3 §8.7).

use super::{AttestationType, Input, Stmt};
use crate::error::VerifyError;

pub(super) fn verify(i: &Input) -> Result<AttestationType, VerifyError> {
    // Syntax: attStmt is the empty map (a member is ignored, or refused under
    // the strict CBOR policy, like any format's undefined members).
    Stmt::new("none", i, &[])?;
    Ok(AttestationType::None)
}
