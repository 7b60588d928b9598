//! authenticatorClientPIN driven as a platform would, with both PIN/UV auth
//! protocols: set and change the PIN, retries and blocking, tokens with
//! permissions and a permissions RP ID, and UV through the token.

use keyhaven_authenticator::pin_protocol::PinProtocol;
use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::SecretBytes;
use keyhaven_proto::cose::CoseKey;
use keyhaven_proto::ctap2::client_pin::{
    permissions, ClientPinRequest, ClientPinResponse, ClientPinSubcommand as S,
};
use keyhaven_proto::ctap2::get_assertion::GetAssertionRequest;
use keyhaven_proto::ctap2::make_credential::MakeCredentialRequest;
use keyhaven_proto::ctap2::types::UserEntity;
use keyhaven_proto::ctap2::{Request, Response, ResponseBody, StatusCode};

type A = Authenticator<MemoryStore, AlwaysApprove>;

fn send(a: &mut A, req: Request) -> Result<ResponseBody, StatusCode> {
    let cmd = req.command();
    let r = Response::from_bytes(cmd, &a.process(&req.to_bytes())).unwrap();
    if r.status == StatusCode::Ok {
        Ok(r.body)
    } else {
        Err(r.status)
    }
}

fn pin_cmd(a: &mut A, r: ClientPinRequest) -> Result<ClientPinResponse, StatusCode> {
    match send(a, Request::ClientPin(r))? {
        ResponseBody::ClientPin(p) => Ok(p),
        ResponseBody::Empty => Ok(ClientPinResponse::default()),
        other => panic!("unexpected {other:?}"),
    }
}

/// getKeyAgreement + encapsulate: (platform key, shared secret).
fn agree(a: &mut A, p: PinProtocol) -> (CoseKey, SecretBytes) {
    let ka = pin_cmd(a, ClientPinRequest::new(p.number(), S::GetKeyAgreement))
        .unwrap()
        .key_agreement
        .unwrap();
    p.encapsulate(&ka).unwrap()
}

fn padded(pin: &str) -> Vec<u8> {
    let mut v = pin.as_bytes().to_vec();
    v.resize(64, 0);
    v
}

fn set_pin(a: &mut A, p: PinProtocol, pin: &str) -> Result<(), StatusCode> {
    let (key, secret) = agree(a, p);
    let new_pin_enc = p.encrypt(secret.expose(), &padded(pin)).unwrap();
    let mut r = ClientPinRequest::new(p.number(), S::SetPin);
    r.key_agreement = Some(key);
    r.pin_uv_auth_param = Some(p.authenticate(secret.expose(), &new_pin_enc));
    r.new_pin_enc = Some(new_pin_enc);
    pin_cmd(a, r).map(|_| ())
}

fn pin_hash_enc(p: PinProtocol, secret: &SecretBytes, pin: &str) -> Vec<u8> {
    p.encrypt(secret.expose(), &sha256(pin.as_bytes())[..16])
        .unwrap()
}

fn token(
    a: &mut A,
    p: PinProtocol,
    pin: &str,
    perms: Option<u64>,
    rp: Option<&str>,
) -> Result<Vec<u8>, StatusCode> {
    let (key, secret) = agree(a, p);
    let mut r = ClientPinRequest::new(
        p.number(),
        if perms.is_some() {
            S::GetPinUvAuthTokenUsingPinWithPermissions
        } else {
            S::GetPinToken
        },
    );
    r.key_agreement = Some(key);
    r.pin_hash_enc = Some(pin_hash_enc(p, &secret, pin));
    r.permissions = perms;
    r.rp_id = rp.map(str::to_owned);
    let enc = pin_cmd(a, r)?.pin_uv_auth_token.unwrap();
    Ok(p.decrypt(secret.expose(), &enc).unwrap())
}

fn retries(a: &mut A) -> u64 {
    pin_cmd(a, ClientPinRequest::new(2, S::GetPinRetries))
        .unwrap()
        .pin_retries
        .unwrap()
}

fn make(rp: &str, rk: bool, cdh: [u8; 32], auth: Option<(PinProtocol, &[u8])>) -> Request {
    Request::MakeCredential(MakeCredentialRequest {
        pin_uv_auth_param: auth.map(|(p, t)| p.authenticate(t, &cdh)),
        pin_uv_auth_protocol: auth.map(|(p, _)| p.number()),
        ..MakeCredentialRequest::new(
            cdh.to_vec(),
            rp,
            UserEntity::new(b"u".to_vec(), Some("alice")),
            -7,
        )
        .with_rk(rk)
    })
}

