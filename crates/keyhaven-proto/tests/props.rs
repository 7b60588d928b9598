//! Property tests: every codec type round-trips (value → bytes → value, and
//! bytes → value → the same bytes), and no decoder panics on random bytes.

use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::authdata::{Aaguid, AttestedCredentialData, AuthenticatorData, Flags};
use keyhaven_proto::cbor::{self, Float, Value};
use keyhaven_proto::client_data::CollectedClientData;
use keyhaven_proto::cose::{CoseAlgorithm, CoseKey, EcCurve, OkpCurve};
use keyhaven_proto::ctap2::client_pin::{ClientPinRequest, ClientPinResponse, ClientPinSubcommand};
use keyhaven_proto::ctap2::get_assertion::{GetAssertionRequest, GetAssertionResponse};
use keyhaven_proto::ctap2::get_info::GetInfoResponse;
use keyhaven_proto::ctap2::large_blobs::LargeBlobsRequest;
use keyhaven_proto::ctap2::make_credential::{MakeCredentialRequest, MakeCredentialResponse};
use keyhaven_proto::ctap2::types::{
    CredentialDescriptor, CredentialParameters, Options, RpEntity, UserEntity,
};
use keyhaven_proto::ctap2::{Command, Request, Response, ResponseBody};
use keyhaven_proto::json::{
    AssertionResponseJson, AuthenticationResponseJson, CreationOptionsJson, ExtensionOutputsJson,
    RegistrationResponseJson, RequestOptionsJson,
};
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::Unsigned),
        any::<u64>().prop_map(Value::Negative),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        ".{0,20}".prop_map(Value::Text),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        Just(Value::Undefined),
        (32u8..=255).prop_map(Value::Simple),
        (0u8..20).prop_map(Value::Simple),
        any::<u16>().prop_map(|b| Value::Float(Float::F16(b))),
        any::<u32>().prop_map(|b| Value::Float(Float::F32(b))),
        any::<u64>().prop_map(|b| Value::Float(Float::F64(b))),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((inner.clone(), inner), 0..6).prop_map(|entries| {
                // Keys must be unique: keep the first of each encoding.
                let mut seen = std::collections::HashSet::new();
                let entries = entries
                    .into_iter()
                    .filter(|(k, _)| seen.insert(cbor::encode(k)))
                    .collect();
                Value::canonical_map(entries)
            }),
        ]
    })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn cose_key() -> impl Strategy<Value = CoseKey> {
    prop_oneof![
        (bytes(1), any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(_, x, y)| CoseKey::ec2(
            CoseAlgorithm::Es256,
            EcCurve::P256,
            x.to_vec(),
            y.to_vec()
        )),
        proptest::collection::vec(any::<u8>(), 96).prop_map(|xy| CoseKey::ec2(
            CoseAlgorithm::Es384,
            EcCurve::P384,
            xy[..48].to_vec(),
            xy[48..].to_vec()
        )),
        proptest::collection::vec(any::<u8>(), 132).prop_map(|xy| CoseKey::ec2(
            CoseAlgorithm::Esp512,
            EcCurve::P521,
            xy[..66].to_vec(),
            xy[66..].to_vec()
        )),
        any::<[u8; 32]>().prop_map(|x| CoseKey::okp(
            CoseAlgorithm::EdDsa,
            OkpCurve::Ed25519,
            x.to_vec()
        )),
        proptest::collection::vec(any::<u8>(), 57).prop_map(|x| CoseKey::okp(
            CoseAlgorithm::Ed448,
            OkpCurve::Ed448,
            x
        )),
        (1u8..=255, bytes(300), 1u8..=255).prop_map(|(n0, n, e)| {
            let mut nn = vec![n0];
            nn.extend(n);
            CoseKey::rsa(CoseAlgorithm::Ps256, nn, vec![e, 0, 1])
        }),
        (0usize..3, any::<u8>()).prop_map(|(level, fill)| {
            let alg = CoseAlgorithm::ML_DSA[level];
            let (len, _) = alg.ml_dsa_lengths().unwrap();
            CoseKey::akp(alg, vec![fill; len])
        }),
    ]
}

