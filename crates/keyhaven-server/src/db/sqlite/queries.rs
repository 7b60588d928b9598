//! The SQL of the backend: connections, row decoding, and the statements the
//! write jobs run (login, sessions, challenges, purges).

use super::*;

pub(super) fn connect(path: &str) -> Result<Connection, DbError> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
    Ok(c)
}

pub(super) fn user_row(r: &rusqlite::Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        handle: r.get(3)?,
    })
}

pub(super) const CRED_COLUMNS: &str =
    "c.user_id, c.name, c.record, cu.sign_count, cu.backed_up, cu.uv_initialized, \
     c.created_at, cu.last_used_at, u.username FROM credentials c JOIN users u ON u.id = c.user_id \
     JOIN credential_use cu ON cu.user_id = c.user_id AND cu.id = c.id";

pub(super) fn cred_row(r: &rusqlite::Row) -> rusqlite::Result<Result<Credential, DbError>> {
    let json: String = r.get(2)?;
    let last: Option<i64> = r.get(7)?;
    Ok(
        record_from(&json, r.get(3)?, r.get(4)?, r.get(5)?, last).map(|record| Credential {
            user_id: r.get(0).unwrap_or_default(),
            username: r.get(8).unwrap_or_default(),
            name: r.get(1).unwrap_or_default(),
            record,
            created_at: r.get(6).unwrap_or_default(),
            last_used_at: last,
        }),
    )
}

/// A user's credentials, oldest first.
pub(super) fn credentials_by_user(
    c: &Connection,
    user_id: i64,
) -> Result<Vec<Credential>, DbError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {CRED_COLUMNS} WHERE c.user_id = ?1 ORDER BY c.created_at, c.id"
    ))?;
    let rows = st.query_map(params![user_id], cred_row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(out)
}

/// The login's write: consume the challenge, compare-and-set the counter,
/// open the session.
pub(super) fn login(
    c: &Connection,
    challenge: &[u8; 32],
    record: &CredentialRecord,
    user_id: i64,
    now: i64,
    session: &NewSession,
) -> Result<LoginUpdate, DbError> {
    if !consume(c, challenge, Kind::Authentication, now)? {
        return Ok(LoginUpdate::ChallengeGone);
    }
    let n = c
        .prepare_cached(
            "UPDATE credential_use SET sign_count = ?1, backed_up = ?2, uv_initialized = ?3, last_used_at = ?4 \
             WHERE user_id = ?5 AND id = ?6 AND (sign_count < ?1 OR (sign_count = 0 AND ?1 = 0))",
        )?
        .execute(params![
            i64::from(record.sign_count),
            record.backup_state,
            record.uv_initialized,
            now,
            user_id,
            record.id
        ])?;
    if n == 0 {
        return Ok(LoginUpdate::CounterRace);
    }
    insert_session(c, user_id, &record.id, now, session)?;
    Ok(LoginUpdate::Done)
}

/// Opens a session of `user_id` by passkey `credential_id` (ending the one
/// it replaces, if that is the same user's): the last step of a new
/// account's registration and of a login.
pub(super) fn insert_session(
    c: &Connection,
    user_id: i64,
    credential_id: &[u8],
    now: i64,
    s: &NewSession,
) -> Result<(), DbError> {
    if let Some(old) = s.replaces {
        c.prepare_cached("DELETE FROM sessions WHERE hash = ?1")?
            .execute(params![old.as_slice()])?;
    }
    c.prepare_cached(
        "INSERT INTO sessions (hash, user_id, credential_id, device, created_at, last_seen_at, verified_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
    )?
    .execute(params![
        s.key.as_slice(),
        user_id,
        credential_id,
        s.device,
        now,
        s.verified.then_some(now),
        s.expires_at
    ])?;
    Ok(())
}

