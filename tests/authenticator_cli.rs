//! `keyhaven authenticator serve --stdio` driven through its framing: requests
//! are a 4-byte big-endian length then the CTAP2 message; so are responses.
//! Credentials and counters persist across restarts in the encrypted store.

use keyhaven_proto::ctap2::get_assertion::GetAssertionRequest;
use keyhaven_proto::ctap2::make_credential::MakeCredentialRequest;
use keyhaven_proto::ctap2::types::UserEntity;
use keyhaven_proto::ctap2::{Command, Request, Response, ResponseBody, StatusCode};
use std::io::{Read, Write};
use std::process::{Command as Process, Stdio};

fn frame(msg: &[u8]) -> Vec<u8> {
    [(msg.len() as u32).to_be_bytes().as_slice(), msg].concat()
}

/// Runs one serve process over `requests`; returns the raw responses and the exit code.
fn session(store: &std::path::Path, requests: &[Vec<u8>]) -> (Vec<Vec<u8>>, i32) {
    let mut child = Process::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args([
            "authenticator",
            "serve",
            "--stdio",
            "--presence",
            "always",
            "--uv",
            "always",
            "--store",
        ])
        .arg(store)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for r in requests {
        stdin.write_all(&frame(r)).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let mut responses = Vec::new();
    let mut rest = out.stdout.as_slice();
    while rest.len() >= 4 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        responses.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    assert!(rest.is_empty(), "responses are framed exactly");
    (responses, out.status.code().unwrap_or(-1))
}

/// A fresh directory `keyhaven-NAME-…`, removed when the returned guard drops.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("keyhaven-{name}-"))
        .tempdir()
        .unwrap()
}

fn get_assertion() -> Vec<u8> {
    Request::GetAssertion(GetAssertionRequest::new("example.org", vec![2; 32])).to_bytes()
}

