//! Storage: users, credential records, single-use challenges, sessions.
//! Embedded SQLite (one writer thread committing in groups, read connections
//! beside it) or PostgreSQL (a connection pool; several `serve` processes may
//! share one database). Everything a ceremony needs for correctness lives
//! here, never only in process memory. In front of either backend, [`Db`]
//! keeps one read cache (`cache.rs`) of the challenges this process issued
//! and the credential records it read; it only saves reads: the backend's
//! write re-checks everything a login relies on, and the cache follows only
//! what committed.

pub(crate) mod cache;
mod migrate;
mod postgres;
mod postgres_batch;
pub mod postgres_tls;
mod sqlite;

use cache::Cache;
use keyhaven_rp::time::Clock;
use keyhaven_rp::CredentialRecord;
use std::sync::Arc;

/// PostgreSQL connections a node opens at most, unless configured: with
/// PostgreSQL's default `max_connections` (100), three nodes.
pub const DEFAULT_CONNECTIONS: usize = 32;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (the message names every cause, e.g. why a TLS
    /// handshake failed).
    #[error("postgres: {}", causes(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection.
    #[error("postgres pool: {0}")]
    Pool(String),
    /// A stored value does not parse.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The writer thread is gone or the batch did not commit.
    #[error("the database writer failed: {0}")]
    Writer(String),
    /// A PostgreSQL batch (see `postgres_batch.rs`) failed or stopped: which
    /// kind, and why.
    #[error("the {what} batch failed: {cause}")]
    Batch {
        /// The kind of request ("login", "challenge", …).
        what: &'static str,
        /// Why.
        cause: String,
    },
    /// The database URL is not understood.
    #[error("database: {0}")]
    Config(String),
}

/// Groups `(user_id, length)` rows (ordered by user) into shapes.
fn group_shapes(rows: impl IntoIterator<Item = (i64, i64)>) -> Vec<(i64, Vec<usize>)> {
    let mut out: Vec<(i64, Vec<usize>)> = Vec::new();
    for (user, len) in rows {
        let len = usize::try_from(len).unwrap_or(0);
        match out.last_mut() {
            Some((u, lens)) if *u == user => lens.push(len),
            _ => out.push((user, vec![len])),
        }
    }
    out
}

/// An error and its sources, `a: b: c`.
pub fn causes(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        next = cause.source();
    }
    s
}

/// An account.
#[derive(Debug, Clone)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Unique username.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// WebAuthn user handle (random, 64 bytes).
    pub handle: Vec<u8>,
}

/// A stored credential.
#[derive(Debug, Clone)]
pub struct Credential {
    /// Owner.
    pub user_id: i64,
    /// The owner's username.
    pub username: String,
    /// The user's name for it.
    pub name: String,
    /// The record (sign count, backup state and last use from their columns).
    pub record: CredentialRecord,
    /// Creation time (ms since the epoch).
    pub created_at: i64,
    /// Last login (ms).
    pub last_used_at: Option<i64>,
}

/// What a challenge was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Registration options.
    Registration,
    /// Authentication options.
    Authentication,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Registration => "registration",
            Kind::Authentication => "authentication",
        }
    }
}

/// An issued challenge and the ceremony state kept with it.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The ceremony.
    pub kind: Kind,
    /// The ceremony state (JSON).
    pub state: String,
    /// Expiry (ms).
    pub expires_at: i64,
}

/// A session to open at a login or at a new account's registration. Its
/// passkey is the ceremony's; it begins (and was last seen) now.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Storage key of the token.
    pub key: [u8; 32],
    /// Expiry (ms).
    pub expires_at: i64,
    /// The browser (a sanitized User-Agent).
    pub device: String,
    /// Whether the ceremony verified the user (UV): then the session counts
    /// as verified now.
    pub verified: bool,
    /// The session this one replaces (the request's own, at a sign-in from
    /// a signed-in browser), ended in the same transaction.
    pub replaces: Option<[u8; 32]>,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Storage key of the token.
    pub key: [u8; 32],
    /// Its account.
    pub user_id: i64,
    /// The passkey whose ceremony opened it.
    pub credential_id: Vec<u8>,
    /// The browser (a sanitized User-Agent).
    pub device: String,
    /// Opened (ms).
    pub created_at: i64,
    /// Last request seen (ms; updated at most once a minute).
    pub last_seen_at: i64,
    /// Last ceremony in it that verified the user (ms).
    pub verified_at: Option<i64>,
    /// Expiry (ms).
    pub expires_at: i64,
}

