//! Moving passkeys in and out of the store with the FIDO Alliance Credential
//! Exchange Format (CXF v1.0, Proposed Standard 2025-08-14 with its errata of
//! 2026-03-09), through the `credential-exchange-format` types.
//!
//! What a passkey carries (CXF "PasskeyCredential"): its credential ID, RP ID,
//! user name, display name, user handle and private key (PKCS#8 DER), and the
//! "Fido2Extensions" data the store has: hmac-secret's two CredRandom values
//! ("hmacCredentials", algorithm `hmac-sha256`), the credBlob, the large blob
//! (its DEFLATE-compressed data and size) and thirdPartyPayment ("payments").
//!
//! Counters: CXF says passkeys whose signature counter is not zero MUST be
//! left out of an export, and an importer MUST set the counter to zero and
//! never increment it. So [`export`] leaves out (and counts) the credentials
//! whose counter moved, and [`import`] stores every passkey with a fixed
//! zero counter ([`StoredCredential::fixed_counter`]). An authenticator whose
//! passkeys are meant to move runs with
//! [`Settings::zero_counters`](crate::Settings::zero_counters).
//!
//! An import is all or nothing: every passkey is checked first (the key
//! parses, the extension data has the sizes CTAP gives it, no credential ID
//! is already in the store or twice in the document), then they are written
//! as one durable record ([`CredentialStore::put_all`]).
//!
//! ```
//! use keyhaven_authenticator::cxf::{self, ExportOptions};
//! use keyhaven_authenticator::MemoryStore;
//! let mut from = MemoryStore::new(10);
//! // … passkeys made by an authenticator over `from` …
//! let export = cxf::export(&from, &ExportOptions::new(0)).unwrap();
//! let mut to = MemoryStore::new(10);
//! let report = cxf::import(&mut to, &export.document, &Default::default()).unwrap();
//! assert_eq!(report.imported, export.exported);
//! ```

use crate::large_blobs::MAX_SERIALIZED;
use crate::store::{CredentialStore, StoreError, StoredCredential};
use credential_exchange_format as cx;
use keyhaven_crypto::signature::SigningKey;
use keyhaven_crypto::SecretBytes;
use keyhaven_ctap::large_blob;
use keyhaven_proto::b64;
use keyhaven_proto::ctap2::types::UserEntity;
use std::collections::HashSet;

/// The CXF document: a header with its accounts.
pub type Document = cx::Header;

/// The largest CXF document [`parse`] reads.
pub const MAX_DOCUMENT: usize = 64 << 20;
/// Longest credential ID accepted (CTAP 2.2 §6.1: at most 1023 bytes).
const MAX_CREDENTIAL_ID: usize = 1023;
/// Longest user handle accepted (L3 §5.4.3: at most 64 bytes).
const MAX_USER_HANDLE: usize = 64;
/// Longest RP ID accepted (a DNS name).
const MAX_RP_ID: usize = 253;
/// Longest user name or display name kept (CTAP 2.2 §6.1.2 lets an
/// authenticator truncate them to 64 bytes).
const MAX_NAME: usize = 64;

