//! Full ceremonies in process: RP options (keyhaven-rp) → client → our
//! authenticator → RP verification, for every algorithm and attestation mode,
//! discoverable and not, with and without a PIN, with the extensions and
//! several accounts and authenticators.

use keyhaven_testkit::pki as batch;

use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
use keyhaven_client::pin::FixedPin;
use keyhaven_client::{
    AbortSignal, Account, AccountChooser, CallOptions, Client, ClientConfig, ClientError,
    DomException, InProcess, PublicKeyCredential,
};
use keyhaven_crypto::SecretBytes;
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::json::{
    CredentialDescriptorJson, ExtensionInputsJson, LargeBlobInputsJson, PrfInputsJson,
    PrfValuesJson, RegistrationResponseJson,
};
use keyhaven_rp::options::{
    authentication_options, registration_options, AuthenticationExtras, RegistrationExtras,
    UserInfo,
};
use keyhaven_rp::{verify_authentication, verify_registration, CredentialRecord, RpConfig};
use std::time::Duration;

const ORIGIN: &str = "https://login.example.org";

type Dev = InProcess<MemoryStore, AlwaysApprove>;

fn authenticator(uv: bool, settings: Settings) -> Dev {
    InProcess::new(
        Authenticator::new(MemoryStore::new(100), AlwaysApprove { uv }, settings).unwrap(),
    )
}

fn fast() -> ClientConfig {
    ClientConfig {
        timeout_min: Duration::from_millis(10),
        ..Default::default()
    }
}

fn client(devs: Vec<Dev>) -> Client {
    Client::new(
        devs.into_iter()
            .map(|d| Box::new(d) as Box<dyn keyhaven_client::Device>)
            .collect(),
    )
    .with_config(fast())
}

fn rp() -> RpConfig {
    let mut cfg = RpConfig::new("example.org", "Example");
    cfg.origins = vec![ORIGIN.into()];
    cfg.algorithms = CoseAlgorithm::ALL.to_vec();
    cfg
}

fn user(name: &str) -> UserInfo {
    UserInfo {
        name: name.into(),
        display_name: name.to_uppercase(),
        handle: None,
    }
}

/// Registers through the client and verifies with the RP.
fn register(
    c: &mut Client,
    cfg: &RpConfig,
    name: &str,
    extras: RegistrationExtras,
) -> Result<
    (
        CredentialRecord,
        PublicKeyCredential<keyhaven_client::AuthenticatorAttestationResponse>,
    ),
    ClientError,
> {
    let (options, state) = registration_options(cfg, &user(name), extras).unwrap();
    let cred = c.create(&CallOptions::new(ORIGIN), &options)?;
    // What goes over the wire is the browser-ordered JSON; the RP reads it back.
    let wire: RegistrationResponseJson = serde_json::from_str(&cred.to_json_string()).unwrap();
    let r = verify_registration(cfg, &wire, &state, |_| false).expect("the RP accepts it");
    Ok((r.record, cred))
}

fn authenticate(
    c: &mut Client,
    cfg: &RpConfig,
    records: &[CredentialRecord],
    extras: AuthenticationExtras,
) -> Result<
    (
        keyhaven_rp::AuthenticationResult,
        PublicKeyCredential<keyhaven_client::AuthenticatorAssertionResponse>,
    ),
    ClientError,
> {
    let (options, state) = authentication_options(cfg, extras).unwrap();
    let cred = c.get(&CallOptions::new(ORIGIN), &options)?;
    let wire = serde_json::from_str(&cred.to_json_string()).unwrap();
    let r = verify_authentication(cfg, &wire, &state, |id| {
        records.iter().find(|r| r.id == id).cloned()
    })
    .expect("the RP accepts it");
    Ok((r, cred))
}

/// Options for an identified user: their credential allowed, their handle known.
fn identified(rec: &CredentialRecord) -> AuthenticationExtras {
    AuthenticationExtras {
        allow_credentials: allow(&[rec]),
        user_handle: rec.user_handle.clone(),
        ..Default::default()
    }
}

fn allow(records: &[&CredentialRecord]) -> Vec<CredentialDescriptorJson> {
    records
        .iter()
        .map(|r| CredentialDescriptorJson {
            type_: "public-key".into(),
            id: r.id.clone(),
            transports: None,
        })
        .collect()
}

