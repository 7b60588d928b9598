//! Attestation statement verification procedures (L3 §8), one module per
//! format, dispatched on `fmt` (L3 §7.1 step 21, a case-sensitive match).

mod android_key;
mod android_safetynet;
mod apple;
mod compound;
mod fido_u2f;
mod none;
mod packed;
mod tpm;

use crate::config::AttestationPolicy;
use crate::error::{AttestationFailure, VerifyError};
use crate::x509;
use keyhaven_crypto::x509::SignatureScheme;
use keyhaven_proto::authdata::{AttestedCredentialData, AuthenticatorData};
use keyhaven_proto::cbor::{CborPolicy, Value};
use keyhaven_proto::cose::CoseAlgorithm;
use serde::{Deserialize, Serialize};

/// Attestation types (L3 §6.5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttestationType {
    /// No attestation.
    None,
    /// Self attestation: signed by the credential key.
    #[serde(rename = "Self")]
    SelfAttestation,
    /// Basic attestation: a batch attestation key.
    Basic,
    /// Attestation CA.
    #[serde(rename = "AttCA")]
    AttCa,
    /// Anonymization CA.
    #[serde(rename = "AnonCA")]
    AnonCa,
    /// The verification procedure could not tell.
    Uncertain,
}

impl AttestationType {
    /// The spec name.
    pub fn name(self) -> &'static str {
        match self {
            AttestationType::None => "None",
            AttestationType::SelfAttestation => "Self",
            AttestationType::Basic => "Basic",
            AttestationType::AttCa => "AttCA",
            AttestationType::AnonCa => "AnonCA",
            AttestationType::Uncertain => "Uncertain",
        }
    }
}

/// The outcome of a format's verification procedure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationResult {
    /// The format.
    pub fmt: String,
    /// The attestation type.
    pub attestation_type: AttestationType,
    /// The attestation trust path (DER certificates, leaf first).
    pub trust_path: Vec<Vec<u8>>,
}

/// Inputs of a verification procedure (L3 §6.5.2 "verification procedure inputs").
pub(crate) struct Input<'a> {
    pub att_stmt: &'a Value,
    pub auth_data: &'a AuthenticatorData,
    pub auth_data_raw: &'a [u8],
    pub client_data_hash: &'a [u8; 32],
    pub policy: &'a AttestationPolicy,
    /// The RP's clock, read once for the ceremony.
    pub now: std::time::SystemTime,
    /// Strict: attStmt members a format does not define are refused.
    pub cbor: CborPolicy,
}

impl Input<'_> {
    /// authenticatorData ‖ clientDataHash.
    pub fn signed_data(&self) -> Vec<u8> {
        [self.auth_data_raw, self.client_data_hash.as_slice()].concat()
    }
    pub fn acd(&self) -> &AttestedCredentialData {
        // Registration checks AT before dispatching to a format.
        self.auth_data
            .attested_credential_data
            .as_ref()
            .expect("registration checked attested credential data")
    }
}

/// A failure inside a format's procedure.
pub(crate) fn fail(fmt: &'static str, reason: impl Into<AttestationFailure>) -> VerifyError {
    let step = match fmt {
        "packed" => "L3 §8.2 packed verification procedure",
        "tpm" => "L3 §8.3 tpm verification procedure",
        "android-key" => "L3 §8.4 android-key verification procedure",
        "android-safetynet" => "L3 §8.5 android-safetynet verification procedure",
        "fido-u2f" => "L3 §8.6 fido-u2f verification procedure",
        "none" => "L3 §8.7 none verification procedure",
        "apple" => "L3 §8.8 apple verification procedure",
        _ => "L3 §8.9 compound verification procedure",
    };
    VerifyError::Attestation {
        step,
        fmt,
        reason: reason.into(),
    }
}

/// Typed access to attStmt members, with errors naming the format.
pub(crate) struct Stmt<'a> {
    fmt: &'static str,
    v: &'a Value,
}

