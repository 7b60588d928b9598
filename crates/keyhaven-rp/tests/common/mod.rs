//! The W3C vectors as the RP integration tests run them (the PKI and JWS
//! helpers are in keyhaven-testkit).
#![allow(dead_code)]

use keyhaven_proto::b64;
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::json::{
    AssertionResponseJson, AttestationResponseJson, AuthenticationResponseJson,
    ExtensionOutputsJson, RegistrationResponseJson,
};
use keyhaven_rp::config::{MissingTopOrigin, RpConfig};
use keyhaven_rp::options::{AuthenticationState, RegistrationState};
use keyhaven_rp::{verify_registration, VerifyError};
use serde_json::Value;
use std::time::{Duration, UNIX_EPOCH};

// W3C vector helpers.

pub fn vectors() -> Vec<Value> {
    keyhaven_testkit::vectors::all()
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
