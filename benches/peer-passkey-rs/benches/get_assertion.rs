//! getAssertion ES256 and ML-DSA-65 on an equivalent request: keyhaven's
//! `process()` against passkey-rs's `passkey-authenticator` 0.6 (crates.io
//! release, a black box) on its default RustCrypto backend, or on aws-lc-rs
//! with `--features aws-lc` (so the comparison is not only one of crypto
//! libraries).
//!
//! Both sides start from the same kind of CTAP2 request bytes (one credential in
//! the allowList, up=true, uv=false) and end with response bytes: keyhaven
//! through `process()`, passkey-rs by decoding the bytes into its own
//! `get_assertion::Request` with ciborium, awaiting `get_assertion` (pollster)
//! and encoding its response with ciborium.

use criterion::{black_box, criterion_group, Criterion};
use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
use keyhaven_proto::ctap2::get_assertion::GetAssertionRequest;
use keyhaven_proto::ctap2::make_credential::MakeCredentialRequest;
use keyhaven_proto::ctap2::types::{
    CredentialDescriptor, CredentialParameters, Options, RpEntity, UserEntity,
};
use keyhaven_proto::ctap2::{Command, Request, Response, ResponseBody};
use passkey_authenticator::{UiHint, UserCheck, UserValidationMethod};
use passkey_types::ctap2::{get_assertion, make_credential, Aaguid, Ctap2Error};
use passkey_types::Passkey;

/// passkey-rs's crypto backend in this build.
const BACKEND: &str = if cfg!(feature = "aws-lc") {
    "aws-lc-rs"
} else {
    "RustCrypto"
};

/// Presence always given, no built-in verification: like `AlwaysApprove`.
struct Approve;

#[async_trait::async_trait]
impl UserValidationMethod for Approve {
    type PasskeyItem = Passkey;
    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        _verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification: false,
        })
    }
    fn is_presence_enabled(&self) -> bool {
        true
    }
    fn is_verification_enabled(&self) -> Option<bool> {
        None
    }
}

fn make_request(alg: i64) -> Vec<u8> {
    Request::MakeCredential(MakeCredentialRequest {
        client_data_hash: vec![1; 32],
        rp: RpEntity {
            id: "example.org".into(),
            name: Some("Example".into()),
        },
        user: UserEntity {
            id: b"user".to_vec(),
            // passkey-rs requires name and displayName.
            name: Some("user".into()),
            display_name: Some("User".into()),
        },
        pub_key_cred_params: vec![CredentialParameters {
            type_: "public-key".into(),
            alg,
        }],
        options: Some(Options {
            rk: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    })
    .to_bytes()
}

fn get_request(id: Vec<u8>) -> Vec<u8> {
    let mut req = GetAssertionRequest::new("example.org", vec![2; 32]);
    req.allow_list = Some(vec![CredentialDescriptor::public_key(id)]);
    Request::GetAssertion(req).to_bytes()
}

fn bench_alg(c: &mut Criterion, alg: i64, name: &str) {
    // keyhaven
    let mut ours = Authenticator::new(
        MemoryStore::new(10),
        AlwaysApprove::default(),
        Settings::default(),
    )
    .unwrap();
    let out = ours.process(&make_request(alg));
    let ResponseBody::MakeCredential(mc) = Response::from_bytes(Command::MakeCredential, &out)
        .unwrap()
        .body
    else {
        panic!("keyhaven makeCredential")
    };
    let our_bytes = get_request(mc.auth_data.attested_credential_data.unwrap().credential_id);
    assert_eq!(ours.process(&our_bytes)[0], 0, "keyhaven getAssertion OK");

    // passkey-rs, from the same request bytes (without the command byte).
    let mut theirs = Authenticator_::new(
        Aaguid::new_empty(),
        passkey_authenticator::MemoryStore::new(),
        Approve,
        passkey_crypto::AvailableBackend,
    );
    let mc_req: make_credential::Request = ciborium::de::from_reader(&make_request(alg)[1..])
        .expect("passkey-rs decodes makeCredential");
    pollster::block_on(theirs.make_credential(mc_req)).expect("passkey-rs makeCredential");
    let their_id = theirs.store().keys().next().unwrap().clone();
    let their_bytes = get_request(their_id);
    type Theirs =
        Authenticator_<passkey_authenticator::MemoryStore, Approve, passkey_crypto::AvailableBackend>;
    let run_theirs = |a: &mut Theirs, bytes: &[u8]| {
        let req: get_assertion::Request = ciborium::de::from_reader(&bytes[1..]).unwrap();
        let resp = pollster::block_on(a.get_assertion(req)).unwrap();
        let mut out = vec![0u8];
        ciborium::ser::into_writer(&resp, &mut out).unwrap();
        out
    };
    assert!(
        run_theirs(&mut theirs, &their_bytes).len() > 64,
        "passkey-rs getAssertion OK"
    );

    let mut g = c.benchmark_group(format!("getAssertion {name} vs passkey-rs ({BACKEND})"));
    g.bench_function("keyhaven", |b| {
        b.iter(|| ours.process(black_box(&our_bytes)))
    });
    g.bench_function("passkey-authenticator 0.6", |b| {
        b.iter(|| run_theirs(&mut theirs, black_box(&their_bytes)))
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    bench_alg(c, -7, "ES256");
    bench_alg(c, -49, "ML-DSA-65");
}

use passkey_authenticator::Authenticator as Authenticator_;

criterion_group!(benches, bench);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    let es256 = format!("getAssertion ES256 vs passkey-rs ({BACKEND})");
    let ml_dsa = format!("getAssertion ML-DSA-65 vs passkey-rs ({BACKEND})");
    let es256_label = format!("keyhaven vs passkey-authenticator 0.6 on {BACKEND}, ES256");
    let ml_dsa_label =
        format!("keyhaven vs passkey-authenticator 0.6 on {BACKEND}, ML-DSA-65 (target >= 2x on RustCrypto)");
    keyhaven_testkit::bench::print_ratios(&[
        (&es256_label, &es256, "keyhaven", "passkey-authenticator 0.6"),
        (&ml_dsa_label, &ml_dsa, "keyhaven", "passkey-authenticator 0.6"),
    ]);
}
