//! Statements over arrays on PostgreSQL: the requests waiting at the same
//! moment go to the database as one statement (`unnest`), one round trip and
//! one executor start for all of them, instead of one each. Four kinds:
//! logins ([`Logins`], group commit), new challenges ([`Challenges`], group
//! commit), the reads of a challenge this node did not issue ([`Peeks`]) and
//! the reads of an account with its passkeys for options ([`Accounts`]).
//!
//! ## Logins
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
//! challenge (the second waits for the next batch, and so do the later
//! ones: each credential's logins commit in the order they came), so two
//! logins of one credential with zero counters both succeed, as they would
//! one by one.
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
//!
//! ## Challenges
//!
//! Every options call stores its challenge before answering, so that any
//! node can find it: one insert and one commit per call made issuing
//! challenges on PostgreSQL 4.8 times slower than on SQLite (4,309 against
//! 20,798 options/s at 32 connections). The inserts waiting at the same
//! moment go as one statement and one commit; each is answered after it.
//!
//! ## Peeks
//!
//! A login whose challenge this node did not issue (another node of the same
//! database did: a load balancer without affinity sends half the logins of
//! two nodes there) reads the challenge and the credential before verifying.
//! Those reads wait for each other the same way, one statement at a time per
//! node; they change nothing, so any may share a batch. With every login
//! reading so (a node whose cache is off), one read per login cost 40% of
//! the logins per second (9,488 against 5,582 at 32 connections).
//!
//! ## Accounts
//!
//! An options call naming a user reads the account and its passkeys (for
//! allowCredentials): one statement, shared by every options call waiting at
//! the same moment. A name nobody has costs the same statement. With the
//! challenges' group commit, options calls went from 4,958 to 12,987 a
//! second at 32 connections (SQLite: 21,836).

use super::postgres::{credential, pool_err, user_at, CRED_COLUMNS};
use super::{Challenge, Credential, DbError, Kind, LoginUpdate, NewSession, User};
use deadpool_postgres::Pool;
use std::collections::HashSet;
use std::future::Future;
use std::sync::LazyLock;
use tokio::sync::{mpsc, oneshot};

/// Most requests in one statement.
const MAX_BATCH: usize = 64;
/// Requests waiting beyond this make callers wait to enqueue (backpressure).
const QUEUE: usize = 4096;

/// One kind of batched statement.
pub(super) trait Statement: Send + Sync + 'static {
    /// One request.
    type Req: Send + Sync + 'static;
    /// Its answer.
    type Ans: Send + 'static;
    /// What a batch holds so far (and what it left for the next one), for
    /// [`admit`](Self::admit).
    type Seen: Default + Send;
    /// What the requests are, in messages.
    const WHAT: &'static str;
    /// Whether `req` may join a batch that holds `seen` (noted in it either
    /// way); if not, it waits for the next batch. Asked in arrival order,
    /// while the batch has room. By default any may: requests that read, or
    /// write rows of their own.
    fn admit(_seen: &mut Self::Seen, _req: &Self::Req) -> bool {
        true
    }
    /// One statement for `reqs`: each one's answer, in order.
    fn execute(
        pool: &Pool,
        reqs: &[&Self::Req],
    ) -> impl Future<Output = Result<Vec<Self::Ans>, DbError>> + Send;
    /// Whether a batch that failed with `e` is run again request by request.
    fn retry_one_by_one(_e: &DbError) -> bool {
        false
    }
}

struct Job<S: Statement> {
    req: S::Req,
    reply: oneshot::Sender<Result<S::Ans, DbError>>,
}

/// The queue of requests of one kind, and the task that runs them in batches.
pub(super) struct Batcher<S: Statement> {
    jobs: mpsc::Sender<Job<S>>,
}

impl<S: Statement> Clone for Batcher<S> {
    fn clone(&self) -> Self {
        Batcher {
            jobs: self.jobs.clone(),
        }
    }
}

