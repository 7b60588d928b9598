//! TLS to PostgreSQL: the test cluster is switched to TLS with a certificate
//! made here (rcgen), then every `sslmode` is tried against it, and
//! `keyhaven serve` runs on it with `verify-full`.
//!
//! Needs PostgreSQL: ignored by a plain `cargo test`; scripts/test runs it
//! with `--ignored` and `KEYHAVEN_TEST_POSTGRES` set, where it must pass.

mod support;
use support::serve::*;

use keyhaven_server::db::postgres_tls::{PgConnect, SslMode};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

/// The TLS name in the server certificate (reached at 127.0.0.1 via hostaddr).
const DB_NAME: &str = "db.keyhaven.test";

fn ca(cn: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let pem = p.self_signed(&key).unwrap().pem();
    (p, key, pem)
}

/// Turns TLS on in the cluster (reloadable settings), and off again on drop.
struct TlsOn {
    admin: String,
    _files: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl TlsOn {
    /// Runs `;`-separated statements one by one (ALTER SYSTEM refuses the
    /// implicit transaction of a multi-statement batch).
    fn try_sql(&self, q: &str) -> Result<(), String> {
        let admin = self.admin.clone();
        let q = q.to_owned();
        self.rt.block_on(async move {
            let c = PgConnect::from_url(&admin)
                .map_err(|e| e.to_string())?
                .connect()
                .await
                .map_err(|e| e.to_string())?;
            for stmt in q.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                c.batch_execute(stmt)
                    .await
                    .map_err(|e| format!("{stmt}: {e}"))?;
            }
            Ok(())
        })
    }

    fn sql(&self, q: &str) {
        self.try_sql(q).unwrap();
    }
}

impl Drop for TlsOn {
    fn drop(&mut self) {
        let _ = self.try_sql("ALTER SYSTEM RESET ssl; ALTER SYSTEM RESET ssl_cert_file; ALTER SYSTEM RESET ssl_key_file; SELECT pg_reload_conf();");
    }
}

