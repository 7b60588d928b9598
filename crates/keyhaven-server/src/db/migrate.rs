//! The schema migrations and the one runner both backends use.
//!
//! A migration is a version and its SQL per backend (`None` where a backend's
//! layout has nothing to change). The runner creates `schema_migrations`,
//! refuses a database migrated by a newer keyhaven, and applies each pending
//! migration in its own transaction: the backend's `begin` takes the lock that
//! makes processes starting together agree (SQLite's BEGIN IMMEDIATE,
//! PostgreSQL's advisory lock), the version is read again under it so a
//! migration another process applied meanwhile is skipped, and a failing
//! statement rolls the migration back unrecorded.

use std::future::Future;

use super::DbError;

/// One schema change.
pub(crate) struct Migration {
    pub version: i64,
    pub sqlite: Option<&'static str>,
    pub postgres: Option<&'static str>,
}

/// The migrations, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: Some(
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value BLOB NOT NULL);
             CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, handle BLOB NOT NULL UNIQUE, created_at BIGINT NOT NULL);
             CREATE TABLE credentials (id BLOB PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id), name TEXT NOT NULL, record TEXT NOT NULL, sign_count BIGINT NOT NULL, backed_up BOOLEAN NOT NULL, uv_initialized BOOLEAN NOT NULL, created_at BIGINT NOT NULL, last_used_at BIGINT);
             CREATE INDEX credentials_user ON credentials(user_id);
             CREATE TABLE challenges (hash BLOB PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, expires_at BIGINT NOT NULL);
             CREATE INDEX challenges_expiry ON challenges(expires_at);
             CREATE TABLE sessions (hash BLOB PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id), expires_at BIGINT NOT NULL);
             CREATE INDEX sessions_expiry ON sessions(expires_at);",
        ),
        postgres: Some(
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
             CREATE TABLE users (id BIGSERIAL PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, handle BYTEA NOT NULL UNIQUE, created_at BIGINT NOT NULL);
             CREATE TABLE credentials (id BYTEA PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id), name TEXT NOT NULL, record TEXT NOT NULL, sign_count BIGINT NOT NULL, backed_up BOOLEAN NOT NULL, uv_initialized BOOLEAN NOT NULL, created_at BIGINT NOT NULL, last_used_at BIGINT);
             CREATE INDEX credentials_user ON credentials(user_id);
             CREATE TABLE challenges (hash BYTEA PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, expires_at BIGINT NOT NULL);
             CREATE INDEX challenges_expiry ON challenges(expires_at);
             CREATE TABLE sessions (hash BYTEA PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id), expires_at BIGINT NOT NULL);
             CREATE INDEX sessions_expiry ON sessions(expires_at);",
        ),
    },
    Migration {
        version: 2,
        // SQLite rewrites every page a commit touches. A login's writes go to
        // two narrow tables instead of the wide rows: the per-login columns
        // of a credential, keyed by user then ID (a user's credentials side
        // by side, users in registration order), and the keys of consumed
        // challenges (time-ordered, so appended side by side), instead of
        // deleting challenge rows scattered over the table. The purge deletes
        // both together, in chunks. PostgreSQL keeps the wide rows.
        sqlite: Some(
            "CREATE TABLE credential_use (user_id INTEGER NOT NULL, id BLOB NOT NULL, sign_count BIGINT NOT NULL, backed_up BOOLEAN NOT NULL, uv_initialized BOOLEAN NOT NULL, last_used_at BIGINT, PRIMARY KEY (user_id, id)) WITHOUT ROWID;
             INSERT INTO credential_use SELECT user_id, id, sign_count, backed_up, uv_initialized, last_used_at FROM credentials;
             ALTER TABLE credentials DROP COLUMN sign_count;
             ALTER TABLE credentials DROP COLUMN backed_up;
             ALTER TABLE credentials DROP COLUMN uv_initialized;
             ALTER TABLE credentials DROP COLUMN last_used_at;
             CREATE TABLE challenges_used (hash BLOB PRIMARY KEY) WITHOUT ROWID;",
        ),
        postgres: None,
    },
    Migration {
        version: 3,
        // Usernames are compared case-folded from now on (api::normalize_username):
        // existing ones are lowercased. Where several differ only in case, the
        // oldest takes the folded name and the others keep theirs (they still
        // sign in with discoverable passkeys, not by username).
        sqlite: Some(FOLD_USERNAMES),
        postgres: Some(FOLD_USERNAMES),
    },
    Migration {
        version: 4,
        // Sessions know the passkey that opened them (deleting it ends them),
        // the device, when they began, were last seen and last verified the
        // user. Sessions from before have none of this and are ended: their
        // users sign in once more.
        sqlite: Some(
            "DROP TABLE sessions;
             CREATE TABLE sessions (hash BLOB PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id), credential_id BLOB NOT NULL, device TEXT NOT NULL, created_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL, verified_at BIGINT, expires_at BIGINT NOT NULL);
             CREATE INDEX sessions_expiry ON sessions(expires_at);
             CREATE INDEX sessions_user ON sessions(user_id, credential_id);",
        ),
        postgres: Some(
            "DROP TABLE sessions;
             CREATE TABLE sessions (hash BYTEA PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id), credential_id BYTEA NOT NULL, device TEXT NOT NULL, created_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL, verified_at BIGINT, expires_at BIGINT NOT NULL);
             CREATE INDEX sessions_expiry ON sessions(expires_at);
             CREATE INDEX sessions_user ON sessions(user_id, credential_id);",
        ),
    },
    Migration {
        version: 5,
        // PostgreSQL logins (group commit, postgres_batch.rs): a session's
        // user is the user of the credential the same statement just
        // updated (whose own foreign key holds) and users are never deleted,
        // so the sessions' foreign key only cost every login a trigger and
        // a lookup. Credentials leave a fifth of each page free, so that a
        // login's counter update stays on its page (a HOT update: no index
        // entry written).
        sqlite: None,
        postgres: Some(
            "ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_user_id_fkey;
             ALTER TABLE credentials SET (fillfactor = 80);",
        ),
    },
];

