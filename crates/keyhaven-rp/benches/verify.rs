//! Assertion verification from AuthenticationResponseJSON text to a verified
//! result, next to the raw aws-lc-rs signature verification alone (the floor),
//! for ES256, EdDSA and RS256 (the W3C vectors' credentials) and ML-DSA-65
//! (py_webauthn's ML-DSA-65 assertion, from the real-world corpus); and a
//! packed registration with an x5c path to a configured root.

use aws_lc_rs::signature::{self as sig, RsaPublicKeyComponents, UnparsedPublicKey};
use criterion::{black_box, criterion_group, Criterion};
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::b64;
use keyhaven_proto::cose::{CoseAlgorithm, KeyParams};
use keyhaven_proto::json::{AuthenticationResponseJson, RegistrationResponseJson};
use keyhaven_rp::config::RpConfig;
use keyhaven_rp::options::{AuthenticationState, RegistrationState};
use keyhaven_rp::{verify_authentication, verify_registration, CredentialRecord};
use serde_json::{json, Value};
use std::time::{Duration, UNIX_EPOCH};

fn vectors() -> Vec<Value> {
    keyhaven_testkit::vectors::all()
}

fn config(reg: &Value) -> RpConfig {
    let mut cfg = RpConfig::new("example.org", "Example");
    cfg.algorithms = CoseAlgorithm::ALL.to_vec();
    if let Some(root) = reg["attestation_trust_root"]["cert_der_b64url"].as_str() {
        cfg.attestation.trust_anchors = vec![b64::decode(root).unwrap()];
        cfg.attestation.require_trusted = true;
    }
    cfg.clock = keyhaven_rp::time::Clock::fixed(UNIX_EPOCH + Duration::from_secs(1_767_225_600));
    cfg
}

fn registration_json(v: &Value) -> String {
    json!({
        "id": v["credential_id_b64url"], "rawId": v["credential_id_b64url"], "type": "public-key",
        "clientExtensionResults": {},
        "response": {"clientDataJSON": v["client_data_json_b64url"], "attestationObject": v["attestation_object_b64url"], "transports": ["usb"]}
    })
    .to_string()
}

fn bench(c: &mut Criterion) {
    let all = vectors();
    let find = |id: &str| all.iter().find(|v| v["id"] == id).unwrap().clone();
    for (name, base) in [
        ("ES256", "packed-es256"),
        ("EdDSA", "packed-ed25519"),
        ("RS256", "packed-rs256"),
    ] {
        let reg = find(&format!("{base}.registration"));
        let auth = find(&format!("{base}.authentication"));
        let cfg = config(&reg);
        let reg_state = RegistrationState {
            challenge: b64::decode(reg["challenge_b64url"].as_str().unwrap()).unwrap(),
            user_handle: b"user-1".to_vec(),
            algorithms: cfg.algorithms.iter().map(|a| a.id()).collect(),
            user_verification_required: false,
            conditional_mediation: false,
            extensions: None,
        };
        let reg_text = registration_json(&reg);
        let reg_resp: RegistrationResponseJson = serde_json::from_str(&reg_text).unwrap();
        let record: CredentialRecord = verify_registration(&cfg, &reg_resp, &reg_state, |_| false)
            .unwrap()
            .record;
        let auth_text = json!({
            "id": auth["credential_id_b64url"], "rawId": auth["credential_id_b64url"], "type": "public-key",
            "clientExtensionResults": {},
            "response": {"clientDataJSON": auth["client_data_json_b64url"], "authenticatorData": auth["authenticator_data_b64url"],
                         "signature": auth["signature_b64url"]}
        })
        .to_string();
        let state = AuthenticationState {
            challenge: b64::decode(auth["challenge_b64url"].as_str().unwrap()).unwrap(),
            allow_credentials: vec![],
            user_handle: Some(b"user-1".to_vec()),
            user_verification_required: false,
            extensions: None,
        };
        let mut g = c.benchmark_group(format!("assertion {name}"));
        g.bench_function("keyhaven-rp: JSON text to verified result", |b| {
            b.iter(|| {
                let resp: AuthenticationResponseJson =
                    serde_json::from_str(black_box(&auth_text)).unwrap();
                verify_authentication(&cfg, &resp, &state, |_| Some(record.clone())).unwrap()
            })
        });
        // Floor: the signature check alone on pre-decoded bytes.
        let ad = b64::decode(auth["authenticator_data_b64url"].as_str().unwrap()).unwrap();
        let cd = b64::decode(auth["client_data_json_b64url"].as_str().unwrap()).unwrap();
        let s = b64::decode(auth["signature_b64url"].as_str().unwrap()).unwrap();
        let msg = [ad.as_slice(), &sha256(&cd)].concat();
        let key = record.cose_key().unwrap();
        match &key.params {
            KeyParams::Ec2 { .. } => {
                let point = key.to_sec1_uncompressed().unwrap();
                g.bench_function("baseline: raw aws-lc-rs verify", |b| {
                    b.iter(|| {
                        UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, &point)
                            .verify(black_box(&msg), &s)
                            .unwrap()
                    })
                });
            }
            KeyParams::Okp { x, .. } => {
                g.bench_function("baseline: raw aws-lc-rs verify", |b| {
                    b.iter(|| {
                        UnparsedPublicKey::new(&sig::ED25519, x)
                            .verify(black_box(&msg), &s)
                            .unwrap()
                    })
                });
            }
            KeyParams::Rsa { n, e } => {
                g.bench_function("baseline: raw aws-lc-rs verify", |b| {
                    b.iter(|| {
                        RsaPublicKeyComponents { n, e }
                            .verify(&sig::RSA_PKCS1_2048_8192_SHA256, black_box(&msg), &s)
                            .unwrap()
                    })
                });
            }
            KeyParams::Akp { .. } => unreachable!("the W3C vectors have no ML-DSA key"),
        }
        g.finish();
        if name == "ES256" {
            c.bench_function(
                "registration packed x5c ES256: JSON text to verified record",
                |b| {
                    b.iter(|| {
                        let resp: RegistrationResponseJson =
                            serde_json::from_str(black_box(&reg_text)).unwrap();
                        verify_registration(&cfg, &resp, &reg_state, |_| false).unwrap()
                    })
                },
            );
        }
    }
}

