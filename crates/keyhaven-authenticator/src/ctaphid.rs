//! CTAPHID (CTAP 2.2 §11.2): the channel and packet layer over 64-byte reports —
//! INIT, PING, MSG, CBOR, CANCEL, WINK, LOCK and ERROR; message reassembly up to
//! 7609 bytes; channel allocation; transaction timeouts; busy handling. It is
//! transport-agnostic: [`HidDevice::handle_report`] takes one report and returns
//! the reports to send back. [`serve_unix`] runs it over a Unix stream socket
//! (64 raw bytes per report), which is how it is tested; there a CBOR command
//! runs on a worker thread while KEEPALIVE reports (§11.2.9.2.4) go out every
//! 100 ms, with STATUS_UPNEEDED while the user is asked for presence (wrap the
//! user interaction in [`Signalling`] to report that).

use crate::{Authenticator, CredentialStore, UserInteraction};
use keyhaven_proto::ctap2::StatusCode;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyhaven_ctap::hid::BROADCAST;
pub use keyhaven_ctap::hid::{cmd, err, frames, keepalive, MAX_MESSAGE, REPORT};

/// How long a message may take from its first report to its last (§11.2.9.1).
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_millis(3000);

/// Interval between KEEPALIVE reports while a CBOR command runs.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_millis(100);

/// The status the next KEEPALIVE report carries, and whether the host
/// cancelled the running command; shared between the device and a
/// [`Signalling`] user interaction.
#[derive(Debug, Clone)]
pub struct KeepaliveStatus(Arc<AtomicU8>, Arc<AtomicBool>);

impl Default for KeepaliveStatus {
    fn default() -> Self {
        KeepaliveStatus(
            Arc::new(AtomicU8::new(keepalive::PROCESSING)),
            Arc::new(AtomicBool::new(false)),
        )
    }
}

impl KeepaliveStatus {
    /// The current status code.
    pub fn get(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }
    fn set(&self, v: u8) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// Whether the host sent CTAPHID_CANCEL for the running command.
    pub fn cancelled(&self) -> bool {
        self.1.load(Ordering::SeqCst)
    }
    fn set_cancelled(&self, v: bool) {
        self.1.store(v, Ordering::SeqCst);
    }
}

/// A user interaction that reports STATUS_UPNEEDED through `status` while it
/// waits for presence, and counts an answer given after the host cancelled as
/// a refusal.
#[derive(Debug)]
pub struct Signalling<U> {
    /// The wrapped interaction.
    pub inner: U,
    /// Where the waiting state is reported.
    pub status: KeepaliveStatus,
}

impl<U: UserInteraction> UserInteraction for Signalling<U> {
    fn presence(&mut self, rp_id: &str) -> bool {
        self.status.set(keepalive::UPNEEDED);
        let given = self.inner.presence(rp_id);
        self.status.set(keepalive::PROCESSING);
        given && !self.status.cancelled()
    }
    fn has_built_in_uv(&self) -> bool {
        self.inner.has_built_in_uv()
    }
    fn verify_user(&mut self, rp_id: &str) -> bool {
        self.status.set(keepalive::UPNEEDED);
        let verified = self.inner.verify_user(rp_id);
        self.status.set(keepalive::PROCESSING);
        verified && !self.status.cancelled()
    }
}

/// What one report asks of the device.
enum Step {
    /// Reports to send now.
    Reports(Vec<[u8; REPORT]>),
    /// A complete CTAPHID_CBOR or CTAPHID_MSG request on a channel, to run.
    Run(u32, u8, Vec<u8>),
}

struct Assembly {
    cid: u32,
    cmd: u8,
    len: usize,
    data: Vec<u8>,
    next_seq: u8,
    started: Instant,
}

