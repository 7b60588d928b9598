//! Golden tests: every W3C WebAuthn L3 test vector (tests/vectors/vectors.json)
//! parses to the values the spec states and re-serializes byte-exactly.

use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::authdata::{Aaguid, AuthenticatorData};
use keyhaven_proto::b64;
use keyhaven_proto::client_data::{CollectedClientData, TYPE_CREATE, TYPE_GET};
use keyhaven_proto::cose::{CoseKey, KeyParams};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    keyhaven_testkit::vectors::all()
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    b64::decode(v[key].as_str().unwrap_or_else(|| panic!("{key} missing"))).expect("base64url")
}

fn check_flags(id: &str, flags: keyhaven_proto::authdata::Flags, expected: &Value) {
    assert_eq!(
        u64::from(flags.0),
        expected["byte"].as_u64().unwrap(),
        "{id}: flags byte"
    );
    for (name, got) in [
        ("up", flags.up()),
        ("uv", flags.uv()),
        ("be", flags.be()),
        ("bs", flags.bs()),
        ("at", flags.at()),
        ("ed", flags.ed()),
    ] {
        assert_eq!(got, expected[name].as_bool().unwrap(), "{id}: flag {name}");
    }
}

fn check_client_data(v: &Value, expected_type: &str) {
    let id = v["id"].as_str().unwrap();
    let raw = bytes(v, "client_data_json_b64url");
    let cd = CollectedClientData::from_json_bytes(&raw).unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(cd.type_, expected_type, "{id}");
    assert_eq!(
        cd.challenge_bytes().unwrap(),
        bytes(v, "challenge_b64url"),
        "{id}: challenge"
    );
    assert_eq!(cd.origin, v["origin"].as_str().unwrap(), "{id}: origin");
    assert_eq!(
        cd.cross_origin,
        v["cross_origin"].as_bool(),
        "{id}: crossOrigin"
    );
    assert_eq!(
        cd.top_origin.as_deref(),
        v["top_origin"].as_str(),
        "{id}: topOrigin"
    );
    assert_eq!(
        cd.to_json_bytes(),
        raw,
        "{id}: clientDataJSON must re-serialize byte-exactly"
    );
}

fn check_cose(id: &str, key: &CoseKey, expected: &Value) {
    assert_eq!(key.alg.id(), expected["alg"].as_i64().unwrap(), "{id}: alg");
    assert_eq!(
        key.key_type().id(),
        expected["kty"].as_i64().unwrap(),
        "{id}: kty"
    );
    let b = |k: &str| b64::decode(expected[k].as_str().unwrap()).unwrap();
    match &key.params {
        KeyParams::Ec2 { curve, x, y } => {
            assert_eq!(curve.id(), expected["crv"].as_i64().unwrap(), "{id}: crv");
            assert_eq!(*x, b("x_b64url"), "{id}: x");
            assert_eq!(*y, b("y_b64url"), "{id}: y");
        }
        KeyParams::Okp { curve, x } => {
            assert_eq!(curve.id(), expected["crv"].as_i64().unwrap(), "{id}: crv");
            assert_eq!(*x, b("x_b64url"), "{id}: x");
        }
        KeyParams::Rsa { n, e } => {
            assert_eq!(*n, b("n_b64url"), "{id}: n");
            assert_eq!(*e, b("e_b64url"), "{id}: e");
        }
        // The W3C vectors have no ML-DSA credential.
        KeyParams::Akp { .. } => panic!("{id}: an AKP key in the W3C vectors"),
    }
    assert!(key.to_spki_der().is_some());
}

