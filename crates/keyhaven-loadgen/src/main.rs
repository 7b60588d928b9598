//! keyhaven-loadgen: a load generator for the login API of `keyhaven serve`
//! (and of any server with the same four ceremony routes, such as the
//! @simplewebauthn/server baseline in `benches/baseline-node`).
//!
//! 1. registers `--users` accounts through keyhaven's WebAuthn client and
//!    software authenticator (options → create → verify), on
//!    `--setup-connections` threads, each with its own authenticator and its
//!    own share of the users;
//! 2. for each connection count, pre-computes `--logins` valid assertions
//!    (options → sign); user `u` is always signed for by the same thread, in
//!    the order its assertions are sent, so each credential's counter rises;
//! 3. sends them to `/api/authentication/verify` over keep-alive HTTP/1.1
//!    connections driven by `--threads` event loops (like wrk: no thread per
//!    connection, so the generator takes little of the CPU it measures), and
//!    reports verified logins per second and p50/p99 latency.
//!
//! Several `--target`s (each with its own `--origin` and `--label` after it)
//! are measured side by side: for each connection count and each of
//! `--rounds` rounds, assertions are pre-computed for every target, then the
//! targets are measured back to back (in an order that rotates each round),
//! so a machine that speeds up or slows down over minutes affects them
//! alike. With several rounds or targets a summary follows: each target's
//! median round, and the first target's median over each other's.
//!
//! `--algorithm` restricts the generator's authenticator to one COSE
//! algorithm (`-7` ES256, what nearly all passkeys are; `-8` EdDSA); without
//! it the authenticator supports all it can and the server's order of
//! preference decides.
//!
//! Loopback only; bounded by `--logins` and `--max-seconds`.
//!
//! ```text
//! keyhaven-loadgen --target 127.0.0.1:8080 --origin http://localhost:8080 \
//!     --users 10000 --logins 20000 --connections 32,128
//! keyhaven-loadgen --target 127.0.0.1:8080 --label ours --target 127.0.0.1:8081 --label theirs \
//!     --rounds 3
//! ```

#![forbid(unsafe_code)]

use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
use keyhaven_client::{
    parse_creation_options_from_json, parse_request_options_from_json, CallOptions, Client,
    InProcess,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A server under test: one node, or several serving one origin (the
/// generator spreads its connections over them in turn, as a load balancer
/// without affinity would).
struct Target {
    addrs: Vec<SocketAddr>,
    origin: String,
    label: String,
}

/// keyhaven-loadgen: verified logins per second through a login server (loopback only).
#[derive(clap::Parser)]
#[command(version, about)]
struct Cli {
    /// A server to measure, host:port on loopback (repeatable; measured in
    /// turn); several nodes of one server comma-separated (HOST:PORT,HOST:PORT):
    /// connections are spread over them in turn.
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// The origin for each --target, by position (default http://localhost:PORT).
    #[arg(long = "origin")]
    origins: Vec<String>,
    /// A name for each --target in the tables, by position (default "server").
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Users registered before the measured runs.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    users: u64,
    /// Logins per measured run.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    logins: u64,
    /// Connection counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128", value_parser = clap::value_parser!(u64).range(1..))]
    connections: Vec<u64>,
    /// Upper bound on a measured run, in seconds.
    #[arg(long, default_value_t = 60)]
    max_seconds: u64,
    /// Logins of an unmeasured run each target gets first (cold caches, a
    /// database's first WAL files), at the first connection count.
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    /// Rounds of measured runs per connection count.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    /// Event-loop threads driving the connections.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    threads: u64,
    /// Connections used to register users.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    setup_connections: u64,
    /// What the measured runs send: `verify` (pre-signed assertions to
    /// /api/authentication/verify, counted when verified) or `options`
    /// (the registered users' /api/authentication/options, counted when a
    /// challenge comes back: what issuing challenges costs).
    #[arg(long, value_enum, default_value = "verify")]
    measure: Measure,
    /// Restricts the authenticator to this COSE algorithm (else it supports all
    /// it can and takes the first the server offers).
    #[arg(long, allow_negative_numbers = true)]
    algorithm: Option<i64>,
}

impl Target {
    /// The node the `k`-th connection goes to.
    fn node(&self, k: usize) -> SocketAddr {
        self.addrs[k % self.addrs.len()]
    }
}

struct Args {
    targets: Vec<Target>,
    users: usize,
    logins: usize,
    connections: Vec<usize>,
    max_seconds: u64,
    rounds: usize,
    warmup: usize,
    threads: usize,
    setup_connections: usize,
    measure: Measure,
    /// Restricts the authenticator to this COSE algorithm (else it supports
    /// all it can and takes the first the server offers).
    algorithm: Option<keyhaven_proto::cose::CoseAlgorithm>,
}

/// What a measured run sends, and what counts as a success.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Measure {
    /// Logins: pre-signed assertions, counted when verified.
    Verify,
    /// Authentication options, counted when they carry a challenge.
    Options,
}

impl Measure {
    /// Whether an answer counts.
    fn succeeded(self, status: u16, body: &[u8]) -> bool {
        match self {
            Measure::Verify => verified(status, body),
            Measure::Options => issued(status, body),
        }
    }

    /// The tables' unit.
    fn unit(self) -> &'static str {
        match self {
            Measure::Verify => "verified logins/s",
            Measure::Options => "options answered/s",
        }
    }
}

