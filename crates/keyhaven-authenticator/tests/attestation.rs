//! Packed attestation with a configured batch key and certificate, verified by
//! keyhaven-rp against the root; and attestationFormatsPreference.

use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::authdata::Aaguid;
use keyhaven_proto::b64;
use keyhaven_proto::client_data::{CollectedClientData, TYPE_CREATE};
use keyhaven_proto::ctap2::make_credential::MakeCredentialRequest;
use keyhaven_proto::ctap2::types::UserEntity;
use keyhaven_proto::ctap2::{Command, Request, Response, ResponseBody};
use keyhaven_proto::json::{
    AttestationResponseJson, ExtensionOutputsJson, RegistrationResponseJson,
};
use keyhaven_rp::options::RegistrationState;
use keyhaven_rp::{verify_registration, RpConfig};
use std::sync::Arc;

use keyhaven_testkit::pki::{batch, AAGUID};

fn register(
    a: &mut Authenticator<MemoryStore, AlwaysApprove>,
    prefs: Option<Vec<String>>,
    root: &[u8],
) -> keyhaven_rp::RegistrationResult {
    let challenge = [5u8; 32];
    let cd =
        CollectedClientData::new(TYPE_CREATE, &challenge, "https://example.org").to_json_bytes();
    let req = Request::MakeCredential(MakeCredentialRequest {
        attestation_formats_preference: prefs,
        ..MakeCredentialRequest::new(
            sha256(&cd).to_vec(),
            "example.org",
            UserEntity::new(b"u".to_vec(), None),
            -8,
        )
    });
    let out = a.process(&req.to_bytes());
    let ResponseBody::MakeCredential(mc) = Response::from_bytes(Command::MakeCredential, &out)
        .unwrap()
        .body
    else {
        panic!("makeCredential")
    };
    let ao = AttestationObject::from_make_credential_response(&mc);
    let id = ao
        .auth_data
        .attested_credential_data
        .as_ref()
        .unwrap()
        .credential_id
        .clone();
    let resp = RegistrationResponseJson {
        id: b64::encode(&id),
        raw_id: id,
        response: AttestationResponseJson {
            client_data_json: cd,
            attestation_object: ao.to_bytes(),
            authenticator_data: None,
            transports: vec![],
            public_key: None,
            public_key_algorithm: None,
        },
        authenticator_attachment: None,
        client_extension_results: ExtensionOutputsJson::default(),
        type_: "public-key".into(),
    };
    let mut cfg = RpConfig::new("example.org", "Example");
    cfg.attestation.trust_anchors = vec![root.to_vec()];
    let state = RegistrationState {
        challenge: challenge.to_vec(),
        user_handle: b"u".to_vec(),
        algorithms: vec![-8],
        user_verification_required: false,
        conditional_mediation: false,
        extensions: None,
    };
    verify_registration(&cfg, &resp, &state, |_| false).unwrap()
}

#[test]
fn batch_packed_attestation_chains_to_the_root() {
    let (root, batch) = batch();
    let settings = Settings {
        aaguid: Aaguid(AAGUID),
        batch_attestation: Some(Arc::new(batch)),
        ..Default::default()
    };
    let mut a =
        Authenticator::new(MemoryStore::new(10), AlwaysApprove::default(), settings).unwrap();
    let r = register(&mut a, None, &root);
    assert_eq!(r.attestation.fmt, "packed");
    assert_eq!(r.record.attestation_type, "Basic");
    assert!(
        r.attestation_trusted,
        "the batch certificate chains to the configured root"
    );
    assert_eq!(
        r.record.algorithm, -8,
        "EdDSA credential, ES256 attestation key"
    );
    // attestationFormatsPreference: none first.
    let r = register(&mut a, Some(vec!["none".into(), "packed".into()]), &root);
    assert_eq!(r.attestation.fmt, "none");
    // Unknown formats are skipped; packed is the default.
    let r = register(&mut a, Some(vec!["tpm".into()]), &root);
    assert_eq!(r.attestation.fmt, "packed");
}
