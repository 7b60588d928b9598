//! SQLite in WAL mode, with a paced group commit.
//!
//! One writer thread takes every write job waiting in its queue, runs them in
//! one transaction and commits them together, at most once per
//! `COMMIT_INTERVAL` (1 ms) under load. After each commit it `fdatasync`s the
//! WAL file itself and only then releases the batch's answers, so a durable
//! job's answer is never sent before its commit is on disk; the commit and its
//! flush (about 0.2 ms here) fit in the pause before the next commit, and no thread hop
//! stands between the commit, its flush and the answers. A failed commit
//! (a full disk) fails its batch, and the next batch tries again; a failed
//! flush also makes the writer checkpoint the WAL into the database file
//! before its next commit. While writes fail, `ping` (and so `/healthz`)
//! reports why, and tries a write of its own to notice recovery. Where the process may, the writer runs
//! at a raised priority, so that a batch never waits for a time slice behind
//! the request workers. Checkpoints run on a checkpointer thread beside the
//! writer (see [`checkpointer`]). Reads use separate connections (`Db` keeps
//! a read cache in front of them, `cache.rs`). One process per database: the
//! database file's lock file is held while it is open.

use super::{
    record_from, session_key, Added, Challenge, Credential, DbError, Deleted, Kind, LoginUpdate,
    NewSession, Owner, Session, User, SESSION_COLUMNS,
};
use keyhaven_rp::time::Clock;
use keyhaven_rp::CredentialRecord;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::{mpsc, Arc, Mutex};

mod checkpoint;
mod queries;
mod schema;
mod wal;
mod writer;
use checkpoint::*;
use queries::*;
use schema::*;
use wal::*;
use writer::*;

/// The SQLite backend.
#[derive(Clone)]
pub struct Sqlite {
    jobs: mpsc::Sender<Job>,
    /// Whether writes work, and why not.
    health: Arc<Health>,
    path: Arc<String>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Held (locked) for as long as the database is open.
    _lock: Arc<std::fs::File>,
    /// The server's clock (migration times, health probes).
    clock: Clock,
}

impl Sqlite {
    /// Opens (creating) the database file, migrates it, and starts the
    /// checkpointer and the writer.
    pub fn open(path: &str, clock: Clock) -> Result<Self, DbError> {
        let lock = lock(path)?;
        let mut conn = connect(path)?;
        migrate(&mut conn, &clock)?;
        // From here on commits return before the disk flush; the writer
        // flushes the WAL itself, and the checkpointer checkpoints on its own
        // connection.
        conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        conn.wal_hook(Some(note_wal_pages));
        let bulk = start_checkpointer(path)?;
        let (jobs, health) = start_writer(conn, path, bulk)?;
        Ok(Sqlite {
            clock,
            jobs,
            health,
            path: Arc::new(path.to_owned()),
            readers: Arc::default(),
            _lock: Arc::new(lock),
        })
    }