/// The bodies of one measured run of `n` requests on `t`: assertions
/// signed by the workers, or options requests for the users in turn.
fn bodies(a: &Args, t: &Target, w: &mut [Worker], names: &[String], n: usize) -> Vec<Vec<u8>> {
    match a.measure {
        Measure::Verify => precompute(t, w, names, n),
        Measure::Options => (0..n)
            .map(|i| {
                let body = format!(r#"{{"username":"{}"}}"#, names[i % names.len()]);
                request(t, "/api/authentication/options", &body)
            })
            .collect(),
    }
}

/// A usage error: one line, exit 2.
fn bad_args(msg: &str) -> ! {
    eprintln!("keyhaven-loadgen: error: {msg}");
    std::process::exit(2)
}

fn args() -> Args {
    let cli = <Cli as clap::Parser>::parse();
    if cli.origins.len() > cli.targets.len() || cli.labels.len() > cli.targets.len() {
        bad_args("more --origin or --label than --target");
    }
    let targets = cli
        .targets
        .iter()
        .enumerate()
        .map(|(i, nodes)| {
            let addrs: Vec<SocketAddr> = nodes
                .split(',')
                .map(|a| {
                    a.parse()
                        .unwrap_or_else(|e| bad_args(&format!("--target {a}: {e}")))
                })
                .collect();
            if !addrs.iter().all(|a| a.ip().is_loopback()) {
                bad_args("loopback targets only");
            }
            Target {
                origin: cli
                    .origins
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("http://localhost:{}", addrs[0].port())),
                addrs,
                label: cli
                    .labels
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| "server".into()),
            }
        })
        .collect();
    let algorithm = cli.algorithm.map(|a| {
        keyhaven_proto::cose::CoseAlgorithm::from_id(a)
            .unwrap_or_else(|| bad_args(&format!("unknown COSE algorithm {a}")))
    });
    let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    Args {
        targets,
        users: n(cli.users),
        logins: n(cli.logins),
        connections: cli.connections.into_iter().map(n).collect(),
        max_seconds: cli.max_seconds,
        rounds: n(cli.rounds),
        warmup: n(cli.warmup),
        threads: n(cli.threads),
        setup_connections: n(cli.setup_connections),
        measure: cli.measure,
        algorithm,
    }
}

