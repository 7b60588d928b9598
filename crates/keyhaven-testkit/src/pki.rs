//! A small test PKI made with rcgen in the test (never checked in): a root
//! and a leaf, and a batch attestation meeting L3 §8.2.1.

use keyhaven_authenticator::BatchAttestation;
use keyhaven_crypto::signature::SigningKey;
use keyhaven_proto::cose::CoseAlgorithm;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

/// A root certificate and a leaf it signs, with the leaf's key.
pub struct Pki {
    /// The root, DER.
    pub root_der: Vec<u8>,
    /// The root, PEM (as `--mds-root` and `--trust-root` read it).
    pub root_pem: String,
    /// The leaf, DER.
    pub leaf_der: Vec<u8>,
    /// The leaf's key (ES256).
    pub leaf_key: SigningKey,
}

fn root(cn: &str) -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (p, key)
}

fn es256(key: &KeyPair) -> SigningKey {
    SigningKey::from_pkcs8(CoseAlgorithm::Es256, &key.serialize_der()).unwrap()
}

/// A root CA and a leaf (ECDSA P-256) whose subject CN is `leaf_cn`.
pub fn pki_with(leaf_cn: &str) -> Pki {
    let (root, root_key) = root("keyhaven test root");
    let root_cert = root.self_signed(&root_key).unwrap();
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, leaf_cn);
    let leaf_cert = leaf
        .signed_by(&leaf_key, &Issuer::from_params(&root, &root_key))
        .unwrap();
    Pki {
        root_der: root_cert.der().to_vec(),
        root_pem: root_cert.pem(),
        leaf_der: leaf_cert.der().to_vec(),
        leaf_key: es256(&leaf_key),
    }
}

/// [`pki_with`] with the CN "keyhaven test signer".
pub fn pki() -> Pki {
    pki_with("keyhaven test signer")
}

/// The AAGUID in [`batch`]'s certificate.
pub const AAGUID: [u8; 16] = [0x6b; 16];

/// A root and a batch certificate meeting L3 §8.2.1 (C, O, OU "Authenticator
/// Attestation", CN; not a CA), with the id-fido-gen-ce-aaguid extension.
pub fn batch() -> (Vec<u8>, BatchAttestation) {
    let (root, root_key) = root("keyhaven test attestation root");
    let root_cert = root.self_signed(&root_key).unwrap();
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name.push(DnType::CountryName, "AA");
    leaf.distinguished_name
        .push(DnType::OrganizationName, "keyhaven");
    leaf.distinguished_name
        .push(DnType::OrganizationalUnitName, "Authenticator Attestation");
    leaf.distinguished_name
        .push(DnType::CommonName, "keyhaven batch");
    leaf.is_ca = IsCa::ExplicitNoCa;
    let mut aaguid_ext = vec![0x04, 0x10];
    aaguid_ext.extend_from_slice(&AAGUID);
    leaf.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4],
        aaguid_ext,
    )];
    let leaf_cert = leaf
        .signed_by(&leaf_key, &Issuer::from_params(&root, &root_key))
        .unwrap();
    (
        root_cert.der().to_vec(),
        BatchAttestation {
            key: es256(&leaf_key),
            x5c: vec![leaf_cert.der().to_vec()],
        },
    )
}