#[test]
fn registration_vectors() {
    let all = vectors();
    let regs: Vec<&Value> = all.iter().filter(|v| v["kind"] == "registration").collect();
    assert_eq!(regs.len(), 16, "15 registrations + 1 L3-CR variant");
    for v in regs {
        let id = v["id"].as_str().unwrap();
        let exp = &v["expected"];
        let raw = bytes(v, "attestation_object_b64url");
        let ao = AttestationObject::from_bytes(&raw).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            ao.to_bytes(),
            raw,
            "{id}: attestationObject must re-serialize byte-exactly"
        );
        assert_eq!(ao.fmt, exp["fmt"].as_str().unwrap(), "{id}: fmt");
        assert_eq!(
            ao.att_stmt.as_map().unwrap().len(),
            exp["attestation_statement"]["fields"]
                .as_array()
                .unwrap()
                .len(),
            "{id}: attStmt members"
        );
        for field in exp["attestation_statement"]["fields"].as_array().unwrap() {
            assert!(
                ao.att_stmt.get_text(field.as_str().unwrap()).is_some(),
                "{id}: attStmt.{field}"
            );
        }
        if let Some(x5c_len) = exp["attestation_statement"]["x5c_len"]
            .as_u64()
            .filter(|n| *n > 0)
        {
            let x5c = ao
                .att_stmt
                .get_text("x5c")
                .and_then(|x| x.as_array())
                .unwrap();
            assert_eq!(x5c.len() as u64, x5c_len, "{id}: x5c length");
        }
        let ad = &ao.auth_data;
        assert_eq!(
            ad.to_bytes(),
            ao.auth_data_raw,
            "{id}: authData must re-serialize byte-exactly"
        );
        assert_eq!(ad.rp_id_hash, EXAMPLE_ORG_HASH, "{id}: rpIdHash");
        check_flags(id, ad.flags, &exp["flags"]);
        assert_eq!(
            u64::from(ad.sign_count),
            exp["sign_count"].as_u64().unwrap(),
            "{id}: signCount"
        );
        let acd = ad.attested_credential_data.as_ref().expect("AT");
        assert_eq!(
            acd.aaguid,
            Aaguid::parse(exp["aaguid"].as_str().unwrap()).unwrap(),
            "{id}: aaguid"
        );
        assert_eq!(acd.aaguid.to_string(), exp["aaguid"].as_str().unwrap());
        assert_eq!(
            acd.credential_id,
            bytes(v, "credential_id_b64url"),
            "{id}: credentialId"
        );
        assert_eq!(
            acd.credential_id.len() as u64,
            exp["credential_id_length"].as_u64().unwrap()
        );
        assert_eq!(
            acd.credential_public_key.alg.id(),
            exp["credential_alg"].as_i64().unwrap(),
            "{id}: alg"
        );
        let cose_raw = bytes(v, "credential_public_key_cose_b64url");
        assert_eq!(
            acd.credential_public_key.to_bytes(),
            cose_raw,
            "{id}: COSE key bytes"
        );
        let key = CoseKey::from_bytes(&cose_raw).unwrap_or_else(|e| panic!("{id}: {e}"));
        check_cose(id, &key, &v["credential_public_key"]);
        check_client_data(v, TYPE_CREATE);
    }
}

#[test]
fn authentication_vectors() {
    let all = vectors();
    let auths: Vec<&Value> = all
        .iter()
        .filter(|v| v["kind"] == "authentication")
        .collect();
    assert_eq!(auths.len(), 15);
    for v in auths {
        let id = v["id"].as_str().unwrap();
        let exp = &v["expected"];
        let raw = bytes(v, "authenticator_data_b64url");
        let ad = AuthenticatorData::from_bytes(&raw).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            ad.to_bytes(),
            raw,
            "{id}: authenticatorData must re-serialize byte-exactly"
        );
        assert_eq!(ad.rp_id_hash, EXAMPLE_ORG_HASH, "{id}: rpIdHash");
        check_flags(id, ad.flags, &exp["flags"]);
        assert_eq!(
            u64::from(ad.sign_count),
            exp["sign_count"].as_u64().unwrap()
        );
        assert!(ad.attested_credential_data.is_none());
        let key = CoseKey::from_bytes(&bytes(v, "credential_public_key_cose_b64url")).unwrap();
        assert_eq!(
            key.alg.id(),
            exp["signature_alg"].as_i64().unwrap(),
            "{id}: signature alg"
        );
        check_cose(id, &key, &v["credential_public_key"]);
        assert!(!bytes(v, "signature_b64url").is_empty());
        check_client_data(v, TYPE_GET);
    }
}

/// SHA-256("example.org"), the vectors' rpIdHash (computed with Python's hashlib).
const EXAMPLE_ORG_HASH: [u8; 32] = [
    191, 171, 195, 116, 50, 149, 139, 6, 51, 96, 211, 173, 100, 97, 201, 196, 115, 90, 231, 248,
    237, 212, 101, 146, 165, 224, 240, 20, 82, 178, 228, 181,
];
