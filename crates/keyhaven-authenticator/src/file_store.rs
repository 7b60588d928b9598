//! The persistent credential store: an encrypted, append-only, crash-safe log.
//!
//! Why a log and not SQLite: every write the authenticator makes is a small,
//! self-contained change (a credential, a counter, a deletion) that must be
//! durable before the response goes out. An append with `fsync` is exactly
//! that, is easy to reason about under `kill -9` (a crash can only leave a torn
//! *last* record, which replay detects by its length or its AEAD tag and cuts
//! off), needs no C library, and keeps every byte encrypted.
//!
//! File layout (version 1):
//! ```text
//! header: "KHVNSTR1" | kdf (1 byte: 0 key file, 1 Argon2id) | salt (16) |
//!         Argon2 m_cost, t_cost, p (3 × u32 BE) | key check: nonce (12) ‖ AES-256-GCM tag (16)
//! record: length (u32 BE) | nonce (12) | AES-256-GCM(ciphertext ‖ tag), AAD = "keyhaven record" ‖ seq (u64 BE)
//! ```
//! Records are CBOR: put a credential, set a counter, delete, clear, set the large-blob array, set the authenticator state (PIN hash, retries, config), a batch (credentials and the array at once: an import). Private
//! keys, user entities and blobs exist only inside encrypted records. The
//! sequence number in the AAD stops records from being reordered or dropped
//! from the middle. The record key is HKDF-SHA-256(master key, "keyhaven store records").
//! The master key is Argon2id(passphrase, salt) or 32 random bytes in a key
//! file created with mode 0600.
//!
//! The log's I/O goes through [`LogFile`]: [`OsFile`] is the real file; a test
//! can put a simulated disk behind the store that forgets what was never
//! synced, to check that every acknowledged write survives a power loss.

use crate::store::{
    cred_from_value, cred_to_value, CredentialIndex, CredentialStore, StoreError, StoredCredential,
};
use keyhaven_crypto::cipher::{aes256_gcm_open, aes256_gcm_seal};
use keyhaven_crypto::mac::{argon2id, hkdf_sha256, Argon2Params};
use keyhaven_crypto::SecretBytes;
use keyhaven_proto::cbor::{self, Value};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"KHVNSTR1";
const HEADER_LEN: usize = 8 + 1 + 16 + 12 + 12 + 16;
const KEY_CHECK_AAD: &[u8] = b"keyhaven store key check";

/// How the master key is obtained.
#[derive(Clone, Debug)]
pub enum MasterKey {
    /// A key file (created with mode 0600 if missing).
    KeyFile(PathBuf),
    /// A passphrase, stretched with Argon2id.
    Passphrase(SecretBytes, Argon2Params),
}

/// The I/O a [`FileStore`] does on its log.
pub trait LogFile {
    /// The whole log (empty when it does not exist yet).
    fn read_all(&mut self) -> std::io::Result<Vec<u8>>;
    /// Creates the log holding `header`, atomically and durably: after a crash
    /// it holds all of it or does not exist.
    fn create(&mut self, header: &[u8]) -> std::io::Result<()>;
    /// Appends `bytes` at the end (not yet durable).
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes everything appended so far durable (`fdatasync`).
    fn sync(&mut self) -> std::io::Result<()>;
    /// Cuts the log to `len` bytes, durably.
    fn truncate(&mut self, len: u64) -> std::io::Result<()>;
}

/// The log as a file of the operating system.
pub struct OsFile {
    path: PathBuf,
    file: Option<File>,
}

