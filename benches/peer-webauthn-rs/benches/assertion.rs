//! The same ES256 passkey assertion, from AuthenticationResponseJSON text to a
//! verified result, in keyhaven-rp and in webauthn-rs (black box), with the
//! raw aws-lc-rs ECDSA P-256 verification as the floor. The credential and the
//! responses are made here (none attestation, UV set) for challenges that each
//! library issued.

use criterion::{black_box, criterion_group, Criterion};
use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::signature::SigningKey;
use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::authdata::{Aaguid, AttestedCredentialData, AuthenticatorData, Flags};
use keyhaven_proto::b64;
use keyhaven_proto::cbor::Value;
use keyhaven_proto::client_data::CollectedClientData;
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::json::AuthenticationResponseJson;
use keyhaven_rp::options::AuthenticationState;
use keyhaven_rp::{CredentialRecord, RpConfig};
use serde_json::json;

const ORIGIN: &str = "https://example.org";

fn registration_json(key: &SigningKey, cred_id: &[u8], challenge: &[u8]) -> String {
    let ad = AuthenticatorData::new(sha256(b"example.org"), Flags::UP | Flags::UV, 0)
        .with_attested_credential_data(AttestedCredentialData {
            aaguid: Aaguid::ZERO,
            credential_id: cred_id.to_vec(),
            credential_public_key: key.public_key(),
        });
    let cd = CollectedClientData::new("webauthn.create", challenge, ORIGIN).to_json_bytes();
    let ao = AttestationObject::new("none", Value::Map(vec![]), ad);
    json!({"id": b64::encode(cred_id), "rawId": b64::encode(cred_id), "type": "public-key", "clientExtensionResults": {},
           "response": {"clientDataJSON": b64::encode(&cd), "attestationObject": b64::encode(&ao.to_bytes()), "transports": ["internal"]}})
    .to_string()
}

fn assertion_json(
    key: &SigningKey,
    cred_id: &[u8],
    challenge: &[u8],
    counter: u32,
) -> (String, Vec<u8>, Vec<u8>) {
    let ad =
        AuthenticatorData::new(sha256(b"example.org"), Flags::UP | Flags::UV, counter).to_bytes();
    let cd = CollectedClientData::new("webauthn.get", challenge, ORIGIN).to_json_bytes();
    let msg = [ad.as_slice(), &sha256(&cd)].concat();
    let sig = key.sign(&msg).unwrap();
    let text = json!({"id": b64::encode(cred_id), "rawId": b64::encode(cred_id), "type": "public-key", "clientExtensionResults": {},
           "response": {"clientDataJSON": b64::encode(&cd), "authenticatorData": b64::encode(&ad), "signature": b64::encode(&sig)}})
    .to_string();
    (text, msg, sig)
}

fn challenge_of(v: &serde_json::Value) -> Vec<u8> {
    b64::decode(v["publicKey"]["challenge"].as_str().expect("challenge")).unwrap()
}

fn bench(c: &mut Criterion) {
    let key = SigningKey::generate(CoseAlgorithm::Es256).unwrap();
    let cred_id = vec![0x11; 32];

    // webauthn-rs: register through its own ceremony, then an assertion for its challenge.
    let url = url::Url::parse(ORIGIN).unwrap();
    let wa = webauthn_rs::WebauthnBuilder::new("example.org", &url)
        .unwrap()
        .build()
        .unwrap();
    let (ccr, reg_state) = wa
        .start_passkey_registration(uuid::Uuid::new_v4(), "alice", "Alice", None)
        .unwrap();
    let reg_challenge = challenge_of(&serde_json::to_value(&ccr).unwrap());
    let reg: webauthn_rs::prelude::RegisterPublicKeyCredential =
        serde_json::from_str(&registration_json(&key, &cred_id, &reg_challenge)).unwrap();
    let passkey = wa
        .finish_passkey_registration(&reg, &reg_state)
        .expect("webauthn-rs registers");
    let (rcr, auth_state) = wa.start_passkey_authentication(&[passkey]).unwrap();
    let wa_challenge = challenge_of(&serde_json::to_value(&rcr).unwrap());
    let (wa_text, msg, sig) = assertion_json(&key, &cred_id, &wa_challenge, 0);
    let check: webauthn_rs::prelude::PublicKeyCredential = serde_json::from_str(&wa_text).unwrap();
    wa.finish_passkey_authentication(&check, &auth_state)
        .expect("webauthn-rs verifies");

    // keyhaven-rp: the same credential, its own challenge.
    let cfg = RpConfig::new("example.org", "Example");
    let kh_challenge = [0x5a; 32];
    let (kh_text, _, _) = assertion_json(&key, &cred_id, &kh_challenge, 0);
    let record = CredentialRecord {
        version: 1,
        type_: "public-key".into(),
        id: cred_id.clone(),
        public_key: key.public_key().to_bytes(),
        algorithm: -7,
        sign_count: 0,
        transports: vec![],
        backup_eligible: false,
        backup_state: false,
        uv_initialized: true,
        aaguid: Aaguid::ZERO.to_string(),
        attestation_format: "none".into(),
        attestation_type: "None".into(),
        attestation_trusted: false,
        user_handle: Some(b"u".to_vec()),
        rp_id: "example.org".into(),
        created_at: 0,
        last_used_at: None,
    };
    let state = AuthenticationState {
        challenge: kh_challenge.to_vec(),
        allow_credentials: vec![b64::encode(&cred_id)],
        user_handle: Some(b"u".to_vec()),
        user_verification_required: true,
        extensions: None,
    };

    let point = key.public_key().to_sec1_uncompressed().unwrap();
    let mut g = c.benchmark_group("ES256 passkey assertion, JSON text to verified result");
    g.bench_function("keyhaven-rp", |b| {
        b.iter(|| {
            let r: AuthenticationResponseJson = serde_json::from_str(black_box(&kh_text)).unwrap();
            keyhaven_rp::verify_authentication(&cfg, &r, &state, |_| Some(record.clone())).unwrap()
        })
    });
    g.bench_function("webauthn-rs 0.6.2", |b| {
        b.iter(|| {
            let r: webauthn_rs::prelude::PublicKeyCredential =
                serde_json::from_str(black_box(&wa_text)).unwrap();
            wa.finish_passkey_authentication(&r, &auth_state).unwrap()
        })
    });
    g.bench_function("floor: raw aws-lc-rs ECDSA P-256 verify", |b| {
        b.iter(|| {
            aws_lc_rs_verify(&point, black_box(&msg), &sig);
        })
    });
    g.finish();
}

fn aws_lc_rs_verify(point: &[u8], msg: &[u8], sig: &[u8]) {
    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
        .verify(msg, sig)
        .unwrap();
}

#[path = "../../../crates/keyhaven-rp/benches/ratios.rs"]
mod ratios;

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let group = "ES256 passkey assertion, JSON text to verified result";
    ratios::print_ratios(&[
        (
            "keyhaven-rp vs webauthn-rs (target >= 1.2x)",
            group,
            "keyhaven-rp",
            "webauthn-rs 0.6.2",
        ),
        (
            "keyhaven-rp vs raw aws-lc-rs (target >= 0.9x)",
            group,
            "keyhaven-rp",
            "floor: raw aws-lc-rs ECDSA P-256 verify",
        ),
    ]);
}
