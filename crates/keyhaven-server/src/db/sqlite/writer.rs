//! The writer thread: batches of write jobs in one transaction, committed at
//! most once per `COMMIT_INTERVAL` under load, the WAL flushed before the
//! answers are released; fail-stop on a failed commit or flush.

use super::*;

pub(super) type Done = Box<dyn FnOnce(bool) + Send>;
/// A write job: runs on the writer's connection inside the batch transaction;
/// returns whether it failed, and what to do once the batch is settled.
pub(super) type Job = Box<dyn FnOnce(&Connection) -> (bool, Done) + Send>;

/// Most jobs committed together.
pub(super) const MAX_BATCH: usize = 1024;

/// Shortest time between the starts of two commits. Under load the writer
/// sleeps out the rest of this interval before taking its queue, so jobs
/// arriving meanwhile join one batch without waking it one by one: fewer
/// commits, WAL frames, locks, flushes and context switches per job. An idle
/// writer commits at once (its last commit began long ago).
pub(super) const COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(1);

/// How much the writer thread raises its scheduling priority (nice) above the
/// process's, where the process may (CAP_SYS_NICE or an RLIMIT_NICE that
/// allows it). It only ever waits or works briefly, and every durable answer
/// waits on it: when the request workers keep both cores busy, a woken writer
/// that queues behind them for a time slice delays every login of its batch.
pub(super) const DB_THREAD_PRIORITY_BOOST: i32 = 5;

/// Raises the calling thread's priority by [`DB_THREAD_PRIORITY_BOOST`];
/// without the privilege the thread keeps the process's priority.
pub(super) fn raise_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let tid = Some(rustix::thread::gettid());
        let r = getpriority_process(tid)
            .and_then(|nice| setpriority_process(tid, nice - DB_THREAD_PRIORITY_BOOST));
        if let Err(e) = r {
            tracing::debug!("SQLite thread keeps its priority: {e}");
        }
    }
}

/// The writer loop: group commit, flush, answers; fail-stop after a failed
/// commit or flush.
pub(super) fn writer(
    conn: Connection,
    rx: mpsc::Receiver<Job>,
    mut wal: Wal,
    checkpoints: Checkpoints,
    failed: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut last_commit: Option<std::time::Instant> = None;
    while let Ok(first) = rx.recv() {
        if failed.load(std::sync::atomic::Ordering::SeqCst) {
            drop(first);
            continue;
        }
        if let Some(wait) = last_commit.and_then(|t| COMMIT_INTERVAL.checked_sub(t.elapsed())) {
            std::thread::sleep(wait);
        }
        last_commit = Some(std::time::Instant::now());
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let began = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
        let mut errored = !began;
        let done: Vec<Done> = batch
            .into_iter()
            .map(|job| {
                let (e, d) = job(&conn);
                errored |= e;
                d
            })
            .collect();
        let committed = if errored {
            let _ = conn.execute_batch("ROLLBACK");
            false
        } else if conn.execute_batch("COMMIT").is_ok() {
            true
        } else {
            // Answers released before this commit may now be wrong: stop writing.
            let _ = conn.execute_batch("ROLLBACK");
            failed.store(true, std::sync::atomic::Ordering::SeqCst);
            tracing::error!("SQLite commit failed: writes stop until restart");
            false
        };
        let flushed = committed && wal.flush(&failed);
        for d in done {
            d(flushed);
        }
        if flushed {
            checkpoint(&conn, &checkpoints);
        }
    }
}

/// Starts the writer thread on `conn` (at a raised priority where the
/// process may); returns its job queue and its fail-stop flag.
pub(super) fn start_writer(
    conn: Connection,
    path: &str,
    bulk: Checkpoints,
) -> Result<(mpsc::Sender<Job>, Arc<std::sync::atomic::AtomicBool>), DbError> {
    let (tx, rx) = mpsc::channel::<Job>();
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = failed.clone();
    let wal = Wal::new(format!("{path}-wal").into());
    std::thread::Builder::new()
        .name("keyhaven-sqlite-writer".into())
        .spawn(move || {
            raise_thread_priority();
            writer(conn, rx, wal, bulk, flag)
        })
        .map_err(|e| DbError::Writer(e.to_string()))?;
    Ok((tx, failed))
}