/// The columns [`Session`] is read from, in its field order.
const SESSION_COLUMNS: &str =
    "s.hash, s.user_id, s.credential_id, s.device, s.created_at, s.last_seen_at, s.verified_at, s.expires_at";

/// A session's storage key from its column.
fn session_key(raw: &[u8]) -> Result<[u8; 32], DbError> {
    raw.try_into()
        .map_err(|_| DbError::Corrupt(format!("a session key of {} bytes", raw.len())))
}

/// Outcome of deleting a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// Gone, and with it this many sessions it had opened.
    Yes {
        /// Sessions ended.
        sessions_ended: u64,
    },
    /// Not this user's, or no such credential.
    NotFound,
    /// It is the account's last credential and deleting it was not confirmed.
    LastOne,
}

/// Outcome of recording a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginUpdate {
    /// Counter and state stored, session created.
    Done,
    /// Another login stored a counter at least as high in the meantime.
    CounterRace,
    /// The challenge was consumed by another submission, or expired.
    ChallengeGone,
}

/// A new account with its first credential, or a credential for an existing account.
pub enum Owner {
    /// Create this user.
    New {
        /// Username.
        username: String,
        /// Display name.
        display_name: String,
        /// User handle.
        handle: Vec<u8>,
    },
    /// An existing user.
    Existing(i64),
}

/// Outcome of storing a new credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// Stored; the owner's user id.
    Yes(i64),
    /// The username was taken in the meantime.
    UsernameTaken,
    /// The credential ID is already registered.
    CredentialExists,
    /// The challenge was consumed by another submission, or expired.
    ChallengeGone,
}

/// The database: a backend, and the read cache in front of it.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
    cache: Arc<Cache>,
    clock: Clock,
}

/// Where the rows are.
#[derive(Clone)]
enum Backend {
    /// Embedded SQLite.
    Sqlite(sqlite::Sqlite),
    /// PostgreSQL.
    Postgres(postgres::Postgres),
}

macro_rules! dispatch {
    ($self:ident, $db:ident => $e:expr) => {
        match &$self.backend {
            Backend::Sqlite($db) => $e,
            Backend::Postgres($db) => $e,
        }
    };
}

impl Db {
    /// Opens `database` (`sqlite:PATH`, a plain path, or `postgres://…`),
    /// creating and migrating the schema. On PostgreSQL this node opens at
    /// most `connections` connections (at least 1).
    /// Times it writes (migrations, cache entries) come from `clock`.
    pub async fn open(database: &str, clock: Clock, connections: usize) -> Result<Db, DbError> {
        let backend =
            if database.starts_with("postgres://") || database.starts_with("postgresql://") {
                Backend::Postgres(
                    postgres::Postgres::open(database, clock.clone(), connections.max(1)).await?,
                )
            } else {
                let path = database.strip_prefix("sqlite:").unwrap_or(database);
                Backend::Sqlite(sqlite::Sqlite::open(path, clock.clone())?)
            };
        Ok(Db {
            backend,
            cache: Arc::default(),
            clock,
        })
    }

    /// Which backend, for /healthz and logs.
    pub fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A 32-byte server secret, created once and shared by every node.
    pub async fn server_secret(&self) -> Result<Vec<u8>, DbError> {
        let fresh = keyhaven_crypto::rand::vec(32).map_err(|e| DbError::Writer(e.to_string()))?;
        dispatch!(self, db => db.server_secret(fresh).await)
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        dispatch!(self, db => db.ping().await)
    }

