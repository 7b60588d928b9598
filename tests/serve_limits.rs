//! `keyhaven serve` against hostile clients: connections that send nothing,
//! half a request head or half a body, more connections than the limit, and
//! SIGTERM while such clients hold connections open.

mod support;
use support::serve::*;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Waits until the server closes `c` (EOF or reset), answering what it sent
/// before closing; panics after `limit`.
fn closed_within(c: &mut TcpStream, limit: Duration, what: &str) -> (Duration, String) {
    let start = Instant::now();
    c.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("{what}: still open after {limit:?} ({e})"),
        }
        assert!(
            start.elapsed() < limit,
            "{what}: still open after {limit:?}"
        );
    }
    (start.elapsed(), String::from_utf8_lossy(&got).into_owned())
}

fn connect(s: &Server) -> TcpStream {
    TcpStream::connect(s.base.trim_start_matches("http://")).unwrap()
}

/// GET /healthz on a new connection: its status line.
fn healthz(s: &Server) -> String {
    let mut c = connect(s);
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    answer.lines().next().unwrap_or("").to_owned()
}

const LIMITS: &[&str] = &[
    "--header-timeout",
    "1",
    "--request-timeout",
    "2",
    "--max-connections",
    "16",
    "--shutdown-timeout",
    "2",
];

#[test]
fn idle_and_half_sent_connections_are_closed_on_time() {
    let s = serve(None, LIMITS, None);

    // Nothing sent: closed after the header timeout (1 s).
    let mut idle = connect(&s);
    let (t, _) = closed_within(&mut idle, Duration::from_secs(4), "an idle connection");
    assert!(t >= Duration::from_millis(800), "closed too early: {t:?}");

    // Half a request head, then nothing.
    let mut half = connect(&s);
    half.write_all(b"POST /api/authentication/options HTTP/1.1\r\nHost: x\r\nContent-")
        .unwrap();
    closed_within(&mut half, Duration::from_secs(4), "a half-sent head");

    // A head trickled one byte every 300 ms never completes within the timeout.
    let mut slow = connect(&s);
    let start = Instant::now();
    let mut cut = false;
    for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
        if slow.write_all(&[*b]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        if start.elapsed() > Duration::from_secs(6) {
            break;
        }
    }
    if !cut {
        closed_within(&mut slow, Duration::from_secs(4), "a trickled head");
    }
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "a trickled head was let through"
    );

    // A whole head and half the body: 408 after the request timeout (2 s).
    let mut body = connect(&s);
    body.write_all(
        format!(
            "POST /api/authentication/options HTTP/1.1\r\nHost: x\r\nOrigin: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user",
            s.origin
        )
        .as_bytes(),
    )
    .unwrap();
    let (t, answer) = closed_within(&mut body, Duration::from_secs(6), "a half-sent body");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        t >= Duration::from_millis(1800),
        "answered too early: {t:?}"
    );

    // A kept-alive connection that goes quiet after one request is closed too.
    let mut keep = connect(&s);
    keep.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    keep.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    closed_within(
        &mut keep,
        Duration::from_secs(4),
        "an idle kept-alive connection",
    );

    assert_eq!(healthz(&s), "HTTP/1.1 200 OK");
}

/// GET /metrics from the separate metrics address (whose connections do not
/// count against the limit of the main listener): the body.
fn metrics(addr: &str) -> String {
    // The metrics listener may start a moment after the main one.
    let mut c = wait_for(
        Duration::from_secs(10),
        || format!("{addr}: {:?}", TcpStream::connect(addr).err()),
        || TcpStream::connect(addr).ok(),
    );
    c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    closed_within(&mut c, Duration::from_secs(5), "/metrics").1
}

/// Waits until the main listener counts no open connection (the start-up
/// probe's may still hold a slot on a busy machine).
fn wait_until_idle(addr: &str) {
    wait_for(
        Duration::from_secs(10),
        || "connections still open".into(),
        || {
            metrics(addr)
                .contains("\nkeyhaven_connections_open 0\n")
                .then_some(())
        },
    );
}