    /// A write whose answer waits for its commit (durable).
    async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
    ) -> Result<R, DbError> {
        self.submit(f, false).await
    }

    /// A write whose answer is released as soon as it ran, before its batch
    /// commits. Later jobs on the single writer already see its effect, so a
    /// consumed challenge cannot be consumed twice; it becomes durable with
    /// the commit that makes the ceremony's outcome durable (a later job in
    /// the same order). Only three kinds of job are released early: a new
    /// challenge's row (if its batch then fails, the challenge is lost and its
    /// ceremony fails: consuming it needs the row, not the cached copy), a
    /// peek, which writes nothing, and a session's last-seen time (nobody
    /// relies on it). So a failed batch contradicts no answer.
    async fn write_early<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
    ) -> Result<R, DbError> {
        self.submit(f, true).await
    }

    async fn submit<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
        early: bool,
    ) -> Result<R, DbError> {
        // While writes fail, nothing is answered before its commit: a new
        // challenge that would be lost gets 503 now, not a failed ceremony later.
        let early = early && self.health.failing().is_none();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn: Option<&Connection>| {
            let Some(conn) = conn else {
                // The batch could not begin: answered with its reason.
                return (
                    Some("not run".to_owned()),
                    Box::new(move |settled: Settled| {
                        let reason = settled.err().unwrap_or_else(|| "not run".into());
                        let _ = tx.send(Err(DbError::Writer(reason.to_string())));
                    }) as Done,
                );
            };
            // No savepoint per job: a job that fails rolls its whole batch back
            // (every durable job in it then fails; an early-released one only
            // loses a fresh challenge, which fails its ceremony).
            let r = f(conn);
            let error = r.as_ref().err().map(ToString::to_string);
            if early {
                let _ = tx.send(r);
                return (error, Box::new(|_| {}) as Done);
            }
            (
                error,
                Box::new(move |settled: Settled| {
                    let _ = tx.send(match settled {
                        Ok(()) => r,
                        // The job's own error, else the batch's.
                        Err(reason) => r.and(Err(DbError::Writer(format!(
                            "the transaction did not commit: {reason}"
                        )))),
                    });
                }) as Done,
            )
        });
        self.jobs
            .send(job)
            .map_err(|_| DbError::Writer("writer thread stopped".into()))?;
        rx.await
            .map_err(|_| DbError::Writer("writer thread stopped".into()))?
    }

    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
    ) -> Result<R, DbError> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        // A read on a WAL database never waits for the writer and takes
        // microseconds: it runs right here, like a short critical section.
        (move || {
            let conn = readers.lock().ok().and_then(|mut v| v.pop());
            let conn = match conn {
                Some(c) => c,
                None => connect(&path)?,
            };
            let r = f(&conn);
            if let Ok(mut v) = readers.lock() {
                if v.len() < 16 {
                    v.push(conn);
                }
            }
            r
        })()
    }

    /// Reads work, and so do writes: while writes are failing, a probe
    /// write (committed and flushed) must succeed.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await?;
        if let Some(reason) = self.health.failing() {
            let now = self.clock.unix_millis();
            self.write(move |c| {
                c.execute(
                    "INSERT OR REPLACE INTO settings (key, value) VALUES ('probe', ?1)",
                    params![now.to_be_bytes().to_vec()],
                )?;
                Ok(())
            })
            .await
            .map_err(|e| DbError::Writer(format!("writes are failing ({reason}): {e}")))?;
        }
        Ok(())
    }

    pub async fn server_secret(&self, fresh: Vec<u8>) -> Result<Vec<u8>, DbError> {
        self.write(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO settings (key, value) VALUES ('secret', ?1)",
                params![fresh],
            )?;
            Ok(
                c.query_row("SELECT value FROM settings WHERE key = 'secret'", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
    }

    pub async fn user_by_name(&self, name: String) -> Result<Option<User>, DbError> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT id, username, display_name, handle FROM users WHERE username = ?1",
                params![name],
                user_row,
            )
            .optional()?)
        })
        .await
    }

    pub async fn credential_shapes(&self, limit: i64) -> Result<Vec<(i64, Vec<usize>)>, DbError> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT user_id, length(id) FROM credentials WHERE user_id IN \
                 (SELECT id FROM users ORDER BY id LIMIT ?1) ORDER BY user_id, created_at, id",
            )?;
            let rows = st.query_map(params![limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let mut all = Vec::new();
            for r in rows {
                all.push(r?);
            }
            Ok(super::group_shapes(all))
        })
        .await
    }

    pub async fn credentials_of(&self, user_id: i64) -> Result<Vec<Credential>, DbError> {
        self.read(move |c| credentials_by_user(c, user_id)).await
    }

    /// An account and its credentials, in one read; for an unknown name the
    /// same two queries run (the second finds nothing), so both take the
    /// same work.
    pub async fn account(&self, name: String) -> Result<Option<(User, Vec<Credential>)>, DbError> {
        self.read(move |c| {
            let user = c
                .prepare_cached(
                    "SELECT id, username, display_name, handle FROM users WHERE username = ?1",
                )?
                .query_row(params![name], user_row)
                .optional()?;
            // No account has ID 0 (row IDs start at 1).
            let creds = credentials_by_user(c, user.as_ref().map_or(0, |u| u.id))?;
            Ok(user.map(|u| (u, creds)))
        })
        .await
    }

    pub async fn put_challenge(&self, hash: [u8; 32], ch: Challenge) -> Result<(), DbError> {
        // Not durable before the answer: a challenge lost in a crash only
        // makes its ceremony fail.
        self.write_early(move |c| {
            c.prepare_cached(
                "INSERT INTO challenges (hash, kind, state, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                hash.as_slice(),
                ch.kind.as_str(),
                ch.state,
                ch.expires_at
            ])?;
            Ok(())
        })
        .await
    }

    /// The challenge and (optionally) a credential, without consuming
    /// anything: from a read connection, or, for a challenge too fresh to be
    /// committed yet, from the writer.
    pub async fn peek_challenge(
        &self,
        hash: [u8; 32],
        kind: Kind,
        now: i64,
        credential: Option<Vec<u8>>,
    ) -> Result<(Option<Challenge>, Option<Credential>), DbError> {
        let cred = credential.clone();
        let seen = self.read(move |c| peek(c, hash, kind, now, cred)).await?;
        if seen.0.is_some() {
            return Ok(seen);
        }
        self.write_early(move |c| peek(c, hash, kind, now, credential))
            .await
    }

    /// A credential, from a read connection.
    pub async fn credential(&self, id: Vec<u8>) -> Result<Option<Credential>, DbError> {
        self.read(move |c| credential_by_id(c, id)).await
    }

    pub async fn add_credential(
        &self,
        challenge: [u8; 32],
        owner: Owner,
        name: String,
        record: CredentialRecord,
        now: i64,
        session: Option<NewSession>,
    ) -> Result<(Added, Option<Credential>), DbError> {
        self.write(move |c| {
            // The challenge first: exactly one submission gets it.
            if !consume(c, &challenge, Kind::Registration, now)? {
                return Ok((Added::ChallengeGone, None));
            }
            // Checked next, so a refusal leaves nothing else behind.
            let exists: bool = c
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM credentials WHERE id = ?1)")?
                .query_row(params![record.id], |r| r.get(0))?;
            if exists {
                return Ok((Added::CredentialExists, None));
            }
            let user_id = match owner {
                Owner::Existing(id) => id,
                Owner::New {
                    username,
                    display_name,
                    handle,
                } => {
                    let taken: bool = c
                        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE username = ?1)")?
                        .query_row(params![username], |r| r.get(0))?;
                    if taken {
                        return Ok((Added::UsernameTaken, None));
                    }
                    c.prepare_cached(
                        "INSERT INTO users (username, display_name, handle, created_at) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![username, display_name, handle, now])?;
                    c.last_insert_rowid()
                }
            };
            let json = serde_json::to_string(&record).map_err(|e| DbError::Corrupt(e.to_string()))?;
            c.prepare_cached(
                "INSERT INTO credentials (id, user_id, name, record, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![record.id, user_id, name, json, now])?;
            c.prepare_cached(
                "INSERT INTO credential_use (user_id, id, sign_count, backed_up, uv_initialized, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
            )?
            .execute(params![
                user_id,
                record.id,
                i64::from(record.sign_count),
                record.backup_state,
                record.uv_initialized
            ])?;
            if let Some(s) = &session {
                insert_session(c, user_id, &record.id, now, s)?;
            }
            // Read back as a login will read it, for the read cache: a new
            // passkey's first login usually follows soon.
            let fresh = credential_by_id(c, record.id)?;
            Ok((Added::Yes(user_id), fresh))
        })
        .await
    }

    pub async fn record_login(
        &self,
        challenge: [u8; 32],
        record: CredentialRecord,
        user_id: i64,
        now: i64,
        session: NewSession,
    ) -> Result<(LoginUpdate, CredentialRecord), DbError> {
        // The record comes back from the job (after the commit), for the
        // read cache.
        self.write(move |c| {
            login(c, &challenge, &record, user_id, now, &session).map(|u| (u, record))
        })
        .await
    }

    pub async fn session_user(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<(User, Session)>, DbError> {
        self.read(move |c| {
            // The user's columns first (as `user_row` reads them), then the session's.
            c.prepare_cached(&format!(
                "SELECT u.id, u.username, u.display_name, u.handle, {SESSION_COLUMNS} \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.hash = ?1 AND s.expires_at > ?2"
            ))?
            .query_row(params![hash.as_slice(), now], |r| {
                let user = user_row(r)?;
                Ok(session_at(r, 4)?.map(|s| (user, s)))
            })
            .optional()?
            .transpose()
        })
        .await
    }

    pub async fn sessions_of(&self, user_id: i64, now: i64) -> Result<Vec<Session>, DbError> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.user_id = ?1 AND s.expires_at > ?2 \
                 ORDER BY s.last_seen_at DESC, s.created_at DESC"
            ))?
            .query_map(params![user_id, now], |r| session_at(r, 0))?
            .map(|r| r?)
            .collect()
        })
        .await
    }

    /// Not waited for on disk: losing a last-seen time to a crash is harmless.
    pub async fn touch_session(&self, hash: [u8; 32], now: i64) -> Result<(), DbError> {
        self.write_early(move |c| {
            c.prepare_cached("UPDATE sessions SET last_seen_at = ?1 WHERE hash = ?2")?
                .execute(params![now, hash.as_slice()])?;
            Ok(())
        })
        .await
    }

    pub async fn end_session_of(&self, user_id: i64, hash: [u8; 32]) -> Result<bool, DbError> {
        self.write(move |c| {
            Ok(c.execute(
                "DELETE FROM sessions WHERE hash = ?1 AND user_id = ?2",
                params![hash.as_slice(), user_id],
            )? == 1)
        })
        .await
    }

    pub async fn delete_session(&self, hash: [u8; 32]) -> Result<(), DbError> {
        self.write(move |c| {
            c.execute(
                "DELETE FROM sessions WHERE hash = ?1",
                params![hash.as_slice()],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn set_display_name(&self, user_id: i64, name: String) -> Result<bool, DbError> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE users SET display_name = ?1 WHERE id = ?2",
                params![name, user_id],
            )? == 1)
        })
        .await
    }

    pub async fn rename_credential(
        &self,
        user_id: i64,
        id: Vec<u8>,
        name: String,
    ) -> Result<bool, DbError> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE credentials SET name = ?1 WHERE id = ?2 AND user_id = ?3",
                params![name, id, user_id],
            )? == 1)
        })
        .await
    }

    pub async fn delete_credential(
        &self,
        user_id: i64,
        id: Vec<u8>,
        allow_last: bool,
    ) -> Result<Deleted, DbError> {
        self.write(move |c| {
            let id = id.as_slice();
            let mine: bool = c.query_row(
                "SELECT EXISTS (SELECT 1 FROM credentials WHERE id = ?1 AND user_id = ?2)",
                params![id, user_id],
                |r| r.get(0),
            )?;
            if !mine {
                return Ok(Deleted::NotFound);
            }
            let count: i64 = c.query_row(
                "SELECT COUNT(*) FROM credentials WHERE user_id = ?1",
                params![user_id],
                |r| r.get(0),
            )?;
            if count <= 1 && !allow_last {
                return Ok(Deleted::LastOne);
            }
            c.execute(
                "DELETE FROM credential_use WHERE user_id = ?1 AND id = ?2",
                params![user_id, id],
            )?;
            c.execute(
                "DELETE FROM credentials WHERE id = ?1 AND user_id = ?2",
                params![id, user_id],
            )?;
            let ended = c.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND credential_id = ?2",
                params![user_id, id],
            )?;
            Ok(Deleted::Yes {
                sessions_ended: ended as u64,
            })
        })
        .await
    }

    pub async fn purge_expired(&self, now: i64) -> Result<u64, DbError> {
        let mut total = 0;
        loop {
            let (n, more) = self.write(move |c| purge_chunk(c, now)).await?;
            total += n;
            if !more {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn a_flush_of_the_wal_succeeds() {
        let dir = scratch("flush-ok");
        let path = dir.path().join("db-wal");
        std::fs::write(&path, b"frames").unwrap_or_else(|e| panic!("{e}"));
        let mut wal = Wal::new(path);
        wal.flush().unwrap();
        wal.flush().expect("again, on the file kept open");
    }

    /// A failed flush fails its batch with the reason, reports unhealthy, and
    /// blocks commits until a TRUNCATE checkpoint has emptied the WAL; then
    /// writes go on.
    #[test]
    fn a_failed_flush_fails_its_batch_and_is_recovered_by_a_checkpoint() {
        let dir = scratch("flush-recovery");
        let path = db_path(&dir);
        let mut conn = connect(&path).unwrap();
        migrate(&mut conn, &Clock::system()).unwrap();
        let health = Health::default();
        let job = |n: i64| -> Job {
            Box::new(move |c: Option<&Connection>| {
                let e = c
                    .expect("the batch began")
                    .execute(
                        "INSERT INTO settings (key, value) VALUES (?1, x'00')",
                        params![format!("k{n}")],
                    )
                    .err()
                    .map(|e| e.to_string());
                (e, Box::new(|_| {}) as Done)
            })
        };
        // A WAL path that cannot be opened: the flush fails.
        let mut bad = Wal::new(dir.path().join("missing/dir/k.db-wal"));
        let (_, settled) = run_batch(&conn, &mut bad, &health, vec![job(1)]);
        let reason = settled.unwrap_err();
        assert!(reason.starts_with("flushing the WAL:"), "{reason}");
        health.fail(&reason);
        assert_eq!(health.failing().as_deref(), Some(&*reason));
        assert!(health.needs_checkpoint.load(Ordering::SeqCst));
        // Some frames are in the WAL now; the next batch checkpoints first.
        let mut good = Wal::new(format!("{path}-wal").into());
        let (_, settled) = run_batch(&conn, &mut good, &health, vec![job(2)]);
        settled.unwrap();
        assert!(!health.needs_checkpoint.load(Ordering::SeqCst));
        health.ok();
        assert_eq!(health.failing(), None);
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM settings WHERE key IN ('k1', 'k2')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2, "the committed (unflushed) row and the next one");
    }

    /// A job that fails rolls its batch back and names the reason; the next
    /// batch commits.
    #[test]
    fn a_failed_job_fails_its_batch_with_its_reason() {
        let dir = scratch("job-failure");
        let path = db_path(&dir);
        let mut conn = connect(&path).unwrap();
        migrate(&mut conn, &Clock::system()).unwrap();
        let health = Health::default();
        let mut wal = Wal::new(format!("{path}-wal").into());
        let sql = |q: &'static str| -> Job {
            Box::new(move |c: Option<&Connection>| {
                let e = c.unwrap().execute_batch(q).err().map(|e| e.to_string());
                (e, Box::new(|_| {}) as Done)
            })
        };
        let (_, settled) = run_batch(
            &conn,
            &mut wal,
            &health,
            vec![
                sql("INSERT INTO settings (key, value) VALUES ('a', x'00')"),
                sql("INSERT INTO no_such_table VALUES (1)"),
            ],
        );
        assert!(settled.unwrap_err().contains("no_such_table"));
        let (_, settled) = run_batch(
            &conn,
            &mut wal,
            &health,
            vec![sql("INSERT INTO settings (key, value) VALUES ('b', x'00')")],
        );
        settled.unwrap();
        let keys: Vec<String> = conn
            .prepare("SELECT key FROM settings WHERE key IN ('a', 'b')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(keys, ["b"], "the failed batch left nothing");
    }

    /// A fresh directory for one test, removed when dropped (also when the
    /// test fails).
    fn scratch(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("keyhaven-{name}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The path of a database file in `dir`.
    fn db_path(dir: &tempfile::TempDir) -> String {
        dir.path().join("k.db").to_string_lossy().into_owned()
    }

    fn challenge(expires_at: i64) -> Challenge {
        Challenge {
            kind: Kind::Authentication,
            state: "{}".into(),
            expires_at,
        }
    }

    /// Rows left in (challenges, challenges_used).
    async fn challenge_rows(db: &Sqlite) -> (i64, i64) {
        db.read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT COUNT(*) FROM challenges), (SELECT COUNT(*) FROM challenges_used)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn a_challenge_is_consumed_once_and_its_row_and_key_are_purged_together() {
        let dir = scratch("consume");
        let path = db_path(&dir);
        let db = Sqlite::open(&path, Clock::system()).unwrap_or_else(|e| panic!("{e}"));
        let (live, stale) = ([7u8; 32], [8u8; 32]);
        for (key, expires) in [(live, 10_000), (stale, 500)] {
            db.put_challenge(key, challenge(expires))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let take = |key: [u8; 32], kind: Kind| {
            let db = db.clone();
            async move {
                db.write(move |c| consume(c, &key, kind, 1_000))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
            }
        };
        assert!(!take(live, Kind::Registration).await, "wrong ceremony");
        assert!(!take(stale, Kind::Authentication).await, "expired");
        assert!(take(live, Kind::Authentication).await, "first use");
        assert!(!take(live, Kind::Authentication).await, "second use");
        let seen = db
            .read(move |c| peek(c, live, Kind::Authentication, 1_000, None))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(seen.0.is_none(), "a consumed challenge is not seen");
        assert_eq!(challenge_rows(&db).await, (2, 1));
        // The consumed row with its key, and the expired row.
        assert_eq!(db.purge_expired(1_000).await.ok(), Some(2));
        assert_eq!(challenge_rows(&db).await, (0, 0));
    }

    #[tokio::test]
    async fn the_checkpointer_keeps_the_wal_bounded() {
        let dir = scratch("checkpoint");
        let path = db_path(&dir);
        let db = Sqlite::open(&path, Clock::system()).unwrap_or_else(|e| panic!("{e}"));
        // 60 commits of 1 MiB each: about 15,400 WAL pages in all, below the
        // writer's own threshold, almost four times the checkpointer's.
        for i in 0..60 {
            db.write(move |c| {
                c.execute(
                    "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, zeroblob(1048576))",
                    params![format!("filler-{}", i % 3)],
                )?;
                Ok(())
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        }
        let wal = std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
        let page = 4096 + 24;
        assert!(wal > 0, "WAL mode");
        assert!(
            wal < 3 * u64::from(CHECKPOINT_PAGES) * page,
            "the WAL grew to {wal} bytes: it was never started over"
        );
    }

    #[tokio::test]
    async fn a_purge_larger_than_a_chunk_deletes_everything() {
        let dir = scratch("purge");
        let path = db_path(&dir);
        let db = Sqlite::open(&path, Clock::system()).unwrap_or_else(|e| panic!("{e}"));
        let n = 2 * PURGE_CHUNK + 3;
        db.write(move |c| {
            for i in 0..n {
                let mut key = [0u8; 32];
                key[..8].copy_from_slice(&i.to_be_bytes());
                c.execute(
                    "INSERT INTO challenges (hash, kind, state, expires_at) VALUES (?1, 'authentication', '{}', ?2)",
                    params![key.as_slice(), if i % 2 == 0 { 500 } else { 10_000 }],
                )?;
                if i % 2 == 1 {
                    assert!(consume(c, &key, Kind::Authentication, 1_000)?);
                }
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(db.purge_expired(1_000).await.ok(), Some(n as u64));
        assert_eq!(challenge_rows(&db).await, (0, 0));
    }

    #[tokio::test]
    async fn a_version_1_database_keeps_its_counters_after_migrating() {
        let dir = scratch("migrate");
        let path = db_path(&dir);
        let old = super::super::cache::tests::credential(1, 7).record;
        {
            let c = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
            c.execute_batch(
                "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let v1 = crate::db::migrate::MIGRATIONS[0].sqlite.unwrap_or_default();
            c.execute_batch(v1).unwrap_or_else(|e| panic!("{e}"));
            let json = serde_json::to_string(&old).unwrap_or_else(|e| panic!("{e}"));
            c.execute_batch(&format!(
                "INSERT INTO schema_migrations VALUES (1, 0); \
                 INSERT INTO users VALUES (1, 'alice', 'Alice', x'01', 0); \
                 INSERT INTO credentials VALUES (x'01', 1, 'key', '{json}', 7, 1, 1, 0, 5000);"
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        }
        let db = Sqlite::open(&path, Clock::system()).unwrap_or_else(|e| panic!("{e}"));
        let creds = db.credentials_of(1).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(creds.len(), 1);
        let c = &creds[0];
        assert_eq!(
            (
                c.record.sign_count,
                c.record.backup_state,
                c.record.uv_initialized
            ),
            (7, true, true)
        );
        assert_eq!(c.last_used_at, Some(5000));
        assert_eq!(c.record.id, old.id);
        let columns: Vec<String> = db
            .read(|c| {
                let mut st = c.prepare("SELECT name FROM pragma_table_info('credentials')")?;
                let names = st.query_map([], |r| r.get(0))?;
                Ok(names.collect::<Result<_, _>>()?)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!columns.iter().any(|c| c == "sign_count"), "{columns:?}");
    }

    #[tokio::test]
    async fn a_registered_credential_comes_back_as_a_read_would_give_it() {
        let dir = scratch("register-cache");
        let path = db_path(&dir);
        let db = Sqlite::open(&path, Clock::system()).unwrap_or_else(|e| panic!("{e}"));
        let record = super::super::cache::tests::credential(1, 3).record;
        let key = [9u8; 32];
        db.put_challenge(
            key,
            Challenge {
                kind: Kind::Registration,
                state: "{}".into(),
                expires_at: i64::MAX,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let owner = super::super::cache::tests::alice();
        let added = db
            .add_credential(
                key,
                owner,
                "Passkey 1".into(),
                record.clone(),
                1_000,
                Some(crate::db::NewSession {
                    key: [5u8; 32],
                    expires_at: i64::MAX,
                    device: "test".into(),
                    verified: true,
                    replaces: None,
                }),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (added, cached) = added;
        assert!(matches!(added, Added::Yes(_)));
        let cached = cached.unwrap_or_else(|| panic!("not given back for the cache"));
        let id = record.id.clone();
        let read = db
            .read(move |c| credential_by_id(c, id))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("not stored"));
        assert_eq!(
            (
                cached.username.as_str(),
                cached.name.as_str(),
                cached.user_id,
                cached.created_at
            ),
            ("alice", "Passkey 1", read.user_id, 1_000)
        );
        assert_eq!(
            serde_json::to_string(&cached.record).ok(),
            serde_json::to_string(&read.record).ok()
        );
    }

    #[test]
    fn a_second_open_of_one_database_is_refused() {
        let dir = scratch("lock");
        let path = db_path(&dir);
        let first = Sqlite::open(&path, Clock::system()).unwrap_or_else(|e| panic!("{e}"));
        let second = Sqlite::open(&path, Clock::system());
        assert!(
            matches!(&second, Err(DbError::Config(m)) if m.contains("in use")),
            "{:?}",
            second.err()
        );
        drop(first);
    }
}