    /// A user by name.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, DbError> {
        dispatch!(self, db => db.user_by_name(name.to_owned()).await)
    }

    /// An account by name and its credentials, oldest first; an unknown
    /// name costs the same work as a known one.
    pub async fn account(&self, name: &str) -> Result<Option<(User, Vec<Credential>)>, DbError> {
        dispatch!(self, db => db.account(name.to_owned()).await)
    }

    /// A user's credentials, oldest first.
    pub async fn credentials_of(&self, user_id: i64) -> Result<Vec<Credential>, DbError> {
        dispatch!(self, db => db.credentials_of(user_id).await)
    }

    /// The shapes of up to `limit` of the oldest accounts: each one's
    /// credential ID lengths, oldest credential first, keyed by user ID (for
    /// decoys that look like real accounts).
    pub async fn credential_shapes(&self, limit: i64) -> Result<Vec<(i64, Vec<usize>)>, DbError> {
        dispatch!(self, db => db.credential_shapes(limit).await)
    }

    /// Stores a challenge under its storage key (the challenge's time prefix
    /// and 24 bytes of its SHA-256; see `api::storage_key`).
    pub async fn put_challenge(&self, hash: [u8; 32], c: Challenge) -> Result<(), DbError> {
        let cached = c.clone();
        dispatch!(self, db => db.put_challenge(hash, c).await)?;
        // Cached only once its row is written.
        self.cache
            .put_challenge(hash, cached, self.clock.unix_millis());
        Ok(())
    }

    /// A live challenge and, with `credential`, that credential; nothing is
    /// consumed (that happens atomically with the ceremony's outcome).
    pub async fn peek_challenge(
        &self,
        hash: [u8; 32],
        kind: Kind,
        now: i64,
        credential: Option<Vec<u8>>,
    ) -> Result<(Option<Challenge>, Option<Credential>), DbError> {
        // A challenge this process issued and a credential it read: nothing
        // to read. Whether either still holds is decided by the login's write.
        if let Some(ch) = self.cache.challenge(&hash, kind, now) {
            let cred = match credential {
                Some(id) => self.credential(id).await?,
                None => None,
            };
            return Ok((Some(ch), cred));
        }
        let seen = dispatch!(self, db => db.peek_challenge(hash, kind, now, credential).await)?;
        if let Some(c) = &seen.1 {
            self.cache.put_credential(c.clone());
        }
        Ok(seen)
    }

    /// A credential: cached, else read (and cached).
    async fn credential(&self, id: Vec<u8>) -> Result<Option<Credential>, DbError> {
        if let Some(c) = self.cache.credential(&id) {
            return Ok(Some(c));
        }
        let c = dispatch!(self, db => db.credential(id).await)?;
        if let Some(c) = &c {
            self.cache.put_credential(c.clone());
        }
        Ok(c)
    }

    /// In one transaction: consumes the registration challenge (exactly one
    /// submission gets it), stores the credential (and its new user) and,
    /// with `session`, opens it.
    pub async fn add_credential(
        &self,
        challenge: [u8; 32],
        owner: Owner,
        name: String,
        record: CredentialRecord,
        now: i64,
        session: Option<NewSession>,
    ) -> Result<Added, DbError> {
        self.cache.forget_challenge(&challenge);
        let (added, fresh) = dispatch!(self, db => db.add_credential(challenge, owner, name, record, now, session).await)?;
        // Committed: a new passkey's first login usually follows soon.
        if let Some(fresh) = fresh {
            self.cache.put_credential(fresh);
        }
        Ok(added)
    }

    /// After a verified assertion, in one transaction: consumes the challenge
    /// (exactly one submission gets it), stores the new counter, backup state
    /// and last use if the counter moved forward (or both are zero), and
    /// opens the session (ending the one it replaces).
    pub async fn record_login(
        &self,
        challenge: [u8; 32],
        record: CredentialRecord,
        user_id: i64,
        now: i64,
        session: NewSession,
    ) -> Result<LoginUpdate, DbError> {
        // Consumed or not, this challenge is not offered again from the cache.
        self.cache.forget_challenge(&challenge);
        let id = record.id.clone();
        let r =
            dispatch!(self, db => db.record_login(challenge, record, user_id, now, session).await);
        // The cache follows only what committed; a refused compare-and-set
        // means the row changed elsewhere (or is gone): read it again next
        // time, as after a failure that may or may not have committed.
        match r {
            Ok((LoginUpdate::Done, record)) => {
                self.cache.logged_in(&record, now);
                Ok(LoginUpdate::Done)
            }
            Ok((LoginUpdate::ChallengeGone, _)) => Ok(LoginUpdate::ChallengeGone),
            race_or_failure => {
                self.cache.forget_credential(&id);
                race_or_failure.map(|(update, _)| update)
            }
        }
    }

    /// A live session and its user.
    pub async fn session_user(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<(User, Session)>, DbError> {
        dispatch!(self, db => db.session_user(hash, now).await)
    }

    /// A user's live sessions, the most recently seen first.
    pub async fn sessions_of(&self, user_id: i64, now: i64) -> Result<Vec<Session>, DbError> {
        dispatch!(self, db => db.sessions_of(user_id, now).await)
    }

    /// Records that a session was seen at `now`.
    pub async fn touch_session(&self, hash: [u8; 32], now: i64) -> Result<(), DbError> {
        dispatch!(self, db => db.touch_session(hash, now).await)
    }

    /// Ends a session.
    pub async fn delete_session(&self, hash: [u8; 32]) -> Result<(), DbError> {
        dispatch!(self, db => db.delete_session(hash).await)
    }

    /// Ends one of the user's sessions; false if no live session of theirs
    /// has that key.
    pub async fn end_session_of(&self, user_id: i64, hash: [u8; 32]) -> Result<bool, DbError> {
        dispatch!(self, db => db.end_session_of(user_id, hash).await)
    }

    /// Changes the user's display name; false if the account is gone.
    pub async fn set_display_name(&self, user_id: i64, name: String) -> Result<bool, DbError> {
        dispatch!(self, db => db.set_display_name(user_id, name).await)
    }

    /// Renames one of the user's credentials; false if not theirs.
    pub async fn rename_credential(
        &self,
        user_id: i64,
        id: Vec<u8>,
        name: String,
    ) -> Result<bool, DbError> {
        self.credential_write(id, |id| async move {
            dispatch!(self, db => db.rename_credential(user_id, id, name).await)
        })
        .await
    }

    /// Deletes one of the user's credentials and ends the sessions it opened.
    pub async fn delete_credential(
        &self,
        user_id: i64,
        id: Vec<u8>,
        allow_last: bool,
    ) -> Result<Deleted, DbError> {
        self.credential_write(id, |id| async move {
            dispatch!(self, db => db.delete_credential(user_id, id, allow_last).await)
        })
        .await
    }

    /// A write changing credential `id`'s row, with the cached copy forgotten
    /// before and after (a peek in between may cache the old row again).
    async fn credential_write<R, F: std::future::Future<Output = Result<R, DbError>>>(
        &self,
        id: Vec<u8>,
        write: impl FnOnce(Vec<u8>) -> F,
    ) -> Result<R, DbError> {
        self.cache.forget_credential(&id);
        let key = id.clone();
        let r = write(id).await;
        self.cache.forget_credential(&key);
        r
    }

    /// Removes expired challenges and sessions.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, DbError> {
        self.cache.purge(now);
        dispatch!(self, db => db.purge_expired(now).await)
    }
}