/// Why an export or an import failed.
#[derive(Debug, thiserror::Error)]
pub enum CxfError {
    /// Not a CXF document.
    #[error("not a CXF document: {0}")]
    Malformed(String),
    /// Larger than [`MAX_DOCUMENT`].
    #[error("the document is larger than {MAX_DOCUMENT} bytes")]
    TooLarge,
    /// An [`ImportOptions::cred_protect`] level CTAP does not define.
    #[error("credProtect level {0}: CTAP 2.2 §12.1 defines levels 1, 2 and 3")]
    CredProtectLevel(u8),
    /// A version this importer does not read (CXF: the major version changes
    /// with incompatible formats).
    #[error("CXF version {major}.{minor}: this importer reads version 1")]
    UnsupportedVersion {
        /// Its major version.
        major: u8,
        /// Its minor version.
        minor: u8,
    },
    /// A passkey that cannot be imported: where it is and why.
    #[error("{at}: {reason}")]
    BadPasskey {
        /// `accounts[i].items[j].credentials[k]` (and its RP ID when known).
        at: String,
        /// What is wrong.
        reason: String,
    },
    /// The store already holds a credential with this ID.
    #[error("{at}: credential {credential_id} for {rp_id} is already in the store")]
    AlreadyStored {
        /// Where in the document.
        at: String,
        /// base64url.
        credential_id: String,
        /// Its RP ID.
        rp_id: String,
    },
    /// The same credential ID twice in the document.
    #[error("{at}: credential {credential_id} appears twice in the document")]
    Duplicate {
        /// Where its second copy is.
        at: String,
        /// base64url.
        credential_id: String,
    },
    /// The large blobs would not fit the authenticator's array.
    #[error(
        "the large blobs need a {needed}-byte array; the authenticator holds {MAX_SERIALIZED}"
    )]
    LargeBlobsTooLarge {
        /// Bytes the array would take.
        needed: usize,
    },
    /// The store refused or failed (nothing was imported).
    #[error("credential store: {0}")]
    Store(#[from] StoreError),
    /// The system's random number generator failed (identifiers, keys).
    #[error("random bytes: {0}")]
    Random(String),
    /// A stored key could not be read or written.
    #[error("credential {credential_id}: {reason}")]
    Key {
        /// base64url.
        credential_id: String,
        /// What failed.
        reason: String,
    },
}

/// Who exports, and when.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The exporting app's RP ID (CXF "exporterRpId").
    pub exporter_rp_id: String,
    /// Its name shown to the user ("exporterDisplayName").
    pub exporter_display_name: String,
    /// UNIX time of the export, in seconds.
    pub timestamp: u64,
}

impl ExportOptions {
    /// keyhaven as the exporter, at `timestamp`.
    pub fn new(timestamp: u64) -> Self {
        ExportOptions {
            exporter_rp_id: "keyhaven.invalid".into(),
            exporter_display_name: "keyhaven software authenticator".into(),
            timestamp,
        }
    }
}

/// An export: the document and what it left out.
pub struct Export {
    /// The CXF document (it holds private keys).
    pub document: Document,
    /// Passkeys in it.
    pub exported: usize,
    /// Left out because their signature counter is not zero (CXF forbids
    /// exporting them).
    pub excluded_counting: usize,
    /// Left out because they are CTAP1/U2F credentials (no RP ID).
    pub excluded_u2f: usize,
    /// Exported passkeys whose credProtect level is 2 or 3: CXF cannot carry
    /// it, so an importer gives them its own default (keyhaven's: level 1
    /// unless [`ImportOptions::cred_protect`] says otherwise).
    pub protected: usize,
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Export({} passkeys, [REDACTED]; {} counting and {} U2F left out; {} protected)",
            self.exported, self.excluded_counting, self.excluded_u2f, self.protected
        )
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Passkeys stored.
    pub imported: usize,
    /// Credentials of other kinds (passwords, notes, …) passed over.
    pub skipped_other: usize,
}

/// How imported passkeys are stored: the authenticator's own limits, and
/// what CXF does not carry.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// maxCredBlobLength.
    pub max_cred_blob_length: usize,
    /// The credProtect level (CTAP 2.2 §12.1: 1 userVerificationOptional,
    /// 2 userVerificationOptionalWithCredentialIDList, 3
    /// userVerificationRequired) every imported passkey gets: CXF has no
    /// member for it. Default 1, CTAP's default; an export from a store whose
    /// passkeys were protected says how many were (see
    /// [`Export::protected`]).
    pub cred_protect: u8,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_cred_blob_length: crate::Settings::default().max_cred_blob_length,
            cred_protect: 1,
        }
    }
}

/// Reads a CXF document (JSON), refusing one larger than [`MAX_DOCUMENT`].
pub fn parse(json: &[u8]) -> Result<Document, CxfError> {
    if json.len() > MAX_DOCUMENT {
        return Err(CxfError::TooLarge);
    }
    serde_json::from_slice(json).map_err(|e| CxfError::Malformed(e.to_string()))
}

/// The document as JSON, in a buffer zeroized on drop (it holds private keys).
pub fn to_json(doc: &Document) -> Result<SecretBytes, CxfError> {
    serde_json::to_vec_pretty(doc)
        .map(SecretBytes::new)
        .map_err(|e| CxfError::Malformed(e.to_string()))
}

