//! The read cache [`Db`](super::Db) keeps in front of either backend: the
//! challenges this process issued and the credential records it read, so
//! that checking a login reads nothing from the database.
//!
//! It only ever saves a read. Every decision that matters is still taken by
//! the database, inside the login's transaction or statement: the challenge
//! is consumed there (a challenge the cache still holds but the database no
//! longer does fails the ceremony), and the signature counter is compared
//! and set there (a cached record whose counter is behind the database makes
//! that compare-and-set refuse the login, and is dropped). A cached entry is
//! updated or dropped only after the write it reflects has committed; a
//! crash loses the cache, never a committed write. On SQLite only this
//! process writes (the data directory is locked); on PostgreSQL another node
//! may change a row behind the cache's back, which the same checks in the
//! login's statement catch.
//!
//! Both maps are bounded, so a flood of options calls cannot grow memory
//! without limit: past the bound, entries are simply not cached.

use super::{Challenge, Credential, Kind};
use keyhaven_rp::CredentialRecord;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Most challenges cached (each a few hundred bytes).
const MAX_CHALLENGES: usize = 65_536;
/// Most credential records cached.
const MAX_CREDENTIALS: usize = 65_536;
/// Least time between two sweeps of expired challenges (ms).
const SWEEP_EVERY_MS: i64 = 1_000;

#[derive(Default)]
struct Challenges {
    map: HashMap<[u8; 32], Challenge>,
    last_sweep: i64,
}