fn with_query(url: &str, host: &str, query: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let port = u.port();
    u.set_host(Some(host)).unwrap();
    u.set_port(port).unwrap();
    u.set_query(Some(query));
    u.to_string()
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test runs it with KEYHAVEN_TEST_POSTGRES set"]
fn every_sslmode_against_a_tls_cluster_and_serve_with_verify_full() {
    let url = std::env::var("KEYHAVEN_TEST_POSTGRES").expect(
        "KEYHAVEN_TEST_POSTGRES must name the PostgreSQL database (scripts/test starts one)",
    );
    let admin = with_query(&url, "127.0.0.1", "sslmode=disable");
    let rt = tokio::runtime::Runtime::new().unwrap();

    // Certificates: a CA and the server's (named DB_NAME only), and a CA
    // that signed nothing here.
    let (ca_params, ca_key, ca_pem) = ca("keyhaven test PostgreSQL CA");
    let (_, _, other_ca_pem) = ca("keyhaven unrelated CA");
    let server_key = KeyPair::generate().unwrap();
    let mut sp = CertificateParams::new(vec![DB_NAME.to_owned()]).unwrap();
    sp.distinguished_name.push(DnType::CommonName, DB_NAME);
    let server_pem = sp
        .signed_by(&server_key, &Issuer::from_params(&ca_params, &ca_key))
        .unwrap()
        .pem();
    let files = tempfile::Builder::new()
        .prefix("keyhaven-pgtls-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(files.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (crt, key, root, other_root) = (
        files.path().join("server.crt"),
        files.path().join("server.key"),
        files.path().join("root.crt"),
        files.path().join("other-root.crt"),
    );
    std::fs::write(&crt, &server_pem).unwrap();
    std::fs::write(&key, server_key.serialize_pem()).unwrap();
    std::fs::write(&root, &ca_pem).unwrap();
    std::fs::write(&other_root, &other_ca_pem).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    // The server's files belong to the cluster's owner (it refuses a key
    // others can read).
    let data_dir: String = rt.block_on(async {
        let c = PgConnect::from_url(&admin)
            .unwrap()
            .connect()
            .await
            .unwrap();
        c.query_one("SHOW data_directory", &[])
            .await
            .unwrap()
            .get(0)
    });
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&data_dir).unwrap());
    for f in [&crt, &key] {
        std::os::unix::fs::chown(f, Some(owner), None).unwrap();
    }
    let tls = TlsOn {
        admin: admin.clone(),
        _files: files,
        rt,
    };
    tls.sql(&format!(
        "ALTER SYSTEM SET ssl_cert_file = '{}'; ALTER SYSTEM SET ssl_key_file = '{}'; ALTER SYSTEM SET ssl = on; SELECT pg_reload_conf();",
        crt.display(),
        key.display()
    ));
    std::thread::sleep(std::time::Duration::from_millis(500));

    // (host, query) → whether the session is encrypted, or the error.
    let attempt = |host: &str, query: &str| -> Result<bool, String> {
        let u = with_query(&url, host, query);
        tls.rt.block_on(async move {
            let c = PgConnect::from_url(&u).map_err(|e| e.to_string())?;
            let client = c.connect().await.map_err(|e| e.to_string())?;
            let row = client
                .query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(row.get::<_, bool>(0))
        })
    };
    let root_q =
        |mode: &str, r: &std::path::Path| format!("sslmode={mode}&sslrootcert={}", r.display());
    let by_name = "hostaddr=127.0.0.1&";
    // Encrypted or not.
    assert_eq!(attempt("127.0.0.1", "sslmode=disable"), Ok(false));
    assert_eq!(attempt("127.0.0.1", "sslmode=prefer"), Ok(true));
    assert_eq!(
        attempt("127.0.0.1", ""),
        Ok(true),
        "loopback default: prefer"
    );
    assert_eq!(
        attempt("127.0.0.1", "sslmode=require"),
        Ok(true),
        "no check"
    );
    // verify-full: the right root and the right name.
    let full = format!("{by_name}{}", root_q("verify-full", &root));
    assert_eq!(attempt(DB_NAME, &full), Ok(true));
    // The name the client dialled is not in the certificate.
    let e = attempt("127.0.0.1", &root_q("verify-full", &root)).unwrap_err();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    // verify-ca: the chain only.
    assert_eq!(attempt("127.0.0.1", &root_q("verify-ca", &root)), Ok(true));
    // Another root: refused by verify-ca, verify-full, and require with a
    // root file (libpq: then it verifies like verify-ca).
    for mode in ["verify-ca", "verify-full", "require"] {
        let q = format!("{by_name}{}", root_q(mode, &other_root));
        let e = attempt(DB_NAME, &q).unwrap_err();
        assert!(e.to_lowercase().contains("certificate"), "{mode}: {e}");
    }
    // A remote name without sslmode is verify-full (platform roots do not
    // know this CA).
    let e = attempt(DB_NAME, "hostaddr=127.0.0.1").unwrap_err();
    assert!(
        e.to_lowercase().contains("certificate"),
        "default for a remote host: {e}"
    );
    assert_eq!(
        PgConnect::from_url(&with_query(&url, DB_NAME, ""))
            .unwrap()
            .mode,
        SslMode::VerifyFull
    );

    // keyhaven serve on it with verify-full: registers and signs in.
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let s = serve_in(
        Some(&with_query(&url, DB_NAME, &full)),
        &["--no-rate-limit"],
        None,
        port,
        data.path(),
        Stdio::inherit(),
        "warn",
    );
    let h = browser();
    let mut c = authenticator();
    let user = format!("tls{port}");
    let (st, body) = register(&h, &s, &mut c, serde_json::json!({"username": user}));
    assert_eq!(st, 200, "{body}");
    let a = assertion(
        &browser(),
        &s,
        &mut c,
        serde_json::json!({"username": user}),
    );
    let (st, body) = post(&browser(), &s, "/api/authentication/verify", &a);
    assert_eq!(st, 200, "{body}");
    drop(s);
    drop(tls);
}
