//! Mutation matrix: every valid W3C registration and authentication, changed
//! one thing at a time, must be refused — by the check that owns that thing.
//! Mutations that the spec cannot detect (e.g. the flags of a `none`
//! registration, which nothing signs) are not counted as expected refusals.

mod common;

use common::{authentication, config_for, registration, vectors};
use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::b64;
use keyhaven_proto::cbor::CborPolicy;
use keyhaven_proto::client_data::{CollectedClientData, RawJson};
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::json::{AuthenticationResponseJson, RegistrationResponseJson};
use keyhaven_rp::config::RpConfig;
use keyhaven_rp::options::{AuthenticationState, RegistrationState};
use keyhaven_rp::{verify_authentication, verify_registration, CredentialRecord, VerifyError};
use serde_json::Value;

#[derive(Clone)]
struct Reg {
    cfg: RpConfig,
    resp: RegistrationResponseJson,
    state: RegistrationState,
}

#[derive(Clone)]
struct Auth {
    cfg: RpConfig,
    resp: AuthenticationResponseJson,
    state: AuthenticationState,
    record: CredentialRecord,
}

fn config(v: &Value, policy: CborPolicy) -> RpConfig {
    let mut cfg = config_for(v);
    cfg.cbor_policy = policy;
    cfg
}

fn reg(v: &Value, policy: CborPolicy) -> Reg {
    let (resp, state) = registration(v);
    Reg {
        cfg: config(v, policy),
        resp,
        state,
    }
}

impl Reg {
    fn run(&self) -> Result<keyhaven_rp::RegistrationResult, VerifyError> {
        verify_registration(&self.cfg, &self.resp, &self.state, |_| false)
    }
    fn with_auth_data(&self, f: impl Fn(&mut Vec<u8>)) -> Reg {
        let mut r = self.clone();
        let mut ao = AttestationObject::from_bytes(&r.resp.response.attestation_object).unwrap();
        f(&mut ao.auth_data_raw);
        r.resp.response.attestation_object = ao.to_bytes();
        r
    }
    fn with_client_data(&self, f: impl Fn(&mut CollectedClientData)) -> Reg {
        let mut r = self.clone();
        let mut cd =
            CollectedClientData::from_json_bytes(&r.resp.response.client_data_json).unwrap();
        f(&mut cd);
        r.resp.response.client_data_json = cd.to_json_bytes();
        r
    }
}

fn auth(v: &Value, record: CredentialRecord, policy: CborPolicy) -> Auth {
    let (resp, state) = authentication(v);
    Auth {
        cfg: config(v, policy),
        resp,
        state,
        record,
    }
}

impl Auth {
    fn run(&self) -> Result<keyhaven_rp::AuthenticationResult, VerifyError> {
        let rec = self.record.clone();
        verify_authentication(&self.cfg, &self.resp, &self.state, |id| {
            (id == rec.id.as_slice()).then_some(rec)
        })
    }
    fn with_client_data(&self, f: impl Fn(&mut CollectedClientData)) -> Auth {
        let mut a = self.clone();
        let mut cd =
            CollectedClientData::from_json_bytes(&a.resp.response.client_data_json).unwrap();
        f(&mut cd);
        a.resp.response.client_data_json = cd.to_json_bytes();
        a
    }
    fn with_auth_data(&self, f: impl Fn(&mut Vec<u8>)) -> Auth {
        let mut a = self.clone();
        f(&mut a.resp.response.authenticator_data);
        a
    }
}

/// (case name, the mutated ceremony's outcome, the checks allowed to refuse it)
struct Tally {
    cases: usize,
    false_accepts: Vec<String>,
    wrong_check: Vec<String>,
}

impl Tally {
    fn expect<T>(&mut self, name: String, r: Result<T, VerifyError>, checks: &[&str]) {
        self.cases += 1;
        match r {
            Ok(_) => self.false_accepts.push(name),
            Err(e) if !checks.is_empty() && !checks.contains(&e.kind()) => {
                self.wrong_check.push(format!(
                    "{name}: refused by {} ({e}), expected one of {checks:?}",
                    e.kind()
                ))
            }
            Err(_) => {}
        }
    }
}

const FLAG_NAMES: [&str; 8] = ["UP", "RFU1", "UV", "BE", "BS", "RFU2", "AT", "ED"];

/// The matrix under the default (interoperable) CBOR policy: decoding what is
/// not signed leniently must not let a single change through.
#[test]
fn every_single_mutation_is_refused() {
    matrix(CborPolicy::Interoperable);
}

/// The same matrix under `--strict-cbor`.
#[test]
fn every_single_mutation_is_refused_strict() {
    matrix(CborPolicy::Strict);
}

