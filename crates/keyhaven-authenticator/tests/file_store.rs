//! The persistent store: round trips, encryption at rest, key handling, torn
//! tails, `kill -9` at arbitrary moments during thousands of writes, and power
//! losses on a simulated disk that forgets every byte that was not synced.

use keyhaven_authenticator::file_store::{FileStore, LogFile, MasterKey};
use keyhaven_authenticator::store::StoreError;
use keyhaven_authenticator::{CredentialStore, StoredCredential};
use keyhaven_crypto::mac::Argon2Params;
use keyhaven_crypto::SecretBytes;
use keyhaven_proto::ctap2::types::UserEntity;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A fresh directory, removed when the returned guard drops.
fn dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("keyhaven-store-{name}-"))
        .tempdir()
        .unwrap()
}

fn cred(n: u32) -> StoredCredential {
    StoredCredential {
        id: format!("credential-{n}").into_bytes(),
        rp_id: "example.org".into(),
        rp_id_hash: keyhaven_crypto::digest::sha256(b"example.org"),
        user: UserEntity {
            id: n.to_be_bytes().to_vec(),
            name: Some(format!("secret-user-name-{n}")),
            display_name: None,
        },
        alg: -7,
        private_key: SecretBytes::new(vec![0xA5; 40]),
        sign_count: 0,
        discoverable: true,
        cred_protect: 2,
        cred_random: Some((SecretBytes::new(vec![1; 32]), SecretBytes::new(vec![2; 32]))),
        cred_blob: Some(b"blob".to_vec()),
        large_blob_key: Some(SecretBytes::new(vec![3; 32])),
        third_party_payment: n % 2 == 0,
        created: u64::from(n),
        fixed_counter: n % 3 == 0,
    }
}

fn key_file(d: &Path) -> MasterKey {
    MasterKey::KeyFile(d.join("store.key"))
}

