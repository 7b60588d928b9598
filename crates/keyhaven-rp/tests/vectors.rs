//! Golden tests: every W3C WebAuthn L3 registration and authentication vector
//! through the full ceremonies, with the spec's attestation root as the only
//! configured trust anchor.

mod common;

use common::{allow_cross_origin, authentication, b, config, register, registration, vectors};
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_rp::config::MissingTopOrigin;
use keyhaven_rp::{verify_authentication, verify_registration, CredentialRecord, VerifyError};
use std::time::{Duration, UNIX_EPOCH};

#[test]
fn registration_vectors_verify_with_expected_attestation_type() {
    let all = vectors();
    let mut checked = 0;
    for v in all.iter().filter(|v| v["kind"] == "registration") {
        let id = v["id"].as_str().unwrap();
        let exp = &v["expected"];
        if id == "android-key-es256.registration" {
            // The main-branch vector lacks origin/purpose in its key description: a strict verifier rejects it.
            let e = register(v).unwrap_err();
            assert!(
                matches!(
                    e,
                    VerifyError::Attestation {
                        fmt: "android-key",
                        ..
                    }
                ),
                "{id}: {e}"
            );
            assert!(e.to_string().contains("KM_ORIGIN_GENERATED"), "{id}: {e}");
            checked += 1;
            continue;
        }
        let r = register(v).unwrap_or_else(|e| panic!("{id}: {e}"));
        let expected_types: Vec<&str> = exp["attestation_type"]
            .as_str()
            .unwrap()
            .split('|')
            .collect();
        assert!(
            expected_types.contains(&r.attestation.attestation_type.name()),
            "{id}: attestation type {} not in {expected_types:?}",
            r.attestation.attestation_type.name()
        );
        assert_eq!(
            r.attestation_trusted,
            exp["x5c_chains_to_trust_root"] == true,
            "{id}: trusted"
        );
        assert_eq!(r.record.attestation_format, exp["fmt"].as_str().unwrap());
        assert_eq!(r.record.algorithm, exp["credential_alg"].as_i64().unwrap());
        assert_eq!(r.record.aaguid, exp["aaguid"].as_str().unwrap());
        assert_eq!(
            r.record.id.len() as u64,
            exp["credential_id_length"].as_u64().unwrap()
        );
        assert_eq!(r.record.backup_eligible, exp["flags"]["be"] == true);
        assert_eq!(r.record.backup_state, exp["credential_backed_up"] == true);
        assert_eq!(r.user_verified, exp["user_verified"] == true);

        // Requiring UV passes exactly when the vector says it does.
        let mut cfg = config(v);
        if v["cross_origin"] == true {
            allow_cross_origin(&mut cfg);
        }
        let (resp, mut state) = registration(v);
        state.user_verification_required = true;
        let uv = verify_registration(&cfg, &resp, &state, |_| false);
        assert_eq!(
            uv.is_ok(),
            exp["require_user_verification_ok"] == true,
            "{id}: require UV"
        );
        if let Err(e) = uv {
            assert!(
                matches!(e, VerifyError::UserVerification { .. }),
                "{id}: {e}"
            );
        }
        // Already registered: step 26.
        let (resp, state) = registration(v);
        assert!(matches!(
            verify_registration(&cfg, &resp, &state, |_| true),
            Err(VerifyError::CredentialAlreadyRegistered { .. })
        ));
        checked += 1;
    }
    assert_eq!(checked, 16);
}

#[test]
fn authentication_vectors_verify_against_their_registration() {
    let all = vectors();
    let mut checked = 0;
    for v in all.iter().filter(|v| v["kind"] == "authentication") {
        let id = v["id"].as_str().unwrap();
        let reg_id = v["registration_id"].as_str().unwrap();
        let reg_id = if reg_id == "android-key-es256.registration" {
            "android-key-es256.registration@L3-CR"
        } else {
            reg_id
        };
        let reg = all.iter().find(|r| r["id"] == reg_id).unwrap();
        let record = register(reg)
            .unwrap_or_else(|e| panic!("{reg_id}: {e}"))
            .record;
        let mut cfg = config(v);
        if v["cross_origin"] == true {
            allow_cross_origin(&mut cfg);
        }
        let (resp, state) = authentication(v);
        let r = verify_authentication(&cfg, &resp, &state, |_| Some(record.clone()))
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(r.record.sign_count, 0);
        assert_eq!(
            r.user_verified,
            v["expected"]["user_verified"] == true,
            "{id}"
        );
        assert_eq!(
            r.record.backup_state,
            v["expected"]["credential_backed_up"] == true,
            "{id}"
        );
        assert!(!r.counter_suspicious);
        // Requiring UV passes exactly when the vector says it does.
        let (resp, mut state) = authentication(v);
        state.user_verification_required = true;
        let uv = verify_authentication(&cfg, &resp, &state, |_| Some(record.clone()));
        assert_eq!(
            uv.is_ok(),
            v["expected"]["require_user_verification_ok"] == true,
            "{id}: require UV"
        );
        checked += 1;
    }
    assert_eq!(checked, 15);
}

