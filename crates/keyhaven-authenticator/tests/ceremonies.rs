//! The authenticator driven through `process()` with CTAP2 bytes, its
//! responses verified by keyhaven-rp: every signing algorithm, discoverable
//! and not, getNextAssertion over several accounts, excludeList, credProtect,
//! hmac-secret, credBlob, and the error statuses.

use keyhaven_authenticator::pin_protocol::PinProtocol;
use keyhaven_authenticator::store::StoreError;
use keyhaven_authenticator::{
    AlwaysApprove, Authenticator, CredentialStore, MemoryStore, Settings, StoredCredential,
    UserInteraction,
};
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::b64;
use keyhaven_proto::cbor::Value;
use keyhaven_proto::client_data::{CollectedClientData, TYPE_CREATE, TYPE_GET};
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::ctap2::get_assertion::{GetAssertionRequest, GetAssertionResponse};
use keyhaven_proto::ctap2::make_credential::{MakeCredentialRequest, MakeCredentialResponse};
use keyhaven_proto::ctap2::types::{
    CredentialDescriptor, CredentialParameters, Options, RpEntity, UserEntity,
};
use keyhaven_proto::ctap2::{Command, Request, Response, ResponseBody, StatusCode};
use keyhaven_proto::json::{
    AssertionResponseJson, AttestationResponseJson, AuthenticationResponseJson,
    ExtensionOutputsJson, RegistrationResponseJson,
};
use keyhaven_rp::options::{AuthenticationState, RegistrationState};
use keyhaven_rp::{verify_authentication, verify_registration, CredentialRecord, RpConfig};

type Auth<U> = Authenticator<MemoryStore, U>;

fn authenticator(uv: bool) -> Auth<AlwaysApprove> {
    Authenticator::new(
        MemoryStore::new(100),
        AlwaysApprove { uv },
        Settings::default(),
    )
    .unwrap()
}

fn rp() -> RpConfig {
    let mut cfg = RpConfig::new("example.org", "Example");
    cfg.algorithms = CoseAlgorithm::ALL.to_vec();
    cfg
}

fn send<U: UserInteraction>(a: &mut Auth<U>, req: Request) -> Result<ResponseBody, StatusCode> {
    let cmd = req.command();
    let out = a.process(&req.to_bytes());
    let r = Response::from_bytes(cmd, &out).expect("a well-formed response");
    if r.status == StatusCode::Ok {
        Ok(r.body)
    } else {
        Err(r.status)
    }
}

fn make_request(
    alg: i64,
    rk: bool,
    user: &[u8],
    extensions: Option<Value>,
    cdh: [u8; 32],
) -> MakeCredentialRequest {
    MakeCredentialRequest {
        client_data_hash: cdh.to_vec(),
        rp: RpEntity {
            id: "example.org".into(),
            name: Some("Example".into()),
        },
        user: UserEntity {
            id: user.to_vec(),
            name: Some("alice".into()),
            display_name: Some("Alice".into()),
        },
        pub_key_cred_params: vec![
            CredentialParameters {
                type_: "public-key".into(),
                alg: -999,
            },
            CredentialParameters {
                type_: "public-key".into(),
                alg,
            },
        ],
        options: Some(Options {
            rk: Some(rk),
            ..Default::default()
        }),
        extensions,
        ..Default::default()
    }
}

/// A registration through the authenticator, verified by the RP: returns the record.
fn register<U: UserInteraction>(
    a: &mut Auth<U>,
    alg: i64,
    rk: bool,
    user: &[u8],
) -> CredentialRecord {
    let challenge = keyhaven_crypto::rand::vec(32).unwrap();
    let cd =
        CollectedClientData::new(TYPE_CREATE, &challenge, "https://example.org").to_json_bytes();
    let ResponseBody::MakeCredential(mc) = send(
        a,
        Request::MakeCredential(make_request(alg, rk, user, None, sha256(&cd))),
    )
    .unwrap() else {
        panic!("makeCredential body")
    };
    verify_made(mc, cd, challenge, user)
}

