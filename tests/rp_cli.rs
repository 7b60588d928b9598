//! `keyhaven rp verify-registration` / `verify-authentication` as a user runs
//! them: exit 0 with the record, 1 with a JSON error naming the step, 2 for
//! unreadable input.

use serde_json::Value;
use std::process::Command;

fn keyhaven(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const REG_CHALLENGE: &str = "wRhKX934BF4T3Ef1S2H1pla2ZrWQGPFthw6SVumVIBI";
const AUTH_CHALLENGE: &str = "sRBvpGpXvvF4FRHAVX3ImKA0E9Xw8X0kRjDBlMfhrbU";

fn register(extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "rp",
        "verify-registration",
        "samples/registration-response.json",
        "--rp-id",
        "example.org",
        "--origin",
        "https://example.org",
        "--trust-root",
        "samples/w3c-attestation-root.pem",
        "--user-handle",
        "dXNlci0x",
    ];
    args.extend_from_slice(extra);
    keyhaven(&args)
}

#[test]
fn registration_then_authentication() {
    let (code, out, err) = register(&[
        "--challenge",
        REG_CHALLENGE,
        "--require-uv",
        "--now",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    let record: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(record["attestationFormat"], "packed");
    assert_eq!(record["attestationTrusted"], true);
    assert_eq!(record["userHandle"], "dXNlci0x");
    let dir = std::env::temp_dir().join(format!("keyhaven-rp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rec_path = dir.join("record.json");
    std::fs::write(&rec_path, &out).unwrap();
    let rec = rec_path.to_str().unwrap();
    let auth = |challenge: &str| {
        keyhaven(&[
            "rp",
            "verify-authentication",
            "samples/authentication-response.json",
            "--rp-id",
            "example.org",
            "--challenge",
            challenge,
            "--credential",
            rec,
        ])
    };
    let (code, out, err) = auth(AUTH_CHALLENGE);
    assert_eq!(code, 0, "{err}");
    let updated: Value = serde_json::from_str(&out).unwrap();
    assert!(updated["lastUsedAt"].is_u64());
    let (code, out, _) = auth(REG_CHALLENGE);
    assert_eq!(code, 1);
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["verified"], false);
    assert_eq!(e["step"], "L3 §7.2 step 11");
    assert_eq!(e["check"], "Challenge");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn refusals_name_the_step() {
    let (code, out, _) = register(&[
        "--challenge",
        AUTH_CHALLENGE,
        "--now",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 1);
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["step"], "L3 §7.1 step 8");
    let (code, out, _) = keyhaven(&[
        "rp",
        "verify-registration",
        "samples/registration-response.json",
        "--rp-id",
        "example.com",
        "--origin",
        "https://example.org",
        "--challenge",
        REG_CHALLENGE,
    ]);
    assert_eq!(code, 1);
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["check"], "RpIdHash");
    // Certificates checked against the supplied clock.
    let (code, out, _) = register(&[
        "--challenge",
        REG_CHALLENGE,
        "--now",
        "2020-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 1);
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["check"], "AttestationTrust");
}

#[test]
fn unreadable_input_exits_2() {
    for (args, expect) in [
        (
            vec![
                "rp",
                "verify-registration",
                "/nonexistent",
                "--rp-id",
                "x",
                "--challenge",
                "AA",
            ],
            "cannot read /nonexistent",
        ),
        (
            vec![
                "rp",
                "verify-registration",
                "samples/attestation-object.b64",
                "--rp-id",
                "x",
                "--challenge",
                "AA",
            ],
            "not a RegistrationResponseJSON",
        ),
        (
            vec![
                "rp",
                "verify-registration",
                "samples/registration-response.json",
                "--rp-id",
                "x",
                "--challenge",
                "*",
            ],
            "--challenge",
        ),
        (
            vec![
                "rp",
                "verify-registration",
                "samples/registration-response.json",
                "--rp-id",
                "x",
                "--challenge",
                "AA",
                "--now",
                "soon",
            ],
            "--now",
        ),
        (
            vec![
                "rp",
                "verify-authentication",
                "samples/authentication-response.json",
                "--rp-id",
                "x",
                "--challenge",
                "AA",
                "--credential",
                "samples/registration-response.json",
            ],
            "not a credential record",
        ),
        (
            vec![
                "rp",
                "verify-registration",
                "samples/registration-response.json",
                "--rp-id",
                "x",
                "--challenge",
                "AA",
                "--mds",
                "samples/attestation-object.b64",
            ],
            "--mds needs --mds-root",
        ),
        (
            vec![
                "rp",
                "verify-registration",
                "samples/registration-response.json",
                "--rp-id",
                "x",
                "--challenge",
                "AA",
                "--mds",
                "samples/attestation-object.b64",
                "--mds-root",
                "samples/w3c-attestation-root.pem",
            ],
            "MDS BLOB: malformed JWT",
        ),
    ] {
        let (code, out, err) = keyhaven(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}

/// The W3C vector the samples are made from (packed-es256.registration).
fn sample_vector() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/vectors.json");
    let v: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v.into_iter()
        .find(|x| x["id"] == "packed-es256.registration")
        .unwrap()
}

/// The sample's attestation certificate's serial number (x5c[0]).
fn sample_leaf_serial() -> Vec<u8> {
    use keyhaven_proto::der::{Reader, Tag};
    let x = sample_vector();
    let ao = keyhaven_proto::b64::decode(x["attestation_object_b64url"].as_str().unwrap()).unwrap();
    let ao = keyhaven_proto::attestation::AttestationObject::from_bytes(&ao).unwrap();
    let leaf = ao.att_stmt.get_text("x5c").unwrap().as_array().unwrap()[0]
        .as_bytes()
        .unwrap()
        .to_vec();
    let mut cert = Reader::new(&leaf);
    let mut tbs = cert
        .expect(Tag::SEQUENCE)
        .unwrap()
        .expect(Tag::SEQUENCE)
        .unwrap();
    let (tag, _) = tbs.read().unwrap(); // [0] version
    assert_eq!(tag, Tag::explicit(0));
    tbs.expect(Tag::INTEGER).unwrap().bytes().to_vec()
}

/// `--crl`: a CRL of the sample's root listing its attestation certificate
/// refuses the registration; one listing another serial does not; a CRL that is
/// not current refuses it too (revocation status unknown). The CRLs are signed
/// in the test with the vector's root key.
#[test]
fn crl_revokes_the_attestation_certificate() {
    use rcgen::{
        CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevokedCertParams,
        SerialNumber,
    };
    let x = sample_vector();
    let root = &x["attestation_trust_root"];
    let b = |k: &str| keyhaven_proto::b64::decode(root[k].as_str().unwrap()).unwrap();
    let scalar = b("ca_private_key_b64url");
    let pkcs8 = keyhaven_crypto::signature::SigningKey::from_ec_scalar(
        keyhaven_proto::cose::CoseAlgorithm::Es256,
        &scalar,
    )
    .unwrap()
    .to_pkcs8()
    .unwrap();
    let key = KeyPair::try_from(pkcs8.expose()).unwrap();
    let root_der = b("cert_der_b64url");
    let issuer = Issuer::from_ca_cert_der(&root_der.as_slice().into(), key).unwrap();
    let at = |s: i64| time::OffsetDateTime::from_unix_timestamp(s).unwrap();
    let crl = |serial: Vec<u8>, this: i64, next: i64| {
        CertificateRevocationListParams {
            this_update: at(this),
            next_update: at(next),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from_slice(&serial),
                revocation_time: at(this),
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .unwrap()
        .pem()
        .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str, pem: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, pem).unwrap();
        p.to_string_lossy().into_owned()
    };
    // 2026-01-01 ± a month.
    let (this, next) = (1_764_547_200, 1_769_904_000);
    let serial = sample_leaf_serial();
    let listed = path("listed.pem", crl(serial.clone(), this, next));
    let other = path("other.pem", crl(vec![0x01, 0x02, 0x03], this, next));
    let stale = path(
        "stale.pem",
        crl(vec![0x01], this - 100_000_000, next - 100_000_000),
    );
    let run = |crl: &str| {
        register(&[
            "--challenge",
            REG_CHALLENGE,
            "--now",
            "2026-01-01T00:00:00Z",
            "--crl",
            crl,
        ])
    };
    let (code, out, err) = run(&listed);
    assert_eq!(code, 1, "{err}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["check"], "AttestationTrust");
    assert!(e["error"].as_str().unwrap().contains("revoked"), "{e}");
    let (code, _, err) = run(&other);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&stale);
    assert_eq!(code, 1);
    assert!(out.contains("is not current"), "{out}");
    // Not a CRL: unreadable input, one line, exit 2.
    let junk = path("junk.pem", "hello".into());
    let (code, _, err) = run(&junk);
    assert_eq!(code, 2);
    assert!(err.contains("no PEM X509 CRL"), "{err}");
}

/// Dates are calendar-checked: 31 February is not a date.
#[test]
fn impossible_dates_are_refused() {
    let (code, _, err) = register(&[
        "--challenge",
        REG_CHALLENGE,
        "--now",
        "2026-02-31T00:00:00Z",
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--now: not an RFC 3339 date-time"), "{err}");
}