/// The record with its mutable fields taken from their columns.
pub(crate) fn record_from(
    json: &str,
    sign_count: i64,
    backed_up: bool,
    uv_initialized: bool,
    last_used_at: Option<i64>,
) -> Result<CredentialRecord, DbError> {
    let mut r: CredentialRecord =
        serde_json::from_str(json).map_err(|e| DbError::Corrupt(e.to_string()))?;
    r.sign_count = u32::try_from(sign_count).unwrap_or(u32::MAX);
    r.backup_state = backed_up;
    r.uv_initialized = uv_initialized;
    r.last_used_at = last_used_at.map(|ms| (ms / 1000) as u64);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the cache gives is what the database holds after each write: a
    /// renamed passkey is peeked under its new name (on both backends; the
    /// rename goes through `Db`, which drops the cached copy).
    #[tokio::test]
    async fn a_peek_after_a_rename_sees_the_new_name() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("k.db");
        let db = Db::open(&path.to_string_lossy(), Clock::system(), 1)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let record = cache::tests::credential(4, 0).record;
        let ch = |kind| Challenge {
            kind,
            state: "{}".into(),
            expires_at: i64::MAX,
        };
        db.put_challenge([1; 32], ch(Kind::Registration))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let owner = cache::tests::alice();
        let added = db
            .add_credential([1; 32], owner, "Passkey 1".into(), record, 1_000, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let Added::Yes(user) = added else {
            panic!("{added:?}")
        };
        db.put_challenge([2; 32], ch(Kind::Authentication))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let peek = || async {
            let (ch, cred) = db
                .peek_challenge([2; 32], Kind::Authentication, 2_000, Some(vec![4]))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(ch.is_some());
            cred.unwrap_or_else(|| panic!("no credential")).name
        };
        assert_eq!(peek().await, "Passkey 1");
        assert!(db
            .rename_credential(user, vec![4], "Work key".into())
            .await
            .unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(peek().await, "Work key");
    }
}