fn authenticator() -> A {
    Authenticator::new(
        MemoryStore::new(10),
        AlwaysApprove::default(),
        Settings::default(),
    )
    .unwrap()
}

#[test]
fn pin_lifecycle_and_tokens_both_protocols() {
    for p in [PinProtocol::One, PinProtocol::Two] {
        let mut a = authenticator();
        assert_eq!(
            token(&mut a, p, "1234", None, None).unwrap_err(),
            StatusCode::Ctap2ErrPinNotSet
        );
        assert_eq!(
            set_pin(&mut a, p, "12").unwrap_err(),
            StatusCode::Ctap2ErrPinPolicyViolation,
            "shorter than minPINLength"
        );
        set_pin(&mut a, p, "1234").unwrap();
        assert_eq!(
            set_pin(&mut a, p, "5678").unwrap_err(),
            StatusCode::Ctap2ErrNotAllowed,
            "already set"
        );
        // getInfo now says clientPin: true.
        let ResponseBody::GetInfo(info) = send(&mut a, Request::GetInfo).unwrap() else {
            panic!()
        };
        assert_eq!(info.option("clientPin"), Some(true));
        assert_eq!(info.pin_uv_auth_protocols, Some(vec![2, 1]));

        // A discoverable credential now needs a token (PUAT_REQUIRED), a token makes UV.
        assert_eq!(
            send(&mut a, make("example.org", true, [1; 32], None)).unwrap_err(),
            StatusCode::Ctap2ErrPuatRequired
        );
        let t = token(&mut a, p, "1234", None, None).unwrap();
        let ResponseBody::MakeCredential(mc) =
            send(&mut a, make("example.org", true, [1; 32], Some((p, &t)))).unwrap()
        else {
            panic!()
        };
        assert!(mc.auth_data.flags.uv());
        // The token's permissions RP ID is now example.org: another RP is refused.
        assert_eq!(
            send(&mut a, make("example.com", false, [1; 32], Some((p, &t)))).unwrap_err(),
            StatusCode::Ctap2ErrPinAuthInvalid
        );
        // A wrong pinUvAuthParam is refused.
        let mut wrong = t.clone();
        wrong[0] ^= 1;
        assert_eq!(
            send(
                &mut a,
                make("example.org", false, [1; 32], Some((p, &wrong)))
            )
            .unwrap_err(),
            StatusCode::Ctap2ErrPinAuthInvalid
        );
        // A getAssertion-only token cannot make credentials, but can get assertions (with UV).
        let ga_token = token(
            &mut a,
            p,
            "1234",
            Some(permissions::GA),
            Some("example.org"),
        )
        .unwrap();
        assert_eq!(
            send(
                &mut a,
                make("example.org", false, [2; 32], Some((p, &ga_token)))
            )
            .unwrap_err(),
            StatusCode::Ctap2ErrPinAuthInvalid
        );
        let mut ga = GetAssertionRequest::new("example.org", vec![3; 32]);
        ga.pin_uv_auth_param = Some(p.authenticate(&ga_token, &[3; 32]));
        ga.pin_uv_auth_protocol = Some(p.number());
        let ResponseBody::GetAssertion(resp) = send(&mut a, Request::GetAssertion(ga)).unwrap()
        else {
            panic!()
        };
        assert!(resp.auth_data.flags.uv());
        assert_eq!(
            resp.user.unwrap().name.as_deref(),
            Some("alice"),
            "names after UV"
        );
        // Unsupported permissions.
        assert_eq!(
            token(&mut a, p, "1234", Some(permissions::BE), None).unwrap_err(),
            StatusCode::Ctap2ErrUnauthorizedPermission
        );

        // Wrong PINs: retries count down; three in a row need a power cycle.
        assert_eq!(retries(&mut a), 8);
        assert_eq!(
            token(&mut a, p, "0000", None, None).unwrap_err(),
            StatusCode::Ctap2ErrPinInvalid
        );
        assert_eq!(
            token(&mut a, p, "0000", None, None).unwrap_err(),
            StatusCode::Ctap2ErrPinInvalid
        );
        assert_eq!(retries(&mut a), 6);
        assert_eq!(
            token(&mut a, p, "0000", None, None).unwrap_err(),
            StatusCode::Ctap2ErrPinAuthBlocked
        );
        assert_eq!(
            token(&mut a, p, "1234", None, None).unwrap_err(),
            StatusCode::Ctap2ErrPinAuthBlocked,
            "until power cycle"
        );
        assert_eq!(retries(&mut a), 5);
    }
}