/// One virtual CTAPHID device in front of an authenticator.
pub struct HidDevice<S: CredentialStore, U: UserInteraction> {
    /// The authenticator behind the device.
    pub authenticator: Authenticator<S, U>,
    next_cid: u32,
    channels: Vec<u32>,
    assembly: Option<Assembly>,
    lock: Option<(u32, Instant)>,
    /// Wink requests seen (for tests).
    pub winks: usize,
    /// The status KEEPALIVE reports carry.
    pub keepalive: KeepaliveStatus,
}

fn error(cid: u32, code: u8) -> Vec<[u8; REPORT]> {
    frames(cid, cmd::ERROR, &[code])
}

impl<S: CredentialStore, U: UserInteraction> HidDevice<S, U> {
    /// A device in front of `authenticator`.
    pub fn new(authenticator: Authenticator<S, U>) -> Self {
        HidDevice {
            authenticator,
            next_cid: 1,
            channels: Vec::new(),
            assembly: None,
            lock: None,
            winks: 0,
            keepalive: KeepaliveStatus::default(),
        }
    }

    /// A device whose KEEPALIVE reports carry `status` (shared with a
    /// [`Signalling`] user interaction).
    pub fn with_keepalive(authenticator: Authenticator<S, U>, status: KeepaliveStatus) -> Self {
        HidDevice {
            keepalive: status,
            ..Self::new(authenticator)
        }
    }

    /// When the message being assembled times out (§11.2.9.1: a transaction
    /// not completed within [`TRANSACTION_TIMEOUT`]), if one is.
    pub fn deadline(&self) -> Option<Instant> {
        self.assembly
            .as_ref()
            .map(|a| a.started + TRANSACTION_TIMEOUT)
    }

    /// Ends a message whose time is up at `now`: ERR_MSG_TIMEOUT on its
    /// channel, sent without waiting for another report.
    pub fn expire(&mut self, now: Instant) -> Vec<[u8; REPORT]> {
        match self.deadline() {
            Some(t) if now >= t => {
                let cid = self.assembly.take().map_or(BROADCAST, |a| a.cid);
                error(cid, err::MSG_TIMEOUT)
            }
            _ => Vec::new(),
        }
    }

    /// Handles one report from the host; returns the reports to send back.
    /// A CBOR command runs inline (no KEEPALIVE reports; [`serve_unix`] sends them).
    pub fn handle_report(&mut self, report: &[u8; REPORT]) -> Vec<[u8; REPORT]> {
        match self.step(report) {
            Step::Reports(r) => r,
            Step::Run(cid, command, data) => {
                frames(cid, command, &run(&mut self.authenticator, command, &data))
            }
        }
    }

    fn step(&mut self, report: &[u8; REPORT]) -> Step {
        Step::Reports(match self.assemble(report) {
            Ok(a) => return self.execute(a),
            Err(reports) => reports,
        })
    }

