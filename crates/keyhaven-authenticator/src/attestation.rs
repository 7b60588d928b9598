//! The authenticator data and attestation statement of a new credential
//! (CTAP 2.2 §6.1.2 steps 16–18): the attested credential data (L3 §6.5.1),
//! then `none` (L3 §8.7), packed self or packed with a batch key and x5c
//! (L3 §8.2).
//!
//! `make_credential` calls [`attest`] with a freshly generated key; the W3C
//! test vectors call it with the vectors' keys and re-create their
//! attestation objects (see `tests/w3c_attestation.rs`).

use keyhaven_crypto::signature::SigningKey;
use keyhaven_crypto::CryptoError;
use keyhaven_proto::authdata::{Aaguid, AttestedCredentialData, AuthenticatorData, Flags};
use keyhaven_proto::cbor::Value;
use keyhaven_proto::ctap2::make_credential::MakeCredentialResponse;

/// A batch attestation key and its certificate chain (leaf first), for
/// packed attestation with x5c (L3 §8.2; the leaf should meet §8.2.1).
#[derive(Debug)]
pub struct BatchAttestation {
    /// The attestation private key.
    pub key: SigningKey,
    /// DER certificates, leaf first (the root is left to the relying party).
    pub x5c: Vec<Vec<u8>>,
}

/// Which attestation statement to produce.
#[derive(Debug, Clone, Copy)]
pub enum Statement<'a> {
    /// `none` (L3 §8.7): an empty attStmt.
    None,
    /// `packed` self attestation (L3 §8.2): the credential key signs.
    PackedSelf,
    /// `packed` basic attestation (L3 §8.2): the batch key signs, x5c carries its chain.
    PackedBatch(&'a BatchAttestation),
}

impl Statement<'_> {
    /// The attestation statement format identifier.
    pub fn fmt(&self) -> &'static str {
        match self {
            Statement::None => "none",
            Statement::PackedSelf | Statement::PackedBatch(_) => "packed",
        }
    }
}

/// A new credential, as it goes into authenticator data.
#[derive(Debug)]
pub struct NewCredential<'a> {
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// UP, UV, BE, BS as they apply; AT and ED are set from the content.
    pub flags: Flags,
    /// Initial signature counter.
    pub sign_count: u32,
    /// The authenticator's AAGUID.
    pub aaguid: Aaguid,
    /// The credential ID.
    pub credential_id: Vec<u8>,
    /// The credential private key.
    pub key: &'a SigningKey,
    /// Authenticator extension outputs (a CBOR map), if any.
    pub extensions: Option<Value>,
}

/// Builds authenticator data for `cred` and signs the attestation statement
/// over `authData ‖ clientDataHash` (L3 §8.2 signing procedure).
pub fn attest(
    cred: NewCredential<'_>,
    client_data_hash: &[u8],
    statement: Statement<'_>,
) -> Result<MakeCredentialResponse, CryptoError> {
    // L3 §6.5.1: attested credential data with the COSE_Key of the credential.
    let mut ad = AuthenticatorData::new(cred.rp_id_hash, cred.flags, cred.sign_count)
        .with_attested_credential_data(AttestedCredentialData {
            aaguid: cred.aaguid,
            credential_id: cred.credential_id,
            credential_public_key: cred.key.public_key(),
        });
    if let Some(ext) = cred.extensions {
        ad = ad.with_extensions(ext);
    }
    let ad_raw = ad.to_bytes();
    let signed = [ad_raw.as_slice(), client_data_hash].concat();
    let att_stmt = match statement {
        Statement::None => Value::Map(vec![]),
        Statement::PackedSelf => Value::canonical_map(vec![
            (Value::from("alg"), Value::from(cred.key.algorithm().id())),
            (Value::from("sig"), Value::Bytes(cred.key.sign(&signed)?)),
        ]),
        Statement::PackedBatch(batch) => Value::canonical_map(vec![
            (Value::from("alg"), Value::from(batch.key.algorithm().id())),
            (Value::from("sig"), Value::Bytes(batch.key.sign(&signed)?)),
            (
                Value::from("x5c"),
                Value::Array(batch.x5c.iter().map(|c| Value::Bytes(c.clone())).collect()),
            ),
        ]),
    };
    Ok(MakeCredentialResponse {
        fmt: statement.fmt().to_owned(),
        auth_data: ad,
        auth_data_raw: ad_raw,
        att_stmt,
        ep_att: None,
        large_blob_key: None,
        unsigned_extension_outputs: None,
    })
}