/// A random identifier for an account or item (CXF: machine generated,
/// opaque, at most 64 bytes).
fn random_id() -> Result<cx::B64Url, CxfError> {
    keyhaven_crypto::rand::vec(16)
        .map(cx::B64Url::from)
        .map_err(|e| CxfError::Random(e.to_string()))
}

/// Exports every passkey of the store whose counter is zero, as one account
/// with one item per passkey (titled with its RP ID).
pub fn export<S: CredentialStore>(store: &S, opts: &ExportOptions) -> Result<Export, CxfError> {
    let mut creds = store.all()?;
    creds.sort_by_key(|c| c.created);
    let array = store
        .large_blob_array()?
        .map(|a| large_blob::parse_array(&a))
        .unwrap_or_default();
    let (mut exported, mut excluded_counting, mut excluded_u2f, mut protected) = (0, 0, 0, 0);
    let mut items = Vec::new();
    for c in &creds {
        if c.rp_id.is_empty() {
            excluded_u2f += 1;
            continue;
        }
        if c.sign_count != 0 {
            excluded_counting += 1;
            continue;
        }
        let key_err = |reason: String| CxfError::Key {
            credential_id: b64::encode(&c.id),
            reason,
        };
        let alg = keyhaven_proto::cose::CoseAlgorithm::from_id(c.alg)
            .ok_or_else(|| key_err(format!("unknown algorithm {}", c.alg)))?;
        let key = SigningKey::from_private_bytes(alg, c.private_key.expose())
            .map_err(|e| key_err(e.to_string()))?;
        let pkcs8 = key.to_pkcs8().map_err(|e| key_err(e.to_string()))?;
        let large_blob = c.large_blob_key.as_ref().and_then(|k| {
            array.iter().find_map(|e| {
                let (data, size) = large_blob::open_entry_compressed(e, k.expose())?;
                // Only a blob that inflates to its stated size is worth moving.
                large_blob::inflate_exact(&data, size)?;
                Some(cx::Fido2LargeBlob {
                    uncompressed_size: size,
                    data: data.into(),
                })
            })
        });
        let extensions = cx::Fido2Extensions {
            hmac_credentials: c.cred_random.as_ref().map(|(without_uv, with_uv)| {
                cx::Fido2HmacCredentials {
                    algorithm: cx::Fido2HmacCredentialAlgorithm::HmacSha256,
                    cred_with_uv: with_uv.expose().into(),
                    cred_without_uv: without_uv.expose().into(),
                }
            }),
            cred_blob: c.cred_blob.as_deref().map(Into::into),
            large_blob,
            payments: c.third_party_payment.then_some(true),
        };
        let any_extension = extensions.hmac_credentials.is_some()
            || extensions.cred_blob.is_some()
            || extensions.large_blob.is_some()
            || extensions.payments.is_some();
        let passkey = cx::PasskeyCredential {
            credential_id: c.id.as_slice().into(),
            rp_id: c.rp_id.clone(),
            username: c.user.name.clone().unwrap_or_default(),
            user_display_name: c.user.display_name.clone().unwrap_or_default(),
            user_handle: c.user.id.as_slice().into(),
            key: pkcs8.expose().into(),
            fido2_extensions: any_extension.then_some(extensions),
        };
        items.push(cx::Item {
            id: random_id()?,
            creation_at: None,
            modified_at: None,
            title: c.rp_id.clone(),
            subtitle: c.user.name.clone(),
            favorite: None,
            scope: None,
            credentials: vec![cx::Credential::Passkey(Box::new(passkey))],
            tags: None,
            extensions: None,
        });
        exported += 1;
        if c.cred_protect > 1 {
            protected += 1;
        }
    }
    let document = cx::Header {
        version: cx::Version { major: 1, minor: 0 },
        exporter_rp_id: opts.exporter_rp_id.clone(),
        exporter_display_name: opts.exporter_display_name.clone(),
        timestamp: opts.timestamp,
        accounts: vec![cx::Account {
            id: random_id()?,
            username: String::new(),
            email: String::new(),
            full_name: None,
            collections: vec![],
            items,
            extensions: None,
        }],
    };
    Ok(Export {
        document,
        exported,
        excluded_counting,
        excluded_u2f,
        protected,
    })
}