#[test]
fn every_algorithm_and_attestation_mode_discoverable_or_not() {
    let (root, batch) = batch::batch();
    let batch = std::sync::Arc::new(batch);
    let mut n = 0;
    for alg in keyhaven_crypto::signature::SigningKey::SIGNING_ALGORITHMS
        .iter()
        .copied()
    {
        for mode in ["none", "self", "batch"] {
            for rk in ["required", "discouraged"] {
                let mut settings = Settings::default();
                if mode == "batch" {
                    settings.batch_attestation = Some(batch.clone());
                    settings.aaguid = keyhaven_proto::authdata::Aaguid(batch::AAGUID);
                }
                let mut c = client(vec![authenticator(false, settings)]);
                let mut cfg = rp();
                cfg.algorithms = vec![alg];
                cfg.attestation.trust_anchors = vec![root.clone()];
                let attestation = match mode {
                    "none" => "none",
                    _ => "direct",
                };
                let (rec, cred) = register(
                    &mut c,
                    &cfg,
                    "alice",
                    RegistrationExtras {
                        resident_key: Some(rk.into()),
                        attestation: Some(attestation.into()),
                        ..Default::default()
                    },
                )
                .unwrap_or_else(|e| panic!("{alg:?} {mode} {rk}: {e}"));
                let fmt = keyhaven_proto::attestation::AttestationObject::from_bytes(
                    &cred.response.attestation_object,
                )
                .unwrap()
                .fmt;
                assert_eq!(
                    fmt,
                    if mode == "none" { "none" } else { "packed" },
                    "{alg:?} {mode}"
                );
                assert_eq!(cred.response.get_public_key_algorithm(), alg.id());
                assert_eq!(cred.response.get_transports(), ["internal"]);
                if alg != CoseAlgorithm::Ed448 {
                    assert!(cred.response.get_public_key().is_some(), "{alg:?}: SPKI");
                }
                // Authenticate: discoverable without allowCredentials, otherwise with.
                let extras = if rk == "required" {
                    AuthenticationExtras::default()
                } else {
                    identified(&rec)
                };
                let (r, a) =
                    authenticate(&mut c, &cfg, std::slice::from_ref(&rec), extras).unwrap();
                assert!(
                    r.record.sign_count > rec.sign_count,
                    "{alg:?} {mode} {rk}: counter"
                );
                assert_eq!(a.response.user_handle.is_some(), rk == "required");
                n += 1;
            }
        }
    }
    assert_eq!(
        n,
        6 * keyhaven_crypto::signature::SigningKey::SIGNING_ALGORITHMS.len()
    );
    assert!(n >= 30, "ES256/384/512, EdDSA, RS256 at least");
}

/// A credential asked for with only `alg` and direct attestation (and
/// `resident_key`, if given) on a fresh authenticator: it carries `alg`, and
/// it signs in with the counter moving on. The registration, for more checks.
fn register_and_sign_in_with(
    alg: CoseAlgorithm,
    resident_key: Option<&str>,
) -> (
    CredentialRecord,
    PublicKeyCredential<keyhaven_client::AuthenticatorAttestationResponse>,
) {
    let mut c = client(vec![authenticator(false, Settings::default())]);
    let mut cfg = rp();
    cfg.algorithms = vec![alg];
    let extras = RegistrationExtras {
        attestation: Some("direct".into()),
        resident_key: resident_key.map(Into::into),
        ..Default::default()
    };
    let (rec, cred) = register(&mut c, &cfg, "alice", extras)
        .unwrap_or_else(|e| panic!("{alg:?} {resident_key:?}: {e}"));
    assert_eq!(cred.response.get_public_key_algorithm(), alg.id());
    assert_eq!(rec.algorithm, alg.id());
    let (r, _) = authenticate(&mut c, &cfg, std::slice::from_ref(&rec), identified(&rec))
        .unwrap_or_else(|e| panic!("{alg:?} {resident_key:?}: {e}"));
    assert!(r.record.sign_count > rec.sign_count, "{alg:?}");
    (rec, cred)
}

/// ESP256/ESP384/ESP512/Ed25519 (fully specified identifiers) are offered by
/// default: a credential asked for with only that identifier carries it in its
/// COSE key and packed attStmt, and signs in.
#[test]
fn fully_specified_algorithms_register_and_sign_in() {
    for alg in keyhaven_crypto::signature::SigningKey::FULLY_SPECIFIED_SIGNING_ALGORITHMS {
        register_and_sign_in_with(alg, None);
    }
}

