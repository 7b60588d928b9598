//! The credential record an RP stores (L3 §4 "credential record", §7.1 step 26).

use keyhaven_proto::b64;
use keyhaven_proto::cbor::CborPolicy;
use keyhaven_proto::cose::CoseKey;
use serde::{Deserialize, Serialize};

/// The current record format version.
pub const RECORD_VERSION: u32 = 1;

/// What a relying party stores per credential. Binary members are base64url in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRecord {
    /// Format version, for later migrations.
    pub version: u32,
    /// "public-key".
    #[serde(rename = "type")]
    pub type_: String,
    /// Credential ID.
    #[serde(with = "b64::serde_bytes")]
    pub id: Vec<u8>,
    /// The COSE_Key bytes of the credential public key.
    #[serde(with = "b64::serde_bytes")]
    pub public_key: Vec<u8>,
    /// COSE algorithm of the key.
    pub algorithm: i64,
    /// Last seen signature counter.
    pub sign_count: u32,
    /// Transports reported at registration.
    #[serde(default)]
    pub transports: Vec<String>,
    /// Backup eligibility (BE) at registration.
    pub backup_eligible: bool,
    /// Backup state (BS) as last seen.
    pub backup_state: bool,
    /// Whether UV has been performed with this credential.
    pub uv_initialized: bool,
    /// AAGUID of the authenticator model (UUID text).
    pub aaguid: String,
    /// Attestation statement format.
    pub attestation_format: String,
    /// Attestation type (None, Self, Basic, AttCA, AnonCA, Uncertain).
    pub attestation_type: String,
    /// Whether the attestation chained to a configured trust anchor.
    #[serde(default)]
    pub attestation_trusted: bool,
    /// The user handle of the account that owns the credential.
    #[serde(
        default,
        with = "keyhaven_proto::json::b64_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_handle: Option<Vec<u8>>,
    /// The RP ID the credential is scoped to.
    pub rp_id: String,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: u64,
    /// Last successful authentication, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
}

impl CredentialRecord {
    /// A record for a credential registered elsewhere (imported from another
    /// library's storage): its ID, COSE public key (the algorithm is taken
    /// from it), signature counter, user handle and RP ID; no attestation,
    /// no flags recorded.
    ///
    /// ```
    /// use keyhaven_proto::cose::{CoseAlgorithm, CoseKey, OkpCurve};
    /// let key = CoseKey::okp(CoseAlgorithm::EdDsa, OkpCurve::Ed25519, vec![7; 32]);
    /// let r = keyhaven_rp::CredentialRecord::imported(vec![1], key.to_bytes(), 4, None, "example.org")
    ///     .unwrap();
    /// assert_eq!((r.algorithm, r.sign_count), (-8, 4));
    /// ```
    pub fn imported(
        id: Vec<u8>,
        public_key: Vec<u8>,
        sign_count: u32,
        user_handle: Option<Vec<u8>>,
        rp_id: &str,
    ) -> Result<Self, keyhaven_proto::cose::CoseError> {
        let algorithm = CoseKey::from_bytes_with(&public_key, CborPolicy::Interoperable)?
            .alg
            .id();
        Ok(CredentialRecord {
            version: 1,
            type_: "public-key".into(),
            id,
            public_key,
            algorithm,
            sign_count,
            transports: vec![],
            backup_eligible: false,
            backup_state: false,
            uv_initialized: false,
            aaguid: String::new(),
            attestation_format: "none".into(),
            attestation_type: "None".into(),
            attestation_trusted: false,
            user_handle,
            rp_id: rp_id.to_owned(),
            created_at: 0,
            last_used_at: None,
        })
    }

    /// The stored public key, parsed. Any well-formed CBOR is accepted: keyhaven
    /// stores keys canonically, but records migrated from other libraries may
    /// hold a device's COSE_Key bytes as it sent them.
    pub fn cose_key(&self) -> Result<CoseKey, keyhaven_proto::cose::CoseError> {
        CoseKey::from_bytes_with(&self.public_key, CborPolicy::Interoperable)
    }
}