impl OsFile {
    /// The file at `path` (created by [`LogFile::create`] if missing).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OsFile {
            path: path.into(),
            file: None,
        }
    }

    fn file(&mut self) -> std::io::Result<&mut File> {
        if self.file.is_none() {
            self.file = Some(
                OpenOptions::new()
                    .read(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        Ok(self.file.as_mut().expect("opened above"))
    }
}

impl LogFile for OsFile {
    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        match std::fs::read(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            r => r,
        }
    }
    fn create(&mut self, header: &[u8]) -> std::io::Result<()> {
        write_new(&self.path, header)?;
        self.file = None;
        Ok(())
    }
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file()?.write_all(bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.file()?.sync_data()
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        let f = self.file()?;
        f.set_len(len)?;
        f.sync_all()
    }
}

/// An encrypted append-only credential store.
pub struct FileStore<F: LogFile = OsFile> {
    log: F,
    key: SecretBytes,
    seq: u64,
    creds: CredentialIndex,
    large_blobs: Option<Vec<u8>>,
    state: Option<Vec<u8>>,
    capacity: usize,
    records: usize,
    /// Bytes of the log that hold whole records (where the next one goes).
    len: u64,
    /// A failed append could not be cut off again: no more writes.
    broken: bool,
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(e.to_string())
}

fn key_file(path: &Path) -> Result<SecretBytes, StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::read(path) {
        Ok(bytes) => {
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(StoreError::Io(format!(
                    "{}: key file must not be readable by group or others (mode {:o})",
                    path.display(),
                    mode & 0o777
                )));
            }
            if bytes.len() != 32 {
                return Err(StoreError::Io(format!(
                    "{}: key file must hold 32 bytes",
                    path.display()
                )));
            }
            Ok(SecretBytes::new(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = keyhaven_crypto::rand::vec(32).map_err(io)?;
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io)?;
            f.write_all(&key).map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(SecretBytes::new(key))
        }
        Err(e) => Err(io(e)),
    }
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

impl FileStore<OsFile> {
    /// Opens (or creates) the store at `path`. A torn last record left by a
    /// crash is cut off; any other damage, or a wrong key, is an error.
    pub fn open(
        path: impl Into<PathBuf>,
        master: &MasterKey,
        capacity: usize,
    ) -> Result<Self, StoreError> {
        let path = path.into();
        FileStore::open_log(OsFile::new(&path), master, capacity)
            .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))
    }

    /// The store's path.
    pub fn path(&self) -> &Path {
        &self.log.path
    }
}

impl<F: LogFile> FileStore<F> {
    /// Opens (or creates) the store kept in `log`, as [`FileStore::open`] does.
    pub fn open_log(mut log: F, master: &MasterKey, capacity: usize) -> Result<Self, StoreError> {
        let existing = log.read_all().map_err(io)?;
        let (master_key, header) = match existing.as_slice() {
            b if !b.is_empty() => {
                if b.len() < HEADER_LEN || &b[..8] != MAGIC {
                    return Err(StoreError::Io("not a keyhaven store (version 1)".into()));
                }
                let salt = &b[9..25];
                let params = Argon2Params {
                    memory_kib: u32_at(b, 25),
                    iterations: u32_at(b, 29),
                    parallelism: u32_at(b, 33),
                };
                let key = match (b[8], master) {
                    (0, MasterKey::KeyFile(p)) => key_file(p)?,
                    (1, MasterKey::Passphrase(pass, _)) => {
                        argon2id(pass.expose(), salt, params).map_err(io)?
                    }
                    (0, _) => {
                        return Err(StoreError::Io(
                            "this store is keyed by a key file, not a passphrase".into(),
                        ))
                    }
                    (1, _) => {
                        return Err(StoreError::Io(
                            "this store is keyed by a passphrase, not a key file".into(),
                        ))
                    }
                    (k, _) => return Err(StoreError::Io(format!("unknown key derivation {k}"))),
                };
                let nonce: [u8; 12] = b[37..49].try_into().map_err(io)?;
                aes256_gcm_open(key.expose(), &nonce, KEY_CHECK_AAD, &b[49..65]).map_err(|_| {
                    StoreError::Io("wrong passphrase or key file for this store".into())
                })?;
                (key, None)
            }
            _ => {
                let salt: [u8; 16] = keyhaven_crypto::rand::array().map_err(io)?;
                let (kdf, key, params) = match master {
                    MasterKey::KeyFile(p) => (0u8, key_file(p)?, Argon2Params::default()),
                    MasterKey::Passphrase(pass, params) => (
                        1u8,
                        argon2id(pass.expose(), &salt, *params).map_err(io)?,
                        *params,
                    ),
                };
                let nonce: [u8; 12] = keyhaven_crypto::rand::array().map_err(io)?;
                let check =
                    aes256_gcm_seal(key.expose(), &nonce, KEY_CHECK_AAD, &[]).map_err(io)?;
                let mut h = Vec::with_capacity(HEADER_LEN);
                h.extend_from_slice(MAGIC);
                h.push(kdf);
                h.extend_from_slice(&salt);
                for n in [params.memory_kib, params.iterations, params.parallelism] {
                    h.extend_from_slice(&n.to_be_bytes());
                }
                h.extend_from_slice(&nonce);
                h.extend_from_slice(&check);
                (key, Some(h))
            }
        };
        let record_key =
            hkdf_sha256(&[], master_key.expose(), b"keyhaven store records", 32).map_err(io)?;
        let all = match header {
            Some(h) => {
                log.create(&h).map_err(io)?;
                h
            }
            None => existing,
        };
        let mut store = FileStore {
            log,
            key: record_key,
            seq: 0,
            creds: CredentialIndex::default(),
            large_blobs: None,
            state: None,
            capacity,
            records: 0,
            len: 0,
            broken: false,
        };
        store.replay(&all)?;
        Ok(store)
    }