/// Migration 3 on either backend (ASCII usernames: `lower` folds them alike).
const FOLD_USERNAMES: &str = "UPDATE users SET username = lower(username)
     WHERE username <> lower(username)
       AND id = (SELECT min(u2.id) FROM users u2 WHERE lower(u2.username) = lower(users.username))
       AND NOT EXISTS (SELECT 1 FROM users u3 WHERE u3.username = lower(users.username))";

/// The backend a migration runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Migration {
    /// This migration's SQL on `dialect`.
    pub fn sql(&self, dialect: Dialect) -> Option<&'static str> {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

/// What the runner needs of a connection.
pub(crate) trait Connection {
    /// Which SQL this connection speaks.
    fn dialect(&self) -> Dialect;
    /// Runs `sql` (one or more statements).
    fn batch(&mut self, sql: &str) -> impl Future<Output = Result<(), DbError>>;
    /// The one integer `sql` selects.
    fn query_i64(&mut self, sql: &str) -> impl Future<Output = Result<i64, DbError>>;
}

const TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";
const CURRENT: &str = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

/// Brings the schema on `conn` up to the newest of `migrations`; `now_ms` is
/// recorded as each one's time. Returns the versions it applied.
pub(crate) async fn run<C: Connection>(
    conn: &mut C,
    migrations: &[Migration],
    now_ms: i64,
) -> Result<Vec<i64>, DbError> {
    // The table and the version are read under the lock too: PostgreSQL's
    // CREATE TABLE IF NOT EXISTS is not safe against a concurrent one.
    conn.batch(begin(conn.dialect())).await?;
    let read = async {
        conn.batch(TABLE).await?;
        conn.query_i64(CURRENT).await
    }
    .await;
    let current = finish(conn, read).await?;
    let newest = migrations.last().map_or(0, |m| m.version);
    if current > newest {
        return Err(DbError::Config(format!(
            "the database schema is at version {current}, newer than this keyhaven knows ({newest})"
        )));
    }
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| m.version > current) {
        conn.batch(begin(conn.dialect())).await?;
        let done = apply(conn, m, now_ms).await;
        if finish(conn, done).await? {
            applied.push(m.version);
        }
    }
    Ok(applied)
}

/// The statement opening a migration transaction and taking the lock that
/// serializes processes migrating one database.
fn begin(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "BEGIN IMMEDIATE",
        Dialect::Postgres => "BEGIN; SELECT pg_advisory_xact_lock(7242026)",
    }
}

/// Commits the open transaction if `result` is Ok, else rolls it back and
/// returns the failure (a failed rollback, the connection gone, leaves
/// nothing committed either).
async fn finish<C: Connection, T>(conn: &mut C, result: Result<T, DbError>) -> Result<T, DbError> {
    match result {
        Ok(v) => {
            conn.batch("COMMIT").await?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.batch("ROLLBACK").await;
            Err(e)
        }
    }
}

/// Applies `m` inside the open transaction unless another process already
/// did (the version is read again under the lock). True if it applied.
async fn apply<C: Connection>(conn: &mut C, m: &Migration, now_ms: i64) -> Result<bool, DbError> {
    if conn.query_i64(CURRENT).await? >= m.version {
        return Ok(false);
    }
    if let Some(sql) = m.sql(conn.dialect()) {
        conn.batch(sql).await?;
    }
    // Both values are this program's integers, not input: no injection.
    conn.batch(&format!(
        "INSERT INTO schema_migrations (version, applied_at) VALUES ({}, {now_ms})",
        m.version
    ))
    .await?;
    Ok(true)
}