fn verify_made(
    mc: MakeCredentialResponse,
    cd: Vec<u8>,
    challenge: Vec<u8>,
    user: &[u8],
) -> CredentialRecord {
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
            transports: vec!["usb".into()],
            public_key: None,
            public_key_algorithm: None,
        },
        authenticator_attachment: Some("cross-platform".into()),
        client_extension_results: ExtensionOutputsJson::default(),
        type_: "public-key".into(),
    };
    let state = RegistrationState {
        challenge,
        user_handle: user.to_vec(),
        algorithms: CoseAlgorithm::ALL.iter().map(|a| a.id()).collect(),
        user_verification_required: false,
        conditional_mediation: false,
        extensions: None,
    };
    let r = verify_registration(&rp(), &resp, &state, |_| false).unwrap();
    let expected = if ao.fmt == "none" { "None" } else { "Self" };
    assert_eq!(r.record.attestation_type, expected);
    r.record
}

/// An assertion for `cdh` verified by the RP against `record`.
fn verify_assertion(
    ga: &GetAssertionResponse,
    cd: Vec<u8>,
    challenge: Vec<u8>,
    record: &CredentialRecord,
) -> CredentialRecord {
    let id = ga.credential.as_ref().unwrap().id.clone();
    let resp = AuthenticationResponseJson {
        id: b64::encode(&id),
        raw_id: id,
        response: AssertionResponseJson {
            client_data_json: cd,
            authenticator_data: ga.auth_data_raw.clone(),
            signature: ga.signature.clone(),
            user_handle: ga.user.as_ref().map(|u| u.id.clone()),
            attestation_object: None,
        },
        authenticator_attachment: None,
        client_extension_results: ExtensionOutputsJson::default(),
        type_: "public-key".into(),
    };
    let state = AuthenticationState {
        challenge,
        allow_credentials: vec![],
        user_handle: record.user_handle.clone(),
        user_verification_required: false,
        extensions: None,
    };
    let rec = record.clone();
    verify_authentication(&rp(), &resp, &state, |_| Some(rec))
        .unwrap()
        .record
}

fn get<U: UserInteraction>(
    a: &mut Auth<U>,
    allow: Option<Vec<u8>>,
    extensions: Option<Value>,
) -> (Result<ResponseBody, StatusCode>, Vec<u8>, Vec<u8>) {
    let challenge = keyhaven_crypto::rand::vec(32).unwrap();
    let cd = CollectedClientData::new(TYPE_GET, &challenge, "https://example.org").to_json_bytes();
    let mut req = GetAssertionRequest::new("example.org", sha256(&cd).to_vec());
    req.allow_list = allow.map(|id| vec![CredentialDescriptor::public_key(id)]);
    req.extensions = extensions;
    (send(a, Request::GetAssertion(req)), cd, challenge)
}

#[test]
fn every_algorithm_registers_and_authenticates() {
    let mut a = authenticator(false);
    for alg in [-7, -8, -35, -36, -257, -48, -49, -50] {
        for rk in [false, true] {
            let record = register(&mut a, alg, rk, b"user-1");
            assert_eq!(record.algorithm, alg);
            let (r, cd, ch) = get(&mut a, Some(record.id.clone()), None);
            let ResponseBody::GetAssertion(ga) = r.unwrap() else {
                panic!()
            };
            assert_eq!(ga.auth_data.sign_count, 1);
            let updated = verify_assertion(&ga, cd, ch, &record);
            assert_eq!(updated.sign_count, 1);
            // Counters only go up.
            let (r, cd, ch) = get(&mut a, Some(record.id.clone()), None);
            let ResponseBody::GetAssertion(ga) = r.unwrap() else {
                panic!()
            };
            assert_eq!(verify_assertion(&ga, cd, ch, &updated).sign_count, 2);
        }
    }
}

