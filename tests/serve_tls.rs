//! `keyhaven serve --tls-cert --tls-key`: HTTPS with HTTP/2 and HTTP/1.1 by
//! ALPN, the default origin https://RP_ID:PORT, a whole sign-in over it, the
//! handshake timeout, a certificate reloaded on SIGHUP (and a bad one that is
//! not), and a key that does not match its certificate refused at start.
//! Certificates are made here (rcgen), never checked in.

mod support;
use support::serve::*;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A CA and a certificate for localhost (and 127.0.0.1) it signed: (CA PEM,
/// leaf PEM, leaf key PEM).
fn pki(name: &str) -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, name);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let leaf_pem = leaf
        .signed_by(&key, &Issuer::from_params(&ca, &ca_key))
        .unwrap()
        .pem();
    (ca_pem, leaf_pem, key.serialize_pem())
}

/// A client trusting only `ca_pem`; `http1` forces HTTP/1.1 in ALPN.
fn https_client(ca_pem: &str, http1: bool) -> Http {
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = if http1 {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    let b = Http::builder()
        .use_preconfigured_tls(cfg)
        .cookie_store(true)
        .timeout(Duration::from_secs(10));
    if http1 { b.http1_only() } else { b }.build().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

fn healthz(h: &Http, base: &str) -> Result<reqwest::Version, String> {
    let r = h
        .get(format!("{base}/healthz"))
        .send()
        .map_err(|e| format!("{e:?}"))?;
    if !r.status().is_success() {
        return Err(r.status().to_string());
    }
    Ok(r.version())
}

#[test]
fn https_with_http2_sign_in_and_certificate_reload() {
    let dir = scratch("tls");
    let (ca1, leaf1, key1) = pki("keyhaven test CA 1");
    let cert = write(dir.path(), "cert.pem", &leaf1);
    let key = write(dir.path(), "key.pem", &key1);
    let port = free_port();
    let log = dir.path().join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--rp-id",
            "localhost",
        ])
        .args([
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--header-timeout",
            "1",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("KEYHAVEN_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let h2 = https_client(&ca1, false);
    wait_for(
        Duration::from_secs(30),
        || "serve did not start".into(),
        || healthz(&h2, &base).ok(),
    );
    // HTTP/2 by ALPN, HTTP/1.1 for a client that offers only it.
    assert_eq!(healthz(&h2, &base), Ok(reqwest::Version::HTTP_2));
    assert_eq!(
        healthz(&https_client(&ca1, true), &base),
        Ok(reqwest::Version::HTTP_11)
    );
    let r = h2.get(format!("{base}/")).send().unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !got.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );

    // A whole registration and sign-in over HTTP/2, with the default origin.
    let s = Server {
        child: Command::new("true").spawn().unwrap(),
        base: base.clone(),
        origin: base.clone(),
        _data: None,
    };
    let mut c = authenticator();
    let (st, v) = register(&h2, &s, &mut c, json!({"username": "tls-user"}));
    assert_eq!((st, &v["verified"]), (200, &json!(true)), "{v}");
    assert_eq!(post(&h2, &s, "/api/logout", &json!({})).0, 200);
    let a = assertion(&h2, &s, &mut c, json!({"username": "tls-user"}));
    let r = h2
        .post(format!("{base}/api/authentication/verify"))
        .header("Origin", &base)
        .json(&a)
        .send()
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("__Host-kh_session=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(get(&h2, &s, "/api/me").1["username"], "tls-user");

    // A connection that never starts its handshake is closed after the
    // header timeout (1 s).
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut b = [0u8; 1];
    let n = idle.read(&mut b);
    assert!(
        matches!(n, Ok(0)) || n.is_err() && t.elapsed() < Duration::from_secs(4),
        "{n:?}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "open after {:?}",
        t.elapsed()
    );

    // SIGHUP: a new certificate from another CA is used by new connections.
    let (ca2, leaf2, key2) = pki("keyhaven test CA 2");
    write(dir.path(), "cert.pem", &leaf2);
    write(dir.path(), "key.pem", &key2);
    signal(&child, "-HUP");
    let new_ca = https_client(&ca2, false);
    wait_for(
        Duration::from_secs(10),
        || "the new certificate is not used".into(),
        || healthz(&new_ca, &base).ok(),
    );
    assert!(
        healthz(&https_client(&ca1, false), &base).is_err(),
        "the old certificate is still used"
    );

    // A bad pair (the first key with the second certificate) is refused on
    // SIGHUP: the certificate in use stays, and the log says why.
    write(dir.path(), "key.pem", &key1);
    signal(&child, "-HUP");
    let logged = || std::fs::read_to_string(&log).unwrap();
    wait_for(
        Duration::from_secs(10),
        || format!("no reload failure logged: {}", logged()),
        || {
            logged()
                .contains("TLS certificate reload failed")
                .then_some(())
        },
    );
    assert_eq!(
        healthz(&https_client(&ca2, false), &base),
        Ok(reqwest::Version::HTTP_2)
    );
    let _ = child.kill();
    let _ = child.wait();

    // At start, the same bad pair stops the server: one line, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data2"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("keyhaven: error: TLS: {cert} and {key}: ")),
        "{err}"
    );
    // --tls-cert without --tls-key is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_keyhaven"))
        .args(["serve", "--tls-cert", &cert])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
