//! The stdio transport: each request is a 4-byte big-endian length followed by
//! that many bytes (CTAP2 command byte + CBOR); each response is framed the
//! same way (status byte + CBOR). A request whose first byte is 0x00 is a
//! CTAP1/U2F command APDU instead (class 0x00, the only class U2F defines; no
//! CTAP2 command is 0x00), answered with the response APDU (data ‖ SW1 SW2).
//! This framing is a contract other tools are written against.

use crate::{Authenticator, CredentialStore, UserInteraction};
use std::io::{self, Read, Write};

/// Largest request accepted (CTAPHID's maximum message is 7609 bytes; leave room).
pub const MAX_REQUEST: usize = 64 * 1024;

/// Serves requests from `input` until it ends; answers each on `output`.
/// A request longer than [`MAX_REQUEST`] is read and discarded (never
/// buffered) and answered with CTAP1_ERR_INVALID_LENGTH.
pub fn serve<S: CredentialStore, U: UserInteraction>(
    auth: &mut Authenticator<S, U>,
    mut input: impl Read,
    mut output: impl Write,
) -> io::Result<()> {
    loop {
        let mut len = [0u8; 4];
        match input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let len = u32::from_be_bytes(len) as usize;
        let response = if len > MAX_REQUEST {
            io::copy(&mut (&mut input).take(len as u64), &mut io::sink())?;
            vec![keyhaven_proto::ctap2::StatusCode::Ctap1ErrInvalidLength.to_byte()]
        } else {
            let mut req = vec![0u8; len];
            input.read_exact(&mut req)?;
            match req.first() {
                Some(0x00) => auth.process_u2f(&req),
                _ => auth.process(&req),
            }
        };
        output.write_all(&(response.len() as u32).to_be_bytes())?;
        output.write_all(&response)?;
        output.flush()?;
    }
}