    /// Adds one report to the message being assembled: the complete message,
    /// or the reports to answer with now.
    fn assemble(&mut self, report: &[u8; REPORT]) -> Result<Assembly, Vec<[u8; REPORT]>> {
        let now = Instant::now();
        let cid = u32::from_be_bytes([report[0], report[1], report[2], report[3]]);
        if self
            .assembly
            .as_ref()
            .is_some_and(|a| now.duration_since(a.started) > TRANSACTION_TIMEOUT)
        {
            let a = self.assembly.take().map(|a| a.cid).unwrap_or(cid);
            return Err(error(a, err::MSG_TIMEOUT));
        }
        if cid == 0 || (cid != BROADCAST && !self.channels.contains(&cid)) {
            return Err(error(cid, err::INVALID_CHANNEL));
        }
        if let Some((owner, until)) = self.lock {
            if now > until {
                self.lock = None;
            } else if owner != cid {
                return Err(error(cid, err::CHANNEL_BUSY));
            }
        }
        if report[4] & 0x80 != 0 {
            let command = report[4] & 0x7f;
            let len = usize::from(u16::from_be_bytes([report[5], report[6]]));
            // §11.2.3: the broadcast channel is for CTAPHID_INIT alone.
            if cid == BROADCAST && command != cmd::INIT {
                return Err(error(cid, err::INVALID_CHANNEL));
            }
            if let Some(a) = &self.assembly {
                if a.cid != cid {
                    return Err(error(cid, err::CHANNEL_BUSY));
                }
                // INIT on the busy channel aborts its transaction (§11.2.9.1.3).
                if command != cmd::INIT {
                    self.assembly = None;
                    return Err(error(cid, err::INVALID_SEQ));
                }
                self.assembly = None;
            }
            if len > MAX_MESSAGE {
                return Err(error(cid, err::INVALID_LEN));
            }
            let n = len.min(REPORT - 7);
            let a = Assembly {
                cid,
                cmd: command,
                len,
                data: report[7..7 + n].to_vec(),
                next_seq: 0,
                started: now,
            };
            if a.data.len() == a.len {
                return Ok(a);
            }
            self.assembly = Some(a);
            Err(Vec::new())
        } else {
            let Some(a) = self.assembly.as_mut() else {
                return Err(Vec::new()); // Spurious continuation: ignored.
            };
            if a.cid != cid {
                return Err(error(cid, err::CHANNEL_BUSY));
            }
            if report[4] != a.next_seq {
                self.assembly = None;
                return Err(error(cid, err::INVALID_SEQ));
            }
            a.next_seq += 1;
            let n = (a.len - a.data.len()).min(REPORT - 5);
            a.data.extend_from_slice(&report[5..5 + n]);
            if a.data.len() == a.len {
                let a = self.assembly.take().expect("assembly in progress");
                return Ok(a);
            }
            Err(Vec::new())
        }
    }

    fn execute(&mut self, a: Assembly) -> Step {
        Step::Reports(match a.cmd {
            cmd::INIT => {
                if a.data.len() != 8 {
                    return Step::Reports(error(a.cid, err::INVALID_LEN));
                }
                let new_cid = if a.cid == BROADCAST {
                    let c = self.next_cid;
                    self.next_cid = self.next_cid.wrapping_add(1).max(1);
                    if self.next_cid == BROADCAST {
                        self.next_cid = 1;
                    }
                    self.channels.push(c);
                    if self.channels.len() > 64 {
                        self.channels.remove(0);
                    }
                    c
                } else {
                    a.cid
                };
                let mut resp = a.data.clone();
                resp.extend_from_slice(&new_cid.to_be_bytes());
                // CTAPHID protocol 2, device version 0.1.0, capabilities WINK,
                // CBOR when CTAP2 is spoken, NMSG when CTAP1/U2F is not.
                let s = &self.authenticator.settings;
                let caps = 0x01 | if s.ctap2 { 0x04 } else { 0 } | if s.u2f { 0 } else { 0x08 };
                resp.extend_from_slice(&[2, 0, 1, 0, caps]);
                frames(a.cid, cmd::INIT, &resp)
            }
            cmd::PING => frames(a.cid, cmd::PING, &a.data),
            cmd::WINK => {
                self.winks += 1;
                frames(a.cid, cmd::WINK, &[])
            }
            cmd::LOCK => {
                let secs = match a.data.as_slice() {
                    [s] if *s <= 10 => *s,
                    _ => return Step::Reports(error(a.cid, err::INVALID_PAR)),
                };
                self.lock = (secs > 0)
                    .then(|| (a.cid, Instant::now() + Duration::from_secs(u64::from(secs))));
                frames(a.cid, cmd::LOCK, &[])
            }
            cmd::CBOR => {
                if a.data.is_empty() {
                    return Step::Reports(error(a.cid, err::INVALID_LEN));
                }
                if !self.authenticator.settings.ctap2 {
                    return Step::Reports(error(a.cid, err::INVALID_CMD));
                }
                return Step::Run(a.cid, cmd::CBOR, a.data);
            }
            // No operation is ever pending between reports: nothing to cancel, no answer (§11.2.9.2.3).
            cmd::CANCEL => Vec::new(),
            // CTAP1/U2F (§11.2.9.1.1), unless it is off (NMSG capability set).
            cmd::MSG if self.authenticator.settings.u2f => {
                return Step::Run(a.cid, cmd::MSG, a.data);
            }
            cmd::MSG => error(a.cid, err::INVALID_CMD),
            _ => error(a.cid, err::INVALID_CMD),
        })
    }
}

