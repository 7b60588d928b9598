//! The writer thread: batches of write jobs in one transaction, committed at
//! most once per `COMMIT_INTERVAL` under load, the WAL flushed before the
//! answers are released. A failed commit (a full disk) fails its batch and is
//! retried by the next one; a failed flush fails its batch and blocks writes
//! until a checkpoint has put everything in the database file. Meanwhile
//! [`Health`] says why writes fail.

use super::*;

/// How a batch ended: committed and flushed, or why not.
pub(super) type Settled = Result<(), Arc<str>>;
pub(super) type Done = Box<dyn FnOnce(Settled) + Send>;
/// A write job: given the writer's connection inside the batch transaction
/// (or `None` when the batch could not begin), runs; returns its error, if
/// any, and what to do once the batch is settled.
pub(super) type Job = Box<dyn FnOnce(Option<&Connection>) -> (Option<String>, Done) + Send>;

/// Whether writes work, and why not (read by `/healthz`).
#[derive(Default)]
pub(super) struct Health {
    failing: std::sync::atomic::AtomicBool,
    /// A WAL flush failed: frames may be lost from the page cache, so no
    /// commit may follow them in the WAL until a checkpoint has copied the WAL
    /// into the database file (synced) and emptied it.
    pub(super) needs_checkpoint: std::sync::atomic::AtomicBool,
    reason: Mutex<String>,
}

impl Health {
    pub(super) fn fail(&self, reason: &str) {
        use std::sync::atomic::Ordering;
        if !self.failing.swap(true, Ordering::SeqCst) {
            tracing::error!(error = reason, "SQLite writes are failing");
        }
        if let Ok(mut r) = self.reason.lock() {
            reason.clone_into(&mut r);
        }
    }

    pub(super) fn ok(&self) {
        if self
            .failing
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            tracing::warn!("SQLite writes work again");
        }
    }

    /// Why writes failed last, while they do.
    pub(super) fn failing(&self) -> Option<String> {
        self.failing
            .load(std::sync::atomic::Ordering::SeqCst)
            .then(|| self.reason.lock().map(|r| r.clone()).unwrap_or_default())
    }
}

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

/// Tries `COMMIT` a few times (a disk that is full for a moment); rolls back
/// when it keeps failing.
fn commit(conn: &Connection) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=3u64 {
        match conn.execute_batch("COMMIT") {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        if conn.is_autocommit() {
            // SQLite rolled the transaction back itself.
            return Err(format!("COMMIT: {last}"));
        }
        std::thread::sleep(std::time::Duration::from_millis(20 * attempt));
    }
    let _ = conn.execute_batch("ROLLBACK");
    Err(format!("COMMIT: {last}"))
}

/// After a failed flush: `wal_checkpoint(TRUNCATE)` copies the WAL into the
/// database file, syncs it and empties the WAL; only then may commits go on.
fn recover_wal(conn: &Connection, wal: &mut Wal, health: &Health) -> Result<(), String> {
    use std::sync::atomic::Ordering;
    if !health.needs_checkpoint.load(Ordering::SeqCst) {
        return Ok(());
    }
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .map_err(|e| format!("checkpoint after a failed WAL flush: {e}"))?;
    if busy != 0 {
        return Err("checkpoint after a failed WAL flush: busy".into());
    }
    wal.reopen();
    health.needs_checkpoint.store(false, Ordering::SeqCst);
    tracing::warn!("the WAL was checkpointed after a failed flush");
    Ok(())
}

/// One batch: begin, run the jobs, commit, flush. Returns the jobs' answers
/// to release and how the batch settled.
pub(super) fn run_batch(
    conn: &Connection,
    wal: &mut Wal,
    health: &Health,
    batch: Vec<Job>,
) -> (Vec<Done>, Settled) {
    let began = recover_wal(conn, wal, health).and_then(|()| {
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| format!("BEGIN: {e}"))
    });
    if let Err(reason) = began {
        let done = batch.into_iter().map(|job| job(None).1).collect();
        return (done, Err(reason.into()));
    }
    let mut failure: Option<String> = None;
    let done: Vec<Done> = batch
        .into_iter()
        .map(|job| {
            let (e, d) = job(Some(conn));
            if failure.is_none() {
                failure = e;
            }
            d
        })
        .collect();
    let committed = match failure {
        Some(reason) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(reason)
        }
        None => commit(conn),
    };
    let settled = committed.and_then(|()| {
        wal.flush().map_err(|e| {
            health
                .needs_checkpoint
                .store(true, std::sync::atomic::Ordering::SeqCst);
            format!("flushing the WAL: {e}")
        })
    });
    (done, settled.map_err(Arc::from))
}

/// The writer loop: group commit, flush, answers.
pub(super) fn writer(
    conn: Connection,
    rx: mpsc::Receiver<Job>,
    mut wal: Wal,
    checkpoints: Checkpoints,
    health: Arc<Health>,
) {
    let mut last_commit: Option<std::time::Instant> = None;
    while let Ok(first) = rx.recv() {
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
        let (done, settled) = run_batch(&conn, &mut wal, &health, batch);
        match &settled {
            Ok(()) => health.ok(),
            Err(reason) => health.fail(reason),
        }
        for d in done {
            d(settled.clone());
        }
        if settled.is_ok() {
            checkpoint(&conn, &checkpoints);
        }
    }
}

/// Starts the writer thread on `conn` (at a raised priority where the
/// process may); returns its job queue and its health.
pub(super) fn start_writer(
    conn: Connection,
    path: &str,
    bulk: Checkpoints,
) -> Result<(mpsc::Sender<Job>, Arc<Health>), DbError> {
    let (tx, rx) = mpsc::channel::<Job>();
    let health = Arc::new(Health::default());
    let flag = health.clone();
    let wal = Wal::new(format!("{path}-wal").into());
    std::thread::Builder::new()
        .name("keyhaven-sqlite-writer".into())
        .spawn(move || {
            raise_thread_priority();
            writer(conn, rx, wal, bulk, flag)
        })
        .map_err(|e| DbError::Writer(e.to_string()))?;
    Ok((tx, health))
}
