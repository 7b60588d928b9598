//! The one error type of the relying party: one variant per failed check, each
//! naming its spec step and what was expected versus found. No secrets,
//! challenges are shown only as "expected/found differ".

use keyhaven_crypto::CryptoError;

/// Where a check lives in the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ceremony {
    /// L3 §7.1 registration.
    Registration,
    /// L3 §7.2 authentication.
    Authentication,
}

/// What failed inside an attestation statement format's verification procedure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationFailure {
    /// A certificate of the statement (x5c, the AIK, the SafetyNet signer) was refused.
    #[error("certificate: {0}")]
    Certificate(#[from] crate::x509::X509Error),
    /// The id-fido-gen-ce-aaguid certificate extension was refused.
    #[error("{0}")]
    AaguidExtension(#[from] crate::x509::AaguidExtensionError),
    /// attStmt is not the CBOR type the format defines.
    #[error("attStmt is not a {0}")]
    StatementType(&'static str),
    /// A member the format does not define (refused under the strict CBOR policy).
    #[error("unexpected attStmt member {0}")]
    UnexpectedMember(String),
    /// A required member is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A member has another CBOR type than the format defines.
    #[error("{member} is not {expected}")]
    WrongType {
        /// The member.
        member: &'static str,
        /// The type the format defines ("a byte string", …).
        expected: &'static str,
    },
    /// `alg` names an algorithm this RP does not know.
    #[error("unsupported alg {0}")]
    UnsupportedAlgorithm(i64),
    /// x5c is an empty array.
    #[error("x5c is empty")]
    EmptyX5c,
    /// The attestation signature does not verify.
    #[error("{what} does not verify: {reason}")]
    Signature {
        /// Which signature ("self attestation signature", …).
        what: &'static str,
        /// The crypto layer's message.
        reason: String,
    },
    /// A format-specific check of the statement's content, with what was
    /// expected and found.
    #[error("{0}")]
    Check(String),
}

impl From<String> for AttestationFailure {
    fn from(s: String) -> Self {
        AttestationFailure::Check(s)
    }
}

impl From<&str> for AttestationFailure {
    fn from(s: &str) -> Self {
        AttestationFailure::Check(s.to_owned())
    }
}

/// Why an attestation is not trusted (L3 §7.1 steps 23–24).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustFailure {
    /// The attestation trust path does not validate to a configured anchor.
    #[error("{0}")]
    Path(#[from] crate::x509::X509Error),
    /// FIDO MDS reports a status the RP refuses for the authenticator.
    #[error("FIDO MDS reports status {status} for authenticator {aaguid}")]
    MdsStatus {
        /// The AAGUID.
        aaguid: String,
        /// The status.
        status: String,
    },
    /// The RP requires an MDS entry and there is none.
    #[error("no FIDO MDS entry for authenticator {0}")]
    NoMdsEntry(String),
    /// `none` attestation while the policy refuses it.
    #[error("none attestation is not acceptable under policy")]
    NoneNotAllowed,
    /// Self attestation while the policy refuses it.
    #[error("self attestation is not acceptable under policy")]
    SelfNotAllowed,
}

/// Why a ceremony was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The response could not be decoded (JSON, base64url, CBOR, authData, clientDataJSON).
    #[error("{step}: malformed {what}: {reason}")]
    Malformed {
        /// Spec step.
        step: &'static str,
        /// Which member.
        what: &'static str,
        /// Decoder error (with byte offset where known).
        reason: String,
    },
    /// `type` of the credential is not "public-key".
    #[error("{step}: credential type: expected \"public-key\", found {found:?}")]
    CredentialType {
        /// Spec step.
        step: &'static str,
        /// Found.
        found: String,
    },
    /// `id` and `rawId` disagree.
    #[error("credential id {id:?} is not the base64url encoding of rawId")]
    IdMismatch {
        /// The id text.
        id: String,
    },
    /// C.type is wrong.
    #[error("{step}: clientData.type: expected {expected:?}, found {found:?}")]
    ClientDataType {
        /// Spec step.
        step: &'static str,
        /// Expected.
        expected: &'static str,
        /// Found.
        found: String,
    },
    /// C.challenge is not the challenge issued.
    #[error("{step}: clientData.challenge does not match the challenge issued for this ceremony")]
    Challenge {
        /// Spec step.
        step: &'static str,
    },
    /// C.origin is not an allowed origin.
    #[error("{step}: clientData.origin {found:?} is not an allowed origin (allowed: {allowed})")]
    Origin {
        /// Spec step.
        step: &'static str,
        /// Found.
        found: String,
        /// Allowed list, comma-separated.
        allowed: String,
    },
    /// crossOrigin is true but the RP does not allow cross-origin use.
    #[error("{step}: clientData.crossOrigin is true but cross-origin use is not allowed")]
    CrossOrigin {
        /// Spec step.
        step: &'static str,
    },
    /// topOrigin present/absent contrary to policy, or not allowed.
    #[error("{step}: clientData.topOrigin: {reason}")]
    TopOrigin {
        /// Spec step.
        step: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// rpIdHash is not SHA-256 of the RP ID (or of the appid when used).
    #[error("{step}: rpIdHash: expected SHA-256({expected:?}), found {found}")]
    RpIdHash {
        /// Spec step.
        step: &'static str,
        /// The RP ID.
        expected: String,
        /// Found hash, hex.
        found: String,
    },
    /// UP flag not set.
    #[error("{step}: user presence (UP) flag is not set")]
    UserPresence {
        /// Spec step.
        step: &'static str,
    },
    /// UV flag required but not set.
    #[error("{step}: user verification is required but the UV flag is not set")]
    UserVerification {
        /// Spec step.
        step: &'static str,
    },
    /// BS set without BE.
    #[error("{step}: backup state (BS) is set but backup eligibility (BE) is not")]
    BackupStateWithoutEligibility {
        /// Spec step.
        step: &'static str,
    },
    /// BE differs from the stored record.
    #[error("{step}: backup eligibility changed: stored {stored}, asserted {found}")]
    BackupEligibilityChanged {
        /// Spec step.
        step: &'static str,
        /// Stored.
        stored: bool,
        /// Found.
        found: bool,
    },
    /// No attested credential data in a registration.
    #[error("{step}: authenticator data has no attested credential data (AT flag)")]
    NoAttestedCredentialData {
        /// Spec step.
        step: &'static str,
    },
    /// Attested credential data in an assertion.
    #[error("{step}: assertion authenticator data must not carry attested credential data")]
    UnexpectedAttestedCredentialData {
        /// Spec step.
        step: &'static str,
    },
    /// Credential algorithm not among those requested.
    #[error("{step}: credential algorithm {found} was not requested (requested: {requested})")]
    Algorithm {
        /// Spec step.
        step: &'static str,
        /// Found alg.
        found: i64,
        /// Requested list.
        requested: String,
    },
    /// The credential public key's algorithm is not one this RP knows how to
    /// verify (whether or not the options named it).
    #[error("{step}: credential algorithm {alg} is not supported by this relying party")]
    UnsupportedAlgorithm {
        /// Spec step.
        step: &'static str,
        /// The COSE algorithm identifier in the credential public key.
        alg: i64,
    },
    /// Unknown attestation statement format.
    #[error(
        "{step}: unsupported attestation statement format {0:?}",
        step = "L3 §7.1 step 21"
    )]
    UnsupportedFormat(String),
    /// Attestation statement invalid.
    #[error("{step}: {fmt} attestation: {reason}")]
    Attestation {
        /// Spec step / format section.
        step: &'static str,
        /// Format.
        fmt: &'static str,
        /// What failed.
        reason: AttestationFailure,
    },
    /// The attestation type is not acceptable under policy, or its path is untrusted.
    #[error("{step}: attestation not trusted: {reason}")]
    AttestationTrust {
        /// Spec step.
        step: &'static str,
        /// Why.
        reason: TrustFailure,
    },
    /// Credential ID longer than 1023 bytes.
    #[error("{step}: credential ID is {len} bytes, at most 1023 allowed")]
    CredentialIdTooLong {
        /// Spec step.
        step: &'static str,
        /// Length.
        len: usize,
    },
    /// The credential ID is already registered.
    #[error("{step}: credential ID is already registered")]
    CredentialAlreadyRegistered {
        /// Spec step.
        step: &'static str,
    },
    /// credential.id not in allowCredentials.
    #[error("{step}: credential is not in allowCredentials")]
    NotAllowed {
        /// Spec step.
        step: &'static str,
    },
    /// No user handle for a discoverable login.
    #[error("{step}: userHandle is required when the user was not identified before the ceremony")]
    UserHandleMissing {
        /// Spec step.
        step: &'static str,
    },
    /// The credential is unknown, or does not belong to the user.
    #[error("{step}: {reason}")]
    UnknownCredential {
        /// Spec step.
        step: &'static str,
        /// Which lookup failed.
        reason: &'static str,
    },
    /// userHandle differs from the account's.
    #[error("{step}: userHandle does not match the user account that owns the credential")]
    UserHandleMismatch {
        /// Spec step.
        step: &'static str,
    },
    /// The signature does not verify.
    #[error("{step}: signature verification failed: {0}", step = "L3 §7.2 step 21")]
    Signature(CryptoError),
    /// Sign counter did not increase.
    #[error("{step}: signCount {found} is not greater than the stored {stored} (possible cloned authenticator)")]
    SignCount {
        /// Spec step.
        step: &'static str,
        /// Stored.
        stored: u32,
        /// Found.
        found: u32,
    },
    /// Extension outputs not consistent with what was requested.
    #[error("{step}: extension {extension:?}: {reason}")]
    Extension {
        /// Spec step.
        step: &'static str,
        /// Extension id.
        extension: String,
        /// What is wrong.
        reason: String,
    },
}

