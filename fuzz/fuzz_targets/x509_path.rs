#![no_main]
//! X.509 path validation to a configured anchor (the W3C vectors' attestation
//! root) on arbitrary certificates, with a CRL slot: refused or accepted, never
//! a panic. Input: chunks of [len_hi, len_lo, bytes…]; the first chunk whose
//! first byte is 0xff minus its length prefix is a CRL, the others are x5c.
use keyhaven_rp::x509::{validate_path, PathOptions};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

/// The W3C vectors' attestation root (DER), read once.
fn root() -> &'static Vec<u8> {
    static ROOT: OnceLock<Vec<u8>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/vectors.json")).unwrap();
        let root = v
            .as_array()
            .unwrap()
            .iter()
            .find_map(|x| x["attestation_trust_root"]["cert_der_b64url"].as_str())
            .unwrap();
        keyhaven_proto::b64::decode(root).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let (mut x5c, mut crls) = (Vec::new(), Vec::new());
    let mut rest = data;
    while rest.len() >= 2 && x5c.len() < 5 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..rest.len().min(2 + len)];
        rest = &rest[2 + body.len()..];
        match body.split_first() {
            Some((0xff, crl)) if crls.is_empty() => crls.push(crl.to_vec()),
            _ => x5c.push(body.to_vec()),
        }
    }
    let anchors = [root().clone()];
    for allow_sha1 in [false, true] {
        let opts = PathOptions {
            anchors: &anchors,
            // 2026-01-01, inside the vectors' validity.
            now: UNIX_EPOCH + Duration::from_secs(1_767_225_600),
            allow_sha1,
            crls: &crls,
        };
        let _ = validate_path(&x5c, &opts);
    }
});
