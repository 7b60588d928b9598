//! FIDO Metadata Service v3 (MDS3 §3): verify a metadata BLOB (a JWT signed
//! through an `x5c` chain to a root the RP configured), index its entries by
//! AAGUID and by attestation certificate key identifier, and use them as
//! attestation trust anchors and as authenticator status policy. Offline: the
//! caller supplies the BLOB file.

use crate::x509;
use keyhaven_crypto::x509::{verify_spki, SignatureScheme};
use keyhaven_proto::b64;
use serde_json::Value;
use std::collections::HashMap;
use std::time::SystemTime;

/// Statuses that make an authenticator unacceptable by default (MDS3 §3.1.4 AuthenticatorStatus).
pub const DEFAULT_REJECTED_STATUSES: [&str; 5] = [
    "REVOKED",
    "ATTESTATION_KEY_COMPROMISE",
    "USER_KEY_REMOTE_COMPROMISE",
    "USER_KEY_PHYSICAL_COMPROMISE",
    "USER_VERIFICATION_BYPASS",
];

/// Why a metadata BLOB was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MdsError {
    /// Not a compact JWT, or its parts do not decode.
    #[error("MDS BLOB: malformed JWT: {0}")]
    Malformed(String),
    /// The x5c chain does not lead to a configured root.
    #[error("MDS BLOB: signing certificate path: {0}")]
    Untrusted(#[from] x509::X509Error),
    /// The BLOB is past its nextUpdate (MDS3 §3.1.6: fetch a new one).
    #[error("MDS BLOB: stale: nextUpdate {next_update} is before {today} (a newer BLOB must be fetched)")]
    Stale {
        /// The BLOB's nextUpdate.
        next_update: String,
        /// The clock's date.
        today: String,
    },
    /// The JWS signature does not verify.
    #[error("MDS BLOB: signature: {0}")]
    Signature(String),
}

/// One status report (MDS3 §3.1.3 StatusReport).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport {
    /// AuthenticatorStatus value.
    pub status: String,
    /// ISO 8601 date the status took effect.
    pub effective_date: Option<String>,
}

/// One metadata entry (MDS3 §3.1.1 MetadataBLOBPayloadEntry).
#[derive(Clone, Debug)]
pub struct MetadataEntry {
    /// AAGUID (FIDO2 authenticators), lowercase UUID text.
    pub aaguid: Option<String>,
    /// attestationCertificateKeyIdentifiers (U2F authenticators), lowercase hex.
    pub attestation_certificate_key_identifiers: Vec<String>,
    /// metadataStatement.description.
    pub description: Option<String>,
    /// metadataStatement.icon: a `data:` URL (MDS3 §3.1.2 says PNG).
    pub icon: Option<String>,
    /// metadataStatement.attestationRootCertificates, DER.
    pub attestation_root_certificates: Vec<Vec<u8>>,
    /// statusReports, in BLOB order.
    pub status_reports: Vec<StatusReport>,
}

impl MetadataEntry {
    /// The first status in `rejected` found among the reports, if any.
    pub fn rejected_status<'a>(&'a self, rejected: &[String]) -> Option<&'a str> {
        self.status_reports
            .iter()
            .map(|r| r.status.as_str())
            .find(|s| rejected.iter().any(|x| x == s))
    }
}

/// A verified metadata BLOB, indexed.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// Serial number of the BLOB.
    pub no: u64,
    /// nextUpdate (ISO 8601 date).
    pub next_update: String,
    /// The entries.
    pub entries: Vec<MetadataEntry>,
    /// Statuses that make an authenticator unacceptable.
    pub rejected_statuses: Vec<String>,
    by_aaguid: HashMap<String, usize>,
    by_key_id: HashMap<String, usize>,
}

fn std_or_url_b64(s: &str) -> Result<Vec<u8>, MdsError> {
    b64::decode(s).map_err(|e| MdsError::Malformed(e.to_string()))
}

/// How a BLOB is checked beyond its signature.
#[derive(Clone, Debug)]
pub struct BlobPolicy {
    /// The clock (certificate validity, nextUpdate).
    pub now: SystemTime,
    /// Accept a BLOB past its nextUpdate.
    pub allow_stale: bool,
    /// Accept SHA-1 signatures on the signing path.
    pub allow_sha1: bool,
    /// DER CRLs for the signing path (the MDS publishes them for its CAs).
    pub crls: Vec<Vec<u8>>,
}

impl BlobPolicy {
    /// The strict policy at `now`: a stale BLOB is refused, no SHA-1, no CRLs.
    pub fn at(now: SystemTime) -> Self {
        BlobPolicy {
            now,
            allow_stale: false,
            allow_sha1: false,
            crls: Vec::new(),
        }
    }
}

impl Metadata {
    /// Verifies a BLOB (compact JWT text) against `roots` (DER) at `now` and
    /// indexes it; a BLOB past its nextUpdate is refused.
    pub fn from_blob(blob: &str, roots: &[Vec<u8>], now: SystemTime) -> Result<Self, MdsError> {
        Self::from_blob_with(blob, roots, &BlobPolicy::at(now))
    }