/// The cache.
#[derive(Default)]
pub(super) struct Cache {
    challenges: Mutex<Challenges>,
    credentials: Mutex<HashMap<Vec<u8>, Credential>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned map is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cache {
    /// Remembers a challenge whose row was written.
    pub(super) fn put_challenge(&self, hash: [u8; 32], ch: Challenge, now: i64) {
        let mut c = lock(&self.challenges);
        if c.map.len() >= MAX_CHALLENGES && now - c.last_sweep >= SWEEP_EVERY_MS {
            c.last_sweep = now;
            c.map.retain(|_, ch| ch.expires_at > now);
        }
        if c.map.len() < MAX_CHALLENGES {
            c.map.insert(hash, ch);
        }
    }

    /// An unexpired challenge issued for `kind`, if cached.
    pub(super) fn challenge(&self, hash: &[u8; 32], kind: Kind, now: i64) -> Option<Challenge> {
        lock(&self.challenges)
            .map
            .get(hash)
            .filter(|c| c.kind == kind && c.expires_at > now)
            .cloned()
    }

    /// Forgets a challenge that was consumed (or tried to be).
    pub(super) fn forget_challenge(&self, hash: &[u8; 32]) {
        lock(&self.challenges).map.remove(hash);
    }

    /// Drops expired challenges.
    pub(super) fn purge(&self, now: i64) {
        let mut c = lock(&self.challenges);
        c.last_sweep = now;
        c.map.retain(|_, ch| ch.expires_at > now);
    }

    /// A cached credential.
    pub(super) fn credential(&self, id: &[u8]) -> Option<Credential> {
        lock(&self.credentials).get(id).cloned()
    }

    /// Remembers a credential read from the database.
    pub(super) fn put_credential(&self, c: Credential) {
        let mut m = lock(&self.credentials);
        if m.len() >= MAX_CREDENTIALS && !m.contains_key(&c.record.id) {
            if let Some(k) = m.keys().next().cloned() {
                m.remove(&k);
            }
        }
        m.insert(c.record.id.clone(), c);
    }

    /// Applies a committed login: the same four values the database stored.
    /// Never moves a cached counter backwards (two logins of one credential
    /// may finish in either order).
    pub(super) fn logged_in(&self, record: &CredentialRecord, now: i64) {
        if let Some(c) = lock(&self.credentials).get_mut(&record.id) {
            if record.sign_count >= c.record.sign_count {
                c.record.sign_count = record.sign_count;
                c.record.backup_state = record.backup_state;
                c.record.uv_initialized = record.uv_initialized;
                c.record.last_used_at = Some((now / 1000) as u64);
                c.last_used_at = Some(now);
            }
        }
    }

    /// Forgets a credential whose row changed or may have.
    pub(super) fn forget_credential(&self, id: &[u8]) {
        lock(&self.credentials).remove(id);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn challenge(kind: Kind, expires_at: i64) -> Challenge {
        Challenge {
            kind,
            state: "{}".into(),
            expires_at,
        }
    }

    /// A new account, alice, for a first credential.
    pub(crate) fn alice() -> super::super::Owner {
        super::super::Owner::New {
            username: "alice".into(),
            display_name: "Alice".into(),
            handle: vec![1],
        }
    }

    /// A credential `[id]` of user 1 (alice) at `sign_count`.
    pub(crate) fn credential(id: u8, sign_count: u32) -> Credential {
        let record = CredentialRecord {
            version: 1,
            type_: "public-key".into(),
            id: vec![id],
            public_key: vec![1],
            algorithm: -7,
            sign_count,
            transports: vec![],
            backup_eligible: false,
            backup_state: false,
            uv_initialized: false,
            aaguid: String::new(),
            attestation_format: "none".into(),
            attestation_type: "None".into(),
            attestation_trusted: false,
            user_handle: None,
            rp_id: "localhost".into(),
            created_at: 0,
            last_used_at: None,
        };
        Credential {
            user_id: 1,
            username: "alice".into(),
            name: "key".into(),
            record,
            created_at: 0,
            last_used_at: None,
        }
    }

    #[test]
    fn challenges_are_found_only_for_their_kind_until_expiry() {
        let c = Cache::default();
        c.put_challenge([1; 32], challenge(Kind::Authentication, 100), 0);
        assert!(c.challenge(&[1; 32], Kind::Authentication, 99).is_some());
        assert!(c.challenge(&[1; 32], Kind::Registration, 99).is_none());
        assert!(c.challenge(&[1; 32], Kind::Authentication, 100).is_none());
        c.forget_challenge(&[1; 32]);
        assert!(c.challenge(&[1; 32], Kind::Authentication, 0).is_none());
    }

    #[test]
    fn the_challenge_map_is_bounded_and_swept() {
        let c = Cache::default();
        for i in 0..MAX_CHALLENGES + 10 {
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&(i as u64).to_be_bytes());
            c.put_challenge(h, challenge(Kind::Authentication, 50), 0);
        }
        assert_eq!(lock(&c.challenges).map.len(), MAX_CHALLENGES);
        // Once they expired, a new one sweeps them out and is kept.
        c.put_challenge([9; 32], challenge(Kind::Authentication, 5_000), 2_000);
        assert_eq!(lock(&c.challenges).map.len(), 1);
        c.purge(6_000);
        assert!(lock(&c.challenges).map.is_empty());
    }

    #[test]
    fn a_login_never_moves_the_cached_counter_back() {
        let c = Cache::default();
        c.put_credential(credential(7, 5));
        c.logged_in(&credential(7, 9).record, 3_000);
        c.logged_in(&credential(7, 8).record, 4_000);
        let got = c.credential(&[7]).unwrap_or_else(|| panic!("cached"));
        assert_eq!(got.record.sign_count, 9);
        assert_eq!(got.last_used_at, Some(3_000));
        c.forget_credential(&[7]);
        assert!(c.credential(&[7]).is_none());
    }

    #[test]
    fn the_credential_map_is_bounded() {
        let c = Cache::default();
        for i in 0..MAX_CREDENTIALS + 5 {
            let mut cred = credential(0, 0);
            cred.record.id = (i as u64).to_be_bytes().to_vec();
            c.put_credential(cred);
        }
        assert_eq!(lock(&c.credentials).len(), MAX_CREDENTIALS);
    }
}
