//! Attestation formats without W3C vectors, with statements built here:
//! android-safetynet (a JWS from a certificate issued to attest.android.com)
//! and compound (several statements at once).

mod common;

use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::signature::SigningKey;
use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::authdata::{Aaguid, AttestedCredentialData, AuthenticatorData, Flags};
use keyhaven_proto::b64;
use keyhaven_proto::cbor::Value;
use keyhaven_proto::client_data::{CollectedClientData, TYPE_CREATE};
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::json::{
    AttestationResponseJson, ExtensionOutputsJson, RegistrationResponseJson,
};
use keyhaven_rp::attestation::AttestationType;
use keyhaven_rp::options::RegistrationState;
use keyhaven_rp::{verify_registration, RegistrationResult, RpConfig, VerifyError};
use keyhaven_testkit::jws::{base64_std, jws};
use keyhaven_testkit::pki::{pki_with, Pki};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

/// A registration for a fresh ES256 credential, its statement made by `stmt`
/// from (authenticatorData, clientDataHash, credential key).
fn register(
    cfg: &RpConfig,
    fmt: &str,
    stmt: impl Fn(&[u8], &[u8; 32], &SigningKey) -> Value,
) -> Result<RegistrationResult, VerifyError> {
    let key = SigningKey::generate(CoseAlgorithm::Es256).unwrap();
    let cred_id = vec![0x42; 16];
    let ad = AuthenticatorData::new(sha256(b"example.org"), Flags::UP | Flags::UV, 0)
        .with_attested_credential_data(AttestedCredentialData {
            aaguid: Aaguid([7; 16]),
            credential_id: cred_id.clone(),
            credential_public_key: key.public_key(),
        });
    let challenge = [9u8; 32];
    let cd =
        CollectedClientData::new(TYPE_CREATE, &challenge, "https://example.org").to_json_bytes();
    let cdh = sha256(&cd);
    let att = stmt(&ad.to_bytes(), &cdh, &key);
    let ao = AttestationObject::new(fmt, att, ad);
    let resp = RegistrationResponseJson {
        id: b64::encode(&cred_id),
        raw_id: cred_id,
        response: AttestationResponseJson {
            client_data_json: cd,
            attestation_object: ao.to_bytes(),
            authenticator_data: None,
            transports: vec![],
            public_key: None,
            public_key_algorithm: None,
        },
        authenticator_attachment: None,
        client_extension_results: ExtensionOutputsJson::default(),
        type_: "public-key".into(),
    };
    let state = RegistrationState {
        challenge: challenge.to_vec(),
        user_handle: b"u".to_vec(),
        algorithms: vec![-7],
        user_verification_required: false,
        conditional_mediation: false,
        extensions: None,
    };
    verify_registration(cfg, &resp, &state, |_| false)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::canonical_map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

/// An android-safetynet statement maker: a JWS from `p`'s leaf over the nonce
/// (damaged unless `nonce_ok`), with ctsProfileMatch `cts` and timestamp `ts`.
fn safetynet(
    p: &Pki,
    nonce_ok: bool,
    cts: bool,
    ts: u64,
) -> impl Fn(&[u8], &[u8; 32], &SigningKey) -> Value + '_ {
    move |ad: &[u8], cdh: &[u8; 32], _: &SigningKey| {
        let mut nonce = sha256(&[ad, cdh.as_slice()].concat()).to_vec();
        if !nonce_ok {
            nonce[0] ^= 1;
        }
        let token = jws(
            p,
            &json!({"nonce": base64_std(&nonce), "timestampMs": ts, "ctsProfileMatch": cts, "basicIntegrity": true,
                     "apkPackageName": "com.google.android.gms"}),
        );
        map(vec![
            ("ver", Value::from("200616037")),
            ("response", Value::Bytes(token.into_bytes())),
        ])
    }
}

