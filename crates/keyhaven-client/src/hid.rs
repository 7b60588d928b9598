//! The host side of CTAPHID (CTAP 2.2 §11.2): channel allocation with INIT,
//! CBOR messages split into 64-byte reports, KEEPALIVE while the
//! authenticator waits for the user, CANCEL when the ceremony is cancelled.
//! Over a Unix socket carrying raw reports (`keyhaven authenticator serve
//! --hid-socket`), or on Linux a hidraw device node (feature `hidraw`).

use crate::device::{Attachment, Cancel, Device};
use crate::error::TransportError;
use keyhaven_ctap::hid::{cmd, frames, MAX_MESSAGE, REPORT};
use std::io::{Read, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const BROADCAST: u32 = 0xffff_ffff;
/// How long the authenticator may stay silent (no answer, no KEEPALIVE).
const SILENCE: Duration = Duration::from_secs(10);
/// How long to wait for the answer to a CANCEL.
const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// A CTAPHID authenticator.
pub struct HidDevice {
    writer: Box<dyn Write + Send>,
    reports: Receiver<std::io::Result<[u8; REPORT]>>,
    cid: u32,
    /// INIT's capabilities: CTAPHID_CBOR (CTAP2) and, without NMSG, CTAPHID_MSG (U2F).
    cbor: bool,
    msg: bool,
    report_id_prefix: bool,
    name: String,
    /// Shut down on drop, so the reader thread's handle does not keep the link open.
    socket: Option<std::os::unix::net::UnixStream>,
}

impl Drop for HidDevice {
    fn drop(&mut self) {
        if let Some(s) = &self.socket {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl HidDevice {
    /// Connects to a Unix socket that carries raw 64-byte reports, such as
    /// `keyhaven authenticator serve --hid-socket PATH`.
    pub fn connect_unix(path: &std::path::Path) -> Result<Self, TransportError> {
        let stream = std::os::unix::net::UnixStream::connect(path)
            .map_err(|e| TransportError::Io(format!("{}: {e}", path.display())))?;
        let reader = stream.try_clone()?;
        let closer = stream.try_clone()?;
        let mut d = Self::open(
            Box::new(reader),
            Box::new(stream),
            false,
            path.display().to_string(),
        )?;
        d.socket = Some(closer);
        Ok(d)
    }

    /// Opens a Linux hidraw node (a real security key). Writes carry the
    /// report-ID byte 0 that hidraw expects for devices without report IDs.
    #[cfg(all(feature = "hidraw", target_os = "linux"))]
    pub fn open_hidraw(path: &std::path::Path) -> Result<Self, TransportError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| TransportError::Io(format!("{}: {e}", path.display())))?;
        let reader = file.try_clone()?;
        Self::open(
            Box::new(reader),
            Box::new(file),
            true,
            path.display().to_string(),
        )
    }

    /// Lists the hidraw nodes whose report descriptor declares the FIDO usage
    /// page 0xF1D0 (CTAP 2.2 §11.2.8.1).
    #[cfg(all(feature = "hidraw", target_os = "linux"))]
    pub fn list_hidraw() -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        let Ok(dir) = std::fs::read_dir("/sys/class/hidraw") else {
            return out;
        };
        for entry in dir.flatten() {
            let desc = entry.path().join("device/report_descriptor");
            if let Ok(d) = std::fs::read(&desc) {
                // Usage Page (long form, 2 bytes): 0x06 0xD0 0xF1.
                if d.windows(3).any(|w| w == [0x06, 0xd0, 0xf1]) {
                    out.push(std::path::Path::new("/dev").join(entry.file_name()));
                }
            }
        }
        out.sort();
        out
    }

    /// Wraps a report reader and writer, then allocates a channel with INIT.
    pub fn open(
        mut reader: Box<dyn Read + Send>,
        writer: Box<dyn Write + Send>,
        report_id_prefix: bool,
        name: String,
    ) -> Result<Self, TransportError> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut r = [0u8; REPORT];
            let res = reader.read_exact(&mut r).map(|_| r);
            let stop = res.is_err();
            if tx.send(res).is_err() || stop {
                return;
            }
        });
        let mut d = HidDevice {
            cbor: false,
            msg: false,
            writer,
            reports: rx,
            cid: BROADCAST,
            report_id_prefix,
            name,
            socket: None,
        };
        d.init().map_err(|e| match e {
            TransportError::Cancelled => {
                TransportError::Io("the device did not answer CTAPHID_INIT".into())
            }
            e => e,
        })?;
        Ok(d)
    }

    fn write(&mut self, cid: u32, command: u8, data: &[u8]) -> Result<(), TransportError> {
        for r in frames(cid, command, data) {
            if self.report_id_prefix {
                let mut out = [0u8; REPORT + 1];
                out[1..].copy_from_slice(&r);
                self.writer.write_all(&out)?;
            } else {
                self.writer.write_all(&r)?;
            }
        }
        self.writer.flush()?;
        Ok(())
    }

    /// §11.2.9.1.3: INIT on the broadcast channel with a nonce; the answer
    /// echoing the nonce carries our channel ID.
    fn init(&mut self) -> Result<(), TransportError> {
        let nonce: [u8; 8] =
            keyhaven_crypto::rand::array().map_err(|e| TransportError::Io(e.to_string()))?;
        self.write(BROADCAST, cmd::INIT, &nonce)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let cancel = Cancel::until(deadline);
            let (c, payload) = self.receive(BROADCAST, &cancel, false)?;
            if c == cmd::INIT && payload.len() >= 17 && payload[..8] == nonce {
                self.cid = u32::from_be_bytes([payload[8], payload[9], payload[10], payload[11]]);
                self.cbor = payload[16] & 0x04 != 0;
                self.msg = payload[16] & 0x08 == 0;
                if !self.cbor && !self.msg {
                    return Err(TransportError::Malformed(
                        "the device speaks neither CTAPHID_CBOR nor CTAPHID_MSG".into(),
                    ));
                }
                return Ok(());
            }
        }
    }

    /// Reads one whole message on `cid`, skipping KEEPALIVE and other channels.
    fn receive(
        &mut self,
        cid: u32,
        cancel: &Cancel,
        send_cancel: bool,
    ) -> Result<(u8, Vec<u8>), TransportError> {
        let mut last = Instant::now();
        let mut cancelled_at: Option<Instant> = None;
        let mut message: Option<(u8, usize, Vec<u8>, u8)> = None;
        loop {
            let r = match self.reports.recv_timeout(Duration::from_millis(50)) {
                Ok(r) => r?,
                Err(RecvTimeoutError::Disconnected) => return Err(TransportError::Disconnected),
                Err(RecvTimeoutError::Timeout) => {
                    if cancel.is_cancelled() {
                        match cancelled_at {
                            None if send_cancel => {
                                // §11.2.9.1.5: CANCEL has no answer of its own; the
                                // pending command answers CTAP2_ERR_KEEPALIVE_CANCEL.
                                self.write(cid, cmd::CANCEL, &[])?;
                                cancelled_at = Some(Instant::now());
                            }
                            None => return Err(TransportError::Cancelled),
                            Some(t) if t.elapsed() > CANCEL_GRACE => {
                                return Err(TransportError::Cancelled)
                            }
                            Some(_) => {}
                        }
                    }
                    if last.elapsed() > SILENCE {
                        return Err(TransportError::Io(
                            "the authenticator stopped answering".into(),
                        ));
                    }
                    continue;
                }
            };
            if u32::from_be_bytes([r[0], r[1], r[2], r[3]]) != cid {
                continue;
            }
            last = Instant::now();
            if r[4] & 0x80 != 0 {
                let command = r[4] & 0x7f;
                if command == cmd::KEEPALIVE {
                    continue;
                }
                let len = usize::from(u16::from_be_bytes([r[5], r[6]]));
                if len > MAX_MESSAGE {
                    return Err(TransportError::Malformed(format!("message length {len}")));
                }
                if command == cmd::ERROR {
                    return Err(TransportError::Hid(r[7]));
                }
                let mut data = Vec::with_capacity(len);
                data.extend_from_slice(&r[7..7 + len.min(REPORT - 7)]);
                message = Some((command, len, data, 0));
            } else if let Some((_, len, data, seq)) = message.as_mut() {
                if r[4] != *seq {
                    return Err(TransportError::Malformed(format!(
                        "continuation {} where {} was due",
                        r[4], seq
                    )));
                }
                *seq += 1;
                let n = (*len - data.len()).min(REPORT - 5);
                data.extend_from_slice(&r[5..5 + n]);
            } else {
                continue;
            }
            if let Some((command, len, data, _)) = &message {
                if data.len() == *len {
                    return Ok((*command, data.clone()));
                }
            }
        }
    }
}

