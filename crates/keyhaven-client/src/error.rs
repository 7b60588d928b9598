//! The client's errors, each mapped to the DOMException name a browser reports
//! (L3 §5.1.3 "Create Request Exceptions", §5.1.4 "Get Request Exceptions").

use crate::origin::OriginError;
use keyhaven_proto::ctap2::StatusCode;

/// A DOMException name (the `name` a browser's exception carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomException {
    /// The catch-all: the user cancelled, no authenticator answered, a timeout.
    NotAllowedError,
    /// An excluded credential was recognized (after user consent).
    InvalidStateError,
    /// The origin or RP ID is not allowed.
    SecurityError,
    /// No supported algorithm or credential type; unsupported option combination.
    NotSupportedError,
    /// residentKey or userVerification required and no authenticator can.
    ConstraintError,
    /// The caller's AbortSignal fired.
    AbortError,
    /// Malformed input (a WebIDL TypeError).
    TypeError,
    /// Malformed extension input (prf evalByCredential keys).
    SyntaxError,
}

impl DomException {
    /// The name as JavaScript reports it.
    pub fn name(self) -> &'static str {
        match self {
            DomException::NotAllowedError => "NotAllowedError",
            DomException::InvalidStateError => "InvalidStateError",
            DomException::SecurityError => "SecurityError",
            DomException::NotSupportedError => "NotSupportedError",
            DomException::ConstraintError => "ConstraintError",
            DomException::AbortError => "AbortError",
            DomException::TypeError => "TypeError",
            DomException::SyntaxError => "SyntaxError",
        }
    }
}

impl std::fmt::Display for DomException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A failure of the transport to an authenticator (not a CTAP status).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Reading or writing failed.
    #[error("authenticator I/O: {0}")]
    Io(String),
    /// The authenticator went away.
    #[error("the authenticator disconnected")]
    Disconnected,
    /// The authenticator sent something that is not a valid frame or message.
    #[error("malformed answer from the authenticator: {0}")]
    Malformed(String),
    /// The request was cancelled (abort signal, timeout, or another authenticator won).
    #[error("cancelled")]
    Cancelled,
    /// A CTAPHID error report.
    #[error("CTAPHID error 0x{0:02x}")]
    Hid(u8),
    /// The transport does not carry this protocol (CTAP1 on a CTAP2-only link).
    #[error("the transport does not carry CTAP1/U2F")]
    Unsupported,
}

impl From<std::io::Error> for TransportError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::BrokenPipe => {
                TransportError::Disconnected
            }
            _ => TransportError::Io(e.to_string()),
        }
    }
}