#[test]
fn round_trip_encrypted_and_keyed() {
    use std::os::unix::fs::PermissionsExt;
    let d_dir = dir("roundtrip");
    let d = d_dir.path();
    let path = d.join("store.khs");
    {
        let mut s = FileStore::open(&path, &key_file(d), 100).unwrap();
        for n in 0..5 {
            s.put(cred(n)).unwrap();
        }
        s.set_sign_count(b"credential-1", 7).unwrap();
        assert!(s.delete(b"credential-2").unwrap());
        assert!(!s.delete(b"credential-2").unwrap());
    }
    let mode = std::fs::metadata(d.join("store.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "key file created with mode 0600");
    let s = FileStore::open(&path, &key_file(d), 100).unwrap();
    assert_eq!(s.all().unwrap().len(), 4);
    let c1 = s.get(b"credential-1").unwrap().unwrap();
    assert_eq!(c1.sign_count, 7);
    assert_eq!(c1.user.name.as_deref(), Some("secret-user-name-1"));
    assert_eq!(c1.cred_random.as_ref().unwrap().1.expose(), [2; 32]);
    // A fixed (zero) counter survives the reopen; a counting one stays counting.
    assert!(s.get(b"credential-3").unwrap().unwrap().fixed_counter);
    assert!(!c1.fixed_counter);
    assert_eq!(s.remaining_discoverable(), 96);
    // Nothing secret is in the file in the clear.
    let raw = std::fs::read(&path).unwrap();
    assert!(
        !raw.windows(16).any(|w| w == b"secret-user-name"),
        "user names are encrypted"
    );
    assert!(
        !raw.windows(8).any(|w| w == [0xA5; 8]),
        "private keys are encrypted"
    );
    // Another key is refused; a group-readable key file is refused.
    let other_dir = dir("roundtrip-other");
    let other = other_dir.path();
    assert!(FileStore::open(&path, &key_file(other), 100).is_err());
    std::fs::set_permissions(d.join("store.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = FileStore::open(&path, &key_file(d), 100).err().unwrap();
    assert!(e.to_string().contains("must not be readable"), "{e}");
}

#[test]
fn passphrase_store() {
    let d_dir = dir("passphrase");
    let d = d_dir.path();
    let path = d.join("store.khs");
    let small = Argon2Params {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };
    let pass = |p: &str| MasterKey::Passphrase(SecretBytes::new(p.as_bytes().to_vec()), small);
    FileStore::open(&path, &pass("correct horse"), 10)
        .unwrap()
        .put(cred(1))
        .unwrap();
    assert_eq!(
        FileStore::open(&path, &pass("correct horse"), 10)
            .unwrap()
            .all()
            .unwrap()
            .len(),
        1
    );
    let e = FileStore::open(&path, &pass("wrong horse"), 10)
        .err()
        .unwrap();
    assert!(e.to_string().contains("wrong passphrase"), "{e}");
    assert!(
        FileStore::open(&path, &key_file(d), 10).is_err(),
        "a passphrase store is not opened with a key file"
    );
}

#[test]
fn torn_tail_is_cut_and_damage_elsewhere_refused() {
    let d_dir = dir("torn");
    let d = d_dir.path();
    let path = d.join("store.khs");
    {
        let mut s = FileStore::open(&path, &key_file(d), 100).unwrap();
        s.put(cred(1)).unwrap();
        s.put(cred(2)).unwrap();
    }
    let full = std::fs::read(&path).unwrap();
    // Every possible cut inside the last record: the first credential survives.
    let second_start = {
        let s = FileStore::open(&path, &key_file(d), 100).unwrap();
        drop(s);
        // The header is 65 bytes; the first record's length prefix tells where it ends.
        let len = u32::from_be_bytes(full[65..69].try_into().unwrap()) as usize;
        65 + 16 + len
    };
    for cut in (second_start + 1..full.len()).step_by(7) {
        std::fs::write(&path, &full[..cut]).unwrap();
        let mut s = FileStore::open(&path, &key_file(d), 100).unwrap();
        assert_eq!(s.all().unwrap().len(), 1, "cut at {cut}");
        // New writes follow the last good record and survive a reopen.
        s.put(cred(3)).unwrap();
        drop(s);
        let s = FileStore::open(&path, &key_file(d), 100).unwrap();
        assert!(s.get(b"credential-3").unwrap().is_some(), "cut at {cut}");
    }
    // A flipped byte in the first (not last) record is damage, not a torn write.
    let mut bad = full.clone();
    bad[second_start - 5] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    assert!(FileStore::open(&path, &key_file(d), 100).is_err());
}

/// Writer side of the kill -9 test, spawned by `kill_9_never_loses_an_acknowledged_write`
/// (ignored, so it is never counted as a test of its own).
#[test]
#[ignore = "the writer process of kill_9_never_loses_an_acknowledged_write"]
fn kill_9_writer() {
    let dir = std::env::var("KEYHAVEN_STORE_WRITER")
        .expect("run by kill_9_never_loses_an_acknowledged_write");
    let d = PathBuf::from(dir);
    let start: u32 = std::env::var("KEYHAVEN_STORE_START")
        .unwrap()
        .parse()
        .unwrap();
    let mut s = FileStore::open(d.join("store.khs"), &key_file(&d), 1_000_000).unwrap();
    let mut out = std::io::stdout().lock();
    for n in start.. {
        s.put(cred(n)).unwrap();
        writeln!(out, "put {n}").unwrap();
        for c in 1..=3u32 {
            s.set_sign_count(format!("credential-{}", n / 2).as_bytes(), n * 3 + c)
                .unwrap();
            writeln!(out, "count {} {}", n / 2, n * 3 + c).unwrap();
        }
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_never_loses_an_acknowledged_write() {
    let d_dir = dir("kill9");
    let d = d_dir.path();
    let exe = std::env::current_exe().unwrap();
    let mut acked_puts: Vec<u32> = Vec::new();
    let mut acked_counts: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    let mut next = 0u32;
    let mut writes = 0usize;
    for round in 0..12u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "kill_9_writer",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("KEYHAVEN_STORE_WRITER", d)
            .env("KEYHAVEN_STORE_START", next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        // Let it write for a varying while, then SIGKILL it mid-stream.
        std::thread::sleep(Duration::from_millis(150 + (round * 37) % 200));
        child.kill().unwrap();
        child.wait().unwrap();
        for line in reader.join().unwrap() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["put", n] => {
                    let n: u32 = n.parse().unwrap();
                    acked_puts.push(n);
                    next = next.max(n + 1);
                    writes += 1;
                }
                ["count", id, c] => {
                    acked_counts.insert(id.parse().unwrap(), c.parse().unwrap());
                    writes += 1;
                }
                _ => {}
            }
        }
        // Everything acknowledged so far is there, counters never behind the acknowledged value.
        let s = FileStore::open(d.join("store.khs"), &key_file(d), 1_000_000).unwrap();
        assert_acknowledged(&s, &acked_puts, &acked_counts, round as u32);
        // The writer may have completed one more write than it acknowledged: skip past it.
        next = next.max(s.all().unwrap().len() as u32);
    }
    assert!(writes >= 1000, "only {writes} acknowledged writes");
}

/// A simulated disk: `content` is what the process reads back, `durable` what
/// survives a power loss (what was synced). I/O calls can be made to fail: the
/// power goes out at a chosen call, or one call fails with an error (a full
/// disk, EIO) and the disk stays up.
#[derive(Default)]
struct DiskState {
    content: Vec<u8>,
    durable: Vec<u8>,
    calls_until_power_out: Option<u32>,
    calls_until_error: Option<u32>,
    down: bool,
}

#[derive(Clone, Default)]
struct Disk(std::sync::Arc<std::sync::Mutex<DiskState>>);

impl Disk {
    fn state(&self) -> std::sync::MutexGuard<'_, DiskState> {
        self.0.lock().unwrap()
    }

    /// Power comes back: the synced bytes, plus some prefix of the unsynced
    /// tail (a write the drive had partly done), chosen by `torn`.
    fn power_loss(&self, torn: u64) {
        let mut d = self.state();
        let tail = if d.content.starts_with(&d.durable) {
            d.content[d.durable.len()..].to_vec()
        } else {
            Vec::new()
        };
        let keep = (torn % (tail.len() as u64 + 1)) as usize;
        let mut now = d.durable.clone();
        now.extend_from_slice(&tail[..keep]);
        d.content = now.clone();
        d.durable = now;
        d.down = false;
        d.calls_until_power_out = None;
    }
}

impl DiskState {
    /// One I/O call: Err when the power is out or this is the call that fails.
    fn call(&mut self) -> std::io::Result<bool> {
        if self.down {
            return Err(std::io::Error::other("power is out"));
        }
        if let Some(n) = self.calls_until_power_out.as_mut() {
            if *n == 0 {
                self.down = true;
                return Err(std::io::Error::other("power went out"));
            }
            *n -= 1;
        }
        if let Some(n) = self.calls_until_error.as_mut() {
            if *n == 0 {
                self.calls_until_error = None;
                return Ok(false);
            }
            *n -= 1;
        }
        Ok(true)
    }
}

impl LogFile for Disk {
    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        let mut d = self.state();
        d.call()?;
        Ok(d.content.clone())
    }
    fn create(&mut self, header: &[u8]) -> std::io::Result<()> {
        let mut d = self.state();
        d.call()?;
        d.content = header.to_vec();
        d.durable = header.to_vec();
        Ok(())
    }
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut d = self.state();
        if !d.call()? {
            // A short write, then the error (ENOSPC).
            d.content.extend_from_slice(&bytes[..bytes.len() / 2]);
            return Err(std::io::Error::other("no space left on device"));
        }
        d.content.extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        let mut d = self.state();
        if !d.call()? {
            return Err(std::io::Error::other("input/output error"));
        }
        d.durable = d.content.clone();
        Ok(())
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        let mut d = self.state();
        d.call()?;
        d.content.truncate(len as usize);
        d.durable = d.content.clone();
        Ok(())
    }
}

/// A small deterministic generator for the test's choices (not for secrets).
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Checks that every acknowledged credential is in `s` and no counter is
/// behind its acknowledged value.
fn assert_acknowledged<F: LogFile>(
    s: &FileStore<F>,
    puts: &[u32],
    counts: &std::collections::HashMap<u32, u32>,
    round: u32,
) {
    for n in puts {
        assert!(
            s.get(format!("credential-{n}").as_bytes())
                .unwrap()
                .is_some(),
            "round {round}: acknowledged credential {n} lost"
        );
    }
    for (id, c) in counts {
        let got = s
            .get(format!("credential-{id}").as_bytes())
            .unwrap()
            .unwrap()
            .sign_count;
        assert!(
            got >= *c,
            "round {round}: counter of {id} went back from {c} to {got}"
        );
    }
}

/// Power losses at 300 random moments (between any two I/O calls, so also
/// between a record's write and its sync): after each, the store opens and
/// holds every write it acknowledged. Fails if `append` does not sync.
#[test]
fn power_loss_never_loses_an_acknowledged_write() {
    let d_dir = dir("powerloss");
    let master = key_file(d_dir.path());
    let disk = Disk::default();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut puts, mut counts) = (Vec::new(), std::collections::HashMap::new());
    let mut next = 0u32;
    let mut acknowledged = 0usize;
    for round in 0..300u32 {
        let mut s = FileStore::open_log(disk.clone(), &master, 1_000_000).unwrap();
        assert_acknowledged(&s, &puts, &counts, round);
        next = next.max(s.all().unwrap().len() as u32);
        disk.state().calls_until_power_out = Some((rng.next() % 24) as u32);
        'writes: loop {
            if s.put(cred(next)).is_err() {
                break;
            }
            puts.push(next);
            acknowledged += 1;
            for c in 1..=2u32 {
                // The counter of an acknowledged credential: this one or an older one.
                let id = puts[(rng.next() % puts.len() as u64) as usize];
                let count = next * 2 + c;
                if s.set_sign_count(format!("credential-{id}").as_bytes(), count)
                    .is_err()
                {
                    break 'writes;
                }
                counts.insert(id, count);
                acknowledged += 1;
            }
            next += 1;
        }
        next += 1;
        drop(s);
        disk.power_loss(rng.next());
    }
    let s = FileStore::open_log(disk.clone(), &master, 1_000_000).unwrap();
    assert_acknowledged(&s, &puts, &counts, 300);
    assert!(
        acknowledged > 300,
        "only {acknowledged} acknowledged writes"
    );
}

