//! Checkpoints beside the writer: the WAL hook that replaces SQLite's
//! automatic checkpoint, and the checkpointer thread.

use super::*;

/// WAL size (pages) at which the checkpointer copies the WAL back into the
/// database file: larger than SQLite's default 1000, so a page rewritten by
/// many logins is copied back once.
pub(super) const CHECKPOINT_PAGES: u32 = 4000;

/// WAL size (pages) at which the writer checkpoints itself, should the
/// checkpointer fall this far behind: the WAL stays bounded.
pub(super) const WRITER_CHECKPOINT_PAGES: u32 = 4 * CHECKPOINT_PAGES;

thread_local! {
    /// Pages in the WAL after the last commit on this thread's connection
    /// (set by [`note_wal_pages`], which SQLite calls on the committing thread).
    static WAL_PAGES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The writer connection's WAL hook. Replaces SQLite's automatic checkpoint,
/// which would run inside the writer's commit and hold up every batch behind
/// it for the milliseconds a checkpoint of thousands of pages takes: the
/// checkpointer thread copies the bulk beside the writer, and the writer only
/// copies what commits added meanwhile (see [`writer`]).
pub(super) fn note_wal_pages(
    _: &rusqlite::hooks::Wal,
    pages: std::ffi::c_int,
) -> rusqlite::Result<()> {
    WAL_PAGES.set(u32::try_from(pages).unwrap_or(0));
    Ok(())
}

/// After a commit (its answers sent): asks the checkpointer for a pass once
/// the WAL has [`CHECKPOINT_PAGES`], and once that pass is done copies the
/// rest here, between two commits, so that it completes and the next
/// transaction starts the WAL over from its beginning.
pub(super) fn checkpoint(conn: &Connection, checkpoints: &Checkpoints) {
    let pages = WAL_PAGES.get();
    if pages < CHECKPOINT_PAGES {
        return;
    }
    let bulk_copied = checkpoints
        .copied
        .swap(false, std::sync::atomic::Ordering::SeqCst);
    if bulk_copied || pages >= WRITER_CHECKPOINT_PAGES {
        // Only what commits added since the checkpointer's pass. Busy only
        // while the checkpointer runs: then it asks again.
        if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::debug!("the writer's checkpoint did not run: {e}");
        }
    } else {
        // Full: the checkpointer is asked already.
        let _ = checkpoints.signal.try_send(());
    }
}

/// The writer's line to the checkpointer.
pub(super) struct Checkpoints {
    /// Asks for a pass.
    pub(super) signal: mpsc::SyncSender<()>,
    /// Set after a pass: the bulk of the WAL is in the database file.
    pub(super) copied: Arc<std::sync::atomic::AtomicBool>,
}

/// The checkpointer loop: when the writer reports a WAL of
/// [`CHECKPOINT_PAGES`] or more, copies it back into the database file
/// (PASSIVE: beside the writer, never blocking it), then tells the writer,
/// which copies the little that commits added meanwhile. Its connection syncs
/// as SQLite's checkpoints do (the WAL before copying, the database file
/// after). Ends when the writer does.
pub(super) fn checkpointer(
    conn: Connection,
    signal: mpsc::Receiver<()>,
    copied: Arc<std::sync::atomic::AtomicBool>,
) {
    while signal.recv().is_ok() {
        // The first column is 1 when the pass could not run (busy: the
        // writer is checkpointing itself).
        let pass = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
        // Asked again during this pass: answered by it.
        while signal.try_recv().is_ok() {}
        match pass {
            Ok(0) => copied.store(true, std::sync::atomic::Ordering::SeqCst),
            Ok(_) => {}
            Err(e) => tracing::warn!("SQLite checkpoint failed: {e}"),
        }
    }
}

/// Starts the checkpointer thread on its own connection; the writer signals it.
pub(super) fn start_checkpointer(path: &str) -> Result<Checkpoints, DbError> {
    let checkpoints = connect(path)?;
    checkpoints.execute_batch("PRAGMA synchronous=NORMAL;")?;
    let (ckpt_tx, ckpt_rx) = mpsc::sync_channel::<()>(1);
    let copied = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bulk = Checkpoints {
        signal: ckpt_tx,
        copied: copied.clone(),
    };
    std::thread::Builder::new()
        .name("keyhaven-sqlite-checkpoint".into())
        .spawn(move || checkpointer(checkpoints, ckpt_rx, copied))
        .map_err(|e| DbError::Writer(e.to_string()))?;
    Ok(bulk)
}
