//! "tpm" (L3 §8.3): TPMS_ATTEST (certInfo) and TPMT_PUBLIC (pubArea) parsing
//! per TPM 2.0 Part 2 §10.12 and §12.2, and the AIK certificate requirements (§8.3.1).

use super::{fail, parse_cert, verify_leaf, Input, Stmt};
use crate::error::{AttestationFailure, VerifyError};
use crate::x509;
use keyhaven_crypto::digest;
use keyhaven_proto::cose::{CoseAlgorithm, EcCurve, KeyParams};
use x509_parser::prelude::*;

const FMT: &str = "tpm";
const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
const TPM_ST_ATTEST_CERTIFY: u16 = 0x8017;
const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_ECC: u16 = 0x0023;
const TPM_ALG_NULL: u16 = 0x0010;

/// A bounded big-endian reader over TPM structures.
struct Tpm<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> Tpm<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], VerifyError> {
        if self.b.len() < n {
            return Err(fail(FMT, format!("{} is truncated", self.what)));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u16(&mut self) -> Result<u16, VerifyError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, VerifyError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A TPM2B: 16-bit length then bytes.
    fn sized(&mut self) -> Result<&'a [u8], VerifyError> {
        let n = self.u16()? as usize;
        self.take(n)
    }
    fn end(&self) -> Result<(), VerifyError> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(fail(
                FMT,
                format!("{} has {} trailing byte(s)", self.what, self.b.len()),
            ))
        }
    }
}

/// The public key in pubArea (TPMT_PUBLIC).
enum TpmKey<'a> {
    Rsa {
        n: &'a [u8],
        exponent: u32,
    },
    Ecc {
        curve: u16,
        x: &'a [u8],
        y: &'a [u8],
    },
}

struct PubArea<'a> {
    name_alg: u16,
    key: TpmKey<'a>,
}

fn parse_pub_area(b: &[u8]) -> Result<PubArea<'_>, VerifyError> {
    let mut r = Tpm { b, what: "pubArea" };
    let kind = r.u16()?;
    let name_alg = r.u16()?;
    r.u32()?; // objectAttributes
    r.sized()?; // authPolicy
                // parameters: symmetric (TPMT_SYM_DEF_OBJECT) then scheme.
    let symmetric = r.u16()?;
    if symmetric != TPM_ALG_NULL {
        r.take(4)?; // keyBits, mode
    }
    let scheme = r.u16()?;
    if scheme != TPM_ALG_NULL {
        r.u16()?; // scheme hashAlg
    }
    let key = match kind {
        TPM_ALG_RSA => {
            r.u16()?; // keyBits
            let exponent = r.u32()?;
            let n = r.sized()?;
            TpmKey::Rsa { n, exponent }
        }
        TPM_ALG_ECC => {
            let curve = r.u16()?;
            let kdf = r.u16()?;
            if kdf != TPM_ALG_NULL {
                r.u16()?;
            }
            let x = r.sized()?;
            let y = r.sized()?;
            TpmKey::Ecc { curve, x, y }
        }
        other => {
            return Err(fail(
                FMT,
                format!("pubArea type 0x{other:04x} is neither RSA nor ECC"),
            ))
        }
    };
    r.end()?;
    Ok(PubArea { name_alg, key })
}

struct CertInfo<'a> {
    extra_data: &'a [u8],
    name: &'a [u8],
}

fn parse_cert_info(b: &[u8]) -> Result<CertInfo<'_>, VerifyError> {
    let mut r = Tpm {
        b,
        what: "certInfo",
    };
    let magic = r.u32()?;
    if magic != TPM_GENERATED_VALUE {
        return Err(fail(
            FMT,
            format!("certInfo.magic: expected TPM_GENERATED_VALUE 0xff544347, found 0x{magic:08x}"),
        ));
    }
    let st = r.u16()?;
    if st != TPM_ST_ATTEST_CERTIFY {
        return Err(fail(
            FMT,
            format!("certInfo.type: expected TPM_ST_ATTEST_CERTIFY 0x8017, found 0x{st:04x}"),
        ));
    }
    r.sized()?; // qualifiedSigner
    let extra_data = r.sized()?;
    r.take(17)?; // clockInfo: clock(8) resetCount(4) restartCount(4) safe(1)
    r.take(8)?; // firmwareVersion
    let name = r.sized()?; // attested.certify.name
    r.sized()?; // attested.certify.qualifiedName
    r.end()?;
    Ok(CertInfo { extra_data, name })
}

fn tpm_hash(alg: u16, data: &[u8]) -> Option<Vec<u8>> {
    Some(match alg {
        0x0004 => digest::sha1(data).to_vec(),
        0x000b => digest::sha256(data).to_vec(),
        0x000c => digest::sha384(data).to_vec(),
        0x000d => digest::sha512(data).to_vec(),
        _ => return None,
    })
}

