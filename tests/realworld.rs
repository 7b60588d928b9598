//! The real-world corpus (`tests/realworld/cases/`): registration and
//! authentication responses from real devices, taken from peers' test suites,
//! each run through `keyhaven rp verify-*` as a user runs it. Every case must
//! come out as its `expect` says (its peer's outcome, or a written `differs`
//! reason), and every case whose attestation object is not CTAP2 canonical CBOR
//! must be refused by `--strict-cbor` at the decoding step. See
//! `tests/realworld/README.md` for the case format.

use keyhaven_proto::b64;
use keyhaven_proto::cbor::CborPolicy;
use keyhaven_proto::cose::CoseKey;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/realworld");

fn cases() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from(ROOT).join("cases")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let name = p
                    .strip_prefix(PathBuf::from(ROOT).join("cases"))
                    .unwrap()
                    .with_extension("")
                    .to_string_lossy()
                    .into_owned();
                let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap())
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                out.push((name, v));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

struct Outcome {
    code: i32,
    out: Value,
    stderr: String,
}

/// Runs `keyhaven rp verify-*` on one case, with `extra` flags.
fn run(case: &Value, dir: &Path, extra: &[&str]) -> Outcome {
    let resp = dir.join("response.json");
    std::fs::write(&resp, serde_json::to_vec(&case["response"]).unwrap()).unwrap();
    let ceremony = case["ceremony"].as_str().unwrap();
    let mut args: Vec<String> = vec![
        "rp".into(),
        format!("verify-{ceremony}"),
        resp.to_string_lossy().into_owned(),
        "--rp-id".into(),
        case["rp_id"].as_str().expect("rp_id").into(),
        format!("--challenge={}", case["challenge"].as_str().unwrap()),
    ];
    for o in case["origins"].as_array().unwrap() {
        args.push(format!("--origin={}", o.as_str().unwrap()));
    }
    if case["require_uv"] == true {
        args.push("--require-uv".into());
    }
    if let Some(now) = case["now"].as_str() {
        args.push(format!("--now={now}"));
    }
    for r in case["roots"].as_array().into_iter().flatten() {
        args.push(format!("--trust-root={ROOT}/roots/{}", r.as_str().unwrap()));
    }
    if ceremony == "authentication" {
        let rec = dir.join("record.json");
        std::fs::write(&rec, serde_json::to_vec(&record_for(case)).unwrap()).unwrap();
        args.push(format!("--credential={}", rec.display()));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = Command::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args(&args)
        .output()
        .unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        out: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The stored record a peer's test stands for: the credential's public key
/// and counter as the test gave them, BE as the assertion reports it (the
/// peers' tests keep no BE to compare with).
fn record_for(case: &Value) -> Value {
    let cred = &case["credential"];
    let key_b64 = cred["public_key"].as_str().unwrap();
    let key_bytes = b64::decode(key_b64).unwrap();
    let alg = CoseKey::from_bytes_with(&key_bytes, CborPolicy::Interoperable)
        .map(|k| k.alg.id())
        .unwrap_or(0);
    let raw_id = case["response"]["rawId"].as_str().unwrap();
    let ad = b64::decode(
        case["response"]["response"]["authenticatorData"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let flags = ad.get(32).copied().unwrap_or(0);
    json!({
        "version": 1,
        "type": "public-key",
        "id": raw_id,
        "publicKey": key_b64,
        "algorithm": alg,
        "signCount": cred["sign_count"].as_u64().unwrap_or(0),
        "backupEligible": flags & 0x08 != 0,
        "backupState": flags & 0x10 != 0,
        "uvInitialized": false,
        "aaguid": "00000000-0000-0000-0000-000000000000",
        "attestationFormat": "none",
        "attestationType": "None",
        "rpId": case["rp_id"],
        "createdAt": 0,
    })
}

/// Compares one outcome with the case's `expect`; None when they agree.
fn disagreement(expect: &Value, o: &Outcome) -> Option<String> {
    let got = match o.code {
        0 => "accept",
        1 => "refuse",
        _ => return Some(format!("exit {}: {}", o.code, o.stderr.trim())),
    };
    if expect["result"] != got {
        let why = if got == "refuse" {
            o.out["error"].as_str().unwrap_or("").to_owned()
        } else {
            String::new()
        };
        return Some(format!("expected {}, got {got} {why}", expect["result"]));
    }
    let fields = [
        ("fmt", "attestationFormat"),
        ("attestation_type", "attestationType"),
        ("trusted", "attestationTrusted"),
        ("check", "check"),
    ];
    for (want, have) in fields {
        if !expect[want].is_null() && expect[want] != o.out[have] {
            return Some(format!(
                "{want}: expected {}, got {} ({})",
                expect[want],
                o.out[have],
                o.out["error"].as_str().unwrap_or("")
            ));
        }
    }
    None
}

#[test]
fn real_world_responses() {
    let dir = tempfile::tempdir().unwrap();
    let all = cases();
    let mut wrong = Vec::new();
    let (mut accepted, mut refused, mut strict_refused, mut differs) = (0, 0, 0, 0);
    for (name, case) in &all {
        let expect = &case["expect"];
        assert!(
            expect["result"] == "accept" || expect["result"] == "refuse",
            "{name}: expect.result"
        );
        // An accepted registration names its format, attestation type and trust.
        assert!(
            expect["result"] == "refuse"
                || case["ceremony"] == "authentication"
                || (expect["fmt"].is_string()
                    && expect["attestation_type"].is_string()
                    && expect["trusted"].is_boolean()),
            "{name}: an accepted registration without fmt, attestation_type and trusted"
        );
        // A refusal names the check that must refuse it: the peer's reason, or the written one.
        assert!(
            expect["result"] == "accept" || expect["check"].is_string(),
            "{name}: a refusal without expect.check"
        );
        if expect["result"] != case["peer"] || !case["differs"].is_null() {
            assert!(
                case["differs"].as_str().is_some_and(|s| s.len() > 20),
                "{name}: keyhaven's expectation differs from the peer's without a written reason"
            );
            differs += 1;
        }
        let o = run(case, dir.path(), &[]);
        if let Some(d) = disagreement(expect, &o) {
            wrong.push(format!("{name}: {d}"));
            continue;
        }
        if expect["result"] == "accept" {
            accepted += 1;
        } else {
            refused += 1;
        }
        // The same case under --strict-cbor: what is not canonical is refused at
        // the decoding step; what a case says of strict mode (an attStmt member
        // its format does not define) holds; everything else comes out the same.
        let s = run(case, dir.path(), &["--strict-cbor"]);
        if case["canonical_cbor"] == false {
            if expect["result"] == "accept" {
                strict_refused += 1;
            }
            let err = s.out["error"].as_str().unwrap_or("");
            if !(s.code == 1
                && s.out["check"] == "Malformed"
                && s.out["step"] == "L3 §7.1 step 13"
                && err.contains("CBOR at byte"))
            {
                wrong.push(format!(
                    "{name}: --strict-cbor should refuse the non-canonical CBOR at step 13, got exit {} {}",
                    s.code, s.out
                ));
            }
        } else {
            let strict = if case["expect_strict"].is_null() {
                expect
            } else {
                strict_refused += 1;
                &case["expect_strict"]
            };
            if let Some(d) = disagreement(strict, &s) {
                wrong.push(format!("{name} (--strict-cbor): {d}"));
            }
        }
    }
    println!(
        "real-world corpus: {} cases ({accepted} accepted, {refused} refused as expected, \
         {differs} with a written difference from the peer); {strict_refused} accepted ones \
         refused by --strict-cbor",
        all.len()
    );
    assert!(
        wrong.is_empty(),
        "{} case(s) disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
