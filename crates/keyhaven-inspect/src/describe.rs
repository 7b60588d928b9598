//! Describing each kind as an ordered JSON tree. Errors are the decoders' own
//! one-line messages (they carry byte offsets where there is one).

use crate::Kind;
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::authdata::AuthenticatorData;
use keyhaven_proto::cbor::{self, CborPolicy, Value};
use keyhaven_proto::client_data::CollectedClientData;
use keyhaven_proto::cose::{algorithm_name, CoseKey, KeyParams};
use keyhaven_proto::ctap2::{Command, Request, Response, StatusCode};
use keyhaven_proto::json::{
    AuthenticationResponseJson, CreationOptionsJson, CredentialDescriptorJson,
    PublicKeyCredentialJson, RegistrationResponseJson, RequestOptionsJson,
};
use serde_json::{json, Map, Value as Json};

pub(crate) fn hex(b: &[u8]) -> String {
    hex::encode(b)
}

fn bytes_json(b: &[u8]) -> Json {
    json!({ "length": b.len(), "hex": hex(b) })
}

/// Decodes under the strict (CTAP2 canonical) policy; when only the canonical
/// form is violated, decodes as well-formed CBOR and says so in a note, as a
/// relying party's default policy accepts it.
fn canonical_or_note<T, E: std::fmt::Display>(
    decode: impl Fn(CborPolicy) -> Result<T, E>,
) -> Result<(T, Option<String>), String> {
    match decode(CborPolicy::Strict) {
        Ok(v) => Ok((v, None)),
        Err(strict) => match decode(CborPolicy::Interoperable) {
            Ok(v) => Ok((
                v,
                Some(format!(
                    "not canonical: {strict}; decoded as well-formed CBOR, \
                     which relying parties accept by default and refuse with --strict-cbor"
                )),
            )),
            Err(_) => Err(strict.to_string()),
        },
    }
}

/// `described` with the note, if any, as its first member.
fn with_note(described: Json, note: Option<String>) -> Json {
    match (described, note) {
        (Json::Object(m), Some(n)) => {
            let mut out = Map::new();
            out.insert("note".into(), json!(n));
            out.extend(m);
            Json::Object(out)
        }
        (d, _) => d,
    }
}

fn auth_data_noted(bytes: &[u8]) -> Result<Json, String> {
    let (ad, note) = canonical_or_note(|p| AuthenticatorData::from_bytes_with(bytes, p))?;
    Ok(with_note(auth_data(&ad), note))
}

fn attestation_object_noted(bytes: &[u8]) -> Result<Json, String> {
    let (ao, note) = canonical_or_note(|p| AttestationObject::from_bytes_with(bytes, p))?;
    Ok(with_note(attestation_object(&ao), note))
}

/// Describes `bytes` as `kind`.
pub(crate) fn describe(kind: Kind, bytes: &[u8]) -> Result<Json, String> {
    match kind {
        Kind::AuthenticatorData => auth_data_noted(bytes),
        Kind::AttestationObject => attestation_object_noted(bytes),
        Kind::ClientDataJson => client_data(bytes),
        Kind::CoseKey => {
            let (k, note) = canonical_or_note(|p| CoseKey::from_bytes_with(bytes, p))?;
            Ok(with_note(cose_key(&k), note))
        }
        Kind::CtapRequest => ctap_request(bytes),
        Kind::CtapResponse => ctap_response(bytes),
        Kind::RegistrationResponseJson => registration_response(bytes),
        Kind::AuthenticationResponseJson => authentication_response(bytes),
        Kind::CreationOptionsJson => creation_options(bytes),
        Kind::RequestOptionsJson => request_options(bytes),
    }
}

pub(crate) fn auth_data(ad: &AuthenticatorData) -> Json {
    let mut m = Map::new();
    m.insert("rpIdHash".into(), json!(hex(&ad.rp_id_hash)));
    m.insert(
        "flags".into(),
        json!({
            "byte": format!("0x{:02x}", ad.flags.0),
            "set": ad.flags.names().join(" "),
            "userPresent": ad.flags.up(),
            "userVerified": ad.flags.uv(),
            "backupEligible": ad.flags.be(),
            "backedUp": ad.flags.bs(),
            "attestedCredentialData": ad.flags.at(),
            "extensionData": ad.flags.ed(),
            "reservedBitsSet": ad.flags.has_reserved(),
        }),
    );
    m.insert("signCount".into(), json!(ad.sign_count));
    if let Some(acd) = &ad.attested_credential_data {
        m.insert(
            "attestedCredentialData".into(),
            json!({
                "aaguid": acd.aaguid.to_string(),
                "credentialIdLength": acd.credential_id.len(),
                "credentialId": keyhaven_proto::b64::encode(&acd.credential_id),
                "credentialPublicKey": cose_key(&acd.credential_public_key),
            }),
        );
    }
    if let Some(ext) = &ad.extensions {
        m.insert("extensions".into(), cbor_json(ext));
    }
    Json::Object(m)
}