/// Runs a complete CBOR (CTAP2) or MSG (CTAP1/U2F) request.
fn run<S: CredentialStore, U: UserInteraction>(
    auth: &mut Authenticator<S, U>,
    command: u8,
    data: &[u8],
) -> Vec<u8> {
    if command == cmd::MSG {
        auth.process_u2f(data)
    } else {
        auth.process(data)
    }
}

/// A link that carries 64-byte HID reports: a Unix socket, or /dev/uhid.
pub trait ReportLink: Sized {
    /// The next report from the host; `None` when the host has gone.
    fn read_report(&mut self) -> std::io::Result<Option<[u8; REPORT]>>;
    /// Sends one report to the host.
    fn write_report(&mut self, report: &[u8; REPORT]) -> std::io::Result<()>;
    /// A second handle on the same link, used to read while the first writes.
    fn try_clone(&self) -> std::io::Result<Self>;
}

impl ReportLink for std::os::unix::net::UnixStream {
    fn read_report(&mut self) -> std::io::Result<Option<[u8; REPORT]>> {
        use std::io::Read;
        let mut report = [0u8; REPORT];
        match self.read_exact(&mut report) {
            Ok(()) => Ok(Some(report)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn write_report(&mut self, report: &[u8; REPORT]) -> std::io::Result<()> {
        use std::io::Write;
        self.write_all(report)
    }
    fn try_clone(&self) -> std::io::Result<Self> {
        std::os::unix::net::UnixStream::try_clone(self)
    }
}

enum Event {
    Report(std::io::Result<Option<[u8; REPORT]>>),
    Done(Vec<u8>),
}

/// Runs the device over `link` until the host goes away.
///
/// A reader thread takes reports off the link. A CBOR command runs on a worker
/// thread; until it answers, a KEEPALIVE report with the current
/// [`KeepaliveStatus`] goes out every [`KEEPALIVE_INTERVAL`] (§11.2.9.2.4).
/// Meanwhile CTAPHID_CANCEL on the command's channel answers at once with
/// CTAP2_ERR_KEEPALIVE_CANCEL (§11.2.9.1.5; a presence answer given later
/// counts as a refusal through [`Signalling`], and the command's own answer is
/// dropped; reports after the CANCEL wait until the command has ended); any
/// other request gets ERR_CHANNEL_BUSY.
pub fn serve<S, U, L>(device: &mut HidDevice<S, U>, link: &mut L) -> std::io::Result<()>
where
    S: CredentialStore + Send,
    U: UserInteraction + Send,
    L: ReportLink + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    let mut reader = link.try_clone()?;
    let reports_tx = tx.clone();
    std::thread::spawn(move || loop {
        let r = reader.read_report();
        let last = !matches!(r, Ok(Some(_)));
        if reports_tx.send(Event::Report(r)).is_err() || last {
            return;
        }
    });
    // Reports that came after a CANCEL, while the cancelled command finished.
    let mut deferred = std::collections::VecDeque::new();
    loop {
        let next = match (deferred.pop_front(), device.deadline()) {
            (Some(r), _) => Ok(Event::Report(Ok(Some(r)))),
            (None, None) => rx.recv(),
            // A message is half sent: its timeout fires without another report.
            (None, Some(t)) => match rx.recv_timeout(t.saturating_duration_since(Instant::now())) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    for r in device.expire(Instant::now()) {
                        link.write_report(&r)?;
                    }
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
                Ok(e) => Ok(e),
            },
        };
        let report = match next {
            Ok(Event::Report(Ok(Some(r)))) => r,
            Ok(Event::Report(Err(e))) => return Err(e),
            Ok(Event::Report(Ok(None))) | Err(_) => return Ok(()),
            Ok(Event::Done(_)) => continue, // The answer to a cancelled command.
        };
        let (cid, command, data) = match device.step(&report) {
            Step::Reports(out) => {
                for r in out {
                    link.write_report(&r)?;
                }
                continue;
            }
            Step::Run(cid, command, data) => (cid, command, data),
        };
        let status = device.keepalive.clone();
        status.set_cancelled(false);
        let auth = &mut device.authenticator;
        let done_tx = tx.clone();
        let host_stays = std::thread::scope(|s| {
            let mut gone = false;
            s.spawn(move || {
                let _ = done_tx.send(Event::Done(run(auth, command, &data)));
            });
            loop {
                let event = match rx.recv_timeout(KEEPALIVE_INTERVAL) {
                    Ok(e) => e,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        // KEEPALIVE is CTAP2's (§11.2.9.2.4); U2F hosts poll instead.
                        if !status.cancelled() && command == cmd::CBOR {
                            for r in frames(cid, cmd::KEEPALIVE, &[status.get()]) {
                                link.write_report(&r)?;
                            }
                        }
                        continue;
                    }
                    Err(e) => return Err(std::io::Error::other(e)),
                };
                match event {
                    Event::Done(resp) => {
                        if !status.cancelled() {
                            for r in frames(cid, command, &resp) {
                                link.write_report(&r)?;
                            }
                        }
                        return Ok(!gone);
                    }
                    Event::Report(Ok(Some(r))) => {
                        busy_report(r, cid, &status, link, &mut deferred)?
                    }
                    // The host went away: finish the command, then stop.
                    Event::Report(Ok(None)) => {
                        status.set_cancelled(true);
                        gone = true;
                    }
                    Event::Report(Err(e)) => return Err(e),
                }
            }
        })?;
        if !host_stays {
            return Ok(());
        }
    }
}

