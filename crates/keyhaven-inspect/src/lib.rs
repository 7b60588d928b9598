//! # keyhaven-inspect
//!
//! The engine of `keyhaven inspect`: takes a WebAuthn / CTAP blob in any of
//! the usual encodings, works out what it is, decodes it with
//! `keyhaven-proto`, and describes it as an ordered JSON tree that renders
//! either as annotated text or as machine-readable JSON.
//!
//! ```
//! use keyhaven_inspect::{inspect, Kind};
//! // Authenticator data: rpIdHash (32 bytes), flags UP|UV, signCount 5, as hex.
//! let hex = format!("{}{}{}", "00".repeat(32), "05", "00000005");
//! let report = inspect(hex.as_bytes(), None).unwrap();
//! assert_eq!(report.kind, Kind::AuthenticatorData);
//! assert!(report.to_text().contains("UP UV"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod describe;
mod detect;
mod render;

pub use detect::{decode_as, decode_text_encoding, Encoding};

use serde_json::Value as Json;

/// What the input was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Authenticator data (L3 §6.1).
    AuthenticatorData,
    /// An attestation object (L3 §6.5.4).
    AttestationObject,
    /// clientDataJSON (L3 §5.8.1).
    ClientDataJson,
    /// A COSE_Key (RFC 9052 §7).
    CoseKey,
    /// A CTAP2 request message (CTAP 2.2 §6).
    CtapRequest,
    /// A CTAP2 response message (CTAP 2.2 §6).
    CtapResponse,
    /// RegistrationResponseJSON.
    RegistrationResponseJson,
    /// AuthenticationResponseJSON.
    AuthenticationResponseJson,
    /// PublicKeyCredentialCreationOptionsJSON.
    CreationOptionsJson,
    /// PublicKeyCredentialRequestOptionsJSON.
    RequestOptionsJson,
}

impl Kind {
    /// Every kind, in the order detection tries them.
    pub const ALL: [Kind; 10] = [
        Kind::RegistrationResponseJson,
        Kind::AuthenticationResponseJson,
        Kind::CreationOptionsJson,
        Kind::RequestOptionsJson,
        Kind::ClientDataJson,
        Kind::AttestationObject,
        Kind::CoseKey,
        Kind::CtapRequest,
        Kind::CtapResponse,
        Kind::AuthenticatorData,
    ];

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::AuthenticatorData => "authenticatorData",
            Kind::AttestationObject => "attestationObject",
            Kind::ClientDataJson => "clientDataJSON",
            Kind::CoseKey => "COSE_Key",
            Kind::CtapRequest => "CTAP2 request",
            Kind::CtapResponse => "CTAP2 response",
            Kind::RegistrationResponseJson => "RegistrationResponseJSON",
            Kind::AuthenticationResponseJson => "AuthenticationResponseJSON",
            Kind::CreationOptionsJson => "PublicKeyCredentialCreationOptionsJSON",
            Kind::RequestOptionsJson => "PublicKeyCredentialRequestOptionsJSON",
        }
    }

    /// Parses a command-line name (case-insensitive; short aliases accepted).
    pub fn from_name(s: &str) -> Option<Kind> {
        let s = s.to_ascii_lowercase();
        Some(match s.as_str() {
            "authdata" | "authenticatordata" => Kind::AuthenticatorData,
            "attestation" | "attestationobject" => Kind::AttestationObject,
            "clientdata" | "clientdatajson" => Kind::ClientDataJson,
            "cose" | "cosekey" | "cose_key" => Kind::CoseKey,
            "ctap-request" | "request" => Kind::CtapRequest,
            "ctap-response" | "response" => Kind::CtapResponse,
            "registration" | "registrationresponsejson" => Kind::RegistrationResponseJson,
            "authentication" | "authenticationresponsejson" => Kind::AuthenticationResponseJson,
            "creation-options" | "creationoptions" => Kind::CreationOptionsJson,
            "request-options" | "requestoptions" => Kind::RequestOptionsJson,
            _ => return None,
        })
    }
}

/// Why the input could not be inspected: one line, naming what failed and where.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// Nothing to inspect.
    #[error("input is empty")]
    Empty,
    /// The input is text but not valid in the encoding it appears to use.
    #[error("input looks like {encoding} but is not valid: {reason}")]
    Encoding {
        /// Which encoding.
        encoding: &'static str,
        /// What is wrong, with the character offset.
        reason: String,
    },
    /// The input was decoded as a kind but is malformed.
    #[error("not a valid {kind}: {reason}")]
    Malformed {
        /// The kind tried.
        kind: &'static str,
        /// The decoder's error (with byte offset where it has one).
        reason: String,
    },
    /// The input matches no known kind.
    #[error("unrecognised input ({len} bytes): {reason}")]
    Unrecognised {
        /// Decoded length.
        len: usize,
        /// The most specific failure seen.
        reason: String,
    },
}

/// A decoded, described input.
#[derive(Debug, Clone)]
pub struct Report {
    /// What it is.
    pub kind: Kind,
    /// How the input was encoded.
    pub encoding: Encoding,
    /// The description (an ordered JSON object).
    pub tree: Json,
}

impl Report {
    /// Annotated, indented text.
    pub fn to_text(&self) -> String {
        render::text(self)
    }

    /// Machine-readable JSON (`{"kind", "encoding", "value"}`).
    pub fn to_json(&self) -> String {
        let v = serde_json::json!({
            "kind": self.kind.name(),
            "encoding": self.encoding.name(),
            "value": self.tree,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }
}

/// Inspects `input` (raw bytes, hex, base64url, base64 or JSON text). With
/// `kind`, the input must be that kind; otherwise the kind is detected.
pub fn inspect(input: &[u8], kind: Option<Kind>) -> Result<Report, InspectError> {
    inspect_with(input, kind, None)
}

/// Like [`inspect`], with the input encoding given instead of detected.
pub fn inspect_with(
    input: &[u8],
    kind: Option<Kind>,
    encoding: Option<Encoding>,
) -> Result<Report, InspectError> {
    let (encoding, bytes) = match encoding {
        Some(e) => (e, detect::decode_as(input, e)?),
        None => detect::decode_text_encoding(input)?,
    };
    let (kind, tree) = match kind {
        Some(k) => (
            k,
            describe::describe(k, &bytes).map_err(|reason| malformed(k, reason))?,
        ),
        None => detect::detect(&bytes)?,
    };
    Ok(Report {
        kind,
        encoding,
        tree,
    })
}

pub(crate) fn malformed(kind: Kind, reason: String) -> InspectError {
    // The decoders' messages usually start with the structure's name already.
    let reason = match reason.strip_prefix(kind.name()) {
        Some(rest) if rest.starts_with(':') => rest[1..].trim_start().to_owned(),
        _ => reason,
    };
    InspectError::Malformed {
        kind: kind.name(),
        reason,
    }
}
