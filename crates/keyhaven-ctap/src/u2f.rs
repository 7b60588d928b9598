//! CTAP1 / U2F raw messages (FIDO U2F Raw Message Formats v1.2, carried by
//! CTAPHID_MSG, CTAP 2.2 §11.2.9.1.1): ISO 7816-4 command APDUs in their short
//! and extended encodings, the status words, and the register and
//! authenticate requests and responses, for both sides.
//!
//! ```
//! use keyhaven_ctap::u2f::{Apdu, ins, RegisterRequest};
//! let req = RegisterRequest { challenge: [1; 32], application: [2; 32] };
//! let bytes = req.to_apdu().to_bytes();
//! let apdu = Apdu::parse(&bytes).unwrap();
//! assert_eq!(apdu.ins, ins::REGISTER);
//! assert_eq!(RegisterRequest::parse(&apdu.data).unwrap(), req);
//! ```

/// Instruction bytes (U2F raw messages §4.1).
pub mod ins {
    /// U2F_REGISTER.
    pub const REGISTER: u8 = 0x01;
    /// U2F_AUTHENTICATE.
    pub const AUTHENTICATE: u8 = 0x02;
    /// U2F_VERSION.
    pub const VERSION: u8 = 0x03;
}

/// U2F_AUTHENTICATE control bytes (P1, U2F raw messages §5.1).
pub mod control {
    /// check-only: is this key handle mine, for this application?
    pub const CHECK_ONLY: u8 = 0x07;
    /// enforce-user-presence-and-sign.
    pub const ENFORCE_USER_PRESENCE: u8 = 0x03;
    /// dont-enforce-user-presence-and-sign.
    pub const DONT_ENFORCE_USER_PRESENCE: u8 = 0x08;
}

/// ISO 7816 status words (U2F raw messages §3.3).
pub mod sw {
    /// The command completed.
    pub const NO_ERROR: u16 = 0x9000;
    /// User presence is required (and, for check-only, the key handle is valid).
    pub const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
    /// An invalid key handle, or other wrong data.
    pub const WRONG_DATA: u16 = 0x6A80;
    /// The request length is wrong.
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// P1 or P2 is not one this instruction takes.
    pub const INCORRECT_P1P2: u16 = 0x6A86;
    /// The class byte is not 0x00.
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
    /// The instruction is not supported.
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
}

/// The version string U2F_VERSION answers.
pub const VERSION: &str = "U2F_V2";

/// The first byte of a register response (reserved, legacy).
pub const REGISTER_ID: u8 = 0x05;

/// A command APDU (ISO 7816-4 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Apdu {
    /// Class byte (0x00 for U2F).
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// Parameter 1 (U2F_AUTHENTICATE: the control byte).
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// The command data (Lc bytes).
    pub data: Vec<u8>,
}

/// Why a command APDU could not be read: its length fields do not match
/// its size (answered with [`sw::WRONG_LENGTH`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("APDU of {0} bytes: the Lc/Le fields do not match its length")]
pub struct ApduLengthError(pub usize);

impl Apdu {
    /// A U2F command APDU (class 0x00).
    pub fn new(ins: u8, p1: u8, p2: u8, data: Vec<u8>) -> Self {
        Apdu {
            cla: 0,
            ins,
            p1,
            p2,
            data,
        }
    }

    /// Reads a command APDU in any of the ISO 7816-4 cases, short or
    /// extended: header; header ‖ Le; header ‖ Lc ‖ data [‖ Le].
    pub fn parse(b: &[u8]) -> Result<Apdu, ApduLengthError> {
        let bad = ApduLengthError(b.len());
        let [cla, ins, p1, p2, body @ ..] = b else {
            return Err(bad);
        };
        let data = match body {
            // Case 1 (no body), case 2S (Le).
            [] | [_] => &[][..],
            // Case 2E: 0x00 ‖ Le (2).
            [0, _, _] => &[][..],
            // Extended Lc: 0x00 ‖ Lc (2) ‖ data [‖ Le (2)]. An Lc of 0 with
            // an Le (00 00 00 ‖ Le) is what U2F hosts send for no data
            // (U2F raw messages §3.1.1); it is read as no data.
            [0, hi, lo, rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
                if !(rest.len() == lc || rest.len() == lc + 2) || (lc == 0 && rest.is_empty()) {
                    return Err(bad);
                }
                &rest[..lc]
            }
            // Short Lc (1..=255) ‖ data [‖ Le (1)].
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                if lc == 0 || !(rest.len() == lc || rest.len() == lc + 1) {
                    return Err(bad);
                }
                &rest[..lc]
            }
        };
        Ok(Apdu {
            cla: *cla,
            ins: *ins,
            p1: *p1,
            p2: *p2,
            data: data.to_vec(),
        })
    }

    /// The extended-length encoding (what U2F over HID uses), with Le = 65536.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        if self.data.is_empty() {
            out.extend_from_slice(&[0, 0, 0]);
        } else {
            out.push(0);
            out.extend_from_slice(&(self.data.len().min(0xffff) as u16).to_be_bytes());
            out.extend_from_slice(&self.data[..self.data.len().min(0xffff)]);
            out.extend_from_slice(&[0, 0]);
        }
        out
    }
}