    fn replay(&mut self, all: &[u8]) -> Result<(), StoreError> {
        let mut pos = HEADER_LEN;
        while pos < all.len() {
            let rest = &all[pos..];
            // A record cut short by a crash: its length prefix or body is incomplete.
            if rest.len() < 4 + 12 + 16 {
                break;
            }
            let len = u32_at(rest, 0) as usize;
            if len < 16 || rest.len() < 4 + 12 + len {
                break;
            }
            let nonce: [u8; 12] = rest[4..16].try_into().map_err(io)?;
            let aad = [b"keyhaven record".as_slice(), &self.seq.to_be_bytes()].concat();
            let end = pos + 16 + len;
            match aes256_gcm_open(self.key.expose(), &nonce, &aad, &rest[16..16 + len]) {
                Ok(plain) => {
                    let v = cbor::decode(&plain).map_err(io)?;
                    self.apply(&v)?;
                    self.seq += 1;
                    self.records += 1;
                    pos = end;
                }
                // Only the very last record may be damaged (a torn write).
                Err(_) if end == all.len() => break,
                Err(_) => {
                    return Err(StoreError::Io(format!(
                        "store record {} is damaged",
                        self.seq
                    )))
                }
            }
        }
        self.len = pos as u64;
        if pos < all.len() {
            // Cut the torn tail so new records follow the last good one.
            self.log.truncate(pos as u64).map_err(io)?;
        }
        Ok(())
    }

