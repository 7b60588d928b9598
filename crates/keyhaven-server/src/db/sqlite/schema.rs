//! Opening a database: the one-process lock and the versioned migrations
//! (the shared list in `db/mod.rs`, SQLite's statements).

use super::*;
use crate::db::migrate::{self, run, run_ready, Dialect, MIGRATIONS};

/// One process per database: the read cache relies on it, and so do the
/// in-memory rate limits. The returned file holds the lock while it lives.
pub(super) fn lock(path: &str) -> Result<std::fs::File, DbError> {
    let lock_path = format!("{path}.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| DbError::Config(format!("{lock_path}: {e}")))?;
    if let Err(e) = lock.try_lock() {
        return Err(DbError::Config(format!(
            "{path} is in use by another keyhaven process ({lock_path}: {e})"
        )));
    }
    Ok(lock)
}

/// The schema migrations (`db/migrate.rs`) on this connection.
pub(super) fn migrate(conn: &mut Connection, clock: &Clock) -> Result<(), DbError> {
    run_ready(run(&mut Sync(conn), MIGRATIONS, clock.unix_millis()))?;
    Ok(())
}

/// A rusqlite connection behind the migration runner's async interface; its
/// futures never wait.
struct Sync<'a>(&'a mut Connection);

impl migrate::Connection for Sync<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    async fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.execute_batch(sql)?)
    }
    async fn query_i64(&mut self, sql: &str) -> Result<i64, DbError> {
        Ok(self.0.query_row(sql, [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 3 folds usernames; of names differing only in case the
    /// oldest gets the folded one, and an existing lowercase name keeps it.
    #[test]
    fn migration_3_folds_usernames_without_collisions() {
        let mut conn = Connection::open_in_memory().unwrap();
        run_ready(run(&mut Sync(&mut conn), &MIGRATIONS[..2], 0)).unwrap();
        for (id, name) in [
            (1, "Case"),
            (2, "CASE"),
            (3, "Bob"),
            (4, "dave"),
            (5, "Eve"),
            (6, "eve"),
        ] {
            conn.execute(
                "INSERT INTO users (id, username, display_name, handle, created_at) VALUES (?1, ?2, ?2, ?3, 0)",
                rusqlite::params![id, name, vec![id as u8]],
            )
            .unwrap();
        }
        run_ready(run(&mut Sync(&mut conn), MIGRATIONS, 0)).unwrap();
        let names: Vec<String> = conn
            .prepare("SELECT username FROM users ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(names, ["case", "CASE", "bob", "dave", "Eve", "eve"]);
    }

    /// Migration 4 ends the sessions from before (they lack the passkey and
    /// verification time the rules now need) and keeps everything else.
    #[test]
    fn migration_4_ends_old_sessions_and_keeps_accounts() {
        let mut conn = Connection::open_in_memory().unwrap();
        run_ready(run(&mut Sync(&mut conn), &MIGRATIONS[..3], 0)).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, username, display_name, handle, created_at) VALUES (1, 'alice', 'Alice', x'01', 0);
             INSERT INTO sessions (hash, user_id, expires_at) VALUES (x'0102', 1, 9999999999999);",
        )
        .unwrap();
        assert_eq!(
            run_ready(run(&mut Sync(&mut conn), &MIGRATIONS[..4], 0)).ok(),
            Some(vec![4])
        );
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM sessions"), 0);
        assert_eq!(count("SELECT COUNT(*) FROM users"), 1);
        conn.execute(
            "INSERT INTO sessions (hash, user_id, credential_id, device, created_at, last_seen_at, verified_at, expires_at) \
             VALUES (x'03', 1, x'04', 'ua', 1, 1, NULL, 2)",
            [],
        )
        .unwrap();
        assert_eq!(
            count("SELECT COUNT(*) FROM sessions WHERE verified_at IS NULL"),
            1
        );
    }
}
