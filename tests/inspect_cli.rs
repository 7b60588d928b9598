//! End-to-end tests of `keyhaven inspect` as a user runs it: every W3C vector
//! in several encodings, CTAP2 messages, and malformed inputs that must give
//! exit code 2 with one precise line.

use keyhaven_proto::authdata::AuthenticatorData;
use keyhaven_proto::b64;
use keyhaven_proto::ctap2::get_assertion::{GetAssertionRequest, GetAssertionResponse};
use keyhaven_proto::ctap2::types::CredentialDescriptor;
use keyhaven_proto::ctap2::{Request, Response, ResponseBody};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keyhaven");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn inspect_json(input: &[u8]) -> Value {
    let r = run(&["inspect", "--json"], input);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    serde_json::from_str(&r.stdout).expect("--json prints JSON")
}

fn vectors() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn every_vector_in_every_encoding() {
    for v in vectors().iter().filter(|v| v["kind"] != "prf") {
        let id = v["id"].as_str().unwrap();
        let cd = b64::decode(v["client_data_json_b64url"].as_str().unwrap()).unwrap();
        let j = inspect_json(&cd);
        assert_eq!(j["kind"], "clientDataJSON", "{id}");
        assert_eq!(j["value"]["origin"], "https://example.org", "{id}");
        assert_eq!(j["value"]["serializedPerSpec"], true, "{id}");

        let cose_b64 = v["credential_public_key_cose_b64url"].as_str().unwrap();
        let j = inspect_json(cose_b64.as_bytes());
        assert_eq!(j["kind"], "COSE_Key", "{id}");
        assert!(j["value"]["alg"]
            .as_str()
            .unwrap()
            .contains(&format!("({})", v["credential_public_key"]["alg"])));

        if v["kind"] == "registration" {
            let b64_text = v["attestation_object_b64url"].as_str().unwrap();
            let raw = b64::decode(b64_text).unwrap();
            let exp = &v["expected"];
            for input in [
                b64_text.as_bytes().to_vec(),
                hex(&raw).into_bytes(),
                raw.clone(),
            ] {
                let j = inspect_json(&input);
                assert_eq!(j["kind"], "attestationObject", "{id}");
                assert_eq!(j["value"]["fmt"], exp["fmt"], "{id}");
                let acd = &j["value"]["authData"]["attestedCredentialData"];
                assert_eq!(acd["aaguid"], exp["aaguid"], "{id}");
                assert_eq!(
                    acd["credentialIdLength"], exp["credential_id_length"],
                    "{id}"
                );
                assert_eq!(
                    j["value"]["authData"]["flags"]["byte"],
                    format!("0x{:02x}", exp["flags"]["byte"].as_u64().unwrap())
                );
            }
            let text = run(&["inspect"], b64_text.as_bytes());
            assert_eq!(text.code, 0);
            assert!(
                text.stdout.contains("aaguid:"),
                "{id}: text output names the AAGUID"
            );
            if exp["attestation_statement"]["x5c_len"]
                .as_u64()
                .unwrap_or(0)
                > 0
            {
                assert!(
                    text.stdout.contains("issuer: CN=WebAuthn test vectors"),
                    "{id}: certificate issuer shown"
                );
                assert!(text.stdout.contains("notAfter:"), "{id}: validity shown");
            }
        } else {
            let ad = v["authenticator_data_b64url"].as_str().unwrap();
            let j = inspect_json(ad.as_bytes());
            assert_eq!(j["kind"], "authenticatorData", "{id}");
            assert_eq!(j["value"]["signCount"], 0);
            assert_eq!(j["value"]["flags"]["userPresent"], true);
        }
    }
}