impl<S: Statement> Batcher<S> {
    /// Starts the batching task on the current runtime.
    pub(super) fn start(pool: Pool) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run::<S>(pool, rx));
        Batcher { jobs: tx }
    }

    /// Runs `req` (with others waiting at the same time) and answers once
    /// its statement is done (for logins: committed).
    pub(super) async fn call(&self, req: S::Req) -> Result<S::Ans, DbError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { req, reply })
            .await
            .map_err(|_| batch_error::<S>("its task stopped".into()))?;
        answer
            .await
            .map_err(|_| batch_error::<S>("dropped without an answer".into()))?
    }
}

/// A failure of an `S` batch, for each request in it.
fn batch_error<S: Statement>(cause: String) -> DbError {
    DbError::Batch {
        what: S::WHAT,
        cause,
    }
}

/// Takes the next batch: the requests left over from the last one first,
/// then whatever is queued, up to [`MAX_BATCH`], as [`Statement::admit`]
/// allows. Waits for the first request only when none is left over; `None`
/// once the queue is closed and empty.
async fn next_batch<S: Statement>(
    rx: &mut mpsc::Receiver<Job<S>>,
    left: &mut Vec<Job<S>>,
) -> Option<Vec<Job<S>>> {
    let mut batch = Vec::new();
    let mut seen = S::Seen::default();
    let mut later = Vec::new();
    let mut take = |j: Job<S>, batch: &mut Vec<Job<S>>, later: &mut Vec<Job<S>>| {
        if batch.len() < MAX_BATCH && S::admit(&mut seen, &j.req) {
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

/// Runs one batch after the other; while one runs, the next gathers in the
/// queue.
async fn run<S: Statement>(pool: Pool, mut rx: mpsc::Receiver<Job<S>>) {
    let mut left = Vec::new();
    while let Some(batch) = next_batch(&mut rx, &mut left).await {
        settle::<S>(&pool, batch).await;
    }
}

/// Runs a batch and answers each request; after a failure that
/// [`Statement::retry_one_by_one`] names, runs its requests one by one (each
/// tried a few times).
async fn settle<S: Statement>(pool: &Pool, batch: Vec<Job<S>>) {
    let reqs: Vec<&S::Req> = batch.iter().map(|j| &j.req).collect();
    match S::execute(pool, &reqs).await {
        Ok(answers) => {
            for (j, a) in batch.into_iter().zip(answers) {
                let _ = j.reply.send(Ok(a));
            }
        }
        Err(e) if S::retry_one_by_one(&e) && batch.len() > 1 => {
            tracing::debug!(error = %e, requests = batch.len(), what = S::WHAT, "batch retried one by one");
            for j in batch {
                let mut tries = 0;
                let r = loop {
                    tries += 1;
                    match S::execute(pool, &[&j.req]).await {
                        Err(e) if S::retry_one_by_one(&e) && tries < 3 => continue,
                        r => {
                            break r.and_then(|mut a| {
                                a.pop().ok_or_else(|| batch_error::<S>("no answer".into()))
                            })
                        }
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
                let _ = j.reply.send(Err(batch_error::<S>(msg.clone())));
            }
        }
    }
}

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

/// Logins, committed in groups.
pub(super) struct Logins;

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

impl Statement for Logins {
    type Req = Login;
    type Ans = LoginUpdate;
    /// The credentials and challenges of the batch and of the logins it
    /// left for the next one.
    type Seen = (HashSet<Vec<u8>>, HashSet<[u8; 32]>);
    const WHAT: &'static str = "login";

    /// Never two logins of one credential or one challenge in a batch. A
    /// login left for the next batch still marks its credential and
    /// challenge, so the later logins of either wait too: each credential's
    /// logins are committed in the order they came.
    fn admit((creds, challenges): &mut Self::Seen, l: &Login) -> bool {
        let new_credential = creds.insert(l.credential_id.clone());
        let new_challenge = challenges.insert(l.challenge);
        new_credential && new_challenge
    }

    /// One statement for `logins`: each one's outcome, in order.
    async fn execute(pool: &Pool, logins: &[&Login]) -> Result<Vec<LoginUpdate>, DbError> {
        let c = pool.get().await.map_err(pool_err)?;
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

    /// Deadlocks and serialization failures: PostgreSQL ended the
    /// transaction only because of other transactions.
    fn retry_one_by_one(e: &DbError) -> bool {
        use tokio_postgres::error::SqlState;
        matches!(e, DbError::Postgres(e) if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
            || e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE))
    }
}

/// A challenge to store, under its storage key.
pub(super) struct NewChallenge {
    pub hash: [u8; 32],
    pub challenge: Challenge,
}

/// New challenges, committed in groups.
pub(super) struct Challenges;

/// One statement for a whole batch of new challenges.
const CHALLENGES: &str = "INSERT INTO challenges (hash, kind, state, expires_at) \
     SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::int8[])";

impl Statement for Challenges {
    type Req = NewChallenge;
    type Ans = ();
    type Seen = ();
    const WHAT: &'static str = "challenge";

    /// One statement for `new`: stored (and committed) together.
    async fn execute(pool: &Pool, new: &[&NewChallenge]) -> Result<Vec<()>, DbError> {
        let c = pool.get().await.map_err(pool_err)?;
        let st = c.prepare_cached(CHALLENGES).await?;
        let hash: Vec<&[u8]> = new.iter().map(|n| n.hash.as_slice()).collect();
        let kind: Vec<&str> = new.iter().map(|n| n.challenge.kind.as_str()).collect();
        let state: Vec<&str> = new.iter().map(|n| n.challenge.state.as_str()).collect();
        let expires_at: Vec<i64> = new.iter().map(|n| n.challenge.expires_at).collect();
        c.execute(&st, &[&hash, &kind, &state, &expires_at]).await?;
        Ok(vec![(); new.len()])
    }

    /// A key already taken (32 random bytes: not in practice) fails only
    /// its own insert.
    fn retry_one_by_one(e: &DbError) -> bool {
        use tokio_postgres::error::SqlState;
        matches!(e, DbError::Postgres(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION))
    }
}

/// A live challenge and, when it names one, a credential (nothing consumed).
pub(super) struct Peek {
    pub hash: [u8; 32],
    pub kind: Kind,
    pub now: i64,
    pub credential_id: Option<Vec<u8>>,
}

/// Reads of challenges (and their credentials), in groups.
pub(super) struct Peeks;

/// One statement for a whole batch of peeks: a row for each live challenge,
/// `$1` numbering them, with the credential beside it when there is one.
static PEEKS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT i.n, ch.state, ch.expires_at, cr.* \
         FROM unnest($1::int4[], $2::bytea[], $3::text[], $4::int8[], $5::bytea[]) AS i(n, hash, kind, now, cid) \
         JOIN challenges ch ON ch.hash = i.hash AND ch.kind = i.kind AND ch.expires_at > i.now \
         LEFT JOIN LATERAL (SELECT c.id AS found, {CRED_COLUMNS} WHERE c.id = i.cid) cr ON TRUE"
    )
});

impl Statement for Peeks {
    type Req = Peek;
    type Ans = (Option<Challenge>, Option<Credential>);
    type Seen = ();
    const WHAT: &'static str = "challenge read";

    /// One statement for `peeks`: each one's challenge and credential, in order.
    async fn execute(
        pool: &Pool,
        peeks: &[&Peek],
    ) -> Result<Vec<(Option<Challenge>, Option<Credential>)>, DbError> {
        let c = pool.get().await.map_err(pool_err)?;
        let st = c.prepare_cached(&PEEKS).await?;
        let n: Vec<i32> = (0..peeks.len() as i32).collect();
        let hash: Vec<&[u8]> = peeks.iter().map(|p| p.hash.as_slice()).collect();
        let kind: Vec<&str> = peeks.iter().map(|p| p.kind.as_str()).collect();
        let now: Vec<i64> = peeks.iter().map(|p| p.now).collect();
        let cid: Vec<Option<&[u8]>> = peeks.iter().map(|p| p.credential_id.as_deref()).collect();
        let rows = c.query(&st, &[&n, &hash, &kind, &now, &cid]).await?;
        let mut out: Vec<(Option<Challenge>, Option<Credential>)> =
            (0..peeks.len()).map(|_| (None, None)).collect();
        for r in rows {
            let i = usize::try_from(r.get::<_, i32>(0)).unwrap_or(usize::MAX);
            let (Some(slot), Some(p)) = (out.get_mut(i), peeks.get(i)) else {
                continue;
            };
            let found: Option<Vec<u8>> = r.get(3);
            let cred = match found {
                Some(_) => Some(credential(&r, 4)?),
                None => None,
            };
            *slot = (
                Some(Challenge {
                    kind: p.kind,
                    state: r.get(1),
                    expires_at: r.get(2),
                }),
                cred,
            );
        }
        Ok(out)
    }
}

/// Reads of an account and its credentials (by username), in groups.
pub(super) struct Accounts;

/// One statement for a whole batch of account reads: a row for each
/// credential of each account found (one with NULL credential columns for
/// an account without any), `$1` numbering the names asked for. The account
/// is `a`: `CRED_COLUMNS` joins its own `u`.
static ACCOUNTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT i.n, a.id, a.username, a.display_name, a.handle, cr.* \
         FROM unnest($1::int4[], $2::text[]) AS i(n, name) \
         JOIN users a ON a.username = i.name \
         LEFT JOIN LATERAL (SELECT c.id AS found, {CRED_COLUMNS} WHERE c.user_id = a.id) cr ON TRUE \
         ORDER BY i.n, cr.created_at, cr.found"
    )
});

