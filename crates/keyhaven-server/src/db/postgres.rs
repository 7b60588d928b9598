//! PostgreSQL through a deadpool connection pool. Every state change is one
//! statement or one transaction, so several `serve` processes on the same
//! database behave as one service: `DELETE … RETURNING` hands a challenge to
//! exactly one caller, and the counter update compares in the database.
//! Logins are committed in groups (`postgres_batch.rs`). `Db` keeps the
//! challenges this node issued and the credential records it read in a read
//! cache (`cache.rs`) that only ever saves a read: a challenge another node
//! consumed, a credential another node deleted or whose counter moved on
//! all fail in the login's statement, which decides alone.

use super::migrate::{self, run, Dialect, MIGRATIONS};
use super::postgres_batch::{
    Accounts, Batcher, Challenges, Login, Logins, NewChallenge, Peek, Peeks,
};
use super::{
    record_from, session_key, Added, Challenge, Credential, DbError, Deleted, Kind, LoginUpdate,
    NewSession, Owner, Session, User, SESSION_COLUMNS,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use keyhaven_rp::time::Clock;
use keyhaven_rp::CredentialRecord;
use tokio_postgres::Row;

/// The PostgreSQL backend.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    logins: Batcher<Logins>,
    challenges: Batcher<Challenges>,
    peeks: Batcher<Peeks>,
    accounts: Batcher<Accounts>,
}

/// A [`Session`] from the columns of [`SESSION_COLUMNS`], the first at `base`.
fn session_at(r: &Row, base: usize) -> Result<Session, DbError> {
    Ok(Session {
        key: session_key(r.get::<_, &[u8]>(base))?,
        user_id: r.get(base + 1),
        credential_id: r.get(base + 2),
        device: r.get(base + 3),
        created_at: r.get(base + 4),
        last_seen_at: r.get(base + 5),
        verified_at: r.get(base + 6),
        expires_at: r.get(base + 7),
    })
}

/// The statement opening a session: $1 key, $2 user, $3 credential, $4
/// device, $5 now, $6 verified at, $7 expiry.
const INSERT_SESSION: &str = "INSERT INTO sessions (hash, user_id, credential_id, device, created_at, last_seen_at, verified_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $5, $6, $7)";

pub(super) fn pool_err(e: impl std::error::Error) -> DbError {
    DbError::Pool(super::causes(&e))
}

fn user(r: &Row) -> User {
    user_at(r, 0)
}

/// A [`User`] from `id, username, display_name, handle`, the first at `base`.
pub(super) fn user_at(r: &Row, base: usize) -> User {
    User {
        id: r.get(base),
        username: r.get(base + 1),
        display_name: r.get(base + 2),
        handle: r.get(base + 3),
    }
}

pub(super) const CRED_COLUMNS: &str =
    "c.user_id, c.name, c.record, c.sign_count, c.backed_up, c.uv_initialized, \
     c.created_at, c.last_used_at, u.username FROM credentials c JOIN users u ON u.id = c.user_id";

/// The credential in `CRED_COLUMNS` order, starting at column `at`.
pub(super) fn credential(r: &Row, at: usize) -> Result<Credential, DbError> {
    let json: String = r.get(at + 2);
    let last: Option<i64> = r.get(at + 7);
    Ok(Credential {
        user_id: r.get(at),
        username: r.get(at + 8),
        name: r.get(at + 1),
        record: record_from(&json, r.get(at + 3), r.get(at + 4), r.get(at + 5), last)?,
        created_at: r.get(at + 6),
        last_used_at: last,
    })
}

/// A pooled client under the migration runner.
struct Async<'a>(&'a mut deadpool_postgres::Object);

impl migrate::Connection for Async<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    async fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.batch_execute(sql).await?)
    }
    async fn query_i64(&mut self, sql: &str) -> Result<i64, DbError> {
        Ok(self.0.query_one(sql, &[]).await?.get(0))
    }
}

