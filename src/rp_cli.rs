//! `keyhaven rp verify-registration` / `verify-authentication`: flag parsing and
//! I/O around keyhaven-rp. Exit codes: 0 verified (record on stdout), 1 refused
//! (JSON error naming the step on stdout), 2 unreadable input (one line on stderr).

use clap::Args;
use keyhaven_proto::b64;
use keyhaven_proto::cbor::CborPolicy;
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::json::{AuthenticationResponseJson, RegistrationResponseJson};
use keyhaven_rp::config::MissingTopOrigin;
use keyhaven_rp::options::{AuthenticationState, RegistrationState};
use keyhaven_rp::{CredentialRecord, RpConfig};
use std::process::ExitCode;

/// Flags shared by both verifications.
#[derive(Args)]
pub struct Common {
    /// The response JSON (RegistrationResponseJSON / AuthenticationResponseJSON): a file, or - for stdin.
    #[arg(default_value = "-")]
    file: String,
    /// The RP ID.
    #[arg(long)]
    rp_id: String,
    /// An allowed origin (repeatable; default https://<rp-id>).
    #[arg(long = "origin")]
    origins: Vec<String>,
    /// An allowed top origin for cross-origin use (repeatable).
    #[arg(long = "top-origin")]
    top_origins: Vec<String>,
    /// Accept crossOrigin: true (without --top-origin, a missing topOrigin is accepted too).
    #[arg(long)]
    allow_cross_origin: bool,
    /// The challenge issued for this ceremony (base64url).
    #[arg(long)]
    challenge: String,
    /// Require user verification (the UV flag).
    #[arg(long)]
    require_uv: bool,
    /// A PEM file of attestation trust roots (repeatable). With roots, attestation must chain to one.
    #[arg(long = "trust-root")]
    trust_roots: Vec<String>,
    /// The clock for certificate validity (RFC 3339), default: now.
    #[arg(long)]
    now: Option<String>,
    /// A FIDO MDS3 metadata BLOB (JWT file): its entries are trust anchors and status policy.
    #[arg(long)]
    mds: Option<String>,
    /// PEM root(s) the MDS BLOB's signing path must chain to (repeatable; default: the --trust-root files).
    #[arg(long = "mds-root")]
    mds_roots: Vec<String>,
    /// A certificate revocation list, DER or PEM (repeatable). A certificate on an attestation
    /// (or MDS signing) path that a CRL of its issuer lists is refused; the CRL's signature and
    /// validity are checked.
    #[arg(long = "crl")]
    crls: Vec<String>,
    /// Accept SHA-1 signatures on attestation certificates and CRLs (legacy fido-u2f / TPM roots).
    #[arg(long)]
    allow_sha1: bool,
    /// Accept an MDS BLOB past its nextUpdate.
    #[arg(long)]
    mds_allow_stale: bool,
    /// Require CTAP2 canonical CBOR in the attestation object and authenticator data, and
    /// refuse attStmt members a format does not define (default: any well-formed CBOR).
    #[arg(long)]
    strict_cbor: bool,
}

/// Flags of verify-registration.
#[derive(Args)]
pub struct RegistrationArgs {
    #[command(flatten)]
    common: Common,
    /// The user handle the options were issued for (base64url), stored in the record.
    #[arg(long)]
    user_handle: Option<String>,
}

/// Flags of verify-authentication.
#[derive(Args)]
pub struct AuthenticationArgs {
    #[command(flatten)]
    common: Common,
    /// The stored credential record (JSON, as verify-registration prints it).
    #[arg(long)]
    credential: String,
}

fn unreadable(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("keyhaven: error: {msg}");
    ExitCode::from(2)
}

/// An MDS3 BLOB file verified against the PEM roots in `roots` (MDS3 §3.2).
pub fn load_mds(
    path: &str,
    roots: &[String],
    policy: &keyhaven_rp::mds::BlobPolicy,
) -> Result<keyhaven_rp::mds::Metadata, String> {
    if roots.is_empty() {
        return Err("--mds needs --mds-root: the BLOB must chain to a root you configure".into());
    }
    let mut ders = Vec::new();
    for root in roots {
        let text =
            String::from_utf8(read(root)?).map_err(|_| format!("{root}: not a PEM text file"))?;
        ders.extend(
            keyhaven_rp::util::pem_certificates(&text).map_err(|e| format!("{root}: {e}"))?,
        );
    }
    let blob =
        String::from_utf8(read(path)?).map_err(|_| format!("{path}: not a JWT text file"))?;
    keyhaven_rp::mds::Metadata::from_blob_with(&blob, &ders, policy)
        .map_err(|e| format!("{path}: {e}"))
}

pub(crate) fn read(path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut buf = Vec::new();
    let r = if path == "-" {
        std::io::stdin().read_to_end(&mut buf).map(|_| ())
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map(|_| ())
    };
    r.map(|_| buf)
        .map_err(|e| format!("cannot read {path}: {e}"))
}

