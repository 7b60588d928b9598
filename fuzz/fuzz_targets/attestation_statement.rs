#![no_main]
//! Each attestation statement format's verification procedure (L3 §8: packed
//! with x5c, tpm, android-key, android-safetynet, apple, fido-u2f, none,
//! compound) on an arbitrary attStmt, with the W3C vectors' root as trust
//! anchor: refused or accepted, never a panic. Input: [format byte, CBOR
//! attStmt…]; the authenticator data and client data hash are those of the
//! W3C vector of that format, so a seed made from the vector's own statement
//! gets through the signature checks to the certificate checks.
use keyhaven_proto::cbor::{self, CborPolicy};
use keyhaven_rp::attestation::verify_statement;
use keyhaven_rp::RpConfig;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

const FORMATS: [&str; 8] = [
    "packed",
    "tpm",
    "android-key",
    "android-safetynet",
    "apple",
    "fido-u2f",
    "none",
    "compound",
];

struct Fixture {
    /// Per format: (authData, clientDataHash).
    inputs: Vec<(Vec<u8>, [u8; 32])>,
    cfg: RpConfig,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/vectors.json")).unwrap();
        let all = v.as_array().unwrap();
        let b = |x: &serde_json::Value, k: &str| {
            keyhaven_proto::b64::decode(x[k].as_str().unwrap()).unwrap()
        };
        let input_of = |x: &serde_json::Value| {
            let ao = b(x, "attestation_object_b64url");
            let ao = keyhaven_proto::attestation::AttestationObject::from_bytes(&ao).unwrap();
            let hash = keyhaven_crypto::digest::sha256(&b(x, "client_data_json_b64url"));
            (ao.auth_data_raw, hash)
        };
        let packed = all
            .iter()
            .find(|x| x["id"] == "packed-es256.registration")
            .unwrap();
        let inputs = FORMATS
            .iter()
            .map(|f| {
                all.iter()
                    .find(|x| x["kind"] == "registration" && x["attestation_format"] == *f)
                    .map_or_else(|| input_of(packed), input_of)
            })
            .collect();
        let mut cfg = RpConfig::new("example.org", "Example");
        cfg.attestation.trust_anchors =
            vec![b(&packed["attestation_trust_root"], "cert_der_b64url")];
        cfg.clock =
            keyhaven_rp::time::Clock::fixed(UNIX_EPOCH + Duration::from_secs(1_767_225_600));
        Fixture { inputs, cfg }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, stmt)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let i = usize::from(which) % FORMATS.len();
    let Ok(att_stmt) = cbor::decode_with(stmt, CborPolicy::Interoperable.options()) else {
        return;
    };
    let (auth_data, hash) = &f.inputs[i];
    if let Ok(r) = verify_statement(FORMATS[i], &att_stmt, auth_data, hash, &f.cfg) {
        // An accepted statement names its own format.
        assert_eq!(r.fmt, FORMATS[i]);
    }
});