#[test]
fn serve_stdio_persists_credentials_and_counters() {
    let tmp = scratch("serve");
    let dir = tmp.path();
    let store = dir.join("auth.khs");
    let make = Request::MakeCredential(
        MakeCredentialRequest::new(
            vec![1; 32],
            "example.org",
            UserEntity::new(b"user-1".to_vec(), Some("alice")),
            -7,
        )
        .with_rk(true),
    )
    .to_bytes();
    let (responses, code) = session(&store, &[vec![0x04], make, get_assertion(), vec![0x42]]);
    assert_eq!(code, 0);
    assert_eq!(responses.len(), 4);
    let info = Response::from_bytes(Command::GetInfo, &responses[0]).unwrap();
    assert!(matches!(info.body, ResponseBody::GetInfo(_)));
    assert_eq!(
        Response::from_bytes(Command::MakeCredential, &responses[1])
            .unwrap()
            .status,
        StatusCode::Ok
    );
    let ResponseBody::GetAssertion(ga) = Response::from_bytes(Command::GetAssertion, &responses[2])
        .unwrap()
        .body
    else {
        panic!()
    };
    assert_eq!(ga.auth_data.sign_count, 1);
    assert_eq!(responses[3], [StatusCode::Ctap1ErrInvalidCommand.to_byte()]);
    // The key file sits beside the store, mode 0600; the store is encrypted.
    use std::os::unix::fs::PermissionsExt;
    let key = dir.join("auth.khs.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let raw = std::fs::read(&store).unwrap();
    assert!(!raw.windows(5).any(|w| w == b"alice"));
    // A new process finds the credential, and the counter continues.
    let (responses, _) = session(&store, &[get_assertion()]);
    let ResponseBody::GetAssertion(ga) = Response::from_bytes(Command::GetAssertion, &responses[0])
        .unwrap()
        .body
    else {
        panic!()
    };
    assert_eq!(ga.auth_data.sign_count, 2);
    assert_eq!(ga.user.unwrap().id, b"user-1");
}

#[test]
fn oversized_frames_and_missing_stdio() {
    let tmp = scratch("serve-big");
    let dir = tmp.path();
    let (responses, code) = session(&dir.join("s.khs"), &[vec![0u8; 70_000], vec![0x04]]);
    assert_eq!(code, 0);
    assert_eq!(responses[0], [StatusCode::Ctap1ErrInvalidLength.to_byte()]);
    assert_eq!(
        responses[1][0], 0,
        "the stream stays in sync after an oversized frame"
    );
    let out = Process::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args(["authenticator", "serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let mut s = String::new();
    out.stderr.as_slice().read_to_string(&mut s).unwrap();
    assert!(s.contains("--stdio") && s.contains("--hid-socket"), "{s}");
}

fn kh(args: &[&str], store: &std::path::Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Process::new(env!("CARGO_BIN_EXE_keyhaven"));
    c.args(["authenticator"])
        .args(args)
        .arg("--store")
        .arg(store);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn maintenance_subcommands() {
    let tmp = scratch("maint");
    let dir = tmp.path();
    let store = dir.join("m.khs");
    let make = Request::MakeCredential(
        MakeCredentialRequest::new(
            vec![1; 32],
            "example.org",
            UserEntity::new(b"u".to_vec(), Some("bob")),
            -8,
        )
        .with_rk(true),
    )
    .to_bytes();
    session(&store, &[make]);
    let (code, out, err) = kh(&["list", "--json"], &store, &[]);
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["user"], "bob");
    assert_eq!(list[0]["algorithm"], "EdDSA");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let (code, _, err) = kh(
        &["set-pin", "--pin-env", "KH_PIN"],
        &store,
        &[("KH_PIN", "123456")],
    );
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = kh(&["info", "--json"], &store, &[]);
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["options"]["clientPin"], true);
    let (code, _, err) = kh(
        &["change-pin", "--pin-env", "OLD", "--new-pin-env", "NEW"],
        &store,
        &[("OLD", "000000"), ("NEW", "654321")],
    );
    assert_eq!(code, 1);
    assert!(err.contains("CTAP2_ERR_PIN_INVALID"), "{err}");
    let (code, _, err) = kh(
        &["change-pin", "--pin-env", "OLD", "--new-pin-env", "NEW"],
        &store,
        &[("OLD", "123456"), ("NEW", "654321")],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = kh(&["delete", &id], &store, &[]);
    assert_eq!(code, 0);
    assert!(out.contains("deleted"));
    let (code, _, err) = kh(&["delete", &id], &store, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("no credential"), "{err}");
    let (code, _, _) = kh(&["reset", "--yes"], &store, &[]);
    assert_eq!(code, 0);
    let (_, out, _) = kh(&["info", "--json"], &store, &[]);
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["options"]["clientPin"], false, "reset removed the PIN");
}

#[test]
fn batch_attestation_flags() {
    use keyhaven_crypto::signature::SigningKey;
    use keyhaven_proto::attestation::AttestationObject;
    use keyhaven_proto::b64;
    use keyhaven_proto::cose::CoseAlgorithm;
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("vectors/vectors.json")).unwrap();
    let v = vectors
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "packed-es256.registration")
        .unwrap();
    let b = |x: &serde_json::Value| b64::decode(x.as_str().unwrap()).unwrap();
    let pem = |label: &str, der: &[u8]| {
        let body = b64::encode(der).replace('-', "+").replace('_', "/");
        let lines: Vec<String> = body
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    };
    // The W3C attestation key and its certificate (the x5c leaf of the vector).
    let key = SigningKey::from_ec_scalar(
        CoseAlgorithm::Es256,
        &b(&v["spec_inputs"]["attestation_private_key_b64url"]),
    )
    .unwrap();
    let ao = AttestationObject::from_bytes(&b(&v["attestation_object_b64url"])).unwrap();
    let leaf = ao.att_stmt.get_text("x5c").unwrap().as_array().unwrap()[0]
        .as_bytes()
        .unwrap()
        .to_vec();
    let tmp = scratch("batch");
    let dir = tmp.path();
    std::fs::write(
        dir.join("att.key"),
        pem("PRIVATE KEY", key.to_pkcs8().unwrap().expose()),
    )
    .unwrap();
    std::fs::write(dir.join("att.pem"), pem("CERTIFICATE", &leaf)).unwrap();
    let mut child = Process::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args([
            "authenticator",
            "serve",
            "--stdio",
            "--presence",
            "always",
            "--aaguid",
            "876ca4f5-2071-c3e9-b255-09ef2cdf7ed6",
        ])
        .arg("--store")
        .arg(dir.join("s.khs"))
        .arg("--attestation-key")
        .arg(dir.join("att.key"))
        .arg("--attestation-cert")
        .arg(dir.join("att.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let make = Request::MakeCredential(MakeCredentialRequest::new(
        vec![1; 32],
        "example.org",
        UserEntity::new(b"u".to_vec(), None),
        -7,
    ))
    .to_bytes();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&frame(&make))
        .unwrap();
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child.wait().unwrap();
    let ResponseBody::MakeCredential(mc) = Response::from_bytes(Command::MakeCredential, &out[4..])
        .unwrap()
        .body
    else {
        panic!("makeCredential")
    };
    assert_eq!(mc.fmt, "packed");
    let x5c = mc.att_stmt.get_text("x5c").unwrap().as_array().unwrap();
    assert_eq!(x5c[0].as_bytes().unwrap(), leaf.as_slice());
    assert_eq!(
        mc.auth_data
            .attested_credential_data
            .unwrap()
            .aaguid
            .to_string(),
        "876ca4f5-2071-c3e9-b255-09ef2cdf7ed6"
    );
}