fn matrix(policy: CborPolicy) {
    let all = vectors();
    let mut t = Tally {
        cases: 0,
        false_accepts: vec![],
        wrong_check: vec![],
    };
    let mut records = std::collections::HashMap::new();
    for v in all
        .iter()
        .filter(|v| v["kind"] == "registration" && v["id"] != "android-key-es256.registration")
    {
        let id = v["id"].as_str().unwrap();
        let base = reg(v, policy);
        let ok = base.run().unwrap_or_else(|e| panic!("{id}: {e}"));
        records.insert(id.to_owned(), ok.record);
        let fmt = v["attestation_format"].as_str().unwrap();
        // Formats whose attestation signature covers the whole authenticator data and clientDataHash.
        let signs_all = matches!(fmt, "packed" | "tpm" | "android-key" | "apple");
        let sig = ["Attestation"];
        for (bit, flag) in FLAG_NAMES.iter().enumerate() {
            let m = base.with_auth_data(|ad| ad[32] ^= 1 << bit);
            let name = format!("{id}: flag {}", *flag);
            match *flag {
                "UP" => t.expect(name, m.run(), &["UserPresence"]),
                "AT" | "ED" => t.expect(name, m.run(), &["Malformed"]),
                "BS" if v["expected"]["flags"]["be"] == false => {
                    t.expect(name, m.run(), &["BackupStateWithoutEligibility"])
                }
                "BE" if v["expected"]["flags"]["bs"] == true => {
                    t.expect(name, m.run(), &["BackupStateWithoutEligibility"])
                }
                _ if signs_all => t.expect(name, m.run(), &sig),
                _ => {}
            }
        }
        t.expect(
            format!("{id}: rpIdHash"),
            base.with_auth_data(|ad| ad[0] ^= 1).run(),
            &["RpIdHash"],
        );
        if signs_all {
            t.expect(
                format!("{id}: signCount"),
                base.with_auth_data(|ad| ad[36] ^= 1).run(),
                &sig,
            );
            t.expect(
                format!("{id}: aaguid"),
                base.with_auth_data(|ad| ad[37] ^= 1).run(),
                &sig,
            );
        }
        t.expect(
            format!("{id}: credentialId in authData"),
            base.with_auth_data(|ad| ad[55] ^= 1).run(),
            &["Malformed"],
        );
        t.expect(
            format!("{id}: trailing byte in authData"),
            base.with_auth_data(|ad| ad.push(0)).run(),
            &["Malformed"],
        );
        t.expect(
            format!("{id}: truncated authData"),
            base.with_auth_data(|ad| {
                ad.pop();
            })
            .run(),
            &["Malformed"],
        );
        // COSE alg in the credential public key: 3 (alg) follows kty; change it to another algorithm.
        t.expect(
            format!("{id}: COSE alg"),
            base.with_auth_data(|ad| {
                let pos = 55 + (ad[53] as usize) * 256 + ad[54] as usize;
                // COSE map: a4/a5, 01 kty, 03 alg: byte pos+3 is the alg header.
                if let Some(p) = (pos..ad.len().min(pos + 8)).find(|&i| ad[i] == 0x03) {
                    ad[p + 1] ^= 0x02;
                }
            })
            .run(),
            &[
                "Malformed",
                "Attestation",
                "Algorithm",
                "UnsupportedAlgorithm",
            ],
        );
        let cd_checks = |sig_ok: bool| -> Vec<&'static str> {
            if sig_ok {
                vec!["Attestation"]
            } else {
                vec![]
            }
        };
        t.expect(
            format!("{id}: clientData.type"),
            base.with_client_data(|c| c.type_ = "webauthn.get".into())
                .run(),
            &["ClientDataType"],
        );
        t.expect(
            format!("{id}: clientData.challenge"),
            base.with_client_data(|c| c.challenge.push('A')).run(),
            &["Challenge"],
        );
        t.expect(
            format!("{id}: clientData.origin"),
            base.with_client_data(|c| c.origin = "https://evil-example.org".into())
                .run(),
            &["Origin"],
        );
        if v["cross_origin"] != true {
            t.expect(
                format!("{id}: clientData.crossOrigin"),
                base.with_client_data(|c| c.cross_origin = Some(true)).run(),
                &["CrossOrigin"],
            );
            t.expect(
                format!("{id}: clientData.topOrigin"),
                base.with_client_data(|c| c.top_origin = Some("https://example.com".into()))
                    .run(),
                &["TopOrigin"],
            );
        }
        if signs_all || fmt == "fido-u2f" {
            // Any change to clientDataJSON changes clientDataHash, which the attestation signs.
            t.expect(
                format!("{id}: clientData extra member"),
                base.with_client_data(|c| {
                    c.other.insert("x".into(), RawJson::new("true").unwrap());
                })
                .run(),
                &cd_checks(true),
            );
        }
        let mut m = base.clone();
        m.state.challenge[0] ^= 1;
        t.expect(format!("{id}: issued challenge"), m.run(), &["Challenge"]);
        let mut m = base.clone();
        m.resp.raw_id[0] ^= 1;
        t.expect(format!("{id}: rawId"), m.run(), &["IdMismatch"]);
        let mut m = base.clone();
        m.resp.raw_id[0] ^= 1;
        m.resp.id = b64::encode(&m.resp.raw_id);
        t.expect(format!("{id}: rawId and id"), m.run(), &["Malformed"]);
        let mut m = base.clone();
        m.resp.type_ = "public-keys".into();
        t.expect(
            format!("{id}: credential type"),
            m.run(),
            &["CredentialType"],
        );
        let mut m = base.clone();
        m.state.algorithms = vec![-999];
        t.expect(format!("{id}: alg not requested"), m.run(), &["Algorithm"]);
        let mut m = base.clone();
        m.resp.response.attestation_object.push(0);
        t.expect(
            format!("{id}: trailing byte in attestationObject"),
            m.run(),
            &["Malformed"],
        );
        let mut m = base.clone();
        m.resp
            .response
            .attestation_object
            .truncate(m.resp.response.attestation_object.len() - 1);
        t.expect(
            format!("{id}: truncated attestationObject"),
            m.run(),
            &["Malformed"],
        );
        let mut m = base.clone();
        m.resp.response.client_data_json.push(b'x');
        t.expect(
            format!("{id}: trailing byte in clientDataJSON"),
            m.run(),
            &["Malformed"],
        );
        if fmt != "none" {
            // One byte of each attStmt byte-string member.
            let ao = AttestationObject::from_bytes(&base.resp.response.attestation_object).unwrap();
            for (k, val) in ao.att_stmt.as_map().unwrap() {
                let key = k.as_text().unwrap().to_owned();
                let targets: Vec<usize> = match val {
                    keyhaven_proto::cbor::Value::Bytes(_) => vec![usize::MAX],
                    keyhaven_proto::cbor::Value::Array(items) => (0..items.len()).collect(),
                    _ => continue,
                };
                for target in targets {
                    let mut ao2 = ao.clone();
                    let keyhaven_proto::cbor::Value::Map(entries) = &mut ao2.att_stmt else {
                        unreachable!()
                    };
                    for (k2, v2) in entries.iter_mut() {
                        if k2.as_text() == Some(&key) {
                            let bytes = match (v2, target) {
                                (keyhaven_proto::cbor::Value::Bytes(b), usize::MAX) => b,
                                (keyhaven_proto::cbor::Value::Array(items), i) => {
                                    match &mut items[i] {
                                        keyhaven_proto::cbor::Value::Bytes(b) => b,
                                        _ => continue,
                                    }
                                }
                                _ => continue,
                            };
                            let n = bytes.len();
                            bytes[n - 1] ^= 1;
                        }
                    }
                    let mut m = base.clone();
                    m.resp.response.attestation_object = ao2.to_bytes();
                    let name = format!("{id}: attStmt.{key}[{target}] last byte");
                    t.expect(name, m.run(), &["Attestation", "AttestationTrust"]);
                }
            }
        }
    }

    for v in all.iter().filter(|v| v["kind"] == "authentication") {
        let id = v["id"].as_str().unwrap();
        let reg_id = match v["registration_id"].as_str().unwrap() {
            "android-key-es256.registration" => "android-key-es256.registration@L3-CR",
            other => other,
        };
        let base = auth(v, records[reg_id].clone(), policy);
        base.run().unwrap_or_else(|e| panic!("{id}: {e}"));
        let sig = ["Signature"];
        for (bit, flag) in FLAG_NAMES.iter().enumerate() {
            let m = base.with_auth_data(|ad| ad[32] ^= 1 << bit);
            let name = format!("{id}: flag {}", *flag);
            match *flag {
                "UP" => t.expect(name, m.run(), &["UserPresence"]),
                "AT" | "ED" => t.expect(name, m.run(), &["Malformed"]),
                "BE" => t.expect(
                    name,
                    m.run(),
                    &["BackupEligibilityChanged", "BackupStateWithoutEligibility"],
                ),
                "BS" if v["expected"]["flags"]["be"] == false => {
                    t.expect(name, m.run(), &["BackupStateWithoutEligibility"])
                }
                _ => t.expect(name, m.run(), &sig),
            }
        }
        t.expect(
            format!("{id}: rpIdHash"),
            base.with_auth_data(|ad| ad[0] ^= 1).run(),
            &["RpIdHash"],
        );
        t.expect(
            format!("{id}: signCount"),
            base.with_auth_data(|ad| ad[36] ^= 1).run(),
            &sig,
        );
        t.expect(
            format!("{id}: trailing byte in authData"),
            base.with_auth_data(|ad| ad.push(0)).run(),
            &["Malformed"],
        );
        t.expect(
            format!("{id}: truncated authData"),
            base.with_auth_data(|ad| {
                ad.pop();
            })
            .run(),
            &["Malformed"],
        );
        t.expect(
            format!("{id}: clientData.type"),
            base.with_client_data(|c| c.type_ = "webauthn.create".into())
                .run(),
            &["ClientDataType"],
        );
        t.expect(
            format!("{id}: clientData.challenge"),
            base.with_client_data(|c| c.challenge.pop().map(|_| ()).unwrap_or(()))
                .run(),
            &["Challenge"],
        );
        t.expect(
            format!("{id}: clientData.origin"),
            base.with_client_data(|c| c.origin = "https://example.org.evil.com".into())
                .run(),
            &["Origin"],
        );
        if v["cross_origin"] != true {
            t.expect(
                format!("{id}: clientData.crossOrigin"),
                base.with_client_data(|c| c.cross_origin = Some(true)).run(),
                &["CrossOrigin"],
            );
        }
        t.expect(
            format!("{id}: clientData extra member"),
            base.with_client_data(|c| {
                c.other.insert("x".into(), RawJson::new("true").unwrap());
            })
            .run(),
            &sig,
        );
        let mut m = base.clone();
        m.state.challenge[0] ^= 1;
        t.expect(format!("{id}: issued challenge"), m.run(), &["Challenge"]);
        let mut m = base.clone();
        m.resp.raw_id[0] ^= 1;
        m.resp.id = b64::encode(&m.resp.raw_id);
        t.expect(format!("{id}: credential ID"), m.run(), &["NotAllowed"]);
        let mut m = base.clone();
        m.state.allow_credentials.clear();
        m.resp.raw_id[0] ^= 1;
        m.resp.id = b64::encode(&m.resp.raw_id);
        t.expect(
            format!("{id}: unknown credential ID"),
            m.run(),
            &["UnknownCredential"],
        );
        let mut m = base.clone();
        m.resp.response.user_handle = Some(b"user-2".to_vec());
        t.expect(
            format!("{id}: userHandle"),
            m.run(),
            &["UserHandleMismatch"],
        );
        let mut m = base.clone();
        m.state.user_handle = None;
        t.expect(
            format!("{id}: userHandle missing (discoverable)"),
            m.run(),
            &["UserHandleMissing"],
        );
        let mut m = base.clone();
        m.record.user_handle = Some(b"someone-else".to_vec());
        t.expect(
            format!("{id}: credential of another account"),
            m.run(),
            &["UserHandleMismatch"],
        );
        let mut m = base.clone();
        let n = m.resp.response.signature.len();
        m.resp.response.signature[n / 2] ^= 0x01;
        t.expect(format!("{id}: one signature bit"), m.run(), &sig);
        let mut m = base.clone();
        m.resp.response.signature.push(0);
        t.expect(format!("{id}: trailing byte in signature"), m.run(), &sig);
        let mut m = base.clone();
        m.record.sign_count = 5;
        t.expect(
            format!("{id}: counter went backwards"),
            m.run(),
            &["SignCount"],
        );
        let mut m = base.clone();
        m.record.backup_eligible = !m.record.backup_eligible;
        t.expect(
            format!("{id}: stored BE differs"),
            m.run(),
            &["BackupEligibilityChanged"],
        );
        let mut m = base.clone();
        let mut key = m.record.cose_key().unwrap();
        key.alg = match key.alg {
            CoseAlgorithm::Es256 => CoseAlgorithm::Es384,
            CoseAlgorithm::Rs256 => CoseAlgorithm::Ps256,
            _ => CoseAlgorithm::Es256,
        };
        m.record.public_key = key.to_bytes();
        t.expect(
            format!("{id}: COSE alg of the stored key"),
            m.run(),
            &["Malformed", "Signature"],
        );
        let mut m = base.clone();
        m.resp.type_ = "password".into();
        t.expect(
            format!("{id}: credential type"),
            m.run(),
            &["CredentialType"],
        );
    }

    println!(
        "mutation matrix: {} cases, {} false accepts, {} refused by an unexpected check",
        t.cases,
        t.false_accepts.len(),
        t.wrong_check.len()
    );
    assert!(
        t.false_accepts.is_empty(),
        "false accepts:\n{}",
        t.false_accepts.join("\n")
    );
    assert!(
        t.wrong_check.is_empty(),
        "refused by the wrong check:\n{}",
        t.wrong_check.join("\n")
    );
    // The exact number: a mutation that silently stopped being generated fails here.
    assert_eq!(t.cases, 851, "mutation cases");
}