    /// [`from_blob`](Self::from_blob) under an explicit policy.
    pub fn from_blob_with(
        blob: &str,
        roots: &[Vec<u8>],
        policy: &BlobPolicy,
    ) -> Result<Self, MdsError> {
        let blob = blob.trim();
        let parts: Vec<&str> = blob.split('.').collect();
        let [h64, p64, s64] = parts[..] else {
            return Err(MdsError::Malformed(format!(
                "expected 3 parts, found {}",
                parts.len()
            )));
        };
        let header: Value = serde_json::from_slice(&std_or_url_b64(h64)?)
            .map_err(|e| MdsError::Malformed(format!("header: {e}")))?;
        let signature = std_or_url_b64(s64)?;
        // The signing certificate path (x5c, leaf first) must lead to a configured root.
        let x5c: Vec<Vec<u8>> = header["x5c"]
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                MdsError::Malformed("header has no x5c (x5u is not fetched offline)".into())
            })?
            .iter()
            .map(|c| {
                c.as_str()
                    .ok_or_else(|| MdsError::Malformed("x5c entry is not a string".into()))
                    .and_then(std_or_url_b64)
            })
            .collect::<Result<_, _>>()?;
        x509::validate_path(
            &x5c,
            &x509::PathOptions {
                anchors: roots,
                now: policy.now,
                allow_sha1: policy.allow_sha1,
                crls: &policy.crls,
            },
        )?;
        let alg = header["alg"].as_str().unwrap_or_default();
        let scheme = SignatureScheme::from_jws_alg(alg)
            .ok_or_else(|| MdsError::Malformed(format!("unsupported alg {alg:?}")))?;
        let leaf = x509::parse(&x5c[0])?;
        let key = x509::spki_key(&leaf)?;
        let fixed = matches!(
            scheme,
            SignatureScheme::EcdsaSha256
                | SignatureScheme::EcdsaSha384
                | SignatureScheme::EcdsaSha512
        );
        verify_spki(
            scheme,
            key,
            leaf.public_key().raw,
            format!("{h64}.{p64}").as_bytes(),
            &signature,
            fixed,
        )
        .map_err(|e| MdsError::Signature(e.to_string()))?;
        let payload: Value = serde_json::from_slice(&std_or_url_b64(p64)?)
            .map_err(|e| MdsError::Malformed(format!("payload: {e}")))?;
        let md = Self::from_payload(&payload)?;
        // MDS3 §3.1.6: nextUpdate is the date by which a newer BLOB is published.
        let next = crate::time::parse_date(&md.next_update)
            .map_err(|e| MdsError::Malformed(format!("nextUpdate: {e}")))?;
        let today = crate::time::date_of(policy.now);
        if today > next && !policy.allow_stale {
            return Err(MdsError::Stale {
                next_update: md.next_update,
                today: today.to_string(),
            });
        }
        Ok(md)
    }

    fn from_payload(payload: &Value) -> Result<Self, MdsError> {
        let entries_json = payload["entries"]
            .as_array()
            .ok_or_else(|| MdsError::Malformed("payload has no entries array".into()))?;
        let mut entries = Vec::with_capacity(entries_json.len());
        for e in entries_json {
            let statement = &e["metadataStatement"];
            let roots = statement["attestationRootCertificates"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str())
                        .map(std_or_url_b64)
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default();
            let entry = MetadataEntry {
                aaguid: e["aaguid"].as_str().map(str::to_ascii_lowercase),
                attestation_certificate_key_identifiers: e["attestationCertificateKeyIdentifiers"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|k| k.as_str())
                            .map(str::to_ascii_lowercase)
                            .collect()
                    })
                    .unwrap_or_default(),
                description: statement["description"].as_str().map(str::to_owned),
                icon: statement["icon"].as_str().map(str::to_owned),
                attestation_root_certificates: roots,
                status_reports: e["statusReports"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| {
                                Some(StatusReport {
                                    status: r["status"].as_str()?.to_owned(),
                                    effective_date: r["effectiveDate"].as_str().map(str::to_owned),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            entries.push(entry);
        }
        Ok(Metadata::from_entries(
            payload["no"].as_u64().unwrap_or(0),
            payload["nextUpdate"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            entries,
        ))
    }

    /// Metadata from entries already verified elsewhere (or made by a test),
    /// indexed like a BLOB's.
    pub fn from_entries(no: u64, next_update: String, entries: Vec<MetadataEntry>) -> Self {
        let mut by_aaguid = HashMap::new();
        let mut by_key_id = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if let Some(a) = &e.aaguid {
                by_aaguid.insert(a.to_ascii_lowercase(), i);
            }
            for k in &e.attestation_certificate_key_identifiers {
                by_key_id.insert(k.to_ascii_lowercase(), i);
            }
        }
        Metadata {
            no,
            next_update,
            entries,
            rejected_statuses: DEFAULT_REJECTED_STATUSES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            by_aaguid,
            by_key_id,
        }
    }

    /// The entry for an AAGUID (UUID text, any case).
    pub fn by_aaguid(&self, aaguid: &str) -> Option<&MetadataEntry> {
        self.by_aaguid
            .get(&aaguid.to_ascii_lowercase())
            .map(|i| &self.entries[*i])
    }

    /// The entry for an attestation certificate key identifier (hex SHA-1 of the
    /// certificate's subjectPublicKey, MDS3 §3.1.1).
    pub fn by_key_identifier(&self, id: &str) -> Option<&MetadataEntry> {
        self.by_key_id
            .get(&id.to_ascii_lowercase())
            .map(|i| &self.entries[*i])
    }

    /// The entry for a registration: by AAGUID unless it is all zero, else by
    /// the attestation certificate's key identifier.
    pub(crate) fn entry_for(
        &self,
        aaguid: &str,
        leaf_der: Option<&[u8]>,
    ) -> Option<&MetadataEntry> {
        if aaguid != "00000000-0000-0000-0000-000000000000" {
            if let Some(e) = self.by_aaguid(aaguid) {
                return Some(e);
            }
        }
        let leaf = x509::parse(leaf_der?).ok()?;
        let id = hex::encode(keyhaven_crypto::digest::sha1(
            &leaf.public_key().subject_public_key.data,
        ));
        self.by_key_identifier(&id)
    }
}
