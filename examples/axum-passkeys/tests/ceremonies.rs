//! The example app as its users run it: the binary on a port, its four
//! routes driven by keyhaven's WebAuthn client with an in-process software
//! authenticator, as a browser would: sign-up, sign-in by username and
//! without one, and the refusals (a used ceremony, a taken username, another
//! origin, an unknown passkey).

use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
use keyhaven_client::{CallOptions, Client, InProcess};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct App(Child, String);
impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the example on a free port; it prints "listening on ADDR" when ready.
fn start() -> (App, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let origin = format!("http://localhost:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_axum-passkeys"))
        .env("LISTEN", format!("127.0.0.1:{port}"))
        .env("ORIGIN", &origin)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), format!("listening on 127.0.0.1:{port}"));
    (App(child, format!("127.0.0.1:{port}")), origin)
}

/// POST `body` as JSON over HTTP/1.1: (status, JSON answer). By hand on a
/// TcpStream: in a workspace build, reqwest carries the root package's
/// no-crypto-provider TLS feature and a default client panics without one,
/// and this test has no TLS to set up.
fn post(app: &App, path: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut s = TcpStream::connect(&app.1).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        app.1,
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let json = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

fn client() -> Client {
    let a =
        Authenticator::new(MemoryStore::new(10), AlwaysApprove { uv: true }, Settings::default()).unwrap();
    Client::new(vec![Box::new(InProcess::new(a))])
}

fn sign_up(app: &App, c: &mut Client, origin: &str, username: &str) -> (u16, Value) {
    let (st, o) = post(app, "/register/options", &json!({ "username": username }));
    assert_eq!(st, 200, "{o}");
    let options = keyhaven_client::parse_creation_options_from_json(&o["publicKey"].to_string()).unwrap();
    let cred = c.create(&CallOptions::new(origin), &options).unwrap();
    let credential: Value = serde_json::from_str(&cred.to_json_string()).unwrap();
    post(app, "/register/verify", &json!({ "ceremony": o["ceremony"], "credential": credential }))
}

/// Options for `body`, answered by the client: (ceremony, credential).
fn assertion(app: &App, c: &mut Client, origin: &str, body: Value) -> (Value, Value) {
    let (st, o) = post(app, "/login/options", &body);
    assert_eq!(st, 200, "{o}");
    let options = keyhaven_client::parse_request_options_from_json(&o["publicKey"].to_string()).unwrap();
    let cred = c.get(&CallOptions::new(origin), &options).unwrap();
    (o["ceremony"].clone(), serde_json::from_str(&cred.to_json_string()).unwrap())
}

#[test]
fn sign_up_sign_in_and_refusals() {
    let (app, origin) = start();
    let mut alice = client();
    assert_eq!(sign_up(&app, &mut alice, &origin, "alice"), (200, json!({ "registered": "alice" })));
    // The username is taken now.
    let (st, v) = post(&app, "/register/options", &json!({ "username": "alice" }));
    assert_eq!((st, &v["error"]), (400, &json!("this username is taken")));

    // Sign in by username, then without one (a discoverable passkey), twice:
    // the stored counter moves on each time.
    for body in [json!({ "username": "alice" }), json!({}), json!({})] {
        let (ceremony, credential) = assertion(&app, &mut alice, &origin, body);
        let finish = json!({ "ceremony": ceremony, "credential": credential });
        assert_eq!(post(&app, "/login/verify", &finish), (200, json!({ "signedIn": "alice" })));
        // The same answer again: its ceremony is used up.
        let (st, v) = post(&app, "/login/verify", &finish);
        assert_eq!((st, &v["error"]), (400, &json!("unknown or used ceremony")));
    }

    // Another origin: refused by keyhaven-rp (L3 §7.2 step 11).
    let (ceremony, credential) = assertion(&app, &mut alice, "http://localhost:1", json!({}));
    let (st, v) = post(&app, "/login/verify", &json!({ "ceremony": ceremony, "credential": credential }));
    assert_eq!(st, 400);
    assert!(v["error"].as_str().unwrap().contains("origin"), "{v}");

    // A credential ID the app never registered: refused (L3 §7.2 step 6).
    let (ceremony, mut credential) = assertion(&app, &mut alice, &origin, json!({}));
    credential["id"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    credential["rawId"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    let (st, v) = post(&app, "/login/verify", &json!({ "ceremony": ceremony, "credential": credential }));
    assert_eq!(st, 400, "{v}");

    // A second user signs up; usernameless sign-in tells the two apart.
    let mut bob = client();
    assert_eq!(sign_up(&app, &mut bob, &origin, "bob").0, 200);
    let (ceremony, credential) = assertion(&app, &mut bob, &origin, json!({}));
    let finish = json!({ "ceremony": ceremony, "credential": credential });
    assert_eq!(post(&app, "/login/verify", &finish), (200, json!({ "signedIn": "bob" })));
}

/// docs/integrate.md shows this example's code: each of its Rust blocks is
/// in src/main.rs word for word, so the guide cannot drift from code that runs.
#[test]
fn the_guide_quotes_the_example() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(dir.join("../../docs/integrate.md")).unwrap();
    let main = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
    let blocks: Vec<&str> =
        guide.split("```rust\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    assert_eq!(blocks.len(), 7, "the guide's Rust blocks");
    for b in blocks {
        assert!(main.contains(b), "not in src/main.rs:\n{b}");
    }
}
