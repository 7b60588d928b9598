//! Compact JWS (ES256) for SafetyNet and MDS BLOB tests.

use crate::pki::Pki;
use keyhaven_proto::b64;
use keyhaven_proto::der::{Reader, Tag};

/// JWS ES256 wants r ‖ s; the signer gives a DER Ecdsa-Sig-Value.
pub fn der_to_fixed(der: &[u8]) -> Vec<u8> {
    let mut seq = Reader::new(der).expect(Tag::SEQUENCE).unwrap();
    let mut out = Vec::new();
    for _ in 0..2 {
        let i = seq.expect(Tag::INTEGER).unwrap().bytes();
        let i = &i[i.len().saturating_sub(32)..];
        out.extend(std::iter::repeat_n(0u8, 32 - i.len()));
        out.extend_from_slice(i);
    }
    out
}

/// Standard base64 (what x5c in JOSE headers uses).
pub fn base64_std(der: &[u8]) -> String {
    b64::encode(der).replace('-', "+").replace('_', "/")
}

/// A compact JWS (ES256) with `x5c` = [leaf].
pub fn jws(p: &Pki, payload: &serde_json::Value) -> String {
    let header =
        serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [base64_std(&p.leaf_der)]});
    let h = b64::encode(header.to_string().as_bytes());
    let pl = b64::encode(payload.to_string().as_bytes());
    let sig = p.leaf_key.sign(format!("{h}.{pl}").as_bytes()).unwrap();
    format!("{h}.{pl}.{}", b64::encode(&der_to_fixed(&sig)))
}