impl Device for HidDevice {
    fn transact(&mut self, message: &[u8], cancel: &Cancel) -> Result<Vec<u8>, TransportError> {
        if cancel.is_cancelled() {
            return Err(TransportError::Cancelled);
        }
        if message.len() > MAX_MESSAGE {
            return Err(TransportError::Malformed(
                "request longer than 7609 bytes".into(),
            ));
        }
        if !self.cbor {
            // What a device without CBOR answers: ERR_INVALID_CMD.
            return Err(TransportError::Hid(keyhaven_ctap::hid::err::INVALID_CMD));
        }
        let cid = self.cid;
        self.write(cid, cmd::CBOR, message)?;
        loop {
            let (c, payload) = self.receive(cid, cancel, true)?;
            if c == cmd::CBOR {
                if payload.is_empty() {
                    return Err(TransportError::Malformed("empty CBOR answer".into()));
                }
                return Ok(payload);
            }
        }
    }
    /// CTAPHID_MSG (CTAP 2.2 §11.2.9.1.1).
    fn transact_u2f(&mut self, apdu: &[u8], cancel: &Cancel) -> Result<Vec<u8>, TransportError> {
        if cancel.is_cancelled() {
            return Err(TransportError::Cancelled);
        }
        if apdu.len() > MAX_MESSAGE {
            return Err(TransportError::Malformed(
                "APDU longer than 7609 bytes".into(),
            ));
        }
        let cid = self.cid;
        self.write(cid, cmd::MSG, apdu)?;
        loop {
            let (c, payload) = self.receive(cid, cancel, false)?;
            if c == cmd::MSG {
                return Ok(payload);
            }
        }
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