#[test]
fn connections_over_the_limit_are_closed_and_the_server_recovers() {
    // A header timeout (3 s) well beyond the time 40 connects take on a busy
    // machine, so that only the connections over the limit are closed when
    // they are counted. /metrics on its own address, so that asking for it
    // takes none of the 16 slots.
    let port = free_port();
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let mut limits = LIMITS.to_vec();
    limits[1] = "3";
    limits.extend(["--metrics-listen", &metrics_addr]);
    let dir = tempfile::tempdir().unwrap();
    let s = serve_in(
        None,
        &limits,
        None,
        port,
        dir.path(),
        std::process::Stdio::inherit(),
        "warn",
    );
    wait_until_idle(&metrics_addr);
    // 40 silent connections against a limit of 16: 24 closed at once.
    let opened = Instant::now();
    let mut held: Vec<TcpStream> = (0..40).map(|_| connect(&s)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut closed_at_once = 0;
    for c in &mut held {
        c.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        match c.read(&mut b) {
            Ok(0) => closed_at_once += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed_at_once += 1,
            _ => {}
        }
        c.set_nonblocking(false).unwrap();
    }
    assert!(
        opened.elapsed() < Duration::from_millis(2500),
        "counting took {:?}: the held connections may have timed out",
        opened.elapsed()
    );
    assert_eq!(closed_at_once, 24, "connections over the limit of 16");
    // The 16 held ones time out (3 s), then the server answers again.
    let start = Instant::now();
    let mut misses = 0;
    loop {
        if healthz(&s) == "HTTP/1.1 200 OK" {
            break;
        }
        // Refused too: every slot is held.
        misses += 1;
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "/healthz unanswered while idle connections were held"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = metrics(&metrics_addr);
    assert!(misses > 0, "the 16 held connections did not fill the limit");
    let refused = format!("keyhaven_connections_refused_total {}\n", 24 + misses);
    assert!(metrics.contains(&refused), "want {refused}: {metrics}");
}

#[test]
fn sigterm_stops_the_server_within_the_bound_while_clients_hold_connections() {
    // A long header timeout, so only the shutdown bound can end these.
    let mut s = serve(
        None,
        &[
            "--header-timeout",
            "60",
            "--request-timeout",
            "60",
            "--shutdown-timeout",
            "2",
        ],
        None,
    );
    let mut half_head = connect(&s);
    half_head
        .write_all(b"POST /api/authentication/options HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut half_body = connect(&s);
    half_body
        .write_all(
            format!(
                "POST /api/authentication/options HTTP/1.1\r\nHost: x\r\nOrigin: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
                s.origin
            )
            .as_bytes(),
        )
        .unwrap();
    let _idle = connect(&s);
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    signal(&s.child, "-TERM");
    let status = wait_for(
        Duration::from_secs(6),
        || {
            format!(
                "serve still running {:?} after SIGTERM with a 2 s shutdown bound",
                start.elapsed()
            )
        },
        || s.child.try_wait().unwrap(),
    );
    assert!(status.success(), "exit status {status}");
    // The held connections are closed with it.
    closed_within(
        &mut half_head,
        Duration::from_secs(2),
        "half head after exit",
    );
    closed_within(
        &mut half_body,
        Duration::from_secs(2),
        "half body after exit",
    );
}

/// Rate limits by client address behind a trusted proxy, IPv6 by /64, and the
/// headers ignored from anyone else.
#[test]
fn rate_limits_key_on_the_client_behind_a_trusted_proxy() {
    use serde_json::json;
    let h = browser();
    let opts = "/api/authentication/options";
    let s = serve(
        None,
        &[
            "--ip-burst",
            "3",
            "--ip-per-minute",
            "1",
            "--trusted-proxy",
            "127.0.0.1/32",
        ],
        None,
    );
    let codes = |client: &str, n: usize| -> Vec<u16> {
        (0..n)
            .map(|_| post_from(&h, &s, client, opts, &json!({})).0)
            .collect()
    };
    assert_eq!(codes("198.51.100.1", 4), [200, 200, 200, 429]);
    assert_eq!(codes("198.51.100.2", 3), [200, 200, 200], "another visitor");
    // The client wrote an X-Forwarded-For itself: the proxy appended the real one.
    assert_eq!(codes("203.0.113.50, 198.51.100.1", 1), [429]);
    // IPv6: one /64 is one client.
    assert_eq!(codes("2001:db8:0:1::1", 2), [200, 200]);
    assert_eq!(codes("2001:db8:0:1::ffff", 2), [200, 429]);
    assert_eq!(codes("2001:db8:0:2::1", 1), [200]);

    // Not a trusted proxy: the header is ignored, every "client" is the peer.
    let s = serve(None, &["--ip-burst", "3", "--ip-per-minute", "1"], None);
    let codes: Vec<u16> = (0..5)
        .map(|i| post_from(&h, &s, &format!("198.51.100.{i}"), opts, &json!({})).0)
        .collect();
    assert_eq!(codes, [200, 200, 200, 429, 429]);
}

/// Nobody can lock an account out: registration options naming it are not
/// charged to it, and failed sign-ins from one address do not spend another's.
#[test]
fn a_user_cannot_be_locked_out_by_others() {
    use serde_json::json;
    let s = serve(
        None,
        &[
            "--user-burst",
            "3",
            "--user-per-minute",
            "1",
            "--trusted-proxy",
            "127.0.0.1/32",
        ],
        None,
    );
    let owner = "192.0.2.10";
    let attacker = "203.0.113.66";
    let h = browser();
    let mut c = authenticator();
    let user = format!("victim{}", free_port());
    let cred = credential(&h, &s, &mut c, json!({"username": user}));
    let (st, _) = post_from(&h, &s, owner, "/api/registration/verify", &cred);
    assert_eq!(st, 200);
    let _ = post(&h, &s, "/api/logout", &json!({}));
    let other = browser();
    // 40 registration attempts naming the account: 409 each, never 429.
    for i in 0..40 {
        let (st, _) = post_from(
            &other,
            &s,
            attacker,
            "/api/registration/options",
            &json!({"username": user}),
        );
        assert_eq!(st, 409, "call {i}");
    }
    // The attacker replays a real assertion with a broken signature: refused,
    // then rate limited after 3 attempts.
    let mut bad = assertion(&h, &s, &mut c, json!({"username": user}));
    // A flipped bit in the signature's last byte (the text's last characters
    // could already be what a textual edit writes).
    let mut sig =
        keyhaven_proto::b64::decode(bad["response"]["signature"].as_str().unwrap()).unwrap();
    *sig.last_mut().unwrap() ^= 1;
    bad["response"]["signature"] = json!(keyhaven_proto::b64::encode(&sig));
    let codes: Vec<u16> = (0..5)
        .map(|_| post_from(&other, &s, attacker, "/api/authentication/verify", &bad).0)
        .collect();
    assert_eq!(codes, [400, 400, 400, 429, 429]);
    // The owner, from their own address, signs in.
    let good = assertion(&h, &s, &mut c, json!({"username": user}));
    let (st, body) = post_from(&h, &s, owner, "/api/authentication/verify", &good);
    assert_eq!(st, 200, "{body}");
}

/// New accounts per address are limited (each stores a challenge and, once
/// verified, an account).
#[test]
fn account_creation_is_limited_per_address() {
    use serde_json::json;
    let s = serve(
        None,
        &[
            "--signup-burst",
            "3",
            "--signup-per-hour",
            "1",
            "--trusted-proxy",
            "127.0.0.1/32",
        ],
        None,
    );
    let h = browser();
    let new = |client: &str, i: usize| {
        post_from(
            &h,
            &s,
            client,
            "/api/registration/options",
            &json!({"username": format!("new{i}x{}", s.base.len())}),
        )
        .0
    };
    let codes: Vec<u16> = (0..5).map(|i| new("198.51.100.7", i)).collect();
    assert_eq!(codes, [200, 200, 200, 429, 429]);
    assert_eq!(new("198.51.100.8", 9), 200, "another address");
}
