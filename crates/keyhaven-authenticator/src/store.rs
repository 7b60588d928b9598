//! Credential storage: the [`CredentialStore`] trait and an in-memory store.
//! (The encrypted persistent store is a later step of issue #5.)

use keyhaven_crypto::SecretBytes;
use keyhaven_proto::cbor::Value;
use keyhaven_proto::ctap2::types::UserEntity;
use std::collections::BTreeMap;

/// A credential as the authenticator keeps it.
#[derive(Clone, Debug)]
pub struct StoredCredential {
    /// Credential ID.
    pub id: Vec<u8>,
    /// RP ID.
    pub rp_id: String,
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// The user entity given at creation (updatable by credentialManagement).
    pub user: UserEntity,
    /// COSE algorithm of the key.
    pub alg: i64,
    /// The private key, PKCS#8 DER (secret).
    pub private_key: SecretBytes,
    /// Signature counter of this credential.
    pub sign_count: u32,
    /// Discoverable (resident) credential.
    pub discoverable: bool,
    /// credProtect level 1..=3.
    pub cred_protect: u8,
    /// hmac-secret CredRandom for assertions without UV and with UV (32 bytes each).
    pub cred_random: Option<(SecretBytes, SecretBytes)>,
    /// credBlob.
    pub cred_blob: Option<Vec<u8>>,
    /// largeBlobKey (32 bytes).
    pub large_blob_key: Option<SecretBytes>,
    /// thirdPartyPayment.
    pub third_party_payment: bool,
    /// The signature counter stays 0 and is never written: a credential
    /// imported from CXF (whose importers "MUST NOT increment" it), or made
    /// while [`Settings::zero_counters`](crate::Settings::zero_counters) was on
    /// (as synced passkey providers do), so that it can move again.
    pub fixed_counter: bool,
    /// Creation order (higher is newer).
    pub created: u64,
}

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No more room.
    #[error("credential store is full")]
    Full,
    /// The backing storage failed.
    #[error("credential store I/O: {0}")]
    Io(String),
}

/// Where credentials live. Writes must be durable when they return: the
/// authenticator answers only after they do (counters never go backwards).
pub trait CredentialStore {
    /// Adds or replaces a credential.
    fn put(&mut self, cred: StoredCredential) -> Result<(), StoreError>;
    /// A credential by ID.
    fn get(&self, id: &[u8]) -> Result<Option<StoredCredential>, StoreError>;
    /// Every credential of an RP (by RP ID hash).
    fn by_rp(&self, rp_id_hash: &[u8; 32]) -> Result<Vec<StoredCredential>, StoreError>;
    /// Every credential.
    fn all(&self) -> Result<Vec<StoredCredential>, StoreError>;
    /// Removes a credential; true if it existed.
    fn delete(&mut self, id: &[u8]) -> Result<bool, StoreError>;
    /// Sets a credential's signature counter.
    fn set_sign_count(&mut self, id: &[u8], count: u32) -> Result<(), StoreError>;
    /// Removes everything (authenticatorReset).
    fn clear(&mut self) -> Result<(), StoreError>;
    /// How many more discoverable credentials fit.
    fn remaining_discoverable(&self) -> usize;
    /// The serialized large-blob array (CTAP 2.2 §6.10), if one was written.
    fn large_blob_array(&self) -> Result<Option<Vec<u8>>, StoreError>;
    /// Replaces the serialized large-blob array.
    fn set_large_blob_array(&mut self, array: Vec<u8>) -> Result<(), StoreError>;
    /// The authenticator's persistent state (PIN hash, retries, config), CBOR.
    fn authenticator_state(&self) -> Result<Option<Vec<u8>>, StoreError>;
    /// Replaces the authenticator's persistent state; durable when it returns.
    fn set_authenticator_state(&mut self, state: Vec<u8>) -> Result<(), StoreError>;
    /// Adds new credentials and, if given, replaces the large-blob array, all
    /// at once: after a failure none of it is stored (an import). Refused
    /// with [`StoreError::Full`] when the discoverable ones do not all fit.
    /// The default suits a store whose writes cannot fail half-way (memory);
    /// a persistent store writes them as one durable record.
    fn put_all(
        &mut self,
        creds: Vec<StoredCredential>,
        large_blob_array: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let discoverable = creds.iter().filter(|c| c.discoverable).count();
        if discoverable > self.remaining_discoverable() {
            return Err(StoreError::Full);
        }
        for c in creds {
            self.put(c)?;
        }
        if let Some(a) = large_blob_array {
            self.set_large_blob_array(a)?;
        }
        Ok(())
    }
}