/// ML-DSA-44/65/87 (RFC 9964) are offered by default: discoverable and
/// non-discoverable credentials (the wrapped ID carries the seed) with packed
/// self attestation register and sign in, and the public key comes back as
/// an RFC 9881 SubjectPublicKeyInfo.
#[test]
fn ml_dsa_credentials_register_and_sign_in() {
    for alg in keyhaven_proto::cose::CoseAlgorithm::ML_DSA {
        for rk in ["required", "discouraged"] {
            let (rec, cred) = register_and_sign_in_with(alg, Some(rk));
            let (pk_len, _) = alg.ml_dsa_lengths().unwrap();
            let spki = cred.response.get_public_key().expect("an SPKI");
            assert_eq!(spki.len(), pk_len + 22, "{alg:?}: SPKI header + key");
            assert_eq!(rec.attestation_format, "packed", "{alg:?}");
            if rk == "discouraged" {
                assert!(rec.id.len() < 400, "{alg:?}: a wrapped seed, not a key");
            }
        }
    }
}

#[test]
fn pin_protected_authenticator_needs_the_pin_for_user_verification() {
    let mut dev = authenticator(false, Settings::default());
    {
        let mut s = keyhaven_client::ctap::Session::open(
            &mut dev,
            keyhaven_client::device::Cancel::until(
                std::time::Instant::now() + Duration::from_secs(5),
            ),
        )
        .unwrap();
        keyhaven_client::pin::set_pin(&mut s, &SecretBytes::new(b"1234".to_vec())).unwrap();
    }
    let mut cfg = rp();
    cfg.user_verification = keyhaven_rp::config::UserVerification::Required;
    // No PIN provider: NotAllowedError naming the PIN.
    let mut c = client(vec![dev]);
    let e = register(&mut c, &cfg, "alice", Default::default()).unwrap_err();
    assert!(matches!(e, ClientError::Pin(_)), "{e}");
    assert_eq!(e.dom_exception(), DomException::NotAllowedError);
    // A wrong PIN is refused and not retried by FixedPin.
    let mut c = c.with_pin_provider(FixedPin(SecretBytes::new(b"9999".to_vec())));
    let e = register(&mut c, &cfg, "alice", Default::default()).unwrap_err();
    assert!(matches!(e, ClientError::Pin(_)), "{e}");
    // The right PIN: UV flag set, the RP requiring UV accepts both ceremonies.
    let mut c = c.with_pin_provider(FixedPin(SecretBytes::new(b"1234".to_vec())));
    let (rec, _) = register(&mut c, &cfg, "alice", Default::default()).unwrap();
    assert!(rec.uv_initialized);
    let (r, _) = authenticate(&mut c, &cfg, std::slice::from_ref(&rec), identified(&rec)).unwrap();
    assert!(r.user_verified);
    // userVerification discouraged, non-discoverable: no PIN asked, no UV.
    let mut cfg2 = rp();
    cfg2.user_verification = keyhaven_rp::config::UserVerification::Discouraged;
    let mut c = c.with_pin_provider(keyhaven_client::NoPin);
    let (r, _) = authenticate(&mut c, &cfg2, std::slice::from_ref(&rec), identified(&rec)).unwrap();
    assert!(!r.user_verified);
}

#[test]
fn built_in_uv_is_used_through_a_token() {
    let mut c = client(vec![authenticator(true, Settings::default())]);
    let mut cfg = rp();
    cfg.user_verification = keyhaven_rp::config::UserVerification::Required;
    let extras = RegistrationExtras {
        resident_key: Some("required".into()),
        ..Default::default()
    };
    let (rec, _) = register(&mut c, &cfg, "bob", extras).unwrap();
    assert!(rec.uv_initialized);
    let (r, _) = authenticate(&mut c, &cfg, &[rec], Default::default()).unwrap();
    assert!(r.user_verified);
}

#[test]
fn uv_required_without_any_uv_is_a_constraint_error() {
    let mut c = client(vec![authenticator(false, Settings::default())]);
    let mut cfg = rp();
    cfg.user_verification = keyhaven_rp::config::UserVerification::Required;
    // The authenticator offers clientPin (not set): capable, but nothing configured.
    let e = register(&mut c, &cfg, "carol", Default::default()).unwrap_err();
    assert_eq!(e.dom_exception(), DomException::ConstraintError, "{e}");
}

struct Pick(usize);
impl AccountChooser for Pick {
    fn choose(&mut self, _: &str, accounts: &[Account]) -> Option<usize> {
        assert_eq!(accounts.len(), 3);
        Some(self.0)
    }
}

#[test]
fn several_accounts_are_offered_through_the_chooser() {
    let cfg = rp();
    let mut c = client(vec![authenticator(false, Settings::default())]);
    let mut recs = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let extras = RegistrationExtras {
            resident_key: Some("required".into()),
            ..Default::default()
        };
        recs.push(register(&mut c, &cfg, name, extras).unwrap().0);
    }
    for pick in 0..3 {
        let mut c2 =
            std::mem::replace(&mut c, Client::new(vec![])).with_account_chooser(Pick(pick));
        let (r, _) = authenticate(&mut c2, &cfg, &recs, Default::default()).unwrap();
        // getNextAssertion order is newest first.
        assert_eq!(r.record.id, recs[2 - pick].id, "pick {pick}");
        c = c2;
    }
}

