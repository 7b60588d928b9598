//! The harness of the `keyhaven serve` tests: a server process on a free
//! port with its own data directory, HTTP helpers, and keyhaven's client
//! with an in-process authenticator.
#![allow(dead_code)] // each test file uses part of it

use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
use keyhaven_client::{CallOptions, Client, InProcess};
pub use reqwest::blocking::Client as Http;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub base: String,
    pub origin: String,
    /// The data directory when the server made its own: removed after the
    /// process is stopped (fields drop after `drop`).
    pub _data: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory `keyhaven-NAME-…`, removed when the returned guard drops.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("keyhaven-{name}-"))
        .tempdir()
        .unwrap()
}

/// reqwest is built without a TLS crypto provider of its own (rustls's
/// aws-lc-rs one is the process default): installed once per test process,
/// before any client is built.
pub fn tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

pub fn free_port() -> u16 {
    tls_provider();
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `keyhaven serve` on a free port (rp ID localhost, origin http://localhost:PORT).
pub fn serve(database: Option<&str>, extra: &[&str], origin_port: Option<u16>) -> Server {
    let port = free_port();
    let data = scratch("serve");
    let mut s = serve_in(
        database,
        extra,
        origin_port,
        port,
        data.path(),
        Stdio::inherit(),
        "warn",
    );
    s._data = Some(data);
    s
}

pub fn serve_in(
    database: Option<&str>,
    extra: &[&str],
    origin_port: Option<u16>,
    port: u16,
    dir: &std::path::Path,
    stderr: Stdio,
    log: &str,
) -> Server {
    let origin = format!("http://localhost:{}", origin_port.unwrap_or(port));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyhaven"));
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--origin",
        &origin,
    ])
    .arg("--data-dir")
    .arg(dir)
    .args(extra)
    .env("KEYHAVEN_LOG", log)
    .stdout(Stdio::null())
    .stderr(stderr);
    if let Some(db) = database {
        cmd.args(["--database", db]);
    }
    let child = cmd.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_for(
        Duration::from_secs(30),
        || "serve did not start".into(),
        || {
            reqwest::blocking::get(format!("{base}/healthz"))
                .is_ok_and(|r| r.status().is_success())
                .then_some(())
        },
    );
    Server {
        child,
        base,
        origin,
        _data: None,
    }
}

/// Polls `poll` every 50 ms until it gives a value; panics with `what()`
/// once `limit` has passed.
pub fn wait_for<T>(
    limit: Duration,
    what: impl Fn() -> String,
    mut poll: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = poll() {
            return v;
        }
        assert!(start.elapsed() < limit, "{}", what());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `kill SIG` (e.g. "-TERM", "-HUP") to `child`.
pub fn signal(child: &Child, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap()
            .success(),
        "kill {sig}"
    );
}

pub fn browser() -> Http {
    tls_provider();
    Http::builder().cookie_store(true).build().unwrap()
}

pub fn post(h: &Http, s: &Server, path: &str, body: &Value) -> (u16, Value) {
    let r = h
        .post(format!("{}{path}", s.base))
        .header("Origin", &s.origin)
        .json(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

/// [`post`] as a client at `client` behind a proxy (X-Forwarded-For).
pub fn post_from(h: &Http, s: &Server, client: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = h
        .post(format!("{}{path}", s.base))
        .header("Origin", &s.origin)
        .header("X-Forwarded-For", client)
        .json(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

pub fn get(h: &Http, s: &Server, path: &str) -> (u16, Value) {
    let r = h.get(format!("{}{path}", s.base)).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

pub fn authenticator() -> Client {
    authenticator_uv(true)
}

/// An authenticator that verifies its user (`uv`) or only tests presence.
pub fn authenticator_uv(uv: bool) -> Client {
    authenticator_with(uv, Settings::default())
}

/// An authenticator with these settings (e.g. an AAGUID).
pub fn authenticator_with(uv: bool, settings: Settings) -> Client {
    let a = Authenticator::new(MemoryStore::new(50), AlwaysApprove { uv }, settings).unwrap();
    Client::new(vec![Box::new(InProcess::new(a))])
}

/// A user-verifying authenticator of the provider with this AAGUID.
pub fn authenticator_of(aaguid: &str) -> Client {
    let settings = Settings {
        aaguid: keyhaven_proto::authdata::Aaguid::parse(aaguid).unwrap(),
        ..Default::default()
    };
    authenticator_with(true, settings)
}

/// DELETE `path` as a same-origin request: (status, JSON body).
pub fn delete(h: &Http, s: &Server, path: &str) -> (u16, Value) {
    let r = h
        .delete(format!("{}{path}", s.base))
        .header("Origin", &s.origin)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

/// registration options → client → the RegistrationResponseJSON (not yet sent).
pub fn credential(h: &Http, s: &Server, c: &mut Client, body: Value) -> Value {
    let (st, options) = post(h, s, "/api/registration/options", &body);
    assert_eq!(st, 200, "{options}");
    let options = keyhaven_client::parse_creation_options_from_json(&options.to_string()).unwrap();
    let cred = c.create(&CallOptions::new(&s.origin), &options).unwrap();
    serde_json::from_str(&cred.to_json_string()).unwrap()
}

/// registration options → client → verify; returns the verify answer.
pub fn register(h: &Http, s: &Server, c: &mut Client, body: Value) -> (u16, Value) {
    let cred = credential(h, s, c, body);
    post(h, s, "/api/registration/verify", &cred)
}

/// authentication options → client → the AuthenticationResponseJSON (not yet sent).
pub fn assertion(h: &Http, s: &Server, c: &mut Client, body: Value) -> Value {
    let (st, options) = post(h, s, "/api/authentication/options", &body);
    assert_eq!(st, 200, "{options}");
    let options = keyhaven_client::parse_request_options_from_json(&options.to_string()).unwrap();
    let cred = c.get(&CallOptions::new(&s.origin), &options).unwrap();
    serde_json::from_str(&cred.to_json_string()).unwrap()
}