/// A response APDU: data ‖ SW1 SW2.
pub fn response(data: &[u8], status: u16) -> Vec<u8> {
    let mut out = data.to_vec();
    out.extend_from_slice(&status.to_be_bytes());
    out
}

/// Splits a response APDU into its data and status word; None if it has no
/// status word.
pub fn split_response(r: &[u8]) -> Option<(&[u8], u16)> {
    let n = r.len().checked_sub(2)?;
    Some((&r[..n], u16::from_be_bytes([r[n], r[n + 1]])))
}

/// Why a U2F request or response could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum U2fError {
    /// The request data has the wrong length.
    #[error("{what}: {found} bytes, expected {expected}")]
    Length {
        /// Which message.
        what: &'static str,
        /// What it should have been.
        expected: &'static str,
        /// What it was.
        found: usize,
    },
    /// A response does not have the structure the format gives it.
    #[error("{0}")]
    Malformed(&'static str),
}

/// U2F_REGISTER request data: challenge parameter ‖ application parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterRequest {
    /// SHA-256 of the client data (WebAuthn: clientDataHash).
    pub challenge: [u8; 32],
    /// SHA-256 of the application (WebAuthn: rpIdHash).
    pub application: [u8; 32],
}

impl RegisterRequest {
    /// Reads the 64 bytes of request data.
    pub fn parse(data: &[u8]) -> Result<Self, U2fError> {
        let (c, a) = data
            .split_at_checked(32)
            .filter(|(_, a)| a.len() == 32)
            .ok_or(U2fError::Length {
                what: "U2F_REGISTER request",
                expected: "64",
                found: data.len(),
            })?;
        Ok(RegisterRequest {
            challenge: c.try_into().map_err(|_| U2fError::Malformed("challenge"))?,
            application: a
                .try_into()
                .map_err(|_| U2fError::Malformed("application"))?,
        })
    }

    /// The command APDU.
    pub fn to_apdu(&self) -> Apdu {
        Apdu::new(
            ins::REGISTER,
            0,
            0,
            [&self.challenge[..], &self.application].concat(),
        )
    }
}

/// U2F_REGISTER response data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterResponse {
    /// The new key's uncompressed P-256 point (0x04 ‖ x ‖ y).
    pub public_key: [u8; 65],
    /// The key handle (1..=255 bytes).
    pub key_handle: Vec<u8>,
    /// The attestation certificate, DER.
    pub certificate: Vec<u8>,
    /// ECDSA signature (DER) over 0x00 ‖ application ‖ challenge ‖ key handle ‖ public key.
    pub signature: Vec<u8>,
}

impl RegisterResponse {
    /// The bytes the attestation signature covers (U2F raw messages §4.3).
    pub fn signed_data(
        application: &[u8; 32],
        challenge: &[u8; 32],
        key_handle: &[u8],
        public_key: &[u8; 65],
    ) -> Vec<u8> {
        [&[0u8][..], application, challenge, key_handle, public_key].concat()
    }