/// A makeCredential response fits one CTAPHID message (maxMsgSize 7609,
/// status byte included): ML-DSA-87's packed self attestation (a 4627-byte
/// signature) does with a short credential ID; with a long one (a long user
/// entity and hmac-secret's two random values wrapped into it) the statement
/// becomes `none`.
#[test]
fn ml_dsa_87_responses_fit_one_ctaphid_message() {
    let mut a = authenticator(false);
    let long = "x".repeat(64);
    for (name, fmt) in [("alice", "packed"), (long.as_str(), "none")] {
        let challenge = keyhaven_crypto::rand::vec(32).unwrap();
        let cd = CollectedClientData::new(TYPE_CREATE, &challenge, "https://example.org")
            .to_json_bytes();
        let user_id = if fmt == "none" {
            vec![7u8; 64]
        } else {
            vec![7u8; 8]
        };
        let ext = (fmt == "none")
            .then(|| Value::canonical_map(vec![(Value::from("hmac-secret"), Value::Bool(true))]));
        let mut req = make_request(-50, false, &user_id, ext, sha256(&cd));
        req.user.name = Some(name.into());
        req.user.display_name = Some(name.into());
        let bytes = Request::MakeCredential(req).to_bytes();
        let out = a.process(&bytes);
        assert!(
            out.len() <= keyhaven_authenticator::MAX_MSG_SIZE,
            "{fmt}: {} bytes",
            out.len()
        );
        let r = Response::from_bytes(Command::MakeCredential, &out).unwrap();
        let ResponseBody::MakeCredential(mc) = r.body else {
            panic!("{:?}", r.status)
        };
        assert_eq!(mc.fmt, fmt, "{} bytes", out.len());
        let record = verify_made(mc, cd, challenge, &user_id);
        assert_eq!(record.algorithm, -50);
    }
}

#[test]
fn discoverable_accounts_and_get_next_assertion() {
    let mut a = authenticator(true);
    let records: Vec<CredentialRecord> = (0..3u8)
        .map(|i| register(&mut a, -7, true, &[b'u', i]))
        .collect();
    let (r, cd, ch) = get(&mut a, None, None);
    let ResponseBody::GetAssertion(first) = r.unwrap() else {
        panic!()
    };
    assert_eq!(first.number_of_credentials, Some(3));
    // Most recent first; only the user id without UV.
    assert_eq!(first.user.as_ref().unwrap().id, [b'u', 2]);
    assert!(first.user.as_ref().unwrap().name.is_none());
    verify_assertion(&first, cd.clone(), ch.clone(), &records[2]);
    for expect in [1u8, 0] {
        let ResponseBody::GetAssertion(next) = send(&mut a, Request::GetNextAssertion).unwrap()
        else {
            panic!()
        };
        assert_eq!(next.user.as_ref().unwrap().id, [b'u', expect]);
        assert!(next.number_of_credentials.is_none());
        verify_assertion(&next, cd.clone(), ch.clone(), &records[expect as usize]);
    }
    assert_eq!(
        send(&mut a, Request::GetNextAssertion).unwrap_err(),
        StatusCode::Ctap2ErrNotAllowed
    );
    // With UV, names are returned.
    let challenge = [1u8; 32];
    let cd = CollectedClientData::new(TYPE_GET, &challenge, "https://example.org").to_json_bytes();
    let mut req = GetAssertionRequest::new("example.org", sha256(&cd).to_vec());
    req.options = Some(Options {
        uv: Some(true),
        ..Default::default()
    });
    let ResponseBody::GetAssertion(ga) = send(&mut a, Request::GetAssertion(req)).unwrap() else {
        panic!()
    };
    assert_eq!(ga.user.as_ref().unwrap().name.as_deref(), Some("alice"));
    assert!(ga.auth_data.flags.uv());
}