/// A write that fails (short write, or a failed sync) is undone before the
/// next one: later writes succeed and the store still opens with all of them.
#[test]
fn a_failed_write_leaves_no_damaged_record_behind() {
    let d_dir = dir("failedwrite");
    let master = key_file(d_dir.path());
    for fail_at in 0..6u32 {
        let disk = Disk::default();
        let mut s = FileStore::open_log(disk.clone(), &master, 100).unwrap();
        s.put(cred(0)).unwrap();
        // Calls: append, sync for each record; fail_at picks one of them.
        disk.state().calls_until_error = Some(fail_at);
        let mut failed = 0;
        for n in 1..=4 {
            match s.put(cred(n)) {
                Ok(()) => {}
                Err(e) => {
                    failed += 1;
                    assert!(
                        e.to_string().contains("no space")
                            || e.to_string().contains("input/output"),
                        "{e}"
                    );
                    assert!(s
                        .get(format!("credential-{n}").as_bytes())
                        .unwrap()
                        .is_none());
                }
            }
        }
        assert_eq!(failed, 1, "fail at call {fail_at}");
        drop(s);
        let s = FileStore::open_log(disk.clone(), &master, 100)
            .unwrap_or_else(|e| panic!("fail at call {fail_at}: reopen: {e}"));
        assert_eq!(s.all().unwrap().len(), 4, "fail at call {fail_at}");
        // And after a power loss too: only synced, whole records are there.
        disk.power_loss(u64::MAX);
        let s = FileStore::open_log(disk, &master, 100).unwrap();
        assert_eq!(s.all().unwrap().len(), 4, "fail at call {fail_at}");
    }
}