/// A blocking keep-alive HTTP/1.1 connection (setup) with just enough parsing
/// for JSON answers.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(target: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(target)?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends one request and reads one answer (see [`parse_answer`]).
    fn send(&mut self, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        self.stream.write_all(request)?;
        self.buf.clear();
        loop {
            if let Some(answer) = parse_answer(&self.buf)? {
                return Ok(answer);
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn request(t: &Target, path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        t.addrs[0],
        t.origin,
        body.len()
    )
    .into_bytes()
}

fn post_json(t: &Target, c: &mut Conn, path: &str, body: &str) -> serde_json::Value {
    let (status, b) = c
        .send(&request(t, path, body))
        .unwrap_or_else(|e| fail(&format!("{path}: {e}")));
    if status != 200 {
        fail(&format!(
            "{path}: HTTP {status}: {}",
            String::from_utf8_lossy(&b)
        ));
    }
    serde_json::from_slice(&b).unwrap_or_else(|e| fail(&format!("{path}: {e}")))
}

fn fail(msg: &str) -> ! {
    eprintln!("keyhaven-loadgen: error: {msg}");
    std::process::exit(1)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One setup thread: its authenticator and client, and its share of the users
/// (`u % setup_connections == k`).
struct Worker {
    client: Client,
    conn: Conn,
    users: Vec<usize>,
}

/// The authenticator's settings: all algorithms, or only `--algorithm`.
fn settings(a: &Args) -> Settings {
    let mut s = Settings::default();
    if let Some(alg) = a.algorithm {
        s.algorithms = vec![alg];
    }
    s
}

/// 1. Registers every user on `t`, in parallel; each worker keeps the
///    authenticator holding its users' credentials.
fn register(a: &Args, t: &Target, names: &[String]) -> Vec<Worker> {
    let call = CallOptions::new(&t.origin);
    let start = Instant::now();
    let workers: Vec<Worker> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..a.setup_connections.min(a.users.max(1)))
            .map(|k| {
                let call = &call;
                s.spawn(move || {
                    let users: Vec<usize> = (k..names.len()).step_by(a.setup_connections).collect();
                    let auth = Authenticator::new(
                        MemoryStore::new(users.len() + 16),
                        AlwaysApprove { uv: true },
                        settings(a),
                    )
                    .unwrap_or_else(|e| fail(&e.to_string()));
                    let mut client = Client::new(vec![Box::new(InProcess::new(auth))]);
                    let node = t.node(k);
                    let mut conn =
                        Conn::open(node).unwrap_or_else(|e| fail(&format!("{node}: {e}")));
                    for &u in &users {
                        let o = post_json(
                            t,
                            &mut conn,
                            "/api/registration/options",
                            &format!(r#"{{"username":"{}"}}"#, names[u]),
                        );
                        let options = parse_creation_options_from_json(&o.to_string())
                            .unwrap_or_else(|e| fail(&e.to_string()));
                        let cred = client
                            .create(call, &options)
                            .unwrap_or_else(|e| fail(&e.to_string()));
                        post_json(
                            t,
                            &mut conn,
                            "/api/registration/verify",
                            &cred.to_json_string(),
                        );
                    }
                    Worker {
                        client,
                        conn,
                        users,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| fail("a setup thread panicked")))
            .collect()
    });
    eprintln!(
        "[{}] registered {} users in {:.1} s",
        t.label,
        a.users,
        start.elapsed().as_secs_f64()
    );
    workers
}

/// 2. Assertions for one measured run on `t`, computed before the clock
///    starts: body i is for user i % users, signed by that user's worker in
///    increasing i.
fn precompute(t: &Target, workers: &mut [Worker], names: &[String], logins: usize) -> Vec<Vec<u8>> {
    let call = CallOptions::new(&t.origin);
    let start = Instant::now();
    let signed: Vec<Vec<(usize, Vec<u8>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = workers
            .iter_mut()
            .enumerate()
            .map(|(k, w)| {
                let call = &call;
                s.spawn(move || {
                    // A fresh connection: the server may have closed the
                    // previous one while it sat idle during a measured run.
                    let node = t.node(k);
                    w.conn = Conn::open(node).unwrap_or_else(|e| fail(&format!("{node}: {e}")));
                    let n = names.len();
                    let mut mine = Vec::new();
                    for round in 0..logins.div_ceil(n) {
                        for &u in &w.users {
                            let i = round * n + u;
                            if i >= logins {
                                break;
                            }
                            let o = post_json(
                                t,
                                &mut w.conn,
                                "/api/authentication/options",
                                &format!(r#"{{"username":"{}"}}"#, names[u]),
                            );
                            let options = parse_request_options_from_json(&o.to_string())
                                .unwrap_or_else(|e| fail(&e.to_string()));
                            let cred = w
                                .client
                                .get(call, &options)
                                .unwrap_or_else(|e| fail(&e.to_string()));
                            mine.push((
                                i,
                                request(t, "/api/authentication/verify", &cred.to_json_string()),
                            ));
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| fail("a setup thread panicked")))
            .collect()
    });
    let mut bodies = vec![Vec::new(); logins];
    for (i, body) in signed.into_iter().flatten() {
        bodies[i] = body;
    }
    eprintln!(
        "[{}] pre-computed {} assertions in {:.1} s",
        t.label,
        logins,
        start.elapsed().as_secs_f64()
    );
    bodies
}

/// One measured run's figures.
struct Row {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Logins not verified, including those never sent (deadline).
    failed: usize,
    /// Connections that could not be opened or broke; panicked tasks.
    connection_errors: usize,
}

fn print_header(m: Measure) {
    println!(
        "| target | connections | {} | p50 | p99 | failed | connection errors |",
        m.unit()
    );
    println!("|---|---|---|---|---|---|---|");
}

fn print_row(label: &str, c: usize, r: &Row) {
    println!(
        "| {label} | {c} | {:.0} | {:.2} ms | {:.2} ms | {} | {} |",
        r.rate, r.p50_ms, r.p99_ms, r.failed, r.connection_errors
    );
}

/// The median of `v` (the upper one of an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() {
    let a = args();
    let run = std::process::id();
    let names: Vec<String> = (0..a.users).map(|i| format!("lg{run}u{i}")).collect();
    let mut workers: Vec<Vec<Worker>> = a.targets.iter().map(|t| register(&a, t, &names)).collect();

    if a.warmup > 0 {
        for (t, w) in a.targets.iter().zip(workers.iter_mut()) {
            let b = bodies(&a, t, w, &names, a.warmup);
            let r = measure(&a, t, a.connections[0], Arc::new(b));
            eprintln!(
                "[{}] warm-up: {:.0} answers/s, {} failed (not counted)",
                t.label,
                r.ok as f64 / r.elapsed,
                a.warmup - r.ok
            );
        }
    }
    print_header(a.measure);
    // rows[c][target] over the rounds.
    let mut rows: Vec<Vec<Vec<Row>>> = Vec::new();
    for (ci, &c) in a.connections.iter().enumerate() {
        rows.push((0..a.targets.len()).map(|_| Vec::new()).collect());
        for round in 0..a.rounds {
            let mut bodies: Vec<Option<Vec<Vec<u8>>>> = a
                .targets
                .iter()
                .zip(workers.iter_mut())
                .map(|(t, w)| Some(bodies(&a, t, w, &names, a.logins)))
                .collect();
            // 3. The measured runs, back to back, the first target rotating.
            let n = a.targets.len();
            for k in 0..n {
                let ti = (round + k) % n;
                let t = &a.targets[ti];
                let b = bodies[ti].take().unwrap_or_default();
                let sent = b.len();
                let r = measure(&a, t, c, Arc::new(b));
                let row = Row {
                    rate: r.ok as f64 / r.elapsed,
                    p50_ms: percentile(&r.latencies, 0.50).as_secs_f64() * 1e3,
                    p99_ms: percentile(&r.latencies, 0.99).as_secs_f64() * 1e3,
                    // Every login that did not verify: refused or unanswered,
                    // and those never sent before the deadline.
                    failed: r.failed + sent.saturating_sub(r.ok + r.failed),
                    connection_errors: r.connection_errors,
                };
                print_row(&t.label, c, &row);
                rows[ci][ti].push(row);
            }
        }
    }
    if a.rounds == 1 && a.targets.len() == 1 {
        return;
    }
    println!();
    println!("Medians of {} round(s):", a.rounds);
    println!();
    print_header(a.measure);
    let medians: Vec<Vec<Row>> = rows
        .iter()
        .map(|per_target| {
            per_target
                .iter()
                .map(|runs| Row {
                    rate: median(runs.iter().map(|r| r.rate).collect()),
                    p50_ms: median(runs.iter().map(|r| r.p50_ms).collect()),
                    p99_ms: median(runs.iter().map(|r| r.p99_ms).collect()),
                    failed: runs.iter().map(|r| r.failed).sum(),
                    connection_errors: runs.iter().map(|r| r.connection_errors).sum(),
                })
                .collect()
        })
        .collect();
    for (ci, &c) in a.connections.iter().enumerate() {
        for (ti, t) in a.targets.iter().enumerate() {
            print_row(&t.label, c, &medians[ci][ti]);
        }
    }
    for (ti, t) in a.targets.iter().enumerate().skip(1) {
        let ratios: Vec<String> = a
            .connections
            .iter()
            .enumerate()
            .map(|(ci, &c)| {
                let other = medians[ci][ti].rate;
                let ratio = if other > 0.0 {
                    medians[ci][0].rate / other
                } else {
                    0.0
                };
                format!("{ratio:.2}× at {c}")
            })
            .collect();
        println!();
        println!(
            "{} over {}: {}",
            a.targets[0].label,
            t.label,
            ratios.join(", ")
        );
    }
}

struct Measured {
    ok: usize,
    failed: usize,
    /// Connections that could not be opened or broke, and tasks or threads
    /// that panicked: each one is counted.
    connection_errors: usize,
    elapsed: f64,
    /// Sorted.
    latencies: Vec<Duration>,
}

/// Sends `bodies` in order over `connections` keep-alive connections spread
/// over `a.threads` single-threaded event loops, to `t`'s nodes in turn.
fn measure(a: &Args, t: &Target, connections: usize, bodies: Arc<Vec<Vec<u8>>>) -> Measured {
    // Each connection's node, in the order they are opened.
    let opened = Arc::new(AtomicUsize::new(0));
    let nodes: Arc<Vec<SocketAddr>> = Arc::new((0..connections).map(|k| t.node(k)).collect());
    let measure = a.measure;
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicUsize::new(0));
    let broken = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(a.max_seconds);
    let start = Instant::now();
    let threads: Vec<_> = (0..a.threads.min(connections))
        .map(|t| {
            let mine = connections / a.threads + usize::from(t < connections % a.threads);
            let (nodes, opened) = (nodes.clone(), opened.clone());
            let (bodies, next, ok, bad, broken) = (
                bodies.clone(),
                next.clone(),
                ok.clone(),
                bad.clone(),
                broken.clone(),
            );
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .enable_time()
                    .build()
                    .unwrap_or_else(|e| fail(&e.to_string()));
                rt.block_on(async move {
                    let tasks: Vec<_> = (0..mine)
                        .map(|_| {
                            let k = opened.fetch_add(1, Ordering::Relaxed);
                            tokio::spawn(connection(
                                nodes[k],
                                bodies.clone(),
                                next.clone(),
                                Counters {
                                    measure,
                                    ok: ok.clone(),
                                    bad: bad.clone(),
                                    broken: broken.clone(),
                                },
                                deadline,
                            ))
                        })
                        .collect();
                    let mut all = Vec::new();
                    for t in tasks {
                        match t.await {
                            Ok(l) => all.extend(l),
                            Err(e) => {
                                eprintln!("a connection task failed: {e}");
                                broken.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    all
                })
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(bodies.len());
    let mut thread_panics = 0;
    for t in threads {
        match t.join() {
            Ok(l) => latencies.extend(l),
            Err(_) => {
                eprintln!("an event loop thread panicked");
                thread_panics += 1;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort();
    Measured {
        ok: ok.load(Ordering::Relaxed),
        failed: bad.load(Ordering::Relaxed),
        connection_errors: broken.load(Ordering::Relaxed) + thread_panics,
        elapsed,
        latencies,
    }
}

/// What the measured connections count.
struct Counters {
    /// What counts as a success.
    measure: Measure,
    /// Answers that count ([`Measure::succeeded`]).
    ok: Arc<AtomicUsize>,
    /// Requests answered otherwise, or not answered.
    bad: Arc<AtomicUsize>,
    /// Connections that could not be opened or broke.
    broken: Arc<AtomicUsize>,
}

/// Whether an answer is HTTP 200 with a JSON body that `f` accepts.
fn json_200(status: u16, body: &[u8], f: impl FnOnce(&serde_json::Value) -> bool) -> bool {
    status == 200 && serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| f(&v))
}

/// Whether an answer issued a challenge: HTTP 200 and a JSON body with a
/// `"challenge"` string.
fn issued(status: u16, body: &[u8]) -> bool {
    json_200(status, body, |v| {
        v.get("challenge").is_some_and(serde_json::Value::is_string)
    })
}

/// Whether an answer is a verified login: HTTP 200 and a JSON body with
/// `"verified": true` (both servers answer so; anything else is a failure).
fn verified(status: u16, body: &[u8]) -> bool {
    json_200(status, body, |v| {
        v.get("verified") == Some(&serde_json::Value::Bool(true))
    })
}

/// One keep-alive connection of the measured run: takes the next body, sends
/// it, reads the answer; returns its latencies.
async fn connection(
    target: SocketAddr,
    bodies: Arc<Vec<Vec<u8>>>,
    next: Arc<AtomicUsize>,
    n: Counters,
    deadline: Instant,
) -> Vec<Duration> {
    let mut mine = Vec::new();
    let mut conn = match AsyncConn::open(target).await {
        Ok(c) => c,
        Err(e) => {
            if n.broken.fetch_add(1, Ordering::Relaxed) < 3 {
                eprintln!("cannot connect to {target}: {e}");
            }
            return mine;
        }
    };
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= bodies.len() || Instant::now() > deadline {
            break;
        }
        let t = Instant::now();
        match conn.send(&bodies[i]).await {
            Ok((status, body)) if n.measure.succeeded(status, &body) => {
                n.ok.fetch_add(1, Ordering::Relaxed);
            }
            Ok((status, body)) => {
                if n.bad.fetch_add(1, Ordering::Relaxed) < 3 {
                    eprintln!("refused: HTTP {status}: {}", String::from_utf8_lossy(&body));
                }
            }
            Err(e) => {
                n.bad.fetch_add(1, Ordering::Relaxed);
                if n.broken.fetch_add(1, Ordering::Relaxed) < 3 {
                    eprintln!("connection to {target} broke: {e}");
                }
                match AsyncConn::open(target).await {
                    Ok(c) => conn = c,
                    Err(e) => {
                        n.broken.fetch_add(1, Ordering::Relaxed);
                        eprintln!("cannot reconnect to {target}: {e}");
                        break;
                    }
                }
            }
        }
        mine.push(t.elapsed());
    }
    mine
}

/// The measured run's connection: one buffer, answers parsed in place.
struct AsyncConn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl AsyncConn {
    async fn open(target: SocketAddr) -> std::io::Result<Self> {
        let stream = tokio::net::TcpStream::connect(target).await?;
        stream.set_nodelay(true)?;
        Ok(AsyncConn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends one request and reads one answer (see [`parse_answer`]).
    async fn send(&mut self, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(request).await?;
        self.buf.clear();
        loop {
            if let Some(answer) = parse_answer(&self.buf)? {
                return Ok(answer);
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Longest answer read.
const MAX_ANSWER: usize = 1 << 20;

/// A complete HTTP/1.1 answer at the start of `b`: status and body; `None`
/// while incomplete. Content-Length framed; a chunked answer is read to its
/// final empty chunk. An incomplete answer longer than `MAX_ANSWER` is an error.
fn parse_answer(b: &[u8]) -> std::io::Result<Option<(u16, Vec<u8>)>> {
    let answer = parse_complete(b)?;
    if answer.is_none() && b.len() > MAX_ANSWER {
        return Err(std::io::Error::other("answer too large"));
    }
    Ok(answer)
}

fn parse_complete(b: &[u8]) -> std::io::Result<Option<(u16, Vec<u8>)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let end = match resp.parse(b).map_err(std::io::Error::other)? {
        httparse::Status::Partial => return Ok(None),
        httparse::Status::Complete(n) => n,
    };
    let status = resp
        .code
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let (mut len, mut chunked) = (None, false);
    for h in resp.headers.iter() {
        let v = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            len = v.parse::<usize>().ok();
        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
            && v.eq_ignore_ascii_case("chunked")
        {
            chunked = true;
        }
    }
    let rest = &b[end..];
    if chunked {
        let mut body = Vec::new();
        let mut at = 0;
        loop {
            let (data, size) = match httparse::parse_chunk_size(&rest[at..])
                .map_err(|_| std::io::Error::other("bad chunk size"))?
            {
                httparse::Status::Partial => return Ok(None),
                httparse::Status::Complete((n, size)) => (at + n, size as usize),
            };
            if rest.len() < data + size + 2 {
                return Ok(None);
            }
            if size == 0 {
                return Ok(Some((status, body)));
            }
            body.extend_from_slice(&rest[data..data + size]);
            at = data + size + 2;
        }
    }
    let n = len.unwrap_or(0);
    if rest.len() < n {
        return Ok(None);
    }
    Ok(Some((status, rest[..n].to_vec())))
}

#[cfg(test)]
mod tests {
    use super::{parse_answer, verified, Measure};

    /// A 200 counts as a login only with `"verified": true` in its JSON body.
    #[test]
    fn only_a_verified_body_is_a_login() {
        assert!(verified(200, br#"{"verified":true,"username":"a"}"#));
        assert!(verified(200, br#"{ "verified" : true }"#));
        for (status, body) in [
            (200, &br#"{"verified":false}"#[..]),
            (200, br#"{"verified":"true"}"#),
            (200, br#"{"ok":true}"#),
            (200, b"verified: true"),
            (200, b""),
            (400, br#"{"verified":true}"#),
        ] {
            assert!(
                !verified(status, body),
                "{status} {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    /// Options count only when they carry a challenge; a login only when
    /// verified, whichever is measured.
    #[test]
    fn options_count_only_with_a_challenge() {
        let o = Measure::Options;
        assert!(o.succeeded(200, br#"{"challenge":"abc","rpId":"x"}"#));
        for (status, body) in [
            (200, &br#"{"challenge":7}"#[..]),
            (200, br#"{"error":"x"}"#),
            (200, br#"{"verified":true}"#),
            (429, br#"{"challenge":"abc"}"#),
        ] {
            assert!(!o.succeeded(status, body), "{status}");
        }
        assert!(!Measure::Verify.succeeded(200, br#"{"challenge":"abc"}"#));
    }

    #[test]
    fn answers_are_framed_by_length_or_chunks() {
        let whole = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nabcdNEXT";
        assert_eq!(parse_answer(whole).unwrap(), Some((200, b"abcd".to_vec())));
        // Incomplete head or body: not yet.
        assert_eq!(parse_answer(&whole[..20]).unwrap(), None);
        assert_eq!(parse_answer(&whole[..40]).unwrap(), None);
        let chunked = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(
            parse_answer(chunked).unwrap(),
            Some((400, b"abcde".to_vec()))
        );
        assert_eq!(parse_answer(&chunked[..chunked.len() - 3]).unwrap(), None);
        // Not HTTP, or a bad chunk size: an error, never a panic.
        assert!(parse_answer(b"garbage\r\n\r\n").is_err());
        assert!(
            parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }
}
