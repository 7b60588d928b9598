//! `keyhaven serve` on a disk that fills up and is freed again: writes fail
//! with 503 and `/healthz` says why, reads and sessions keep working, and the
//! writer recovers once there is room, without a restart.
//!
//! It needs to mount a small tmpfs (root): ignored by a plain `cargo test`;
//! scripts/test runs it with `--ignored`, where a failed mount fails it.

mod support;
use support::serve::*;

use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::Builder::new()
            .prefix("keyhaven-smalldisk-")
            .tempdir()
            .unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "cannot mount a tmpfs (this test needs root): {status}"
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Fills the file system with `filler`: 64 KiB writes, then single
    /// bytes, until it is full.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        for chunk in [65_536usize, 4096, 1] {
            let block = vec![0x5a; chunk];
            while f.write_all(&block).and_then(|()| f.sync_data()).is_ok() {}
        }
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg(self.dir.path())
            .stderr(Stdio::null())
            .status();
    }
}

fn healthz(h: &Http, s: &Server) -> (u16, serde_json::Value) {
    get(h, s, "/healthz")
}

#[test]
#[ignore = "mounts a tmpfs (root): scripts/test runs it"]
fn a_full_disk_fails_writes_reports_unhealthy_and_recovers_when_freed() {
    let disk = SmallDisk::mount("6m");
    let data = disk.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let log_path = disk.dir.path().with_extension("log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = free_port();
    let s = serve_in(
        None,
        &["--no-rate-limit"],
        None,
        port,
        &data,
        Stdio::from(log),
        "warn",
    );
    let h = browser();
    let mut c = authenticator();
    let user = format!("disk{port}");
    assert_eq!(register(&h, &s, &mut c, json!({"username": user})).0, 200);
    assert_eq!(get(&h, &s, "/api/me").0, 200);

    // Fill the disk, then write until a write fails (the WAL may first reuse
    // space it already has).
    let filler = disk.fill();
    let other = browser();
    let mut first_failure = None;
    for i in 0..5000 {
        let (st, body) = post(
            &other,
            &s,
            "/api/registration/options",
            &json!({"username": format!("fill{i}")}),
        );
        match st {
            200 => continue,
            503 => {
                first_failure = Some((i, body));
                break;
            }
            other => panic!("call {i}: HTTP {other}: {body}"),
        }
    }
    let (calls, body) = first_failure.expect("no write failed on a full disk");
    assert_eq!(
        body["error"], "storage is unavailable",
        "after {calls} calls"
    );

    // While full: unhealthy with the reason; writes 503; reads and the
    // existing session work.
    let (st, health) = healthz(&h, &s);
    assert_eq!(st, 503, "{health}");
    let reason = health["reason"].as_str().unwrap_or_default().to_owned();
    assert!(reason.contains("full"), "{health}");
    for _ in 0..3 {
        let (st, _) = post(&other, &s, "/api/authentication/options", &json!({}));
        assert_eq!(st, 503);
    }
    let (st, me) = get(&h, &s, "/api/me");
    assert_eq!(st, 200, "the session still works: {me}");
    assert_eq!(me["username"], user);

    // Room again: healthy without a restart, and every kind of write works.
    std::fs::remove_file(&filler).unwrap();
    let start = Instant::now();
    loop {
        let (st, health) = healthz(&h, &s);
        if st == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still unhealthy after the disk was freed: {health}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut c2 = authenticator();
    let (st, body) = register(
        &browser(),
        &s,
        &mut c2,
        json!({"username": format!("{user}b")}),
    );
    assert_eq!(st, 200, "{body}");
    let fresh = browser();
    let a = assertion(&fresh, &s, &mut c, json!({"username": user}));
    let (st, body) = post(&fresh, &s, "/api/authentication/verify", &a);
    assert_eq!(st, 200, "{body}");

    // The log named the database's error.
    drop(s);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(log.contains("database or disk is full"), "{log}");
    assert!(log.contains("SQLite writes work again"), "{log}");
}
