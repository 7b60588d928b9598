//! "compound" (L3 §8.9): every sub-statement must verify (this RP's policy).

use super::{fail, verify_depth, AttestationType, Input};
use crate::error::VerifyError;

const FMT: &str = "compound";

pub(super) fn verify(i: &Input) -> Result<(AttestationType, Vec<Vec<u8>>), VerifyError> {
    let items = i
        .att_stmt
        .as_array()
        .ok_or_else(|| fail(FMT, "attStmt must be an array"))?;
    if items.len() < 2 {
        return Err(fail(
            FMT,
            format!(
                "attStmt must hold at least 2 statements, found {}",
                items.len()
            ),
        ));
    }
    let mut types = Vec::new();
    let mut path = Vec::new();
    for (n, sub) in items.iter().enumerate() {
        let fmt = sub
            .get_text("fmt")
            .and_then(|f| f.as_text())
            .ok_or_else(|| fail(FMT, format!("statement {n} lacks a text fmt")))?;
        let stmt = sub
            .get_text("attStmt")
            .ok_or_else(|| fail(FMT, format!("statement {n} lacks attStmt")))?;
        let sub_input = Input {
            att_stmt: stmt,
            auth_data: i.auth_data,
            auth_data_raw: i.auth_data_raw,
            client_data_hash: i.client_data_hash,
            policy: i.policy,
            now: i.now,
            cbor: i.cbor,
        };
        let r = verify_depth(fmt, &sub_input, 1)
            .map_err(|e| fail(FMT, format!("statement {n} ({fmt}) failed: {e}")))?;
        types.push(r.attestation_type);
        if path.is_empty() {
            path = r.trust_path;
        }
    }
    let t = if types.windows(2).all(|w| w[0] == w[1]) {
        types[0]
    } else {
        AttestationType::Uncertain
    };
    Ok((t, path))
}
