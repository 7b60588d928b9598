//! Full parse of an AuthenticationResponseJSON: the JSON, its base64url
//! members, the authenticatorData and the clientDataJSON. Baselines in the same
//! run: a generic `serde_json::Value` parse of the same bytes (JSON only), and
//! the peer crate webauthn-rs-proto's `PublicKeyCredential` (JSON and base64url,
//! no authenticatorData or clientDataJSON parsing).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use keyhaven_proto::authdata::AuthenticatorData;
use keyhaven_proto::client_data::CollectedClientData;
use keyhaven_proto::json::AuthenticationResponseJson;

const SAMPLE: &str = keyhaven_testkit::vectors::SAMPLE_AUTHENTICATION_RESPONSE;

fn full_parse(
    json: &[u8],
) -> (
    AuthenticationResponseJson,
    AuthenticatorData,
    CollectedClientData,
) {
    let r: AuthenticationResponseJson = serde_json::from_slice(json).expect("valid sample");
    let ad = AuthenticatorData::from_bytes(&r.response.authenticator_data).expect("valid authData");
    let cd = CollectedClientData::from_json_bytes(&r.response.client_data_json)
        .expect("valid clientData");
    (r, ad, cd)
}

fn bench(c: &mut Criterion) {
    let json = SAMPLE.as_bytes();
    let mut g = c.benchmark_group("parse AuthenticationResponseJSON");
    g.bench_function(
        "keyhaven full parse (JSON + base64url + authData + clientDataJSON)",
        |b| b.iter(|| full_parse(black_box(json))),
    );
    // The same response with clientDataJSON as browsers send it (no extra member).
    let mut browser: AuthenticationResponseJson = serde_json::from_slice(json).unwrap();
    let cd = CollectedClientData::from_json_bytes(&browser.response.client_data_json).unwrap();
    let mut plain = cd.clone();
    plain.other.clear();
    browser.response.client_data_json = plain.to_json_bytes();
    let browser_json = serde_json::to_vec(&browser).unwrap();
    g.bench_function("keyhaven full parse, browser-form clientDataJSON", |b| {
        b.iter(|| full_parse(black_box(&browser_json)))
    });
    g.bench_function("baseline: serde_json::Value (JSON only)", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(json)).unwrap())
    });
    g.bench_function(
        "peer: webauthn-rs-proto PublicKeyCredential (JSON + base64url)",
        |b| {
            b.iter(|| {
                serde_json::from_slice::<webauthn_rs_proto::PublicKeyCredential>(black_box(json))
                    .unwrap()
            })
        },
    );
    g.finish();
    let parsed = full_parse(json).0;
    c.bench_function(
        "AuthenticationResponseJSON serde only (JSON + base64url)",
        |b| {
            b.iter(|| {
                serde_json::from_slice::<AuthenticationResponseJson>(black_box(json)).unwrap()
            })
        },
    );
    let cd = parsed.response.client_data_json.clone();
    c.bench_function("clientDataJSON parse (with an extra member)", |b| {
        b.iter(|| CollectedClientData::from_json_bytes(black_box(&cd)).unwrap())
    });
    let plain =
        CollectedClientData::new("webauthn.get", &[7; 32], "https://example.org").to_json_bytes();
    c.bench_function(
        "clientDataJSON parse (browser form, no extra member)",
        |b| b.iter(|| CollectedClientData::from_json_bytes(black_box(&plain)).unwrap()),
    );
    let ad = parsed.response.authenticator_data;
    c.bench_function("authenticatorData parse (37 bytes)", |b| {
        b.iter(|| AuthenticatorData::from_bytes(black_box(&ad)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