#[test]
fn change_pin_and_block() {
    let p = PinProtocol::Two;
    let mut a = authenticator();
    set_pin(&mut a, p, "1234").unwrap();
    let change = |a: &mut A, old: &str, new: &str| {
        let (key, secret) = agree(a, p);
        let new_pin_enc = p.encrypt(secret.expose(), &padded(new)).unwrap();
        let phe = pin_hash_enc(p, &secret, old);
        let mut r = ClientPinRequest::new(p.number(), S::ChangePin);
        r.key_agreement = Some(key);
        r.pin_uv_auth_param =
            Some(p.authenticate(secret.expose(), &[new_pin_enc.as_slice(), &phe].concat()));
        r.new_pin_enc = Some(new_pin_enc);
        r.pin_hash_enc = Some(phe);
        pin_cmd(a, r).map(|_| ())
    };
    assert_eq!(
        change(&mut a, "9999", "5678").unwrap_err(),
        StatusCode::Ctap2ErrPinInvalid
    );
    change(&mut a, "1234", "5678").unwrap();
    assert_eq!(retries(&mut a), 8, "a correct PIN resets the retries");
    assert!(token(&mut a, p, "5678", None, None).is_ok());
    assert_eq!(
        token(&mut a, p, "1234", None, None).unwrap_err(),
        StatusCode::Ctap2ErrPinInvalid
    );
    // Exhaust the retries, with power cycles (new authenticator state would reset the
    // consecutive counter; here the third strike already blocks until then).
    let mut last = StatusCode::Ok;
    for _ in 0..10 {
        last = token(&mut a, p, "0000", None, None).unwrap_err();
    }
    assert!(matches!(
        last,
        StatusCode::Ctap2ErrPinAuthBlocked | StatusCode::Ctap2ErrPinBlocked
    ));
    // Subcommand checks.
    assert_eq!(
        pin_cmd(&mut a, ClientPinRequest::new(2, S::Other(0x42))).unwrap_err(),
        StatusCode::Ctap2ErrInvalidSubcommand
    );
    let mut no_protocol = ClientPinRequest::new(2, S::GetKeyAgreement);
    no_protocol.pin_uv_auth_protocol = None;
    assert_eq!(
        pin_cmd(&mut a, no_protocol).unwrap_err(),
        StatusCode::Ctap2ErrMissingParameter
    );
    assert_eq!(
        pin_cmd(&mut a, ClientPinRequest::new(3, S::GetKeyAgreement)).unwrap_err(),
        StatusCode::Ctap1ErrInvalidParameter
    );
}

#[test]
fn credential_management_needs_a_cm_token() {
    use keyhaven_proto::ctap2::credential_management::{
        CredentialManagementRequest as CmReq, CredentialManagementSubcommand as Cm,
    };
    let p = PinProtocol::Two;
    let mut a = authenticator();
    set_pin(&mut a, p, "1234").unwrap();
    let t = token(&mut a, p, "1234", None, None).unwrap();
    send(&mut a, make("example.org", true, [1; 32], Some((p, &t)))).unwrap();
    let req = |token: Option<&[u8]>| {
        let mut r = CmReq {
            sub_command: Cm::GetCredsMetadata,
            sub_command_params: None,
            pin_uv_auth_protocol: Some(p.number()),
            pin_uv_auth_param: None,
        };
        r.pin_uv_auth_param = token.map(|t| p.authenticate(t, &r.auth_message()));
        Request::CredentialManagement(r)
    };
    assert_eq!(
        send(&mut a, req(None)).unwrap_err(),
        StatusCode::Ctap2ErrPuatRequired
    );
    let mc_only = token(&mut a, p, "1234", Some(permissions::MC), None).unwrap();
    assert_eq!(
        send(&mut a, req(Some(&mc_only))).unwrap_err(),
        StatusCode::Ctap2ErrPinAuthInvalid,
        "no cm permission"
    );
    let cm = token(&mut a, p, "1234", Some(permissions::CM), None).unwrap();
    let ResponseBody::CredentialManagement(meta) = send(&mut a, req(Some(&cm))).unwrap() else {
        panic!()
    };
    assert_eq!(meta.existing_resident_credentials_count, Some(1));
    let next = Request::CredentialManagement(CmReq {
        sub_command: Cm::EnumerateRpsGetNextRp,
        sub_command_params: None,
        pin_uv_auth_protocol: None,
        pin_uv_auth_param: None,
    });
    assert_eq!(
        send(&mut a, next).unwrap_err(),
        StatusCode::Ctap2ErrNotAllowed,
        "no enumeration in progress"
    );
}

