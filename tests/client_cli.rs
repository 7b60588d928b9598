//! The client over its other connections: a spawned `keyhaven authenticator
//! serve --stdio`, CTAPHID over `serve --hid-socket` (from the library and from
//! `keyhaven client --hid-socket`), and `keyhaven client create|get` with its
//! exit codes.

use keyhaven_client::hid::HidDevice;
use keyhaven_client::{
    parse_creation_options_from_json, parse_request_options_from_json, CallOptions, Client, Device,
    StdioDevice,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CREATE: &str = r#"{"rp":{"name":"Example","id":"example.org"},"user":{"id":"dXNlcjE","name":"u1","displayName":"U1"},"challenge":"Y2hhbGxlbmdlLWNoYWxsZW5nZQ","pubKeyCredParams":[{"type":"public-key","alg":-7}],"authenticatorSelection":{"residentKey":"required","userVerification":"discouraged"}}"#;
const GET: &str = r#"{"challenge":"YW5vdGhlci1jaGFsbGVuZ2U","rpId":"example.org","userVerification":"discouraged"}"#;
const ORIGIN: &str = "https://example.org";

/// A fresh directory, removed when the returned guard drops.
fn tmp(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("keyhaven-client-{name}-"))
        .tempdir()
        .unwrap()
}

/// create then get on one client; returns the two JSON texts.
fn ceremony(devices: Vec<Box<dyn Device>>) -> (String, String) {
    let mut c = Client::new(devices);
    let reg = c
        .create(
            &CallOptions::new(ORIGIN),
            &parse_creation_options_from_json(CREATE).unwrap(),
        )
        .unwrap();
    let auth = c
        .get(
            &CallOptions::new(ORIGIN),
            &parse_request_options_from_json(GET).unwrap(),
        )
        .unwrap();
    assert_eq!(auth.raw_id, reg.raw_id);
    assert_eq!(
        auth.response.user_handle.as_deref(),
        Some(b"user1".as_slice())
    );
    (reg.to_json_string(), auth.to_json_string())
}

fn serve(args: &[&str], store: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyhaven"));
    cmd.args(["authenticator", "serve", "--presence", "always"])
        .args(args)
        .arg("--store")
        .arg(store)
        .stderr(Stdio::null());
    cmd
}

