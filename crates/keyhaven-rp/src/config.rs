//! Relying-party configuration: what the RP expects and its policies.

use crate::time::Clock;
use keyhaven_proto::cbor::CborPolicy;
use keyhaven_proto::cose::CoseAlgorithm;

/// User verification requirement (L3 §5.8.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UserVerification {
    /// UV must be performed; the UV flag is checked.
    Required,
    /// UV if possible; the UV flag is not checked.
    #[default]
    Preferred,
    /// Avoid UV; the UV flag is not checked.
    Discouraged,
}

impl UserVerification {
    /// The L3 string.
    pub fn as_str(self) -> &'static str {
        match self {
            UserVerification::Required => "required",
            UserVerification::Preferred => "preferred",
            UserVerification::Discouraged => "discouraged",
        }
    }
}

/// What to do when the signature counter did not increase (L3 §7.2 step 22, §6.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CounterPolicy {
    /// Fail the ceremony.
    #[default]
    Reject,
    /// Accept, and flag the result (`counter_suspicious`).
    AcceptAndFlag,
}

/// What to do when BE differs from the stored record (L3 §7.2 step 19).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackupEligibilityPolicy {
    /// Fail the ceremony in either direction (what L3 §7.2 step 19 verifies).
    #[default]
    Reject,
    /// 0→1: update the record; 1→0: accept and flag the result.
    UpdateOrFlag,
}

/// What to do when `crossOrigin` is true and `topOrigin` is absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MissingTopOrigin {
    /// Refuse: a cross-origin response must say who framed it.
    #[default]
    Reject,
    /// Accept (older clients do not send topOrigin).
    Allow,
}

/// Origin matching rules beyond the exact allow-list (L3 §13.4.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OriginRules {
    /// Also accept `https://<sub>.<rp_id>` for any subdomain of the RP ID
    /// (on a dot boundary, never a plain suffix match).
    pub allow_subdomains: bool,
    /// Ignore the port when comparing https origins with the allow-list.
    pub allow_any_port: bool,
}

/// Attestation policy (L3 §7.1 steps 22–23).
#[derive(Clone, Debug)]
pub struct AttestationPolicy {
    /// DER certificates the RP trusts as attestation roots. A certificate in
    /// `x5c` is never a trust anchor by itself.
    pub trust_anchors: Vec<Vec<u8>>,
    /// Accept `none` attestation.
    pub allow_none: bool,
    /// Accept self attestation.
    pub allow_self: bool,
    /// Fail when an x5c path does not chain to a trust anchor (otherwise the
    /// result says `trusted: false`).
    pub require_trusted: bool,
    /// android-key: use only the teeEnforced authorization list.
    pub android_key_require_tee: bool,
    /// android-safetynet: require ctsProfileMatch.
    pub safetynet_require_cts_profile_match: bool,
    /// android-safetynet: how old the timestamp may be, in milliseconds.
    pub safetynet_max_age_ms: u64,
    /// A verified FIDO MDS3 BLOB: its entries' roots become trust anchors for
    /// their authenticators, and their status reports are policy.
    pub mds: Option<std::sync::Arc<crate::mds::Metadata>>,
    /// Refuse authenticators that have no MDS entry (only with `mds`).
    pub mds_require_entry: bool,
    /// Accept SHA-1 signatures on attestation certificates and CRLs. Off by
    /// default; some legacy fido-u2f and TPM roots still sign with SHA-1.
    pub allow_sha1: bool,
    /// DER certificate revocation lists. A certificate on an attestation path
    /// that a supplied CRL of its issuer lists is refused; a supplied CRL that
    /// is not signed by that issuer, or not current, refuses the path too.
    pub crls: Vec<Vec<u8>>,
}

impl Default for AttestationPolicy {
    fn default() -> Self {
        AttestationPolicy {
            trust_anchors: Vec::new(),
            allow_none: true,
            allow_self: true,
            require_trusted: false,
            android_key_require_tee: false,
            safetynet_require_cts_profile_match: true,
            safetynet_max_age_ms: 60_000,
            mds: None,
            mds_require_entry: false,
            allow_sha1: false,
            crls: Vec::new(),
        }
    }
}

/// The relying party's configuration.
#[derive(Clone, Debug)]
pub struct RpConfig {
    /// The RP ID (a registrable domain suffix of the origins' hosts).
    pub rp_id: String,
    /// Human-palatable RP name for creation options.
    pub rp_name: String,
    /// Allowed origins, compared as opaque strings (`"https://example.org"`,
    /// "android:apk-key-hash:…").
    pub origins: Vec<String>,
    /// Extra origin rules.
    pub origin_rules: OriginRules,
    /// Accept `crossOrigin: true`.
    pub allow_cross_origin: bool,
    /// Allowed top origins for cross-origin use.
    pub top_origins: Vec<String>,
    /// Policy when crossOrigin is true without topOrigin.
    pub missing_top_origin: MissingTopOrigin,
    /// UV requirement for options and verification.
    pub user_verification: UserVerification,
    /// Algorithms offered in pubKeyCredParams, most preferred first.
    pub algorithms: Vec<CoseAlgorithm>,
    /// Sign counter policy.
    pub counter_policy: CounterPolicy,
    /// Backup-eligibility change policy.
    pub backup_eligibility_policy: BackupEligibilityPolicy,
    /// Attestation policy.
    pub attestation: AttestationPolicy,
    /// FIDO AppID (the `appid` / `appidExclude` extensions), if the RP migrated from U2F.
    pub appid: Option<String>,
    /// Ceremony timeout for options, in milliseconds.
    pub timeout_ms: u32,
    /// The clock: certificate and CRL validity, MDS freshness, SafetyNet
    /// timestamps, and the times written into credential records.
    pub clock: Clock,
    /// Which CBOR the attestation object and authenticator data may use.
    /// `Interoperable` (the default) accepts any well-formed CBOR, as real
    /// devices send (L3 §2.4 makes canonical decoding a SHOULD), and ignores
    /// attStmt members a format does not define; `Strict` requires the CTAP2
    /// canonical form (CTAP 2.2 §8) and refuses undefined attStmt members.
    /// Signatures are always checked over the exact bytes received.
    pub cbor_policy: CborPolicy,
}

impl RpConfig {
    /// A configuration with the defaults: origin `https://<rp_id>`,
    /// algorithms EdDSA, ES256, RS256, UV preferred, strict policies.
    pub fn new(rp_id: impl Into<String>, rp_name: impl Into<String>) -> Self {
        let rp_id = rp_id.into();
        RpConfig {
            origins: vec![format!("https://{rp_id}")],
            rp_id,
            rp_name: rp_name.into(),
            origin_rules: OriginRules::default(),
            allow_cross_origin: false,
            top_origins: Vec::new(),
            missing_top_origin: MissingTopOrigin::default(),
            user_verification: UserVerification::default(),
            algorithms: vec![
                CoseAlgorithm::EdDsa,
                CoseAlgorithm::Es256,
                CoseAlgorithm::Rs256,
            ],
            counter_policy: CounterPolicy::default(),
            backup_eligibility_policy: BackupEligibilityPolicy::default(),
            attestation: AttestationPolicy::default(),
            appid: None,
            timeout_ms: 300_000,
            cbor_policy: CborPolicy::Interoperable,
            clock: Clock::system(),
        }
    }
}