/// ML-DSA-65: py_webauthn's assertion (real-world corpus), JSON text to a
/// verified result, next to aws-lc-rs's ML-DSA-65 verify alone.
fn bench_ml_dsa(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/realworld/cases/py_webauthn/verify_authentication_response/verify_ml_dsa_65_response.json"
    );
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut cfg = RpConfig::new(case["rp_id"].as_str().unwrap(), "Example");
    cfg.origins = vec![case["origins"][0].as_str().unwrap().to_owned()];
    let auth_text = case["response"].to_string();
    let resp: AuthenticationResponseJson = serde_json::from_str(&auth_text).unwrap();
    let handle = resp.response.user_handle.clone();
    let public_key = b64::decode(case["credential"]["public_key"].as_str().unwrap()).unwrap();
    let record = CredentialRecord::imported(
        resp.raw_id.clone(),
        public_key,
        case["credential"]["sign_count"].as_u64().unwrap() as u32,
        handle.clone(),
        &cfg.rp_id,
    )
    .unwrap();
    let state = AuthenticationState {
        challenge: b64::decode(case["challenge"].as_str().unwrap()).unwrap(),
        allow_credentials: vec![],
        user_handle: handle,
        user_verification_required: false,
        extensions: None,
    };
    let KeyParams::Akp { public } = record.cose_key().unwrap().params else {
        panic!("an AKP key")
    };
    let msg = [
        resp.response.authenticator_data.as_slice(),
        &sha256(&resp.response.client_data_json),
    ]
    .concat();
    let signature = resp.response.signature.clone();
    let mut g = c.benchmark_group("assertion ML-DSA-65");
    g.bench_function("keyhaven-rp: JSON text to verified result", |b| {
        b.iter(|| {
            let resp: AuthenticationResponseJson =
                serde_json::from_str(black_box(&auth_text)).unwrap();
            verify_authentication(&cfg, &resp, &state, |_| Some(record.clone())).unwrap()
        })
    });
    g.bench_function("baseline: raw aws-lc-rs verify", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&sig::ML_DSA_65, &public)
                .verify(black_box(&msg), &signature)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench, bench_ml_dsa);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let ours = "keyhaven-rp: JSON text to verified result";
    let base = "baseline: raw aws-lc-rs verify";
    keyhaven_testkit::bench::print_ratios(&[
        (
            "ES256 assertion vs raw aws-lc-rs (target >= 0.9x)",
            "assertion ES256",
            ours,
            base,
        ),
        (
            "EdDSA assertion vs raw aws-lc-rs",
            "assertion EdDSA",
            ours,
            base,
        ),
        (
            "RS256 assertion vs raw aws-lc-rs",
            "assertion RS256",
            ours,
            base,
        ),
        (
            "ML-DSA-65 assertion vs raw aws-lc-rs (target >= 0.9x)",
            "assertion ML-DSA-65",
            ours,
            base,
        ),
    ]);
}