#[test]
fn android_safetynet() {
    let good = pki_with("attest.android.com");
    let mut cfg = RpConfig::new("example.org", "Example");
    cfg.attestation.trust_anchors = vec![good.root_der.clone()];
    cfg.attestation.require_trusted = true;
    let r = register(
        &cfg,
        "android-safetynet",
        safetynet(&good, true, true, now_ms()),
    )
    .unwrap();
    assert_eq!(r.attestation.attestation_type, AttestationType::Basic);
    assert!(r.attestation_trusted);
    for (what, result) in [
        (
            "wrong nonce",
            register(
                &cfg,
                "android-safetynet",
                safetynet(&good, false, true, now_ms()),
            ),
        ),
        (
            "ctsProfileMatch false",
            register(
                &cfg,
                "android-safetynet",
                safetynet(&good, true, false, now_ms()),
            ),
        ),
        (
            "stale timestamp",
            register(
                &cfg,
                "android-safetynet",
                safetynet(&good, true, true, now_ms() - 3_600_000),
            ),
        ),
        (
            "future timestamp",
            register(
                &cfg,
                "android-safetynet",
                safetynet(&good, true, true, now_ms() + 3_600_000),
            ),
        ),
    ] {
        let e = result.expect_err(what);
        assert!(
            matches!(
                e,
                VerifyError::Attestation {
                    fmt: "android-safetynet",
                    ..
                }
            ),
            "{what}: {e}"
        );
    }
    let other_host = pki_with("attest.example.com");
    let e = register(
        &cfg,
        "android-safetynet",
        safetynet(&other_host, true, true, now_ms()),
    )
    .unwrap_err();
    assert!(e.to_string().contains("attest.android.com"), "{e}");
    // Relaxed policy: ctsProfileMatch not required.
    cfg.attestation.safetynet_require_cts_profile_match = false;
    register(
        &cfg,
        "android-safetynet",
        safetynet(&good, true, false, now_ms()),
    )
    .unwrap();
}

#[test]
fn compound() {
    let cfg = RpConfig::new("example.org", "Example");
    let packed_self = |ad: &[u8], cdh: &[u8; 32], key: &SigningKey| {
        let sig = key.sign(&[ad, cdh.as_slice()].concat()).unwrap();
        map(vec![("alg", Value::from(-7)), ("sig", Value::Bytes(sig))])
    };
    let sub = |fmt: &str, stmt: Value| map(vec![("fmt", Value::from(fmt)), ("attStmt", stmt)]);
    let r = register(&cfg, "compound", |ad, cdh, key| {
        Value::Array(vec![
            sub("packed", packed_self(ad, cdh, key)),
            sub("none", map(vec![])),
        ])
    })
    .unwrap();
    assert_eq!(r.attestation.fmt, "compound");
    assert_eq!(
        r.attestation.attestation_type,
        AttestationType::Uncertain,
        "Self and None differ"
    );
    let r = register(&cfg, "compound", |ad, cdh, key| {
        Value::Array(vec![
            sub("packed", packed_self(ad, cdh, key)),
            sub("packed", packed_self(ad, cdh, key)),
        ])
    })
    .unwrap();
    assert_eq!(
        r.attestation.attestation_type,
        AttestationType::SelfAttestation
    );
    for (what, result) in [
        (
            "a failing sub-statement",
            register(&cfg, "compound", |ad, cdh, key| {
                let mut bad = packed_self(ad, cdh, key);
                if let Value::Map(m) = &mut bad {
                    if let Value::Bytes(s) = &mut m[1].1 {
                        s[10] ^= 1;
                    }
                }
                Value::Array(vec![sub("packed", bad), sub("none", map(vec![]))])
            }),
        ),
        (
            "a single statement",
            register(&cfg, "compound", |ad, cdh, key| {
                Value::Array(vec![sub("packed", packed_self(ad, cdh, key))])
            }),
        ),
        (
            "a nested compound",
            register(&cfg, "compound", |_, _, _| {
                Value::Array(vec![
                    sub("none", map(vec![])),
                    sub("compound", Value::Array(vec![])),
                ])
            }),
        ),
        ("a map", register(&cfg, "compound", |_, _, _| map(vec![]))),
    ] {
        let e = result.expect_err(what);
        assert!(
            matches!(
                e,
                VerifyError::Attestation {
                    fmt: "compound",
                    ..
                }
            ),
            "{what}: {e}"
        );
    }
    // An unknown format is refused at step 21.
    let e = register(&cfg, "packed2", |_, _, _| map(vec![])).unwrap_err();
    assert!(
        matches!(e, VerifyError::UnsupportedFormat(ref f) if f == "packed2"),
        "{e}"
    );
}