fn auth_data() -> impl Strategy<Value = AuthenticatorData> {
    (
        any::<[u8; 32]>(),
        any::<u8>(),
        any::<u32>(),
        proptest::option::of((any::<[u8; 16]>(), bytes(1024), cose_key())),
        proptest::option::of(proptest::collection::vec((".{1,12}", leaf()), 0..4)),
    )
        .prop_map(|(h, f, c, acd, ext)| {
            let mut ad = AuthenticatorData::new(h, Flags(f), c);
            if let Some((aaguid, id, key)) = acd {
                ad = ad.with_attested_credential_data(AttestedCredentialData {
                    aaguid: Aaguid(aaguid),
                    credential_id: id,
                    credential_public_key: key,
                });
            }
            if let Some(ext) = ext {
                let mut seen = std::collections::HashSet::new();
                let entries = ext
                    .into_iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .map(|(k, v)| (Value::Text(k), v))
                    .collect();
                ad = ad.with_extensions(Value::canonical_map(entries));
            }
            ad
        })
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(".{0,16}")
}

fn descriptors() -> impl Strategy<Value = Option<Vec<CredentialDescriptor>>> {
    proptest::option::of(proptest::collection::vec(
        (
            bytes(64),
            proptest::option::of(proptest::collection::vec("[a-z-]{1,10}", 0..3)),
        )
            .prop_map(|(id, t)| {
                let mut d = CredentialDescriptor::public_key(id);
                d.transports = t;
                d
            }),
        0..3,
    ))
}

fn options() -> impl Strategy<Value = Option<Options>> {
    proptest::option::of(
        (
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(rk, up, uv)| Options {
                rk,
                up,
                uv,
                other: vec![],
            }),
    )
}

