//! CXF export and import of the store: every field and extension across a
//! round trip, what an export leaves out, a document written by hand from
//! the spec's shapes, and each refusal, after which the store is unchanged.

use credential_exchange_format as cx;
use keyhaven_authenticator::cxf::{self, CxfError, ExportOptions, ImportOptions};
use keyhaven_authenticator::{CredentialStore, MemoryStore, StoredCredential};
use keyhaven_crypto::signature::SigningKey;
use keyhaven_crypto::SecretBytes;
use keyhaven_ctap::large_blob;
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::ctap2::types::UserEntity;
use serde_json::{json, Value};

fn cred(n: u8, alg: CoseAlgorithm, rp: &str) -> StoredCredential {
    let key = SigningKey::generate(alg).unwrap();
    StoredCredential {
        id: vec![n; 16 + n as usize],
        rp_id: rp.into(),
        rp_id_hash: keyhaven_crypto::digest::sha256(rp.as_bytes()),
        user: UserEntity {
            id: vec![0x40 + n; 32],
            name: Some(format!("user{n}@{rp}")),
            display_name: Some(format!("User {n}")),
        },
        alg: alg.id(),
        private_key: key.to_private_bytes().unwrap(),
        sign_count: 0,
        discoverable: true,
        cred_protect: 1,
        cred_random: None,
        cred_blob: None,
        large_blob_key: None,
        third_party_payment: false,
        created: u64::from(n),
        fixed_counter: false,
    }
}

fn public_key(c: &StoredCredential) -> keyhaven_proto::cose::CoseKey {
    let alg = CoseAlgorithm::from_id(c.alg).unwrap();
    SigningKey::from_private_bytes(alg, c.private_key.expose())
        .unwrap()
        .public_key()
}

/// A store with one passkey of each algorithm family, one with every
/// extension, one whose counter moved and one U2F credential.
fn source() -> (MemoryStore, Vec<StoredCredential>) {
    let mut s = MemoryStore::new(20);
    let mut full = cred(1, CoseAlgorithm::Es256, "example.org");
    full.cred_random = Some((
        SecretBytes::new(vec![0xA1; 32]),
        SecretBytes::new(vec![0xB2; 32]),
    ));
    full.cred_blob = Some(b"cred blob".to_vec());
    full.large_blob_key = Some(SecretBytes::new(vec![0x33; 32]));
    full.third_party_payment = true;
    let others = vec![
        full,
        cred(2, CoseAlgorithm::EdDsa, "login.example.com"),
        cred(3, CoseAlgorithm::Rs256, "example.net"),
        cred(4, CoseAlgorithm::MlDsa65, "pq.example"),
        cred(5, CoseAlgorithm::Es384, "example.org"),
    ];
    for c in &others {
        s.put(c.clone()).unwrap();
    }
    // The large blob of credential 1, beside a blob of no credential here.
    let array = large_blob::serialize_array(vec![
        large_blob::seal_entry(&[0x99; 32], b"someone else's").unwrap(),
        large_blob::seal_entry(&[0x33; 32], &b"a large blob ".repeat(20)).unwrap(),
    ]);
    s.set_large_blob_array(array).unwrap();
    let mut counting = cred(6, CoseAlgorithm::Es256, "example.org");
    counting.sign_count = 3;
    s.put(counting).unwrap();
    let mut u2f = cred(7, CoseAlgorithm::Es256, "");
    u2f.rp_id_hash = [7; 32];
    u2f.discoverable = false;
    s.put(u2f).unwrap();
    (s, others)
}