impl VerifyError {
    /// The spec step this check implements ("L3 §7.2 step 11" …).
    pub fn step(&self) -> &'static str {
        use VerifyError as E;
        match self {
            E::Malformed { step, .. }
            | E::CredentialType { step, .. }
            | E::ClientDataType { step, .. }
            | E::Challenge { step }
            | E::Origin { step, .. }
            | E::CrossOrigin { step }
            | E::TopOrigin { step, .. }
            | E::RpIdHash { step, .. }
            | E::UserPresence { step }
            | E::UserVerification { step }
            | E::BackupStateWithoutEligibility { step }
            | E::BackupEligibilityChanged { step, .. }
            | E::NoAttestedCredentialData { step }
            | E::UnexpectedAttestedCredentialData { step }
            | E::Algorithm { step, .. }
            | E::UnsupportedAlgorithm { step, .. }
            | E::Attestation { step, .. }
            | E::AttestationTrust { step, .. }
            | E::CredentialIdTooLong { step, .. }
            | E::CredentialAlreadyRegistered { step }
            | E::NotAllowed { step }
            | E::UserHandleMissing { step }
            | E::UnknownCredential { step, .. }
            | E::UserHandleMismatch { step }
            | E::SignCount { step, .. }
            | E::Extension { step, .. } => step,
            E::IdMismatch { .. } => "L3 §5.1 (id is base64url(rawId))",
            E::UnsupportedFormat(_) => "L3 §7.1 step 21",
            E::Signature(_) => "L3 §7.2 step 21",
        }
    }

    /// A stable machine-readable name of the check ("Challenge", "Origin", …).
    pub fn kind(&self) -> &'static str {
        use VerifyError as E;
        match self {
            E::Malformed { .. } => "Malformed",
            E::CredentialType { .. } => "CredentialType",
            E::IdMismatch { .. } => "IdMismatch",
            E::ClientDataType { .. } => "ClientDataType",
            E::Challenge { .. } => "Challenge",
            E::Origin { .. } => "Origin",
            E::CrossOrigin { .. } => "CrossOrigin",
            E::TopOrigin { .. } => "TopOrigin",
            E::RpIdHash { .. } => "RpIdHash",
            E::UserPresence { .. } => "UserPresence",
            E::UserVerification { .. } => "UserVerification",
            E::BackupStateWithoutEligibility { .. } => "BackupStateWithoutEligibility",
            E::BackupEligibilityChanged { .. } => "BackupEligibilityChanged",
            E::NoAttestedCredentialData { .. } => "NoAttestedCredentialData",
            E::UnexpectedAttestedCredentialData { .. } => "UnexpectedAttestedCredentialData",
            E::Algorithm { .. } => "Algorithm",
            E::UnsupportedAlgorithm { .. } => "UnsupportedAlgorithm",
            E::UnsupportedFormat(_) => "UnsupportedFormat",
            E::Attestation { .. } => "Attestation",
            E::AttestationTrust { .. } => "AttestationTrust",
            E::CredentialIdTooLong { .. } => "CredentialIdTooLong",
            E::CredentialAlreadyRegistered { .. } => "CredentialAlreadyRegistered",
            E::NotAllowed { .. } => "NotAllowed",
            E::UserHandleMissing { .. } => "UserHandleMissing",
            E::UnknownCredential { .. } => "UnknownCredential",
            E::UserHandleMismatch { .. } => "UserHandleMismatch",
            E::Signature(_) => "Signature",
            E::SignCount { .. } => "SignCount",
            E::Extension { .. } => "Extension",
        }
    }

    /// The error as a JSON object `{"verified": false, "step", "check", "error"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "verified": false,
            "step": self.step(),
            "check": self.kind(),
            "error": self.to_string(),
        })
    }
}
