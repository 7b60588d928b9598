//! Writes keyhaven-made keys, signatures and messages as JSON for the interop
//! checks in tests/interop/ (run by scripts/test): peers must parse and verify
//! what keyhaven produces.

use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::signature::SigningKey;
use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::authdata::{Aaguid, AttestedCredentialData, AuthenticatorData, Flags};
use keyhaven_proto::b64;
use keyhaven_proto::cbor::Value;
use keyhaven_proto::client_data::{CollectedClientData, TYPE_CREATE, TYPE_GET};
use keyhaven_proto::ctap2::get_assertion::GetAssertionResponse;
use keyhaven_proto::ctap2::types::{CredentialDescriptor, UserEntity};
use keyhaven_proto::ctap2::{Response, ResponseBody};
use serde_json::json;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut keys = Vec::new();
    let mut ceremonies = Vec::new();
    for alg in SigningKey::SIGNING_ALGORITHMS {
        let key = SigningKey::generate(alg)?;
        let cose = key.public_key();
        let msg = format!("keyhaven interop {}", alg.name()).into_bytes();
        keys.push(json!({
            "alg": alg.id(),
            "cose": hex(&cose.to_bytes()),
            "spki": hex(&cose.to_spki_der().ok_or("spki")?),
            "message": hex(&msg),
            "signature": hex(&key.sign(&msg)?),
        }));

        // A registration (attestation object with packed self attestation) and an
        // assertion (CTAP2 getAssertion response) for the same credential.
        let rp_id_hash = sha256(b"example.org");
        let cred_id = keyhaven_crypto::rand::vec(32)?;
        let reg_cd = CollectedClientData::new(
            TYPE_CREATE,
            &keyhaven_crypto::rand::vec(32)?,
            "https://example.org",
        );
        let reg_cd_json = reg_cd.to_json_bytes();
        let ad = AuthenticatorData::new(rp_id_hash, Flags::UP | Flags::UV | Flags::BE, 1)
            .with_attested_credential_data(AttestedCredentialData {
                aaguid: Aaguid([0x42; 16]),
                credential_id: cred_id.clone(),
                credential_public_key: cose.clone(),
            })
            .with_extensions(Value::canonical_map(vec![(
                Value::from("credProtect"),
                Value::from(2),
            )]));
        let ad_bytes = ad.to_bytes();
        let sig = key.sign(&[ad_bytes.as_slice(), &sha256(&reg_cd_json)].concat())?;
        let att_stmt = Value::canonical_map(vec![
            (Value::from("alg"), Value::from(alg.id())),
            (Value::from("sig"), Value::Bytes(sig)),
        ]);
        let ao = AttestationObject::new("packed", att_stmt, ad);

        let get_cd = CollectedClientData::new(
            TYPE_GET,
            &keyhaven_crypto::rand::vec(32)?,
            "https://example.org",
        );
        let get_cd_json = get_cd.to_json_bytes();
        let ga_ad =
            AuthenticatorData::new(rp_id_hash, Flags::UP | Flags::UV | Flags::BE | Flags::BS, 2);
        let ga_sig = key.sign(&[ga_ad.to_bytes().as_slice(), &sha256(&get_cd_json)].concat())?;
        let mut ga = GetAssertionResponse::new(ga_ad, ga_sig);
        ga.credential = Some(CredentialDescriptor::public_key(cred_id.clone()));
        ga.user = Some(UserEntity {
            id: b"user-1".to_vec(),
            name: None,
            display_name: None,
        });
        ga.number_of_credentials = Some(1);
        let ga_msg = Response::ok(ResponseBody::GetAssertion(ga)).to_bytes();
        ceremonies.push(json!({
            "alg": alg.id(),
            "credential_id": hex(&cred_id),
            "cose": hex(&cose.to_bytes()),
            "attestation_object": hex(&ao.to_bytes()),
            "make_credential_response": hex(&Response::ok(ResponseBody::MakeCredential(ao.to_make_credential_response())).to_bytes()),
            "registration_client_data": hex(&reg_cd_json),
            "registration_challenge": reg_cd.challenge,
            "get_assertion_response": hex(&ga_msg),
            "assertion_client_data": hex(&get_cd_json),
            "assertion_client_data_b64": b64::encode(&get_cd_json),
        }));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({ "keys": keys, "ceremonies": ceremonies }))?
    );
    Ok(())
}
