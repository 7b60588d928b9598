//! getAssertion ES256 and ML-DSA-65 from request bytes to response bytes,
//! next to raw aws-lc-rs signing alone; and the discoverable path with
//! 100,000 credentials stored against 100.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, PqdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ML_DSA_65_SIGNING,
};
use criterion::{black_box, criterion_group, Criterion};
use keyhaven_authenticator::{
    AlwaysApprove, Authenticator, CredentialStore, MemoryStore, Settings, StoredCredential,
};
use keyhaven_proto::cbor::Value;
use keyhaven_proto::ctap2::get_assertion::GetAssertionRequest;
use keyhaven_proto::ctap2::make_credential::MakeCredentialRequest;
use keyhaven_proto::ctap2::types::{CredentialDescriptor, UserEntity};
use keyhaven_proto::ctap2::{Command, Request, Response, ResponseBody};

fn authenticator_with(
    n_other: usize,
    alg: i64,
) -> (Authenticator<MemoryStore, AlwaysApprove>, Vec<u8>) {
    let mut a = Authenticator::new(
        MemoryStore::new(n_other + 10),
        AlwaysApprove::default(),
        Settings::default(),
    )
    .unwrap();
    let make = Request::MakeCredential(
        MakeCredentialRequest::new(
            vec![1; 32],
            "example.org",
            UserEntity::new(b"user".to_vec(), None),
            alg,
        )
        .with_rk(true),
    );
    let out = a.process(&make.to_bytes());
    let ResponseBody::MakeCredential(mc) = Response::from_bytes(Command::MakeCredential, &out)
        .unwrap()
        .body
    else {
        panic!("makeCredential")
    };
    let id = mc.auth_data.attested_credential_data.unwrap().credential_id;
    // Other RPs' discoverable credentials (copies of one key: only the index matters here).
    let template = a.store().get(&id).unwrap().unwrap();
    let mut store_fill: Vec<StoredCredential> = Vec::with_capacity(n_other);
    for i in 0..n_other {
        let rp = format!("rp{i}.example");
        let mut c = template.clone();
        c.id = (i as u64).to_be_bytes().to_vec();
        c.rp_id_hash = keyhaven_crypto::digest::sha256(rp.as_bytes());
        c.rp_id = rp;
        store_fill.push(c);
    }
    for c in store_fill {
        a.store_mut().put(c).unwrap();
    }
    (a, id)
}

fn bench(c: &mut Criterion) {
    let (mut a, id) = authenticator_with(0, -7);
    let mut req = GetAssertionRequest::new("example.org", vec![2; 32]);
    req.allow_list = Some(vec![CredentialDescriptor::public_key(id)]);
    let bytes = Request::GetAssertion(req).to_bytes();
    let rng = SystemRandom::new();
    let raw = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let msg = [7u8; 69];
    let mut g = c.benchmark_group("getAssertion ES256");
    g.bench_function("keyhaven: request bytes to response bytes", |b| {
        b.iter(|| a.process(black_box(&bytes)))
    });
    g.bench_function("baseline: raw aws-lc-rs ES256 sign", |b| {
        b.iter(|| raw.sign(&rng, black_box(&msg)).unwrap())
    });
    g.finish();

    let (mut a, id) = authenticator_with(0, -49);
    let mut req = GetAssertionRequest::new("example.org", vec![2; 32]);
    req.allow_list = Some(vec![CredentialDescriptor::public_key(id)]);
    let bytes = Request::GetAssertion(req).to_bytes();
    assert_eq!(a.process(&bytes)[0], 0, "ML-DSA-65 getAssertion OK");
    let raw = PqdsaKeyPair::generate(&ML_DSA_65_SIGNING).unwrap();
    let mut sig = vec![0u8; ML_DSA_65_SIGNING.signature_len()];
    let mut g = c.benchmark_group("getAssertion ML-DSA-65");
    g.bench_function("keyhaven: request bytes to response bytes", |b| {
        b.iter(|| a.process(black_box(&bytes)))
    });
    g.bench_function("baseline: raw aws-lc-rs ML-DSA-65 sign", |b| {
        b.iter(|| raw.sign(black_box(&msg), &mut sig).unwrap())
    });
    g.finish();

    let discoverable =
        Request::GetAssertion(GetAssertionRequest::new("example.org", vec![3; 32])).to_bytes();
    let mut g = c.benchmark_group("getAssertion discoverable");
    for n in [100usize, 100_000] {
        let (mut a, _) = authenticator_with(n, -7);
        g.bench_function(format!("{n} credentials stored"), |b| {
            b.iter(|| a.process(black_box(&discoverable)))
        });
    }
    g.finish();
    let _ = Value::Null;
}

criterion_group!(benches, bench);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    keyhaven_testkit::bench::print_ratios(&[
        (
            "getAssertion vs raw ES256 signing (target >= 0.8x)",
            "getAssertion ES256",
            "keyhaven_ request bytes to response bytes",
            "baseline_ raw aws-lc-rs ES256 sign",
        ),
        (
            "ML-DSA-65 getAssertion vs raw ML-DSA-65 signing (target >= 0.8x)",
            "getAssertion ML-DSA-65",
            "keyhaven_ request bytes to response bytes",
            "baseline_ raw aws-lc-rs ML-DSA-65 sign",
        ),
        (
            "100,000 vs 100 stored credentials (target >= 0.67x, i.e. at most 1.5x slower)",
            "getAssertion discoverable",
            "100000 credentials stored",
            "100 credentials stored",
        ),
    ]);
}
