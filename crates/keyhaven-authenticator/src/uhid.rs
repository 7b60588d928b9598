//! A virtual USB FIDO device through Linux `/dev/uhid` (cargo feature `uhid`),
//! so that browsers and libfido2 see the authenticator as a security key.
//!
//! The kernel's `struct uhid_event` (linux/uhid.h) is read and written as bytes:
//! a little-endian `u32` type followed by the packed union, 4376 bytes in all.
//! The device declares the FIDO usage page (0xF1D0, usage CTAPHID) with one
//! 64-byte input and one 64-byte output report and no report IDs (CTAP 2.2
//! §11.2.8.1), and then runs [`crate::ctaphid::serve`] on the reports.

use crate::ctaphid::{ReportLink, REPORT};
use std::io::{Read, Write};

/// `sizeof(struct uhid_event)`.
pub const EVENT_SIZE: usize = 4 + 4372;
const DATA_MAX: usize = 4096;

/// `enum uhid_event_type` values used here.
pub mod event {
    /// Destroy the device.
    pub const DESTROY: u32 = 1;
    /// The kernel started the device.
    pub const START: u32 = 2;
    /// The kernel stopped the device.
    pub const STOP: u32 = 3;
    /// A host opened the hidraw node.
    pub const OPEN: u32 = 4;
    /// The last host closed it.
    pub const CLOSE: u32 = 5;
    /// An output report from the host.
    pub const OUTPUT: u32 = 6;
    /// Create the device (with the report descriptor inline).
    pub const CREATE2: u32 = 11;
    /// An input report to the host.
    pub const INPUT2: u32 = 12;
}

/// The HID report descriptor of a FIDO device (CTAP 2.2 §11.2.8.1).
pub const FIDO_REPORT_DESCRIPTOR: [u8; 34] = [
    0x06, 0xd0, 0xf1, // Usage Page (FIDO Alliance, 0xF1D0)
    0x09, 0x01, // Usage (CTAPHID)
    0xa1, 0x01, // Collection (Application)
    0x09, 0x20, //   Usage (Input Report Data)
    0x15, 0x00, //   Logical Minimum (0)
    0x26, 0xff, 0x00, //   Logical Maximum (255)
    0x75, 0x08, //   Report Size (8)
    0x95, 0x40, //   Report Count (64)
    0x81, 0x02, //   Input (Data, Var, Abs)
    0x09, 0x21, //   Usage (Output Report Data)
    0x15, 0x00, //   Logical Minimum (0)
    0x26, 0xff, 0x00, //   Logical Maximum (255)
    0x75, 0x08, //   Report Size (8)
    0x95, 0x40, //   Report Count (64)
    0x91, 0x02, //   Output (Data, Var, Abs)
    0xc0, // End Collection
];

/// The UHID_CREATE2 event for a USB device named `name`.
pub fn create2_event(name: &str, vendor: u32, product: u32) -> Vec<u8> {
    let mut e = vec![0u8; EVENT_SIZE];
    e[..4].copy_from_slice(&event::CREATE2.to_le_bytes());
    let n = name.len().min(127);
    e[4..4 + n].copy_from_slice(&name.as_bytes()[..n]); // name[128]
                                                        // phys[64] at 132 and uniq[64] at 196 stay empty.
    e[260..262].copy_from_slice(&(FIDO_REPORT_DESCRIPTOR.len() as u16).to_le_bytes());
    e[262..264].copy_from_slice(&0x03u16.to_le_bytes()); // BUS_USB
    e[264..268].copy_from_slice(&vendor.to_le_bytes());
    e[268..272].copy_from_slice(&product.to_le_bytes());
    // version at 272 and country at 276 stay 0.
    e[280..280 + FIDO_REPORT_DESCRIPTOR.len()].copy_from_slice(&FIDO_REPORT_DESCRIPTOR);
    e
}

/// The UHID_INPUT2 event carrying one report to the host.
pub fn input2_event(report: &[u8; REPORT]) -> Vec<u8> {
    let mut e = vec![0u8; EVENT_SIZE];
    e[..4].copy_from_slice(&event::INPUT2.to_le_bytes());
    e[4..6].copy_from_slice(&(REPORT as u16).to_le_bytes());
    e[6..6 + REPORT].copy_from_slice(report);
    e
}

/// The UHID_DESTROY event.
pub fn destroy_event() -> Vec<u8> {
    let mut e = vec![0u8; EVENT_SIZE];
    e[..4].copy_from_slice(&event::DESTROY.to_le_bytes());
    e
}

/// What one event read from the kernel means here.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// An output report (the host's 64 bytes).
    Report([u8; REPORT]),
    /// An output report of the wrong size: ignored.
    BadReport(usize),
    /// The kernel stopped the device.
    Stop,
    /// Anything else (START, OPEN, CLOSE, …): nothing to do.
    Other(u32),
}