#[test]
fn exclude_list_cred_protect_and_errors() {
    let mut a = authenticator(false);
    let record = register(&mut a, -7, true, b"user-1");
    let mut req = make_request(-7, true, b"user-2", None, [0; 32]);
    req.exclude_list = Some(vec![CredentialDescriptor::public_key(record.id.clone())]);
    assert_eq!(
        send(&mut a, Request::MakeCredential(req)).unwrap_err(),
        StatusCode::Ctap2ErrCredentialExcluded
    );
    // credProtect 3 (userVerificationRequired): invisible without UV.
    let ext = Value::canonical_map(vec![(Value::from("credProtect"), Value::from(3))]);
    let ResponseBody::MakeCredential(mc) = send(
        &mut a,
        Request::MakeCredential(make_request(-7, true, b"user-3", Some(ext), [0; 32])),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(mc.auth_data.extension("credProtect"), Some(&Value::from(3)));
    let id3 = mc.auth_data.attested_credential_data.unwrap().credential_id;
    assert_eq!(
        get(&mut a, Some(id3), None).0.unwrap_err(),
        StatusCode::Ctap2ErrNoCredentials
    );
    // Error statuses.
    assert_eq!(
        get(&mut a, Some(vec![9; 16]), None).0.unwrap_err(),
        StatusCode::Ctap2ErrNoCredentials
    );
    let unsupported = MakeCredentialRequest {
        pub_key_cred_params: vec![CredentialParameters {
            type_: "public-key".into(),
            alg: -999,
        }],
        ..make_request(-7, false, b"u", None, [0; 32])
    };
    assert_eq!(
        send(&mut a, Request::MakeCredential(unsupported)).unwrap_err(),
        StatusCode::Ctap2ErrUnsupportedAlgorithm
    );
    let mut no_up = make_request(-7, false, b"u", None, [0; 32]);
    no_up.options = Some(Options {
        up: Some(false),
        ..Default::default()
    });
    assert_eq!(
        send(&mut a, Request::MakeCredential(no_up)).unwrap_err(),
        StatusCode::Ctap2ErrInvalidOption
    );
    let mut uv = make_request(-7, false, b"u", None, [0; 32]);
    uv.options = Some(Options {
        uv: Some(true),
        ..Default::default()
    });
    assert_eq!(
        send(&mut a, Request::MakeCredential(uv)).unwrap_err(),
        StatusCode::Ctap2ErrInvalidOption,
        "no built-in UV"
    );
    let mut pin = make_request(-7, false, b"u", None, [0; 32]);
    pin.pin_uv_auth_param = Some(vec![]);
    assert_eq!(
        send(&mut a, Request::MakeCredential(pin)).unwrap_err(),
        StatusCode::Ctap2ErrPinNotSet
    );
    assert_eq!(
        a.process(&[0x01, 0xa1, 0x01]),
        [StatusCode::Ctap2ErrInvalidCbor.to_byte()]
    );
    assert_eq!(
        a.process(&[0x02, 0xa1, 0x01, 0x61, b'x']),
        [StatusCode::Ctap2ErrMissingParameter.to_byte()]
    );
    assert_eq!(
        a.process(&[0x42]),
        [StatusCode::Ctap1ErrInvalidCommand.to_byte()]
    );
    assert_eq!(
        a.process(&[]),
        [StatusCode::Ctap1ErrInvalidLength.to_byte()]
    );
    assert_eq!(
        send(&mut a, Request::GetNextAssertion).unwrap_err(),
        StatusCode::Ctap2ErrNotAllowed
    );
    // getInfo and selection; reset inside the power-up window clears everything.
    let info = a.process(&[0x04]);
    let r = Response::from_bytes(Command::GetInfo, &info).unwrap();
    let ResponseBody::GetInfo(info) = r.body else {
        panic!()
    };
    assert!(info.versions.contains(&"FIDO_2_2".to_string()));
    assert_eq!(info.option("rk"), Some(true));
    assert_eq!(
        send(&mut a, Request::Selection).unwrap(),
        ResponseBody::Empty
    );
    assert_eq!(send(&mut a, Request::Reset).unwrap(), ResponseBody::Empty);
    assert_eq!(
        get(&mut a, Some(record.id), None).0.unwrap_err(),
        StatusCode::Ctap2ErrNoCredentials
    );
}

#[test]
fn hmac_secret_mc_matches_later_assertions() {
    let mut a = authenticator(false);
    let p = PinProtocol::Two;
    let (platform_key, secret) = p.encapsulate(&a.key_agreement_public().unwrap()).unwrap();
    let salt_enc = p.encrypt(secret.expose(), &[9u8; 32]).unwrap();
    let hs = Value::canonical_map(vec![
        (Value::from(1), platform_key.to_value()),
        (Value::from(2), Value::Bytes(salt_enc.clone())),
        (
            Value::from(3),
            Value::Bytes(p.authenticate(secret.expose(), &salt_enc)),
        ),
        (Value::from(4), Value::from(2)),
    ]);
    let ext = Value::canonical_map(vec![
        (Value::from("hmac-secret"), Value::Bool(true)),
        (Value::from("hmac-secret-mc"), hs.clone()),
    ]);
    let ResponseBody::MakeCredential(mc) = send(
        &mut a,
        Request::MakeCredential(make_request(-7, true, b"u", Some(ext), [0; 32])),
    )
    .unwrap() else {
        panic!()
    };
    let at_creation = p
        .decrypt(
            secret.expose(),
            mc.auth_data
                .extension("hmac-secret-mc")
                .unwrap()
                .as_bytes()
                .unwrap(),
        )
        .unwrap();
    let id = mc.auth_data.attested_credential_data.unwrap().credential_id;
    let ResponseBody::GetAssertion(ga) = get(
        &mut a,
        Some(id),
        Some(Value::canonical_map(vec![(Value::from("hmac-secret"), hs)])),
    )
    .0
    .unwrap() else {
        panic!()
    };
    let later = p
        .decrypt(
            secret.expose(),
            ga.auth_data
                .extension("hmac-secret")
                .unwrap()
                .as_bytes()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        at_creation, later,
        "the PRF output at creation equals the one at assertion"
    );
}

#[test]
fn hmac_secret_and_cred_blob() {
    let mut a = authenticator(false);
    let ext = Value::canonical_map(vec![
        (Value::from("hmac-secret"), Value::Bool(true)),
        (Value::from("credBlob"), Value::Bytes(b"blob!".to_vec())),
    ]);
    let ResponseBody::MakeCredential(mc) = send(
        &mut a,
        Request::MakeCredential(make_request(-7, true, b"user-1", Some(ext), [0; 32])),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        mc.auth_data.extension("hmac-secret"),
        Some(&Value::Bool(true))
    );
    assert_eq!(mc.auth_data.extension("credBlob"), Some(&Value::Bool(true)));
    let id = mc.auth_data.attested_credential_data.unwrap().credential_id;
    for p in [PinProtocol::One, PinProtocol::Two] {
        let (platform_key, secret) = p.encapsulate(&a.key_agreement_public().unwrap()).unwrap();
        let salt = [5u8; 32];
        let salt_enc = p.encrypt(secret.expose(), &salt).unwrap();
        let salt_auth = p.authenticate(secret.expose(), &salt_enc);
        let hs = Value::canonical_map(vec![
            (Value::from(1), platform_key.to_value()),
            (Value::from(2), Value::Bytes(salt_enc.clone())),
            (Value::from(3), Value::Bytes(salt_auth)),
            (Value::from(4), Value::from(p.number())),
        ]);
        let ext = Value::canonical_map(vec![
            (Value::from("hmac-secret"), hs.clone()),
            (Value::from("credBlob"), Value::Bool(true)),
        ]);
        let ResponseBody::GetAssertion(ga) = get(&mut a, Some(id.clone()), Some(ext)).0.unwrap()
        else {
            panic!()
        };
        let out = ga
            .auth_data
            .extension("hmac-secret")
            .unwrap()
            .as_bytes()
            .unwrap();
        let clear = p.decrypt(secret.expose(), out).unwrap();
        assert_eq!(clear.len(), 32);
        assert_eq!(
            ga.auth_data.extension("credBlob"),
            Some(&Value::Bytes(b"blob!".to_vec()))
        );
        // The same salt gives the same output (same credential, same UV state).
        let ResponseBody::GetAssertion(again) = get(
            &mut a,
            Some(id.clone()),
            Some(Value::canonical_map(vec![(Value::from("hmac-secret"), hs)])),
        )
        .0
        .unwrap() else {
            panic!()
        };
        let clear2 = p
            .decrypt(
                secret.expose(),
                again
                    .auth_data
                    .extension("hmac-secret")
                    .unwrap()
                    .as_bytes()
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(clear, clear2);
        // A wrong saltAuth is refused.
        let bad = Value::canonical_map(vec![(
            Value::from("hmac-secret"),
            Value::canonical_map(vec![
                (Value::from(1), platform_key.to_value()),
                (Value::from(2), Value::Bytes(salt_enc)),
                (
                    Value::from(3),
                    Value::Bytes(vec![0; if p == PinProtocol::One { 16 } else { 32 }]),
                ),
                (Value::from(4), Value::from(p.number())),
            ]),
        )]);
        assert_eq!(
            get(&mut a, Some(id.clone()), Some(bad)).0.unwrap_err(),
            StatusCode::Ctap2ErrPinAuthInvalid
        );
        // §12.5: authenticated salts of another length than 32 or 64 bytes
        // are CTAP1_ERR_INVALID_PARAMETER.
        for len in [16, 48, 96] {
            let salt_enc = p.encrypt(secret.expose(), &vec![5u8; len]).unwrap();
            let salt_auth = p.authenticate(secret.expose(), &salt_enc);
            let odd = Value::canonical_map(vec![(
                Value::from("hmac-secret"),
                Value::canonical_map(vec![
                    (Value::from(1), platform_key.to_value()),
                    (Value::from(2), Value::Bytes(salt_enc)),
                    (Value::from(3), Value::Bytes(salt_auth)),
                    (Value::from(4), Value::from(p.number())),
                ]),
            )]);
            assert_eq!(
                get(&mut a, Some(id.clone()), Some(odd)).0.unwrap_err(),
                StatusCode::Ctap1ErrInvalidParameter,
                "{len}-byte salts, protocol {}",
                p.number()
            );
        }
    }
}

/// A user who refuses presence.
struct Refuser;
impl UserInteraction for Refuser {
    fn presence(&mut self, _: &str) -> bool {
        false
    }
    fn has_built_in_uv(&self) -> bool {
        false
    }
    fn verify_user(&mut self, _: &str) -> bool {
        false
    }
}

#[test]
fn refused_presence_is_operation_denied() {
    let mut a = Authenticator::new(MemoryStore::new(10), Refuser, Settings::default()).unwrap();
    assert_eq!(
        send(
            &mut a,
            Request::MakeCredential(make_request(-7, false, b"u", None, [0; 32]))
        )
        .unwrap_err(),
        StatusCode::Ctap2ErrOperationDenied
    );
    assert_eq!(
        send(&mut a, Request::Selection).unwrap_err(),
        StatusCode::Ctap2ErrOperationDenied
    );
}

#[test]
fn non_discoverable_ids_carry_their_credential() {
    use keyhaven_authenticator::CredentialStore;
    let mut a = authenticator(false);
    let record = register(&mut a, -7, false, b"user-1");
    assert!(
        record.id.len() > 32 && record.id.len() <= 1023,
        "a wrapped ID, {} bytes",
        record.id.len()
    );
    assert_eq!(record.id[0], 1, "format version");
    let (r, cd, ch) = get(&mut a, Some(record.id.clone()), None);
    let ResponseBody::GetAssertion(ga) = r.unwrap() else {
        panic!()
    };
    let updated = verify_assertion(&ga, cd, ch, &record);
    // Even with the stored copy gone, the ID alone still authenticates (and the
    // credential is stored again so its counter persists).
    assert!(a.store_mut().delete(&record.id).unwrap());
    let (r, cd, ch) = get(&mut a, Some(record.id.clone()), None);
    let ResponseBody::GetAssertion(ga) = r.unwrap() else {
        panic!()
    };
    let mut stale = updated.clone();
    stale.sign_count = 0;
    verify_assertion(&ga, cd, ch, &stale);
    assert!(a.store().get(&record.id).unwrap().is_some());
    // Bound to the RP: another RP ID cannot use it.
    let mut other = GetAssertionRequest::new("example.com", vec![0; 32]);
    other.allow_list = Some(vec![CredentialDescriptor::public_key(record.id.clone())]);
    assert!(a.store_mut().delete(&record.id).unwrap());
    assert_eq!(
        send(&mut a, Request::GetAssertion(other)).unwrap_err(),
        StatusCode::Ctap2ErrNoCredentials
    );
    // A tampered ID is not ours.
    let mut tampered = record.id.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        get(&mut a, Some(tampered), None).0.unwrap_err(),
        StatusCode::Ctap2ErrNoCredentials
    );
    // After a reset the device secret is new: old IDs are dead.
    send(&mut a, Request::Reset).unwrap();
    assert_eq!(
        get(&mut a, Some(record.id), None).0.unwrap_err(),
        StatusCode::Ctap2ErrNoCredentials
    );
}

/// A store that fails its writes with a given error (a full store, or a disk
/// whose fsync fails).
struct FailingStore(MemoryStore, StoreError);

impl CredentialStore for FailingStore {
    fn put(&mut self, _: StoredCredential) -> Result<(), StoreError> {
        Err(self.1.clone())
    }
    fn get(&self, id: &[u8]) -> Result<Option<StoredCredential>, StoreError> {
        self.0.get(id)
    }
    fn by_rp(&self, h: &[u8; 32]) -> Result<Vec<StoredCredential>, StoreError> {
        self.0.by_rp(h)
    }
    fn all(&self) -> Result<Vec<StoredCredential>, StoreError> {
        self.0.all()
    }
    fn delete(&mut self, id: &[u8]) -> Result<bool, StoreError> {
        self.0.delete(id)
    }
    fn set_sign_count(&mut self, _: &[u8], _: u32) -> Result<(), StoreError> {
        Err(self.1.clone())
    }
    fn clear(&mut self) -> Result<(), StoreError> {
        self.0.clear()
    }
    fn remaining_discoverable(&self) -> usize {
        self.0.remaining_discoverable()
    }
    fn large_blob_array(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.large_blob_array()
    }
    fn set_large_blob_array(&mut self, a: Vec<u8>) -> Result<(), StoreError> {
        self.0.set_large_blob_array(a)
    }
    fn authenticator_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.authenticator_state()
    }
    fn set_authenticator_state(&mut self, s: Vec<u8>) -> Result<(), StoreError> {
        self.0.set_authenticator_state(s)
    }
}