pub(crate) fn cose_key(k: &CoseKey) -> Json {
    let mut m = Map::new();
    m.insert(
        "kty".into(),
        json!(format!("{} ({})", k.key_type().name(), k.key_type().id())),
    );
    m.insert("alg".into(), json!(k.alg.to_string()));
    match &k.params {
        KeyParams::Ec2 { curve, x, y } => {
            m.insert(
                "crv".into(),
                json!(format!("{} ({})", curve.name(), curve.id())),
            );
            m.insert("x".into(), json!(hex(x)));
            m.insert("y".into(), json!(hex(y)));
        }
        KeyParams::Okp { curve, x } => {
            m.insert(
                "crv".into(),
                json!(format!("{} ({})", curve.name(), curve.id())),
            );
            m.insert("x".into(), json!(hex(x)));
        }
        KeyParams::Rsa { n, e } => {
            m.insert("modulusBits".into(), json!(k.describe()));
            m.insert("n".into(), json!(hex(n)));
            m.insert("e".into(), json!(hex(e)));
        }
        KeyParams::Akp { public } => {
            m.insert("pubBytes".into(), json!(public.len()));
            m.insert("pub".into(), json!(hex(public)));
        }
    }
    for (label, v) in &k.extra {
        m.insert(format!("label {label}"), cbor_json(v));
    }
    if let Some(spki) = k.to_spki_der() {
        m.insert("subjectPublicKeyInfo".into(), json!(hex(&spki)));
    }
    Json::Object(m)
}

fn attestation_object(ao: &AttestationObject) -> Json {
    json!({
        "fmt": ao.fmt,
        "attStmt": att_stmt(&ao.att_stmt),
        "authData": auth_data(&ao.auth_data),
    })
}

fn att_stmt(stmt: &Value) -> Json {
    let mut m = Map::new();
    for (k, v) in stmt.as_map().unwrap_or(&[]) {
        let key = k
            .as_text()
            .map(str::to_owned)
            .unwrap_or_else(|| k.to_string());
        let desc = match (key.as_str(), v) {
            ("alg", _) => v
                .as_i64()
                .map(|a| json!(format!("{} ({a})", algorithm_name(a))))
                .unwrap_or_else(|| cbor_json(v)),
            ("x5c", Value::Array(certs)) => Json::Array(
                certs
                    .iter()
                    .map(|c| {
                        c.as_bytes()
                            .map(certificate)
                            .unwrap_or_else(|| cbor_json(c))
                    })
                    .collect(),
            ),
            ("attStmt", Value::Array(items)) => {
                // compound: an array of {fmt, attStmt} maps.
                Json::Array(
                    items
                        .iter()
                        .map(|i| {
                            json!({
                                "fmt": i.get_text("fmt").map(cbor_json).unwrap_or(Json::Null),
                                "attStmt": i.get_text("attStmt").map(att_stmt).unwrap_or(Json::Null),
                            })
                        })
                        .collect(),
                )
            }
            _ => cbor_json(v),
        };
        m.insert(key, desc);
    }
    Json::Object(m)
}