/// A [`Session`] from the columns of [`SESSION_COLUMNS`], the first at `base`.
pub(super) fn session_at(
    r: &rusqlite::Row,
    base: usize,
) -> rusqlite::Result<Result<Session, DbError>> {
    let key: Vec<u8> = r.get(base)?;
    let (user_id, credential_id, device) = (r.get(base + 1)?, r.get(base + 2)?, r.get(base + 3)?);
    let (created_at, last_seen_at, verified_at, expires_at) = (
        r.get(base + 4)?,
        r.get(base + 5)?,
        r.get(base + 6)?,
        r.get(base + 7)?,
    );
    Ok(session_key(&key).map(|key| Session {
        key,
        user_id,
        credential_id,
        device,
        created_at,
        last_seen_at,
        verified_at,
        expires_at,
    }))
}

/// A credential by ID.
pub(super) fn credential_by_id(c: &Connection, id: Vec<u8>) -> Result<Option<Credential>, DbError> {
    c.prepare_cached(&format!("SELECT {CRED_COLUMNS} WHERE c.id = ?1"))?
        .query_row(params![id], cred_row)
        .optional()?
        .transpose()
}

pub(super) fn peek(
    c: &Connection,
    hash: [u8; 32],
    kind: Kind,
    now: i64,
    credential: Option<Vec<u8>>,
) -> Result<(Option<Challenge>, Option<Credential>), DbError> {
    let ch = c
        .prepare_cached(
            "SELECT state, expires_at FROM challenges WHERE hash = ?1 AND kind = ?2 AND expires_at > ?3 \
             AND NOT EXISTS (SELECT 1 FROM challenges_used WHERE hash = ?1)",
        )?
        .query_row(params![hash.as_slice(), kind.as_str(), now], |r| {
            Ok(Challenge {
                kind,
                state: r.get(0)?,
                expires_at: r.get(1)?,
            })
        })
        .optional()?;
    let cred = match (&ch, credential) {
        (Some(_), Some(id)) => credential_by_id(c, id)?,
        _ => None,
    };
    Ok((ch, cred))
}

/// Consumes a challenge inside a write job: true if this job got it. The
/// challenge's key joins `challenges_used` (its primary key lets one job
/// in); the row itself goes in a later purge, together with that key.
pub(super) fn consume(
    c: &Connection,
    hash: &[u8; 32],
    kind: Kind,
    now: i64,
) -> Result<bool, DbError> {
    Ok(c.prepare_cached(
        "INSERT INTO challenges_used (hash) SELECT hash FROM challenges \
         WHERE hash = ?1 AND kind = ?2 AND expires_at > ?3 ON CONFLICT (hash) DO NOTHING",
    )?
    .execute(params![hash.as_slice(), kind.as_str(), now])?
        == 1)
}

/// Rows one purge job deletes from each table, so a purge after a busy
/// minute never holds the writer for long.
pub(super) const PURGE_CHUNK: i64 = 2000;

/// One chunk of the purge: consumed challenges (row and key together, so a
/// key leaves `challenges_used` only when its challenge is gone), expired
/// challenges, expired sessions. Returns rows deleted and whether any table
/// had more than a chunk.
pub(super) fn purge_chunk(c: &Connection, now: i64) -> Result<(u64, bool), DbError> {
    let used = "SELECT hash FROM challenges_used ORDER BY hash LIMIT ?1";
    let consumed = c.execute(
        &format!("DELETE FROM challenges WHERE hash IN ({used})"),
        params![PURGE_CHUNK],
    )?;
    let keys = c.execute(
        &format!("DELETE FROM challenges_used WHERE hash IN ({used})"),
        params![PURGE_CHUNK],
    )?;
    let expired = c.execute(
        "DELETE FROM challenges WHERE rowid IN \
         (SELECT rowid FROM challenges WHERE expires_at <= ?1 LIMIT ?2)",
        params![now, PURGE_CHUNK],
    )?;
    let sessions = c.execute(
        "DELETE FROM sessions WHERE rowid IN \
         (SELECT rowid FROM sessions WHERE expires_at <= ?1 LIMIT ?2)",
        params![now, PURGE_CHUNK],
    )?;
    let chunk = PURGE_CHUNK as usize;
    Ok((
        (consumed + expired + sessions) as u64,
        keys == chunk || expired == chunk || sessions == chunk,
    ))
}