/// Credentials by ID, indexed by RP ID hash, with the discoverable count kept
/// (shared by the stores: lookups stay logarithmic with 100,000 credentials).
#[derive(Debug, Default, Clone)]
pub struct CredentialIndex {
    by_id: BTreeMap<Vec<u8>, StoredCredential>,
    by_rp: BTreeMap<[u8; 32], std::collections::BTreeSet<Vec<u8>>>,
    discoverable: usize,
}

impl CredentialIndex {
    /// Adds or replaces a credential.
    pub fn insert(&mut self, c: StoredCredential) {
        self.remove(&c.id.clone());
        self.by_rp
            .entry(c.rp_id_hash)
            .or_default()
            .insert(c.id.clone());
        if c.discoverable {
            self.discoverable += 1;
        }
        self.by_id.insert(c.id.clone(), c);
    }
    /// Removes a credential; true if it existed.
    pub fn remove(&mut self, id: &[u8]) -> bool {
        let Some(c) = self.by_id.remove(id) else {
            return false;
        };
        if let Some(set) = self.by_rp.get_mut(&c.rp_id_hash) {
            set.remove(id);
            if set.is_empty() {
                self.by_rp.remove(&c.rp_id_hash);
            }
        }
        if c.discoverable {
            self.discoverable -= 1;
        }
        true
    }
    /// Removes everything.
    pub fn clear(&mut self) {
        *self = CredentialIndex::default();
    }
    /// A credential by ID.
    pub fn get(&self, id: &[u8]) -> Option<&StoredCredential> {
        self.by_id.get(id)
    }
    /// A credential by ID, mutably (counter updates; the RP and flags must not change).
    pub fn get_mut(&mut self, id: &[u8]) -> Option<&mut StoredCredential> {
        self.by_id.get_mut(id)
    }
    /// Every credential of an RP.
    pub fn by_rp(&self, rp_id_hash: &[u8; 32]) -> Vec<StoredCredential> {
        self.by_rp
            .get(rp_id_hash)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.by_id.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }
    /// Every credential.
    pub fn all(&self) -> Vec<StoredCredential> {
        self.by_id.values().cloned().collect()
    }
    /// Number of discoverable credentials.
    pub fn discoverable(&self) -> usize {
        self.discoverable
    }
    /// Whether an ID is present.
    pub fn contains(&self, id: &[u8]) -> bool {
        self.by_id.contains_key(id)
    }
}

/// A store in memory, for tests and ephemeral use.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    creds: CredentialIndex,
    large_blobs: Option<Vec<u8>>,
    state: Option<Vec<u8>>,
    /// Maximum number of discoverable credentials.
    pub capacity: usize,
}

impl MemoryStore {
    /// An empty store holding up to `capacity` discoverable credentials.
    pub fn new(capacity: usize) -> Self {
        MemoryStore {
            creds: CredentialIndex::default(),
            large_blobs: None,
            state: None,
            capacity,
        }
    }
}

impl CredentialStore for MemoryStore {
    fn put(&mut self, cred: StoredCredential) -> Result<(), StoreError> {
        if cred.discoverable && !self.creds.contains(&cred.id) && self.remaining_discoverable() == 0
        {
            return Err(StoreError::Full);
        }
        self.creds.insert(cred);
        Ok(())
    }
    fn get(&self, id: &[u8]) -> Result<Option<StoredCredential>, StoreError> {
        Ok(self.creds.get(id).cloned())
    }
    fn by_rp(&self, rp_id_hash: &[u8; 32]) -> Result<Vec<StoredCredential>, StoreError> {
        Ok(self.creds.by_rp(rp_id_hash))
    }
    fn all(&self) -> Result<Vec<StoredCredential>, StoreError> {
        Ok(self.creds.all())
    }
    fn delete(&mut self, id: &[u8]) -> Result<bool, StoreError> {
        Ok(self.creds.remove(id))
    }
    fn set_sign_count(&mut self, id: &[u8], count: u32) -> Result<(), StoreError> {
        if let Some(c) = self.creds.get_mut(id) {
            c.sign_count = count;
        }
        Ok(())
    }
    fn clear(&mut self) -> Result<(), StoreError> {
        self.creds.clear();
        self.large_blobs = None;
        self.state = None;
        Ok(())
    }
    fn remaining_discoverable(&self) -> usize {
        self.capacity.saturating_sub(self.creds.discoverable())
    }
    fn large_blob_array(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.large_blobs.clone())
    }
    fn set_large_blob_array(&mut self, array: Vec<u8>) -> Result<(), StoreError> {
        self.large_blobs = Some(array);
        Ok(())
    }
    fn authenticator_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.state.clone())
    }
    fn set_authenticator_state(&mut self, state: Vec<u8>) -> Result<(), StoreError> {
        self.state = Some(state);
        Ok(())
    }
}