    /// The response data (without the status word).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![REGISTER_ID];
        out.extend_from_slice(&self.public_key);
        out.push(self.key_handle.len() as u8);
        out.extend_from_slice(&self.key_handle);
        out.extend_from_slice(&self.certificate);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Reads response data; the certificate's extent comes from its DER header.
    pub fn parse(b: &[u8]) -> Result<Self, U2fError> {
        let [REGISTER_ID, rest @ ..] = b else {
            return Err(U2fError::Malformed(
                "register response: no 0x05 reserved byte",
            ));
        };
        let (pk, rest) = rest
            .split_at_checked(65)
            .ok_or(U2fError::Malformed("register response: short public key"))?;
        let public_key: [u8; 65] = pk
            .try_into()
            .map_err(|_| U2fError::Malformed("register response: public key"))?;
        if public_key[0] != 0x04 {
            return Err(U2fError::Malformed(
                "register response: the public key is not an uncompressed point",
            ));
        }
        let (&n, rest) = rest.split_first().ok_or(U2fError::Malformed(
            "register response: no key handle length",
        ))?;
        let (kh, rest) = rest
            .split_at_checked(usize::from(n))
            .ok_or(U2fError::Malformed("register response: short key handle"))?;
        if kh.is_empty() {
            return Err(U2fError::Malformed("register response: empty key handle"));
        }
        let cert_len = der_length(rest).ok_or(U2fError::Malformed(
            "register response: the certificate is not a DER SEQUENCE",
        ))?;
        let (cert, sig) = rest
            .split_at_checked(cert_len)
            .ok_or(U2fError::Malformed("register response: short certificate"))?;
        if sig.is_empty() {
            return Err(U2fError::Malformed("register response: no signature"));
        }
        Ok(RegisterResponse {
            public_key,
            key_handle: kh.to_vec(),
            certificate: cert.to_vec(),
            signature: sig.to_vec(),
        })
    }
}

/// The total length (header and contents) of the DER SEQUENCE at the start
/// of `b`, if its header is well formed and it fits in `b`.
fn der_length(b: &[u8]) -> Option<usize> {
    let [0x30, first, rest @ ..] = b else {
        return None;
    };
    let (header, len) = match *first {
        n @ 0..=0x7f => (2, usize::from(n)),
        0x81..=0x84 => {
            let k = usize::from(first & 0x7f);
            let bytes = rest.get(..k)?;
            if bytes[0] == 0 {
                return None; // not minimal
            }
            let len = bytes.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x));
            (2 + k, len)
        }
        _ => return None,
    };
    let total = header.checked_add(len)?;
    (total <= b.len()).then_some(total)
}

/// U2F_AUTHENTICATE request data: challenge ‖ application ‖ L ‖ key handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticateRequest {
    /// SHA-256 of the client data (WebAuthn: clientDataHash).
    pub challenge: [u8; 32],
    /// SHA-256 of the application (WebAuthn: rpIdHash, or of the appid).
    pub application: [u8; 32],
    /// The key handle.
    pub key_handle: Vec<u8>,
}

impl AuthenticateRequest {
    /// Reads request data.
    pub fn parse(data: &[u8]) -> Result<Self, U2fError> {
        let short = || U2fError::Length {
            what: "U2F_AUTHENTICATE request",
            expected: "65 + the key handle length byte",
            found: data.len(),
        };
        if data.len() < 65 {
            return Err(short());
        }
        let (head, kh) = data.split_at(65);
        if kh.len() != usize::from(head[64]) || kh.is_empty() {
            return Err(short());
        }
        Ok(AuthenticateRequest {
            challenge: head[..32].try_into().map_err(|_| short())?,
            application: head[32..64].try_into().map_err(|_| short())?,
            key_handle: kh.to_vec(),
        })
    }

    /// The command APDU with control byte `p1`; None if the key handle is
    /// longer than 255 bytes.
    pub fn to_apdu(&self, p1: u8) -> Option<Apdu> {
        let n = u8::try_from(self.key_handle.len()).ok()?;
        let data = [
            &self.challenge[..],
            &self.application,
            &[n],
            &self.key_handle,
        ]
        .concat();
        Some(Apdu::new(ins::AUTHENTICATE, p1, 0, data))
    }
}

/// U2F_AUTHENTICATE response data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticateResponse {
    /// Bit 0: the user was present.
    pub user_presence: u8,
    /// The signature counter.
    pub counter: u32,
    /// ECDSA signature (DER) over application ‖ presence ‖ counter ‖ challenge.
    pub signature: Vec<u8>,
}

impl AuthenticateResponse {
    /// The bytes the signature covers (U2F raw messages §5.4) — also exactly
    /// WebAuthn authenticator data (rpIdHash ‖ flags ‖ signCount) followed by
    /// the clientDataHash.
    pub fn signed_data(
        application: &[u8; 32],
        user_presence: u8,
        counter: u32,
        challenge: &[u8; 32],
    ) -> Vec<u8> {
        [
            application,
            &[user_presence][..],
            &counter.to_be_bytes(),
            challenge,
        ]
        .concat()
    }