#[test]
fn excluded_credentials_give_invalid_state_error() {
    let cfg = rp();
    let mut c = client(vec![authenticator(false, Settings::default())]);
    let (rec, _) = register(&mut c, &cfg, "dan", Default::default()).unwrap();
    let extras = RegistrationExtras {
        exclude_credentials: allow(&[&rec]),
        ..Default::default()
    };
    let e = register(&mut c, &cfg, "dan", extras).unwrap_err();
    assert_eq!(e, ClientError::CredentialExcluded);
    assert_eq!(e.dom_exception(), DomException::InvalidStateError);
    // An unknown ID in excludeCredentials does not stop registration.
    let extras = RegistrationExtras {
        exclude_credentials: vec![CredentialDescriptorJson {
            type_: "public-key".into(),
            id: vec![9; 40],
            transports: None,
        }],
        ..Default::default()
    };
    register(&mut c, &cfg, "dan", extras).unwrap();
}

#[test]
fn the_authenticator_holding_the_credential_answers_among_several() {
    let cfg = rp();
    let mut one = client(vec![authenticator(false, Settings::default())]);
    let (rec, _) = register(&mut one, &cfg, "eve", Default::default()).unwrap();
    let mut devices = vec![
        Box::new(authenticator(false, Settings::default())) as Box<dyn keyhaven_client::Device>
    ];
    devices.extend(holder_devices(&mut one));
    let mut c = Client::new(devices).with_config(fast());
    let (r, _) = authenticate(&mut c, &cfg, std::slice::from_ref(&rec), identified(&rec)).unwrap();
    assert_eq!(r.record.id, rec.id);
    // Attachment filter: cross-platform asked, only a platform authenticator → NotAllowedError.
    let extras = RegistrationExtras {
        authenticator_attachment: Some("cross-platform".into()),
        ..Default::default()
    };
    let e = register(&mut c, &cfg, "eve", extras).unwrap_err();
    assert_eq!(e.dom_exception(), DomException::NotAllowedError, "{e}");
    // Nobody holds an unknown credential.
    let unknown = CredentialRecord {
        id: vec![1; 16],
        ..rec.clone()
    };
    let e = authenticate(
        &mut c,
        &cfg,
        &[],
        AuthenticationExtras {
            allow_credentials: allow(&[&unknown]),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.dom_exception(), DomException::NotAllowedError);
}

fn holder_devices(c: &mut Client) -> Vec<Box<dyn keyhaven_client::Device>> {
    let mut out = Vec::new();
    for d in c.devices_mut().iter_mut() {
        out.push(std::mem::replace(
            d,
            Box::new(authenticator(false, Settings::default())),
        ));
    }
    out
}

fn ext(e: ExtensionInputsJson) -> Option<ExtensionInputsJson> {
    Some(e)
}

/// Extension inputs with only `prf`.
fn prf_inputs(
    eval: Option<PrfValuesJson>,
    eval_by_credential: Option<std::collections::BTreeMap<String, PrfValuesJson>>,
) -> Option<ExtensionInputsJson> {
    ext(ExtensionInputsJson {
        prf: Some(PrfInputsJson {
            eval,
            eval_by_credential,
        }),
        ..Default::default()
    })
}

#[test]
fn prf_at_creation_and_assertion() {
    let cfg = rp();
    let mut c = client(vec![authenticator(true, Settings::default())]);
    let eval = PrfValuesJson {
        first: b"first".to_vec(),
        second: Some(b"second".to_vec()),
    };
    let (rec, cred) = register(
        &mut c,
        &cfg,
        "pat",
        RegistrationExtras {
            resident_key: Some("required".into()),
            extensions: prf_inputs(Some(eval.clone()), None),
            ..Default::default()
        },
    )
    .unwrap();
    let prf = cred.client_extension_results.prf.clone().unwrap();
    assert_eq!(prf.enabled, Some(true));
    let at_create = prf.results.expect("hmac-secret-mc results");
    // The same inputs at assertion give the same outputs (the UV PRF).
    let (_, a) = authenticate(
        &mut c,
        &cfg,
        std::slice::from_ref(&rec),
        AuthenticationExtras {
            extensions: prf_inputs(Some(eval.clone()), None),
            ..Default::default()
        },
    )
    .unwrap();
    let got = a.client_extension_results.prf.clone().unwrap();
    assert_eq!(got.enabled, None, "enabled is never present at assertion");
    assert_eq!(got.results.as_ref().unwrap(), &at_create);
    assert_ne!(at_create.first, at_create.second.clone().unwrap());
    // evalByCredential wins over eval for its credential.
    let mut by = std::collections::BTreeMap::new();
    by.insert(
        keyhaven_proto::b64::encode(&rec.id),
        PrfValuesJson {
            first: b"first".to_vec(),
            second: None,
        },
    );
    let (_, a) = authenticate(
        &mut c,
        &cfg,
        std::slice::from_ref(&rec),
        AuthenticationExtras {
            extensions: ext(ExtensionInputsJson {
                prf: Some(PrfInputsJson {
                    eval: Some(PrfValuesJson {
                        first: b"other".to_vec(),
                        second: None,
                    }),
                    eval_by_credential: Some(by.clone()),
                }),
                ..Default::default()
            }),
            ..identified(&rec)
        },
    )
    .unwrap();
    let r = a.client_extension_results.prf.unwrap().results.unwrap();
    assert_eq!(r.first, at_create.first);
    assert_eq!(r.second, None);
    // evalByCredential without allowCredentials: NotSupportedError; a bad key: SyntaxError.
    let (opts, _) = authentication_options(
        &cfg,
        AuthenticationExtras {
            extensions: prf_inputs(None, Some(by)),
            ..Default::default()
        },
    )
    .unwrap();
    let e = c.get(&CallOptions::new(ORIGIN), &opts).unwrap_err();
    assert_eq!(e.dom_exception(), DomException::NotSupportedError);
    let mut bad = std::collections::BTreeMap::new();
    bad.insert(
        "not base64!".to_owned(),
        PrfValuesJson {
            first: vec![1],
            second: None,
        },
    );
    let (opts, _) = authentication_options(
        &cfg,
        AuthenticationExtras {
            extensions: prf_inputs(None, Some(bad)),
            ..identified(&rec)
        },
    )
    .unwrap();
    let e = c.get(&CallOptions::new(ORIGIN), &opts).unwrap_err();
    assert_eq!(e.dom_exception(), DomException::SyntaxError);
}

#[test]
fn large_blob_cred_blob_cred_props_and_cred_protect() {
    let cfg = rp();
    let mut c = client(vec![authenticator(false, Settings::default())]);
    let (rec, cred) = register(
        &mut c,
        &cfg,
        "lb",
        RegistrationExtras {
            resident_key: Some("required".into()),
            extensions: ext(ExtensionInputsJson {
                large_blob: Some(LargeBlobInputsJson {
                    support: Some("required".into()),
                    read: None,
                    write: None,
                }),
                cred_blob: Some(b"tiny".to_vec()),
                cred_props: Some(true),
                credential_protection_policy: Some(
                    "userVerificationOptionalWithCredentialIDList".into(),
                ),
                enforce_credential_protection_policy: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let out = &cred.client_extension_results;
    assert_eq!(out.large_blob.as_ref().unwrap().supported, Some(true));
    assert_eq!(out.cred_blob, Some(true));
    assert_eq!(out.cred_props.as_ref().unwrap().rk, Some(true));
    let ad = cred.response.authenticator_data();
    assert_eq!(
        ad.extension("credProtect").and_then(|v| v.as_u64()),
        Some(2)
    );
    // Write, then read back.
    let blob = b"a large blob, compressed and sealed".repeat(20);
    let (_, a) = authenticate(
        &mut c,
        &cfg,
        std::slice::from_ref(&rec),
        AuthenticationExtras {
            extensions: ext(ExtensionInputsJson {
                large_blob: Some(LargeBlobInputsJson {
                    support: None,
                    read: None,
                    write: Some(blob.clone()),
                }),
                ..Default::default()
            }),
            ..identified(&rec)
        },
    )
    .unwrap();
    assert_eq!(
        a.client_extension_results.large_blob.unwrap().written,
        Some(true)
    );
    let (_, a) = authenticate(
        &mut c,
        &cfg,
        std::slice::from_ref(&rec),
        AuthenticationExtras {
            extensions: ext(ExtensionInputsJson {
                large_blob: Some(LargeBlobInputsJson {
                    support: None,
                    read: Some(true),
                    write: None,
                }),
                get_cred_blob: Some(true),
                ..Default::default()
            }),
            ..identified(&rec)
        },
    )
    .unwrap();
    assert_eq!(
        a.client_extension_results.large_blob.unwrap().blob,
        Some(blob)
    );
    assert_eq!(
        a.client_extension_results.get_cred_blob,
        Some(b"tiny".to_vec())
    );
    // credProtect level 2: invisible to a discoverable request without UV.
    let e = authenticate(&mut c, &cfg, std::slice::from_ref(&rec), Default::default()).unwrap_err();
    assert_eq!(e.dom_exception(), DomException::NotAllowedError);
    // credProps for a non-discoverable credential.
    let (_, cred) = register(
        &mut c,
        &cfg,
        "np",
        RegistrationExtras {
            resident_key: Some("discouraged".into()),
            extensions: ext(ExtensionInputsJson {
                cred_props: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        cred.client_extension_results.cred_props.unwrap().rk,
        Some(false)
    );
}

#[test]
fn option_and_origin_errors_map_to_dom_exceptions() {
    let cfg = rp();
    let mut c = client(vec![authenticator(false, Settings::default())]);
    let (mut options, _) = registration_options(&cfg, &user("x"), Default::default()).unwrap();
    let call = CallOptions::new(ORIGIN);
    let aborted = CallOptions {
        signal: Some({
            let s = AbortSignal::new();
            s.abort();
            s
        }),
        ..call.clone()
    };
    assert_eq!(
        c.create(&aborted, &options).unwrap_err().dom_exception(),
        DomException::AbortError
    );
    let evil = CallOptions::new("https://evil.example.net");
    assert_eq!(
        c.create(&evil, &options).unwrap_err().dom_exception(),
        DomException::SecurityError
    );
    let http = CallOptions::new("http://login.example.org");
    assert_eq!(
        c.create(&http, &options).unwrap_err().dom_exception(),
        DomException::SecurityError
    );
    let mut o = options.clone();
    o.user.id = vec![0; 65];
    assert_eq!(
        c.create(&call, &o).unwrap_err().dom_exception(),
        DomException::TypeError
    );
    let mut o = options.clone();
    for p in &mut o.pub_key_cred_params {
        p.type_ = "future-type".into();
    }
    assert_eq!(
        c.create(&call, &o).unwrap_err().dom_exception(),
        DomException::NotSupportedError
    );
    let mut o = options.clone();
    o.pub_key_cred_params.retain(|p| p.alg == -8);
    o.pub_key_cred_params[0].alg = -65535;
    assert_eq!(
        c.create(&call, &o).unwrap_err().dom_exception(),
        DomException::NotSupportedError
    );
    // Related origins: example.org's document lists the caller.
    let co_uk = CallOptions {
        related_origins: Some(r#"{"origins":["https://example.co.uk"]}"#.into()),
        ..CallOptions::new("https://example.co.uk")
    };
    let cred = c.create(&co_uk, &options).unwrap();
    let cd: serde_json::Value = serde_json::from_slice(&cred.response.client_data_json).unwrap();
    assert_eq!(cd["origin"], "https://example.co.uk");
    let unlisted = CallOptions {
        related_origins: Some(r#"{"origins":["https://example.de"]}"#.into()),
        ..co_uk.clone()
    };
    assert_eq!(
        c.create(&unlisted, &options).unwrap_err().dom_exception(),
        DomException::SecurityError
    );
    // A cross-origin iframe: crossOrigin true and topOrigin in clientDataJSON.
    options.rp.id = Some("example.org".into());
    let framed = CallOptions {
        top_origin: Some("https://shop.example.com".into()),
        ..call
    };
    let cred = c.create(&framed, &options).unwrap();
    let text = String::from_utf8(cred.response.client_data_json.clone()).unwrap();
    assert!(
        text.ends_with(r#""crossOrigin":true,"topOrigin":"https://shop.example.com"}"#),
        "{text}"
    );
}

/// An authenticator that offers only PIN/UV auth protocol 1 (a CTAP 2.0-era
/// device): getInfo is rewritten on the way out.
struct ProtocolOne(Dev);

impl keyhaven_client::Device for ProtocolOne {
    fn transact(
        &mut self,
        message: &[u8],
        cancel: &keyhaven_client::device::Cancel,
    ) -> Result<Vec<u8>, keyhaven_client::TransportError> {
        use keyhaven_proto::ctap2::{Command, Response, ResponseBody};
        let out = self.0.transact(message, cancel)?;
        if message.first() != Some(&0x04) {
            return Ok(out);
        }
        let mut r = Response::from_bytes(Command::GetInfo, &out).unwrap();
        if let ResponseBody::GetInfo(info) = &mut r.body {
            info.pin_uv_auth_protocols = Some(vec![1]);
        }
        Ok(r.to_bytes())
    }
    fn attachment(&self) -> keyhaven_client::Attachment {
        self.0.attachment()
    }
    fn transport(&self) -> &'static str {
        self.0.transport()
    }
    fn name(&self) -> String {
        "protocol-1 authenticator".into()
    }
}

#[test]
fn pin_protocol_one_when_two_is_not_offered() {
    let mut dev = ProtocolOne(authenticator(false, Settings::default()));
    {
        let mut s = keyhaven_client::ctap::Session::open(
            &mut dev,
            keyhaven_client::device::Cancel::until(
                std::time::Instant::now() + Duration::from_secs(5),
            ),
        )
        .unwrap();
        assert_eq!(
            s.protocol(),
            Some(keyhaven_authenticator::pin_protocol::PinProtocol::One)
        );
        keyhaven_client::pin::set_pin(&mut s, &SecretBytes::new(b"2468".to_vec())).unwrap();
    }
    let mut cfg = rp();
    cfg.user_verification = keyhaven_rp::config::UserVerification::Required;
    let mut c = Client::new(vec![Box::new(dev)])
        .with_config(fast())
        .with_pin_provider(FixedPin(SecretBytes::new(b"2468".to_vec())));
    let eval = PrfValuesJson {
        first: b"p1".to_vec(),
        second: None,
    };
    let (rec, _) = register(
        &mut c,
        &cfg,
        "one",
        RegistrationExtras {
            resident_key: Some("required".into()),
            extensions: prf_inputs(None, None),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(rec.uv_initialized, "UV through a protocol-1 token");
    // The PRF through hmac-secret on protocol 1: the same input, the same output.
    let get_prf = |c: &mut Client| {
        let (r, a) = authenticate(
            c,
            &cfg,
            std::slice::from_ref(&rec),
            AuthenticationExtras {
                extensions: prf_inputs(Some(eval.clone()), None),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(r.user_verified);
        a.client_extension_results
            .prf
            .unwrap()
            .results
            .unwrap()
            .first
    };
    let first = get_prf(&mut c);
    assert_eq!(first.len(), 32);
    assert_eq!(get_prf(&mut c), first);
}

/// A device that records the length of each getAssertion allowList it is sent.
struct Recording(Dev, std::sync::Arc<std::sync::Mutex<Vec<usize>>>);

impl keyhaven_client::Device for Recording {
    fn transact(
        &mut self,
        message: &[u8],
        cancel: &keyhaven_client::device::Cancel,
    ) -> Result<Vec<u8>, keyhaven_client::TransportError> {
        if let Ok(keyhaven_proto::ctap2::Request::GetAssertion(r)) =
            keyhaven_proto::ctap2::Request::from_bytes(message)
        {
            let n = r.allow_list.map_or(0, |l| l.len());
            self.1.lock().unwrap().push(n);
        }
        self.0.transact(message, cancel)
    }
    fn attachment(&self) -> keyhaven_client::Attachment {
        self.0.attachment()
    }
    fn transport(&self) -> &'static str {
        self.0.transport()
    }
    fn name(&self) -> String {
        self.0.name()
    }
}

/// CTAP 2.2 §6.4 maxCredentialCountInList: the client sends allow lists in
/// batches no longer than the authenticator advertises.
#[test]
fn allow_lists_go_in_batches_of_max_credential_count_in_list() {
    let max = keyhaven_authenticator::authenticator::MAX_CREDENTIAL_COUNT_IN_LIST;
    assert_eq!(max, 16);
    let sizes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recording = Recording(authenticator(false, Settings::default()), sizes.clone());
    let mut c = Client::new(vec![Box::new(recording)]).with_config(fast());
    let cfg = rp();
    let (rec, _) = register(&mut c, &cfg, "alice", RegistrationExtras::default()).unwrap();
    sizes.lock().unwrap().clear();
    // 40 allowed credentials, the real one 36th.
    let mut others: Vec<CredentialRecord> = (0..39u8)
        .map(|i| CredentialRecord {
            id: vec![i; 40],
            ..rec.clone()
        })
        .collect();
    others.insert(35, rec.clone());
    let refs: Vec<&CredentialRecord> = others.iter().collect();
    let extras = AuthenticationExtras {
        allow_credentials: allow(&refs),
        user_handle: rec.user_handle.clone(),
        ..Default::default()
    };
    let (r, _) = authenticate(&mut c, &cfg, std::slice::from_ref(&rec), extras).unwrap();
    assert_eq!(r.record.id, rec.id);
    // Three silent pre-flight batches (16, 16, 8), then the assertion with the one found.
    assert_eq!(*sizes.lock().unwrap(), [16, 16, 8, 1]);
}

/// CTAP 2.2 §10: with an authenticator that speaks U2F only, create() is
/// U2F_REGISTER with a fido-u2f attestation the RP verifies, get() is
/// U2F_AUTHENTICATE, excludeCredentials holds, and what U2F cannot do is refused.
#[test]
fn a_u2f_only_authenticator_registers_and_authenticates() {
    let u2f_only = Settings {
        ctap2: false,
        ..Settings::default()
    };
    let mut c = client(vec![authenticator(false, u2f_only)]);
    let cfg = rp();
    let (rec, cred) = register(
        &mut c,
        &cfg,
        "alice",
        RegistrationExtras {
            attestation: Some("direct".into()),
            resident_key: Some("discouraged".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let att = keyhaven_proto::attestation::AttestationObject::from_bytes(
        &cred.response.attestation_object,
    )
    .unwrap();
    assert_eq!(att.fmt, "fido-u2f");
    assert_eq!(rec.algorithm, -7);
    let (r, a) = authenticate(&mut c, &cfg, std::slice::from_ref(&rec), identified(&rec)).unwrap();
    assert_eq!(r.record.sign_count, 1);
    assert_eq!(a.response.user_handle, None);
    // excludeCredentials: InvalidStateError after the touch.
    let (options, _) = registration_options(
        &cfg,
        &user("alice"),
        RegistrationExtras {
            exclude_credentials: allow(&[&rec]),
            ..Default::default()
        },
    )
    .unwrap();
    let e = c.create(&CallOptions::new(ORIGIN), &options).unwrap_err();
    assert_eq!(e.dom_exception(), DomException::InvalidStateError, "{e}");
    // A discoverable credential or user verification cannot be had.
    let rk = RegistrationExtras {
        resident_key: Some("required".into()),
        ..Default::default()
    };
    let e = register(&mut c, &cfg, "bob", rk).unwrap_err();
    assert!(e.to_string().contains("U2F"), "{e}");
    let mut uv_cfg = rp();
    uv_cfg.user_verification = keyhaven_rp::config::UserVerification::Required;
    let e = register(&mut c, &uv_cfg, "bob", RegistrationExtras::default()).unwrap_err();
    assert!(e.to_string().contains("U2F"), "{e}");
    // Nor can a sign-in without allowCredentials.
    assert!(authenticate(&mut c, &cfg, &[rec], AuthenticationExtras::default()).is_err());
}

/// L3 §10.1.1 appid: a credential registered through U2F under the appid
/// signs a get() whose RP ID differs, through CTAP2 getAssertion on a CTAP2
/// authenticator and through U2F_AUTHENTICATE on a U2F-only one; the RP
/// accepts it under the appid's hash.
#[test]
fn a_u2f_registration_signs_in_with_the_appid_extension() {
    use keyhaven_crypto::digest::sha256;
    use keyhaven_ctap::u2f::{split_response, RegisterRequest, RegisterResponse};
    let appid = "https://login.example.org/appid.json";
    for ctap2 in [true, false] {
        let mut dev = authenticator(
            false,
            Settings {
                ctap2,
                ..Settings::default()
            },
        );
        // A legacy U2F registration under the appid.
        let req = RegisterRequest {
            challenge: [1; 32],
            application: sha256(appid.as_bytes()),
        };
        let out = dev.authenticator().process_u2f(&req.to_apdu().to_bytes());
        let (data, status) = split_response(&out).unwrap();
        assert_eq!(status, 0x9000);
        let reg = RegisterResponse::parse(data).unwrap();
        let p = reg.public_key;
        let mut template = client(vec![authenticator(false, Settings::default())]);
        let (template, _) =
            register(&mut template, &rp(), "t", RegistrationExtras::default()).unwrap();
        let record = CredentialRecord {
            id: reg.key_handle.clone(),
            public_key: keyhaven_proto::cose::CoseKey::ec2(
                CoseAlgorithm::Es256,
                keyhaven_proto::cose::EcCurve::P256,
                p[1..33].to_vec(),
                p[33..].to_vec(),
            )
            .to_bytes(),
            algorithm: -7,
            sign_count: 0,
            ..template
        };
        let mut c = client(vec![dev]);
        let cfg = rp();
        let extras = AuthenticationExtras {
            allow_credentials: allow(&[&record]),
            user_handle: record.user_handle.clone(),
            extensions: Some(ExtensionInputsJson {
                appid: Some(appid.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (r, cred) = authenticate(&mut c, &cfg, std::slice::from_ref(&record), extras)
            .unwrap_or_else(|e| panic!("ctap2 {ctap2}: {e}"));
        assert_eq!(cred.client_extension_results.appid, Some(true));
        assert!(r.appid_used);
        // CTAP2's silent pre-flight (up=false) is an assertion and counts;
        // U2F's check-only is not.
        assert_eq!(r.record.sign_count, if ctap2 { 2 } else { 1 });
    }
}