/// A report that arrives while the CBOR command of channel `cid` runs:
/// CTAPHID_CANCEL on that channel answers at once with
/// CTAP2_ERR_KEEPALIVE_CANCEL (§11.2.9.1.5); after a cancel, reports wait in
/// `deferred` until the command has ended; any other request gets
/// ERR_CHANNEL_BUSY.
fn busy_report<L: ReportLink>(
    r: [u8; REPORT],
    cid: u32,
    status: &KeepaliveStatus,
    link: &mut L,
    deferred: &mut std::collections::VecDeque<[u8; REPORT]>,
) -> std::io::Result<()> {
    let from = u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
    if from == cid && r[4] == 0x80 | cmd::CANCEL {
        if !status.cancelled() {
            status.set_cancelled(true);
            let code = [StatusCode::Ctap2ErrKeepaliveCancel.to_byte()];
            for r in frames(cid, cmd::CBOR, &code) {
                link.write_report(&r)?;
            }
        }
    } else if status.cancelled() {
        // Cancelled, waiting for the command to end: handled after it.
        deferred.push_back(r);
    } else if r[4] & 0x80 != 0 {
        for r in error(from, err::CHANNEL_BUSY) {
            link.write_report(&r)?;
        }
    }
    Ok(())
}

/// Serves one connection at a time on a Unix stream socket, 64 raw bytes per
/// report, through [`serve`].
pub fn serve_unix<S: CredentialStore + Send, U: UserInteraction + Send>(
    device: &mut HidDevice<S, U>,
    path: &std::path::Path,
) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    for conn in listener.incoming() {
        match serve(device, &mut conn?) {
            Ok(()) => {}
            // A host that vanished mid-write ends its connection, not the server.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