#[test]
fn config_always_uv_and_min_pin_length() {
    use keyhaven_proto::ctap2::config::{ConfigParams, ConfigRequest, ConfigSubcommand as C};
    let p = PinProtocol::Two;
    let mut a = authenticator();
    let cfg = |sub: C, params: Option<ConfigParams>, token: Option<&[u8]>| {
        let mut r = ConfigRequest {
            sub_command: sub,
            sub_command_params: params,
            pin_uv_auth_protocol: Some(p.number()),
            pin_uv_auth_param: None,
        };
        r.pin_uv_auth_param = token.map(|t| p.authenticate(t, &r.auth_message()));
        Request::Config(r)
    };
    // Without a PIN, config needs no token: turn alwaysUv on.
    assert_eq!(
        send(&mut a, cfg(C::ToggleAlwaysUv, None, None)).unwrap(),
        ResponseBody::Empty
    );
    let ResponseBody::GetInfo(info) = send(&mut a, Request::GetInfo).unwrap() else {
        panic!()
    };
    assert_eq!(info.option("alwaysUv"), Some(true));
    assert_eq!(info.option("makeCredUvNotRqd"), Some(false));
    assert_eq!(
        send(&mut a, make("example.org", false, [1; 32], None)).unwrap_err(),
        StatusCode::Ctap2ErrPuatRequired
    );
    set_pin(&mut a, p, "1234").unwrap();
    // Now a token with the acfg permission is required.
    assert_eq!(
        send(&mut a, cfg(C::ToggleAlwaysUv, None, None)).unwrap_err(),
        StatusCode::Ctap2ErrPuatRequired
    );
    let mc = token(&mut a, p, "1234", Some(permissions::MC), None).unwrap();
    assert_eq!(
        send(&mut a, cfg(C::ToggleAlwaysUv, None, Some(&mc))).unwrap_err(),
        StatusCode::Ctap2ErrPinAuthInvalid
    );
    let acfg = token(&mut a, p, "1234", Some(permissions::ACFG), None).unwrap();
    send(&mut a, cfg(C::ToggleAlwaysUv, None, Some(&acfg))).unwrap();
    let ResponseBody::GetInfo(info) = send(&mut a, Request::GetInfo).unwrap() else {
        panic!()
    };
    assert_eq!(info.option("alwaysUv"), Some(false));
    // setMinPINLength: only grows; longer than the current PIN forces a change.
    let shrink = ConfigParams {
        new_min_pin_length: Some(3),
        ..Default::default()
    };
    assert_eq!(
        send(&mut a, cfg(C::SetMinPinLength, Some(shrink), Some(&acfg))).unwrap_err(),
        StatusCode::Ctap2ErrPinPolicyViolation
    );
    let grow = ConfigParams {
        new_min_pin_length: Some(6),
        min_pin_length_rp_ids: Some(vec!["example.org".into()]),
        ..Default::default()
    };
    send(&mut a, cfg(C::SetMinPinLength, Some(grow), Some(&acfg))).unwrap();
    let ResponseBody::GetInfo(info) = send(&mut a, Request::GetInfo).unwrap() else {
        panic!()
    };
    assert_eq!(info.min_pin_length, Some(6));
    assert_eq!(info.force_pin_change, Some(true));
    // §6.5.5.7.1: getPinToken answers PIN_INVALID while a change is forced;
    // §6.5.5.7.2: the permissions form answers PIN_POLICY_VIOLATION.
    assert_eq!(
        token(&mut a, p, "1234", None, None).unwrap_err(),
        StatusCode::Ctap2ErrPinInvalid
    );
    assert_eq!(
        token(&mut a, p, "1234", Some(permissions::MC), None).unwrap_err(),
        StatusCode::Ctap2ErrPinPolicyViolation
    );
    // getInfo advertises maxRPIDsForSetMinPINLength; a longer list is
    // refused and changes nothing.
    assert_eq!(
        info.max_rp_ids_for_set_min_pin_length,
        Some(keyhaven_authenticator::client_pin::MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH as u64)
    );
    let max = keyhaven_authenticator::client_pin::MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH;
    let too_many = ConfigParams {
        new_min_pin_length: Some(8),
        min_pin_length_rp_ids: Some((0..=max).map(|i| format!("rp{i}.example")).collect()),
        ..Default::default()
    };
    assert_eq!(
        send(&mut a, cfg(C::SetMinPinLength, Some(too_many), Some(&acfg))).unwrap_err(),
        StatusCode::Ctap2ErrKeyStoreFull
    );
    let enough = ConfigParams {
        min_pin_length_rp_ids: Some((0..max).map(|i| format!("rp{i}.example")).collect()),
        ..Default::default()
    };
    send(&mut a, cfg(C::SetMinPinLength, Some(enough), Some(&acfg))).unwrap();
    let ResponseBody::GetInfo(info) = send(&mut a, Request::GetInfo).unwrap() else {
        panic!()
    };
    assert_eq!(
        info.min_pin_length,
        Some(6),
        "the refused request set nothing"
    );
    assert_eq!(
        send(&mut a, cfg(C::Other(0x42), None, Some(&acfg))).unwrap_err(),
        StatusCode::Ctap2ErrInvalidSubcommand,
        "an unknown subcommand, properly authenticated"
    );
}

