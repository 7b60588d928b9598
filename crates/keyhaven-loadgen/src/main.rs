//! keyhaven-loadgen: a load generator for the login API of `keyhaven serve`
//! (and of any server with the same four ceremony routes, such as the
//! @simplewebauthn/server baseline in `benches/baseline-node`).
//!
//! 1. registers `--users` accounts through keyhaven's WebAuthn client and
//!    software authenticator (options → create → verify);
//! 2. for each connection count, pre-computes `--logins` valid assertions
//!    (options → sign), users taken round-robin so one credential's counters
//!    arrive in order;
//! 3. sends them to `/api/authentication/verify` over keep-alive connections
//!    and reports verified logins per second and p50/p99 latency.
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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    target: SocketAddr,
    origin: String,
    users: usize,
    logins: usize,
    connections: Vec<usize>,
    max_seconds: u64,
    label: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: keyhaven-loadgen --target 127.0.0.1:PORT --origin http://localhost:PORT \
         [--users 10000] [--logins 20000] [--connections 32,64,128] [--max-seconds 60] [--label NAME]"
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
            _ => usage(),
        }
    }
    if !a.target.ip().is_loopback() {
        eprintln!("keyhaven-loadgen: error: loopback targets only");
        std::process::exit(2);
    }
    if a.origin.is_empty() {
        a.origin = format!("http://localhost:{}", a.target.port());
    }
    a
}

/// A keep-alive HTTP/1.1 connection with just enough parsing for JSON answers.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(target: SocketAddr) -> std::io::Result<Self> {
        let s = TcpStream::connect(target)?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, s.try_clone()?),
            writer: s,
        })
    }

    fn send(&mut self, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        self.writer.write_all(request)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let (mut len, mut chunked) = (None, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                if k == "content-length" {
                    len = v.trim().parse::<usize>().ok();
                } else if k == "transfer-encoding" && v.trim().eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let n = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| std::io::Error::other("bad chunk size"))?;
                let mut chunk = vec![0; n + 2];
                self.reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else if let Some(n) = len {
            body.resize(n, 0);
            self.reader.read_exact(&mut body)?;
        }
        Ok((status, body))
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

fn main() {
    let a = args();
    let auth = Authenticator::new(
        MemoryStore::new(a.users + 16),
        AlwaysApprove { uv: true },
        Settings::default(),
    )
    .unwrap_or_else(|e| fail(&e.to_string()));
    let mut client = Client::new(vec![Box::new(InProcess::new(auth))]);
    let call = CallOptions::new(&a.origin);
    let mut conn = Conn::open(a.target).unwrap_or_else(|e| fail(&format!("{}: {e}", a.target)));
    let run = std::process::id();

    // 1. Accounts.
    let t = Instant::now();
    let names: Vec<String> = (0..a.users).map(|i| format!("lg{run}u{i}")).collect();
    for name in &names {
        let o = post_json(
            &a,
            &mut conn,
            "/api/registration/options",
            &format!(r#"{{"username":"{name}"}}"#),
        );
        let options = parse_creation_options_from_json(&o.to_string())
            .unwrap_or_else(|e| fail(&e.to_string()));
        let cred = client
            .create(&call, &options)
            .unwrap_or_else(|e| fail(&e.to_string()));
        post_json(
            &a,
            &mut conn,
            "/api/registration/verify",
            &cred.to_json_string(),
        );
    }
    eprintln!(
        "[{}] registered {} users in {:.1} s",
        a.label,
        a.users,
        t.elapsed().as_secs_f64()
    );

    println!("| target | connections | verified logins/s | p50 | p99 | failed |");
    println!("|---|---|---|---|---|---|");
    for &c in &a.connections {
        // 2. Assertions, computed before the clock starts.
        let t = Instant::now();
        let mut bodies = Vec::with_capacity(a.logins);
        for i in 0..a.logins {
            let name = &names[i % names.len()];
            let o = post_json(
                &a,
                &mut conn,
                "/api/authentication/options",
                &format!(r#"{{"username":"{name}"}}"#),
            );
            let options = parse_request_options_from_json(&o.to_string())
                .unwrap_or_else(|e| fail(&e.to_string()));
            let cred = client
                .get(&call, &options)
                .unwrap_or_else(|e| fail(&e.to_string()));
            bodies.push(request(
                &a,
                "/api/authentication/verify",
                &cred.to_json_string(),
            ));
        }
        eprintln!(
            "[{}] pre-computed {} assertions in {:.1} s",
            a.label,
            a.logins,
            t.elapsed().as_secs_f64()
        );
        // 3. The measured run.
        let bodies = Arc::new(bodies);
        let next = Arc::new(AtomicUsize::new(0));
        let ok = Arc::new(AtomicUsize::new(0));
        let bad = Arc::new(AtomicUsize::new(0));
        let latencies = Arc::new(Mutex::new(Vec::with_capacity(a.logins)));
        let deadline = Instant::now() + Duration::from_secs(a.max_seconds);
        let start = Instant::now();
        let threads: Vec<_> = (0..c)
            .map(|_| {
                let (bodies, next, ok, bad, latencies) = (
                    bodies.clone(),
                    next.clone(),
                    ok.clone(),
                    bad.clone(),
                    latencies.clone(),
                );
                let target = a.target;
                std::thread::spawn(move || {
                    let mut conn = match Conn::open(target) {
                        Ok(c) => c,
                        Err(_) => return,
                    };
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= bodies.len() || Instant::now() > deadline {
                            break;
                        }
                        let t = Instant::now();
                        match conn.send(&bodies[i]) {
                            Ok((200, _)) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok((status, body)) => {
                                if bad.fetch_add(1, Ordering::Relaxed) < 3 {
                                    eprintln!(
                                        "refused: HTTP {status}: {}",
                                        String::from_utf8_lossy(&body)
                                    );
                                }
                            }
                            Err(_) => {
                                bad.fetch_add(1, Ordering::Relaxed);
                                match Conn::open(target) {
                                    Ok(c) => conn = c,
                                    Err(_) => break,
                                }
                            }
                        }
                        mine.push(t.elapsed());
                    }
                    if let Ok(mut l) = latencies.lock() {
                        l.extend(mine);
                    }
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
        let elapsed = start.elapsed().as_secs_f64();
        let mut l = latencies.lock().map(|l| l.clone()).unwrap_or_default();
        l.sort();
        let ok = ok.load(Ordering::Relaxed);
        println!(
            "| {} | {c} | {:.0} | {:.2} ms | {:.2} ms | {} |",
            a.label,
            ok as f64 / elapsed,
            percentile(&l, 0.50).as_secs_f64() * 1e3,
            percentile(&l, 0.99).as_secs_f64() * 1e3,
            bad.load(Ordering::Relaxed)
        );
    }
}
