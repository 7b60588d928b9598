//! Golden tests for the crypto layer against the W3C WebAuthn L3 test vectors:
//! every assertion signature verifies (ES256/384/512, EdDSA, Ed448, RS256),
//! packed self-attestation signatures verify, the vectors' private keys give
//! their public keys, and the CTAP2 hmac-secret (PRF) vectors are reproduced
//! step by step (ECDH, both PIN/UV protocol KDFs, AES-256-CBC, HMAC-SHA-256).

use keyhaven_crypto::cipher::{aes256_cbc_decrypt, aes256_cbc_encrypt};
use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::ecdh::EcdhP256;
use keyhaven_crypto::mac::{hkdf_sha256, hmac_sha256};
use keyhaven_crypto::signature::{verify, verify_with, SigningKey};
use keyhaven_crypto::CryptoError;
use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::b64;
use keyhaven_proto::cose::{CoseAlgorithm, CoseKey};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    keyhaven_testkit::vectors::all()
}

fn b(v: &Value) -> Vec<u8> {
    b64::decode(v.as_str().expect("base64url string")).unwrap()
}

#[test]
fn every_assertion_signature_verifies() {
    let mut algs = std::collections::BTreeSet::new();
    for v in vectors().iter().filter(|v| v["kind"] == "authentication") {
        let id = v["id"].as_str().unwrap();
        let key = CoseKey::from_bytes(&b(&v["credential_public_key_cose_b64url"])).unwrap();
        let mut msg = b(&v["authenticator_data_b64url"]);
        msg.extend_from_slice(&sha256(&b(&v["client_data_json_b64url"])));
        let sig = b(&v["signature_b64url"]);
        verify(&key, &msg, &sig).unwrap_or_else(|e| panic!("{id}: {e}"));
        algs.insert(key.alg.name());
        // Any change to the signed data or the signature must fail.
        let mut tampered = msg.clone();
        tampered[0] ^= 1;
        assert!(
            matches!(
                verify(&key, &tampered, &sig),
                Err(CryptoError::InvalidSignature { .. })
            ),
            "{id}"
        );
        let mut bad_sig = sig.clone();
        let last = bad_sig.len() - 1;
        bad_sig[last] ^= 0x01;
        assert!(verify(&key, &msg, &bad_sig).is_err(), "{id}");
    }
    assert_eq!(
        algs.len(),
        6,
        "ES256, ES384, ES512, EdDSA, Ed448, RS256 all covered: {algs:?}"
    );
}

#[test]
fn packed_self_attestation_verifies() {
    let all = vectors();
    let v = all
        .iter()
        .find(|v| v["id"] == "packed-self-es256.registration")
        .unwrap();
    let ao = AttestationObject::from_bytes(&b(&v["attestation_object_b64url"])).unwrap();
    let alg =
        CoseAlgorithm::from_id(ao.att_stmt.get_text("alg").unwrap().as_i64().unwrap()).unwrap();
    let sig = ao.att_stmt.get_text("sig").unwrap().as_bytes().unwrap();
    let mut msg = ao.auth_data_raw.clone();
    msg.extend_from_slice(&sha256(&b(&v["client_data_json_b64url"])));
    let key = &ao
        .auth_data
        .attested_credential_data
        .as_ref()
        .unwrap()
        .credential_public_key;
    verify_with(alg, key, &msg, sig).unwrap();
}

#[test]
fn private_keys_give_public_keys() {
    for v in vectors().iter().filter(|v| v["kind"] == "registration") {
        let id = v["id"].as_str().unwrap();
        let key = CoseKey::from_bytes(&b(&v["credential_public_key_cose_b64url"])).unwrap();
        let pk = &v["credential_private_key"];
        let signer = match pk["type"].as_str().unwrap() {
            "ec2" => SigningKey::from_ec_scalar(key.alg, &b(&pk["d_b64url"])).unwrap(),
            "okp" if pk["curve"] == "Ed25519" => {
                SigningKey::from_ed25519_seed(&b(&pk["seed_b64url"])).unwrap()
            }
            _ => continue, // RSA primes and Ed448 (no Ed448 signing by design).
        };
        assert_eq!(signer.public_key(), key, "{id}");
        let s = signer.sign(b"keyhaven").unwrap();
        verify(&key, b"keyhaven", &s).unwrap();
    }
}

