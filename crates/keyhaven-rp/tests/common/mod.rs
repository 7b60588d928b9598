//! Test fixtures shared by the RP integration tests: a small PKI made with
//! rcgen, and JWS signature encoding.
#![allow(dead_code)]

use keyhaven_crypto::signature::SigningKey;
use keyhaven_proto::b64;
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::der::{Reader, Tag};
use keyhaven_proto::json::{
    AssertionResponseJson, AttestationResponseJson, AuthenticationResponseJson,
    ExtensionOutputsJson, RegistrationResponseJson,
};
use keyhaven_rp::config::{MissingTopOrigin, RpConfig};
use keyhaven_rp::options::{AuthenticationState, RegistrationState};
use keyhaven_rp::{verify_registration, VerifyError};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use serde_json::Value;
use std::time::{Duration, UNIX_EPOCH};

// W3C vector helpers.

pub fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn b(v: &Value) -> Vec<u8> {
    b64::decode(v.as_str().expect("base64url")).unwrap()
}

pub fn config(v: &Value) -> RpConfig {
    let mut cfg = RpConfig::new("example.org", "Example");
    cfg.algorithms = CoseAlgorithm::ALL.to_vec();
    if let Some(root) = v["attestation_trust_root"]["cert_der_b64url"].as_str() {
        cfg.attestation.trust_anchors = vec![b64::decode(root).unwrap()];
    }
    cfg.attestation.require_trusted = true;
    // 2026-01-01: inside the vectors' certificate validity (2024 – 3024).
    cfg.clock = keyhaven_rp::time::Clock::fixed(UNIX_EPOCH + Duration::from_secs(1_767_225_600));
    cfg
}

pub fn allow_cross_origin(cfg: &mut RpConfig) {
    cfg.allow_cross_origin = true;
    cfg.top_origins = vec!["https://example.com".into()];
    cfg.missing_top_origin = MissingTopOrigin::Allow;
}

pub fn registration(v: &Value) -> (RegistrationResponseJson, RegistrationState) {
    let response = RegistrationResponseJson {
        id: v["credential_id_b64url"].as_str().unwrap().to_owned(),
        raw_id: b(&v["credential_id_b64url"]),
        response: AttestationResponseJson {
            client_data_json: b(&v["client_data_json_b64url"]),
            attestation_object: b(&v["attestation_object_b64url"]),
            authenticator_data: None,
            transports: vec!["usb".into()],
            public_key: None,
            public_key_algorithm: None,
        },
        authenticator_attachment: None,
        client_extension_results: ExtensionOutputsJson::default(),
        type_: "public-key".into(),
    };
    let state = RegistrationState {
        challenge: b(&v["challenge_b64url"]),
        user_handle: b"user-1".to_vec(),
        algorithms: CoseAlgorithm::ALL.iter().map(|a| a.id()).collect(),
        user_verification_required: false,
        conditional_mediation: false,
        extensions: None,
    };
    (response, state)
}

pub fn authentication(v: &Value) -> (AuthenticationResponseJson, AuthenticationState) {
    let response = AuthenticationResponseJson {
        id: v["credential_id_b64url"].as_str().unwrap().to_owned(),
        raw_id: b(&v["credential_id_b64url"]),
        response: AssertionResponseJson {
            client_data_json: b(&v["client_data_json_b64url"]),
            authenticator_data: b(&v["authenticator_data_b64url"]),
            signature: b(&v["signature_b64url"]),
            user_handle: None,
            attestation_object: None,
        },
        authenticator_attachment: None,
        client_extension_results: ExtensionOutputsJson::default(),
        type_: "public-key".into(),
    };
    let state = AuthenticationState {
        challenge: b(&v["challenge_b64url"]),
        allow_credentials: vec![v["credential_id_b64url"].as_str().unwrap().to_owned()],
        user_handle: Some(b"user-1".to_vec()),
        user_verification_required: false,
        extensions: None,
    };
    (response, state)
}

/// The W3C vector configuration, with cross-origin use allowed when the vector is cross-origin.
pub fn config_for(v: &Value) -> RpConfig {
    let mut cfg = config(v);
    if v["cross_origin"] == true {
        allow_cross_origin(&mut cfg);
    }
    cfg
}

/// Runs a registration vector through §7.1.
pub fn register(v: &Value) -> Result<keyhaven_rp::RegistrationResult, VerifyError> {
    let (resp, state) = registration(v);
    verify_registration(&config_for(v), &resp, &state, |_| false)
}

// A small PKI.

pub struct Pki {
    pub root_der: Vec<u8>,
    pub leaf_der: Vec<u8>,
    pub leaf_key: SigningKey,
}

/// A root CA and a leaf (ECDSA P-256) whose subject CN is `leaf_cn`.
pub fn pki_with(leaf_cn: &str) -> Pki {
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut root = CertificateParams::new(Vec::<String>::new()).unwrap();
    root.distinguished_name
        .push(DnType::CommonName, "keyhaven test root");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root_cert = root.self_signed(&root_key).unwrap();
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, leaf_cn);
    let issuer = Issuer::from_params(&root, &root_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        root_der: root_cert.der().to_vec(),
        leaf_der: leaf_cert.der().to_vec(),
        leaf_key: SigningKey::from_pkcs8(CoseAlgorithm::Es256, &leaf_key.serialize_der()).unwrap(),
    }
}

pub fn pki() -> Pki {
    pki_with("keyhaven test signer")
}

/// JWS ES256 wants r ‖ s; our signer gives DER Ecdsa-Sig-Value.
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