#[test]
fn ctap_messages() {
    let v = vectors();
    let a = v
        .iter()
        .find(|v| v["id"] == "packed-es256.authentication")
        .unwrap();
    let ad_raw = b64::decode(a["authenticator_data_b64url"].as_str().unwrap()).unwrap();
    let mut resp = GetAssertionResponse::new(
        AuthenticatorData::from_bytes(&ad_raw).unwrap(),
        b64::decode(a["signature_b64url"].as_str().unwrap()).unwrap(),
    );
    resp.credential = Some(CredentialDescriptor::public_key(vec![1, 2, 3]));
    resp.number_of_credentials = Some(2);
    let msg = Response::ok(ResponseBody::GetAssertion(resp)).to_bytes();
    let j = inspect_json(hex(&msg).as_bytes());
    assert_eq!(j["kind"], "CTAP2 response");
    assert_eq!(j["value"]["responseTo"], "authenticatorGetAssertion");
    assert_eq!(j["value"]["body"]["numberOfCredentials (0x05)"], 2);
    assert_eq!(
        j["value"]["body"]["authData (0x02)"]["flags"]["set"],
        "UP UV BE"
    );

    let mut req = GetAssertionRequest::new("example.org", vec![7; 32]);
    req.allow_list = Some(vec![CredentialDescriptor::public_key(vec![9; 16])]);
    let j = inspect_json(b64::encode(&Request::GetAssertion(req).to_bytes()).as_bytes());
    assert_eq!(j["kind"], "CTAP2 request");
    assert_eq!(j["value"]["command"], "authenticatorGetAssertion (0x02)");
    assert_eq!(j["value"]["parameters"]["rpId (0x01)"], "example.org");

    let j = inspect_json(b"31");
    assert_eq!(j["value"]["status"], "0x31 CTAP2_ERR_PIN_INVALID");
}

#[test]
fn forced_encoding() {
    // "deadbeef…" is valid hex and valid base64: --encoding decides.
    let ad_hex = format!("{}{}{}", "de".repeat(32), "01", "00000009");
    let j = inspect_json(ad_hex.as_bytes());
    assert_eq!(j["encoding"], "hex");
    assert_eq!(j["value"]["signCount"], 9);
    // As base64, 74 characters leave non-zero unused bits: refused, so the encoding was not guessed.
    let r = run(
        &["inspect", "--json", "--encoding", "base64"],
        ad_hex.as_bytes(),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("base64url") && r.stderr.contains("character 73"),
        "{}",
        r.stderr
    );
    let r = run(
        &["inspect", "--json", "--encoding", "raw", "--as", "authdata"],
        ad_hex.as_bytes(),
    );
    assert_eq!(
        r.code, 2,
        "74 raw ASCII bytes are not 37 bytes of authenticatorData"
    );
    assert!(
        r.stderr.contains("authenticatorData at byte 53"),
        "{}",
        r.stderr
    );
}

#[test]
fn sample_files() {
    for (file, kind) in [
        (
            "samples/authentication-response.json",
            "AuthenticationResponseJSON",
        ),
        (
            "samples/registration-response.json",
            "RegistrationResponseJSON",
        ),
        ("samples/attestation-object.b64", "attestationObject"),
    ] {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let r = run(&["inspect", &path, "--json"], b"");
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        let j: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(j["kind"], kind);
    }
}