/// Why `create()` or `get()` failed. Every variant names the step that failed;
/// [`ClientError::dom_exception`] gives the name a browser would report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The origin or RP ID check failed (L3 §5.1.3 steps 6–8, §5.1.4.1 steps 6–8).
    #[error(transparent)]
    Origin(#[from] OriginError),
    /// §5.11: the related origins document did not list the caller's origin.
    #[error("L3 §5.11: {origin} is not a related origin of RP ID {rp_id:?}: {reason}")]
    RelatedOrigins {
        /// The caller's origin.
        origin: String,
        /// The RP ID asked for.
        rp_id: String,
        /// Why it was refused.
        reason: String,
    },
    /// §5.1.3 step 5: user.id must be 1 to 64 bytes.
    #[error("L3 §5.1.3 step 5: user.id must be 1 to 64 bytes, found {0}")]
    UserIdLength(usize),
    /// §5.1.3 step 10: no pubKeyCredParams entry of type "public-key".
    #[error("L3 §5.1.3 step 10: no pubKeyCredParams entry has type \"public-key\"")]
    NoSupportedCredentialType,
    /// An option is malformed (TypeError).
    #[error("{0}")]
    InvalidOptions(String),
    /// The prf extension input is not allowed here (NotSupportedError).
    #[error("L3 §10.1.4: {0}")]
    PrfNotSupported(&'static str),
    /// A prf evalByCredential key is not a base64url ID from allowCredentials (SyntaxError).
    #[error("L3 §10.1.4: evalByCredential key {0:?} is not the base64url ID of an allowCredentials entry")]
    PrfBadKey(String),
    /// A largeBlob input not allowed in this ceremony (NotSupportedError).
    #[error("L3 §10.1.5: largeBlob {0}")]
    LargeBlobNotSupported(&'static str),
    /// The appid extension's AppID does not belong to the caller (SecurityError).
    #[error("L3 §10.1.1: {0}")]
    AppIdNotAllowed(String),
    /// The caller aborted.
    #[error("the operation was aborted")]
    Aborted,
    /// The ceremony timer expired.
    #[error("the operation timed out after {0} ms")]
    Timeout(u64),
    /// No available authenticator satisfied the options (attachment, rk, uv).
    #[error("no available authenticator {0}")]
    NoAuthenticator(String),
    /// residentKey / userVerification required and no authenticator can (ConstraintError).
    #[error("{0}")]
    Constraint(String),
    /// No requested algorithm is supported by the authenticator (NotSupportedError).
    #[error("the authenticator supports none of the requested algorithms {0:?}")]
    UnsupportedAlgorithm(Vec<i64>),
    /// An excludeCredentials entry is on the authenticator (InvalidStateError).
    #[error("the authenticator already holds a credential from excludeCredentials")]
    CredentialExcluded,
    /// The authenticator has none of the allowed credentials, or no discoverable one.
    #[error("the authenticator has no credential for RP ID {0:?} matching the request")]
    NoCredentials(String),
    /// The user refused or did not answer.
    #[error("the user did not approve ({0})")]
    UserRefused(String),
    /// PIN needed and none given, or it was wrong.
    #[error("PIN: {0}")]
    Pin(String),
    /// The authenticator answered with an error status.
    #[error("the authenticator answered {0}")]
    Status(StatusCode),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The authenticator's answer is malformed or inconsistent with the request.
    #[error("bad authenticator response: {0}")]
    BadResponse(String),
    /// An extension failed in a way that fails the ceremony.
    #[error("extension {0}: {1}")]
    Extension(&'static str, String),
}

impl ClientError {
    /// The DOMException a browser would throw for this failure.
    pub fn dom_exception(&self) -> DomException {
        use ClientError::*;
        match self {
            Origin(e) => match e.dom_exception_name() {
                "NotAllowedError" => DomException::NotAllowedError,
                _ => DomException::SecurityError,
            },
            RelatedOrigins { .. } | AppIdNotAllowed(_) => DomException::SecurityError,
            UserIdLength(_) | InvalidOptions(_) => DomException::TypeError,
            NoSupportedCredentialType
            | UnsupportedAlgorithm(_)
            | PrfNotSupported(_)
            | LargeBlobNotSupported(_) => DomException::NotSupportedError,
            PrfBadKey(_) => DomException::SyntaxError,
            Aborted => DomException::AbortError,
            Constraint(_) => DomException::ConstraintError,
            CredentialExcluded => DomException::InvalidStateError,
            Timeout(_) | NoAuthenticator(_) | NoCredentials(_) | UserRefused(_) | Pin(_)
            | Status(_) | Transport(_) | BadResponse(_) | Extension(..) => {
                DomException::NotAllowedError
            }
        }
    }

    /// How much this failure says, for choosing one when every authenticator
    /// failed: InvalidStateError (consented) first, then specific failures.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            ClientError::CredentialExcluded => 9,
            ClientError::Aborted => 8,
            ClientError::UnsupportedAlgorithm(_) => 7,
            ClientError::Pin(_) => 6,
            ClientError::UserRefused(_) => 5,
            ClientError::NoCredentials(_) => 4,
            ClientError::Constraint(_) => 3,
            ClientError::Timeout(_) => 2,
            ClientError::NoAuthenticator(_) => 0,
            _ => 1,
        }
    }
}