/// Decodes one event. hidraw hosts write a leading report number 0 for a device
/// without report IDs; it may arrive in front of the 64 bytes, and is dropped.
pub fn parse_event(e: &[u8]) -> Incoming {
    if e.len() < 4 {
        return Incoming::Other(0);
    }
    let ty = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
    match ty {
        event::OUTPUT if e.len() >= 4 + DATA_MAX + 2 => {
            let size = usize::from(u16::from_le_bytes([e[4 + DATA_MAX], e[5 + DATA_MAX]]));
            let data = &e[4..4 + size.min(DATA_MAX)];
            let data = match data {
                [0, rest @ ..] if rest.len() == REPORT => rest,
                d => d,
            };
            match <[u8; REPORT]>::try_from(data) {
                Ok(r) => Incoming::Report(r),
                Err(_) => Incoming::BadReport(size),
            }
        }
        event::STOP => Incoming::Stop,
        other => Incoming::Other(other),
    }
}

/// `/dev/uhid` with one FIDO device created on it.
pub struct UhidLink {
    file: std::fs::File,
    /// The handle that created the device destroys it.
    owner: bool,
}

impl UhidLink {
    /// Opens `/dev/uhid` and creates the device.
    pub fn create(name: &str, vendor: u32, product: u32) -> std::io::Result<Self> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/uhid")?;
        file.write_all(&create2_event(name, vendor, product))?;
        Ok(UhidLink { file, owner: true })
    }
}

impl Drop for UhidLink {
    fn drop(&mut self) {
        if self.owner {
            let _ = self.file.write_all(&destroy_event());
        }
    }
}

impl ReportLink for UhidLink {
    fn read_report(&mut self) -> std::io::Result<Option<[u8; REPORT]>> {
        let mut e = vec![0u8; EVENT_SIZE];
        loop {
            let n = self.file.read(&mut e)?;
            if n == 0 {
                return Ok(None);
            }
            match parse_event(&e[..n]) {
                Incoming::Report(r) => return Ok(Some(r)),
                Incoming::Stop => return Ok(None),
                Incoming::BadReport(_) | Incoming::Other(_) => {}
            }
        }
    }
    fn write_report(&mut self, report: &[u8; REPORT]) -> std::io::Result<()> {
        self.file.write_all(&input2_event(report))
    }
    fn try_clone(&self) -> std::io::Result<Self> {
        Ok(UhidLink {
            file: self.file.try_clone()?,
            owner: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create2_layout() {
        let e = create2_event("keyhaven", 0x1209, 0x0001);
        assert_eq!(e.len(), 4376);
        assert_eq!(e[..4], 11u32.to_le_bytes());
        assert_eq!(&e[4..12], b"keyhaven");
        assert_eq!(e[12], 0, "name is NUL-terminated");
        assert_eq!(u16::from_le_bytes([e[260], e[261]]), 34, "rd_size");
        assert_eq!(u16::from_le_bytes([e[262], e[263]]), 3, "BUS_USB");
        assert_eq!(u32::from_le_bytes(e[264..268].try_into().unwrap()), 0x1209);
        assert_eq!(e[280..283], [0x06, 0xd0, 0xf1], "FIDO usage page");
    }

    #[test]
    fn output_events_with_and_without_report_number() {
        let mut report = [0u8; REPORT];
        report[0] = 0xff;
        report[63] = 0x42;
        for lead in [false, true] {
            let mut e = vec![0u8; EVENT_SIZE];
            e[..4].copy_from_slice(&event::OUTPUT.to_le_bytes());
            let data: Vec<u8> = if lead {
                [&[0u8][..], &report].concat()
            } else {
                report.to_vec()
            };
            e[4..4 + data.len()].copy_from_slice(&data);
            e[4 + DATA_MAX..6 + DATA_MAX].copy_from_slice(&(data.len() as u16).to_le_bytes());
            assert_eq!(parse_event(&e), Incoming::Report(report), "lead {lead}");
        }
        let mut short = vec![0u8; EVENT_SIZE];
        short[..4].copy_from_slice(&event::OUTPUT.to_le_bytes());
        short[4 + DATA_MAX] = 10;
        assert_eq!(parse_event(&short), Incoming::BadReport(10));
        // A size beyond the buffer is clamped, never trusted.
        short[4 + DATA_MAX..6 + DATA_MAX].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(parse_event(&short), Incoming::BadReport(65535));
        assert_eq!(parse_event(&3u32.to_le_bytes()), Incoming::Stop);
        assert_eq!(parse_event(&[1, 2]), Incoming::Other(0));
        assert_eq!(parse_event(&4u32.to_le_bytes()), Incoming::Other(4));
    }

    #[test]
    fn input2_layout() {
        let e = input2_event(&[7; REPORT]);
        assert_eq!(e[..4], 12u32.to_le_bytes());
        assert_eq!(u16::from_le_bytes([e[4], e[5]]), 64);
        assert!(e[6..70].iter().all(|b| *b == 7));
        assert!(e[70..].iter().all(|b| *b == 0));
    }
}