/// Subject, issuer, validity and key of an X.509 certificate.
fn certificate(der: &[u8]) -> Json {
    use x509_parser::prelude::*;
    match parse_x509_certificate(der) {
        Ok((rest, cert)) => {
            let mut m = Map::new();
            m.insert("subject".into(), json!(cert.subject().to_string()));
            m.insert("issuer".into(), json!(cert.issuer().to_string()));
            m.insert("serialNumber".into(), json!(hex(cert.raw_serial())));
            m.insert("version".into(), json!(cert.version().0 + 1));
            m.insert(
                "notBefore".into(),
                json!(cert.validity().not_before.to_string()),
            );
            m.insert(
                "notAfter".into(),
                json!(cert.validity().not_after.to_string()),
            );
            m.insert(
                "publicKeyAlgorithm".into(),
                json!(oid_name(
                    &cert.public_key().algorithm.algorithm.to_id_string()
                )),
            );
            m.insert(
                "signatureAlgorithm".into(),
                json!(oid_name(&cert.signature_algorithm.algorithm.to_id_string())),
            );
            if let Ok(Some(bc)) = cert.basic_constraints() {
                m.insert("basicConstraintsCA".into(), json!(bc.value.ca));
            }
            for ext in cert.extensions() {
                // FIDO AAGUID extension id-fido-gen-ce-aaguid (1.3.6.1.4.1.45724.1.1.4).
                if ext.oid.to_id_string() == "1.3.6.1.4.1.45724.1.1.4" {
                    let v = ext.value;
                    let aaguid = if v.len() == 18 && v[0] == 0x04 && v[1] == 16 {
                        &v[2..]
                    } else {
                        v
                    };
                    m.insert("fidoAaguidExtension".into(), json!(hex(aaguid)));
                }
            }
            m.insert(
                "extensions".into(),
                Json::Array(
                    cert.extensions()
                        .iter()
                        .map(|e| json!(oid_name(&e.oid.to_id_string())))
                        .collect(),
                ),
            );
            m.insert("sha256Fingerprint".into(), json!(hex(&sha256(der))));
            if !rest.is_empty() {
                m.insert("trailingBytes".into(), json!(rest.len()));
            }
            Json::Object(m)
        }
        Err(e) => json!({ "unparsedCertificate": bytes_json(der), "error": e.to_string() }),
    }
}

/// Well-known object identifiers in attestation certificates, by dotted form.
fn oid_name(oid: &str) -> String {
    let name = match oid {
        "1.2.840.10045.2.1" => "ecPublicKey",
        "1.2.840.113549.1.1.1" => "rsaEncryption",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "2.5.29.14" => "subjectKeyIdentifier",
        "2.5.29.15" => "keyUsage",
        "2.5.29.17" => "subjectAltName",
        "2.5.29.19" => "basicConstraints",
        "2.5.29.35" => "authorityKeyIdentifier",
        "2.5.29.37" => "extKeyUsage",
        "1.3.6.1.4.1.45724.1.1.4" => "id-fido-gen-ce-aaguid",
        "1.3.6.1.4.1.45724.2.1.1" => "id-fido-u2f-ce-transports",
        "1.3.6.1.4.1.11129.2.1.17" => "android key attestation",
        "1.2.840.113635.100.8.2" => "apple anonymous attestation nonce",
        "2.23.133.8.3" => "tcg-kp-AIKCertificate",
        _ => return oid.to_owned(),
    };
    format!("{name} ({oid})")
}

/// A generic CBOR item as JSON: byte strings as hex, integer keys as text.
pub(crate) fn cbor_json(v: &Value) -> Json {
    match v {
        Value::Unsigned(n) => json!(n),
        Value::Negative(_) => v
            .as_i64()
            .map(|n| json!(n))
            .unwrap_or_else(|| json!(v.to_string())),
        Value::Bytes(b) => bytes_json(b),
        Value::Text(t) => json!(t),
        Value::Array(items) => Json::Array(items.iter().map(cbor_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_text()
                            .map(str::to_owned)
                            .unwrap_or_else(|| k.to_string()),
                        cbor_json(v),
                    )
                })
                .collect(),
        ),
        Value::Bool(b) => json!(b),
        Value::Null => Json::Null,
        other => json!(other.to_string()),
    }
}

fn client_data(bytes: &[u8]) -> Result<Json, String> {
    let cd = CollectedClientData::from_json_bytes(bytes).map_err(|e| e.to_string())?;
    let mut m = Map::new();
    m.insert("type".into(), json!(cd.type_));
    m.insert("challenge".into(), json!(cd.challenge));
    match cd.challenge_bytes() {
        Ok(c) => m.insert("challengeHex".into(), json!(hex(&c))),
        Err(e) => m.insert("challengeError".into(), json!(e.to_string())),
    };
    m.insert("origin".into(), json!(cd.origin));
    m.insert("crossOrigin".into(), json!(cd.cross_origin));
    if let Some(t) = &cd.top_origin {
        m.insert("topOrigin".into(), json!(t));
    }
    for (k, v) in &cd.other {
        m.insert(k.clone(), v.to_value());
    }
    m.insert(
        "serializedPerSpec".into(),
        json!(cd.to_json_bytes() == bytes.trim_ascii()),
    );
    m.insert("clientDataHash".into(), json!(hex(&sha256(bytes))));
    Ok(Json::Object(m))
}