#[test]
fn large_blobs_fragments_hash_and_token() {
    use keyhaven_proto::ctap2::large_blobs::LargeBlobsRequest;
    let p = PinProtocol::Two;
    let mut a = authenticator();
    let read = |a: &mut A, get: u64, offset: u64| match send(
        a,
        Request::LargeBlobs(LargeBlobsRequest {
            get: Some(get),
            offset,
            ..Default::default()
        }),
    ) {
        Ok(ResponseBody::LargeBlobs(r)) => Ok(r.config.unwrap()),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e),
    };
    let initial = read(&mut a, 100, 0).unwrap();
    assert_eq!(initial[0], 0x80);
    assert_eq!(initial[1..], sha256(&[0x80])[..16]);
    let array = |body: &[u8]| [body, &sha256(body)[..16]].concat();
    let set = |offset: u64, data: &[u8], length: Option<u64>, token: Option<&[u8]>| {
        let pin_uv_auth_param = token.map(|t| {
            let mut msg = vec![0xff; 32];
            msg.extend_from_slice(&[0x0c, 0x00]);
            msg.extend_from_slice(&(offset as u32).to_le_bytes());
            msg.extend_from_slice(&sha256(data));
            p.authenticate(t, &msg)
        });
        Request::LargeBlobs(LargeBlobsRequest {
            set: Some(data.to_vec()),
            offset,
            length,
            pin_uv_auth_param,
            pin_uv_auth_protocol: token.map(|_| p.number()),
            ..Default::default()
        })
    };
    // Without a PIN no token is needed: two fragments, then the whole array reads back.
    let good = array(&[0x81, 0x41, 0x07]);
    send(&mut a, set(0, &good[..10], Some(good.len() as u64), None)).unwrap();
    assert_eq!(
        send(&mut a, set(5, &good[10..], None, None)).unwrap_err(),
        StatusCode::Ctap1ErrInvalidSeq
    );
    send(&mut a, set(10, &good[10..], None, None)).unwrap();
    assert_eq!(read(&mut a, 100, 0).unwrap(), good);
    assert_eq!(read(&mut a, 5, 3).unwrap(), good[3..8]);
    assert_eq!(
        read(&mut a, 5, 1000).unwrap_err(),
        StatusCode::Ctap1ErrInvalidParameter
    );
    // A wrong trailing hash is refused and nothing changes.
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(
        send(&mut a, set(0, &bad, Some(bad.len() as u64), None)).unwrap_err(),
        StatusCode::Ctap2ErrIntegrityFailure
    );
    assert_eq!(read(&mut a, 100, 0).unwrap(), good);
    assert_eq!(
        send(&mut a, set(0, &good, Some(100_000), None)).unwrap_err(),
        StatusCode::Ctap2ErrLargeBlobStorageFull
    );
    // With a PIN, writing needs a token with the lbw permission.
    set_pin(&mut a, p, "1234").unwrap();
    let other = array(&[0x80]);
    assert_eq!(
        send(&mut a, set(0, &other, Some(other.len() as u64), None)).unwrap_err(),
        StatusCode::Ctap2ErrPuatRequired
    );
    let ga = token(
        &mut a,
        p,
        "1234",
        Some(permissions::GA),
        Some("example.org"),
    )
    .unwrap();
    assert_eq!(
        send(&mut a, set(0, &other, Some(other.len() as u64), Some(&ga))).unwrap_err(),
        StatusCode::Ctap2ErrPinAuthInvalid
    );
    let lbw = token(&mut a, p, "1234", Some(permissions::LBW), None).unwrap();
    send(&mut a, set(0, &other, Some(other.len() as u64), Some(&lbw))).unwrap();
    assert_eq!(read(&mut a, 100, 0).unwrap(), other);
}

