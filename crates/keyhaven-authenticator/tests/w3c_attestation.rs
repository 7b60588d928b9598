//! The W3C test vectors' attestationObjects re-created from the vectors' keys
//! and inputs through the authenticator's own `attest` (the code path of
//! makeCredential).
//!
//! `none` objects are re-created bit-exact. The packed ones are ECDSA-signed
//! (self and batch alike); ECDSA signatures are randomized, so for those the
//! test checks that everything but `sig` is bit-exact (by putting the
//! vector's signature into our object) and that our signature verifies.
//! RS256 and Ed448 credentials are skipped: the vectors give RSA primes and an
//! Ed448 seed, and the authenticator signs with neither.

use keyhaven_authenticator::attestation::{attest, BatchAttestation, NewCredential, Statement};
use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::signature::{verify, SigningKey};
use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::authdata::{Aaguid, Flags};
use keyhaven_proto::b64;
use keyhaven_proto::cbor::Value;
use keyhaven_proto::cose::CoseAlgorithm;
use serde_json::Value as Json;

fn b(v: &Json) -> Vec<u8> {
    b64::decode(v.as_str().unwrap()).unwrap()
}

fn with_sig(stmt: &Value, sig: &[u8]) -> Value {
    match stmt {
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    if *k == Value::from("sig") {
                        (k.clone(), Value::Bytes(sig.to_vec()))
                    } else {
                        (k.clone(), v.clone())
                    }
                })
                .collect(),
        ),
        _ => panic!("attStmt is not a map"),
    }
}

#[test]
fn attestation_objects_recreated_from_vector_inputs() {
    let vectors: Vec<Json> = keyhaven_testkit::vectors::all();
    let (mut exact, mut all_but_sig, mut skipped) = (0, 0, Vec::new());
    for v in &vectors {
        let fmt = v["attestation_format"].as_str().unwrap_or("");
        if v["kind"] != "registration" || !(fmt == "none" || fmt == "packed") {
            continue;
        }
        let id = v["id"].as_str().unwrap();
        let pk = &v["credential_private_key"];
        let key = match v["credential_alg_name"].as_str().unwrap() {
            "ES256" => SigningKey::from_ec_scalar(CoseAlgorithm::Es256, &b(&pk["d_b64url"])),
            "ES384" => SigningKey::from_ec_scalar(CoseAlgorithm::Es384, &b(&pk["d_b64url"])),
            "ES512" => SigningKey::from_ec_scalar(CoseAlgorithm::Es512, &b(&pk["d_b64url"])),
            "Ed25519" => SigningKey::from_ed25519_seed(&b(&pk["seed_b64url"])),
            _ => {
                skipped.push(id.to_owned());
                continue;
            }
        }
        .unwrap();
        let inputs = &v["spec_inputs"];
        // The flags rule of the vectors: UP (and AT, set by attested data), then
        // UV/BE/BS from auth_data_UV_BE_BS & 0x1c, BS only with BE.
        let rnd = b(&inputs["auth_data_UV_BE_BS_b64url"])[0] & 0x1c;
        let mut flags = Flags(Flags::UP.0 | (rnd & (Flags::UV.0 | Flags::BE.0)));
        if rnd & Flags::BE.0 != 0 {
            flags = Flags(flags.0 | (rnd & Flags::BS.0));
        }
        let aaguid: [u8; 16] = b(&inputs["aaguid_b64url"]).try_into().unwrap();
        let expected = b(&v["attestation_object_b64url"]);
        let theirs = AttestationObject::from_bytes(&expected).unwrap();
        let batch = match inputs.get("attestation_private_key_b64url") {
            Some(d) => {
                let x5c = match theirs.att_stmt.get_text("x5c") {
                    Some(Value::Array(certs)) => certs
                        .iter()
                        .map(|c| c.as_bytes().unwrap().to_vec())
                        .collect(),
                    _ => panic!("{id}: no x5c"),
                };
                Some(BatchAttestation {
                    key: SigningKey::from_ec_scalar(CoseAlgorithm::Es256, &b(d)).unwrap(),
                    x5c,
                })
            }
            None => None,
        };
        let statement = match (fmt, &batch) {
            ("none", _) => Statement::None,
            (_, Some(batch)) => Statement::PackedBatch(batch),
            (_, None) => Statement::PackedSelf,
        };
        let cdh = sha256(&b(&v["client_data_json_b64url"]));
        let new = NewCredential {
            rp_id_hash: sha256(v["rp_id"].as_str().unwrap().as_bytes()),
            flags,
            sign_count: 0,
            aaguid: Aaguid(aaguid),
            credential_id: b(&v["credential_id_b64url"]),
            key: &key,
            extensions: None,
        };
        let ours = AttestationObject::from_make_credential_response(
            &attest(new, &cdh, statement).unwrap(),
        );
        assert_eq!(
            b64::encode(&ours.auth_data_raw),
            b64::encode(&theirs.auth_data_raw),
            "{id}: authData"
        );
        match ours.att_stmt.get_text("sig") {
            None => {
                assert_eq!(
                    b64::encode(&ours.to_bytes()),
                    b64::encode(&expected),
                    "{id}"
                );
                exact += 1;
            }
            Some(sig) => {
                // Our signature verifies under the signer's public key...
                let signer = batch.as_ref().map_or(&key, |b| &b.key);
                let signed = [ours.auth_data_raw.as_slice(), &cdh].concat();
                verify(&signer.public_key(), &signed, sig.as_bytes().unwrap())
                    .unwrap_or_else(|e| panic!("{id}: our sig: {e}"));
                // ...and with the vector's signature in its place, the object is bit-exact.
                let their_sig = theirs.att_stmt.get_text("sig").unwrap().as_bytes().unwrap();
                let mut swapped = ours.clone();
                swapped.att_stmt = with_sig(&ours.att_stmt, their_sig);
                assert_eq!(
                    b64::encode(&swapped.to_bytes()),
                    b64::encode(&expected),
                    "{id}: all but sig"
                );
                all_but_sig += 1;
            }
        }
    }
    assert_eq!(exact, 4, "none vectors re-created bit-exact");
    assert_eq!(all_but_sig, 5, "packed vectors re-created apart from sig");
    assert_eq!(
        skipped,
        ["packed-rs256.registration", "packed-ed448.registration"]
    );
}
