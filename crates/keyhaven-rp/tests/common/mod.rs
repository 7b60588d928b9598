//! Test fixtures shared by the RP integration tests: a small PKI made with
//! rcgen, and JWS signature encoding.
#![allow(dead_code)]

use keyhaven_crypto::signature::SigningKey;
use keyhaven_proto::b64;
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::der::{Reader, Tag};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};

pub struct Pki {
    pub root_der: Vec<u8>,
    pub leaf_der: Vec<u8>,
    pub leaf_key: SigningKey,
}

/// A root CA and a leaf (ECDSA P-256) whose subject CN is `leaf_cn`.
pub fn pki_with(leaf_cn: &str) -> Pki {
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut root = CertificateParams::new(Vec::<String>::new()).unwrap();
    root.distinguished_name
        .push(DnType::CommonName, "keyhaven test root");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root_cert = root.self_signed(&root_key).unwrap();
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, leaf_cn);
    let issuer = Issuer::from_params(&root, &root_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        root_der: root_cert.der().to_vec(),
        leaf_der: leaf_cert.der().to_vec(),
        leaf_key: SigningKey::from_pkcs8(CoseAlgorithm::Es256, &leaf_key.serialize_der()).unwrap(),
    }
}

pub fn pki() -> Pki {
    pki_with("keyhaven test signer")
}

/// JWS ES256 wants r ‖ s; our signer gives DER Ecdsa-Sig-Value.
pub fn der_to_fixed(der: &[u8]) -> Vec<u8> {
    let mut seq = Reader::new(der).expect(Tag::SEQUENCE).unwrap();
    let mut out = Vec::new();
    for _ in 0..2 {
        let i = seq.expect(Tag::INTEGER).unwrap().bytes();
        let i = &i[i.len().saturating_sub(32)..];
        out.extend(std::iter::repeat_n(0u8, 32 - i.len()));
        out.extend_from_slice(i);
    }
    out
}

/// Standard base64 (what x5c in JOSE headers uses).
pub fn base64_std(der: &[u8]) -> String {
    b64::encode(der).replace('-', "+").replace('_', "/")
}

/// A compact JWS (ES256) with `x5c` = [leaf].
pub fn jws(p: &Pki, payload: &serde_json::Value) -> String {
    let header =
        serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [base64_std(&p.leaf_der)]});
    let h = b64::encode(header.to_string().as_bytes());
    let pl = b64::encode(payload.to_string().as_bytes());
    let sig = p.leaf_key.sign(format!("{h}.{pl}").as_bytes()).unwrap();
    format!("{h}.{pl}.{}", b64::encode(&der_to_fixed(&sig)))
}