/// A failing disk is CTAP1_ERR_OTHER, a full store CTAP2_ERR_KEY_STORE_FULL:
/// an fsync failure is never reported to the platform as "store full".
#[test]
fn store_failures_map_to_their_own_status() {
    for (error, status) in [
        (
            StoreError::Io("fsync: EIO".into()),
            StatusCode::Ctap1ErrOther,
        ),
        (StoreError::Full, StatusCode::Ctap2ErrKeyStoreFull),
    ] {
        let mut a = Authenticator::new(
            FailingStore(MemoryStore::new(100), error),
            AlwaysApprove { uv: true },
            Settings::default(),
        )
        .unwrap();
        let req = Request::MakeCredential(make_request(-7, true, b"u1", None, [7; 32]));
        let out = a.process(&req.to_bytes());
        let r = Response::from_bytes(Command::MakeCredential, &out).unwrap();
        assert_eq!(r.status, status);
    }
}

/// CTAP 2.2 §6.1.2 step 17: a discoverable credential for an rp.id and user
/// ID that already has one overwrites it, also when the store is full.
#[test]
fn a_second_discoverable_credential_for_a_user_overwrites_the_first() {
    let mut a = Authenticator::new(
        MemoryStore::new(2),
        AlwaysApprove { uv: true },
        Settings::default(),
    )
    .unwrap();
    let first = register(&mut a, -7, true, b"u1");
    let other = register(&mut a, -7, true, b"u2");
    // The store is full now; a second credential for u1 still fits, in u1's place.
    let second = register(&mut a, -7, true, b"u1");
    assert_ne!(first.id, second.id);
    let (r, ..) = get(&mut a, None, None);
    let ResponseBody::GetAssertion(ga) = r.unwrap() else {
        panic!()
    };
    assert_eq!(ga.number_of_credentials, Some(2));
    let mut ids = vec![ga.credential.unwrap().id];
    let ResponseBody::GetAssertion(next) = send(&mut a, Request::GetNextAssertion).unwrap() else {
        panic!()
    };
    ids.push(next.credential.unwrap().id);
    assert_eq!(ids, [second.id.clone(), other.id.clone()]);
    let (r, ..) = get(&mut a, Some(first.id.clone()), None);
    assert_eq!(r.unwrap_err(), StatusCode::Ctap2ErrNoCredentials);
    assert_eq!(a.store().all().unwrap().len(), 2);
    // A new user does not fit.
    let req = Request::MakeCredential(make_request(-7, true, b"u3", None, [7; 32]));
    assert_eq!(
        send(&mut a, req).unwrap_err(),
        StatusCode::Ctap2ErrKeyStoreFull
    );
    // Non-discoverable credentials for the same user are not overwritten.
    let nd1 = register(&mut a, -7, false, b"u1");
    let nd2 = register(&mut a, -7, false, b"u1");
    for id in [nd1.id, nd2.id, second.id] {
        assert!(get(&mut a, Some(id), None).0.is_ok());
    }
}