/// Member names of each CTAP2 map, by integer key (CTAP 2.2 §6).
fn ctap_names(command: Command, response: bool) -> &'static [&'static str] {
    match (command, response) {
        (Command::MakeCredential, false) => &[
            "",
            "clientDataHash",
            "rp",
            "user",
            "pubKeyCredParams",
            "excludeList",
            "extensions",
            "options",
            "pinUvAuthParam",
            "pinUvAuthProtocol",
            "enterpriseAttestation",
            "attestationFormatsPreference",
        ],
        (Command::MakeCredential, true) => &[
            "",
            "fmt",
            "authData",
            "attStmt",
            "epAtt",
            "largeBlobKey",
            "unsignedExtensionOutputs",
        ],
        (Command::GetAssertion, false) => &[
            "",
            "rpId",
            "clientDataHash",
            "allowList",
            "extensions",
            "options",
            "pinUvAuthParam",
            "pinUvAuthProtocol",
            "enterpriseAttestation",
            "attestationFormatsPreference",
        ],
        (Command::GetAssertion | Command::GetNextAssertion, true) => &[
            "",
            "credential",
            "authData",
            "signature",
            "user",
            "numberOfCredentials",
            "userSelected",
            "largeBlobKey",
            "unsignedExtensionOutputs",
            "epAtt",
            "attStmt",
        ],
        (Command::GetInfo, true) => &[
            "",
            "versions",
            "extensions",
            "aaguid",
            "options",
            "maxMsgSize",
            "pinUvAuthProtocols",
            "maxCredentialCountInList",
            "maxCredentialIdLength",
            "transports",
            "algorithms",
            "maxSerializedLargeBlobArray",
            "forcePINChange",
            "minPINLength",
            "firmwareVersion",
            "maxCredBlobLength",
            "maxRPIDsForSetMinPINLength",
            "preferredPlatformUvAttempts",
            "uvModality",
            "certifications",
            "remainingDiscoverableCredentials",
            "vendorPrototypeConfigCommands",
            "attestationFormats",
            "uvCountSinceLastPinEntry",
            "longTouchForReset",
            "encIdentifier",
            "transportsForReset",
            "pinComplexityPolicy",
            "pinComplexityPolicyURL",
            "maxPINLength",
        ],
        (Command::ClientPin, false) => &[
            "",
            "pinUvAuthProtocol",
            "subCommand",
            "keyAgreement",
            "pinUvAuthParam",
            "newPinEnc",
            "pinHashEnc",
            "",
            "",
            "permissions",
            "rpId",
        ],
        (Command::ClientPin, true) => &[
            "",
            "keyAgreement",
            "pinUvAuthToken",
            "pinRetries",
            "powerCycleState",
            "uvRetries",
        ],
        (Command::CredentialManagement, false) | (Command::Config, false) => &[
            "",
            "subCommand",
            "subCommandParams",
            "pinUvAuthProtocol",
            "pinUvAuthParam",
        ],
        (Command::CredentialManagement, true) => &[
            "",
            "existingResidentCredentialsCount",
            "maxPossibleRemainingResidentCredentialsCount",
            "rp",
            "rpIDHash",
            "totalRPs",
            "user",
            "credentialID",
            "publicKey",
            "totalCredentials",
            "credProtect",
            "largeBlobKey",
            "thirdPartyPayment",
        ],
        (Command::LargeBlobs, false) => &[
            "",
            "get",
            "set",
            "offset",
            "length",
            "pinUvAuthParam",
            "pinUvAuthProtocol",
        ],
        (Command::LargeBlobs, true) => &["", "config"],
        _ => &[],
    }
}

