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
//! Loopback only; bounded by `--logins` and `--max-seconds`.
//!
//! ```text
//! keyhaven-loadgen --target 127.0.0.1:8080 --origin http://localhost:8080 \
//!     --users 10000 --logins 20000 --connections 32,128
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

struct Args {
    target: SocketAddr,
    origin: String,
    users: usize,
    logins: usize,
    connections: Vec<usize>,
    max_seconds: u64,
    label: String,
    threads: usize,
    setup_connections: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: keyhaven-loadgen --target 127.0.0.1:PORT --origin http://localhost:PORT \
         [--users 10000] [--logins 20000] [--connections 32,64,128] [--max-seconds 60] [--label NAME] [--threads 1] [--setup-connections 4]"
    );
    std::process::exit(2)
}

fn args() -> Args {
    let mut a = Args {
        target: "127.0.0.1:8080".parse().unwrap_or_else(|_| usage()),
        origin: String::new(),
        users: 10_000,
        logins: 20_000,
        connections: vec![32, 64, 128],
        max_seconds: 60,
        label: "server".into(),
        threads: 1,
        setup_connections: 4,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--target" => a.target = v.parse().unwrap_or_else(|_| usage()),
            "--origin" => a.origin = v,
            "--users" => a.users = v.parse().unwrap_or_else(|_| usage()),
            "--logins" => a.logins = v.parse().unwrap_or_else(|_| usage()),
            "--connections" => {
                a.connections = v
                    .split(',')
                    .map(|c| c.parse().unwrap_or_else(|_| usage()))
                    .collect()
            }
            "--max-seconds" => a.max_seconds = v.parse().unwrap_or_else(|_| usage()),
            "--label" => a.label = v,
            "--threads" => a.threads = v.parse().unwrap_or_else(|_| usage()),
            "--setup-connections" => a.setup_connections = v.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if !a.target.ip().is_loopback() {
        eprintln!("keyhaven-loadgen: error: loopback targets only");
        std::process::exit(2);
    }
    if a.threads == 0 || a.setup_connections == 0 || a.connections.contains(&0) {
        usage()
    }
    if a.origin.is_empty() {
        a.origin = format!("http://localhost:{}", a.target.port());
    }
    a
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

fn request(a: &Args, path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        a.target,
        a.origin,
        body.len()
    )
    .into_bytes()
}

fn post_json(a: &Args, c: &mut Conn, path: &str, body: &str) -> serde_json::Value {
    let (status, b) = c
        .send(&request(a, path, body))
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

fn main() {
    let a = args();
    let run = std::process::id();
    let names: Vec<String> = (0..a.users).map(|i| format!("lg{run}u{i}")).collect();
    let call = CallOptions::new(&a.origin);

    // 1. Accounts, registered in parallel; each worker keeps the authenticator
    //    holding its users' credentials.
    let t = Instant::now();
    let mut workers: Vec<Worker> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..a.setup_connections.min(a.users.max(1)))
            .map(|k| {
                let (a, names, call) = (&a, &names, &call);
                s.spawn(move || {
                    let users: Vec<usize> = (k..names.len()).step_by(a.setup_connections).collect();
                    let auth = Authenticator::new(
                        MemoryStore::new(users.len() + 16),
                        AlwaysApprove { uv: true },
                        Settings::default(),
                    )
                    .unwrap_or_else(|e| fail(&e.to_string()));
                    let mut client = Client::new(vec![Box::new(InProcess::new(auth))]);
                    let mut conn = Conn::open(a.target)
                        .unwrap_or_else(|e| fail(&format!("{}: {e}", a.target)));
                    for &u in &users {
                        let o = post_json(
                            a,
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
                            a,
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
        a.label,
        a.users,
        t.elapsed().as_secs_f64()
    );

    println!("| target | connections | verified logins/s | p50 | p99 | failed |");
    println!("|---|---|---|---|---|---|");
    for &c in &a.connections {
        // 2. Assertions, computed before the clock starts: body i is for user
        //    i % users, signed by that user's worker in increasing i.
        let t = Instant::now();
        let signed: Vec<Vec<(usize, Vec<u8>)>> = std::thread::scope(|s| {
            let handles: Vec<_> = workers
                .iter_mut()
                .map(|w| {
                    let (a, names, call) = (&a, &names, &call);
                    s.spawn(move || {
                        let n = names.len();
                        let mut mine = Vec::new();
                        for round in 0..a.logins.div_ceil(n) {
                            for &u in &w.users {
                                let i = round * n + u;
                                if i >= a.logins {
                                    break;
                                }
                                let o = post_json(
                                    a,
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
                                    request(
                                        a,
                                        "/api/authentication/verify",
                                        &cred.to_json_string(),
                                    ),
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
        let mut bodies = vec![Vec::new(); a.logins];
        for (i, body) in signed.into_iter().flatten() {
            bodies[i] = body;
        }
        eprintln!(
            "[{}] pre-computed {} assertions in {:.1} s",
            a.label,
            a.logins,
            t.elapsed().as_secs_f64()
        );
        // 3. The measured run.
        let r = measure(&a, c, Arc::new(bodies));
        println!(
            "| {} | {c} | {:.0} | {:.2} ms | {:.2} ms | {} |",
            a.label,
            r.ok as f64 / r.elapsed,
            percentile(&r.latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&r.latencies, 0.99).as_secs_f64() * 1e3,
            r.failed
        );
    }
}

struct Measured {
    ok: usize,
    failed: usize,
    elapsed: f64,
    /// Sorted.
    latencies: Vec<Duration>,
}

/// Sends `bodies` in order over `connections` keep-alive connections spread
/// over `a.threads` single-threaded event loops.
fn measure(a: &Args, connections: usize, bodies: Arc<Vec<Vec<u8>>>) -> Measured {
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(a.max_seconds);
    let start = Instant::now();
    let threads: Vec<_> = (0..a.threads.min(connections))
        .map(|t| {
            let mine = connections / a.threads + usize::from(t < connections % a.threads);
            let (bodies, next, ok, bad, target) = (
                bodies.clone(),
                next.clone(),
                ok.clone(),
                bad.clone(),
                a.target,
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
                            tokio::spawn(connection(
                                target,
                                bodies.clone(),
                                next.clone(),
                                ok.clone(),
                                bad.clone(),
                                deadline,
                            ))
                        })
                        .collect();
                    let mut all = Vec::new();
                    for t in tasks {
                        if let Ok(l) = t.await {
                            all.extend(l);
                        }
                    }
                    all
                })
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(bodies.len());
    for t in threads {
        if let Ok(l) = t.join() {
            latencies.extend(l);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort();
    Measured {
        ok: ok.load(Ordering::Relaxed),
        failed: bad.load(Ordering::Relaxed),
        elapsed,
        latencies,
    }
}

/// One keep-alive connection of the measured run: takes the next body, sends
/// it, reads the answer; returns its latencies.
async fn connection(
    target: SocketAddr,
    bodies: Arc<Vec<Vec<u8>>>,
    next: Arc<AtomicUsize>,
    ok: Arc<AtomicUsize>,
    bad: Arc<AtomicUsize>,
    deadline: Instant,
) -> Vec<Duration> {
    let mut mine = Vec::new();
    let mut conn = match AsyncConn::open(target).await {
        Ok(c) => c,
        Err(_) => return mine,
    };
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= bodies.len() || Instant::now() > deadline {
            break;
        }
        let t = Instant::now();
        match conn.send(&bodies[i]).await {
            Ok((200, _)) => {
                ok.fetch_add(1, Ordering::Relaxed);
            }
            Ok((status, body)) => {
                if bad.fetch_add(1, Ordering::Relaxed) < 3 {
                    eprintln!("refused: HTTP {status}: {}", String::from_utf8_lossy(&body));
                }
            }
            Err(_) => {
                bad.fetch_add(1, Ordering::Relaxed);
                match AsyncConn::open(target).await {
                    Ok(c) => conn = c,
                    Err(_) => break,
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
    let Some(end) = b.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&b[..end]).map_err(std::io::Error::other)?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let (mut len, mut chunked) = (None, false);
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse::<usize>().ok();
            } else if k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
        }
    }
    let rest = &b[end + 4..];
    if chunked {
        let mut body = Vec::new();
        let mut at = 0;
        loop {
            let Some(nl) = rest[at..].windows(2).position(|w| w == b"\r\n") else {
                return Ok(None);
            };
            let size = std::str::from_utf8(&rest[at..at + nl])
                .ok()
                .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                .ok_or_else(|| std::io::Error::other("bad chunk size"))?;
            let data = at + nl + 2;
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