impl Postgres {
    /// Connects and migrates (under an advisory lock, so nodes starting together agree).
    pub async fn open(url: &str, clock: Clock, connections: usize) -> Result<Self, DbError> {
        let target = super::postgres_tls::PgConnect::from_url(url)?;
        tracing::info!(sslmode = target.mode.as_str(), "PostgreSQL");
        // Every statement here finds its rows by key, so one generic plan per
        // prepared statement serves every call: without this, PostgreSQL
        // plans the batched login statement anew on each execution.
        let mut config = target.config.clone();
        let options = match config.get_options() {
            Some(o) => format!("{o} -c plan_cache_mode=force_generic_plan"),
            None => "-c plan_cache_mode=force_generic_plan".to_owned(),
        };
        config.options(&options);
        let mgr = Manager::from_config(
            config,
            target.tls(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(connections)
            .build()
            .map_err(pool_err)?;
        let mut c = pool.get().await.map_err(pool_err)?;
        // Nodes starting together wait on the advisory lock; each migration runs once.
        run(&mut Async(&mut c), MIGRATIONS, clock.unix_millis()).await?;
        Ok(Postgres {
            logins: Batcher::start(pool.clone()),
            challenges: Batcher::start(pool.clone()),
            peeks: Batcher::start(pool.clone()),
            accounts: Batcher::start(pool.clone()),
            pool,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        self.pool.get().await.map_err(pool_err)
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        self.client().await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    pub async fn server_secret(&self, fresh: Vec<u8>) -> Result<Vec<u8>, DbError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO settings (key, value) VALUES ('secret', $1) ON CONFLICT (key) DO NOTHING",
            &[&fresh],
        )
        .await?;
        Ok(
            c.query_one("SELECT value FROM settings WHERE key = 'secret'", &[])
                .await?
                .get(0),
        )
    }

    pub async fn user_by_name(&self, name: String) -> Result<Option<User>, DbError> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "SELECT id, username, display_name, handle FROM users WHERE username = $1",
            )
            .await?;
        Ok(c.query_opt(&st, &[&name]).await?.as_ref().map(user))
    }

    pub async fn credential_shapes(&self, limit: i64) -> Result<Vec<(i64, Vec<usize>)>, DbError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT user_id, octet_length(id)::BIGINT FROM credentials WHERE user_id IN \
                 (SELECT id FROM users ORDER BY id LIMIT $1) ORDER BY user_id, created_at, id",
                &[&limit],
            )
            .await?;
        Ok(super::group_shapes(
            rows.iter()
                .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1))),
        ))
    }

    /// An account and its credentials (with the other accounts asked for
    /// at the same moment, in one statement).
    pub async fn account(&self, name: String) -> Result<Option<(User, Vec<Credential>)>, DbError> {
        self.accounts.call(name).await
    }

    pub async fn credentials_of(&self, user_id: i64) -> Result<Vec<Credential>, DbError> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "SELECT {CRED_COLUMNS} WHERE c.user_id = $1 ORDER BY c.created_at, c.id"
            ))
            .await?;
        c.query(&st, &[&user_id])
            .await?
            .iter()
            .map(|r| credential(r, 0))
            .collect()
    }

    /// Stores a challenge (with the others issued at the same moment, in
    /// one statement and one commit).
    pub async fn put_challenge(&self, hash: [u8; 32], ch: Challenge) -> Result<(), DbError> {
        self.challenges
            .call(NewChallenge {
                hash,
                challenge: ch,
            })
            .await
    }

    /// A credential.
    pub async fn credential(&self, id: Vec<u8>) -> Result<Option<Credential>, DbError> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!("SELECT {CRED_COLUMNS} WHERE c.id = $1"))
            .await?;
        let Some(r) = c.query_opt(&st, &[&id]).await? else {
            return Ok(None);
        };
        Ok(Some(credential(&r, 0)?))
    }

    /// The live challenge and the credential beside it.
    pub async fn peek_challenge(
        &self,
        hash: [u8; 32],
        kind: Kind,
        now: i64,
        credential_id: Option<Vec<u8>>,
    ) -> Result<(Option<Challenge>, Option<Credential>), DbError> {
        // With the other reads waiting at the same moment, in one statement.
        self.peeks
            .call(Peek {
                hash,
                kind,
                now,
                credential_id,
            })
            .await
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
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The challenge first: a concurrent submission waits on this row and then finds it gone.
        let got = tx
            .execute(
                "DELETE FROM challenges WHERE hash = $1 AND kind = 'registration' AND expires_at > $2",
                &[&challenge.as_slice(), &now],
            )
            .await?;
        if got != 1 {
            return Ok((Added::ChallengeGone, None));
        }
        let user_id = match owner {
            Owner::Existing(id) => id,
            Owner::New {
                username,
                display_name,
                handle,
            } => {
                let row = tx
                    .query_opt(
                        "INSERT INTO users (username, display_name, handle, created_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (username) DO NOTHING RETURNING id",
                        &[&username, &display_name, &handle, &now],
                    )
                    .await?;
                match row {
                    Some(r) => r.get(0),
                    None => {
                        // Keep the challenge consumed, create nothing else.
                        tx.rollback().await?;
                        self.client()
                            .await?
                            .execute(
                                "DELETE FROM challenges WHERE hash = $1",
                                &[&challenge.as_slice()],
                            )
                            .await?;
                        return Ok((Added::UsernameTaken, None));
                    }
                }
            }
        };
        let json = serde_json::to_string(&record).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let inserted = tx
            .execute(
                "INSERT INTO credentials (id, user_id, name, record, sign_count, backed_up, uv_initialized, created_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) ON CONFLICT (id) DO NOTHING",
                &[
                    &record.id,
                    &user_id,
                    &name,
                    &json,
                    &i64::from(record.sign_count),
                    &record.backup_state,
                    &record.uv_initialized,
                    &now,
                ],
            )
            .await?;
        if inserted == 0 {
            // Dropping the transaction rolls back a user created above.
            return Ok((Added::CredentialExists, None));
        }
        if let Some(s) = &session {
            tx.execute(
                INSERT_SESSION,
                &[
                    &s.key.as_slice(),
                    &user_id,
                    &record.id,
                    &s.device,
                    &now,
                    &s.verified.then_some(now),
                    &s.expires_at,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok((Added::Yes(user_id), None))
    }

    pub async fn record_login(
        &self,
        challenge: [u8; 32],
        record: CredentialRecord,
        user_id: i64,
        now: i64,
        session: NewSession,
    ) -> Result<(LoginUpdate, CredentialRecord), DbError> {
        let update = self
            .logins
            .call(Login {
                challenge,
                credential_id: record.id.clone(),
                user_id,
                sign_count: i64::from(record.sign_count),
                backed_up: record.backup_state,
                uv_initialized: record.uv_initialized,
                now,
                session,
            })
            .await?;
        Ok((update, record))
    }

    pub async fn session_user(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<(User, Session)>, DbError> {
        let c = self.client().await?;
        let st = c
            // The user's columns first (as `user` reads them), then the session's.
            .prepare_cached(&format!(
                "SELECT u.id, u.username, u.display_name, u.handle, {SESSION_COLUMNS} \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.hash = $1 AND s.expires_at > $2"
            ))
            .await?;
        let Some(r) = c.query_opt(&st, &[&hash.as_slice(), &now]).await? else {
            return Ok(None);
        };
        Ok(Some((user(&r), session_at(&r, 4)?)))
    }

    pub async fn sessions_of(&self, user_id: i64, now: i64) -> Result<Vec<Session>, DbError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.user_id = $1 AND s.expires_at > $2 \
                     ORDER BY s.last_seen_at DESC, s.created_at DESC"
                ),
                &[&user_id, &now],
            )
            .await?;
        rows.iter().map(|r| session_at(r, 0)).collect()
    }

    pub async fn touch_session(&self, hash: [u8; 32], now: i64) -> Result<(), DbError> {
        self.client()
            .await?
            .execute(
                "UPDATE sessions SET last_seen_at = $1 WHERE hash = $2",
                &[&now, &hash.as_slice()],
            )
            .await?;
        Ok(())
    }

    pub async fn end_session_of(&self, user_id: i64, hash: [u8; 32]) -> Result<bool, DbError> {
        Ok(self
            .client()
            .await?
            .execute(
                "DELETE FROM sessions WHERE hash = $1 AND user_id = $2",
                &[&hash.as_slice(), &user_id],
            )
            .await?
            == 1)
    }

    pub async fn delete_session(&self, hash: [u8; 32]) -> Result<(), DbError> {
        self.client()
            .await?
            .execute("DELETE FROM sessions WHERE hash = $1", &[&hash.as_slice()])
            .await?;
        Ok(())
    }

    pub async fn set_display_name(&self, user_id: i64, name: String) -> Result<bool, DbError> {
        Ok(self
            .client()
            .await?
            .execute(
                "UPDATE users SET display_name = $1 WHERE id = $2",
                &[&name, &user_id],
            )
            .await?
            == 1)
    }

    pub async fn rename_credential(
        &self,
        user_id: i64,
        id: Vec<u8>,
        name: String,
    ) -> Result<bool, DbError> {
        Ok(self
            .client()
            .await?
            .execute(
                "UPDATE credentials SET name = $1 WHERE id = $2 AND user_id = $3",
                &[&name, &id, &user_id],
            )
            .await?
            == 1)
    }

    pub async fn delete_credential(
        &self,
        user_id: i64,
        id: Vec<u8>,
        allow_last: bool,
    ) -> Result<Deleted, DbError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Lock the user's credentials so two deletes cannot both see "not the last".
        let rows = tx
            .query(
                "SELECT id FROM credentials WHERE user_id = $1 FOR UPDATE",
                &[&user_id],
            )
            .await?;
        if !rows.iter().any(|r| r.get::<_, Vec<u8>>(0) == id) {
            return Ok(Deleted::NotFound);
        }
        if rows.len() <= 1 && !allow_last {
            return Ok(Deleted::LastOne);
        }
        tx.execute(
            "DELETE FROM credentials WHERE id = $1 AND user_id = $2",
            &[&id, &user_id],
        )
        .await?;
        let ended = tx
            .execute(
                "DELETE FROM sessions WHERE user_id = $1 AND credential_id = $2",
                &[&user_id, &id],
            )
            .await?;
        tx.commit().await?;
        Ok(Deleted::Yes {
            sessions_ended: ended,
        })
    }

    pub async fn purge_expired(&self, now: i64) -> Result<u64, DbError> {
        let c = self.client().await?;
        let a = c
            .execute("DELETE FROM challenges WHERE expires_at <= $1", &[&now])
            .await?;
        let b = c
            .execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])
            .await?;
        Ok(a + b)
    }
}
