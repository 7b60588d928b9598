//! Group commit of logins on PostgreSQL.
//!
//! A login's write is one statement (consume the challenge, compare-and-set
//! the counter, open the session), but one statement per login costs
//! PostgreSQL a parse-free yet full executor start, a round trip and a commit
//! each. Under load the logins waiting at the same moment are sent together
//! instead: one statement over arrays (`unnest`), one implicit transaction,
//! one commit, one WAL flush. Every login in it is still decided on its own
//! rows, exactly as if it had run alone:
//!
//! - its challenge row is deleted by it or by no one (`DELETE … USING … RETURNING`
//!   hands each row to one caller; a concurrent batch waits on the row lock
//!   and then finds it gone);
//! - its credential's counter moves only forward, compared in the database;
//! - its session exists only if both happened.
//!
//! A batch never holds two logins of the same credential or the same
//! challenge (the second waits for the next batch), so two logins of one
//! credential with zero counters both succeed, as they would one by one.
//! Each answer is released only after the statement's `ReadyForQuery`, which
//! PostgreSQL sends after the commit (`synchronous_commit` as configured,
//! on by default). A batch that fails on a deadlock or a serialization
//! failure (two nodes' batches locking the same rows in different orders)
//! is retried login by login.
//!
//! One batch runs at a time per node, on a pooled connection; while it runs,
//! new logins gather for the next one, so batches grow with load and a lone
//! login waits for nothing. One at a time is fastest here: about 15 logins
//! gather per batch at 32 connections, and each further batch in flight
//! halves the batches and adds commits competing for the WAL (at 32
//! connections, one run after the other: 1, 2, 4 and 8 batches in flight
//! gave 6,830, 6,559, 5,552 and 3,874 logins/s; 1 against 2 measured side by
//! side, medians of three rounds: 10,087 against 9,347).

use super::{DbError, LoginUpdate, NewSession};
use deadpool_postgres::Pool;
use std::collections::HashSet;
use tokio::sync::{mpsc, oneshot};

/// Most logins in one statement.
const MAX_BATCH: usize = 64;
/// Logins waiting beyond this make callers wait to enqueue (backpressure).
const QUEUE: usize = 4096;

/// What a verified assertion writes (L3 §7.2 steps 21–24: the stored
/// counter, backup state and uvInitialized, and the session it opens).
pub(super) struct Login {
    pub challenge: [u8; 32],
    pub credential_id: Vec<u8>,
    pub user_id: i64,
    pub sign_count: i64,
    pub backed_up: bool,
    pub uv_initialized: bool,
    pub now: i64,
    pub session: NewSession,
}

struct Job {
    login: Login,
    reply: oneshot::Sender<Result<LoginUpdate, DbError>>,
}

/// The queue of logins waiting to be committed.
#[derive(Clone)]
pub(super) struct Batcher {
    jobs: mpsc::Sender<Job>,
}

/// One statement for a whole batch; every array has one element per login,
/// `$1` numbering them. A replaced session ends only with its login.
const LOGINS: &str = "WITH i AS ( \
       SELECT * FROM unnest($1::int4[], $2::bytea[], $3::int8[], $4::int8[], $5::bool[], $6::bool[], \
                            $7::bytea[], $8::int8[], $9::bytea[], $10::text[], $11::int8[], $12::int8[], $13::bytea[]) \
         AS t(n, challenge, now, sign_count, backed_up, uv, credential_id, user_id, session, device, verified_at, expires_at, replaces)), \
     ch AS (DELETE FROM challenges c USING i \
            WHERE c.hash = i.challenge AND c.kind = 'authentication' AND c.expires_at > i.now \
            RETURNING i.n), \
     u AS (UPDATE credentials c SET sign_count = i.sign_count, backed_up = i.backed_up, \
                  uv_initialized = c.uv_initialized OR i.uv, last_used_at = i.now \
           FROM i JOIN ch ON ch.n = i.n \
           WHERE c.id = i.credential_id AND c.user_id = i.user_id \
                 AND (c.sign_count < i.sign_count OR (c.sign_count = 0 AND i.sign_count = 0)) \
           RETURNING i.n), \
     s AS (INSERT INTO sessions (hash, user_id, credential_id, device, created_at, last_seen_at, verified_at, expires_at) \
           SELECT i.session, i.user_id, i.credential_id, i.device, i.now, i.now, i.verified_at, i.expires_at \
           FROM i JOIN u ON u.n = i.n), \
     r AS (DELETE FROM sessions x USING i JOIN u ON u.n = i.n WHERE x.hash = i.replaces) \
     SELECT i.n, ch.n IS NOT NULL, u.n IS NOT NULL FROM i LEFT JOIN ch ON ch.n = i.n LEFT JOIN u ON u.n = i.n";

impl Batcher {
    /// Starts the batching task on the current runtime.
    pub(super) fn start(pool: Pool) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, rx));
        Batcher { jobs: tx }
    }

    /// Commits `login` (with others waiting at the same time) and answers
    /// once its commit is done.
    pub(super) async fn login(&self, login: Login) -> Result<LoginUpdate, DbError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { login, reply })
            .await
            .map_err(|_| DbError::Writer("the login batcher stopped".into()))?;
        answer
            .await
            .map_err(|_| DbError::Writer("the login batch was dropped".into()))?
    }
}

