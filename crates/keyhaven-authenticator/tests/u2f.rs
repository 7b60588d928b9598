//! CTAP1/U2F through `process_u2f` (FIDO U2F raw messages v1.2; CTAP 2.2
//! §10): register, authenticate in its three modes, version; the status
//! words for bad APDUs, which change nothing; the key handle used through
//! CTAP2 getAssertion with the same counter; a U2F-only device.

use keyhaven_authenticator::{
    AlwaysApprove, Authenticator, CredentialStore, MemoryStore, Settings,
};
use keyhaven_crypto::digest::sha256;
use keyhaven_ctap::u2f::{
    control, ins, split_response, sw, Apdu, AuthenticateRequest, AuthenticateResponse,
    RegisterRequest, RegisterResponse,
};
use keyhaven_proto::cose::{CoseAlgorithm, CoseKey, EcCurve};
use keyhaven_proto::ctap2::get_assertion::GetAssertionRequest;
use keyhaven_proto::ctap2::types::CredentialDescriptor;
use keyhaven_proto::ctap2::{Request, Response, ResponseBody, StatusCode};

type A = Authenticator<MemoryStore, AlwaysApprove>;

fn authenticator(settings: Settings) -> A {
    Authenticator::new(MemoryStore::new(10), AlwaysApprove::default(), settings).unwrap()
}

fn call(a: &mut A, apdu: &[u8]) -> (Vec<u8>, u16) {
    let out = a.process_u2f(apdu);
    let (data, status) = split_response(&out).expect("a status word");
    (data.to_vec(), status)
}

const APP: &str = "https://u2f.example.com";

fn register(a: &mut A, challenge: [u8; 32]) -> RegisterResponse {
    let req = RegisterRequest {
        challenge,
        application: sha256(APP.as_bytes()),
    };
    let (data, status) = call(a, &req.to_apdu().to_bytes());
    assert_eq!(status, sw::NO_ERROR);
    RegisterResponse::parse(&data).unwrap()
}

fn authenticate(a: &mut A, p1: u8, kh: &[u8], app: &str) -> (Vec<u8>, u16) {
    let req = AuthenticateRequest {
        challenge: [7; 32],
        application: sha256(app.as_bytes()),
        key_handle: kh.to_vec(),
    };
    call(a, &req.to_apdu(p1).unwrap().to_bytes())
}

fn point_key(p: &[u8; 65]) -> CoseKey {
    CoseKey::ec2(
        CoseAlgorithm::Es256,
        EcCurve::P256,
        p[1..33].to_vec(),
        p[33..].to_vec(),
    )
}

#[test]
fn register_authenticate_and_version() {
    let mut a = authenticator(Settings::default());
    let (v, s) = call(&mut a, &Apdu::new(ins::VERSION, 0, 0, vec![]).to_bytes());
    assert_eq!((v.as_slice(), s), (&b"U2F_V2"[..], sw::NO_ERROR));
    let reg = register(&mut a, [1; 32]);
    assert!(reg.key_handle.len() <= 255);
    assert_eq!(reg.certificate[0], 0x30);
    // The same generated attestation certificate for every registration.
    assert_eq!(register(&mut a, [2; 32]).certificate, reg.certificate);
    // check-only: a known key handle is "conditions not satisfied".
    assert_eq!(
        authenticate(&mut a, control::CHECK_ONLY, &reg.key_handle, APP).1,
        sw::CONDITIONS_NOT_SATISFIED
    );
    let app = sha256(APP.as_bytes());
    for (n, (p1, up)) in [
        (control::ENFORCE_USER_PRESENCE, 1u8),
        (control::DONT_ENFORCE_USER_PRESENCE, 0),
    ]
    .into_iter()
    .enumerate()
    {
        let (data, s) = authenticate(&mut a, p1, &reg.key_handle, APP);
        assert_eq!(s, sw::NO_ERROR);
        let r = AuthenticateResponse::parse(&data).unwrap();
        assert_eq!((r.user_presence, r.counter), (up, n as u32 + 1));
        let signed = AuthenticateResponse::signed_data(&app, up, r.counter, &[7; 32]);
        keyhaven_crypto::signature::verify(&point_key(&reg.public_key), &signed, &r.signature)
            .expect("the credential key signs");
    }
}

/// CTAP 2.2 §10.2: a U2F key handle is a credential ID CTAP2 getAssertion
/// accepts with the appid as RP ID, and the counter goes on from U2F's.
#[test]
fn a_u2f_credential_signs_through_ctap2_with_the_same_counter() {
    let mut a = authenticator(Settings::default());
    let reg = register(&mut a, [1; 32]);
    assert_eq!(
        authenticate(&mut a, control::ENFORCE_USER_PRESENCE, &reg.key_handle, APP).1,
        sw::NO_ERROR
    );
    let mut req = GetAssertionRequest::new(APP, vec![3; 32]);
    req.allow_list = Some(vec![CredentialDescriptor::public_key(
        reg.key_handle.clone(),
    )]);
    let msg = Request::GetAssertion(req).to_bytes();
    let r = Response::from_bytes(
        keyhaven_proto::ctap2::Command::GetAssertion,
        &a.process(&msg),
    )
    .unwrap();
    let ResponseBody::GetAssertion(ga) = r.body else {
        panic!("{:?}", r.status)
    };
    assert_eq!(ga.auth_data.sign_count, 2);
    assert_eq!(ga.auth_data.rp_id_hash, sha256(APP.as_bytes()));
    let signed = [ga.auth_data_raw.as_slice(), &[3; 32]].concat();
    keyhaven_crypto::signature::verify(&point_key(&reg.public_key), &signed, &ga.signature)
        .unwrap();
    // Under another RP ID the key handle is unknown, to both protocols.
    assert_eq!(
        authenticate(
            &mut a,
            control::CHECK_ONLY,
            &reg.key_handle,
            "https://other.example"
        )
        .1,
        sw::WRONG_DATA
    );
}