fn request() -> impl Strategy<Value = Request> {
    let mc = (
        bytes(33),
        ".{1,20}",
        opt_text(),
        bytes(65),
        opt_text(),
        opt_text(),
        proptest::collection::vec(-300i64..10, 1..4),
        descriptors(),
        options(),
        proptest::option::of(bytes(33)),
        proptest::option::of(1u64..3),
        proptest::option::of(proptest::collection::vec("[a-z]{1,8}", 0..3)),
    )
        .prop_map(
            |(cdh, rp_id, rp_name, uid, un, dn, algs, excl, opts, pap, pp, fmts)| {
                Request::MakeCredential(MakeCredentialRequest {
                    client_data_hash: cdh,
                    rp: RpEntity {
                        id: rp_id,
                        name: rp_name,
                    },
                    user: UserEntity {
                        id: uid,
                        name: un,
                        display_name: dn,
                    },
                    pub_key_cred_params: algs
                        .into_iter()
                        .map(|alg| CredentialParameters {
                            type_: "public-key".into(),
                            alg,
                        })
                        .collect(),
                    exclude_list: excl,
                    extensions: None,
                    options: opts,
                    pin_uv_auth_param: pap,
                    pin_uv_auth_protocol: pp,
                    enterprise_attestation: None,
                    attestation_formats_preference: fmts,
                })
            },
        );
    let ga = (
        ".{1,20}",
        bytes(33),
        descriptors(),
        options(),
        proptest::option::of(bytes(33)),
    )
        .prop_map(|(rp, cdh, allow, opts, pap)| {
            let mut r = GetAssertionRequest::new(rp, cdh);
            r.allow_list = allow;
            r.options = opts;
            r.pin_uv_auth_param = pap;
            Request::GetAssertion(r)
        });
    let pin = (
        1u64..3,
        1u64..10,
        proptest::option::of(bytes(64)),
        proptest::option::of(0u64..128),
    )
        .prop_map(|(p, sub, enc, perm)| {
            let mut r = ClientPinRequest::new(p, ClientPinSubcommand::from_u64(sub));
            r.new_pin_enc = enc;
            r.permissions = perm;
            Request::ClientPin(r)
        });
    let lb = (
        proptest::option::of(0u64..1024),
        proptest::option::of(bytes(64)),
        any::<u64>(),
    )
        .prop_map(|(get, set, offset)| {
            Request::LargeBlobs(LargeBlobsRequest {
                get,
                set,
                offset,
                ..Default::default()
            })
        });
    prop_oneof![
        mc,
        ga,
        pin,
        lb,
        Just(Request::GetInfo),
        Just(Request::Reset),
        Just(Request::GetNextAssertion),
        Just(Request::Selection)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cbor_round_trip(v in value()) {
        let b = cbor::encode(&v);
        let back = cbor::decode(&b).unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(cbor::encode(&back), b);
    }

    #[test]
    fn decoders_never_panic(b in bytes(512)) {
        let _ = cbor::decode(&b);
        let _ = CoseKey::from_bytes(&b);
        let _ = AuthenticatorData::from_bytes(&b);
        let _ = AttestationObject::from_bytes(&b);
        let _ = CollectedClientData::from_json_bytes(&b);
        let _ = Request::from_bytes(&b);
        for c in [Command::MakeCredential, Command::GetAssertion, Command::GetInfo, Command::ClientPin,
                  Command::CredentialManagement, Command::LargeBlobs, Command::Reset] {
            let _ = Response::from_bytes(c, &b);
        }
        let _ = serde_json::from_slice::<AuthenticationResponseJson>(&b);
        let _ = serde_json::from_slice::<RegistrationResponseJson>(&b);
        let _ = serde_json::from_slice::<CreationOptionsJson>(&b);
        let _ = serde_json::from_slice::<RequestOptionsJson>(&b);
    }

    /// Any bytes that decode re-encode to exactly the same bytes.
    #[test]
    fn decoded_bytes_reencode_exactly(b in bytes(64)) {
        if let Ok(v) = cbor::decode(&b) {
            prop_assert_eq!(cbor::encode(&v), b);
        }
    }

    #[test]
    fn cose_round_trip(k in cose_key()) {
        let b = k.to_bytes();
        let back = CoseKey::from_bytes(&b).unwrap();
        prop_assert_eq!(&back, &k);
        prop_assert_eq!(back.to_bytes(), b);
        prop_assert!(k.to_spki_der().is_some());
    }

    #[test]
    fn auth_data_round_trip(ad in auth_data()) {
        let b = ad.to_bytes();
        let back = AuthenticatorData::from_bytes(&b).unwrap();
        prop_assert_eq!(back.to_bytes(), b.clone());
        prop_assert_eq!(back.flags, ad.effective_flags());
        prop_assert_eq!(back.sign_count, ad.sign_count);
        // Truncating anything announced by the flags is an error, never a panic.
        if b.len() > 37 {
            prop_assert!(AuthenticatorData::from_bytes(&b[..b.len() - 1]).is_err());
        }
    }

    #[test]
    fn attestation_object_round_trip(ad in auth_data(), fmt in "[a-z-]{1,12}", stmt in value()) {
        let stmt = match stmt { m @ Value::Map(_) => m, other => Value::canonical_map(vec![(Value::from("x"), other)]) };
        let ao = AttestationObject::new(fmt, stmt, ad);
        let b = ao.to_bytes();
        let back = AttestationObject::from_bytes(&b).unwrap();
        prop_assert_eq!(&back, &ao);
        prop_assert_eq!(back.to_bytes(), b);
        let mc = ao.to_make_credential_response();
        let msg = Response::ok(ResponseBody::MakeCredential(mc.clone())).to_bytes();
        let parsed = Response::from_bytes(Command::MakeCredential, &msg).unwrap();
        prop_assert_eq!(parsed.to_bytes(), msg);
        prop_assert_eq!(AttestationObject::from_make_credential_response(&mc), ao);
    }

    #[test]
    fn client_data_round_trip(t in ".{0,20}", c in bytes(64), o in ".{0,30}", cross in any::<bool>(),
                               top in opt_text(), extra in proptest::option::of(".{0,20}")) {
        let mut cd = CollectedClientData::new(&t, &c, &o);
        cd.cross_origin = Some(cross);
        cd.top_origin = top;
        if let Some(e) = extra {
            cd.other.insert("extraData".into(), keyhaven_proto::client_data::RawJson::from_value(&serde_json::Value::String(e)));
        }
        let b = cd.to_json_bytes();
        let back = CollectedClientData::from_json_bytes(&b).unwrap();
        prop_assert_eq!(&back, &cd);
        prop_assert_eq!(back.to_json_bytes(), b);
    }

    #[test]
    fn ctap_requests_round_trip(r in request()) {
        let b = r.to_bytes();
        let back = Request::from_bytes(&b).unwrap();
        prop_assert_eq!(&back, &r);
        prop_assert_eq!(back.to_bytes(), b);
    }

    #[test]
    fn ctap_responses_round_trip(ad in auth_data(), sig in bytes(80), n in proptest::option::of(1u64..10),
                                 sel in proptest::option::of(any::<bool>()), lbk in proptest::option::of(bytes(33)),
                                 uid in bytes(65), retries in proptest::option::of(0u64..9)) {
        let mut ga = GetAssertionResponse::new(ad, sig);
        ga.number_of_credentials = n;
        ga.user_selected = sel;
        ga.large_blob_key = lbk;
        ga.user = Some(UserEntity { id: uid, name: None, display_name: None });
        ga.credential = Some(CredentialDescriptor::public_key(vec![1, 2]));
        let info = GetInfoResponse {
            versions: vec!["FIDO_2_0".into(), "FIDO_2_2".into()],
            aaguid: [3; 16],
            options: Some(vec![("rk".into(), true), ("up".into(), true), ("clientPin".into(), false)]),
            pin_uv_auth_protocols: Some(vec![2, 1]),
            max_msg_size: n,
            ..Default::default()
        };
        let pin = ClientPinResponse { pin_retries: retries, ..Default::default() };
        for (cmd, body) in [
            (Command::GetAssertion, ResponseBody::GetAssertion(ga)),
            (Command::GetInfo, ResponseBody::GetInfo(info)),
            (Command::ClientPin, ResponseBody::ClientPin(pin)),
        ] {
            let msg = Response::ok(body).to_bytes();
            let back = Response::from_bytes(cmd, &msg).unwrap();
            prop_assert_eq!(back.to_bytes(), msg);
        }
    }

    #[test]
    fn json_round_trip(id in bytes(64), cd in bytes(200), ad in bytes(200), sig in bytes(80),
                       uh in proptest::option::of(bytes(64))) {
        let r = AuthenticationResponseJson {
            id: keyhaven_proto::b64::encode(&id),
            raw_id: id,
            response: AssertionResponseJson {
                client_data_json: cd,
                authenticator_data: ad,
                signature: sig,
                user_handle: uh.filter(|u| !u.is_empty()),
                attestation_object: None,
            },
            authenticator_attachment: Some("platform".into()),
            client_extension_results: ExtensionOutputsJson::default(),
            type_: "public-key".into(),
        };
        let s = serde_json::to_string(&r).unwrap();
        let back: AuthenticationResponseJson = serde_json::from_str(&s).unwrap();
        prop_assert_eq!(&back, &r);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), s);
    }
}

#[test]
fn make_credential_response_is_typed() {
    // A response with the wrong type for fmt is rejected with the member named.
    let body = Value::canonical_map(vec![
        (Value::from(1), Value::from(5)),
        (Value::from(2), Value::Bytes(vec![0; 37])),
        (Value::from(3), Value::Map(vec![])),
    ]);
    let e = MakeCredentialResponse::from_value(&body).unwrap_err();
    assert!(
        e.to_string()
            .contains("member fmt: expected text string, found integer"),
        "{e}"
    );
}