impl Statement for Accounts {
    type Req = String;
    type Ans = Option<(User, Vec<Credential>)>;
    type Seen = ();
    const WHAT: &'static str = "account read";

    /// One statement for `names`: each one's account and credentials, in order.
    async fn execute(
        pool: &Pool,
        names: &[&String],
    ) -> Result<Vec<Option<(User, Vec<Credential>)>>, DbError> {
        let c = pool.get().await.map_err(pool_err)?;
        let st = c.prepare_cached(&ACCOUNTS).await?;
        let n: Vec<i32> = (0..names.len() as i32).collect();
        let name: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        let rows = c.query(&st, &[&n, &name]).await?;
        let mut out: Vec<Option<(User, Vec<Credential>)>> =
            (0..names.len()).map(|_| None).collect();
        for r in rows {
            let i = usize::try_from(r.get::<_, i32>(0)).unwrap_or(usize::MAX);
            let Some(slot) = out.get_mut(i) else {
                continue;
            };
            let (_, creds) = slot.get_or_insert_with(|| (user_at(&r, 1), Vec::new()));
            let found: Option<Vec<u8>> = r.get(5);
            if found.is_some() {
                creds.push(credential(&r, 6)?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(credential: u8, challenge: u16) -> Login {
        let mut ch = [0u8; 32];
        ch[..2].copy_from_slice(&challenge.to_be_bytes());
        Login {
            challenge: ch,
            credential_id: vec![credential],
            user_id: 1,
            sign_count: 0,
            backed_up: false,
            uv_initialized: false,
            now: 0,
            session: NewSession {
                key: ch,
                expires_at: 1,
                device: String::new(),
                verified: false,
                replaces: None,
            },
        }
    }

    /// Doubles numbers; a batch holding 7 fails in a way worth retrying one
    /// by one, a batch holding 13 fails for good.
    struct Doubling;

    impl Statement for Doubling {
        type Req = u32;
        type Ans = u32;
        type Seen = ();
        const WHAT: &'static str = "doubling";

        fn execute(
            _pool: &Pool,
            reqs: &[&u32],
        ) -> impl Future<Output = Result<Vec<u32>, DbError>> + Send {
            let r: Vec<u32> = reqs.iter().map(|&&x| x).collect();
            async move {
                if r.contains(&13) {
                    Err(DbError::Corrupt("for good".into()))
                } else if r.len() > 1 && r.contains(&7) {
                    Err(DbError::Corrupt("retry".into()))
                } else {
                    Ok(r.iter().map(|x| x * 2).collect())
                }
            }
        }

        fn retry_one_by_one(e: &DbError) -> bool {
            matches!(e, DbError::Corrupt(m) if m == "retry")
        }
    }

    /// Runs `reqs` as one batch through `settle`: each one's answer.
    async fn settled(reqs: &[u32]) -> Vec<Result<u32, String>> {
        let mgr =
            deadpool_postgres::Manager::new(tokio_postgres::Config::new(), tokio_postgres::NoTls);
        let pool = Pool::builder(mgr).max_size(1).build().unwrap();
        let (jobs, answers): (Vec<_>, Vec<_>) = reqs
            .iter()
            .map(|&req| {
                let (reply, answer) = oneshot::channel();
                (Job::<Doubling> { req, reply }, answer)
            })
            .unzip();
        settle::<Doubling>(&pool, jobs).await;
        let mut out = Vec::new();
        for a in answers {
            out.push(a.await.unwrap().map_err(|e| e.to_string()));
        }
        out
    }

    /// Every request of a batch gets its own answer; after a failure worth
    /// retrying each is run alone; after any other failure each gets the
    /// error, the first as it came and the others naming the batch's kind.
    #[tokio::test]
    async fn every_request_of_a_batch_is_answered() {
        assert_eq!(settled(&[1, 2, 3]).await, [Ok(2), Ok(4), Ok(6)]);
        assert_eq!(settled(&[5, 7, 9]).await, [Ok(10), Ok(14), Ok(18)]);
        assert_eq!(
            settled(&[13, 4]).await,
            [
                Err("corrupt row: for good".to_owned()),
                Err("the doubling batch failed: corrupt row: for good".to_owned())
            ]
        );
    }

    /// Logins of 40 credentials, some challenges submitted twice, drained
    /// batch by batch: every login comes out exactly once, no batch holds
    /// two of one credential or one challenge or more than [`MAX_BATCH`],
    /// and the logins of one credential keep their order.
    #[tokio::test]
    async fn batches_take_every_login_once_and_never_two_of_a_kind() {
        let (tx, mut rx) = mpsc::channel::<Job<Logins>>(QUEUE);
        let mut sent = Vec::new();
        for k in 0..300u16 {
            // A credential in a pattern with runs; every 7th login reuses the
            // challenge before it.
            let credential = ((k * 7) % 40) as u8 / if k % 5 == 0 { 2 } else { 1 };
            let challenge = if k % 7 == 0 && k > 0 { k - 1 } else { k };
            let (reply, _) = oneshot::channel();
            tx.send(Job {
                req: login(credential, challenge),
                reply,
            })
            .await
            .unwrap();
            sent.push((credential, challenge));
        }
        drop(tx);
        let mut left = Vec::new();
        let mut out: Vec<(u8, u16)> = Vec::new();
        let mut batches = 0;
        while let Some(batch) = next_batch(&mut rx, &mut left).await {
            batches += 1;
            assert!(!batch.is_empty() && batch.len() <= MAX_BATCH);
            let creds: HashSet<&Vec<u8>> = batch.iter().map(|j| &j.req.credential_id).collect();
            let challenges: HashSet<[u8; 32]> = batch.iter().map(|j| j.req.challenge).collect();
            assert_eq!(creds.len(), batch.len(), "two logins of one credential");
            assert_eq!(challenges.len(), batch.len(), "two logins of one challenge");
            out.extend(batch.iter().map(|j| {
                let c = u16::from_be_bytes([j.req.challenge[0], j.req.challenge[1]]);
                (j.req.credential_id[0], c)
            }));
            assert!(batches < 1000, "no progress");
        }
        assert!(left.is_empty());
        let mut a = sent.clone();
        let mut b = out.clone();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "every login exactly once");
        for credential in 0..40u8 {
            let order = |v: &[(u8, u16)]| -> Vec<u16> {
                v.iter()
                    .filter(|(c, _)| *c == credential)
                    .map(|(_, ch)| *ch)
                    .collect()
            };
            assert_eq!(order(&sent), order(&out), "credential {credential}");
        }
    }
}
