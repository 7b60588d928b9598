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

/// A compact JWS, decoded.
struct Jws<'a> {
    header_b64: &'a str,
    payload_b64: &'a str,
    header: serde_json::Value,
    payload: serde_json::Value,
    signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    fn parse(response: &'a str) -> Result<Self, VerifyError> {
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
        let json = |part: &str, what: &'static str| {
            b64::decode(part)
                .ok()
                .and_then(|h| serde_json::from_slice(&h).ok())
                .ok_or_else(|| fail(FMT, what))
        };
        Ok(Jws {
            header_b64,
            payload_b64,
            header: json(header_b64, "JWS header is not base64url JSON")?,
            payload: json(payload_b64, "JWS payload is not base64url JSON")?,
            signature: b64::decode(sig_b64)
                .map_err(|e| fail(FMT, format!("JWS signature: {e}")))?,
        })
    }
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
    let jws = Jws::parse(response)?;
    // Step 2: nonce = base64(SHA-256(authenticatorData ‖ clientDataHash)).
    let nonce = keyhaven_crypto::digest::sha256(&i.signed_data());
    let claimed = jws.payload["nonce"]
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
    let x5c = verify_signature(&jws)?;
    // Policy: ctsProfileMatch and a fresh timestamp.
    if i.policy.safetynet_require_cts_profile_match
        && jws.payload["ctsProfileMatch"].as_bool() != Some(true)
    {
        return Err(fail(FMT, "ctsProfileMatch is not true"));
    }
    let ts = jws.payload["timestampMs"]
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

/// Step 3: the leaf of the header's x5c is issued to attest.android.com and
/// its key verifies the JWS signature. Returns x5c.
fn verify_signature(jws: &Jws) -> Result<Vec<Vec<u8>>, VerifyError> {
    let x5c: Vec<Vec<u8>> = jws.header["x5c"]
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
    let alg = jws.header["alg"].as_str().unwrap_or_default();
    let scheme = SignatureScheme::from_jws_alg(alg)
        .ok_or_else(|| fail(FMT, format!("unsupported JWS alg {alg:?}")))?;
    let signing_input = format!("{}.{}", jws.header_b64, jws.payload_b64);
    let fixed = matches!(
        scheme,
        SignatureScheme::EcdsaSha256 | SignatureScheme::EcdsaSha384 | SignatureScheme::EcdsaSha512
    );
    keyhaven_crypto::x509::verify_spki(
        scheme,
        x509::spki_key(&leaf).map_err(|e| fail(FMT, e))?,
        leaf.public_key().raw,
        signing_input.as_bytes(),
        &jws.signature,
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
    Ok(x5c)
}
