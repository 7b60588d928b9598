//! A CTAPHID device on a Unix socket whose user takes a while to touch it,
//! shared by the authenticator's and the client's tests.

use keyhaven_authenticator::ctaphid::HidDevice;
use keyhaven_authenticator::{Authenticator, MemoryStore, Settings};

/// Presence that takes a while, as a person would.
pub struct SlowTouch(pub std::time::Duration);

impl keyhaven_authenticator::UserInteraction for SlowTouch {
    fn presence(&mut self, _: &str) -> bool {
        std::thread::sleep(self.0);
        true
    }
    fn has_built_in_uv(&self) -> bool {
        false
    }
    fn verify_user(&mut self, _: &str) -> bool {
        false
    }
}

/// A slow-touch device served on a Unix socket in its own directory (removed
/// when the returned guard drops), and a connection to it.
pub fn slow_device_on_socket(name: &str) -> (tempfile::TempDir, std::os::unix::net::UnixStream) {
    slow_device_with(name, std::time::Duration::from_millis(450))
}

/// The same with a chosen touch delay.
pub fn slow_device_with(
    name: &str,
    delay: std::time::Duration,
) -> (tempfile::TempDir, std::os::unix::net::UnixStream) {
    use keyhaven_authenticator::ctaphid::{serve_unix, KeepaliveStatus, Signalling};
    let status = KeepaliveStatus::default();
    let user = Signalling {
        inner: SlowTouch(delay),
        status: status.clone(),
    };
    let auth = Authenticator::new(MemoryStore::new(10), user, Settings::default()).unwrap();
    let mut device = HidDevice::with_keepalive(auth, status);
    let dir = tempfile::Builder::new()
        .prefix(&format!("keyhaven-{name}-"))
        .tempdir()
        .unwrap();
    let path = dir.path().join("hid.sock");
    let server_path = path.clone();
    std::thread::spawn(move || serve_unix(&mut device, &server_path));
    loop {
        match std::os::unix::net::UnixStream::connect(&path) {
            Ok(c) => return (dir, c),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}