/// Bad APDUs get their status word and change nothing: no credential, no
/// counter step, no new state.
#[test]
fn bad_apdus_get_their_status_words_and_change_nothing() {
    let mut a = authenticator(Settings::default());
    let reg = register(&mut a, [1; 32]);
    let before = (
        a.store().all().unwrap().len(),
        a.store().get(&reg.key_handle).unwrap().unwrap().sign_count,
    );
    let state = a.store().authenticator_state().unwrap();
    let app = sha256(APP.as_bytes());
    let good = AuthenticateRequest {
        challenge: [7; 32],
        application: app,
        key_handle: reg.key_handle.clone(),
    }
    .to_apdu(control::ENFORCE_USER_PRESENCE)
    .unwrap()
    .to_bytes();
    let mut wrong_cla = good.clone();
    wrong_cla[0] = 0x80;
    let mut tampered = good.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 1;
    let mut short_lc = good.clone();
    short_lc[6] -= 1;
    let mut long_lc = good.clone();
    long_lc[6] += 1;
    let mut bad_p1 = good.clone();
    bad_p1[2] = 0x05;
    let reg_63 = Apdu::new(ins::REGISTER, 0, 0, vec![0; 63]).to_bytes();
    let reg_65 = Apdu::new(ins::REGISTER, 0, 0, vec![0; 65]).to_bytes();
    let version_data = Apdu::new(ins::VERSION, 0, 0, vec![1]).to_bytes();
    let auth_len_lies = {
        let mut d = [&[7u8; 32][..], &app, &[200], &reg.key_handle].concat();
        d.truncate(100);
        Apdu::new(ins::AUTHENTICATE, control::ENFORCE_USER_PRESENCE, 0, d).to_bytes()
    };
    for (name, apdu, want) in [
        ("wrong CLA", wrong_cla, sw::CLA_NOT_SUPPORTED),
        (
            "unknown INS",
            Apdu::new(0x42, 0, 0, vec![]).to_bytes(),
            sw::INS_NOT_SUPPORTED,
        ),
        ("Lc one short", short_lc, sw::WRONG_LENGTH),
        ("Lc one long", long_lc, sw::WRONG_LENGTH),
        ("three bytes", vec![0, 1, 0], sw::WRONG_LENGTH),
        ("register with 63 bytes", reg_63, sw::WRONG_LENGTH),
        ("register with 65 bytes", reg_65, sw::WRONG_LENGTH),
        ("version with data", version_data, sw::WRONG_LENGTH),
        (
            "key handle length byte lies",
            auth_len_lies,
            sw::WRONG_LENGTH,
        ),
        ("tampered key handle", tampered, sw::WRONG_DATA),
        ("unknown control byte", bad_p1, sw::INCORRECT_P1P2),
    ] {
        assert_eq!(call(&mut a, &apdu), (vec![], want), "{name}");
    }
    let after = (
        a.store().all().unwrap().len(),
        a.store().get(&reg.key_handle).unwrap().unwrap().sign_count,
    );
    assert_eq!(after, before);
    assert_eq!(a.store().authenticator_state().unwrap(), state);
}

/// A U2F-only device: CTAP2 commands are CTAP1_ERR_INVALID_COMMAND, U2F works;
/// with U2F off, APDUs are refused and getInfo drops U2F_V2.
#[test]
fn u2f_only_and_u2f_off() {
    let mut only = authenticator(Settings {
        ctap2: false,
        ..Settings::default()
    });
    assert_eq!(
        only.process(&Request::GetInfo.to_bytes()),
        [StatusCode::Ctap1ErrInvalidCommand.to_byte()]
    );
    register(&mut only, [1; 32]);
    let mut off = authenticator(Settings {
        u2f: false,
        ..Settings::default()
    });
    let (_, s) = call(&mut off, &Apdu::new(ins::VERSION, 0, 0, vec![]).to_bytes());
    assert_eq!(s, sw::INS_NOT_SUPPORTED);
    assert!(!off.get_info().versions.iter().any(|v| v == "U2F_V2"));
    assert_eq!(
        authenticator(Settings::default()).get_info().versions[0],
        "U2F_V2"
    );
}

/// The configured batch attestation signs U2F registrations when it is ES256.
#[test]
fn an_es256_batch_attestation_is_the_u2f_attestation() {
    let (_, batch) = keyhaven_testkit::pki::batch();
    let leaf = batch.x5c[0].clone();
    let mut a = authenticator(Settings {
        batch_attestation: Some(std::sync::Arc::new(batch)),
        ..Settings::default()
    });
    assert_eq!(register(&mut a, [1; 32]).certificate, leaf);
}

/// The generated attestation is kept with the device secret: after a restart
/// on the same store, registrations carry the same certificate and old key
/// handles still work.
#[test]
fn the_generated_attestation_and_key_handles_survive_a_restart() {
    let mut a = authenticator(Settings::default());
    let reg = register(&mut a, [1; 32]);
    let mut b = Authenticator::new(
        a.store().clone(),
        AlwaysApprove::default(),
        Settings::default(),
    )
    .unwrap();
    assert_eq!(register(&mut b, [2; 32]).certificate, reg.certificate);
    assert_eq!(
        authenticate(&mut b, control::ENFORCE_USER_PRESENCE, &reg.key_handle, APP).1,
        sw::NO_ERROR
    );
}