#[test]
fn cross_origin_and_top_origin_need_policy() {
    let all = vectors();
    for id in [
        "none-es256-crossorigin.registration",
        "none-es256-toporigin.registration",
    ] {
        let v = all.iter().find(|v| v["id"] == id).unwrap();
        let (resp, state) = registration(v);
        // Default policy: cross-origin use is refused.
        let e = verify_registration(&config(v), &resp, &state, |_| false).unwrap_err();
        assert!(matches!(e, VerifyError::CrossOrigin { .. }), "{id}: {e}");
    }
    let top = all
        .iter()
        .find(|v| v["id"] == "none-es256-toporigin.registration")
        .unwrap();
    let (resp, state) = registration(top);
    let mut cfg = config(top);
    allow_cross_origin(&mut cfg);
    cfg.top_origins = vec!["https://other.example".into()];
    let e = verify_registration(&cfg, &resp, &state, |_| false).unwrap_err();
    assert!(matches!(e, VerifyError::TopOrigin { .. }), "{e}");
    cfg.top_origins = vec!["https://example.com".into()];
    verify_registration(&cfg, &resp, &state, |_| false).unwrap();
    // crossOrigin without topOrigin: allowed only with an explicit policy.
    let cross = all
        .iter()
        .find(|v| v["id"] == "none-es256-crossorigin.registration")
        .unwrap();
    let (resp, state) = registration(cross);
    let mut cfg = config(cross);
    allow_cross_origin(&mut cfg);
    cfg.missing_top_origin = MissingTopOrigin::Reject;
    let e = verify_registration(&cfg, &resp, &state, |_| false).unwrap_err();
    assert!(matches!(e, VerifyError::TopOrigin { .. }), "{e}");
}

#[test]
fn untrusted_without_anchor_and_rejected_when_required() {
    let all = vectors();
    let v = all
        .iter()
        .find(|v| v["id"] == "packed-es256.registration")
        .unwrap();
    let (resp, state) = registration(v);
    let mut cfg = config(v);
    cfg.attestation.trust_anchors.clear();
    let e = verify_registration(&cfg, &resp, &state, |_| false).unwrap_err();
    assert!(matches!(e, VerifyError::AttestationTrust { .. }), "{e}");
    cfg.attestation.require_trusted = false;
    let r = verify_registration(&cfg, &resp, &state, |_| false).unwrap();
    assert!(!r.attestation_trusted);
    // The leaf itself is not an anchor, and neither is any other root.
    let other = all
        .iter()
        .find(|v| v["id"] == "tpm-es256.registration")
        .unwrap();
    let x5c_leaf = {
        let ao = keyhaven_proto::attestation::AttestationObject::from_bytes(&b(
            &other["attestation_object_b64url"]
        ))
        .unwrap();
        ao.att_stmt.get_text("x5c").unwrap().as_array().unwrap()[0]
            .as_bytes()
            .unwrap()
            .to_vec()
    };
    cfg.attestation.trust_anchors = vec![x5c_leaf];
    cfg.attestation.require_trusted = true;
    assert!(matches!(
        verify_registration(&cfg, &resp, &state, |_| false),
        Err(VerifyError::AttestationTrust { .. })
    ));
    // Certificates outside their validity at the supplied clock.
    let mut cfg = config(v);
    cfg.clock = keyhaven_rp::time::Clock::fixed(UNIX_EPOCH + Duration::from_secs(1_600_000_000)); // 2020
    let e = verify_registration(&cfg, &resp, &state, |_| false).unwrap_err();
    assert!(e.to_string().contains("not valid before"), "{e}");
}

#[test]
fn record_round_trips_as_json() {
    let all = vectors();
    let v = all
        .iter()
        .find(|v| v["id"] == "packed-rs256.registration")
        .unwrap();
    let record = register(v).unwrap().record;
    let json = serde_json::to_string(&record).unwrap();
    let back: CredentialRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, record);
    assert_eq!(back.version, 1);
    assert_eq!(back.cose_key().unwrap().alg, CoseAlgorithm::Rs256);
}