/// `authenticator export` without --out writes private keys only to a pipe
/// or a file: on a terminal (here a pseudo-terminal made by `script`) it
/// refuses, exit 2, and prints no key; through a pipe it writes the document.
#[test]
fn export_refuses_a_terminal_and_writes_to_a_pipe() {
    let tmp = scratch("cxf-tty");
    let store = tmp.path().join("s.khs");
    // A store with one passkey, made by an import.
    let doc = tmp.path().join("in.json");
    let key = keyhaven_crypto::signature::SigningKey::generate(
        keyhaven_proto::cose::CoseAlgorithm::Es256,
    )
    .unwrap();
    std::fs::write(
        &doc,
        serde_json::json!({
            "version": {"major": 1, "minor": 0}, "exporterRpId": "x.example", "exporterDisplayName": "X",
            "timestamp": 0, "accounts": [{"id": "YQ", "username": "", "email": "", "collections": [],
            "items": [{"id": "aQ", "title": "t", "credentials": [{"type": "passkey",
            "credentialId": "Y3JlZA", "rpId": "example.org", "username": "u", "userDisplayName": "U",
            "userHandle": "dQ", "key": keyhaven_proto::b64::encode(key.to_pkcs8().unwrap().expose())}]}]}]
        })
        .to_string(),
    )
    .unwrap();
    let (code, out, err) = kh(&["import", doc.to_str().unwrap()], &store, &[]);
    assert_eq!((code, out.as_str()), (0, "imported 1 passkeys\n"), "{err}");
    // Through a pipe: the document.
    let (code, out, err) = kh(&["export", "--format", "cxf"], &store, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "exported 1 passkeys\n");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["accounts"][0]["items"][0]["credentials"][0]["rpId"],
        "example.org"
    );
    // CXF has no member for credProtect: the importer chooses the level
    // (default 1), and an export of protected passkeys says so.
    let level = |store: &std::path::Path| {
        let (code, out, err) = kh(&["list", "--json"], store, &[]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0]["credProtect"].as_u64().unwrap()
    };
    assert_eq!(level(&store), 1);
    let protected = tmp.path().join("protected.khs");
    let (code, _, err) = kh(
        &["import", "--cred-protect", "3", doc.to_str().unwrap()],
        &protected,
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(level(&protected), 3);
    let (code, _, err) = kh(&["export"], &protected, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        "exported 1 passkeys; 1 of them had credProtect level 2 or 3, which CXF cannot carry (import with --cred-protect to keep it)\n"
    );
    let (code, _, err) = kh(
        &["import", "--cred-protect", "4", doc.to_str().unwrap()],
        &tmp.path().join("never.khs"),
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(!tmp.path().join("never.khs").exists());
    // On a terminal: refused.
    let cmd = format!(
        "{} authenticator export --store {}",
        env!("CARGO_BIN_EXE_keyhaven"),
        store.display()
    );
    let out = Process::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script(1) from util-linux runs the export on a pseudo-terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("keyhaven: error: the export holds private keys: not printed to a terminal"),
        "{text}"
    );
    assert!(!text.contains("\"key\""), "{text}");
}
