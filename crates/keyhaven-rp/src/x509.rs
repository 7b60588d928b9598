//! X.509 for attestation: certificate parsing (x509-parser), signature checks
//! (keyhaven-crypto), and path validation up to the RP's configured roots
//! only (RFC 5280 §6.1, reduced to what attestation needs: names, signatures,
//! validity against a supplied clock, basicConstraints, keyUsage, pathLen).

use keyhaven_crypto::x509::{verify_spki, SignatureScheme, SpkiKey};
use keyhaven_proto::cose::{CoseKey, EcCurve, KeyParams, OkpCurve};
use std::time::{SystemTime, UNIX_EPOCH};
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

pub(crate) type Cert<'a> = X509Certificate<'a>;

/// Parses one DER certificate; trailing bytes are an error.
pub(crate) fn parse(der: &[u8]) -> Result<Cert<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], c)) => Ok(c),
        Ok((rest, _)) => Err(format!(
            "{} trailing byte(s) after the certificate",
            rest.len()
        )),
        Err(e) => Err(format!("not a DER X.509 certificate: {e}")),
    }
}

fn curve_of(cert: &Cert) -> Option<EcCurve> {
    let params = cert.public_key().algorithm.parameters.as_ref()?;
    let oid = params.as_oid().ok()?.to_id_string();
    match oid.as_str() {
        "1.2.840.10045.3.1.7" => Some(EcCurve::P256),
        "1.3.132.0.34" => Some(EcCurve::P384),
        "1.3.132.0.35" => Some(EcCurve::P521),
        _ => None,
    }
}

/// The key type of the certificate's SubjectPublicKeyInfo.
pub(crate) fn spki_key(cert: &Cert) -> Result<SpkiKey, String> {
    let oid = cert.public_key().algorithm.algorithm.to_id_string();
    match oid.as_str() {
        "1.2.840.10045.2.1" => curve_of(cert)
            .map(SpkiKey::Ec)
            .ok_or_else(|| "unsupported EC curve".to_owned()),
        "1.2.840.113549.1.1.1" => Ok(SpkiKey::Rsa),
        "1.3.101.112" => Ok(SpkiKey::Ed25519),
        other => Err(format!("unsupported public key algorithm {other}")),
    }
}

/// Verifies `signature` over `message` with the certificate's public key.
pub(crate) fn verify_with_cert(
    cert: &Cert,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    verify_spki(
        scheme,
        spki_key(cert)?,
        cert.public_key().raw,
        message,
        signature,
        false,
    )
    .map_err(|e| e.to_string())
}

/// Verifies that `child` was signed by `issuer`'s key.
fn signed_by(child: &Cert, issuer: &Cert) -> Result<(), String> {
    let oid = child.signature_algorithm.algorithm.to_id_string();
    let scheme = SignatureScheme::from_x509_oid(&oid)
        .ok_or_else(|| format!("unsupported certificate signature algorithm {oid}"))?;
    verify_spki(
        scheme,
        spki_key(issuer)?,
        issuer.public_key().raw,
        child.tbs_certificate.as_ref(),
        &child.signature_value.data,
        false,
    )
    .map_err(|_| {
        format!(
            "signature of {:?} does not verify with the key of {:?}",
            child.subject().to_string(),
            issuer.subject().to_string()
        )
    })
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Checks notBefore ≤ now ≤ notAfter.
pub(crate) fn check_validity(cert: &Cert, now: SystemTime) -> Result<(), String> {
    let t = unix(now);
    let v = cert.validity();
    if t < v.not_before.timestamp() {
        return Err(format!(
            "certificate {:?} is not valid before {}",
            cert.subject().to_string(),
            v.not_before
        ));
    }
    if t > v.not_after.timestamp() {
        return Err(format!(
            "certificate {:?} expired at {}",
            cert.subject().to_string(),
            v.not_after
        ));
    }
    Ok(())
}

/// The basicConstraints CA flag and pathLen (None when the extension is absent).
pub(crate) fn basic_constraints(cert: &Cert) -> Result<Option<(bool, Option<u32>)>, String> {
    match cert.basic_constraints() {
        Ok(Some(bc)) => Ok(Some((bc.value.ca, bc.value.path_len_constraint))),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("bad basicConstraints: {e}")),
    }
}

fn check_ca(cert: &Cert, below: usize) -> Result<(), String> {
    let name = cert.subject().to_string();
    match basic_constraints(cert)? {
        Some((true, len)) => {
            if let Some(len) = len {
                if below > len as usize + 1 {
                    return Err(format!("path length constraint {len} of {name:?} exceeded"));
                }
            }
        }
        _ => return Err(format!("issuer {name:?} is not a CA (basicConstraints)")),
    }
    if let Ok(Some(ku)) = cert.key_usage() {
        if !ku.value.key_cert_sign() {
            return Err(format!("issuer {name:?} lacks keyUsage keyCertSign"));
        }
    }
    Ok(())
}