    /// The response data (without the status word).
    pub fn to_bytes(&self) -> Vec<u8> {
        [
            &[self.user_presence][..],
            &self.counter.to_be_bytes(),
            &self.signature,
        ]
        .concat()
    }

    /// Reads response data.
    pub fn parse(b: &[u8]) -> Result<Self, U2fError> {
        if b.len() < 6 {
            return Err(U2fError::Malformed(
                "authenticate response: shorter than 6 bytes",
            ));
        }
        Ok(AuthenticateResponse {
            user_presence: b[0],
            counter: u32::from_be_bytes([b[1], b[2], b[3], b[4]]),
            signature: b[5..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_apdu_case_short_and_extended() {
        let h = [0u8, 3, 0, 0];
        for (bytes, data) in [
            (h.to_vec(), vec![]),                                    // case 1
            ([&h[..], &[0]].concat(), vec![]),                       // 2S
            ([&h[..], &[0, 0, 0]].concat(), vec![]),                 // 2E
            ([&h[..], &[2, 7, 8]].concat(), vec![7, 8]),             // 3S
            ([&h[..], &[2, 7, 8, 0]].concat(), vec![7, 8]),          // 4S
            ([&h[..], &[0, 0, 2, 7, 8]].concat(), vec![7, 8]),       // 3E
            ([&h[..], &[0, 0, 2, 7, 8, 0, 0]].concat(), vec![7, 8]), // 4E
            ([&h[..], &[0, 0, 0, 0, 0]].concat(), vec![]),           // U2F: Lc 0 and Le
        ] {
            assert_eq!(Apdu::parse(&bytes).map(|a| a.data), Ok(data), "{bytes:?}");
        }
        for bad in [
            vec![0, 3, 0],
            [&h[..], &[3, 7, 8]].concat(),
            [&h[..], &[1, 7, 8, 9]].concat(),
            [&h[..], &[0, 0, 3, 7, 8]].concat(),
            [&h[..], &[0, 0, 0, 7]].concat(),
            [&h[..], &[0, 0]].concat(),
        ] {
            assert_eq!(
                Apdu::parse(&bad),
                Err(ApduLengthError(bad.len())),
                "{bad:?}"
            );
        }
        let a = Apdu::new(ins::VERSION, 0, 0, vec![]);
        assert_eq!(Apdu::parse(&a.to_bytes()), Ok(a));
    }

    #[test]
    fn register_and_authenticate_round_trip() {
        let cert = [&[0x30, 0x81, 0x03][..], &[1, 2, 3]].concat();
        let r = RegisterResponse {
            public_key: [4; 65],
            key_handle: vec![9; 200],
            certificate: cert,
            signature: vec![0x30, 1, 0],
        };
        assert_eq!(RegisterResponse::parse(&r.to_bytes()), Ok(r));
        let a = AuthenticateRequest {
            challenge: [1; 32],
            application: [2; 32],
            key_handle: vec![3; 255],
        };
        let apdu = a.to_apdu(control::CHECK_ONLY).unwrap();
        assert_eq!(
            AuthenticateRequest::parse(&Apdu::parse(&apdu.to_bytes()).unwrap().data),
            Ok(a)
        );
        let resp = AuthenticateResponse {
            user_presence: 1,
            counter: 7,
            signature: vec![0x30, 0],
        };
        assert_eq!(AuthenticateResponse::parse(&resp.to_bytes()), Ok(resp));
        assert_eq!(
            split_response(&response(b"U2F_V2", sw::NO_ERROR)),
            Some((&b"U2F_V2"[..], 0x9000))
        );
    }

    #[test]
    fn a_certificate_header_that_lies_is_refused() {
        for cert in [
            vec![0x30, 0x82, 0xff, 0xff, 0],
            vec![0x31, 0],
            vec![0x30, 0x81, 0x00],
        ] {
            let mut b = vec![REGISTER_ID];
            b.extend_from_slice(&[4; 65]);
            b.extend_from_slice(&[1, 9]);
            b.extend_from_slice(&cert);
            assert!(RegisterResponse::parse(&b).is_err(), "{cert:?}");
        }
    }
}