fn hash_for(alg: CoseAlgorithm, data: &[u8]) -> Vec<u8> {
    use CoseAlgorithm as A;
    match alg {
        A::Rs1 => digest::sha1(data).to_vec(),
        A::Es384 | A::Esp384 | A::Rs384 | A::Ps384 => digest::sha384(data).to_vec(),
        A::Es512 | A::Esp512 | A::Rs512 | A::Ps512 => digest::sha512(data).to_vec(),
        _ => digest::sha256(data).to_vec(),
    }
}

fn strip(b: &[u8]) -> &[u8] {
    &b[b.iter().take_while(|x| **x == 0).count()..]
}

pub(super) fn verify(i: &Input) -> Result<Vec<Vec<u8>>, VerifyError> {
    // Syntax.
    let s = Stmt::new(FMT, i, &["ver", "alg", "x5c", "sig", "certInfo", "pubArea"])?;
    let ver = s.text("ver")?;
    if ver != "2.0" {
        return Err(fail(FMT, format!("ver must be \"2.0\", found {ver:?}")));
    }
    let alg = s.alg()?;
    let sig = s.bytes("sig")?;
    let cert_info_raw = s.bytes("certInfo")?;
    let pub_area_raw = s.bytes("pubArea")?;
    // The pubArea key is the credential public key.
    let pub_area = parse_pub_area(pub_area_raw)?;
    let cred = &i.acd().credential_public_key;
    let same = match (&pub_area.key, &cred.params) {
        (TpmKey::Rsa { n, exponent }, KeyParams::Rsa { n: cn, e }) => {
            let exp = if *exponent == 0 { 65537 } else { *exponent };
            strip(n) == cn.as_slice() && strip(&exp.to_be_bytes()) == e.as_slice()
        }
        (
            TpmKey::Ecc { curve, x, y },
            KeyParams::Ec2 {
                curve: cc,
                x: cx,
                y: cy,
            },
        ) => {
            let want = match cc {
                EcCurve::P256 => 0x0003,
                EcCurve::P384 => 0x0004,
                EcCurve::P521 => 0x0005,
            };
            *curve == want && *x == cx.as_slice() && *y == cy.as_slice()
        }
        _ => false,
    };
    if !same {
        return Err(fail(
            FMT,
            "pubArea parameters/unique do not match the credential public key",
        ));
    }
    // certInfo integrity: the AIK certificate signs certInfo.
    let x5c = s
        .x5c()?
        .ok_or_else(|| fail(FMT, AttestationFailure::Missing("x5c")))?;
    let aik = parse_cert(FMT, &x5c[0])?;
    check_aik_certificate(&aik)?;
    x509::check_aaguid_extension(&aik, &i.acd().aaguid.0).map_err(|e| fail(FMT, e))?;
    verify_leaf(FMT, &aik, alg, cert_info_raw, sig)?;
    // certInfo validity.
    let cert_info = parse_cert_info(cert_info_raw)?;
    let expected = hash_for(alg, &i.signed_data());
    if !keyhaven_crypto::ct_eq(cert_info.extra_data, &expected) {
        return Err(fail(
            FMT,
            "certInfo.extraData is not the hash of authenticatorData ‖ clientDataHash",
        ));
    }
    let mut name = pub_area.name_alg.to_be_bytes().to_vec();
    let h = tpm_hash(pub_area.name_alg, pub_area_raw).ok_or_else(|| {
        fail(
            FMT,
            format!("unsupported pubArea nameAlg 0x{:04x}", pub_area.name_alg),
        )
    })?;
    name.extend_from_slice(&h);
    if cert_info.name != name.as_slice() {
        return Err(fail(
            FMT,
            "certInfo.attested.name is not the Name of pubArea",
        ));
    }
    Ok(x5c)
}

/// §8.3.1: version 3, empty subject, subjectAltName present (critical since the
/// subject is empty), EKU tcg-kp-AIKCertificate, not a CA.
fn check_aik_certificate(cert: &x509::Cert) -> Result<(), VerifyError> {
    if cert.version() != X509Version::V3 {
        return Err(fail(FMT, "AIK certificate version must be 3"));
    }
    if cert.subject().iter().next().is_some() {
        return Err(fail(
            FMT,
            format!(
                "AIK certificate subject must be empty, found {:?}",
                cert.subject().to_string()
            ),
        ));
    }
    match x509::extension(cert, "2.5.29.17") {
        Some((_, true)) => {}
        Some((_, false)) => {
            return Err(fail(
                FMT,
                "AIK certificate subjectAltName must be critical (empty subject)",
            ))
        }
        None => return Err(fail(FMT, "AIK certificate lacks subjectAltName")),
    }
    let eku_ok = match cert.extended_key_usage() {
        Ok(Some(eku)) => eku
            .value
            .other
            .iter()
            .any(|o| o.to_id_string() == "2.23.133.8.3"),
        _ => false,
    };
    if !eku_ok {
        return Err(fail(
            FMT,
            "AIK certificate extendedKeyUsage lacks tcg-kp-AIKCertificate (2.23.133.8.3)",
        ));
    }
    if let Some((true, _)) = x509::basic_constraints(cert).map_err(|e| fail(FMT, e))? {
        return Err(fail(FMT, "AIK certificate must not be a CA"));
    }
    Ok(())
}
