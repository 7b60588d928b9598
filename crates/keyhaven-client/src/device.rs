//! Connections to authenticators: the [`Device`] trait and its in-process and
//! spawned-process (`keyhaven authenticator serve --stdio`) implementations.
//! CTAPHID devices (a Unix socket, Linux hidraw) are in [`crate::hid`].

use crate::error::TransportError;
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// An abort signal (the `AbortSignal` of `CredentialCreationOptions.signal`):
/// clone it, hand one copy to `create()`/`get()`, call [`AbortSignal::abort`]
/// on another.
#[derive(Clone, Debug, Default)]
pub struct AbortSignal(Arc<AtomicBool>);

impl AbortSignal {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }
    /// Fires the signal.
    pub fn abort(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether it fired.
    pub fn is_aborted(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Why a device call should stop: the caller aborted, the ceremony timer ran
/// out, or another authenticator already answered.
#[derive(Clone, Debug)]
pub struct Cancel {
    pub(crate) abort: AbortSignal,
    pub(crate) settled: AbortSignal,
    pub(crate) deadline: Instant,
}

impl Cancel {
    /// A token that never fires before `deadline`.
    pub fn until(deadline: Instant) -> Self {
        Cancel {
            abort: AbortSignal::new(),
            settled: AbortSignal::new(),
            deadline,
        }
    }
    /// Whether the call should stop now.
    pub fn is_cancelled(&self) -> bool {
        self.abort.is_aborted() || self.settled.is_aborted() || Instant::now() >= self.deadline
    }
}

/// How an authenticator is attached (L3 §5.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// Part of the client device.
    Platform,
    /// Roaming: USB, NFC, BLE, hybrid.
    CrossPlatform,
}

impl Attachment {
    /// The AuthenticatorAttachment string.
    pub fn as_str(self) -> &'static str {
        match self {
            Attachment::Platform => "platform",
            Attachment::CrossPlatform => "cross-platform",
        }
    }
}

/// One authenticator the client can talk CTAP2 to.
pub trait Device: Send {
    /// Sends one CTAP2 message (command byte ‖ CBOR) and returns the answer
    /// (status byte ‖ CBOR). Transports that can interrupt a pending command
    /// (CTAPHID) do so when `cancel` fires.
    fn transact(&mut self, message: &[u8], cancel: &Cancel) -> Result<Vec<u8>, TransportError>;
    /// Sends one CTAP1/U2F command APDU and returns the response APDU (data ‖
    /// status word). Transports without CTAP1 answer
    /// [`TransportError::Unsupported`].
    fn transact_u2f(&mut self, apdu: &[u8], cancel: &Cancel) -> Result<Vec<u8>, TransportError> {
        let _ = (apdu, cancel);
        Err(TransportError::Unsupported)
    }
    /// The attachment modality.
    fn attachment(&self) -> Attachment;
    /// The transport it is reached over (an AuthenticatorTransport value).
    fn transport(&self) -> &'static str;
    /// A short name for messages.
    fn name(&self) -> String;
}

/// Largest answer accepted from a stdio authenticator.
const MAX_STDIO_ANSWER: usize = 1 << 20;

/// An authenticator in a child process speaking the stdio framing (4-byte
/// big-endian length, then the message), such as
/// `keyhaven authenticator serve --stdio`.
pub struct StdioDevice {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    name: String,
}

impl StdioDevice {
    /// Spawns `command` with piped stdin and stdout (stderr is inherited).
    pub fn spawn(mut command: Command) -> Result<Self, TransportError> {
        let name = format!("{:?}", command.get_program());
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| TransportError::Io(format!("cannot start {name}: {e}")))?;
        let stdin = child.stdin.take().ok_or(TransportError::Disconnected)?;
        let stdout = child.stdout.take().ok_or(TransportError::Disconnected)?;
        Ok(StdioDevice {
            child,
            stdin,
            stdout,
            name,
        })
    }
}

impl Drop for StdioDevice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Device for StdioDevice {
    fn transact(&mut self, message: &[u8], cancel: &Cancel) -> Result<Vec<u8>, TransportError> {
        // The stdio framing has no cancel message: a cancelled call is not started.
        if cancel.is_cancelled() {
            return Err(TransportError::Cancelled);
        }
        let len = u32::try_from(message.len())
            .map_err(|_| TransportError::Malformed("request too long".into()))?;
        self.stdin.write_all(&len.to_be_bytes())?;
        self.stdin.write_all(message)?;
        self.stdin.flush()?;
        let mut len = [0u8; 4];
        self.stdout.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > MAX_STDIO_ANSWER {
            return Err(TransportError::Malformed(format!("answer length {len}")));
        }
        let mut answer = vec![0u8; len];
        self.stdout.read_exact(&mut answer)?;
        Ok(answer)
    }
    /// The stdio framing carries an APDU as it is (its class byte 0x00 marks it).
    fn transact_u2f(&mut self, apdu: &[u8], cancel: &Cancel) -> Result<Vec<u8>, TransportError> {
        if apdu.first() != Some(&0) {
            return Err(TransportError::Malformed(
                "a U2F APDU has class 0x00".into(),
            ));
        }
        self.transact(apdu, cancel)
    }
    fn attachment(&self) -> Attachment {
        Attachment::CrossPlatform
    }
    fn transport(&self) -> &'static str {
        "usb"
    }
    fn name(&self) -> String {
        self.name.clone()
    }
}