    fn apply(&mut self, v: &Value) -> Result<(), StoreError> {
        let op = v
            .get_int(0)
            .and_then(Value::as_u64)
            .ok_or_else(|| io("record without an operation"))?;
        let id = || {
            v.get_int(1)
                .and_then(Value::as_bytes)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| io("record without an id"))
        };
        match op {
            1 => {
                let c = v
                    .get_int(1)
                    .and_then(cred_from_value)
                    .ok_or_else(|| io("malformed credential record"))?;
                self.creds.insert(c);
            }
            2 => {
                let count = v
                    .get_int(2)
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| io("bad counter"))?;
                if let Some(c) = self.creds.get_mut(&id()?) {
                    c.sign_count = count;
                }
            }
            3 => {
                self.creds.remove(&id()?);
            }
            4 => {
                self.creds.clear();
                self.large_blobs = None;
                self.state = None;
            }
            6 => {
                let state = v
                    .get_int(1)
                    .and_then(Value::as_bytes)
                    .ok_or_else(|| io("malformed state record"))?;
                self.state = Some(state.to_vec());
            }
            7 => {
                // A batch (an import): its credentials, then the array.
                let creds = v
                    .get_int(1)
                    .and_then(Value::as_array)
                    .ok_or_else(|| io("malformed batch record"))?
                    .iter()
                    .map(cred_from_value)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| io("malformed credential in a batch record"))?;
                for c in creds {
                    self.creds.insert(c);
                }
                if let Some(array) = v.get_int(2).and_then(Value::as_bytes) {
                    self.large_blobs = Some(array.to_vec());
                }
            }
            5 => {
                let array = v
                    .get_int(1)
                    .and_then(Value::as_bytes)
                    .ok_or_else(|| io("malformed large-blob record"))?;
                self.large_blobs = Some(array.to_vec());
            }
            other => return Err(io(format!("unknown record operation {other}"))),
        }
        Ok(())
    }

    /// Appends one record and makes it durable (fsync) before returning.
    fn append(&mut self, record: Value) -> Result<(), StoreError> {
        let plain = cbor::encode(&record);
        let nonce: [u8; 12] = keyhaven_crypto::rand::array().map_err(io)?;
        let aad = [b"keyhaven record".as_slice(), &self.seq.to_be_bytes()].concat();
        let ct = aes256_gcm_seal(self.key.expose(), &nonce, &aad, &plain).map_err(io)?;
        let mut buf = Vec::with_capacity(16 + ct.len());
        buf.extend_from_slice(&(ct.len() as u32).to_be_bytes());
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(&ct);
        if self.broken {
            return Err(StoreError::Io(
                "an earlier write failed and could not be undone; reopen the store".into(),
            ));
        }
        if let Err(e) = self.log.append(&buf).and_then(|()| self.log.sync()) {
            // Nothing of a failed record may stay before the next one: a
            // damaged record in the middle would make the log unreadable.
            if self.log.truncate(self.len).is_err() {
                self.broken = true;
            }
            return Err(io(e));
        }
        self.len += buf.len() as u64;
        self.apply(&record)?;
        self.seq += 1;
        self.records += 1;
        Ok(())
    }
}

fn write_new(path: &Path, header: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("new");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(header)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all())?;
    }
    Ok(())
}

fn op(n: u64, fields: Vec<(i64, Value)>) -> Value {
    let mut m = vec![(Value::from(0), Value::from(n))];
    m.extend(fields.into_iter().map(|(k, v)| (Value::from(k), v)));
    Value::canonical_map(m)
}

impl<F: LogFile> CredentialStore for FileStore<F> {
    fn put(&mut self, cred: StoredCredential) -> Result<(), StoreError> {
        if cred.discoverable && !self.creds.contains(&cred.id) && self.remaining_discoverable() == 0
        {
            return Err(StoreError::Full);
        }
        self.append(op(1, vec![(1, cred_to_value(&cred))]))
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
        let existed = self.creds.contains(id);
        if existed {
            self.append(op(3, vec![(1, Value::Bytes(id.to_vec()))]))?;
        }
        Ok(existed)
    }
    fn set_sign_count(&mut self, id: &[u8], count: u32) -> Result<(), StoreError> {
        self.append(op(
            2,
            vec![(1, Value::Bytes(id.to_vec())), (2, Value::from(count))],
        ))
    }
    fn clear(&mut self) -> Result<(), StoreError> {
        self.append(op(4, vec![]))
    }
    fn remaining_discoverable(&self) -> usize {
        self.capacity.saturating_sub(self.creds.discoverable())
    }
    fn large_blob_array(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.large_blobs.clone())
    }
    fn set_large_blob_array(&mut self, array: Vec<u8>) -> Result<(), StoreError> {
        self.append(op(5, vec![(1, Value::Bytes(array))]))
    }
    fn authenticator_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.state.clone())
    }
    fn put_all(
        &mut self,
        creds: Vec<StoredCredential>,
        large_blob_array: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let discoverable = creds
            .iter()
            .filter(|c| c.discoverable && !self.creds.contains(&c.id))
            .count();
        if discoverable > self.remaining_discoverable() {
            return Err(StoreError::Full);
        }
        // One record: durable whole, or (torn, or never written) not at all.
        let mut fields = vec![(1, Value::Array(creds.iter().map(cred_to_value).collect()))];
        if let Some(a) = large_blob_array {
            fields.push((2, Value::Bytes(a)));
        }
        self.append(op(7, fields))
    }
    fn set_authenticator_state(&mut self, state: Vec<u8>) -> Result<(), StoreError> {
        self.append(op(6, vec![(1, Value::Bytes(state))]))
    }
}
