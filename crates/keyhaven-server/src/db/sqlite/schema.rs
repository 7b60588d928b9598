//! Opening a database: the one-process lock and the versioned migrations
//! (the shared list in `db/mod.rs`, SQLite's statements).

use super::*;

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

/// The pending migrations, each in one transaction (BEGIN IMMEDIATE: one
/// process at a time), recorded in schema_migrations.
pub(super) fn migrate(conn: &mut Connection, clock: &Clock) -> Result<(), DbError> {
    conn.execute_batch(MIGRATIONS_TABLE)?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    for (version, statements) in pending(current)? {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            params![version],
            |r| r.get(0),
        )?;
        if !done {
            for stmt in statements
                .iter()
                .filter_map(|s| for_dialect(s, Dialect::Sqlite))
            {
                tx.execute_batch(&stmt)?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, clock.unix_millis()],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}