/// CTAP 2.2 §6.5.6 (protocol 1) / §6.5.7 (protocol 2) KDF, then the hmac-secret
/// extension (CTAP 2.2 §12.5) and the WebAuthn PRF salt (L3 §10.1.4).
#[test]
fn prf_hmac_secret_vectors() {
    let mut seen = 0;
    for v in vectors()
        .iter()
        .filter(|v| v["prf_kind"] == "ctap2-hmac-secret")
    {
        let id = v["id"].as_str().unwrap();
        let inp = &v["inputs"];
        let mid = &v["intermediate"];
        let protocol = v["pin_uv_auth_protocol"].as_u64().unwrap();
        let platform =
            EcdhP256::from_private_scalar(&b(&inp["platform_key_agreement_private_key_b64url"]))
                .unwrap();
        let auth_pk = &inp["authenticator_key_agreement_public_key"];
        let z = platform
            .agree(&b(&auth_pk["x_b64url"]), &b(&auth_pk["y_b64url"]))
            .unwrap();
        let shared: Vec<u8> = if protocol == 1 {
            sha256(z.expose()).to_vec()
        } else {
            let hmac_key = hkdf_sha256(&[0; 32], z.expose(), b"CTAP2 HMAC key", 32).unwrap();
            let aes_key = hkdf_sha256(&[0; 32], z.expose(), b"CTAP2 AES key", 32).unwrap();
            [hmac_key.expose(), aes_key.expose()].concat()
        };
        assert_eq!(
            shared,
            b(&mid["shared_secret_b64url"]),
            "{id}: shared secret"
        );
        let prf_salt = |x: &[u8]| sha256(&[b"WebAuthn PRF".as_slice(), &[0], x].concat());
        let salt1 = prf_salt(&b(&inp["prf_eval_first_b64url"]));
        assert_eq!(salt1.to_vec(), b(&mid["salt1_b64url"]), "{id}: salt1");
        let mut salts = salt1.to_vec();
        if !inp["prf_eval_second_b64url"].is_null() {
            let salt2 = prf_salt(&b(&inp["prf_eval_second_b64url"]));
            assert_eq!(salt2.to_vec(), b(&mid["salt2_b64url"]), "{id}: salt2");
            salts.extend_from_slice(&salt2);
        }
        let split = |enc: &[u8]| -> ([u8; 16], Vec<u8>) {
            if protocol == 1 {
                ([0; 16], enc.to_vec())
            } else {
                let mut iv = [0u8; 16];
                iv.copy_from_slice(&enc[..16]);
                (iv, enc[16..].to_vec())
            }
        };
        let key = if protocol == 1 {
            &shared[..]
        } else {
            &shared[32..]
        };
        let salt_enc = b(&mid["salt_enc_b64url"]);
        let (iv, ct) = split(&salt_enc);
        assert_eq!(
            aes256_cbc_decrypt(key, &iv, &ct).unwrap(),
            salts,
            "{id}: saltEnc decrypts to the salts"
        );
        assert_eq!(
            aes256_cbc_encrypt(key, &iv, &salts).unwrap(),
            ct,
            "{id}: salts encrypt to saltEnc"
        );
        let cred_random = b(&inp["authenticator_cred_random_b64url"]);
        let mut outputs = hmac_sha256(&cred_random, &salts[..32]).to_vec();
        assert_eq!(outputs, b(&mid["output1_b64url"]), "{id}: output1");
        assert_eq!(
            outputs,
            b(&v["expected"]["prf_results_first_b64url"]),
            "{id}: PRF first"
        );
        if salts.len() == 64 {
            let o2 = hmac_sha256(&cred_random, &salts[32..]);
            assert_eq!(o2.to_vec(), b(&mid["output2_b64url"]), "{id}: output2");
            outputs.extend_from_slice(&o2);
        }
        let (iv, ct) = split(&b(&mid["output_enc_b64url"]));
        assert_eq!(
            aes256_cbc_decrypt(key, &iv, &ct).unwrap(),
            outputs,
            "{id}: outputEnc"
        );
        seen += 1;
    }
    assert_eq!(seen, 3);
}