#[test]
fn over_a_spawned_stdio_authenticator() {
    let scratch = tmp("stdio");
    let dir = scratch.path();
    let dev = StdioDevice::spawn(serve(&["--stdio"], &dir.join("a.khs"))).unwrap();
    let (reg, auth) = ceremony(vec![Box::new(dev)]);
    assert!(
        reg.contains(r#""authenticatorAttachment":"cross-platform""#),
        "{reg}"
    );
    assert!(reg.contains(r#""transports":["usb"]"#), "{reg}");
    assert!(auth.contains(r#""userHandle":"dXNlcjE""#), "{auth}");
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hid_server(dir: &Path) -> (Server, PathBuf) {
    let sock = dir.join("hid.sock");
    let child = serve(
        &["--hid-socket", sock.to_str().unwrap()],
        &dir.join("a.khs"),
    )
    .spawn()
    .unwrap();
    let start = Instant::now();
    while !sock.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "socket never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (Server(child), sock)
}

#[test]
fn over_ctaphid_on_a_unix_socket() {
    let scratch = tmp("hid");
    let dir = scratch.path();
    let (_server, sock) = hid_server(dir);
    let dev = HidDevice::connect_unix(&sock).unwrap();
    let (reg, _) = ceremony(vec![Box::new(dev)]);
    assert!(reg.contains(r#""publicKeyAlgorithm":-7"#), "{reg}");
    // The CLI reaches the same device; the credential made above signs in.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyhaven"));
    cmd.args([
        "client",
        "get",
        "--origin",
        ORIGIN,
        "--options",
        "-",
        "--hid-socket",
    ])
    .arg(&sock);
    let out = with_stdin(&mut cmd, GET.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["response"]["userHandle"], "dXNlcjE");
}

/// Runs `cmd` with `input` on its stdin; collects its output.
fn with_stdin(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut c = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(input).unwrap();
    c.wait_with_output().unwrap()
}

fn cli(args: &[&str], store: &Path, options: &str) -> (i32, String, String) {
    let dir = store.parent().unwrap();
    let file = dir.join("options.json");
    std::fs::write(&file, options).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args(["client"])
        .args(args)
        .arg("--options")
        .arg(&file)
        .arg("--store")
        .arg(store)
        .args(["--presence", "always"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_prints_the_json_and_names_refusals() {
    let scratch = tmp("cli");
    let dir = scratch.path();
    let store = dir.join("a.khs");
    let (code, out, err) = cli(&["create", "--origin", ORIGIN], &store, CREATE);
    assert_eq!(code, 0, "{err}");
    let reg: keyhaven_proto::json::RegistrationResponseJson = serde_json::from_str(&out).unwrap();
    assert_eq!(reg.response.transports, ["internal"]);
    // Members in WebIDL (lexicographic) order, as a browser's JSON.stringify writes them.
    assert!(
        out.starts_with(
            r#"{"authenticatorAttachment":"platform","clientExtensionResults":{},"id":"#
        ),
        "{out}"
    );
    // The same credential again is excluded: InvalidStateError, exit 1, one line.
    let excluded = CREATE.replace(
        r#""authenticatorSelection""#,
        &format!(
            r#""excludeCredentials":[{{"type":"public-key","id":"{}"}}],"authenticatorSelection""#,
            reg.id
        ),
    );
    let (code, _, err) = cli(&["create", "--origin", ORIGIN], &store, &excluded);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
    assert!(err.starts_with("keyhaven: InvalidStateError:"), "{err}");
    let (code, out, err) = cli(&["get", "--origin", ORIGIN], &store, GET);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&reg.id));
    // An origin on another site: SecurityError, exit 1.
    let (code, _, err) = cli(&["get", "--origin", "https://example.net"], &store, GET);
    assert_eq!(code, 1);
    assert!(err.starts_with("keyhaven: SecurityError:"), "{err}");
    // http on a public host: SecurityError.
    let (code, _, err) = cli(&["get", "--origin", "http://example.org"], &store, GET);
    assert!(
        code == 1 && err.starts_with("keyhaven: SecurityError:"),
        "{err}"
    );
    // Malformed options: exit 2, one line.
    for bad in ["", "{", r#"{"challenge":"***"}"#, r#"{"rp":{}}"#, "[1,2]"] {
        let (code, _, err) = cli(&["get", "--origin", ORIGIN], &store, bad);
        assert_eq!((code, err.lines().count()), (2, 1), "{bad:?}: {err}");
    }
    // A PIN from the environment: set one, then UV required works with --pin-env.
    let status = Command::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args(["authenticator", "set-pin", "--pin-env", "KH_PIN", "--store"])
        .arg(&store)
        .env("KH_PIN", "4321")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let required = GET.replace("discouraged", "required");
    let (code, _, err) = cli(&["get", "--origin", ORIGIN], &store, &required);
    assert!(
        code == 1 && err.starts_with("keyhaven: NotAllowedError: PIN"),
        "{err}"
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyhaven"));
    cmd.args([
        "client",
        "get",
        "--origin",
        ORIGIN,
        "--options",
        "-",
        "--presence",
        "always",
        "--pin-env",
        "KH_PIN",
        "--store",
    ])
    .arg(&store)
    .env("KH_PIN", "4321");
    let out = with_stdin(&mut cmd, required.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: keyhaven_proto::json::AuthenticationResponseJson =
        serde_json::from_slice(&out.stdout).unwrap();
    let ad =
        keyhaven_proto::authdata::AuthenticatorData::from_bytes(&v.response.authenticator_data)
            .unwrap();
    assert!(ad.flags.uv(), "UV flag after the PIN");
}
