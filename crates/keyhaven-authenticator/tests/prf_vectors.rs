//! The W3C CTAP2 hmac-secret (PRF) vectors, both PIN/UV auth protocols,
//! reproduced bit-exact from both sides: the platform's key agreement and
//! salt encryption, and the authenticator's hmac-secret processing.

use keyhaven_authenticator::hmac_secret;
use keyhaven_authenticator::pin_protocol::{KeyAgreement, PinProtocol};
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::b64;
use keyhaven_proto::cose::{CoseAlgorithm, CoseKey, EcCurve};
use serde_json::Value;

fn b(v: &Value) -> Vec<u8> {
    b64::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn hmac_secret_vectors() {
    let all: Vec<Value> = keyhaven_testkit::vectors::all();
    let mut n = 0;
    for v in all.iter().filter(|v| v["prf_kind"] == "ctap2-hmac-secret") {
        let id = v["id"].as_str().unwrap();
        let (inp, mid) = (&v["inputs"], &v["intermediate"]);
        let p = PinProtocol::from_u64(v["pin_uv_auth_protocol"].as_u64().unwrap()).unwrap();
        // Platform: decapsulate with its own private key against the authenticator's public key.
        let platform = KeyAgreement::from_private_scalar(&b(
            &inp["platform_key_agreement_private_key_b64url"]
        ))
        .unwrap();
        let auth_key = &inp["authenticator_key_agreement_public_key"];
        let auth_cose = CoseKey::ec2(
            CoseAlgorithm::EcdhEsHkdf256,
            EcCurve::P256,
            b(&auth_key["x_b64url"]),
            b(&auth_key["y_b64url"]),
        );
        let secret = p.decapsulate(&platform, &auth_cose).unwrap();
        assert_eq!(
            secret.expose(),
            b(&mid["shared_secret_b64url"]),
            "{id}: shared secret"
        );
        // Platform: the PRF salts (L3 §10.1.4) encrypted under the shared secret.
        let salt = |x: &[u8]| sha256(&[b"WebAuthn PRF".as_slice(), &[0], x].concat());
        let mut salts = salt(&b(&inp["prf_eval_first_b64url"])).to_vec();
        if !inp["prf_eval_second_b64url"].is_null() {
            salts.extend(salt(&b(&inp["prf_eval_second_b64url"])));
        }
        let salt_enc = b(&mid["salt_enc_b64url"]);
        let iv = |ct: &[u8]| -> [u8; 16] { ct[..16].try_into().unwrap() };
        let reproduced = match p {
            PinProtocol::One => p.encrypt(secret.expose(), &salts).unwrap(),
            PinProtocol::Two => p
                .encrypt_with_iv(secret.expose(), &iv(&salt_enc), &salts)
                .unwrap(),
        };
        assert_eq!(reproduced, salt_enc, "{id}: saltEnc");
        // Authenticator: saltAuth, decryption, HMAC with CredRandom, encrypted output.
        let salt_auth = p.authenticate(secret.expose(), &salt_enc);
        let output_enc = b(&mid["output_enc_b64url"]);
        let out_iv = iv(&output_enc);
        let got = hmac_secret::process(
            p,
            secret.expose(),
            &salt_enc,
            &salt_auth,
            &b(&inp["authenticator_cred_random_b64url"]),
            (p == PinProtocol::Two).then_some(&out_iv),
        )
        .unwrap();
        assert_eq!(got, output_enc, "{id}: outputEnc");
        let clear = p.decrypt(secret.expose(), &got).unwrap();
        assert_eq!(
            clear[..32],
            b(&v["expected"]["prf_results_first_b64url"])[..],
            "{id}: PRF first"
        );
        // A wrong saltAuth is refused.
        let mut bad = salt_auth.clone();
        bad[0] ^= 1;
        assert!(hmac_secret::process(p, secret.expose(), &salt_enc, &bad, &[0; 32], None).is_err());
        n += 1;
    }
    assert_eq!(n, 3);
}