/// An import (`put_all`: credentials and the large-blob array) is one
/// record: a power loss at any of its I/O calls, with any part of it on the
/// disk, leaves all of it or none of it, never some credentials.
#[test]
fn a_batch_is_stored_whole_or_not_at_all() {
    let d_dir = dir("batch");
    let master = key_file(d_dir.path());
    let batch: Vec<StoredCredential> = (10..15).map(cred).collect();
    for (power_out_at, torn) in [
        (0u32, 0u64),
        (0, 17),
        (0, u64::MAX),
        (1, 0),
        (1, 100),
        (2, 0),
    ] {
        let disk = Disk::default();
        let mut s = FileStore::open_log(disk.clone(), &master, 100).unwrap();
        s.put(cred(0)).unwrap();
        disk.state().calls_until_power_out = Some(power_out_at);
        let ok = s.put_all(batch.clone(), Some(vec![0xAB; 40])).is_ok();
        drop(s);
        disk.power_loss(torn);
        let s = FileStore::open_log(disk, &master, 100).unwrap();
        let n = s.all().unwrap().len();
        let blobs = s.large_blob_array().unwrap();
        if ok {
            assert_eq!(
                (n, blobs),
                (6, Some(vec![0xAB; 40])),
                "acknowledged: all of it"
            );
        } else {
            assert!(
                (n, &blobs) == (1, &None) || (n, &blobs) == (6, &Some(vec![0xAB; 40])),
                "power out at {power_out_at}, torn {torn}: {n} credentials, blobs {blobs:?}"
            );
        }
    }
    // More discoverable credentials than room: refused before any write.
    let disk = Disk::default();
    let mut s = FileStore::open_log(disk.clone(), &master, 3).unwrap();
    assert_eq!(s.put_all(batch, None), Err(StoreError::Full));
    drop(s);
    let s = FileStore::open_log(disk, &master, 3).unwrap();
    assert_eq!(s.all().unwrap().len(), 0);
}
