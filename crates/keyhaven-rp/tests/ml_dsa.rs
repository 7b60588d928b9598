//! ML-DSA (RFC 9964) in the relying party: the peers' ML-DSA-44/65/87
//! responses (py_webauthn's suite data, `tests/realworld/cases/`) verify, and
//! every single change to them is refused: a flipped signature bit anywhere,
//! a truncated or extended signature, another key (flipped key byte, another
//! parameter set's key, a truncated key), and a wrong algorithm identifier.

use keyhaven_proto::b64;
use keyhaven_proto::cbor::{self, Value};
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::json::{AuthenticationResponseJson, RegistrationResponseJson};
use keyhaven_rp::config::RpConfig;
use keyhaven_rp::options::{AuthenticationState, RegistrationState};
use keyhaven_rp::{verify_authentication, verify_registration, CredentialRecord};
use serde_json::Value as Json;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/realworld/cases/py_webauthn"
);

fn case(path: &str) -> Json {
    let text = std::fs::read_to_string(format!("{CASES}/{path}"))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn config(c: &Json) -> RpConfig {
    let mut cfg = RpConfig::new(c["rp_id"].as_str().unwrap(), "Example");
    cfg.origins = c["origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_owned())
        .collect();
    cfg.algorithms = CoseAlgorithm::ML_DSA.to_vec();
    cfg
}

/// An authentication case: what verification needs.
struct Auth {
    cfg: RpConfig,
    resp: AuthenticationResponseJson,
    state: AuthenticationState,
    record: CredentialRecord,
}

impl Auth {
    fn load(alg: CoseAlgorithm) -> Auth {
        let level = &alg.name()[7..];
        let c = case(&format!(
            "verify_authentication_response/verify_ml_dsa_{level}_response.json"
        ));
        let resp: AuthenticationResponseJson =
            serde_json::from_value(c["response"].clone()).unwrap();
        let handle = resp.response.user_handle.clone().unwrap_or_default();
        let public_key = b64::decode(c["credential"]["public_key"].as_str().unwrap()).unwrap();
        let record = CredentialRecord::imported(
            resp.raw_id.clone(),
            public_key,
            c["credential"]["sign_count"].as_u64().unwrap() as u32,
            Some(handle.clone()),
            c["rp_id"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(record.algorithm, alg.id());
        let state = AuthenticationState {
            challenge: b64::decode(c["challenge"].as_str().unwrap()).unwrap(),
            allow_credentials: vec![],
            user_handle: Some(handle),
            user_verification_required: false,
            extensions: None,
        };
        Auth {
            cfg: config(&c),
            resp,
            state,
            record,
        }
    }

    fn verifies(&self) -> bool {
        let rec = self.record.clone();
        verify_authentication(&self.cfg, &self.resp, &self.state, |_| Some(rec)).is_ok()
    }

    /// The stored key with its `pub` (or whole map) changed by `f`.
    fn with_key(&self, f: impl Fn(&mut Vec<(Value, Value)>)) -> Auth {
        let mut entries = cbor::decode(&self.record.public_key)
            .unwrap()
            .as_map()
            .unwrap()
            .to_vec();
        f(&mut entries);
        let mut a = self.clone();
        a.record.public_key = cbor::encode(&Value::canonical_map(entries));
        a
    }
}

impl Clone for Auth {
    fn clone(&self) -> Self {
        Auth {
            cfg: self.cfg.clone(),
            resp: self.resp.clone(),
            state: self.state.clone(),
            record: self.record.clone(),
        }
    }
}

fn label(entries: &mut [(Value, Value)], l: i64) -> &mut Value {
    &mut entries
        .iter_mut()
        .find(|(k, _)| k.as_i64() == Some(l))
        .unwrap()
        .1
}

#[test]
fn ml_dsa_assertions_verify_and_every_change_is_refused() {
    let mut refused = 0;
    for alg in CoseAlgorithm::ML_DSA {
        let (pk_len, sig_len) = alg.ml_dsa_lengths().unwrap();
        let a = Auth::load(alg);
        assert!(a.verifies(), "{alg:?}: the peer's assertion verifies");
        assert_eq!(a.resp.response.signature.len(), sig_len);
        let mut must_refuse = |what: String, m: Auth| {
            assert!(!m.verifies(), "{alg:?}: {what} was accepted");
            refused += 1;
        };
        // A flipped bit in the signature: every 97th byte, first and last.
        let positions: Vec<usize> = (0..sig_len).step_by(97).chain([sig_len - 1]).collect();
        for i in positions {
            let mut m = a.clone();
            m.resp.response.signature[i] ^= 0x01;
            must_refuse(format!("signature bit at byte {i}"), m);
        }
        // Truncated and extended signatures.
        for len in [0, 1, sig_len - 1, sig_len + 1, 2 * sig_len] {
            let mut m = a.clone();
            m.resp.response.signature.resize(len, 0);
            must_refuse(format!("a {len}-byte signature"), m);
        }
        // The signed data: authenticator data and clientDataJSON bytes.
        let mut m = a.clone();
        let last = m.resp.response.authenticator_data.len() - 1;
        m.resp.response.authenticator_data[last] ^= 1;
        must_refuse("signature counter byte".into(), m);
        // Another key: a flipped byte, truncated, extended.
        for i in [0, pk_len / 2, pk_len - 1] {
            must_refuse(
                format!("key byte {i} flipped"),
                a.with_key(|e| {
                    if let Value::Bytes(b) = label(e, -1) {
                        b[i] ^= 1;
                    }
                }),
            );
        }
        for len in [pk_len - 1, pk_len + 1, 32] {
            must_refuse(
                format!("a {len}-byte key"),
                a.with_key(|e| {
                    if let Value::Bytes(b) = label(e, -1) {
                        b.resize(len, 0);
                    }
                }),
            );
        }
        // The key labelled with another algorithm: the other ML-DSA levels,
        // ES256, EdDSA; and the record claiming another algorithm.
        for other in [-48, -49, -50, -7, -8]
            .into_iter()
            .filter(|id| *id != alg.id())
        {
            must_refuse(
                format!("key alg {other}"),
                a.with_key(|e| *label(e, 3) = Value::from(other)),
            );
        }
        // Another parameter set's genuine key (from the other cases).
        for other in CoseAlgorithm::ML_DSA.into_iter().filter(|o| *o != alg) {
            let mut m = a.clone();
            m.record.public_key = Auth::load(other).record.public_key;
            m.record.algorithm = other.id();
            must_refuse(format!("{other:?}'s key"), m);
        }
        // kty other than AKP.
        must_refuse(
            "kty EC2".into(),
            a.with_key(|e| *label(e, 1) = Value::from(2)),
        );
    }
    // Per level: the signature's bytes 0, 97, 194, … (25, 35 and 48 of them
    // for 2420, 3309 and 4627 bytes) and its last byte; then 5 lengths, 1
    // authData byte, 3 key bytes, 3 key lengths, 4 algorithm ids, 2 other
    // keys and 1 kty (19).
    assert_eq!(refused, (26 + 36 + 49) + 3 * 19);
}

#[test]
fn ml_dsa_registrations_verify_and_their_key_is_checked() {
    for alg in CoseAlgorithm::ML_DSA {
        let level = &alg.name()[7..];
        let c = case(&format!(
            "verify_registration_response/verify_pqc_ml_dsa_{level}_packed_response.json"
        ));
        let resp: RegistrationResponseJson = serde_json::from_value(c["response"].clone()).unwrap();
        let state = |algorithms: Vec<i64>| RegistrationState {
            challenge: b64::decode(c["challenge"].as_str().unwrap()).unwrap(),
            user_handle: vec![],
            algorithms,
            user_verification_required: false,
            conditional_mediation: false,
            extensions: None,
        };
        let cfg = config(&c);
        let r = verify_registration(&cfg, &resp, &state(vec![alg.id()]), |_| false)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(r.record.algorithm, alg.id());
        let key = r.record.cose_key().unwrap();
        assert_eq!(key.alg, alg);
        // Not offered: refused (L3 §7.1, the algorithm must be one of
        // pubKeyCredParams).
        let others: Vec<i64> = CoseAlgorithm::ML_DSA
            .into_iter()
            .filter(|o| *o != alg)
            .map(CoseAlgorithm::id)
            .chain([-7, -8])
            .collect();
        assert!(
            verify_registration(&cfg, &resp, &state(others), |_| false).is_err(),
            "{alg:?} accepted though not offered"
        );
    }
}