impl<'a> Stmt<'a> {
    /// The attStmt map of `i`. Members outside `allowed` are ignored (attStmt
    /// is not signed, and devices add some, e.g. iOS 14's "alg" in apple
    /// statements), or refused under the strict CBOR policy.
    pub fn new(fmt: &'static str, i: &Input<'a>, allowed: &[&str]) -> Result<Self, VerifyError> {
        let v = i.att_stmt;
        let map = v
            .as_map()
            .ok_or_else(|| fail(fmt, AttestationFailure::StatementType("map")))?;
        if i.cbor == CborPolicy::Strict {
            for (k, _) in map {
                match k.as_text() {
                    Some(name) if allowed.contains(&name) => {}
                    _ => {
                        return Err(fail(
                            fmt,
                            AttestationFailure::UnexpectedMember(k.to_string()),
                        ))
                    }
                }
            }
        }
        Ok(Stmt { fmt, v })
    }
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.v.get_text(name)
    }
    pub fn alg(&self) -> Result<CoseAlgorithm, VerifyError> {
        let a = self
            .get("alg")
            .ok_or_else(|| fail(self.fmt, AttestationFailure::Missing("alg")))?
            .as_i64()
            .ok_or_else(|| {
                fail(
                    self.fmt,
                    AttestationFailure::WrongType {
                        member: "alg",
                        expected: "an integer",
                    },
                )
            })?;
        CoseAlgorithm::from_id(a)
            .ok_or_else(|| fail(self.fmt, AttestationFailure::UnsupportedAlgorithm(a)))
    }
    pub fn bytes(&self, name: &'static str) -> Result<&'a [u8], VerifyError> {
        self.get(name)
            .ok_or_else(|| fail(self.fmt, AttestationFailure::Missing(name)))?
            .as_bytes()
            .ok_or_else(|| {
                fail(
                    self.fmt,
                    AttestationFailure::WrongType {
                        member: name,
                        expected: "a byte string",
                    },
                )
            })
    }
    pub fn text(&self, name: &'static str) -> Result<&'a str, VerifyError> {
        self.get(name)
            .ok_or_else(|| fail(self.fmt, AttestationFailure::Missing(name)))?
            .as_text()
            .ok_or_else(|| {
                fail(
                    self.fmt,
                    AttestationFailure::WrongType {
                        member: name,
                        expected: "a text string",
                    },
                )
            })
    }
    /// x5c: a non-empty array of DER certificates.
    pub fn x5c(&self) -> Result<Option<Vec<Vec<u8>>>, VerifyError> {
        let Some(v) = self.get("x5c") else {
            return Ok(None);
        };
        let arr = v.as_array().ok_or_else(|| {
            fail(
                self.fmt,
                AttestationFailure::WrongType {
                    member: "x5c",
                    expected: "an array",
                },
            )
        })?;
        if arr.is_empty() {
            return Err(fail(self.fmt, AttestationFailure::EmptyX5c));
        }
        arr.iter()
            .map(|c| {
                c.as_bytes().map(<[u8]>::to_vec).ok_or_else(|| {
                    fail(
                        self.fmt,
                        AttestationFailure::WrongType {
                            member: "x5c entry",
                            expected: "a byte string",
                        },
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// The certificate signature scheme for a COSE alg (attestation signatures).
pub(crate) fn scheme_for(
    fmt: &'static str,
    alg: CoseAlgorithm,
) -> Result<SignatureScheme, VerifyError> {
    use CoseAlgorithm as A;
    Ok(match alg {
        A::Es256 | A::Esp256 => SignatureScheme::EcdsaSha256,
        A::Es384 | A::Esp384 => SignatureScheme::EcdsaSha384,
        A::Es512 | A::Esp512 => SignatureScheme::EcdsaSha512,
        A::Rs256 => SignatureScheme::RsaPkcs1Sha256,
        A::Rs384 => SignatureScheme::RsaPkcs1Sha384,
        A::Rs512 => SignatureScheme::RsaPkcs1Sha512,
        A::Rs1 => SignatureScheme::RsaPkcs1Sha1,
        A::Ps256 => SignatureScheme::RsaPssSha256,
        A::Ps384 => SignatureScheme::RsaPssSha384,
        A::Ps512 => SignatureScheme::RsaPssSha512,
        A::EdDsa | A::Ed25519 => SignatureScheme::Ed25519,
        other => {
            return Err(fail(
                fmt,
                format!(
                    "alg {} cannot sign attestation certificates' keys",
                    other.name()
                ),
            ))
        }
    })
}

/// Verifies a signature with the leaf certificate of x5c.
pub(crate) fn verify_leaf(
    fmt: &'static str,
    leaf: &x509::Cert,
    alg: CoseAlgorithm,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), VerifyError> {
    x509::verify_with_cert(leaf, scheme_for(fmt, alg)?, msg, sig).map_err(|e| fail(fmt, e))
}

pub(crate) fn parse_cert<'a>(
    fmt: &'static str,
    der: &'a [u8],
) -> Result<x509::Cert<'a>, VerifyError> {
    x509::parse(der).map_err(|e| fail(fmt, e))
}

/// Runs one attestation statement format's verification procedure (L3 §8)
/// alone, on an attestation statement, the authenticator data it covers and
/// the client data hash: what L3 §7.1 steps 21–22 do inside a registration.
/// Trust (step 24) is not assessed here.
///
/// ```
/// use keyhaven_proto::cbor::Value;
/// use keyhaven_rp::{attestation::verify_statement, RpConfig};
/// let cfg = RpConfig::new("example.org", "Example");
/// // Authenticator data without attested credential data cannot carry an attestation.
/// let e = verify_statement("none", &Value::Map(vec![]), &[0; 37], &[0; 32], &cfg).unwrap_err();
/// assert_eq!(e.kind(), "NoAttestedCredentialData");
/// ```
pub fn verify_statement(
    fmt: &str,
    att_stmt: &Value,
    auth_data_raw: &[u8],
    client_data_hash: &[u8; 32],
    cfg: &crate::RpConfig,
) -> Result<AttestationResult, VerifyError> {
    let auth_data = crate::ceremony::decode_auth_data(cfg, "L3 §7.1 step 13", auth_data_raw)?;
    if auth_data.attested_credential_data.is_none() {
        return Err(VerifyError::NoAttestedCredentialData {
            step: "L3 §7.1 step 13",
        });
    }
    verify(
        fmt,
        &Input {
            att_stmt,
            auth_data: &auth_data,
            auth_data_raw,
            client_data_hash,
            policy: &cfg.attestation,
            now: cfg.clock.now(),
            cbor: cfg.cbor_policy,
        },
    )
}

/// Runs the verification procedure of `fmt`.
pub(crate) fn verify(fmt: &str, input: &Input) -> Result<AttestationResult, VerifyError> {
    verify_depth(fmt, input, 0)
}

pub(crate) fn verify_depth(
    fmt: &str,
    input: &Input,
    depth: usize,
) -> Result<AttestationResult, VerifyError> {
    let (f, t, path) = match fmt {
        "none" => ("none", none::verify(input)?, Vec::new()),
        "packed" => {
            let (t, p) = packed::verify(input)?;
            ("packed", t, p)
        }
        "tpm" => ("tpm", AttestationType::AttCa, tpm::verify(input)?),
        "android-key" => (
            "android-key",
            AttestationType::Basic,
            android_key::verify(input)?,
        ),
        "android-safetynet" => (
            "android-safetynet",
            AttestationType::Basic,
            android_safetynet::verify(input)?,
        ),
        "fido-u2f" => ("fido-u2f", AttestationType::Basic, fido_u2f::verify(input)?),
        "apple" => ("apple", AttestationType::AnonCa, apple::verify(input)?),
        "compound" if depth == 0 => {
            let (t, p) = compound::verify(input)?;
            ("compound", t, p)
        }
        "compound" => {
            return Err(fail(
                "compound",
                "a compound statement must not nest another compound statement",
            ))
        }
        other => return Err(VerifyError::UnsupportedFormat(other.to_owned())),
    };
    Ok(AttestationResult {
        fmt: f.to_owned(),
        attestation_type: t,
        trust_path: path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AttestationFailure as F;
    use crate::RpConfig;
    use keyhaven_proto::cbor::CborPolicy;

    /// A registration's authenticator data with attested credential data (the
    /// W3C none-es256 vector's), for statement procedures that fail before
    /// any signature.
    fn auth_data() -> Vec<u8> {
        let x = keyhaven_testkit::vectors::by_id("none-es256.registration");
        let ao =
            keyhaven_proto::b64::decode(x["attestation_object_b64url"].as_str().unwrap()).unwrap();
        keyhaven_proto::attestation::AttestationObject::from_bytes(&ao)
            .unwrap()
            .auth_data_raw
    }

    fn reason(r: Result<AttestationResult, VerifyError>) -> F {
        match r {
            Err(VerifyError::Attestation { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn statement_syntax_errors_are_typed() {
        let mut cfg = RpConfig::new("example.org", "Example");
        let ad = auth_data();
        let run = |fmt: &str, stmt: Value, cfg: &RpConfig| {
            verify_statement(fmt, &stmt, &ad, &[0; 32], cfg)
        };
        let map = |e: Vec<(&str, Value)>| {
            Value::Map(e.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
        };
        assert_eq!(
            reason(run("packed", Value::from(1), &cfg)),
            F::StatementType("map")
        );
        assert_eq!(reason(run("packed", map(vec![]), &cfg)), F::Missing("alg"));
        assert_eq!(
            reason(run("packed", map(vec![("alg", Value::from("x"))]), &cfg)),
            F::WrongType {
                member: "alg",
                expected: "an integer"
            }
        );
        assert_eq!(
            reason(run("packed", map(vec![("alg", Value::from(-1234))]), &cfg)),
            F::UnsupportedAlgorithm(-1234)
        );
        assert_eq!(
            reason(run(
                "packed",
                map(vec![("alg", Value::from(-7)), ("sig", Value::from(1))]),
                &cfg
            )),
            F::WrongType {
                member: "sig",
                expected: "a byte string"
            }
        );
        assert_eq!(
            reason(run(
                "fido-u2f",
                map(vec![
                    ("sig", Value::Bytes(vec![1])),
                    ("x5c", Value::Array(vec![]))
                ]),
                &cfg
            )),
            F::EmptyX5c
        );
        // A member "none" does not define: ignored by default, refused when strict.
        let extra = || map(vec![("alg", Value::from(-7))]);
        assert_eq!(
            run("none", extra(), &cfg).unwrap().attestation_type,
            AttestationType::None
        );
        cfg.cbor_policy = CborPolicy::Strict;
        assert_eq!(
            reason(run("none", extra(), &cfg)),
            F::UnexpectedMember("\"alg\"".into())
        );
        assert!(run("none", map(vec![]), &cfg).is_ok());
    }
}