/// A user name or display name as the store keeps it: at most 64 bytes, cut
/// at a character boundary; empty is none.
fn name(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    let mut end = s.len().min(MAX_NAME);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Some(s[..end].to_owned())
}

/// An RP ID a browser could have given: a DNS name in ASCII (IDNs in their
/// A-label form), lowercase, without a trailing dot.
fn valid_rp_id(rp_id: &str) -> bool {
    !rp_id.is_empty()
        && rp_id.len() <= MAX_RP_ID
        && !rp_id.ends_with('.')
        && rp_id.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// A large blob as CXF carries it: DEFLATE-compressed data and its size.
type CompressedBlob = (Vec<u8>, u64);

/// One passkey of the document, checked, as the store keeps it (its large
/// blob, if any, still to be sealed).
fn stored_from(
    p: &cx::PasskeyCredential,
    options: &ImportOptions,
    bad: &dyn Fn(String) -> CxfError,
) -> Result<(StoredCredential, Option<CompressedBlob>), CxfError> {
    let id = p.credential_id.as_ref().to_vec();
    if id.is_empty() || id.len() > MAX_CREDENTIAL_ID {
        return Err(bad(format!(
            "credentialId: {} bytes (1 to {MAX_CREDENTIAL_ID})",
            id.len()
        )));
    }
    if !valid_rp_id(&p.rp_id) {
        return Err(bad(format!(
            "rpId {:?} is not a lowercase ASCII domain name",
            p.rp_id
        )));
    }
    let handle = p.user_handle.as_ref().to_vec();
    if handle.is_empty() || handle.len() > MAX_USER_HANDLE {
        return Err(bad(format!(
            "userHandle: {} bytes (1 to {MAX_USER_HANDLE})",
            handle.len()
        )));
    }
    let key = SigningKey::from_pkcs8_any(p.key.as_ref()).map_err(|e| bad(format!("key: {e}")))?;
    let private_key = key
        .to_private_bytes()
        .map_err(|e| bad(format!("key: {e}")))?;
    let ext = p.fido2_extensions.clone().unwrap_or_default();
    let cred_random = match &ext.hmac_credentials {
        None => None,
        Some(h) => {
            if !matches!(h.algorithm, cx::Fido2HmacCredentialAlgorithm::HmacSha256) {
                return Err(bad(
                    "hmacCredentials: an algorithm other than hmac-sha256".into()
                ));
            }
            let (with_uv, without_uv) = (h.cred_with_uv.as_ref(), h.cred_without_uv.as_ref());
            if with_uv.len() != 32 || without_uv.len() != 32 {
                return Err(bad(format!(
                    "hmacCredentials: credWithUV and credWithoutUV must be 32 bytes (found {} and {})",
                    with_uv.len(),
                    without_uv.len()
                )));
            }
            Some((
                SecretBytes::new(without_uv.to_vec()),
                SecretBytes::new(with_uv.to_vec()),
            ))
        }
    };
    if let Some(b) = &ext.cred_blob {
        if b.as_ref().len() > options.max_cred_blob_length {
            return Err(bad(format!(
                "credBlob: {} bytes; this authenticator keeps at most {}",
                b.as_ref().len(),
                options.max_cred_blob_length
            )));
        }
    }
    let blob = match &ext.large_blob {
        None => None,
        Some(lb) => {
            if large_blob::inflate_exact(lb.data.as_ref(), lb.uncompressed_size).is_none() {
                return Err(bad(format!(
                    "largeBlob: the data does not inflate (DEFLATE) to its uncompressedSize {}",
                    lb.uncompressed_size
                )));
            }
            Some((lb.data.as_ref().to_vec(), lb.uncompressed_size))
        }
    };
    let large_blob_key = match blob {
        Some(_) => Some(SecretBytes::new(
            keyhaven_crypto::rand::vec(32).map_err(|e| CxfError::Random(e.to_string()))?,
        )),
        None => None,
    };
    let cred = StoredCredential {
        rp_id_hash: keyhaven_crypto::digest::sha256(p.rp_id.as_bytes()),
        rp_id: p.rp_id.clone(),
        user: UserEntity {
            id: handle,
            name: name(&p.username),
            display_name: name(&p.user_display_name),
        },
        alg: key.algorithm().id(),
        private_key,
        // CXF: an importer sets the counter to zero and never increments it.
        sign_count: 0,
        fixed_counter: true,
        // A passkey is a discoverable credential.
        discoverable: true,
        // CXF carries no credProtect: the level the importer chose.
        cred_protect: options.cred_protect,
        cred_random,
        cred_blob: ext.cred_blob.map(|b| b.as_ref().to_vec()),
        large_blob_key,
        third_party_payment: ext.payments == Some(true),
        created: 0,
        id,
    };
    Ok((cred, blob))
}

/// Imports every passkey of `doc` into `store`, or none: see the module
/// documentation. Credentials of other kinds are passed over and counted.
pub fn import<S: CredentialStore>(
    store: &mut S,
    doc: &Document,
    options: &ImportOptions,
) -> Result<ImportReport, CxfError> {
    if !(1..=3).contains(&options.cred_protect) {
        return Err(CxfError::CredProtectLevel(options.cred_protect));
    }
    if doc.version.major != 1 {
        return Err(CxfError::UnsupportedVersion {
            major: doc.version.major,
            minor: doc.version.minor,
        });
    }
    // One read of the store: the IDs already there, and the newest creation.
    let existing = store.all()?;
    let mut next_created = existing.iter().map(|c| c.created).max().unwrap_or(0);
    let stored: HashSet<Vec<u8>> = existing.into_iter().map(|c| c.id).collect();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut report = ImportReport::default();
    let mut creds = Vec::new();
    let mut array = store
        .large_blob_array()?
        .map(|a| large_blob::parse_array(&a))
        .unwrap_or_default();
    let mut blobs_added = false;
    for (i, account) in doc.accounts.iter().enumerate() {
        for (j, item) in account.items.iter().enumerate() {
            for (k, credential) in item.credentials.iter().enumerate() {
                let at = format!("accounts[{i}].items[{j}].credentials[{k}]");
                let p = match credential {
                    cx::Credential::Passkey(p) => p,
                    // A passkey the types could not read lands here: say why.
                    cx::Credential::Unknown { ty, content } if ty == "passkey" => {
                        let why = serde_json::from_value::<cx::PasskeyCredential>(
                            serde_json::Value::Object(content.clone()),
                        )
                        .err()
                        .map_or_else(|| "malformed".to_owned(), |e| e.to_string());
                        return Err(CxfError::BadPasskey {
                            at,
                            reason: format!("not a valid passkey: {why}"),
                        });
                    }
                    _ => {
                        report.skipped_other += 1;
                        continue;
                    }
                };
                let where_ = format!("{at} ({})", p.rp_id);
                let bad = |reason: String| CxfError::BadPasskey {
                    at: where_.clone(),
                    reason,
                };
                let (mut cred, blob) = stored_from(p, options, &bad)?;
                let id64 = b64::encode(&cred.id);
                if !seen.insert(cred.id.clone()) {
                    return Err(CxfError::Duplicate {
                        at,
                        credential_id: id64,
                    });
                }
                if stored.contains(&cred.id) {
                    return Err(CxfError::AlreadyStored {
                        at,
                        credential_id: id64,
                        rp_id: cred.rp_id,
                    });
                }
                if let (Some((data, size)), Some(key)) = (blob, &cred.large_blob_key) {
                    array.push(
                        large_blob::seal_compressed(key.expose(), &data, size)
                            .map_err(|e| bad(e.to_string()))?,
                    );
                    blobs_added = true;
                }
                next_created += 1;
                cred.created = next_created;
                creds.push(cred);
            }
        }
    }
    let new_array = if blobs_added {
        let serialized = large_blob::serialize_array(array);
        if serialized.len() > MAX_SERIALIZED {
            return Err(CxfError::LargeBlobsTooLarge {
                needed: serialized.len(),
            });
        }
        Some(serialized)
    } else {
        None
    };
    report.imported = creds.len();
    if !creds.is_empty() || new_array.is_some() {
        store.put_all(creds, new_array)?;
    }
    Ok(report)
}