fn config(c: &Common) -> Result<(RpConfig, Vec<u8>), String> {
    let mut cfg = RpConfig::new(c.rp_id.clone(), c.rp_id.clone());
    if !c.origins.is_empty() {
        cfg.origins = c.origins.clone();
    }
    cfg.allow_cross_origin = c.allow_cross_origin;
    cfg.top_origins = c.top_origins.clone();
    if c.allow_cross_origin && c.top_origins.is_empty() {
        cfg.missing_top_origin = MissingTopOrigin::Allow;
    }
    cfg.algorithms = CoseAlgorithm::ALL.to_vec();
    if c.strict_cbor {
        cfg.cbor_policy = CborPolicy::Strict;
    }
    for path in &c.trust_roots {
        let text =
            String::from_utf8(read(path)?).map_err(|_| format!("{path}: not a PEM text file"))?;
        let certs =
            keyhaven_rp::util::pem_certificates(&text).map_err(|e| format!("{path}: {e}"))?;
        cfg.attestation.trust_anchors.extend(certs);
    }
    for path in &c.crls {
        let crls = keyhaven_rp::util::crls(&read(path)?).map_err(|e| format!("{path}: {e}"))?;
        cfg.attestation.crls.extend(crls);
    }
    cfg.attestation.allow_sha1 = c.allow_sha1;
    cfg.attestation.require_trusted = !cfg.attestation.trust_anchors.is_empty();
    if let Some(now) = &c.now {
        let t = keyhaven_rp::time::parse_rfc3339(now).map_err(|e| format!("--now: {e}"))?;
        cfg.clock = keyhaven_rp::time::Clock::fixed(t);
    }
    if let Some(path) = &c.mds {
        let policy = keyhaven_rp::mds::BlobPolicy {
            now: cfg.clock.now(),
            allow_stale: c.mds_allow_stale,
            allow_sha1: c.allow_sha1,
            crls: cfg.attestation.crls.clone(),
        };
        let md = load_mds(path, &c.mds_roots, &policy)?;
        cfg.attestation.mds = Some(std::sync::Arc::new(md));
        cfg.attestation.require_trusted = true;
    }
    let challenge = b64::decode(&c.challenge).map_err(|e| format!("--challenge: {e}"))?;
    Ok((cfg, challenge))
}

fn refused(e: keyhaven_rp::VerifyError) -> ExitCode {
    println!(
        "{}",
        serde_json::to_string_pretty(&e.to_json()).unwrap_or_default()
    );
    ExitCode::from(1)
}

fn print_record(r: &CredentialRecord) -> ExitCode {
    match serde_json::to_string_pretty(r) {
        Ok(s) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => unreadable(e),
    }
}

/// keyhaven rp verify-registration.
pub fn verify_registration(a: RegistrationArgs) -> ExitCode {
    let (cfg, challenge) = match config(&a.common) {
        Ok(x) => x,
        Err(e) => return unreadable(e),
    };
    let user_handle = match a.user_handle.as_deref().map(b64::decode).transpose() {
        Ok(h) => h.unwrap_or_default(),
        Err(e) => return unreadable(format!("--user-handle: {e}")),
    };
    let input = match read(&a.common.file) {
        Ok(b) => b,
        Err(e) => return unreadable(e),
    };
    let response: RegistrationResponseJson = match serde_json::from_slice(&input) {
        Ok(r) => r,
        Err(e) => {
            return unreadable(format!(
                "{}: not a RegistrationResponseJSON: {e}",
                a.common.file
            ))
        }
    };
    let state = RegistrationState {
        challenge,
        user_handle,
        algorithms: cfg.algorithms.iter().map(|a| a.id()).collect(),
        user_verification_required: a.common.require_uv,
        conditional_mediation: false,
        extensions: None,
    };
    match keyhaven_rp::verify_registration(&cfg, &response, &state, |_| false) {
        Ok(mut r) => {
            if r.record.user_handle.as_ref().is_some_and(Vec::is_empty) {
                r.record.user_handle = None;
            }
            print_record(&r.record)
        }
        Err(e) => refused(e),
    }
}

/// keyhaven rp verify-authentication.
pub fn verify_authentication(a: AuthenticationArgs) -> ExitCode {
    let (cfg, challenge) = match config(&a.common) {
        Ok(x) => x,
        Err(e) => return unreadable(e),
    };
    let record: CredentialRecord = match read(&a.credential).and_then(|b| {
        serde_json::from_slice(&b)
            .map_err(|e| format!("{}: not a credential record: {e}", a.credential))
    }) {
        Ok(r) => r,
        Err(e) => return unreadable(e),
    };
    let input = match read(&a.common.file) {
        Ok(b) => b,
        Err(e) => return unreadable(e),
    };
    let response: AuthenticationResponseJson = match serde_json::from_slice(&input) {
        Ok(r) => r,
        Err(e) => {
            return unreadable(format!(
                "{}: not an AuthenticationResponseJSON: {e}",
                a.common.file
            ))
        }
    };
    // The user is identified by the record given; a record stored without a
    // user handle carries no account binding to check.
    let mut record = record;
    let identified = match &record.user_handle {
        Some(h) => h.clone(),
        None => {
            let h = response.response.user_handle.clone().unwrap_or_default();
            record.user_handle = Some(h.clone());
            h
        }
    };
    let state = AuthenticationState {
        challenge,
        allow_credentials: Vec::new(),
        user_handle: Some(identified),
        user_verification_required: a.common.require_uv,
        extensions: None,
    };
    match keyhaven_rp::verify_authentication(&cfg, &response, &state, |_| Some(record)) {
        Ok(r) => print_record(&r.record),
        Err(e) => refused(e),
    }
}