/// Takes the next batch: the logins left over from the last one first, then
/// whatever is queued, up to [`MAX_BATCH`], never two of one credential or
/// one challenge. Waits for the first login only when none is left over;
/// `None` once the queue is closed and empty.
async fn next_batch(rx: &mut mpsc::Receiver<Job>, left: &mut Vec<Job>) -> Option<Vec<Job>> {
    let mut batch = Vec::new();
    let mut creds = HashSet::new();
    let mut challenges = HashSet::new();
    let mut later = Vec::new();
    let mut take = |j: Job, batch: &mut Vec<Job>, later: &mut Vec<Job>| {
        if batch.len() < MAX_BATCH
            && !creds.contains(&j.login.credential_id)
            && !challenges.contains(&j.login.challenge)
        {
            creds.insert(j.login.credential_id.clone());
            challenges.insert(j.login.challenge);
            batch.push(j);
        } else {
            later.push(j);
        }
    };
    for j in left.drain(..) {
        take(j, &mut batch, &mut later);
    }
    if batch.is_empty() {
        let j = rx.recv().await?;
        take(j, &mut batch, &mut later);
    }
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(j) => take(j, &mut batch, &mut later),
            Err(_) => break,
        }
    }
    *left = later;
    Some(batch)
}

/// Commits one batch after the other; while one commits, the next gathers
/// in the queue.
async fn run(pool: Pool, mut rx: mpsc::Receiver<Job>) {
    let mut left = Vec::new();
    while let Some(batch) = next_batch(&mut rx, &mut left).await {
        commit(&pool, batch).await;
    }
}

/// Whether PostgreSQL ended the transaction only because of other
/// transactions (so running it again may succeed).
fn transient(e: &DbError) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(e, DbError::Postgres(e) if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
        || e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE))
}

/// Runs a batch and answers each login; on a transient failure, runs its
/// logins one by one (each retried a few times).
async fn commit(pool: &Pool, batch: Vec<Job>) {
    let logins: Vec<&Login> = batch.iter().map(|j| &j.login).collect();
    match execute(pool, &logins).await {
        Ok(outcomes) => {
            for (j, o) in batch.into_iter().zip(outcomes) {
                let _ = j.reply.send(Ok(o));
            }
        }
        Err(e) if transient(&e) && batch.len() > 1 => {
            tracing::debug!(error = %e, logins = batch.len(), "login batch retried one by one");
            for j in batch {
                let mut tries = 0;
                let r = loop {
                    tries += 1;
                    match execute(pool, &[&j.login]).await {
                        Err(e) if transient(&e) && tries < 3 => continue,
                        r => break r.map(|mut o| o.remove(0)),
                    }
                };
                let _ = j.reply.send(r);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            let mut batch = batch.into_iter();
            if let Some(first) = batch.next() {
                let _ = first.reply.send(Err(e));
            }
            for j in batch {
                let _ = j.reply.send(Err(DbError::Writer(msg.clone())));
            }
        }
    }
}

/// One statement for `logins`: each one's outcome, in order.
async fn execute(pool: &Pool, logins: &[&Login]) -> Result<Vec<LoginUpdate>, DbError> {
    let c = pool.get().await.map_err(super::postgres::pool_err)?;
    let st = c.prepare_cached(LOGINS).await?;
    let n: Vec<i32> = (0..logins.len() as i32).collect();
    let challenge: Vec<&[u8]> = logins.iter().map(|l| l.challenge.as_slice()).collect();
    let now: Vec<i64> = logins.iter().map(|l| l.now).collect();
    let sign_count: Vec<i64> = logins.iter().map(|l| l.sign_count).collect();
    let backed_up: Vec<bool> = logins.iter().map(|l| l.backed_up).collect();
    let uv: Vec<bool> = logins.iter().map(|l| l.uv_initialized).collect();
    let credential_id: Vec<&[u8]> = logins.iter().map(|l| l.credential_id.as_slice()).collect();
    let user_id: Vec<i64> = logins.iter().map(|l| l.user_id).collect();
    let session: Vec<&[u8]> = logins.iter().map(|l| l.session.key.as_slice()).collect();
    let device: Vec<&str> = logins.iter().map(|l| l.session.device.as_str()).collect();
    let verified_at: Vec<Option<i64>> = logins
        .iter()
        .map(|l| l.session.verified.then_some(l.now))
        .collect();
    let expires_at: Vec<i64> = logins.iter().map(|l| l.session.expires_at).collect();
    let replaces: Vec<Option<&[u8]>> = logins
        .iter()
        .map(|l| l.session.replaces.as_ref().map(|k| k.as_slice()))
        .collect();
    let rows = c
        .query(
            &st,
            &[
                &n,
                &challenge,
                &now,
                &sign_count,
                &backed_up,
                &uv,
                &credential_id,
                &user_id,
                &session,
                &device,
                &verified_at,
                &expires_at,
                &replaces,
            ],
        )
        .await?;
    let mut out = vec![LoginUpdate::ChallengeGone; logins.len()];
    for r in rows {
        let i = usize::try_from(r.get::<_, i32>(0)).unwrap_or(usize::MAX);
        let (consumed, stored): (bool, bool) = (r.get(1), r.get(2));
        if let Some(o) = out.get_mut(i) {
            *o = match (consumed, stored) {
                (false, _) => LoginUpdate::ChallengeGone,
                (true, true) => LoginUpdate::Done,
                (true, false) => LoginUpdate::CounterRace,
            };
        }
    }
    Ok(out)
}
