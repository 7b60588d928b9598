//! Signature verification through keyhaven-crypto (from a COSE key, as the RP
//! does) against the raw aws-lc-rs call on pre-encoded key bytes (baseline).

use aws_lc_rs::signature::{self as sig, RsaPublicKeyComponents, UnparsedPublicKey};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use keyhaven_crypto::signature::{verify, SigningKey};
use keyhaven_proto::cose::{CoseAlgorithm, KeyParams};

fn bench(c: &mut Criterion) {
    let msg = [0x5au8; 69];
    for alg in [
        CoseAlgorithm::Es256,
        CoseAlgorithm::EdDsa,
        CoseAlgorithm::Rs256,
        CoseAlgorithm::MlDsa65,
    ] {
        let key = SigningKey::generate(alg).unwrap();
        let pk = key.public_key();
        let s = key.sign(&msg).unwrap();
        let mut g = c.benchmark_group(format!("verify {}", alg.name()));
        g.bench_function("keyhaven-crypto (COSE key)", |b| {
            b.iter(|| verify(black_box(&pk), &msg, &s).unwrap())
        });
        match &pk.params {
            KeyParams::Ec2 { .. } => {
                let point = pk.to_sec1_uncompressed().unwrap();
                g.bench_function("baseline: aws-lc-rs", |b| {
                    b.iter(|| {
                        UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, &point)
                            .verify(black_box(&msg), &s)
                            .unwrap()
                    })
                });
            }
            KeyParams::Okp { x, .. } => {
                g.bench_function("baseline: aws-lc-rs", |b| {
                    b.iter(|| {
                        UnparsedPublicKey::new(&sig::ED25519, x)
                            .verify(black_box(&msg), &s)
                            .unwrap()
                    })
                });
            }
            KeyParams::Rsa { n, e } => {
                g.bench_function("baseline: aws-lc-rs", |b| {
                    b.iter(|| {
                        RsaPublicKeyComponents { n, e }
                            .verify(&sig::RSA_PKCS1_2048_8192_SHA256, black_box(&msg), &s)
                            .unwrap()
                    })
                });
            }
            KeyParams::Akp { public } => {
                g.bench_function("baseline: aws-lc-rs", |b| {
                    b.iter(|| {
                        UnparsedPublicKey::new(&sig::ML_DSA_65, public)
                            .verify(black_box(&msg), &s)
                            .unwrap()
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
