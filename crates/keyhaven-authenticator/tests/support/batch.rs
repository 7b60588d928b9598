//! A test attestation root and batch certificate (rcgen), shared by the
//! authenticator's and the client's tests.

use keyhaven_authenticator::BatchAttestation;
use keyhaven_crypto::signature::SigningKey;
use keyhaven_proto::cose::CoseAlgorithm;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

pub const AAGUID: [u8; 16] = [0x6b; 16];

/// A root and a batch certificate meeting L3 §8.2.1, with the AAGUID extension.
pub fn batch() -> (Vec<u8>, BatchAttestation) {
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut root = CertificateParams::new(Vec::<String>::new()).unwrap();
    root.distinguished_name
        .push(DnType::CommonName, "keyhaven test attestation root");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign];
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
            key: SigningKey::from_pkcs8(CoseAlgorithm::Es256, &leaf_key.serialize_der()).unwrap(),
            x5c: vec![leaf_cert.der().to_vec()],
        },
    )
}
