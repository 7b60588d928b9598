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