/// A credential as a CBOR map (the store's records and wrapped credential IDs).
pub(crate) fn cred_to_value(c: &StoredCredential) -> Value {
    let bytes = |b: &[u8]| Value::Bytes(b.to_vec());
    let opt_text = |t: &Option<String>| t.as_deref().map(Value::from).unwrap_or(Value::Null);
    let mut m = vec![
        (Value::from(1), bytes(&c.id)),
        (Value::from(2), Value::from(c.rp_id.as_str())),
        (Value::from(3), bytes(&c.user.id)),
        (Value::from(4), opt_text(&c.user.name)),
        (Value::from(5), opt_text(&c.user.display_name)),
        (Value::from(6), Value::from(c.alg)),
        (Value::from(7), bytes(c.private_key.expose())),
        (Value::from(8), Value::from(c.sign_count)),
        (Value::from(9), Value::Bool(c.discoverable)),
        (Value::from(10), Value::from(c.cred_protect)),
        (Value::from(14), Value::Bool(c.third_party_payment)),
        (Value::from(15), Value::from(c.created)),
    ];
    if c.fixed_counter {
        m.push((Value::from(17), Value::Bool(true)));
    }
    if let Some((a, b)) = &c.cred_random {
        m.push((
            Value::from(11),
            Value::Array(vec![bytes(a.expose()), bytes(b.expose())]),
        ));
    }
    if let Some(blob) = &c.cred_blob {
        m.push((Value::from(12), bytes(blob)));
    }
    if let Some(k) = &c.large_blob_key {
        m.push((Value::from(13), bytes(k.expose())));
    }
    // A U2F credential knows only its application's hash, not an RP ID.
    if keyhaven_crypto::digest::sha256(c.rp_id.as_bytes()) != c.rp_id_hash {
        m.push((Value::from(16), bytes(&c.rp_id_hash)));
    }
    Value::canonical_map(m)
}

/// The inverse of [`cred_to_value`].
pub(crate) fn cred_from_value(v: &Value) -> Option<StoredCredential> {
    let b = |k| v.get_int(k).and_then(Value::as_bytes).map(<[u8]>::to_vec);
    let t = |k| v.get_int(k).and_then(Value::as_text).map(str::to_owned);
    let rp_id = t(2)?;
    let rp_id_hash = match b(16) {
        Some(h) => <[u8; 32]>::try_from(h).ok()?,
        None => keyhaven_crypto::digest::sha256(rp_id.as_bytes()),
    };
    Some(StoredCredential {
        id: b(1)?,
        rp_id_hash,
        rp_id,
        user: UserEntity {
            id: b(3)?,
            name: t(4),
            display_name: t(5),
        },
        alg: v.get_int(6)?.as_i64()?,
        private_key: SecretBytes::new(b(7)?),
        sign_count: u32::try_from(v.get_int(8)?.as_u64()?).ok()?,
        discoverable: v.get_int(9)?.as_bool()?,
        cred_protect: u8::try_from(v.get_int(10)?.as_u64()?).ok()?,
        cred_random: v
            .get_int(11)
            .and_then(Value::as_array)
            .and_then(|a| match a {
                [x, y] => Some((
                    SecretBytes::new(x.as_bytes()?.to_vec()),
                    SecretBytes::new(y.as_bytes()?.to_vec()),
                )),
                _ => None,
            }),
        cred_blob: b(12),
        large_blob_key: b(13).map(SecretBytes::new),
        third_party_payment: v.get_int(14)?.as_bool()?,
        created: v.get_int(15)?.as_u64()?,
        // Absent in records written before it existed: counting.
        fixed_counter: v.get_int(17).and_then(Value::as_bool).unwrap_or(false),
    })
}
