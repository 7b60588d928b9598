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