/// Validates `x5c` (leaf first) up to one of `anchors` (DER). Every
/// certificate, anchor included, must be valid at `now`; issuers must be CAs.
/// A certificate inside x5c is never a trust anchor unless it is byte-equal to
/// a configured one.
pub(crate) fn validate_path(
    x5c: &[Vec<u8>],
    anchors: &[Vec<u8>],
    now: SystemTime,
) -> Result<(), String> {
    if x5c.is_empty() {
        return Err("empty certificate path".into());
    }
    if anchors.is_empty() {
        return Err("no trust anchors are configured".into());
    }
    let certs = x5c
        .iter()
        .map(|d| parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    for c in &certs {
        check_validity(c, now)?;
    }
    for (i, pair) in certs.windows(2).enumerate() {
        let (child, issuer) = (&pair[0], &pair[1]);
        if child.issuer().as_raw() != issuer.subject().as_raw() {
            return Err(format!(
                "x5c[{i}] issuer {:?} is not x5c[{}] subject {:?}",
                child.issuer().to_string(),
                i + 1,
                issuer.subject().to_string()
            ));
        }
        signed_by(child, issuer)?;
        check_ca(issuer, i + 1)?;
    }
    let top_index = certs.len() - 1;
    let top = &certs[top_index];
    // The top of x5c may itself be a configured anchor.
    if anchors
        .iter()
        .any(|a| a.as_slice() == x5c[top_index].as_slice())
    {
        return Ok(());
    }
    let mut last_err = format!(
        "x5c does not chain to a configured trust anchor (top issuer {:?})",
        top.issuer().to_string()
    );
    for a in anchors {
        let anchor = parse(a).map_err(|e| format!("configured trust anchor: {e}"))?;
        if top.issuer().as_raw() != anchor.subject().as_raw() {
            continue;
        }
        let result = signed_by(top, &anchor)
            .and_then(|_| check_validity(&anchor, now))
            .and_then(|_| check_ca(&anchor, certs.len()));
        match result {
            Ok(()) => return Ok(()),
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

/// Whether the certificate's public key is the COSE key (compared as keys, not encodings).
pub(crate) fn cert_key_matches(cert: &Cert, key: &CoseKey) -> bool {
    let Ok(parsed) = cert.public_key().parsed() else {
        return false;
    };
    match (&parsed, &key.params) {
        (PublicKey::EC(point), KeyParams::Ec2 { curve, x, y }) => {
            curve_of(cert) == Some(*curve)
                && point.data() == [&[0x04][..], x, y].concat().as_slice()
        }
        (PublicKey::RSA(rsa), KeyParams::Rsa { n, e }) => {
            strip(rsa.modulus) == n.as_slice() && strip(rsa.exponent) == e.as_slice()
        }
        (
            PublicKey::Unknown(raw),
            KeyParams::Okp {
                curve: OkpCurve::Ed25519,
                x,
            },
        ) => {
            cert.public_key().algorithm.algorithm.to_id_string() == "1.3.101.112"
                && *raw == x.as_slice()
        }
        (
            PublicKey::Unknown(raw),
            KeyParams::Okp {
                curve: OkpCurve::Ed448,
                x,
            },
        ) => {
            cert.public_key().algorithm.algorithm.to_id_string() == "1.3.101.113"
                && *raw == x.as_slice()
        }
        _ => false,
    }
}

fn strip(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|x| **x == 0).count();
    &b[n..]
}

/// The value of an extension by dotted OID, and whether it is critical.
pub(crate) fn extension<'a>(cert: &'a Cert, oid: &str) -> Option<(&'a [u8], bool)> {
    cert.extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == oid)
        .map(|e| (e.value, e.critical))
}

/// Checks the id-fido-gen-ce-aaguid extension, when present, against the AAGUID.
pub(crate) fn check_aaguid_extension(cert: &Cert, aaguid: &[u8; 16]) -> Result<(), String> {
    if let Some((value, critical)) = extension(cert, "1.3.6.1.4.1.45724.1.1.4") {
        if critical {
            return Err("id-fido-gen-ce-aaguid extension must not be critical".into());
        }
        // The extension value is an OCTET STRING holding the 16 AAGUID bytes.
        let inner = match value {
            [0x04, 0x10, rest @ ..] if rest.len() == 16 => rest,
            _ => {
                return Err("id-fido-gen-ce-aaguid extension is not a 16-byte OCTET STRING".into())
            }
        };
        if inner != aaguid {
            return Err(
                "id-fido-gen-ce-aaguid extension does not match the AAGUID in authenticator data"
                    .into(),
            );
        }
    }
    Ok(())
}
