//! CTAPHID framing (CTAP 2.2 §11.2): the 64-byte report, the command and error
//! codes, KEEPALIVE statuses, and the split of a message into an
//! initialization report and continuation reports (§11.2.4). The device's
//! channel state machine lives in keyhaven-authenticator, the host's in
//! keyhaven-client; both frame messages here.

/// Report size.
pub const REPORT: usize = 64;
/// Largest message: 57 + 128 × 59 bytes.
pub const MAX_MESSAGE: usize = 7609;
/// The broadcast channel, reserved for channel allocation (§11.2.3).
pub const BROADCAST: u32 = 0xffff_ffff;

/// CTAPHID commands.
pub mod cmd {
    /// Echo.
    pub const PING: u8 = 0x01;
    /// CTAP1/U2F message.
    pub const MSG: u8 = 0x03;
    /// Channel lock.
    pub const LOCK: u8 = 0x04;
    /// Channel allocation.
    pub const INIT: u8 = 0x06;
    /// Wink.
    pub const WINK: u8 = 0x08;
    /// CTAP2 CBOR message.
    pub const CBOR: u8 = 0x10;
    /// Cancel.
    pub const CANCEL: u8 = 0x11;
    /// Keepalive.
    pub const KEEPALIVE: u8 = 0x3b;
    /// Error.
    pub const ERROR: u8 = 0x3f;
}

/// CTAPHID error codes (§11.2.9.1.6).
pub mod err {
    /// The command is not supported.
    pub const INVALID_CMD: u8 = 0x01;
    /// Invalid parameter.
    pub const INVALID_PAR: u8 = 0x02;
    /// Invalid message length.
    pub const INVALID_LEN: u8 = 0x03;
    /// Invalid message sequencing.
    pub const INVALID_SEQ: u8 = 0x04;
    /// Message has timed out.
    pub const MSG_TIMEOUT: u8 = 0x05;
    /// Channel busy.
    pub const CHANNEL_BUSY: u8 = 0x06;
    /// Invalid channel.
    pub const INVALID_CHANNEL: u8 = 0x0b;
}

/// KEEPALIVE status codes (§11.2.9.2.4).
pub mod keepalive {
    /// The authenticator is still processing the request.
    pub const PROCESSING: u8 = 1;
    /// The authenticator is waiting for user presence.
    pub const UPNEEDED: u8 = 2;
}

/// Splits a message into an initialization report and continuation reports
/// (§11.2.4); hosts and devices share it.
pub fn frames(cid: u32, cmd: u8, data: &[u8]) -> Vec<[u8; REPORT]> {
    let mut out = Vec::new();
    let mut first = [0u8; REPORT];
    first[..4].copy_from_slice(&cid.to_be_bytes());
    first[4] = 0x80 | cmd;
    first[5..7].copy_from_slice(&(data.len() as u16).to_be_bytes());
    let n = data.len().min(REPORT - 7);
    first[7..7 + n].copy_from_slice(&data[..n]);
    out.push(first);
    for (seq, chunk) in data[n..].chunks(REPORT - 5).enumerate() {
        let mut r = [0u8; REPORT];
        r[..4].copy_from_slice(&cid.to_be_bytes());
        r[4] = seq as u8;
        r[5..5 + chunk.len()].copy_from_slice(chunk);
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_message_fills_128_continuations() {
        let msg = vec![0xabu8; MAX_MESSAGE];
        let r = frames(0x0102_0304, cmd::CBOR, &msg);
        assert_eq!(r.len(), 129);
        assert_eq!(&r[0][..7], &[1, 2, 3, 4, 0x90, 0x1d, 0xb9]);
        assert_eq!(r[128][4], 127);
        assert!(r[128][5..].iter().all(|b| *b == 0xab));
        // An empty message is one initialization report.
        assert_eq!(frames(1, cmd::PING, &[]).len(), 1);
    }
}
