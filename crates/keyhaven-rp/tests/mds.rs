//! FIDO MDS3 with a BLOB and a root created here: the BLOB verifies only
//! through its x5c path to the configured root and with an intact signature;
//! its entries become trust anchors and status policy for registrations.

mod common;

use common::{registration, vectors};
use keyhaven_proto::b64;
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_rp::config::RpConfig;
use keyhaven_rp::mds::{MdsError, Metadata};
use keyhaven_rp::{verify_registration, VerifyError};
use keyhaven_testkit::jws::{base64_std, jws};
use keyhaven_testkit::pki::{pki, Pki};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

fn now() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

fn blob(p: &Pki, payload: &Value) -> String {
    jws(p, payload)
}

fn payload(all: &[Value]) -> Value {
    let v = |id: &str| all.iter().find(|v| v["id"] == id).unwrap().clone();
    let es256 = v("packed-es256.registration");
    let es384 = v("packed-es384.registration");
    let root = |x: &Value| {
        base64_std(
            &b64::decode(
                x["attestation_trust_root"]["cert_der_b64url"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap(),
        )
    };
    json!({
        "legalHeader": "test", "no": 7, "nextUpdate": "2026-12-01",
        "entries": [
            {"aaguid": es256["expected"]["aaguid"], "metadataStatement": {"description": "good", "attestationRootCertificates": [root(&es256)]},
             "statusReports": [{"status": "FIDO_CERTIFIED", "effectiveDate": "2024-01-01"}]},
            {"aaguid": es384["expected"]["aaguid"], "metadataStatement": {"description": "revoked", "attestationRootCertificates": [root(&es384)]},
             "statusReports": [{"status": "FIDO_CERTIFIED"}, {"status": "REVOKED", "effectiveDate": "2025-06-01"}]},
            {"attestationCertificateKeyIdentifiers": ["00112233445566778899AABBCCDDEEFF00112233"], "metadataStatement": {"description": "u2f"},
             "statusReports": []}
        ]
    })
}

fn register(v: &Value, cfg: &RpConfig) -> Result<keyhaven_rp::RegistrationResult, VerifyError> {
    let (resp, state) = registration(v);
    verify_registration(cfg, &resp, &state, |_| false)
}

#[test]
fn blob_verifies_and_indexes() {
    let p = pki();
    let all = vectors();
    let text = blob(&p, &payload(&all));
    let md = Metadata::from_blob(&text, std::slice::from_ref(&p.root_der), now()).unwrap();
    assert_eq!(md.no, 7);
    assert_eq!(md.entries.len(), 3);
    assert_eq!(
        md.by_aaguid("876CA4F5-2071-C3E9-B255-09EF2CDF7ED6")
            .unwrap()
            .description
            .as_deref(),
        Some("good")
    );
    assert_eq!(
        md.by_key_identifier("00112233445566778899aabbccddeeff00112233")
            .unwrap()
            .description
            .as_deref(),
        Some("u2f")
    );

    // Another root: the signer path is not trusted.
    let other = pki();
    assert!(matches!(
        Metadata::from_blob(&text, &[other.root_der], now()),
        Err(MdsError::Untrusted(_))
    ));
    // The leaf certificate as "root": a certificate in x5c is not an anchor by itself.
    assert!(
        Metadata::from_blob(&text, std::slice::from_ref(&p.leaf_der), now()).is_ok(),
        "configured leaf is an anchor"
    );
    // A changed payload no longer matches the signature.
    let parts: Vec<&str> = text.split('.').collect();
    let mut forged = payload(&all);
    forged["no"] = json!(8);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64::encode(forged.to_string().as_bytes()),
        parts[2]
    );
    assert!(matches!(
        Metadata::from_blob(&forged, std::slice::from_ref(&p.root_der), now()),
        Err(MdsError::Signature(_))
    ));
    assert!(matches!(
        Metadata::from_blob("a.b", std::slice::from_ref(&p.root_der), now()),
        Err(MdsError::Malformed(_))
    ));
}

#[test]
fn mds_entries_are_trust_anchors_and_status_policy() {
    let p = pki();
    let all = vectors();
    let md = Arc::new(
        Metadata::from_blob(
            &blob(&p, &payload(&all)),
            std::slice::from_ref(&p.root_der),
            now(),
        )
        .unwrap(),
    );
    let mut cfg = RpConfig::new("example.org", "Example");
    cfg.algorithms = CoseAlgorithm::ALL.to_vec();
    cfg.clock = keyhaven_rp::time::Clock::fixed(now());
    cfg.attestation.require_trusted = true;
    cfg.attestation.mds = Some(md.clone());
    let v = |id: &str| all.iter().find(|v| v["id"] == id).unwrap().clone();
    // No configured anchors: the MDS entry's root makes the path trusted.
    let r = register(&v("packed-es256.registration"), &cfg).unwrap();
    assert!(r.attestation_trusted);
    // REVOKED in MDS: refused at step 23.
    let e = register(&v("packed-es384.registration"), &cfg).unwrap_err();
    assert!(e.to_string().contains("REVOKED"), "{e}");
    // No entry: fine by default, refused when an entry is required.
    register(&v("none-es256.registration"), &cfg).unwrap();
    cfg.attestation.mds_require_entry = true;
    let e = register(&v("none-es256.registration"), &cfg).unwrap_err();
    assert!(e.to_string().contains("no FIDO MDS entry"), "{e}");
    // Without MDS and without anchors the packed path is untrusted.
    cfg.attestation.mds = None;
    cfg.attestation.mds_require_entry = false;
    assert!(matches!(
        register(&v("packed-es256.registration"), &cfg),
        Err(VerifyError::AttestationTrust { .. })
    ));
}

/// MDS3 §3.1.6: a BLOB past its nextUpdate is refused unless staleness is allowed.
#[test]
fn stale_blob_refused_unless_allowed() {
    use keyhaven_rp::mds::BlobPolicy;
    let p = pki();
    let text = blob(&p, &payload(&vectors()));
    let roots = std::slice::from_ref(&p.root_der);
    // nextUpdate is 2026-12-01: the BLOB is fresh through that day, stale the day after.
    let day = |s: &str| keyhaven_rp::time::parse_rfc3339(s).unwrap();
    assert!(Metadata::from_blob(&text, roots, day("2026-12-01T23:59:59Z")).is_ok());
    let e = Metadata::from_blob(&text, roots, day("2026-12-02T00:00:00Z")).unwrap_err();
    assert_eq!(
        e,
        MdsError::Stale {
            next_update: "2026-12-01".into(),
            today: "2026-12-02".into()
        }
    );
    let mut policy = BlobPolicy::at(day("2026-12-02T00:00:00Z"));
    policy.allow_stale = true;
    assert_eq!(
        Metadata::from_blob_with(&text, roots, &policy).unwrap().no,
        7
    );
    // A nextUpdate that is not a date is malformed, not "fresh forever".
    let mut bad = payload(&vectors());
    bad["nextUpdate"] = json!("2026-02-30");
    assert!(matches!(
        Metadata::from_blob(&blob(&p, &bad), roots, now()),
        Err(MdsError::Malformed(_))
    ));
}