fn ctap_map(command: Command, response: bool, v: &Value) -> Json {
    let names = ctap_names(command, response);
    let mut m = Map::new();
    for (k, val) in v.as_map().unwrap_or(&[]) {
        let name = k
            .as_u64()
            .and_then(|i| names.get(i as usize))
            .filter(|n| !n.is_empty())
            .map(|n| format!("{n} (0x{:02x})", k.as_u64().unwrap_or(0)))
            .unwrap_or_else(|| format!("unknown key {k}"));
        let plain = name.split(' ').next().unwrap_or("");
        let desc = match (plain, val) {
            ("authData", Value::Bytes(b)) => AuthenticatorData::from_bytes(b)
                .map(|ad| auth_data(&ad))
                .unwrap_or_else(|e| json!({ "error": e.to_string() })),
            ("attStmt", Value::Map(_)) => att_stmt(val),
            ("keyAgreement" | "publicKey", Value::Map(_)) => CoseKey::from_value(val)
                .map(|k| cose_key(&k))
                .unwrap_or_else(|e| json!({ "error": e.to_string() })),
            ("aaguid", Value::Bytes(b)) if b.len() == 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                json!(keyhaven_proto::authdata::Aaguid(a).to_string())
            }
            ("algorithms" | "pubKeyCredParams", Value::Array(items)) => Json::Array(
                items
                    .iter()
                    .map(|p| match p.get_text("alg").and_then(Value::as_i64) {
                        Some(a) => json!(format!("{} ({a})", algorithm_name(a))),
                        None => cbor_json(p),
                    })
                    .collect(),
            ),
            _ => cbor_json(val),
        };
        m.insert(name, desc);
    }
    Json::Object(m)
}

fn ctap_request(bytes: &[u8]) -> Result<Json, String> {
    let req = Request::from_bytes(bytes).map_err(|e| e.to_string())?;
    let cmd = req.command();
    let mut m = Map::new();
    m.insert(
        "command".into(),
        json!(format!("{} (0x{:02x})", cmd.name(), cmd as u8)),
    );
    if bytes.len() > 1 {
        let v = cbor::decode(&bytes[1..]).map_err(|e| e.to_string())?;
        m.insert("parameters".into(), ctap_map(cmd, false, &v));
    }
    Ok(Json::Object(m))
}

fn ctap_response(bytes: &[u8]) -> Result<Json, String> {
    let status = StatusCode::from_byte(*bytes.first().ok_or("empty response")?);
    let mut m = Map::new();
    m.insert("status".into(), json!(status.to_string()));
    m.insert("statusDescription".into(), json!(status.description()));
    if status != StatusCode::Ok || bytes.len() == 1 {
        if bytes.len() > 1 {
            return Err(format!(
                "error status {status} followed by {} byte(s)",
                bytes.len() - 1
            ));
        }
        return Ok(Json::Object(m));
    }
    // Responses do not name their command: take the first command whose response parses.
    let candidates = [
        Command::GetAssertion,
        Command::MakeCredential,
        Command::GetInfo,
        Command::ClientPin,
        Command::CredentialManagement,
        Command::LargeBlobs,
    ];
    let mut first_err = None;
    for cmd in candidates {
        match Response::from_bytes(cmd, bytes) {
            Ok(_) if looks_like(cmd, &bytes[1..]) => {
                let v = cbor::decode(&bytes[1..]).map_err(|e| e.to_string())?;
                m.insert("responseTo".into(), json!(cmd.name()));
                m.insert("body".into(), ctap_map(cmd, true, &v));
                return Ok(Json::Object(m));
            }
            Ok(_) => {}
            Err(e) => {
                first_err.get_or_insert(e.to_string());
            }
        }
    }
    Err(first_err.unwrap_or_else(|| "response body matches no CTAP2 command's response".into()))
}

/// The required members that identify each response.
fn looks_like(cmd: Command, body: &[u8]) -> bool {
    let Ok(v) = cbor::decode(body) else {
        return false;
    };
    let has = |k: i64| v.get_int(k).is_some();
    match cmd {
        Command::GetAssertion => {
            has(2) && has(3) && v.get_int(1).is_none_or(|c| c.as_map().is_some())
        }
        Command::MakeCredential => has(1) && has(2) && has(3),
        Command::GetInfo => has(1) && has(3),
        Command::ClientPin => !has(6) && !has(7),
        _ => true,
    }
}

fn descriptor_list(list: &[CredentialDescriptorJson]) -> Json {
    Json::Array(
        list.iter()
            .map(|d| json!({ "type": d.type_, "id": keyhaven_proto::b64::encode(&d.id), "transports": d.transports }))
            .collect(),
    )
}

