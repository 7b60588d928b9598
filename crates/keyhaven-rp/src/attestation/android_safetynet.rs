//! "android-safetynet" (L3 §8.5, deprecated by the spec but still verified):
//! a JWS (RFC 7515 compact form) whose x5c leaf is issued to attest.android.com.

use super::{fail, parse_cert, Input, Stmt};
use crate::error::{AttestationFailure, VerifyError};
use crate::x509;
use keyhaven_crypto::x509::SignatureScheme;
use keyhaven_proto::b64;
use x509_parser::prelude::*;

const FMT: &str = "android-safetynet";

fn std_b64(s: &str) -> Option<Vec<u8>> {
    b64::decode(s).ok()
}

pub(super) fn verify(i: &Input) -> Result<Vec<Vec<u8>>, VerifyError> {
    // Step 1: syntax.
    let s = Stmt::new(FMT, i, &["ver", "response"])?;
    let ver = s.text("ver")?;
    if ver.is_empty() {
        return Err(fail(FMT, "ver is empty"));
    }
    let response = std::str::from_utf8(s.bytes("response")?)
        .map_err(|_| fail(FMT, "response is not UTF-8"))?;
    let parts: Vec<&str> = response.split('.').collect();
    let [header_b64, payload_b64, sig_b64] = parts[..] else {
        return Err(fail(
            FMT,
            format!(
                "response is not a compact JWS (3 parts), found {} part(s)",
                parts.len()
            ),
        ));
    };
    let header: serde_json::Value = b64::decode(header_b64)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| fail(FMT, "JWS header is not base64url JSON"))?;
    let payload: serde_json::Value = b64::decode(payload_b64)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or_else(|| fail(FMT, "JWS payload is not base64url JSON"))?;
    let signature = b64::decode(sig_b64).map_err(|e| fail(FMT, format!("JWS signature: {e}")))?;
    // Step 2: nonce = base64(SHA-256(authenticatorData ‖ clientDataHash)).
    let nonce = keyhaven_crypto::digest::sha256(&i.signed_data());
    let claimed = payload["nonce"]
        .as_str()
        .and_then(std_b64)
        .ok_or_else(|| fail(FMT, "payload lacks nonce"))?;
    if !keyhaven_crypto::ct_eq(&claimed, &nonce) {
        return Err(fail(
            FMT,
            "payload nonce is not SHA-256(authenticatorData ‖ clientDataHash)",
        ));
    }
    // Step 3: the JWS signature with the leaf, issued to attest.android.com.
    let x5c: Vec<Vec<u8>> = header["x5c"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| fail(FMT, "JWS header lacks x5c"))?
        .iter()
        .map(|c| {
            c.as_str()
                .and_then(std_b64)
                .ok_or_else(|| fail(FMT, "x5c entry is not base64"))
        })
        .collect::<Result<_, _>>()?;
    let leaf = parse_cert(FMT, &x5c[0])?;
    let host_ok = leaf
        .subject()
        .iter_common_name()
        .any(|cn| cn.as_str() == Ok("attest.android.com"))
        || matches!(leaf.subject_alternative_name(), Ok(Some(san)) if san.value.general_names.iter()
            .any(|n| matches!(n, GeneralName::DNSName("attest.android.com"))));
    if !host_ok {
        return Err(fail(
            FMT,
            "attestation certificate is not issued to attest.android.com",
        ));
    }
    let alg = header["alg"].as_str().unwrap_or_default();
    let scheme = SignatureScheme::from_jws_alg(alg)
        .ok_or_else(|| fail(FMT, format!("unsupported JWS alg {alg:?}")))?;
    let signing_input = format!("{header_b64}.{payload_b64}");
    let fixed = matches!(
        scheme,
        SignatureScheme::EcdsaSha256 | SignatureScheme::EcdsaSha384 | SignatureScheme::EcdsaSha512
    );
    keyhaven_crypto::x509::verify_spki(
        scheme,
        x509::spki_key(&leaf).map_err(|e| fail(FMT, e))?,
        leaf.public_key().raw,
        signing_input.as_bytes(),
        &signature,
        fixed,
    )
    .map_err(|e| {
        fail(
            FMT,
            AttestationFailure::Signature {
                what: "JWS signature",
                reason: e.to_string(),
            },
        )
    })?;
    // Policy: ctsProfileMatch and a fresh timestamp.
    if i.policy.safetynet_require_cts_profile_match
        && payload["ctsProfileMatch"].as_bool() != Some(true)
    {
        return Err(fail(FMT, "ctsProfileMatch is not true"));
    }
    let ts = payload["timestampMs"]
        .as_u64()
        .ok_or_else(|| fail(FMT, "payload lacks timestampMs"))?;
    let now_ms = crate::time::unix_millis(i.now).max(0) as u64;
    if ts > now_ms + 60_000 || now_ms.saturating_sub(ts) > i.policy.safetynet_max_age_ms {
        return Err(fail(
            FMT,
            format!("timestampMs {ts} is outside the accepted window around now ({now_ms})"),
        ));
    }
    Ok(x5c)
}