/// Runs a future that never waits (a synchronous connection behind the async
/// interface, as SQLite's is) to its end on this thread.
pub(crate) fn run_ready<T>(f: impl Future<Output = Result<T, DbError>>) -> Result<T, DbError> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => Err(DbError::Config(
            "migration: a synchronous connection returned Pending".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that logs what it is sent, keeps the recorded versions,
    /// and can fail on a statement containing a given text.
    struct Fake {
        log: Vec<String>,
        versions: Vec<i64>,
        pending: Vec<i64>,
        fail_on: Option<&'static str>,
        /// Versions "another process" records right after our BEGIN.
        racing: Vec<i64>,
    }

    impl Fake {
        fn at(versions: &[i64]) -> Self {
            Fake {
                log: vec![],
                versions: versions.to_vec(),
                pending: vec![],
                fail_on: None,
                racing: vec![],
            }
        }
    }

    impl Connection for Fake {
        fn dialect(&self) -> Dialect {
            Dialect::Sqlite
        }
        async fn batch(&mut self, sql: &str) -> Result<(), DbError> {
            self.log.push(sql.to_owned());
            if self.fail_on.is_some_and(|f| sql.contains(f)) {
                return Err(DbError::Config(format!("failed: {sql}")));
            }
            if sql.starts_with("BEGIN") {
                self.versions.append(&mut self.racing);
            } else if let Some(rest) =
                sql.strip_prefix("INSERT INTO schema_migrations (version, applied_at) VALUES (")
            {
                let v = rest.split(',').next().and_then(|v| v.parse().ok());
                self.pending.push(v.unwrap_or(-1));
            } else if sql == "COMMIT" {
                self.versions.append(&mut self.pending);
            } else if sql == "ROLLBACK" {
                self.pending.clear();
            }
            Ok(())
        }
        async fn query_i64(&mut self, _: &str) -> Result<i64, DbError> {
            let all = self.versions.iter().chain(&self.pending);
            Ok(all.copied().max().unwrap_or(0))
        }
    }

    const THREE: &[Migration] = &[
        Migration {
            version: 1,
            sqlite: Some("one"),
            postgres: Some("pg one"),
        },
        Migration {
            version: 2,
            sqlite: None,
            postgres: Some("pg two"),
        },
        Migration {
            version: 3,
            sqlite: Some("three"),
            postgres: None,
        },
    ];

    fn statements(f: &Fake) -> Vec<&str> {
        // After the preamble: BEGIN, the table, COMMIT.
        assert_eq!(
            f.log[..3],
            ["BEGIN IMMEDIATE", TABLE, "COMMIT"],
            "{:?}",
            f.log
        );
        f.log[3..].iter().map(String::as_str).collect()
    }

    #[test]
    fn a_new_database_gets_every_migration_in_order_each_in_its_transaction() {
        let mut f = Fake::at(&[]);
        assert_eq!(run_ready(run(&mut f, THREE, 42)).ok(), Some(vec![1, 2, 3]));
        assert_eq!(
            statements(&f),
            [
                "BEGIN IMMEDIATE",
                "one",
                "INSERT INTO schema_migrations (version, applied_at) VALUES (1, 42)",
                "COMMIT",
                "BEGIN IMMEDIATE",
                "INSERT INTO schema_migrations (version, applied_at) VALUES (2, 42)",
                "COMMIT",
                "BEGIN IMMEDIATE",
                "three",
                "INSERT INTO schema_migrations (version, applied_at) VALUES (3, 42)",
                "COMMIT",
            ]
        );
        assert_eq!(f.versions, [1, 2, 3]);
    }

    #[test]
    fn only_the_pending_migrations_run() {
        let mut f = Fake::at(&[1, 2]);
        assert_eq!(run_ready(run(&mut f, THREE, 0)).ok(), Some(vec![3]));
        assert!(!f.log.iter().any(|s| s == "one"), "{:?}", f.log);
        let mut f = Fake::at(&[1, 2, 3]);
        assert_eq!(run_ready(run(&mut f, THREE, 0)).ok(), Some(vec![]));
        assert_eq!(statements(&f), Vec::<&str>::new());
    }

    #[test]
    fn a_database_newer_than_the_binary_is_refused_untouched() {
        let mut f = Fake::at(&[1, 2, 3, 4]);
        let err = run_ready(run(&mut f, THREE, 0))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("version 4, newer than this keyhaven knows (3)")));
        assert_eq!(statements(&f), Vec::<&str>::new());
    }

    #[test]
    fn a_failing_statement_rolls_its_migration_back_unrecorded() {
        let mut f = Fake::at(&[]);
        f.fail_on = Some("three");
        assert!(run_ready(run(&mut f, THREE, 0)).is_err());
        assert_eq!(f.versions, [1, 2]);
        assert_eq!(f.log.last().map(String::as_str), Some("ROLLBACK"));
    }

    #[test]
    fn a_migration_another_process_applied_meanwhile_is_skipped() {
        let mut f = Fake::at(&[1]);
        f.racing = vec![2];
        assert_eq!(run_ready(run(&mut f, THREE, 0)).ok(), Some(vec![3]));
        assert_eq!(f.versions, [1, 2, 3]);
        assert!(
            !f.log.iter().any(|s| s.contains("VALUES (2,")),
            "{:?}",
            f.log
        );
    }

    #[test]
    fn every_migration_is_written_for_the_dialects_that_need_it() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, (1..=MIGRATIONS.len() as i64).collect::<Vec<_>>());
        assert!(MIGRATIONS[0].sqlite.is_some() && MIGRATIONS[0].postgres.is_some());
    }
}