#[test]
fn pin_and_retries_survive_a_restart() {
    use keyhaven_authenticator::file_store::{FileStore, MasterKey};
    let scratch = tempfile::Builder::new()
        .prefix("keyhaven-pin-restart-")
        .tempdir()
        .unwrap();
    let dir = scratch.path();
    let open = || {
        let store = FileStore::open(
            dir.join("s.khs"),
            &MasterKey::KeyFile(dir.join("s.key")),
            10,
        )
        .unwrap();
        Authenticator::new(store, AlwaysApprove::default(), Settings::default()).unwrap()
    };
    let p = PinProtocol::Two;
    {
        let mut a = open();
        let (key, secret) = {
            let out = a.process(
                &Request::ClientPin(ClientPinRequest::new(2, S::GetKeyAgreement)).to_bytes(),
            );
            let ka = Response::from_bytes(keyhaven_proto::ctap2::Command::ClientPin, &out).unwrap();
            let ResponseBody::ClientPin(r) = ka.body else {
                panic!()
            };
            p.encapsulate(&r.key_agreement.unwrap()).unwrap()
        };
        let new_pin_enc = p.encrypt(secret.expose(), &padded("1234")).unwrap();
        let mut r = ClientPinRequest::new(2, S::SetPin);
        r.key_agreement = Some(key);
        r.pin_uv_auth_param = Some(p.authenticate(secret.expose(), &new_pin_enc));
        r.new_pin_enc = Some(new_pin_enc);
        assert_eq!(a.process(&Request::ClientPin(r).to_bytes()), [0]);
    }
    let mut a = open();
    let info =
        Response::from_bytes(keyhaven_proto::ctap2::Command::GetInfo, &a.process(&[0x04])).unwrap();
    let ResponseBody::GetInfo(info) = info.body else {
        panic!()
    };
    assert_eq!(
        info.option("clientPin"),
        Some(true),
        "the PIN survived the restart"
    );
    // A wrong PIN costs a retry that also survives.
    let (key, secret) = {
        let out =
            a.process(&Request::ClientPin(ClientPinRequest::new(2, S::GetKeyAgreement)).to_bytes());
        let ResponseBody::ClientPin(r) =
            Response::from_bytes(keyhaven_proto::ctap2::Command::ClientPin, &out)
                .unwrap()
                .body
        else {
            panic!()
        };
        p.encapsulate(&r.key_agreement.unwrap()).unwrap()
    };
    let mut r = ClientPinRequest::new(2, S::GetPinToken);
    r.key_agreement = Some(key);
    r.pin_hash_enc = Some(pin_hash_enc(p, &secret, "0000"));
    assert_eq!(
        a.process(&Request::ClientPin(r).to_bytes()),
        [StatusCode::Ctap2ErrPinInvalid.to_byte()]
    );
    drop(a);
    let mut a = open();
    let out = a.process(&Request::ClientPin(ClientPinRequest::new(2, S::GetPinRetries)).to_bytes());
    let ResponseBody::ClientPin(r) =
        Response::from_bytes(keyhaven_proto::ctap2::Command::ClientPin, &out)
            .unwrap()
            .body
    else {
        panic!()
    };
    assert_eq!(r.pin_retries, Some(7));
}