/// Each malformed input: exit code 2, one line on stderr containing `expect`.
#[test]
fn malformed_inputs_exit_2_with_one_precise_line() {
    let v = vectors();
    let reg = v
        .iter()
        .find(|v| v["id"] == "packed-es256.registration")
        .unwrap();
    let ao = b64::decode(reg["attestation_object_b64url"].as_str().unwrap()).unwrap();
    let auth = v
        .iter()
        .find(|v| v["id"] == "packed-es256.authentication")
        .unwrap();
    let ad = b64::decode(auth["authenticator_data_b64url"].as_str().unwrap()).unwrap();
    let ad_at = {
        // authData of the registration: find it inside the attestation object.
        let obj = keyhaven_proto::attestation::AttestationObject::from_bytes(&ao).unwrap();
        obj.auth_data_raw
    };
    let mut lying_cred_len = ad_at.clone();
    lying_cred_len[53] = 0x01; // credentialIdLength 0x0120 = 288 > what follows
    let mut too_long_id = ad_at.clone();
    too_long_id[53] = 0x04;
    too_long_id[54] = 0x00; // 1024
    let mut ad_trailing = ad.clone();
    ad_trailing.push(0xaa);
    let mut ao_trailing = ao.clone();
    ao_trailing.push(0x00);
    let deep = "a101".repeat(40) + "00";
    let ao_trailing_msg = format!("CBOR at byte {}: 1 trailing byte", ao.len());

    let cases: Vec<(&str, Vec<u8>, Vec<&str>, &str)> = vec![
        (
            "truncated authenticatorData",
            ad[..30].to_vec(),
            vec!["--as", "authdata"],
            "expected 37 byte(s), found 30",
        ),
        (
            "short unknown bytes",
            vec![0xfe; 20],
            vec![],
            "authenticatorData at byte 0: truncated header",
        ),
        (
            "truncated attestationObject",
            ao[..ao.len() / 2].to_vec(),
            vec![],
            "input ends early",
        ),
        (
            "trailing byte after attestationObject",
            ao_trailing,
            vec![],
            &ao_trailing_msg,
        ),
        (
            "trailing byte after authenticatorData",
            ad_trailing,
            vec![],
            "authenticatorData at byte 37: 1 trailing byte",
        ),
        (
            "wrong base64",
            b"o2NmbXRkbm9uZWd*dHRTdG10oGhhdXRo".to_vec(),
            vec![],
            "unexpected character '*' at character 15",
        ),
        (
            "lying credentialIdLength",
            lying_cred_len,
            vec!["--as", "authdata"],
            "truncated credentialId: expected 288",
        ),
        (
            "credentialIdLength over 1023",
            too_long_id,
            vec!["--as", "authdata"],
            "credentialIdLength 1024 exceeds the maximum of 1023",
        ),
        (
            "lying CBOR byte-string length",
            vec![0xa1, 0x01, 0x5a, 0xff, 0xff, 0xff, 0xff, 0x00],
            vec![],
            "input ends early: expected 4294967295",
        ),
        (
            "deep nesting",
            deep.into_bytes(),
            vec![],
            "nesting deeper than 16 levels",
        ),
        (
            "unsorted map keys",
            hex(&[0xa2, 0x03, 0x26, 0x01, 0x02]).into_bytes(),
            vec![],
            "map keys out of canonical order",
        ),
        (
            "duplicate map keys",
            hex(&[0xa2, 0x01, 0x02, 0x01, 0x02]).into_bytes(),
            vec![],
            "CBOR at byte 3: duplicate map key",
        ),
        (
            "non-shortest integer",
            hex(&[0xa1, 0x18, 0x01, 0x02]).into_bytes(),
            vec![],
            "non-shortest encoding of 1",
        ),
        (
            "indefinite length",
            hex(&[0xbf, 0x01, 0x02, 0xff]).into_bytes(),
            vec![],
            "indefinite-length item",
        ),
        (
            "unknown COSE algorithm",
            hex(&[0xa3, 0x01, 0x02, 0x03, 0x39, 0x03, 0xe6, 0x20, 0x01]).into_bytes(),
            vec![],
            "unsupported algorithm -999",
        ),
        (
            "invalid JSON",
            br#"{"type":"webauthn.get","challenge":"#.to_vec(),
            vec![],
            "EOF while parsing",
        ),
        (
            "clientDataJSON without challenge",
            br#"{"type":"webauthn.get","origin":"https://example.org"}"#.to_vec(),
            vec![],
            "missing member \"challenge\"",
        ),
        (
            "unknown --as kind",
            b"00".to_vec(),
            vec!["--as", "banana"],
            "unknown kind \"banana\"",
        ),
        ("empty input", b"  \n".to_vec(), vec![], "input is empty"),
        (
            "odd hex with --encoding hex",
            b"abc".to_vec(),
            vec!["--encoding", "hex"],
            "odd number of hex digits (3)",
        ),
        (
            "unknown --encoding",
            b"00".to_vec(),
            vec!["--encoding", "rot13"],
            "unknown encoding \"rot13\"",
        ),
        (
            "unknown CTAP command",
            hex(&[0x03, 0xa0]).into_bytes(),
            vec!["--as", "ctap-request"],
            "unknown CTAP2 command byte 0x03",
        ),
        (
            "CTAP request missing parameter",
            hex(&[0x02, 0xa1, 0x01, 0x61, 0x61]).into_bytes(),
            vec![],
            "missing required member 2 (clientDataHash)",
        ),
    ];
    assert!(cases.len() >= 10);
    for (name, input, extra, expect) in cases {
        let mut args = vec!["inspect"];
        args.extend(extra);
        let r = run(&args, &input);
        assert_eq!(
            r.code, 2,
            "{name}: exit code (stdout {:?}, stderr {:?})",
            r.stdout, r.stderr
        );
        assert_eq!(
            r.stderr.lines().count(),
            1,
            "{name}: exactly one line: {:?}",
            r.stderr
        );
        assert!(
            r.stderr.contains(expect),
            "{name}: expected {expect:?} in {:?}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("panicked") && !r.stderr.contains("backtrace"),
            "{name}"
        );
        assert!(r.stdout.is_empty(), "{name}: nothing on stdout");
    }
    let r = run(&["inspect", "/nonexistent/file"], b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot read /nonexistent/file"));
}

/// An attestation object whose outer map is not in canonical key order (as
/// Windows and some security keys send it) is described, with a note saying
/// it is not canonical; a duplicate key is still refused.
#[test]
fn non_canonical_attestation_object_gets_a_note() {
    use keyhaven_proto::cbor::{self, Value as Cbor};
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/attestation-object.b64"
    ))
    .unwrap();
    let ao = b64::decode(text.trim()).unwrap();
    let Cbor::Map(mut entries) = cbor::decode(&ao).unwrap() else {
        panic!("not a map")
    };
    entries.reverse();
    let reordered = cbor::encode(&Cbor::Map(entries.clone()));
    assert!(
        cbor::decode(&reordered).is_err(),
        "the fixture must not be canonical"
    );
    let v = inspect_json(b64::encode(&reordered).as_bytes());
    let note = v["value"]["note"].as_str().unwrap_or_else(|| panic!("{v}"));
    assert!(note.starts_with("not canonical: "), "{note}");
    assert!(note.contains("canonical order"), "{note}");
    assert_eq!(v["value"]["fmt"], "packed");
    // The canonical original carries no note.
    assert!(inspect_json(text.trim().as_bytes())["value"]["note"].is_null());
    // A duplicate key is not well-formed for any policy: refused, exit 2, one line.
    entries.push(entries[0].clone());
    let dup = cbor::encode(&Cbor::Map(entries));
    let r = run(&["inspect"], b64::encode(&dup).as_bytes());
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

/// An ML-DSA-65 credential (py_webauthn's, from the real-world corpus):
/// inspect names the AKP key type, the algorithm, the key's length and its
/// RFC 9881 SubjectPublicKeyInfo.
#[test]
fn ml_dsa_keys_are_shown() {
    let case: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/realworld/cases/py_webauthn/verify_registration_response/verify_pqc_ml_dsa_65_packed_response.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let ao = case["response"]["response"]["attestationObject"]
        .as_str()
        .unwrap();
    let v = inspect_json(ao.as_bytes());
    let key = &v["value"]["authData"]["attestedCredentialData"]["credentialPublicKey"];
    assert_eq!(key["kty"], "AKP (7)", "{key}");
    assert_eq!(key["alg"], "ML-DSA-65 (-49)");
    assert_eq!(key["pubBytes"], 1952);
    assert_eq!(key["pub"].as_str().unwrap().len(), 2 * 1952);
    // SEQUENCE { SEQUENCE { id-ml-dsa-65 }, BIT STRING }
    assert!(key["subjectPublicKeyInfo"]
        .as_str()
        .unwrap()
        .starts_with("308207b2300b0609608648016503040312038207a100"));
}
