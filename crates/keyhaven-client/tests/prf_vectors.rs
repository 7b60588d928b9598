//! The W3C PRF vectors at the WebAuthn API level: a credential whose
//! hmac-secret CredRandom (the one used with user verification) is the
//! vector's, asked through `Client::get` with the vector's `prf.eval`
//! inputs, gives the vector's PRF results; the example properties of
//! L3 §16.x (enabled only at registration, equal inputs give equal outputs).

use keyhaven_authenticator::{
    AlwaysApprove, Authenticator, CredentialStore, MemoryStore, Settings,
};
use keyhaven_client::{CallOptions, Client, InProcess};
use keyhaven_crypto::SecretBytes;
use keyhaven_proto::b64;
use keyhaven_proto::cbor::Value;
use keyhaven_proto::ctap2::make_credential::MakeCredentialRequest;
use keyhaven_proto::ctap2::types::{Options, UserEntity};
use keyhaven_proto::ctap2::Request;
use keyhaven_proto::json::{ExtensionInputsJson, PrfInputsJson, PrfValuesJson, RequestOptionsJson};
use serde_json::Value as Json;

fn b(v: &Json) -> Vec<u8> {
    b64::decode(v.as_str().unwrap()).unwrap()
}

fn get(c: &mut Client, eval: PrfValuesJson) -> keyhaven_proto::json::PrfOutputsJson {
    let options = RequestOptionsJson {
        challenge: vec![7; 32],
        timeout: None,
        rp_id: Some("example.org".into()),
        allow_credentials: vec![],
        user_verification: Some("required".into()),
        hints: vec![],
        attestation: None,
        attestation_formats: vec![],
        extensions: Some(ExtensionInputsJson {
            prf: Some(PrfInputsJson {
                eval: Some(eval),
                eval_by_credential: None,
            }),
            ..Default::default()
        }),
    };
    let cred = c
        .get(&CallOptions::new("https://example.org"), &options)
        .unwrap();
    cred.client_extension_results.prf.unwrap()
}

#[test]
fn w3c_prf_vectors_through_get() {
    let all: Vec<Json> = keyhaven_testkit::vectors::all();
    let mut n = 0;
    for v in all.iter().filter(|v| v["prf_kind"] == "ctap2-hmac-secret") {
        let id = v["id"].as_str().unwrap();
        let inp = &v["inputs"];
        // A discoverable credential with hmac-secret, then its UV CredRandom set to the vector's.
        let mut auth = Authenticator::new(
            MemoryStore::new(4),
            AlwaysApprove { uv: true },
            Settings::default(),
        )
        .unwrap();
        let req = MakeCredentialRequest {
            extensions: Some(Value::canonical_map(vec![(
                "hmac-secret".into(),
                Value::Bool(true),
            )])),
            options: Some(Options {
                rk: Some(true),
                uv: Some(true),
                ..Default::default()
            }),
            ..MakeCredentialRequest::new(
                vec![1; 32],
                "example.org",
                UserEntity::new(vec![1], None),
                -7,
            )
        };
        assert_eq!(auth.process(&Request::MakeCredential(req).to_bytes())[0], 0);
        let mut cred = auth.store().all().unwrap().remove(0);
        let (no_uv, _) = cred.cred_random.take().unwrap();
        cred.cred_random = Some((
            no_uv,
            SecretBytes::new(b(&inp["authenticator_cred_random_b64url"])),
        ));
        auth.store_mut().put(cred).unwrap();
        let mut c = Client::new(vec![Box::new(InProcess::new(auth))]);
        let second = inp["prf_eval_second_b64url"]
            .as_str()
            .map(|s| b64::decode(s).unwrap());
        let out = get(
            &mut c,
            PrfValuesJson {
                first: b(&inp["prf_eval_first_b64url"]),
                second: second.clone(),
            },
        );
        assert_eq!(out.enabled, None, "{id}: enabled is only for registration");
        let results = out.results.expect("results");
        assert_eq!(
            results.first,
            b(&v["expected"]["prf_results_first_b64url"]),
            "{id}: first"
        );
        match &v["expected"]["prf_results_second_b64url"] {
            Json::Null => assert_eq!(results.second, None, "{id}"),
            s => assert_eq!(results.second, Some(b(s)), "{id}: second"),
        }
        // L3 example: equal first and second inputs give equal outputs.
        let first = b(&inp["prf_eval_first_b64url"]);
        let same = get(
            &mut c,
            PrfValuesJson {
                first: first.clone(),
                second: Some(first),
            },
        )
        .results
        .unwrap();
        assert_eq!(Some(same.first.clone()), same.second, "{id}: equal inputs");
        n += 1;
    }
    assert_eq!(n, 3);
}