/// The members every PublicKeyCredential JSON has, around its described response.
fn credential<R>(r: &PublicKeyCredentialJson<R>, response: Map<String, Json>) -> Json {
    json!({
        "id": r.id,
        "rawId": bytes_json(&r.raw_id),
        "idMatchesRawId": keyhaven_proto::b64::encode(&r.raw_id) == r.id,
        "type": r.type_,
        "authenticatorAttachment": r.authenticator_attachment,
        "response": response,
        "clientExtensionResults": serde_json::to_value(&r.client_extension_results).unwrap_or(Json::Null),
    })
}

fn authentication_response(bytes: &[u8]) -> Result<Json, String> {
    let r: AuthenticationResponseJson = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let ad = auth_data_noted(&r.response.authenticator_data)
        .map_err(|e| format!("response.authenticatorData: {e}"))?;
    let cd = client_data(&r.response.client_data_json)
        .map_err(|e| format!("response.clientDataJSON: {e}"))?;
    let mut resp = Map::new();
    resp.insert("clientDataJSON".into(), cd);
    resp.insert("authenticatorData".into(), ad);
    resp.insert("signature".into(), bytes_json(&r.response.signature));
    resp.insert(
        "userHandle".into(),
        r.response
            .user_handle
            .as_deref()
            .map(bytes_json)
            .unwrap_or(Json::Null),
    );
    if let Some(ao) = &r.response.attestation_object {
        let ao =
            attestation_object_noted(ao).map_err(|e| format!("response.attestationObject: {e}"))?;
        resp.insert("attestationObject".into(), ao);
    }
    Ok(credential(&r, resp))
}

fn registration_response(bytes: &[u8]) -> Result<Json, String> {
    let r: RegistrationResponseJson = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let (ao, note) = canonical_or_note(|p| {
        AttestationObject::from_bytes_with(&r.response.attestation_object, p)
    })
    .map_err(|e| format!("response.attestationObject: {e}"))?;
    let cd = client_data(&r.response.client_data_json)
        .map_err(|e| format!("response.clientDataJSON: {e}"))?;
    let mut resp = Map::new();
    resp.insert("clientDataJSON".into(), cd);
    resp.insert(
        "attestationObject".into(),
        with_note(attestation_object(&ao), note),
    );
    resp.insert("transports".into(), json!(r.response.transports));
    if let Some(a) = r.response.public_key_algorithm {
        resp.insert(
            "publicKeyAlgorithm".into(),
            json!(format!("{} ({a})", algorithm_name(a))),
        );
    }
    if let Some(pk) = &r.response.public_key {
        let expected = ao
            .auth_data
            .attested_credential_data
            .as_ref()
            .and_then(|a| a.credential_public_key.to_spki_der());
        resp.insert("publicKey".into(), bytes_json(pk));
        resp.insert(
            "publicKeyMatchesAuthData".into(),
            json!(expected.as_deref() == Some(pk.as_slice())),
        );
    }
    Ok(credential(&r, resp))
}

fn creation_options(bytes: &[u8]) -> Result<Json, String> {
    let o: CreationOptionsJson = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    Ok(json!({
        "rp": { "name": o.rp.name, "id": o.rp.id },
        "user": { "id": bytes_json(&o.user.id), "name": o.user.name, "displayName": o.user.display_name },
        "challenge": bytes_json(&o.challenge),
        "pubKeyCredParams": o.pub_key_cred_params.iter()
            .map(|p| format!("{} {} ({})", p.type_, algorithm_name(p.alg), p.alg)).collect::<Vec<_>>(),
        "timeout": o.timeout,
        "excludeCredentials": descriptor_list(&o.exclude_credentials),
        "authenticatorSelection": serde_json::to_value(&o.authenticator_selection).unwrap_or(Json::Null),
        "hints": o.hints,
        "attestation": o.attestation.as_deref().unwrap_or("none (default)"),
        "attestationFormats": o.attestation_formats,
        "extensions": serde_json::to_value(&o.extensions).unwrap_or(Json::Null),
    }))
}

fn request_options(bytes: &[u8]) -> Result<Json, String> {
    let o: RequestOptionsJson = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    Ok(json!({
        "challenge": bytes_json(&o.challenge),
        "timeout": o.timeout,
        "rpId": o.rp_id,
        "allowCredentials": descriptor_list(&o.allow_credentials),
        "discoverable": o.allow_credentials.is_empty(),
        "userVerification": o.user_verification.as_deref().unwrap_or("preferred (default)"),
        "hints": o.hints,
        "extensions": serde_json::to_value(&o.extensions).unwrap_or(Json::Null),
    }))
}