fn passkeys(doc: &cxf::Document) -> Vec<cx::PasskeyCredential> {
    doc.accounts
        .iter()
        .flat_map(|a| &a.items)
        .flat_map(|i| &i.credentials)
        .filter_map(|c| match c {
            cx::Credential::Passkey(p) => Some((**p).clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn round_trip_keeps_every_field_and_extension() {
    let (from, originals) = source();
    let export = cxf::export(&from, &ExportOptions::new(1_767_225_600)).unwrap();
    assert_eq!(
        (
            export.exported,
            export.excluded_counting,
            export.excluded_u2f
        ),
        (5, 1, 1)
    );
    assert!(format!("{export:?}").contains("REDACTED"));
    let doc = &export.document;
    assert_eq!((doc.version.major, doc.version.minor), (1, 0));
    assert_eq!(doc.timestamp, 1_767_225_600);
    let pks = passkeys(doc);
    assert_eq!(pks.len(), 5);
    // The first passkey's extensions, as CXF names them.
    let ext = pks[0].fido2_extensions.as_ref().unwrap();
    let h = ext.hmac_credentials.as_ref().unwrap();
    assert_eq!(h.cred_without_uv.as_ref(), [0xA1; 32]);
    assert_eq!(h.cred_with_uv.as_ref(), [0xB2; 32]);
    assert_eq!(ext.cred_blob.as_ref().unwrap().as_ref(), b"cred blob");
    let lb = ext.large_blob.as_ref().unwrap();
    assert_eq!(lb.uncompressed_size, 260);
    assert_eq!(
        large_blob::inflate_exact(lb.data.as_ref(), 260).unwrap(),
        b"a large blob ".repeat(20)
    );
    assert_eq!(ext.payments, Some(true));
    assert!(pks[1].fido2_extensions.is_none());
    // The JSON is CXF's: camelCase members, base64url, a "passkey" type.
    let json: Value = serde_json::from_slice(cxf::to_json(doc).unwrap().expose()).unwrap();
    let first = &json["accounts"][0]["items"][0]["credentials"][0];
    assert_eq!(first["type"], "passkey");
    assert_eq!(first["rpId"], "example.org");
    assert_eq!(
        first["fido2Extensions"]["hmacCredentials"]["algorithm"],
        "hmac-sha256"
    );
    assert!(first["fido2Extensions"]["hmacCredentials"]["credWithUV"].is_string());
    assert_eq!(json["version"], json!({"major": 1, "minor": 0}));

    // Into a fresh store, through the JSON text.
    let mut to = MemoryStore::new(20);
    let parsed = cxf::parse(cxf::to_json(doc).unwrap().expose()).unwrap();
    let report = cxf::import(&mut to, &parsed, &ImportOptions::default()).unwrap();
    assert_eq!((report.imported, report.skipped_other), (5, 0));
    let array = large_blob::parse_array(&to.large_blob_array().unwrap().unwrap());
    for o in &originals {
        let c = to.get(&o.id).unwrap().unwrap();
        assert_eq!(c.rp_id, o.rp_id);
        assert_eq!(c.rp_id_hash, o.rp_id_hash);
        assert_eq!(c.user, o.user);
        assert_eq!(public_key(&c), public_key(o), "the same key");
        assert_eq!(
            (c.sign_count, c.fixed_counter, c.discoverable),
            (0, true, true)
        );
        assert_eq!(
            c.cred_random
                .as_ref()
                .map(|(a, b)| (a.expose().to_vec(), b.expose().to_vec())),
            o.cred_random
                .as_ref()
                .map(|(a, b)| (a.expose().to_vec(), b.expose().to_vec()))
        );
        assert_eq!(c.cred_blob, o.cred_blob);
        assert_eq!(c.third_party_payment, o.third_party_payment);
        // The large blob under a new key of its own.
        match &o.large_blob_key {
            Some(old) => {
                let new = c.large_blob_key.as_ref().unwrap();
                assert_ne!(new.expose(), old.expose());
                let blob = array
                    .iter()
                    .find_map(|e| large_blob::open_entry(e, new.expose()));
                assert_eq!(blob.unwrap(), b"a large blob ".repeat(20));
            }
            None => assert!(c.large_blob_key.is_none()),
        }
    }
    assert_eq!(array.len(), 1, "only the exported credential's blob");
    // ML-DSA moves as its seed.
    let pq = to.get(&originals[3].id).unwrap().unwrap();
    assert_eq!(pq.private_key.expose(), originals[3].private_key.expose());
    // Exporting the imported store again gives the same passkeys.
    let again = cxf::export(&to, &ExportOptions::new(0)).unwrap();
    assert_eq!(again.exported, 5);
}

/// A document written by hand from the shapes of CXF v1.0 (Header, Account,
/// Item, PasskeyCredential, Fido2Extensions), with a password and a note
/// beside the passkey. Its P-256 key is PKCS#8 made for this test.
fn hand_written(key_b64: &str) -> Value {
    json!({
        "version": {"major": 1, "minor": 0},
        "exporterRpId": "exporter.example",
        "exporterDisplayName": "Example Password Manager",
        "timestamp": 1_760_000_000u64,
        "accounts": [{
            "id": "YWNjb3VudC0x",
            "username": "jdoe",
            "email": "jdoe@example.com",
            "collections": [],
            "items": [
                {
                    "id": "aXRlbS0x",
                    "title": "Example Shop",
                    "creationAt": 1_700_000_000u64,
                    "credentials": [
                        {"type": "basic-auth", "username": {"fieldType": "string", "value": "jdoe"},
                         "password": {"fieldType": "concealed-string", "value": "hunter2"}},
                        {"type": "passkey",
                         "credentialId": "Y3JlZGVudGlhbC0x",
                         "rpId": "shop.example",
                         "username": "jdoe",
                         "userDisplayName": "John Doe",
                         "userHandle": "dXNlci1oYW5kbGUtMQ",
                         "key": key_b64,
                         "fido2Extensions": {
                             "hmacCredentials": {"algorithm": "hmac-sha256",
                                 "credWithUV": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
                                 "credWithoutUV": "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"},
                             "credBlob": "YmxvYg"
                         }}
                    ]
                },
                {
                    "id": "aXRlbS0y",
                    "title": "A note",
                    "credentials": [{"type": "note", "content": {"fieldType": "string", "value": "hello"}}]
                }
            ]
        }]
    })
}

fn p256_pkcs8() -> (String, SigningKey) {
    let k = SigningKey::generate(CoseAlgorithm::Es256).unwrap();
    (
        keyhaven_proto::b64::encode(k.to_pkcs8().unwrap().expose()),
        k,
    )
}

#[test]
fn a_hand_written_document_imports_its_passkey_and_passes_over_the_rest() {
    let (key, k) = p256_pkcs8();
    let text = hand_written(&key).to_string();
    let mut to = MemoryStore::new(5);
    let doc = cxf::parse(text.as_bytes()).unwrap();
    let report = cxf::import(&mut to, &doc, &ImportOptions::default()).unwrap();
    assert_eq!((report.imported, report.skipped_other), (1, 2));
    let c = to.get(b"credential-1").unwrap().unwrap();
    assert_eq!(c.rp_id, "shop.example");
    assert_eq!(c.user.id, b"user-handle-1");
    assert_eq!(c.user.name.as_deref(), Some("jdoe"));
    assert_eq!(c.user.display_name.as_deref(), Some("John Doe"));
    assert_eq!(c.alg, CoseAlgorithm::Es256.id());
    assert_eq!(public_key(&c), k.public_key());
    let (without, with) = c.cred_random.as_ref().unwrap();
    assert_eq!(
        (without.expose(), with.expose()),
        ([2u8; 32].as_slice(), [1u8; 32].as_slice())
    );
    assert_eq!(c.cred_blob.as_deref(), Some(b"blob".as_slice()));
}

/// Imports `doc` into a store holding one credential and a large-blob array,
/// expects `want` (its message), and checks the store did not change.
fn refused(doc: Value, want: &str) {
    let mut s = MemoryStore::new(3);
    let mut existing = cred(9, CoseAlgorithm::Es256, "shop.example");
    existing.id = b"already-here".to_vec();
    s.put(existing).unwrap();
    let array = large_blob::serialize_array(vec![large_blob::seal_entry(&[5; 32], b"x").unwrap()]);
    s.set_large_blob_array(array.clone()).unwrap();
    let err = cxf::parse(doc.to_string().as_bytes())
        .and_then(|d| cxf::import(&mut s, &d, &ImportOptions::default()))
        .unwrap_err();
    assert_eq!(err.to_string(), want);
    assert_eq!(s.all().unwrap().len(), 1, "nothing imported after: {want}");
    assert_eq!(s.large_blob_array().unwrap().unwrap(), array);
}

#[test]
fn bad_documents_are_refused_whole_and_change_nothing() {
    let (key, _) = p256_pkcs8();
    let base = hand_written(&key);
    let pk = "/accounts/0/items/0/credentials/1";
    // `base` with the member at `path` set (added if absent).
    let with = |path: &str, v: Value| {
        let mut d = base.clone();
        let (parent, key) = path.rsplit_once('/').unwrap();
        d.pointer_mut(parent).unwrap()[key] = v;
        d
    };
    let at = "accounts[0].items[0].credentials[1] (shop.example)";
    refused(
        with("/version/major", json!(2)),
        "CXF version 2.0: this importer reads version 1",
    );
    refused(
        with(&format!("{pk}/credentialId"), json!("YWxyZWFkeS1oZXJl")),
        "accounts[0].items[0].credentials[1]: credential YWxyZWFkeS1oZXJl for shop.example is already in the store",
    );
    refused(
        with(&format!("{pk}/key"), json!("MAMCAQA")),
        &format!("{at}: key: invalid private key: PKCS#8 of no algorithm keyhaven signs with (P-256, P-384, P-521, Ed25519, RSA, ML-DSA)"),
    );
    refused(
        with(&format!("{pk}/rpId"), json!("Shop.Example")),
        "accounts[0].items[0].credentials[1] (Shop.Example): rpId \"Shop.Example\" is not a lowercase ASCII domain name",
    );
    refused(
        with(&format!("{pk}/userHandle"), json!("")),
        &format!("{at}: userHandle: 0 bytes (1 to 64)"),
    );
    refused(
        with(
            &format!("{pk}/userHandle"),
            json!(keyhaven_proto::b64::encode(&[1u8; 65])),
        ),
        &format!("{at}: userHandle: 65 bytes (1 to 64)"),
    );
    refused(
        with(
            &format!("{pk}/fido2Extensions/hmacCredentials/credWithUV"),
            json!("AQID"),
        ),
        &format!(
            "{at}: hmacCredentials: credWithUV and credWithoutUV must be 32 bytes (found 3 and 32)"
        ),
    );
    refused(
        with(
            &format!("{pk}/fido2Extensions/hmacCredentials/algorithm"),
            json!("hmac-sha512"),
        ),
        &format!("{at}: hmacCredentials: an algorithm other than hmac-sha256"),
    );
    refused(
        with(
            &format!("{pk}/fido2Extensions/credBlob"),
            json!(keyhaven_proto::b64::encode(&[0u8; 33])),
        ),
        &format!("{at}: credBlob: 33 bytes; this authenticator keeps at most 32"),
    );
    refused(
        with(
            &format!("{pk}/fido2Extensions/largeBlob"),
            json!({"uncompressedSize": 10, "data": "AAAA"}),
        ),
        &format!("{at}: largeBlob: the data does not inflate (DEFLATE) to its uncompressedSize 10"),
    );
    // A credential ID that is not base64url: the passkey does not read.
    let e = {
        let mut s = MemoryStore::new(3);
        let d = cxf::parse(
            with(&format!("{pk}/credentialId"), json!("not base64url!"))
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        cxf::import(&mut s, &d, &ImportOptions::default())
            .unwrap_err()
            .to_string()
    };
    assert!(
        e.starts_with("accounts[0].items[0].credentials[1]: not a valid passkey: "),
        "{e}"
    );
    // The same passkey twice; a good one before a bad one: nothing stored.
    let mut twice = base.clone();
    let item = twice["accounts"][0]["items"][0].clone();
    twice["accounts"][0]["items"]
        .as_array_mut()
        .unwrap()
        .push(item);
    refused(
        twice,
        "accounts[0].items[2].credentials[1]: credential Y3JlZGVudGlhbC0x appears twice in the document",
    );
    let mut good_then_bad = base.clone();
    let mut bad = base["accounts"][0]["items"][0].clone();
    bad["credentials"][1]["credentialId"] = json!("b3RoZXI");
    bad["credentials"][1]["key"] = json!("MAMCAQA");
    good_then_bad["accounts"][0]["items"]
        .as_array_mut()
        .unwrap()
        .push(bad);
    refused(
        good_then_bad,
        "accounts[0].items[2].credentials[1] (shop.example): key: invalid private key: PKCS#8 of no algorithm keyhaven signs with (P-256, P-384, P-521, Ed25519, RSA, ML-DSA)",
    );
    // Large blobs past the authenticator's 4096-byte array.
    let mut blobs = base.clone();
    let incompressible = keyhaven_crypto::rand::vec(1500).unwrap();
    let data = miniz_oxide_deflate(&incompressible);
    for n in 0..3 {
        let mut item = base["accounts"][0]["items"][0].clone();
        item["credentials"][1]["credentialId"] = json!(keyhaven_proto::b64::encode(&[n; 20]));
        item["credentials"][1]["fido2Extensions"]["largeBlob"] = json!({"uncompressedSize": incompressible.len(), "data": keyhaven_proto::b64::encode(&data)});
        blobs["accounts"][0]["items"]
            .as_array_mut()
            .unwrap()
            .push(item);
    }
    let e = {
        let mut s = MemoryStore::new(10);
        let d = cxf::parse(blobs.to_string().as_bytes()).unwrap();
        cxf::import(&mut s, &d, &ImportOptions::default()).unwrap_err()
    };
    assert!(
        matches!(e, CxfError::LargeBlobsTooLarge { needed } if needed > 4096),
        "{e}"
    );
    // Not JSON; not a CXF header; too large.
    refused(
        json!("a string"),
        "not a CXF document: invalid type: string \"a string\", expected struct Header at line 1 column 10",
    );
    refused(
        json!({"version": {"major": 1, "minor": 0}}),
        "not a CXF document: missing field `exporterRpId` at line 1 column 33",
    );
    assert!(matches!(
        cxf::parse(&vec![b' '; cxf::MAX_DOCUMENT + 1]),
        Err(CxfError::TooLarge)
    ));
    // More passkeys than the store holds: refused, nothing stored.
    let mut many = base.clone();
    for n in 0..5u8 {
        let mut item = base["accounts"][0]["items"][0].clone();
        item["credentials"][1]["credentialId"] = json!(keyhaven_proto::b64::encode(&[n + 100; 20]));
        many["accounts"][0]["items"]
            .as_array_mut()
            .unwrap()
            .push(item);
    }
    refused(many, "credential store: credential store is full");
}

/// DEFLATE through the same code the large-blob entries use.
fn miniz_oxide_deflate(data: &[u8]) -> Vec<u8> {
    let entry = large_blob::seal_entry(&[1; 32], data).unwrap();
    large_blob::open_entry_compressed(&entry, &[1; 32])
        .unwrap()
        .0
}

/// CXF has no member for credProtect: an export counts the passkeys whose
/// level it cannot carry, the importer gives every passkey the level it is
/// asked for, and a level CTAP does not define is refused with the store
/// unchanged.
#[test]
fn the_credprotect_level_is_the_importers_choice_and_an_export_counts_what_it_loses() {
    let mut s = MemoryStore::new(5);
    for (n, level) in [(1u8, 1u8), (2, 2), (3, 3)] {
        let mut c = cred(n, CoseAlgorithm::Es256, "example.org");
        c.cred_protect = level;
        s.put(c).unwrap();
    }
    let export = cxf::export(&s, &ExportOptions::new(0)).unwrap();
    assert_eq!((export.exported, export.protected), (3, 2));
    let text = cxf::to_json(&export.document).unwrap();
    let doc = cxf::parse(text.expose()).unwrap();
    for level in [1u8, 2, 3] {
        let mut to = MemoryStore::new(5);
        let options = ImportOptions {
            cred_protect: level,
            ..Default::default()
        };
        assert_eq!(cxf::import(&mut to, &doc, &options).unwrap().imported, 3);
        let levels: Vec<u8> = to.all().unwrap().iter().map(|c| c.cred_protect).collect();
        assert_eq!(levels, [level; 3]);
    }
    for level in [0u8, 4] {
        let mut to = MemoryStore::new(5);
        let options = ImportOptions {
            cred_protect: level,
            ..Default::default()
        };
        let e = cxf::import(&mut to, &doc, &options).unwrap_err();
        assert!(
            matches!(e, CxfError::CredProtectLevel(l) if l == level),
            "{e}"
        );
        assert!(to.all().unwrap().is_empty());
    }
}
